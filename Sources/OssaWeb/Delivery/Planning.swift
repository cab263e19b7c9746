import Foundation
import Logging
import NIOConcurrencyHelpers
import OssaCore
import OssaMessaging
import OssaStore
import ServiceLifecycle

/// Fills the clinic's message templates: the personal link and the stop link start with `OSSA_PUBLIC_URL` (or the
/// server's own address when it is not set), the visit is named as the protocol names it ("3 months").
public struct MessageComposition: Sendable {
    public let templates: MessageTemplateSet
    public let baseURL: String
    let labels: [String: String]

    public init(baseURL: String, templates: MessageTemplateSet? = nil, protocol followUp: FollowUpProtocol? = nil) throws {
        self.templates = try templates ?? MessageTemplateSet.bundled()
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        let followUp = try followUp ?? FollowUpProtocol.bundledDefault()
        labels = Dictionary(followUp.timepoints.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
    }

    /// "3 months"; a diary day "Recovery diary, day 3".
    func label(_ code: String) -> String {
        if let label = labels[code] { return label.prefix(1).lowercased() + label.dropFirst() }
        if let dash = code.range(of: "-d", options: .backwards), let day = Int(code[dash.upperBound...]), let base = labels[String(code[..<dash.lowerBound])] {
            return "\(base.lowercased()), day \(day)"
        }
        return code
    }

    public var composer: MessageComposer {
        let composition = self
        return { context in composition.compose(context) }
    }

    public func compose(_ context: MessageContext) -> ComposedMessage {
        let kind: MessageKind = context.sequence == 0 ? .invitation : .reminder
        guard let template = context.template ?? templates.template(kind, context.channel) else {
            return ComposedMessage(subject: "A questionnaire from \(context.clinic.name)", text: link(context.token))
        }
        let values = [
            "clinic": context.clinic.name, "timepoint": label(context.timepointCode), "link": link(context.token),
            "stopLink": baseURL + Paths.Portal.stop.url(context.token), "closes": context.windowEnd.iso,
            "contact": context.clinic.phone.map { "\(context.clinic.name) on \($0)" } ?? context.clinic.name,
        ]
        let rendered = template.render(values)
        return ComposedMessage(subject: rendered.subject, text: rendered.text, html: rendered.html)
    }

    func link(_ token: String) -> String { baseURL + Paths.Portal.link.url(token) }
}

/// Runs the invitation planner inside `ossa serve`: every `interval` it invites the timepoints whose window has
/// opened and queues their reminders. Several servers on one PostgreSQL database may run it: a timepoint is invited
/// once (its `invited_at` is set in the same transaction, and the planner's UPDATE only takes a NULL one).
public struct PlanningService: Service {
    public let planner: InvitationPlanner
    public let composition: MessageComposition
    public let interval: Duration
    public let logger: Logger
    let now: @Sendable () -> Date

    public init(planner: InvitationPlanner, composition: MessageComposition, interval: Duration = .seconds(60), logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) {
        (self.planner, self.composition, self.interval, self.logger, self.now) = (planner, composition, interval, logger, now)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let summary = try await planner.planDue(now: now(), compose: composition.composer)
                    if summary.invited > 0 || summary.noChannel > 0 {
                        logger.info("invitations planned", metadata: ["invited": "\(summary.invited)", "queued": "\(summary.queued)",
                                                                     "no_channel": "\(summary.noChannel)"])
                    }
                } catch {
                    logger.warning("invitation planning failed; retrying", metadata: ["error": "\(type(of: error))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// The demo's stand-in for SMTP and the SMS gateway when neither is configured: each message is written to standard
/// output (recipient, subject, link) and counts as sent, so that `ossa serve --demo` shows where messages would go
/// and its links can be opened from the terminal. Demo data only: the registry is synthetic.
public final class ConsoleTransport: EmailTransport, SMSTransport, Sendable {
    let printed = NIOLockedValueBox(0)
    let limit: Int
    let write: @Sendable (String) -> Void

    public init(limit: Int = 20, write: @escaping @Sendable (String) -> Void = { print($0); fflush(nil) }) {
        self.limit = limit
        self.write = write
    }

    public func send(_ messages: [OutgoingEmail], date: Date) async -> [DeliveryResult] {
        for message in messages { show("e-mail to \(message.to.address): \(message.subject)", message.textBody) }
        return messages.map { _ in .sent }
    }

    public func send(_ message: OutgoingSMS) async -> DeliveryResult {
        show("SMS to \(message.to)", message.body)
        return .sent
    }

    private func show(_ header: String, _ body: String) {
        let count = printed.withLockedValue { value -> Int in
            value += 1
            return value
        }
        let link = body.split(whereSeparator: \.isWhitespace).first { $0.contains("/q/") && !$0.hasSuffix("/stop") }.map(String.init) ?? ""
        if count <= limit {
            write("demo message (not sent: no OSSA_SMTP_URL / OSSA_SMS_WEBHOOK_URL): \(header) \(link)")
        } else if count == limit + 1 {
            write("demo message: more messages are not shown; list them with GET /api/v1/outbox")
        }
    }
}
