import Foundation
import PipelineModel

/// The machine-readable record of one execution, one JSON object per line in the records notes ref.
/// Lines are whole and self-describing, so mirrors can merge notes with `cat_sort_uniq`; a reader
/// keeps, per execution, the line with the highest `revision`.
public struct NoteRecord: Codable, Sendable, Equatable {
    public static let schemaVersion = 1

    public var schema: Int
    public var revision: Int64
    public var pipeline: String
    public var pipelineExecutionId: String
    public var number: Int
    public var status: String
    public var statusSummary: String?
    public var executionMode: String
    public var ref: String
    public var commit: String
    public var triggerType: String
    public var startTime: String
    public var endTime: String?
    public var lastUpdateTime: String
    public var durationSeconds: Double?
    public var definitionPath: String
    public var definitionError: String?
    public var sourceArtifact: String?
    public var stages: [Stage]
    /// What the reader of the results should know about how they were made (actions that ran
    /// without the sandbox).
    public var warnings: [String]? = nil

    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        /// nil while the stage has not started.
        public var status: String?
        public var actions: [Action]
    }

    public struct Action: Codable, Sendable, Equatable {
        public var name: String
        public var status: String?
        public var attempt: Int?
        public var durationSeconds: Double?
        public var summary: String?
        public var errorMessage: String?
        public var failedCommand: String?
    }

    public var label: String { "\(pipeline) #\(number)" }

    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Parses a records note: the newest line of each execution; lines it cannot read are skipped
    /// (a newer schema written by a newer git-pipeline), never fatal.
    public static func parse(_ text: String) -> [NoteRecord] {
        var latest: [String: NoteRecord] = [:]
        let decoder = JSONDecoder()
        for line in text.split(separator: "\n") {
            guard let record = try? decoder.decode(NoteRecord.self, from: Data(line.utf8)), record.schema <= schemaVersion else { continue }
            if let existing = latest[record.pipelineExecutionId], existing.revision >= record.revision { continue }
            latest[record.pipelineExecutionId] = record
        }
        return latest.values.sorted { ($0.pipeline, $0.number) < ($1.pipeline, $1.number) }
    }
}
