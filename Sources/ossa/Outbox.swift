import ArgumentParser
import Foundation
import OssaCore
import OssaMessaging
import OssaStore
import OssaWeb

/// `ossa outbox list|retry`: the administrator's view of the e-mail and SMS outbox (issue #10).
struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the outbox of e-mail and SMS messages and retry failed ones.",
        subcommands: [List.self, Retry.self])

    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case table, json
    }

    static func parseID(_ text: String, what: String) throws -> UUID {
        guard let id = UUID(uuidString: text.trimmingCharacters(in: .whitespaces)) else {
            throw CommandLineError(message: "\(what) \(text): not an id (expected a UUID such as 0f8e6b1c-…)")
        }
        return id
    }

    static func timestamp(_ date: Date?) -> String? {
        date.map { $0.formatted(.iso8601) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List outbox messages by planned sending time (never their text: it holds the patient's link).",
            discussion: """
                Columns: id, kind, sequence (0 = the invitation, 1… its reminders), channel, recipient, status, not before, \
                attempts, last error, sent at. --format json prints one JSON object per message and line (the fields of \
                GET /api/v1/outbox), for scripts. The listing is recorded in the audit log.
                """)

        static let maximumLimit = 100_000

        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(help: "Only messages with this status: queued, sending, sent, failed or cancelled.") var status: String?
        @Option(help: "Only the messages of this follow-up timepoint (id).") var timepoint: String?
        @Option(help: "At most this many messages (1–100000).") var limit = 100
        @Option(help: "table, or json (one object per line).") var format: Format = .table
        @Option(name: .customLong("as"), help: ArgumentHelp("E-mail of the admin listing the messages (recorded in the audit log).",
                                                             valueName: "admin-email"))
        var admin: String

        func run() async throws {
            let status = try self.status.map { text in
                guard let value = OutboxStatus(rawValue: text.lowercased()) else {
                    throw CommandLineError(message: "--status \(text): expected one of \(OutboxStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return value
            }
            let timepoint = try self.timepoint.map { try Outbox.parseID($0, what: "--timepoint") }
            guard (1...Self.maximumLimit).contains(limit) else {
                throw CommandLineError(message: "--limit \(limit): must be between 1 and \(Self.maximumLimit)")
            }
            let (messages, total) = try await withStore(databaseOptions, logger: try makeLogger(level: .warning)) { store in
                let actor = try await administrator(store, email: admin)
                var messages: [OutboxMessageRecord] = []
                var total = 0
                repeat {
                    let page = try await store.outbox.list(actor, status: status, timepoint: timepoint,
                                                           PageRequest(limit: min(PageRequest.maximumLimit, limit - messages.count),
                                                                       offset: messages.count))
                    total = page.total
                    messages += page.items
                    if page.items.isEmpty { break }
                } while messages.count < min(limit, total)
                return (messages, total)
            }
            switch format {
            case .json:
                for message in messages { print(Self.jsonLine(message)) }
            case .table:
                print(Self.table(messages))
                print(messages.count == total ? "\(total) message\(total == 1 ? "" : "s")"
                                              : "\(messages.count) of \(total) messages (--limit to see more)")
            }
        }

        /// One message as a JSON object on one line, keys in the API's order, absent values as null.
        static func jsonLine(_ message: OutboxMessageRecord) -> String {
            func string(_ value: String?) -> String {
                guard let value else { return "null" }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.withoutEscapingSlashes]
                return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
            }
            let fields: [(String, String)] = [
                ("id", string(message.id.lowercasedString)),
                ("invitationId", string(message.invitationID?.lowercasedString)),
                ("timepointId", string(message.timepointID?.lowercasedString)),
                ("siteId", string(message.siteID?.lowercasedString)),
                ("kind", string(message.kind)),
                ("sequence", message.sequence.map(String.init) ?? "null"),
                ("channel", string(message.channel.rawValue)),
                ("recipient", string(message.recipient)),
                ("subject", string(message.subject)),
                ("status", string(message.status.rawValue)),
                ("notBefore", string(Outbox.timestamp(message.notBefore))),
                ("notAfter", string(Outbox.timestamp(message.notAfter))),
                ("attempts", String(message.attempts)),
                ("lastError", string(message.lastError)),
                ("sentAt", string(Outbox.timestamp(message.sentAt))),
                ("createdAt", string(Outbox.timestamp(message.createdAt))),
            ]
            return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        }

        static func table(_ messages: [OutboxMessageRecord]) -> String {
            let header = ["ID", "KIND", "SEQ", "CHANNEL", "RECIPIENT", "STATUS", "NOT BEFORE", "ATTEMPTS", "LAST ERROR", "SENT AT"]
            func cell(_ text: String?, max: Int = 60) -> String {
                guard let text, !text.isEmpty else { return "-" }
                let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
                return line.count > max ? String(line.prefix(max - 1)) + "…" : line
            }
            let rows = messages.map { m in
                [m.id.lowercasedString, m.kind, m.sequence.map(String.init) ?? "-", m.channel.rawValue, cell(m.recipient),
                 m.status.rawValue, Outbox.timestamp(m.notBefore) ?? "-", String(m.attempts), cell(m.lastError),
                 Outbox.timestamp(m.sentAt) ?? "-"]
            }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            let numeric: Set<Int> = [2, 7]
            func line(_ fields: [String]) -> String {
                fields.enumerated().map { column, text in
                    let pad = String(repeating: " ", count: widths[column] - text.count)
                    return numeric.contains(column) ? pad + text : (column == fields.count - 1 ? text : text + pad)
                }.joined(separator: "  ")
            }
            return ([line(header)] + rows.map(line)).joined(separator: "\n")
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retry failed messages by sending each one's timepoint a new link (needs OSSA_PUBLIC_URL).",
            discussion: """
                A failed message no longer holds its link (it is removed when a message fails), so it is not queued again \
                as it was: for each failed message whose timepoint is still pending and whose window is open, a new link is \
                issued for the same timepoint and channel, to the patient's current address, and its invitation (now, \
                outside the site's quiet hours) and remaining reminders are queued. The failed message is marked cancelled \
                ("retried as <new message id>"), and so are the old link's messages still queued (they would repeat the new \
                reminders); the old link keeps working until the window closes. A message whose window has \
                closed is reported "expired: not retried"; others that cannot be retried are reported with the reason. \
                Everything is done in one transaction and recorded in the audit log. Exits 1 if an id names no message.
                """)

        @OptionGroup var databaseOptions: DatabaseOptions
        @Argument(help: "Ids of failed messages (as `ossa outbox list --status failed` shows them).") var ids: [String] = []
        @Flag(name: .customLong("all-failed"), help: "Retry every failed message instead of the ids given.") var allFailed = false
        @Option(name: .customLong("as"), help: ArgumentHelp("E-mail of the admin retrying the messages (recorded in the audit log).",
                                                             valueName: "admin-email"))
        var admin: String

        func run() async throws {
            if allFailed && !ids.isEmpty { throw CommandLineError(message: "give message ids or --all-failed, not both") }
            if !allFailed && ids.isEmpty { throw CommandLineError(message: "give the ids of failed messages, or --all-failed") }
            let selected = try ids.map { try Outbox.parseID($0, what: "message id") }
            // The new links start with the public URL, as the server's: without it they would lead nowhere.
            let publicURL: URL
            do {
                let configuration = try MessagingConfiguration.parse(smtpURL: nil, mailFrom: nil, smsWebhookURL: nil,
                                                                     publicURL: Settings(flags: [:]).string("ossa.public.url"))
                guard let url = configuration.publicURL else {
                    throw CommandLineError(message: "OSSA_PUBLIC_URL is not set: the new links start with it (the address patients use, e.g. https://ossa.example.org)")
                }
                publicURL = url
            } catch let error as MessagingConfigurationError {
                throw CommandLineError(message: "\(error)")
            }
            let composition = try MessageComposition(baseURL: publicURL.absoluteString)
            let results = try await withStore(databaseOptions, logger: try makeLogger(level: .warning)) { store in
                let actor = try await administrator(store, email: admin)
                return try await store.outbox.retryFailed(actor, ids: allFailed ? nil : selected, now: Date(), compose: composition.composer)
            }
            if results.isEmpty { print("no failed messages") }
            var retried = 0, expired = 0, notRetried = 0
            var unknown: [UUID] = []
            for result in results {
                let id = result.id.lowercasedString
                switch result.outcome {
                case .retried(let messageID, _, let queued, let superseded):
                    retried += 1
                    let cancelled = superseded > 0 ? "; \(superseded) queued message\(superseded == 1 ? "" : "s") of the old link cancelled" : ""
                    print("\(id): retried as \(messageID.lowercasedString) (new link, \(queued) message\(queued == 1 ? "" : "s") queued\(cancelled))")
                case .expired:
                    expired += 1
                    print("\(id): expired: not retried (its window has closed)")
                case .notRetried(let reason):
                    notRetried += 1
                    print("\(id): not retried: \(reason)")
                case .unknown:
                    unknown.append(result.id)
                    print("\(id): unknown: no such message")
                }
            }
            if !results.isEmpty {
                print("\(retried) retried, \(expired) expired, \(notRetried) not retried, \(unknown.count) unknown (of \(results.count))")
            }
            if !unknown.isEmpty {
                throw CommandLineError(message: "no such message: \(unknown.map { $0.lowercasedString }.joined(separator: ", "))")
            }
        }
    }
}
