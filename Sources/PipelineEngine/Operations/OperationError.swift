/// An operation on executions that cannot be done as asked (stop, retry, start, approve,
/// transition): the message says why and what to do instead. `isUsage` marks a call whose words
/// are wrong (an unknown variable or revision), which commands report with exit code 2.
public struct OperationError: Error, CustomStringConvertible {
    public let message: String
    public var isUsage = false

    public init(message: String, isUsage: Bool = false) {
        self.message = message
        self.isUsage = isUsage
    }

    public var description: String { message }
}
