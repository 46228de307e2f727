import Foundation
import Logging

/// bench-calendar: calendar-monitor's sync machinery against a fake Google Calendar.
///
///   bench-calendar [--connections N] [--events M] [--concurrency C] [--pool P] [--page-size S]
///                  [--change-percent X] [--requests-per-second R] [--timeout SECONDS]
///
/// Reads ATTACHE_DATABASE_URL (a server where it may create and drop a database) and
/// ATTACHE_AMQP_URL. Creates the database bench_calendar_<pid>, migrates calendar-monitor's
/// schema into it, and connects N Google calendars of M events each, served by a Google Calendar
/// API stand-in in this process. Then drives the service's own `SyncScheduler` (with the real
/// `GoogleCalendarProvider`, `MeetingSync`, `ConnectionStore`) and an `OutboxRelay` publishing to
/// RabbitMQ, through three cycles, each started by making every connection due:
///
///   full         every calendar read in full (timeMin/timeMax), every event written and published
///   incremental  X % of the events changed at the source (default 1 %), read with sync tokens
///   nochange     nothing changed: nothing may be written or published
///
/// A cycle ends when every connection has synced since it began and the outbox is empty.
/// Published events are counted on a queue of the bench's own bound to `meeting.#`; rows
/// written are the meetings whose `updated_at` falls in the cycle. Exits 1 when either differs
/// from what changed (N×M, the changes, 0). Figures go to stdout as `name: value`; progress and
/// the CPU split to stderr.
LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
exit(await run(options))
