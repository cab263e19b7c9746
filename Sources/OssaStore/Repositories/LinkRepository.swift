import FluentKit
import Foundation
import OssaCore
import SQLKit

/// Where a personal questionnaire link stands, as the patient's phone sees it.
public enum LinkStatus: String, Sendable, Hashable {
    /// Answers are taken (once the date of birth is confirmed).
    case open
    /// The questionnaire was submitted.
    case completed
    /// The window closed (or the link expired) before it was answered.
    case expired
    /// The clinic withdrew the link (a changed schedule, or a newer link).
    case withdrawn
    /// Too many wrong dates of birth: the clinic has been told and will send a new link.
    case locked
}

/// The clinic a patient is told to contact (on a closed link, in messages).
public struct ClinicContact: Sendable, Hashable {
    public var name: String
    public var phone: String?
    public var email: String?

    public init(name: String, phone: String? = nil, email: String? = nil) {
        (self.name, self.phone, self.email) = (name, phone, email)
    }
}

/// What a link opens. Nothing here identifies the patient: the page shows it before the date of birth is confirmed.
public struct LinkView: Sendable, Hashable {
    public var invitationID: UUID
    public var timepointID: UUID
    public var timepointCode: String
    public var joint: Joint
    public var status: LinkStatus
    public var windowEnd: CalendarDate
    public var clinic: ClinicContact
    /// This browser confirmed the date of birth (its link-session cookie is valid for this link; also after the
    /// questionnaire was completed, so that the thank-you page can lead to the patient's results).
    public var confirmed: Bool
    /// The answers saved so far (instrument id → item code → value; nil = left unanswered), when confirmed.
    public var draft: [String: [String: Int?]]
    /// The instruments already submitted for this timepoint (a completed link lists them).
    public var channel: InvitationChannel
}

/// The answer to a date-of-birth confirmation.
public enum LinkConfirmation: Sendable, Hashable {
    /// Put `sessionToken` in an HttpOnly cookie; it is stored hashed and valid until `expiresAt`.
    case confirmed(sessionToken: String, expiresAt: Date)
    /// Wrong date; `remaining` tries before the link locks.
    case wrong(remaining: Int)
    case locked
    /// The link is no longer open (completed, expired or withdrawn).
    case closed(LinkStatus)
}

/// One instrument's answers as submitted from a link, already checked against the instrument.
public struct LinkSubmission: Sendable, Hashable {
    public var instrumentID: String
    public var answers: [String: Int?]

    public init(instrumentID: String, answers: [String: Int?]) {
        self.instrumentID = instrumentID
        self.answers = answers
    }
}

/// Personal questionnaire links (`/q/{token}`): opening, the date-of-birth check, answers saved page by page,
/// submission, and the per-channel opt-out. The link is the patient's only credential, so every call takes the
/// token (and, once confirmed, the browser's link-session token) and checks both itself; there is no acting user
/// until the link is resolved, and the audit log names the invitation as the actor (role patient).
///
/// Rules kept here (issue #10): the token is looked up by its hash; the link shows nothing identifying until the
/// date of birth is confirmed; after `maxBirthDateFailures` wrong tries the link locks (the coordinators see it);
/// opening and saving are recorded on the timepoint (`opened_at`, `started_at`) and are not completion; a
/// submission stores every instrument's raw answers and scores, completes the timepoint, cancels every queued
/// reminder and closes the link, all in one transaction.
public struct LinkRepository: Sendable {
    let database: OssaDatabase

    /// Wrong dates of birth before the link locks.
    public static let maxBirthDateFailures = 5
    /// A confirmed browser stays confirmed this long (or until the link expires, if sooner).
    public static let sessionLifetime: TimeInterval = 14 * 86_400

