import Foundation
import HTTPClient
import Resilience

/// The cloud context provider: one JSON endpoint per kind,
/// `GET {base}/{kind}?tenant=…&owner=…&meeting_start=…` with a bearer token, answering
/// `{"items": [{"summary": …, "detail": …, "owner": …, "status": …}]}`. Anything else (a failing
/// status, a body that is not that) is a reason for the kind to be unavailable.
struct HTTPContextProvider: ContextProvider {
    let baseURL: String
    let token: String
    let http: HTTPClient
    /// Each request's own bound, so that a server that never answers cannot hold a branch.
    var requestTimeout: Duration = .seconds(10)

    var name: String { "context service" }

    private struct Answer: Decodable {
        var items: [ContextItem]
    }

    func items(for query: ContextQuery) async throws -> [ContextItem] {
        var components = URLComponents(string: "\(baseURL)/\(query.kind.rawValue)")
        components?.queryItems = [
            URLQueryItem(name: "tenant", value: query.tenant), URLQueryItem(name: "owner", value: query.owner),
            URLQueryItem(name: "meeting_start", value: query.meetingStart.formatted(.iso8601)),
        ]
        guard let url = components?.string else { throw ContextUnavailable("\(baseURL) is not a URL") }
        let response = try await http.send(
            OutboundRequest(
                url: url, headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")], timeout: requestTimeout
            ))
        guard response.isSuccess else {
            throw ContextUnavailable("\(query.kind.rawValue): HTTP \(response.status)")
        }
        do {
            return try response.decode(Answer.self).items
        } catch {
            throw ContextUnavailable("\(query.kind.rawValue): the answer is not a list of items (\(DecodingSummary(error)))")
        }
    }
}

/// A decoding error in a line a person can read.
struct DecodingSummary: CustomStringConvertible {
    let error: any Error
    init(_ error: any Error) { self.error = error }

    var description: String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        return switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: "missing \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            "wrong type at \(path(context.codingPath)): \(context.debugDescription)"
        case .dataCorrupted(let context)?: context.debugDescription
        default: "\(error)"
        }
    }
}
