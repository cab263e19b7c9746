import FluentKit
import Foundation
import OssaCore
import SQLKit

/// What a message template is filled with. Nothing that identifies the patient (a message can be read by others).
public struct MessageContext: Sendable, Hashable {
    /// The personal link's token (the caller builds the URL from `OSSA_PUBLIC_URL`); not stored except in the message.
    public var token: String
    public var timepointCode: String
    public var channel: InvitationChannel
    /// The invitation (0) or the n-th reminder.
    public var sequence: Int
    /// The last day the link works, in the site's time zone.
    public var windowEnd: CalendarDate
    public var clinic: ClinicContact
    /// The clinic's own wording for this kind and channel, when it has one (else the composer's bundled template).
    public var template: MessageTemplate?
}

/// One written message: subject (e-mail), plain text, and an optional HTML alternative (e-mail).
public struct ComposedMessage: Sendable, Hashable {
    public var subject: String?
    public var text: String
    public var html: String?

    public init(subject: String?, text: String, html: String? = nil) {
        (self.subject, self.text, self.html) = (subject, text, html)
    }
}

/// Writes one message of a plan from its context (the clinic's template, the public link).
public typealias MessageComposer = @Sendable (MessageContext) -> ComposedMessage

/// What one planning run did.
public struct PlanningSummary: Sendable, Hashable, CustomStringConvertible {
    /// Timepoints invited (one link each).
    public var invited = 0
    /// Messages queued (invitations and reminders).
    public var queued = 0
    /// Timepoints left for a call: no address on a channel the patient has not opted out of.
    public var noChannel = 0

    public init(invited: Int = 0, queued: Int = 0, noChannel: Int = 0) {
        (self.invited, self.queued, self.noChannel) = (invited, queued, noChannel)
    }

    public var description: String { "\(invited) invited, \(queued) messages queued, \(noChannel) without a channel" }
}

/// The invitation planner: links and their reminders for follow-up windows, under the reminder rules.
///
/// Rules (issue #10, README "Reminder rules"): when a timepoint's window opens (in its site's time zone) it gets one
/// personal link and the whole plan of messages — the invitation, then reminders at the rules' offsets — queued in
/// the same transaction, each not before its planned instant (moved out of the site's quiet hours) and never after
/// the window closes. E-mail is used when the patient has an address and has not opted out, otherwise SMS; a patient
/// reachable on neither is left for the coordinators to call. Completion cancels every queued message of the
/// timepoint (`TimepointRepository.cancelReminders`); an opt-out cancels the channel's at once; a moved schedule
/// cancels and re-plans (`TimepointRepository.reschedule`).
public struct InvitationPlanner: Sendable {
    let database: OssaDatabase
    public let planner: ReminderPlanner

    public init(database: OssaDatabase, rules: ReminderRules) throws {
        self.database = database
        planner = try ReminderPlanner(rules: rules)
    }

    /// One timepoint to invite, with everything the plan needs (read in one statement).
    struct Candidate: Sendable {
        var timepointID: UUID
        var patientID: UUID
        var siteID: UUID
        var code: String
        var windowStart: CalendarDate
        var windowEnd: CalendarDate
        var email: String?
        var phone: String?
        var emailOptedOut: Bool
        var smsOptedOut: Bool
        var timeZone: TimeZone
        var quietHours: QuietHours?
        var clinic: ClinicContact

        /// E-mail first, then SMS, skipping an opted-out channel or a missing address.
        var channel: (InvitationChannel, String)? {
            if let email = email?.trimmingCharacters(in: .whitespaces), !email.isEmpty, !emailOptedOut { return (.email, email) }
            if let phone = phone?.trimmingCharacters(in: .whitespaces), !phone.isEmpty, !smsOptedOut { return (.sms, phone) }
            return nil
        }
    }

