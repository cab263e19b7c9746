import ArgumentParser
import Foundation
import Logging
import NIOConcurrencyHelpers
import OssaCore
import OssaMessaging
import OssaStore
import OssaWeb

/// `ossa bench-messaging` (hidden): the messaging figures of `Benchmarks/server --messaging-only` (issue #10).
///
/// On a demo registry (`ossa demo`): (a) the invitation planner as `ossa serve` runs it, for `--days` consecutive
/// days from now — the first day invites every window open today (nothing was invited before: a first day of
/// operation), the next ones the windows that open on that day; (b) the delivery worker as `ossa serve` runs it,
/// round after round (claim a batch, send it on one SMTP connection, record the results), sending the messages due
/// by the end of those days to an SMTP server on 127.0.0.1 (the benchmark's sink) until `--messages` are done.
/// Prints one JSON object on standard output.
struct BenchMessaging: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-messaging",
        abstract: "Benchmark: plan a day's invitations and deliver messages to a local SMTP sink (see Benchmarks/README.md).",
        shouldDisplay: false)

    @OptionGroup var databaseOptions: DatabaseOptions
    @Option(help: "Days of planning from now (the first one invites every open window).") var days = 3
    @Option(name: .customLong("smtp-port"), help: "Port of an SMTP server on 127.0.0.1 to deliver to (no delivery without it).")
    var smtpPort: Int?
    @Option(help: "Deliver this many messages at most.") var messages = 2000
    @Option(name: .customLong("batch-size"), help: "Messages per delivery round (the server's default is 50).") var batchSize = 50

    func validate() throws {
        guard (1...60).contains(days) else { throw ValidationError("--days \(days): must be 1–60") }
        guard (1...1_000_000).contains(messages) else { throw ValidationError("--messages \(messages): must be 1–1,000,000") }
        guard (1...1000).contains(batchSize) else { throw ValidationError("--batch-size \(batchSize): must be 1–1000") }
        if let smtpPort, !(1...65_535).contains(smtpPort) { throw ValidationError("--smtp-port \(smtpPort): not a port") }
    }

    func run() async throws {
        // As `ossa serve` runs: Swift tasks on NIO's event loops (the SMTP client's and SQLite's own).
        OssaServer.runConcurrencyOnEventLoops()
        let logger = try makeLogger(level: .warning)
        let start = Date()
        let result = try await withStore(databaseOptions, logger: logger) { store -> [String: Any] in
            let planner = try InvitationPlanner(database: store.database, rules: try ReminderRules.bundled())
            let composer = try MessageComposition(baseURL: "https://ossa.example.org").composer
            var planning: [[String: Any]] = []
            for day in 0..<days {
                let now = start.addingTimeInterval(Double(day) * 86_400)
                var total = PlanningSummary()
                var calls = 0
                let began = ContinuousClock.now
                // As the planning service does, a call at a time (each at most `limit` timepoints, the rest on the next).
                let limit = 20_000
                while true {
                    let summary = try await planner.planDue(now: now, limit: limit, compose: composer)
                    calls += 1
                    total.invited += summary.invited
                    total.queued += summary.queued
                    total.noChannel += summary.noChannel
                    // A full call may have left timepoints for the next; those without a channel are read again each time.
                    guard summary.invited > 0, summary.invited + summary.noChannel >= limit, calls < 50 else { break }
                }
                let seconds = Self.seconds(ContinuousClock.now - began)
                planning.append(["day": day, "now": now.formatted(.iso8601), "invited": total.invited, "queued": total.queued,
                                 "no_channel": total.noChannel, "calls": calls, "seconds": seconds])
                FileHandle.standardError.write(Data("planning day \(day): \(total) in \(String(format: "%.3f", seconds)) s\n".utf8))
            }
            var result: [String: Any] = ["planning": planning]
            guard let smtpPort else { return result }
            let client = try SMTPClient(server: SMTPServerConfiguration(host: "127.0.0.1", port: smtpPort, security: .startTLSWhenOffered),
                                        heloName: "bench.ossa.invalid", logger: logger)
            let mailFrom = try EmailAddress(parsing: "Ossa benchmark <noreply@ossa.example.org>")
            let transport = TimedTransport(client)
            let worker = DeliveryWorker(store: store, mailFrom: mailFrom, email: transport, sms: nil, messageDomain: "ossa.example.org",
                                        batchSize: batchSize, logger: logger)
            // Everything the planned days queued is due by their end (reminders included); the worker's clock is moved
            // there, the transport's is the real one.
            let due = start.addingTimeInterval(Double(days) * 86_400)
            var summary = DeliverySummary()
            var claimed = 0, rounds = 0
            let began = ContinuousClock.now
            while claimed < messages {
                let round = try await worker.runOnce(now: due)
                guard round.claimed > 0 else { break }
                rounds += 1
                claimed += round.claimed
                summary.sent += round.summary.sent
                summary.retried += round.summary.retried
                summary.failed += round.summary.failed
                summary.deferred += round.summary.deferred
                summary.leaseLost += round.summary.leaseLost
            }
            let seconds = Self.seconds(ContinuousClock.now - began)
            result["delivery"] = ["claimed": claimed, "sent": summary.sent, "retried": summary.retried, "failed": summary.failed,
                                  "rounds": rounds, "batch_size": batchSize, "seconds": seconds, "smtp_seconds": transport.seconds,
                                  "sent_per_s": seconds > 0 ? Double(summary.sent) / seconds : 0]
            FileHandle.standardError.write(Data("delivery: \(claimed) claimed, \(summary.sent) sent, \(summary.failed) failed, \(summary.retried) retried in \(String(format: "%.3f", seconds)) s (\(String(format: "%.3f", transport.seconds)) s of it in SMTP sessions)\n".utf8))
            return result
        }
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The SMTP client, timing its sessions: what the rest of a delivery round (claiming, recording) costs is the
/// difference.
final class TimedTransport: EmailTransport, Sendable {
    let client: SMTPClient
    private let elapsed = NIOLockedValueBox(Duration.zero)

    init(_ client: SMTPClient) {
        self.client = client
    }

    var seconds: Double { BenchMessaging.seconds(elapsed.withLockedValue { $0 }) }

    func send(_ messages: [OutgoingEmail], date: Date) async -> [DeliveryResult] {
        let began = ContinuousClock.now
        let results = await client.send(messages, date: date)
        let took = ContinuousClock.now - began
        elapsed.withLockedValue { $0 += took }
        return results
    }
}
