/// The JSON of OpenAI's chat-completions API, as far as a streaming client needs it.
enum ChatCompletions {
    /// The body of `POST /chat/completions`.
    struct Request: Encodable {
        var model: String
        var messages: [ChatMessage]
        var stream = true
        var maxTokens: Int?
        var temperature: Double?
        var responseFormat: Format?

        enum CodingKeys: String, CodingKey {
            case model, messages, stream, temperature
            case maxTokens = "max_tokens"
            case responseFormat = "response_format"
        }
    }

    /// `{"type": "json_schema", "json_schema": {"name", "strict": true, "schema"}}`.
    struct Format: Encodable {
        struct Schema: Encodable {
            var name: String
            var strict = true
            var schema: JSONValue
        }
        var type = "json_schema"
        var jsonSchema: Schema

        init(_ format: ResponseFormat) {
            jsonSchema = Schema(name: format.name, schema: format.schema)
        }

        enum CodingKeys: String, CodingKey {
            case type
            case jsonSchema = "json_schema"
        }
    }

    /// One `data:` event of the stream. Some compatible servers send chunks with no choices
    /// (Azure's content-filter results) or an `error` object mid-stream.
    struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable { var content: String? }
            var delta: Delta?
        }
        var choices: [Choice]?
        var error: ErrorDetail?
    }

    /// `{"error": {"message", "type", "code"}}`, the body of every error status.
    struct ErrorBody: Decodable {
        var error: ErrorDetail
    }

    struct ErrorDetail: Decodable {
        var message: String?
    }
}
