import Foundation

/// One message of a chat conversation, in the roles OpenAI-compatible endpoints use.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// What a model is asked: the conversation so far, and limits on the answer.
public struct ChatRequest: Sendable, Equatable {
    public var messages: [ChatMessage]
    public var maxTokens: Int?
    public var temperature: Double?
    /// JSON matching a schema instead of prose, where the model supports it.
    public var responseFormat: ResponseFormat?

    public init(
        messages: [ChatMessage], maxTokens: Int? = nil, temperature: Double? = nil, responseFormat: ResponseFormat? = nil
    ) {
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.responseFormat = responseFormat
    }
}

/// A chat model that streams its answer as text deltas, in order. Cancelling the consuming task
/// stops generation: implementations must release the request (close the connection) promptly.
public protocol ChatModel: Sendable {
    /// A name for logs and metrics ("local", "openai:gpt-4o-mini").
    var name: String { get }
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<String, any Error>
}

extension ChatModel {
    /// The whole answer, for callers that do not stream (prep materials).
    public func complete(_ request: ChatRequest) async throws -> String {
        var text = ""
        for try await delta in stream(request) { text += delta }
        return text
    }
}

/// Why a chat model failed, in terms an operator can act on.
public enum ChatModelError: Error, CustomStringConvertible, Equatable {
    /// The endpoint refused the credentials (401/403).
    case unauthorised(endpoint: String, status: Int)
    /// The endpoint answered with an error status the client does not retry.
    case rejected(endpoint: String, status: Int, message: String)
    /// No first token, or no further token, within the configured time.
    case timedOut(endpoint: String, after: Duration)
    /// The stream did not follow the server-sent-events chat-completions format.
    case malformedStream(endpoint: String, detail: String)

    public var description: String {
        switch self {
        case let .unauthorised(endpoint, status):
            "the chat model at \(endpoint) refused the API key (HTTP \(status)); check ATTACHE_LLM_API_KEY"
        case let .rejected(endpoint, status, message):
            "the chat model at \(endpoint) answered HTTP \(status): \(message)"
        case let .timedOut(endpoint, after):
            "the chat model at \(endpoint) sent nothing for \(after)"
        case let .malformedStream(endpoint, detail):
            "the chat model at \(endpoint) sent a malformed stream: \(detail)"
        }
    }
}