    /// Invites every pending, not yet invited timepoint of an open episode whose window is open at `now` in its site's
    /// time zone, at most `limit` per call (the rest on the next). Patients with no e-mail address or phone number they
    /// have not opted out of are not candidates (the worklist lists them to call), nor the dead or withdrawn. Audited per
    /// invitation and its messages (component `planner`).
    public func planDue(now: Date, limit: Int = 20_000, compose: @escaping MessageComposer) async throws -> PlanningSummary {
        let planner = self.planner
        return try await database.sqlTransaction { session in
            let sql = session.sql
            // A day either side of UTC's today covers every time zone; each candidate's own day is checked below.
            let today = CalendarDate(dayNumber: Int((now.timeIntervalSince1970 / 86_400).rounded(.down)))
            let candidates = try await Self.candidates(on: sql, where: """
                t.status = \(bind: TimepointStatus.pending.rawValue) AND t.invited_at IS NULL AND t.window_start <= \(bind: today.adding(days: 1).iso) \
                AND t.window_end >= \(bind: today.adding(days: -1).iso) AND e.status = \(bind: EpisodeStatus.open.rawValue) \
                AND ((p.email IS NOT NULL AND p.email <> '' AND p.email_opt_out_at IS NULL) OR (p.phone IS NOT NULL AND p.phone <> '' AND p.sms_opt_out_at IS NULL)) \
                AND NOT EXISTS (SELECT 1 FROM outcome_events o WHERE o.episode_id = e.id AND o.kind = \(bind: OutcomeKind.withdrawal.rawValue)) \
                AND NOT EXISTS (SELECT 1 FROM outcome_events o JOIN episodes d ON d.id = o.episode_id WHERE d.patient_id = e.patient_id AND o.kind = \(bind: OutcomeKind.death.rawValue))
                """, limit: limit, lock: true)
            let open = candidates.filter { candidate in
                let local = Self.localDay(now, candidate.timeZone)
                return candidate.windowStart <= local && local <= candidate.windowEnd
            }
            return try await Self.issue(open, origin: "automatic", actor: nil, planner: planner, now: now, compose: compose, session: session)
        }
    }

    /// The timepoints' candidates (patient addresses and opt-outs, site time zone, quiet hours and contact).
    /// `lock`: on PostgreSQL the timepoint rows are locked for the transaction and rows another server's planner holds
    /// are skipped, so that two servers never invite one timepoint twice (the second sees `invited_at` once the first
    /// commits). SQLite has one writer, which serialises the planners already.
    static func candidates(on sql: any SQLDatabase, where condition: SQLQueryString, limit: Int, lock: Bool = false) async throws -> [Candidate] {
        let locking = SQLQueryString(lock && sql.dialect.name == "postgresql" ? " FOR UPDATE OF t SKIP LOCKED" : "")
        let rows = try await sql.raw("""
            SELECT t.id, t.code, t.window_start, t.window_end, t.site_id, e.patient_id, p.email, p.phone, \
            p.email_opt_out_at, p.sms_opt_out_at, s.name AS site_name, s.time_zone, s.quiet_hours_start, s.quiet_hours_end, \
            s.contact_phone, s.contact_email \
            FROM follow_up_timepoints t JOIN episodes e ON e.id = t.episode_id JOIN patients p ON p.id = e.patient_id \
            JOIN sites s ON s.id = t.site_id \
            WHERE \(condition) ORDER BY t.window_start, t.id LIMIT \(literal: limit)\(locking)
            """).all()
        return try rows.map { row in
            let zone = try row.decode(column: "time_zone", as: String?.self)
            var quiet: QuietHours?
            if let start = try row.decode(column: "quiet_hours_start", as: String?.self),
               let end = try row.decode(column: "quiet_hours_end", as: String?.self) {
                quiet = try? QuietHours(start: start, end: end)
            }
            return Candidate(
                timepointID: try row.decode(column: "id", as: UUID.self), patientID: try row.decode(column: "patient_id", as: UUID.self),
                siteID: try row.decode(column: "site_id", as: UUID.self), code: try row.decode(column: "code", as: String.self),
                windowStart: try parseStoredDate(try row.decode(column: "window_start", as: String.self), field: "windowStart"),
                windowEnd: try parseStoredDate(try row.decode(column: "window_end", as: String.self), field: "windowEnd"),
                email: try row.decode(column: "email", as: String?.self), phone: try row.decode(column: "phone", as: String?.self),
                emailOptedOut: try row.decode(column: "email_opt_out_at", as: Date?.self) != nil,
                smsOptedOut: try row.decode(column: "sms_opt_out_at", as: Date?.self) != nil,
                timeZone: zone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!, quietHours: quiet,
                clinic: ClinicContact(name: try row.decode(column: "site_name", as: String.self),
                                      phone: try row.decode(column: "contact_phone", as: String?.self),
                                      email: try row.decode(column: "contact_email", as: String?.self)))
        }
    }

