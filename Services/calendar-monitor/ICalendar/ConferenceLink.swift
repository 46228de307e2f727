import Foundation

/// Finds the join link of a video meeting (Zoom, Google Meet, Microsoft Teams, Webex) in
/// free text, so the meeting bot knows where to go.
public enum ConferenceLink {
    /// Vendor properties that carry the join link on their own, searched after URL, LOCATION
    /// and DESCRIPTION. Google writes X-GOOGLE-CONFERENCE; Exchange/Outlook write the Teams
    /// link in X-MICROSOFT-SKYPETEAMSMEETINGURL and a third-party provider's link in
    /// X-MICROSOFT-ONLINEMEETINGEXTERNALLINK. (X-MICROSOFT-ONLINEMEETINGCONFLINK holds a
    /// `conf:sip:` address, never a web link, so it is not listed.)
    static let propertyNames = [
        "X-GOOGLE-CONFERENCE",
        "X-MICROSOFT-SKYPETEAMSMEETINGURL",
        "X-MICROSOFT-ONLINEMEETINGEXTERNALLINK",
    ]

    /// The first join link in `texts`, searched in order; within one text the leftmost link
    /// wins. Returns the link as written, minus trailing punctuation that belongs to the
    /// surrounding prose or markup (`>`, `)`, `.`, `,` …).
    public static func find(in texts: [String]) -> String? {
        for text in texts {
            for candidate in urlCandidates(in: text) where isJoinLink(candidate) {
                return candidate
            }
        }
        return nil
    }

    /// Every `http://` or `https://` run in the text. Outlook wraps links in `<…>`, HTML
    /// descriptions put them in `href="…"`, and Markdown in `(…)`, so those delimiters end a
    /// link.
    static func urlCandidates(in text: String) -> [String] {
        var candidates: [String] = []
        var searchStart = text.startIndex
        while let schemeRange = text.range(
            of: "http", options: [.caseInsensitive], range: searchStart..<text.endIndex)
        {
            let end = text[schemeRange.lowerBound...].firstIndex(where: isLinkTerminator) ?? text.endIndex
            let candidate = trimTrailingPunctuation(text[schemeRange.lowerBound..<end])
            if candidate.lowercased().hasPrefix("https://") || candidate.lowercased().hasPrefix("http://") {
                candidates.append(String(candidate))
            }
            searchStart = end > schemeRange.lowerBound ? end : schemeRange.upperBound
        }
        return candidates
    }

    /// Decides by the parsed host, not by substring, so `https://zoom.us.example.com/j/1` or
    /// `https://zoom.us@evil.example/j/1` are not mistaken for Zoom.
    static func isJoinLink(_ link: String) -> Bool {
        guard let components = URLComponents(string: link),
            components.scheme?.lowercased() == "https",
            let host = components.host?.lowercased()
        else { return false }
        let path = components.path

        func isDomain(_ domain: String) -> Bool { host == domain || host.hasSuffix("." + domain) }
        func pathHasPrefix(_ prefix: String) -> Bool {
            path.lowercased().hasPrefix(prefix) && path.count > prefix.count
        }

        if isDomain("zoom.us") {
            // /j/ meeting, /my/ personal room, /w/ webinar. Not /s/ (host start link).
            return pathHasPrefix("/j/") || pathHasPrefix("/my/") || pathHasPrefix("/w/")
        }
        if host == "meet.google.com" {
            return isGoogleMeetCode(path)
        }
        if host == "teams.microsoft.com" {
            // /meet/<id> is the short join link Teams has issued since 2024.
            return pathHasPrefix("/l/meetup-join/") || pathHasPrefix("/meet/")
        }
        if host == "teams.live.com" {
            return pathHasPrefix("/meet/")
        }
        if host.hasSuffix(".webex.com") {
            // Invitations also link to help and marketing pages on webex.com; those are not
            // meetings.
            let nonMeetingHosts: Set = ["www.webex.com", "help.webex.com", "signin.webex.com"]
            return !nonMeetingHosts.contains(host) && path.count > 1
        }
        return false
    }

    /// `/abc-defg-hij`: Meet codes are three, four and three lower-case letters.
    private static func isGoogleMeetCode(_ path: String) -> Bool {
        let parts = path.dropFirst().split(separator: "-", omittingEmptySubsequences: false)
        guard path.hasPrefix("/"), parts.map(\.count) == [3, 4, 3] else { return false }
        return parts.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isLetter } }
    }

    private static func isLinkTerminator(_ character: Character) -> Bool {
        character.isWhitespace || "<>\"'`[]{}|\\^".contains(character)
    }

    private static func trimTrailingPunctuation(_ link: Substring) -> Substring {
        var trimmed = link
        while let last = trimmed.last, ">)].,;:!?*".contains(last) {
            trimmed = trimmed.dropLast()
        }
        return trimmed
    }
}
