import Foundation

/// The repository's secrets, standing in for Parameter Store and Secrets Manager: one JSON object
/// in `pipeline/secrets.json`, mode 0600 inside the 0700 state folder. Values never reach a note;
/// in logs they are masked as `***`.
public struct SecretStore: Sendable {
    public let path: String

    let gitDirectory: String

    public init(layout: StateLayout) {
        path = layout.root + "/secrets.json"
        gitDirectory = layout.gitDirectory
    }

    public func all() throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: String] else {
            throw OperationError(message: "\(path) is not a JSON object of names to strings; fix or remove it")
        }
        return object
    }

    public func set(_ name: String, value: String) throws {
        guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else {
            throw OperationError(message: "secret name `\(name)` must be non-empty without spaces", isUsage: true)
        }
        var secrets = try all()
        secrets[name] = value
        try save(secrets)
    }

    /// Removes a secret; false when there was none.
    public func remove(_ name: String) throws -> Bool {
        var secrets = try all()
        guard secrets.removeValue(forKey: name) != nil else { return false }
        try save(secrets)
        return true
    }

    private func save(_ secrets: [String: String]) throws {
        let data = try JSONSerialization.data(withJSONObject: secrets, options: [.sortedKeys, .prettyPrinted])
        let temporary = path + ".tmp"
        // Private to the owner; in a shared repository, to the group, whose runners read it.
        let mode = SharedRepository.apply(gitDirectory: gitDirectory)?.stateFileMode ?? 0o600
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: mode]) else {
            throw OperationError(message: "cannot write \(temporary)")
        }
        chmod(temporary, mode)
        guard rename(temporary, path) == 0 else { throw OperationError(message: "cannot replace \(path): \(String(cString: strerror(errno)))") }
    }

    /// A Parameter Store name: the secret of that exact name.
    public func parameter(_ name: String) throws -> String? { try all()[name] }

    /// A Secrets Manager reference `secret-id[:json-key[:version-stage[:version-id]]]`: the secret
    /// named by the whole reference, else the secret-id's value (with json-key, a key of its JSON).
    public func secret(_ reference: String) throws -> String? {
        let secrets = try all()
        if let exact = secrets[reference] { return exact }
        let parts = reference.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let value = secrets[parts[0]] else { return nil }
        guard parts.count > 1, !parts[1].isEmpty else { return value }
        guard let object = try? JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any], let field = object[parts[1]] else { return nil }
        return field as? String ?? "\(field)"
    }
}
