import Foundation
import Logging
import OssaCore
import OssaMessaging
import OssaStore
import ServiceLifecycle

/// Where the worker hands e-mails (the SMTP client; tests pass a recording fake).
public protocol EmailTransport: Sendable {
    func send(_ messages: [OutgoingEmail], date: Date) async -> [DeliveryResult]
}

/// Where the worker hands SMS (the webhook client; tests pass a recording fake).
public protocol SMSTransport: Sendable {
    func send(_ message: OutgoingSMS) async -> DeliveryResult
}

extension SMTPClient: EmailTransport {}
extension SMSWebhookClient: SMSTransport {}

/// Sends what the outbox holds: claims due messages under a lease (`OutboxRepository.claimForDelivery`), hands
/// them to the transports, and records every result of a round in one transaction. A channel without a transport
/// is never claimed, so its messages wait in the outbox until delivery is configured.
///
/// Logs carry counts and outcomes only — never a recipient, a subject, a body or a link.
public struct DeliveryWorker: Sendable {
    public let store: OssaStore
    public let mailFrom: EmailAddress?
    public let email: (any EmailTransport)?
    public let sms: (any SMSTransport)?
    /// The right-hand side of new Message-IDs (the public URL's host).
    public let messageDomain: String
    /// This server's identity in leases: random per process, so that a restarted server is a new owner.
    public let owner: String
    public let lease: TimeInterval
    public let batchSize: Int
    public let retry: RetryPolicy
    let logger: Logger

    public init(store: OssaStore, mailFrom: EmailAddress?, email: (any EmailTransport)?, sms: (any SMSTransport)?,
                messageDomain: String, owner: String = "ossa-\(UUID().lowercasedString)", lease: TimeInterval = 300,
                batchSize: Int = 50, retry: RetryPolicy = RetryPolicy(), logger: Logger = Logger(label: "ossa.delivery")) {
        (self.store, self.mailFrom, self.email, self.sms) = (store, mailFrom, email, sms)
        (self.messageDomain, self.owner, self.lease, self.batchSize, self.retry, self.logger) = (messageDomain, owner, lease, batchSize, retry, logger)
    }

    /// The channels this worker can deliver.
    public var channels: Set<InvitationChannel> {
        var channels: Set<InvitationChannel> = []
        if email != nil, mailFrom != nil { channels.insert(.email) }
        if sms != nil { channels.insert(.sms) }
        return channels
    }

    /// One round: claim up to `batchSize` due messages, send them, record the results. Returns what was recorded
    /// and how many were claimed (0: nothing was due).
    @discardableResult
    public func runOnce(now: Date = Date()) async throws -> (claimed: Int, summary: DeliverySummary) {
        let claimed = try await store.outbox.claimForDelivery(owner: owner, lease: lease, channels: channels, limit: batchSize,
                                                              now: now, messageDomain: messageDomain)
        guard !claimed.isEmpty else { return (0, DeliverySummary()) }
        // A slow server can make a round outlast the lease; renewing it every third of the lease keeps another server
        // from taking these messages over (and sending them twice) while this one is still at work.
        let renewal = Task { [store, owner, lease] in
            let ids = claimed.map(\.id)
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(lease / 3))
                if Task.isCancelled { break }
                _ = try? await store.outbox.extendLeases(owner: owner, ids: ids, until: Date().addingTimeInterval(lease))
            }
        }
        defer { renewal.cancel() }
        var outcomes: [UUID: DeliveryOutcome] = [:]
        var emails: [(id: UUID, message: OutgoingEmail)] = []
        var smsUnavailable: String?
        for delivery in claimed {
            // The window may have closed while the message waited in this batch: nothing is sent after it.
            if let notAfter = delivery.notAfter, notAfter <= Date() {
                outcomes[delivery.id] = .permanent("not sent: its last sending time passed")
                continue
            }
            switch delivery.channel {
            case .email:
                guard let mailFrom else { outcomes[delivery.id] = .transient("e-mail delivery is not configured"); continue }
                do {
                    let to = try EmailAddress(parsing: delivery.recipient)
                    emails.append((delivery.id, try OutgoingEmail(messageID: delivery.messageID, from: mailFrom, to: to,
                                                                  subject: delivery.subject ?? "A message from your clinic",
                                                                  textBody: delivery.body, htmlBody: delivery.htmlBody)))
                } catch {
                    outcomes[delivery.id] = .permanent("not an e-mail message: \(error)")
                }
            case .sms:
                guard let sms else { outcomes[delivery.id] = .transient("SMS delivery is not configured"); continue }
                // Once the gateway said it cannot take anything, the round's other SMS are held back unsent.
                if let reason = smsUnavailable { outcomes[delivery.id] = .deferred(reason); continue }
                let outcome = Self.outcome(await sms.send(OutgoingSMS(messageID: delivery.messageID, to: delivery.recipient, body: delivery.body)))
                if case .deferred(let reason) = outcome { smsUnavailable = reason }
                outcomes[delivery.id] = outcome
            }
        }
        if let email, !emails.isEmpty {
            let results = await email.send(emails.map(\.message), date: Date())
            for (index, item) in emails.enumerated() {
                outcomes[item.id] = index < results.count ? Self.outcome(results[index]) : .transient("no result from the transport")
            }
        }
        let summary = try await store.outbox.finishDeliveries(owner: owner, claimed.map { ($0.id, outcomes[$0.id] ?? .transient("not attempted")) },
                                                              now: max(now, Date()), policy: retry)
        logger.info("delivery round", metadata: ["claimed": "\(claimed.count)", "sent": "\(summary.sent)", "retried": "\(summary.retried)",
                                                 "failed": "\(summary.failed)", "deferred": "\(summary.deferred)", "lease_lost": "\(summary.leaseLost)"])
        if summary.deferred > 0 {
            // The reasons are the transports' (codes and settings, no recipients): what the operator must fix.
            let reasons = Set(outcomes.values.compactMap { outcome -> String? in
                if case .deferred(let reason) = outcome { reason } else { nil }
            })
            logger.warning("delivery unavailable; messages held back", metadata: ["reasons": "\(reasons.sorted())"])
        }
        return (claimed.count, summary)
    }

    static func outcome(_ result: DeliveryResult) -> DeliveryOutcome {
        switch result {
        case .sent: .sent
        case .transient(let reason): .transient(reason)
        case .permanent(let reason): .permanent(reason)
        case .unavailable(let reason): .deferred(reason)
        }
    }
}

/// Runs the worker inside `ossa serve` until shutdown: a round at once while messages are due, otherwise one every
/// `idle` interval. A failed round (the database away) is logged and tried again at the next tick.
public struct DeliveryService: Service {
    public let worker: DeliveryWorker
    public let idle: Duration

    public init(worker: DeliveryWorker, idle: Duration = .seconds(1)) {
        self.worker = worker
        self.idle = idle
    }

    public func run() async throws {
        guard !worker.channels.isEmpty else {
            // Nothing configured: the outbox holds its messages (the worklist says delivery is not configured).
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var claimed = 0
                do {
                    claimed = try await worker.runOnce().claimed
                } catch {
                    worker.logger.warning("delivery round failed; retrying", metadata: ["error": "\(type(of: error))"])
                }
                if claimed < worker.batchSize { try? await Task.sleep(for: idle) }
            }
        }
    }
}