    /// The calendar day of `instant` in `zone`.
    static func localDay(_ instant: Date, _ zone: TimeZone) -> CalendarDate {
        let seconds = instant.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: instant))
        return CalendarDate(dayNumber: Int((seconds / 86_400).rounded(.down)))
    }

    /// Issues a link per candidate and queues its plan, in the caller's transaction, with bulk statements: the
    /// invitations, the messages, the timepoints' `invited_at`, and one audit entry per invitation. A candidate with no
    /// channel is counted, not invited; `channel` forces one (a coordinator's choice). Returns the summary; `issued`
    /// receives each link (for the caller that needs the token, the staff's "send now").
    static func issue(_ candidates: [Candidate], origin: String, actor: ActingUser?, planner: ReminderPlanner, now: Date,
                      channel forced: InvitationChannel? = nil, compose: MessageComposer, session: SQLWriteSession,
                      issued: (UUID, UUID, String, [UUID]) -> Void = { _, _, _, _ in }) async throws -> PlanningSummary {
        var summary = PlanningSummary()
        var invitationRows: [[any Encodable & Sendable]] = []
        var messageRows: [[any Encodable & Sendable]] = []
        var events: [AuditEvent] = []
        var invitedTimepoints: [UUID] = []
        // The clinics' own wording, read once for the batch.
        let siteTemplates = try await SiteRepository.templates(sites: Array(Set(candidates.map(\.siteID))), on: session.sql)
        for candidate in candidates {
            let choice: (InvitationChannel, String)?
            if let forced {
                let address = (forced == .email ? candidate.email : candidate.phone)?.trimmingCharacters(in: .whitespaces) ?? ""
                choice = address.isEmpty ? nil : (forced, address)
            } else {
                choice = candidate.channel
            }
            guard let (channel, address) = choice else { summary.noChannel += 1; continue }
            let quiet = planner.rules.quietHours(site: candidate.quietHours)
            let expires = planner.windowEnd(candidate.windowEnd, timeZone: candidate.timeZone)
            guard expires > now else { continue }
            let plan = planner.plan(windowOpen: candidate.windowStart, windowClose: candidate.windowEnd, now: now,
                                    timeZone: candidate.timeZone, quietHours: quiet)
            guard !plan.isEmpty else { continue }
            let token = InvitationRepository.newToken()
            let invitationID = UUID()
            invitationRows.append([invitationID, candidate.patientID, candidate.timepointID, InvitationRepository.hash(token), channel.rawValue,
                                   expires, now, origin])
            var messageIDs: [UUID] = []
            for message in plan {
                let kind: MessageKind = message.sequence == 0 ? .invitation : .reminder
                let context = MessageContext(token: token, timepointCode: candidate.code, channel: channel, sequence: message.sequence,
                                             windowEnd: candidate.windowEnd, clinic: candidate.clinic,
                                             template: siteTemplates[candidate.siteID]?.first { $0.kind == kind && $0.channel == channel })
                let composed = compose(context)
                let id = UUID()
                messageIDs.append(id)
                messageRows.append([id, invitationID, message.sequence == 0 ? "invitation" : "reminder", channel.rawValue, address,
                                    channel == .email ? composed.subject.map { String($0.prefix(200)) } : nil, String(composed.text.prefix(10_000)),
                                    channel == .email ? composed.html.map { String($0.prefix(50_000)) } : nil,
                                    OutboxStatus.queued.rawValue, message.sendAt, expires, 0, now,
                                    candidate.timepointID, candidate.siteID, message.sequence])
            }
            invitedTimepoints.append(candidate.timepointID)
            var event = actor.map { AuditEvent(actor: $0, action: .create, recordType: .invitation, recordID: invitationID.lowerString) }
                ?? AuditEvent(system: "planner", action: .create, recordType: .invitation, recordID: invitationID.lowerString)
            event.recordID = invitationID.lowerString
            events.append(event)
            // The messages queued for it, one entry (they are the invitation's plan).
            var messagesEvent = event
            (messagesEvent.recordType, messagesEvent.recordID) = (.outboxMessage, "invitation:\(invitationID.lowerString):\(plan.count)")
            events.append(messagesEvent)
            summary.invited += 1
            summary.queued += plan.count
            issued(candidate.timepointID, invitationID, token, messageIDs)
        }
        guard !invitationRows.isEmpty else { return summary }
        let sql = session.sql
        try await BulkInsert.insertRows(into: "invitations", columns: ["id", "patient_id", "timepoint_id", "token_hash", "channel", "expires_at",
                                                                   "created_at", "origin"],
                                        rows: invitationRows, on: sql, sqlite: session.sqlite)
        try await BulkInsert.insertRows(into: "outbox_messages", columns: ["id", "invitation_id", "kind", "channel", "recipient", "subject", "body", "html_body",
                                                                       "status", "not_before", "not_after", "attempts", "created_at",
                                                                       "timepoint_id", "site_id", "sequence"],
                                        rows: messageRows, on: sql, sqlite: session.sqlite)
        for chunk in stride(from: 0, to: invitedTimepoints.count, by: 500).map({ Array(invitedTimepoints[$0..<min($0 + 500, invitedTimepoints.count)]) }) {
            try await sql.update("follow_up_timepoints").set("invited_at", to: SQLBind(now))
                .where("id", .in, SQLBind.group(chunk)).where("invited_at", .is, SQLLiteral.null).run()
        }
        try await AuditLog.appendBatch(events, inTransactionOn: sql)
        return summary
    }
}
