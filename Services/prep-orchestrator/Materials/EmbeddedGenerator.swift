import Foundation

/// The embedded generator: deterministic, and built from every input. The agenda opens with the
/// owner's goal, gives each kind of context the meeting type needs a section of its own (with
/// the items gathered, or why there are none), takes the owner's other answers as topics, and
/// ends with decisions and action items; time boxes add up to the meeting's length.
struct EmbeddedGenerator: MaterialsGenerator {
    static let name = "embedded"

    func generate(_ input: MaterialsInput) async throws -> Materials {
        let answers = input.answers.filter { $0.text != nil }
        var sections: [(section: Materials.AgendaSection, weight: Double)] = []

        var opening: [String] = []
        if let goal = answers.first?.text { opening.append("Goal: \(goal)") }
        if let invitation = Self.invitationLine(input.meeting.description) {
            opening.append("From the invitation: \(invitation)")
        }
        sections.append((.init(title: "Welcome and goals", minutes: 0, points: opening), 1))

        for result in input.context {
            let points =
                result.isAvailable
                ? result.items.map(Self.point)
                : [
                    "No \(result.kind.title.lowercased()) context: \(result.unavailableReason ?? "unavailable"); ask for an update in the room"
                ]
            sections.append(
                (.init(title: Self.sectionTitle(result.kind), minutes: 0, points: points), 2 + Double(min(result.items.count, 4)))
            )
        }

        let topics = answers.dropFirst().map { "\($0.question) — \($0.text ?? "")" }
        if !topics.isEmpty {
            sections.append((.init(title: "Owner's topics", minutes: 0, points: topics), 1 + Double(topics.count)))
        }
        let length = max(5, Int((input.meeting.end.timeIntervalSince(input.meeting.start) / 60).rounded()))
        if length >= 30 { sections.append((.init(title: "Open discussion", minutes: 0, points: []), 1)) }
        sections.append((.init(title: "Decisions and action items", minutes: 0, points: ["Confirm owners and due dates"]), 1))

        let boxes = Self.timeBoxes(weights: sections.map(\.weight), total: length)
        let agenda = zip(sections, boxes).compactMap { entry, minutes -> Materials.AgendaSection? in
            guard minutes > 0 else { return nil }
            var section = entry.section
            section.minutes = minutes
            return section
        }

        return Materials(
            meetingTitle: input.meeting.title, start: input.meeting.start, end: input.meeting.end, meetingType: input.meetingType,
            attendees: ([input.meeting.organizer] + input.meeting.attendees).compactMap { $0.map { $0.name ?? $0.email } },
            agenda: agenda, questionGroups: Self.questionGroups(input), context: input.context, answers: input.answers,
            caveats: Self.caveats(input), generator: Self.name, model: nil, prompt: nil)
    }

    static func sectionTitle(_ kind: ContextKind) -> String {
        switch kind {
        case .budget: "Budget review"
        case .bigRocks: "Big rocks: status and risks"
        case .incidents: "Incidents and follow-ups"
        case .staffing: "Staffing"
        case .decisions: "Decisions needed"
        }
    }

    static func point(_ item: ContextItem) -> String {
        var point = item.summary
        if let status = item.status, !status.isEmpty { point += " [\(status)]" }
        if let owner = item.owner, !owner.isEmpty { point += " (\(owner))" }
        return point
    }

    /// Whole minutes in proportion to `weights` (largest remainders get the spare minutes),
    /// adding up to `total` exactly, and at least one each while the total allows.
    static func timeBoxes(weights: [Double], total: Int) -> [Int] {
        guard !weights.isEmpty else { return [] }
        guard total >= weights.count else { return weights.indices.map { $0 < total ? 1 : 0 } }
        let sum = weights.reduce(0, +)
        let exact = weights.map { Double(total) * $0 / sum }
        var boxes = exact.map { Int($0.rounded(.down)) }
        let byRemainder = exact.indices.sorted {
            exact[$0].truncatingRemainder(dividingBy: 1) > exact[$1].truncatingRemainder(dividingBy: 1)
        }
        for index in byRemainder.prefix(total - boxes.reduce(0, +)) { boxes[index] += 1 }
        while let empty = boxes.firstIndex(of: 0), let largest = boxes.indices.max(by: { boxes[$0] < boxes[$1] }) {
            boxes[largest] -= 1
            boxes[empty] = 1
        }
        return boxes
    }

    static func questionGroups(_ input: MaterialsInput) -> [Materials.QuestionGroup] {
        let available = input.context.filter(\.isAvailable)
        let forGroup = available.flatMap { result in result.items.map { question(about: $0, kind: result.kind) } }
        let forOwners = available.flatMap(\.items).compactMap { item in
            item.owner.map { "\($0): what is the latest on “\(item.summary)”, and what do you need from this group?" }
        }
        let answered = Set(input.answers.filter { $0.text != nil }.map(\.question))
        let forYou =
            input.prepQuestions.filter { !answered.contains($0) }
            + input.context.filter { !$0.isAvailable }.map {
                "\($0.kind.title) context was unavailable: get the latest before the meeting."
            }
        return [
            .init(audience: "For the group", questions: forGroup),
            .init(audience: "For the people who own the items", questions: forOwners),
            .init(audience: "For you, before the meeting", questions: forYou),
        ].filter { !$0.questions.isEmpty }
    }

    static func question(about item: ContextItem, kind: ContextKind) -> String {
        switch kind {
        case .budget: "“\(item.summary)”: what brings it back to plan, or who approves the difference?"
        case .bigRocks: "“\(item.summary)”: is it on track, and what would put it at risk?"
        case .incidents: "“\(item.summary)”: are the follow-ups done, and what stops it happening again?"
        case .staffing: "“\(item.summary)”: what does it change for the team's commitments?"
        case .decisions: "“\(item.summary)”: can we decide today? If not, who decides, and by when?"
        }
    }

    static func caveats(_ input: MaterialsInput) -> [String] {
        (input.withoutOwnerBecause.map { ["Prepared without the owner's answers: \($0)."] } ?? [])
            + input.context.compactMap { result in
                result.unavailableReason.map { "\(result.kind.title) context was unavailable: \($0)." }
            }
    }

    /// The invitation's first line of prose, if it has one (not a conferencing link or boilerplate).
    static func invitationLine(_ description: String) -> String? {
        description.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .first { line in
                !line.isEmpty && line.count <= 200 && !line.contains("http") && line.contains(where: \.isLetter)
                    && !line.lowercased().hasPrefix("join")
            }
    }
}
