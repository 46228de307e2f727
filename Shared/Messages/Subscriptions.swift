/// Which service consumes which messages: the routing half of the wire contract.
///
/// Every service declares all of these queues and bindings before it publishes anything, so
/// that an event is never published before its consumer's queue exists (which would route it
/// to the unrouted queue instead), whatever order the services start in. Each service's
/// consumer checks at start that its handlers match its line here.
public enum Subscriptions {
    public static let byService: [String: [MessageType]] = [
        "calendar-monitor": [CalendarPushReceived.messageType, CalendarSyncRequested.messageType],
        "classifier": [MeetingUpserted.messageType, MeetingCancelled.messageType],
        "prep-orchestrator": [
            MeetingClassified.messageType, ClassificationCancelled.messageType, BotStatusChanged.messageType,
            CalendarReauthorisationNeeded.messageType, SlackActionReceived.messageType, SlackMessageReceived.messageType,
            SMSStatusReceived.messageType, BotProblemDetected.messageType, CallDiagnosed.messageType,
        ],
        "bot-gateway": [BotJoinRequested.messageType, BotJoinCancelled.messageType],
        "realtime-worker": [
            MeetingClassified.messageType, PrepMaterialsReady.messageType, BotStatusChanged.messageType,
            BotTranscriptReceived.messageType,
        ],
        "monitoring-worker": [CallCompleted.messageType, BotArtifactsReady.messageType],
    ]

    /// The routing keys a service's work queue is bound with.
    public static func routingKeys(for service: String) -> [String]? {
        byService[service].map { Set($0.map(\.routingKey)).sorted() }
    }
}
