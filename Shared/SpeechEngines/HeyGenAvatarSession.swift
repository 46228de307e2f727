import Logging
import VoicePipeline

/// One call's HeyGen avatar. It outlives HeyGen's own sessions, which end at a duration limit:
/// before the limit it opens and starts the next session (make before break), sends every task
/// after that to the new one, announces the new room on `rotations`, and stops the old session
/// once the task it was speaking, if any, has been answered. A sentence in flight at the
/// rotation is thus said to the end in the old room, and the next sentence in the new one;
/// the page should switch rooms on the announcement. Opening the next session needs one free
/// session under the account's concurrency limit; while that fails, the old session goes on
/// and the rotation is tried again every `rotationRetryInterval`.
///
/// Between tasks it sends `streaming.keep_alive`, so that HeyGen's idle timeout does not end the
/// avatar while the agent only listens. A session HeyGen ends early anyway is replaced when the
/// next sentence finds it gone, and the new room announced like a rotation's.
public actor HeyGenAvatarSession: AvatarSession {
    /// The current session's LiveKit room, for the camera webpage to join.
    public private(set) var room: AvatarRoom
    /// The room of each session a rotation starts, as soon as it has started. Finishes on `close`.
    public nonisolated let rotations: AsyncStream<AvatarRoom>

    private let rotationsInput: AsyncStream<AvatarRoom>.Continuation
    private let api: HeyGenStreamingAPI
    private let configuration: HeyGenAvatar.Configuration
    private let logger: Logger
    private var rotationDue: ContinuousClock.Instant
    /// Sessions started and not yet stopped: the current one, and during a rotation the old one.
    private var openSessions: Set<String>
    /// Tasks and interrupts awaiting HeyGen's answer, by session.
    private var inFlight: [String: Int] = [:]
    private var drainWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var lastActivity = ContinuousClock.now
    private var isClosed = false
    private var timers: [Task<Void, Never>] = []
    /// Opening a session in place of one HeyGen ended, while it is under way.
    private var replacing: Task<Void, any Error>?

    private init(
        _ started: HeyGenStreamingAPI.StartedSession, api: HeyGenStreamingAPI,
        configuration: HeyGenAvatar.Configuration, logger: Logger
    ) {
        room = started.room
        (rotations, rotationsInput) = AsyncStream.makeStream()
        self.api = api
        self.configuration = configuration
        self.logger = logger
        rotationDue = Self.rotationTime(started, configuration: configuration)
        openSessions = [started.room.sessionID]
    }

    static func open(api: HeyGenStreamingAPI, configuration: HeyGenAvatar.Configuration, logger: Logger) async throws
        -> HeyGenAvatarSession
    {
        let started = try await api.openSession()
        let session = HeyGenAvatarSession(started, api: api, configuration: configuration, logger: logger)
        await session.startTimers()
        logger.info("heygen session started", metadata: ["session": "\(started.room.sessionID)"])
        return session
    }

    deinit {
        // The timers hold the session weakly, so they end with it; HeyGen then ends the session
        // at its idle timeout. `close` stops it at once.
        for timer in timers { timer.cancel() }
    }

    @discardableResult
    public func speak(_ text: String) async throws -> Duration? {
        guard !isClosed else { throw HeyGenError.closed }
        let sessionID = room.sessionID
        do {
            return try await tracked(on: sessionID) { try await api.speak(text, session: sessionID) }
        } catch HeyGenError.sessionGone {
            // HeyGen ended the session before its time (an idle timeout, an outage on its side):
            // the call still needs its avatar, so a new session takes over and says the sentence.
            try await replace(lost: sessionID)
            let next = room.sessionID
            return try await tracked(on: next) { try await api.speak(text, session: next) }
        }
    }

    /// Interrupts the current session, and during a rotation the old one too if it is still
    /// speaking its last sentence.
    public func interrupt() async throws {
        guard !isClosed else { throw HeyGenError.closed }
        let current = room.sessionID
        for sessionID in inFlight.keys where sessionID != current {
            do {
                try await api.interrupt(sessionID)
            } catch {
                logger.warning(
                    "could not interrupt the old heygen session", metadata: ["session": "\(sessionID)", "error": "\(error)"])
            }
        }
        try await tracked(on: current) { try await api.interrupt(current) }
    }

    public func close() async {
        guard !isClosed else { return }
        isClosed = true
        // A rotation waiting for the old session's last sentence need not wait any more.
        for waiters in drainWaiters.values { for waiter in waiters { waiter.resume() } }
        drainWaiters = [:]
        for timer in timers { timer.cancel() }
        for timer in timers { await timer.value }
        for sessionID in openSessions.sorted() { await stop(sessionID) }
        rotationsInput.finish()
    }

    // MARK: Requests in flight

    private func tracked<Result>(on sessionID: String, _ request: () async throws -> Result) async throws -> Result {
        inFlight[sessionID, default: 0] += 1
        lastActivity = .now
        defer { requestEnded(on: sessionID) }
        return try await request()
    }

    private func requestEnded(on sessionID: String) {
        lastActivity = .now
        let remaining = (inFlight[sessionID] ?? 1) - 1
        inFlight[sessionID] = remaining > 0 ? remaining : nil
        guard remaining <= 0 else { return }
        for waiter in drainWaiters.removeValue(forKey: sessionID) ?? [] { waiter.resume() }
    }

    /// Returns once no request to `sessionID` awaits an answer.
    private func drained(_ sessionID: String) async {
        guard !isClosed, inFlight[sessionID] != nil else { return }
        await withCheckedContinuation { drainWaiters[sessionID, default: []].append($0) }
    }

    // MARK: Rotation and keep-alive

    private func startTimers() {
        timers.append(
            Task { [weak self] in
                while let due = await self?.rotationDue {
                    do { try await Task.sleep(until: due, clock: .continuous) } catch { return }
                    await self?.rotate()
                }
            })
        timers.append(
            Task { [weak self, interval = configuration.keepAliveInterval] in
                while let idleSince = await self?.lastActivity {
                    do { try await Task.sleep(until: idleSince + interval, clock: .continuous) } catch { return }
                    await self?.keepAliveIfIdle(for: interval)
                }
            })
    }

    private func rotate() async {
        // A replacement for a lost session moved the rotation later while the timer slept.
        guard ContinuousClock.now >= rotationDue else { return }
        let old = room
        let next: HeyGenStreamingAPI.StartedSession
        do {
            next = try await openNext()
        } catch {
            guard !isClosed else { return }
            logger.warning(
                "could not open the next heygen session; the current one goes on until its limit",
                metadata: [
                    "session": "\(old.sessionID)", "error": "\(error)", "retry_in": "\(configuration.rotationRetryInterval)",
                ])
            rotationDue = .now + configuration.rotationRetryInterval
            return
        }
        guard !isClosed else { return }  // `close`, waiting for this timer, stops it with the others
        install(next)
        logger.info("heygen session rotated", metadata: ["old": "\(old.sessionID)", "new": "\(next.room.sessionID)"])
        await drained(old.sessionID)
        await stop(old.sessionID)
    }

    /// Opens a session in place of `lost`, once however many requests found it gone.
    private func replace(lost sessionID: String) async throws {
        openSessions.remove(sessionID)
        if let replacing { return try await replacing.value }
        guard room.sessionID == sessionID else { return }
        let replacing = Task { try await self.openReplacement(for: sessionID) }
        self.replacing = replacing
        defer { self.replacing = nil }
        try await replacing.value
    }

    private func openReplacement(for lost: String) async throws {
        let next = try await openNext()
        guard !isClosed else {
            // `close` does not wait for this task, so the session it missed is stopped here.
            await stop(next.room.sessionID)
            throw HeyGenError.closed
        }
        install(next)
        logger.warning(
            "heygen ended the session early; a new one took over", metadata: ["old": "\(lost)", "new": "\(next.room.sessionID)"])
    }

    /// Opens and starts a session, counted among the open ones from then on.
    private func openNext() async throws -> HeyGenStreamingAPI.StartedSession {
        let next = try await api.openSession()
        openSessions.insert(next.room.sessionID)
        return next
    }

    /// Makes `next` the session that speaks, and announces its room.
    private func install(_ next: HeyGenStreamingAPI.StartedSession) {
        room = next.room
        rotationDue = Self.rotationTime(next, configuration: configuration)
        lastActivity = .now
        rotationsInput.yield(next.room)
    }

    private func keepAliveIfIdle(for interval: Duration) async {
        guard !isClosed, ContinuousClock.now - lastActivity >= interval else { return }
        // A task still being answered is the avatar speaking: activity enough.
        lastActivity = .now
        guard inFlight.isEmpty else { return }
        do {
            try await api.keepAlive(room.sessionID)
        } catch {
            logger.warning("heygen keep-alive failed", metadata: ["session": "\(room.sessionID)", "error": "\(error)"])
        }
    }

    private func stop(_ sessionID: String) async {
        guard openSessions.remove(sessionID) != nil else { return }
        do {
            try await api.stop(sessionID)
            logger.info("heygen session stopped", metadata: ["session": "\(sessionID)"])
        } catch HeyGenError.sessionGone {
            logger.debug("heygen had already ended the session", metadata: ["session": "\(sessionID)"])
        } catch {
            logger.warning("could not stop a heygen session", metadata: ["session": "\(sessionID)", "error": "\(error)"])
        }
    }

    /// Counted from before `streaming.new` was sent, so that HeyGen's clock cannot be ahead.
    private static func rotationTime(
        _ started: HeyGenStreamingAPI.StartedSession, configuration: HeyGenAvatar.Configuration
    ) -> ContinuousClock.Instant {
        let limit = min(configuration.maximumSessionDuration, started.reportedLimit ?? configuration.maximumSessionDuration)
        return started.openedAt + limit - min(configuration.rotationMargin, limit / 2)
    }
}