    /// Resolves a link; records its first opening on the invitation and the timepoint. Audited (read of the
    /// invitation, by the patient; its first opening an update too). An unknown token is `StoreError.notFound`.
    public func open(token: String, session: String?, now: Date = Date(), address: String? = nil) async throws -> LinkView {
        let tokenHash = InvitationRepository.hash(token)
        let sessionHash = session.map(InvitationRepository.hash)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            let link = try await Self.load(tokenHash: tokenHash, on: sql, now: now)
            if link.status == .open, link.openedAt == nil {
                try await sql.update("invitations").set("opened_at", to: SQLBind(now)).where("id", .equal, SQLBind(link.invitationID)).run()
                try await sql.update("follow_up_timepoints").set("opened_at", to: SQLBind(now))
                    .where("id", .equal, SQLBind(link.timepointID)).where("opened_at", .is, SQLLiteral.null).run()
                // The first opening is a write (the follow-up page shows it), audited as one: that moves the store's
                // write revision, so no page read before it is answered again.
                try await AuditLog.append(Self.event(link, .update, address: address), on: db)
            }
            var view = link.view
            if [.open, .completed].contains(view.status), let sessionHash,
               try await Self.session(sessionHash, invitation: link.invitationID, now: now, on: sql) {
                view.confirmed = true
                if view.status == .open { view.draft = try await Self.draft(link.invitationID, on: sql) }
            }
            try await AuditLog.append(Self.event(link, .read, address: address), on: db)
            return view
        }
    }

    /// Checks the patient's date of birth. A match opens a link session; a mismatch counts, and the last allowed
    /// one locks the link. Audited either way (a mismatch with outcome `denied`).
    public func confirm(token: String, birthDate: CalendarDate, now: Date = Date(), address: String? = nil) async throws -> LinkConfirmation {
        let tokenHash = InvitationRepository.hash(token)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            let link = try await Self.load(tokenHash: tokenHash, on: sql, now: now, lock: true)
            guard link.status == .open else { return .closed(link.status) }
            guard birthDate == link.birthDate else {
                let failures = link.failures + 1
                var update = sql.update("invitations").set("dob_failures", to: SQLBind(failures)).where("id", .equal, SQLBind(link.invitationID))
                if failures >= Self.maxBirthDateFailures { update = update.set("locked_at", to: SQLBind(now)) }
                try await update.run()
                if failures == Self.maxBirthDateFailures {
                    // Locked and flagged: the coordinators call the patient and send a new link; its reminders stop.
                    try await sql.raw("""
                        UPDATE \(ident: "outbox_messages") SET \(ident: "status") = \(bind: OutboxStatus.cancelled.rawValue), \
                        \(ident: "body") = \(bind: OutboxRepository.removedBody), \(ident: "html_body") = NULL \
                        WHERE \(ident: "status") = \(bind: OutboxStatus.queued.rawValue) AND \(ident: "invitation_id") = \(bind: link.invitationID)
                        """).run()
                    let flagID = UUID()
                    var flagEvent = Self.event(link, .create, address: address)
                    (flagEvent.recordType, flagEvent.recordID) = (.redFlag, flagID.lowerString)
                    try await AuditLog.append(flagEvent, on: db)
                    try await sql.insert(into: "red_flags")
                        .columns("id", "episode_id", "site_id", "timepoint_id", "source", "rule_id", "severity", "message", "raised_at")
                        .values(SQLBind(flagID), SQLBind(link.episodeID), SQLBind(link.siteID), SQLBind(link.timepointID), SQLBind("link"),
                                SQLBind("link-locked"), SQLBind("review"),
                                SQLBind("The questionnaire link was locked after \(failures) wrong dates of birth: call the patient and send a new link"),
                                SQLBind(now))
                        .run()
                }
                var event = Self.event(link, .read, address: address)
                event.outcome = .denied
                try await AuditLog.append(event, on: db)
                return failures >= Self.maxBirthDateFailures ? .locked : .wrong(remaining: Self.maxBirthDateFailures - failures)
            }
            let sessionToken = InvitationRepository.newToken()
            let expires = min(link.expiresAt, now.addingTimeInterval(Self.sessionLifetime))
            let session = LinkSessionModel()
            session.$invitation.id = link.invitationID
            session.tokenHash = InvitationRepository.hash(sessionToken)
            session.createdAt = now
            session.expiresAt = expires
            try await session.create(on: db)
            try await sql.update("invitations").set("confirmed_at", to: SQLBind(now)).where("id", .equal, SQLBind(link.invitationID))
                .where("confirmed_at", .is, SQLLiteral.null).run()
            try await AuditLog.append(Self.event(link, .signIn, address: address), on: db)
            return .confirmed(sessionToken: sessionToken, expiresAt: expires)
        }
    }

    /// Saves one page's answers into the draft (merged with what was saved before); the first save marks the
    /// timepoint started. Refused unless the link is open and the session confirmed for it.
    public func saveDraft(token: String, session: String, answers: [String: [String: Int?]], now: Date = Date(),
                          address: String? = nil) async throws {
        let tokenHash = InvitationRepository.hash(token)
        let sessionHash = InvitationRepository.hash(session)
        try await database.transaction { db in
            let sql = try db.sqlDatabase()
            let link = try await Self.requireOpen(tokenHash: tokenHash, sessionHash: sessionHash, now: now, on: sql)
            var draft = try await Self.draft(link.invitationID, on: sql)
            for (instrument, items) in answers {
                draft[instrument, default: [:]].merge(items) { _, new in new }
            }
            let json = try Self.encode(draft)
            if let existing = try await QuestionnaireDraftModel.query(on: db).filter(\.$invitation.$id == link.invitationID).first() {
                existing.answersJSON = json
                existing.updatedAt = now
                try await existing.update(on: db)
            } else {
                let model = QuestionnaireDraftModel()
                model.$invitation.id = link.invitationID
                model.answersJSON = json
                model.updatedAt = now
                try await model.create(on: db)
            }
            try await sql.update("follow_up_timepoints").set("started_at", to: SQLBind(now))
                .where("id", .equal, SQLBind(link.timepointID)).where("started_at", .is, SQLLiteral.null).run()
            try await AuditLog.append(Self.event(link, .update, address: address), on: db)
        }
    }

    /// Stores the questionnaire: each instrument's raw answers and scores (source `patient-link`), the timepoint
    /// completed, every queued reminder of the timepoint cancelled, the link used and its draft removed — one
    /// transaction. Invalid answers are `StoreError.invalid` naming the item (`koos.P3`).
    public func submit(token: String, session: String, _ submissions: [LinkSubmission], library: InstrumentLibrary,
                       now: Date = Date(), address: String? = nil) async throws -> [QuestionnaireResponseRecord] {
        guard !submissions.isEmpty else { throw StoreError.invalid(field: "answers", message: "nothing to submit") }
        var scored: [(LinkSubmission, InstrumentDefinition, ScoreResult)] = []
        for submission in submissions {
            guard let instrument = library.instrument(id: submission.instrumentID) else {
                throw StoreError.invalid(field: "instrumentID", message: "unknown instrument \"\(submission.instrumentID)\"")
            }
            do {
                scored.append((submission, instrument, try QuestionnaireRepository.score(instrument, submission.answers)))
            } catch StoreError.invalid(let field, let message) {
                throw StoreError.invalid(field: "\(instrument.id).\(field.replacingOccurrences(of: "answers.", with: ""))", message: message)
            }
        }
        let tokenHash = InvitationRepository.hash(token)
        let sessionHash = InvitationRepository.hash(session)
        let prepared = scored
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            let link = try await Self.requireOpen(tokenHash: tokenHash, sessionHash: sessionHash, now: now, on: sql)
            var records: [QuestionnaireResponseRecord] = []
            var rows: [[any Encodable & Sendable]] = []
            var events: [AuditEvent] = []
            for (submission, instrument, scores) in prepared {
                let record = QuestionnaireResponseRecord(
                    id: UUID(), episodeID: link.episodeID, siteID: link.siteID, timepointID: link.timepointID, instrumentID: instrument.id,
                    instrumentVersion: instrument.scoring.version, answers: submission.answers,
                    scores: scores.scores.map { ResponseScore(id: $0.id, value: $0.value) }, scoringVersion: instrument.scoring.version,
                    source: .patientLink, completedAt: now, createdAt: now)
                records.append(record)
                rows.append([record.id, record.episodeID, record.siteID, record.timepointID, record.instrumentID, record.instrumentVersion,
                             StoredJSON.answers(submission.answers), StoredJSON.scores(scores), record.scoringVersion,
                             record.source.rawValue, now, now])
                var event = Self.event(link, .create, address: address)
                event.recordType = .questionnaireResponse
                event.recordID = record.id.lowerString
                events.append(event)
            }
            try await BulkInsert.insertRows(into: "questionnaire_responses", columns: QuestionnaireRepository.columns, rows: rows, on: sql)
            try await sql.update("follow_up_timepoints")
                .set("status", to: SQLBind(TimepointStatus.completed.rawValue))
                .set("completed_at", to: SQLBind(now)).set("updated_at", to: SQLBind(now))
                .where("id", .equal, SQLBind(link.timepointID))
                .where("status", .in, SQLBind.group([TimepointStatus.pending.rawValue, TimepointStatus.missed.rawValue]))
                .run()
            try await TimepointRepository.cancelReminders(timepoint: link.timepointID, on: sql)
            try await sql.update("invitations").set("used_at", to: SQLBind(now)).where("id", .equal, SQLBind(link.invitationID)).run()
            try await sql.delete(from: "questionnaire_drafts").where("invitation_id", .equal, SQLBind(link.invitationID)).run()
            events.append(Self.event(link, .update, address: address))
            try await AuditLog.appendBatch(events, inTransactionOn: sql)
            return records
        }
    }

    /// Stores one recovery-diary day from the link: the answers (with the diary protocol's version), the day's pain as a
    /// pain NRS response, the timepoint completed, its queued reminders cancelled, the link used — and every red flag
    /// the protocol's rules raise against the entry and the episode's earlier days, on the clinicians' worklist at once.
    /// One transaction. Returns the flags (the page tells the patient what to do).
    public func submitDiary(token: String, session: String, entry: DiaryEntry, protocol diary: RecoveryDiaryProtocol,
                            library: InstrumentLibrary, now: Date = Date(), address: String? = nil) async throws -> [DiaryRedFlag] {
        guard let nrs = library.instrument(id: "nrs-pain") else { throw StoreError.invalid(field: "instrumentID", message: "no pain NRS instrument") }
        let score = try QuestionnaireRepository.score(nrs, [nrs.items[0].code: entry.pain])
        let tokenHash = InvitationRepository.hash(token)
        let sessionHash = InvitationRepository.hash(session)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            let link = try await Self.requireOpen(tokenHash: tokenHash, sessionHash: sessionHash, now: now, on: sql)
            var previous: [DiaryEntry] = []
            for row in try await sql.select().column("entry_json").from("diary_entries").where("episode_id", .equal, SQLBind(link.episodeID))
                .orderBy("day").all() {
                previous.append(try StoredJSON.decode(DiaryEntry.self, try row.decode(column: "entry_json", as: String.self), field: "diaryEntry"))
            }
            let flags = diary.flags(for: entry, previous: previous.filter { $0.day < entry.day }, joint: link.view.joint)
            let entryID = UUID()
            try await sql.insert(into: "diary_entries")
                .columns("id", "episode_id", "site_id", "timepoint_id", "day", "entry_json", "protocol_id", "protocol_version", "created_at")
                .values(SQLBind(entryID), SQLBind(link.episodeID), SQLBind(link.siteID), SQLBind(link.timepointID), SQLBind(entry.day),
                        SQLBind(try StoredJSON.encode(entry)), SQLBind(diary.id), SQLBind(diary.version), SQLBind(now))
                .run()
            let responseID = UUID()
            try await BulkInsert.insertRows(into: "questionnaire_responses", columns: QuestionnaireRepository.columns, rows: [[
                responseID, link.episodeID, link.siteID, link.timepointID, nrs.id, nrs.scoring.version,
                StoredJSON.answers([nrs.items[0].code: entry.pain]), StoredJSON.scores(score), nrs.scoring.version, ResponseSource.patientLink.rawValue, now, now,
            ]], on: sql)
            var events: [AuditEvent] = []
            for flag in flags {
                let id = UUID()
                try await sql.insert(into: "red_flags")
                    .columns("id", "episode_id", "site_id", "timepoint_id", "diary_entry_id", "source", "rule_id", "severity", "message",
                             "protocol_version", "raised_at")
                    .values(SQLBind(id), SQLBind(link.episodeID), SQLBind(link.siteID), SQLBind(link.timepointID), SQLBind(entryID),
                            SQLBind("diary"), SQLBind(flag.ruleID), SQLBind(flag.severity.rawValue), SQLBind(String(flag.message.prefix(1000))),
                            SQLBind("\(flag.protocolID) \(flag.protocolVersion)"), SQLBind(now))
                    .run()
                var event = Self.event(link, .create, address: address)
                (event.recordType, event.recordID) = (.redFlag, id.lowerString)
                events.append(event)
            }
            try await sql.update("follow_up_timepoints")
                .set("status", to: SQLBind(TimepointStatus.completed.rawValue))
                .set("completed_at", to: SQLBind(now)).set("updated_at", to: SQLBind(now))
                .set("started_at", to: SQLFunction("COALESCE", args: SQLIdentifier("started_at"), SQLBind(now)))
                .where("id", .equal, SQLBind(link.timepointID))
                .where("status", .in, SQLBind.group([TimepointStatus.pending.rawValue, TimepointStatus.missed.rawValue]))
                .run()
            try await TimepointRepository.cancelReminders(timepoint: link.timepointID, on: sql)
            try await sql.update("invitations").set("used_at", to: SQLBind(now)).where("id", .equal, SQLBind(link.invitationID)).run()
            var diaryEvent = Self.event(link, .create, address: address)
            (diaryEvent.recordType, diaryEvent.recordID) = (.diaryEntry, entryID.lowerString)
            var responseEvent = Self.event(link, .create, address: address)
            (responseEvent.recordType, responseEvent.recordID) = (.questionnaireResponse, responseID.lowerString)
            try await AuditLog.appendBatch([diaryEvent, responseEvent] + events + [Self.event(link, .update, address: address)], inTransactionOn: sql)
            return flags
        }
    }

    /// Stops messages on the link's channel to its patient: the opt-out is recorded on the patient and every queued
    /// message to them on that channel is cancelled, at once. Works on any link that was ever valid (a closed link
    /// still lets the patient stop messages); audited.
    public func optOut(token: String, now: Date = Date(), address: String? = nil) async throws -> InvitationChannel {
        let tokenHash = InvitationRepository.hash(token)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            let link = try await Self.load(tokenHash: tokenHash, on: sql, now: now)
            let column = link.view.channel == .email ? "email_opt_out_at" : "sms_opt_out_at"
            try await sql.update("patients").set(SQLIdentifier(column), to: SQLBind(now)).where("id", .equal, SQLBind(link.patientID))
                .where(SQLIdentifier(column), .is, SQLLiteral.null).run()
            try await sql.raw("""
                UPDATE \(ident: "outbox_messages") SET \(ident: "status") = \(bind: OutboxStatus.cancelled.rawValue), \
                \(ident: "body") = \(bind: OutboxRepository.removedBody), \(ident: "html_body") = NULL \
                WHERE \(ident: "status") = \(bind: OutboxStatus.queued.rawValue) AND \(ident: "channel") = \(bind: link.view.channel.rawValue) \
                AND \(ident: "invitation_id") IN (SELECT \(ident: "id") FROM \(ident: "invitations") WHERE \(ident: "patient_id") = \(bind: link.patientID))
                """).run()
            var event = Self.event(link, .update, address: address)
            event.recordType = .patient
            event.recordID = link.patientID.lowerString
            try await AuditLog.append(event, on: db)
            return link.view.channel
        }
    }

    /// Removes expired link sessions, and the saved answers of links that expired or were withdrawn without being
    /// submitted (partial answers are not kept past the link's life). Run by the server's periodic clean-up.
    public func purge(now: Date = Date()) async throws {
        try await database.transaction { db in
            let sql = try db.sqlDatabase()
            try await sql.delete(from: "link_sessions").where("expires_at", .lessThan, SQLBind(now)).run()
            try await sql.raw("""
                DELETE FROM \(ident: "questionnaire_drafts") WHERE \(ident: "invitation_id") IN \
                (SELECT \(ident: "id") FROM \(ident: "invitations") WHERE \(ident: "expires_at") < \(bind: now) OR \(ident: "revoked_at") IS NOT NULL)
                """).run()
        }
    }

    // MARK: Internals

    struct Loaded: Sendable {
        var view: LinkView
        var invitationID: UUID { view.invitationID }
        var timepointID: UUID { view.timepointID }
        var status: LinkStatus { view.status }
        var patientID: UUID
        var episodeID: UUID
        var siteID: UUID
        var birthDate: CalendarDate
        var failures: Int
        var openedAt: Date?
        var expiresAt: Date
    }

    /// The invitation by token hash with its timepoint, episode, patient's birth date and site contact (one statement).
    /// `lock`: on PostgreSQL the invitation row is locked for the transaction, so that concurrent tries (a date of birth
    /// guessed in parallel, a double tap on Send) are serialised: each sees the one before it. SQLite has one writer.
    static func load(tokenHash: String, on sql: any SQLDatabase, now: Date, lock: Bool = false) async throws -> Loaded {
        let locking = SQLQueryString(lock && sql.dialect.name == "postgresql" ? " FOR UPDATE OF i" : "")
        let row = try await sql.raw("""
            SELECT i.id, i.patient_id, i.timepoint_id, i.channel, i.expires_at, i.used_at, i.revoked_at, i.opened_at, \
            i.dob_failures, i.locked_at, t.code, t.status AS timepoint_status, t.window_end, t.episode_id, t.site_id, e.joint, \
            p.birth_date, s.name AS site_name, s.contact_phone, s.contact_email \
            FROM invitations i JOIN follow_up_timepoints t ON t.id = i.timepoint_id JOIN episodes e ON e.id = t.episode_id \
            JOIN patients p ON p.id = i.patient_id JOIN sites s ON s.id = t.site_id \
            WHERE i.token_hash = \(bind: tokenHash)\(locking)
            """).first()
        guard let row else { throw StoreError.notFound(recordType: "invitation", id: "(token)") }
        let jointText = try row.decode(column: "joint", as: String.self)
        guard let joint = Joint(rawValue: jointText) else { throw StoreError.unreadable(field: "joint", value: jointText) }
        let channelText = try row.decode(column: "channel", as: String.self)
        guard let channel = InvitationChannel(rawValue: channelText) else { throw StoreError.unreadable(field: "channel", value: channelText) }
        let expiresAt = try row.decode(column: "expires_at", as: Date.self)
        let timepointStatus = try row.decode(column: "timepoint_status", as: String.self)
        let status: LinkStatus
        if try row.decode(column: "used_at", as: Date?.self) != nil || timepointStatus == TimepointStatus.completed.rawValue {
            status = .completed
        } else if try row.decode(column: "revoked_at", as: Date?.self) != nil || timepointStatus == TimepointStatus.cancelled.rawValue {
            status = .withdrawn
        } else if try row.decode(column: "locked_at", as: Date?.self) != nil {
            status = .locked
        } else if now >= expiresAt || timepointStatus != TimepointStatus.pending.rawValue {
            status = .expired
        } else {
            status = .open
        }
        let view = LinkView(invitationID: try row.decode(column: "id", as: UUID.self), timepointID: try row.decode(column: "timepoint_id", as: UUID.self),
                            timepointCode: try row.decode(column: "code", as: String.self), joint: joint, status: status,
                            windowEnd: try parseStoredDate(try row.decode(column: "window_end", as: String.self), field: "windowEnd"),
                            clinic: ClinicContact(name: try row.decode(column: "site_name", as: String.self),
                                                  phone: try row.decode(column: "contact_phone", as: String?.self),
                                                  email: try row.decode(column: "contact_email", as: String?.self)),
                            confirmed: false, draft: [:], channel: channel)
        return Loaded(view: view, patientID: try row.decode(column: "patient_id", as: UUID.self),
                      episodeID: try row.decode(column: "episode_id", as: UUID.self), siteID: try row.decode(column: "site_id", as: UUID.self),
                      birthDate: try parseStoredDate(try row.decode(column: "birth_date", as: String.self), field: "birthDate"),
                      failures: try row.decode(column: "dob_failures", as: Int?.self) ?? 0,
                      openedAt: try row.decode(column: "opened_at", as: Date?.self), expiresAt: expiresAt)
    }

    /// The link, refused unless open and confirmed in this browser (an unknown or expired session reads as "confirm
    /// your date of birth again", a closed link as what it is).
    static func requireOpen(tokenHash: String, sessionHash: String, now: Date, on sql: any SQLDatabase) async throws -> Loaded {
        let link = try await load(tokenHash: tokenHash, on: sql, now: now, lock: true)
        guard link.status == .open else { throw LinkClosed(status: link.status) }
        guard try await session(sessionHash, invitation: link.invitationID, now: now, on: sql) else { throw LinkNotConfirmed() }
        return link
    }

    /// Whether the session is valid for the invitation.
    static func session(_ hash: String, invitation: UUID, now: Date, on sql: any SQLDatabase) async throws -> Bool {
        guard let row = try await sql.select().column("expires_at").from("link_sessions")
            .where("token_hash", .equal, SQLBind(hash)).where("invitation_id", .equal, SQLBind(invitation)).first() else { return false }
        return try row.decode(column: "expires_at", as: Date.self) > now
    }

    static func draft(_ invitation: UUID, on sql: any SQLDatabase) async throws -> [String: [String: Int?]] {
        guard let row = try await sql.select().column("answers_json").from("questionnaire_drafts")
            .where("invitation_id", .equal, SQLBind(invitation)).first() else { return [:] }
        return try StoredJSON.decode([String: [String: Int?]].self, try row.decode(column: "answers_json", as: String.self), field: "draft")
    }

    static func encode(_ draft: [String: [String: Int?]]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(draft), as: UTF8.self)
    }

    /// The patient acting through the link, named in the audit log by the invitation.
    static func event(_ link: Loaded, _ action: AuditAction, address: String?) -> AuditEvent {
        var event = AuditEvent(actor: ActingUser(userID: link.invitationID, role: .patient, patientID: link.patientID, address: address),
                               action: action, recordType: .invitation, recordID: link.invitationID.lowerString)
        event.actorUserID = nil
        return event
    }
}

/// The link is not open any more (completed, expired, withdrawn or locked).
public struct LinkClosed: Error, Sendable, Hashable {
    public var status: LinkStatus
}

/// This browser has not confirmed the date of birth for the link (or its confirmation expired).
public struct LinkNotConfirmed: Error, Sendable, Hashable {}
