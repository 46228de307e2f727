import Foundation
import HTTPClient

/// The fields of an `application/x-www-form-urlencoded` body, as OAuth clients send token
/// requests to the fake vendors' token endpoints.
public func formFields(_ body: String) -> [String: String] {
    Dictionary(FormEncoding.decode(body)) { _, last in last }
}
