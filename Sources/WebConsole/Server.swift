import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The console on Hummingbird: every request is read whole (forms are small; 1 MiB at most) and
/// handed to `Console.handle`; its answer goes back as bytes or as a stream.
public enum ConsoleServer {
    /// Serves until the process is stopped. `ready` gets the port actually bound (`--listen
    /// 127.0.0.1:0` picks a free one).
    public static func run(_ console: Console, host: String, port: Int, ready: @escaping @Sendable (Int) -> Void) async throws {
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers {
                let name = field.name.canonicalName
                headers[name] = headers[name].map { $0 + (name == "cookie" ? "; " : ", ") + field.value } ?? field.value
            }
            let answer = await console.handle(ConsoleRequest(method: request.method.rawValue, path: request.uri.path, query: request.uri.query,
                                                             headers: headers, body: Array(buffer: body)))
            var fields = HTTPFields()
            for (name, value) in answer.headers + Assets.securityHeaders {
                if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
            }
            let status = HTTPResponse.Status(code: answer.status)
            switch answer.body {
            case .bytes(let bytes):
                return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
            case .stream(let produce):
                return Response(status: status, headers: fields, body: ResponseBody { writer in
                    var forward: any ConsoleBodyWriter = Forward(inner: writer)
                    try await produce(&forward)
                    if let forward = forward as? Forward { try await forward.inner.finish(nil) }
                })
            }
        }
        let app = Application(responder: responder, configuration: .init(address: .hostname(host, port: port), serverName: "git-pipeline"),
                              onServerRunning: { channel in ready(channel.localAddress?.port ?? port) })
        try await app.runService()  // SIGTERM and SIGINT end it gracefully
    }

    struct Forward: ConsoleBodyWriter {
        var inner: any ResponseBodyWriter
        mutating func write(_ bytes: [UInt8]) async throws { try await inner.write(ByteBuffer(bytes: bytes)) }
    }
}
