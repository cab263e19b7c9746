import Crypto
import FluentKit
import Foundation
import OssaCore
import SQLKit

/// Where a consult request stands.
public enum ConsultRequestStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// On the coordinators' worklist.
    case new
    /// A coordinator created the patient and episode from it.
    case converted
    /// A coordinator closed it with a reason (a duplicate, not reachable, not a candidate).
    case closed
}

/// A request for a consult from the public self-screen: who to contact and how, and the anonymous answers with
/// their evaluated result, kept only with the request.
public struct ConsultRequestRecord: Sendable, Hashable {
    public var id: UUID
    /// The preferred site; nil for "no preference" (seen by the staff of every site).
    public var siteID: UUID?
    public var name: String
    public var email: String?
    public var phone: String?
    /// Consent to be contacted, given when the request was sent (`createdAt`).
    public var consent: Bool
    public var answers: SelfScreenAnswers
    /// The result as evaluated on the server when the request was sent (ruleset and definition versions inside).
    public var result: SelfScreenResult
    public var status: ConsultRequestStatus
    public var createdAt: Date
    public var handledAt: Date?
    public var handledBy: UUID?
    public var patientID: UUID?
    public var episodeID: UUID?
    public var closeReason: String?

    public var outcome: SelfScreenOutcome { result.outcome }

    public init(id: UUID, siteID: UUID?, name: String, email: String?, phone: String?, consent: Bool, answers: SelfScreenAnswers,
                result: SelfScreenResult, status: ConsultRequestStatus, createdAt: Date, handledAt: Date? = nil, handledBy: UUID? = nil,
                patientID: UUID? = nil, episodeID: UUID? = nil, closeReason: String? = nil) {
        (self.id, self.siteID, self.name, self.email, self.phone, self.consent) = (id, siteID, name, email, phone, consent)
        (self.answers, self.result, self.status, self.createdAt) = (answers, result, status, createdAt)
        (self.handledAt, self.handledBy, self.patientID, self.episodeID, self.closeReason) = (handledAt, handledBy, patientID, episodeID, closeReason)
    }
}

/// What the public sends with a consult request. The result must be the server's own evaluation of the answers.
public struct NewConsultRequest: Sendable, Hashable {
    public var siteID: UUID?
    public var name: String
    public var email: String?
    public var phone: String?
    public var consent: Bool
    public var answers: SelfScreenAnswers
    public var result: SelfScreenResult

    public init(siteID: UUID?, name: String, email: String?, phone: String?, consent: Bool, answers: SelfScreenAnswers, result: SelfScreenResult) {
        (self.siteID, self.name, self.email, self.phone, self.consent, self.answers, self.result) = (siteID, name, email, phone, consent, answers, result)
    }
}

/// The answer to a public submission.
public enum ConsultRequestSubmission: Sendable, Hashable {
    case stored(id: UUID)
    /// Too many requests from this address in the window: nothing stored.
    case rateLimited
}

/// At most `requests` consult requests per client address in `window` seconds.
public struct ConsultRequestRateLimit: Sendable, Hashable {
    public var requests: Int
    public var window: TimeInterval

    public init(requests: Int = 5, window: TimeInterval = 3600) {
        self.requests = requests
        self.window = window
    }
}

/// A site as the public sees it: the choice of a preferred site and whom to contact.
public struct PublicSite: Sendable, Hashable {
    public var id: UUID
    public var contact: ClinicContact
    public var name: String { contact.name }

    public init(id: UUID, contact: ClinicContact) {
        self.id = id
        self.contact = contact
    }
}

/// What a coordinator converts a request into: the patient (identity from the coordinator's form, contact details
/// prefilled from the request) and the episode (joint, side and diagnosis with its grade).
public struct ConsultConversion: Sendable, Hashable {
    public var patient: NewPatient
    public var joint: Joint
    public var side: Side
    public var diagnosis: Diagnosis

    public init(patient: NewPatient, joint: Joint, side: Side, diagnosis: Diagnosis) {
        (self.patient, self.joint, self.side, self.diagnosis) = (patient, joint, side, diagnosis)
    }
}

/// A converted request with the patient and episode it became.
public struct ConvertedConsultRequest: Sendable, Hashable {
    public var request: ConsultRequestRecord
    public var patient: PatientRecord
    public var episode: EpisodeRecord
}

/// The worklist's consult section: the open requests the viewer may see, counted, and the newest few.
public struct ConsultRequestList: Sendable, Hashable {
    public var total: Int
    public var items: [ConsultRequestRecord]

    public init(total: Int, items: [ConsultRequestRecord]) {
        self.total = total
        self.items = items
    }
}

/// Contact details as the self-screen and the store accept them (one rule for the page's messages and the store).
public enum ConsultContact {
    /// One `@` with something before it, a domain with a dot after it, no spaces; at most 254 characters.
    public static func isEmail(_ text: String) -> Bool {
        guard text.unicodeScalars.count <= 254, !text.contains(where: \.isWhitespace) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let domain = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return domain.count >= 2 && domain.allSatisfy { !$0.isEmpty }
    }

    /// Digits with spaces, `+`, `(`, `)` and `-` only, 6 to 15 digits (E.164 allows at most 15); at most 40 characters.
    public static func isPhone(_ text: String) -> Bool {
        guard text.count <= 40, text.allSatisfy({ ($0.isASCII && $0.isNumber) || " +()-".contains($0) }) else { return false }
        return (6...15).contains(text.filter { $0.isASCII && $0.isNumber }.count)
    }
}

/// Consult requests from the public self-screen (issue #11).
///
/// The public creates a request without signing in (`submit`): no acting user, the rate limit counts the requests of
/// the client address (stored only as a SHA-256, and cleared after the window), and the audit entry names the role
/// `anonymous` with no user and no address. Staff list, read, convert and close requests under
/// `AccessPolicy`'s consult-request rules, every call audited: a request belongs to its preferred site, and one
/// with no preferred site is seen by the staff of every site. Converting creates the patient and the episode with
/// `PatientRepository`'s and `EpisodeRepository`'s own checks and marks the request converted, in one transaction.
public struct ConsultRequestRepository: Sendable {
    let database: OssaDatabase

    static let table = "consult_requests"
    static let columns = ["id", "site_id", "name", "email", "phone", "consent", "answers_json", "result_json", "outcome", "status",
                          "created_at", "handled_at", "handled_by", "patient_id", "episode_id", "close_reason"]
    /// The audit role of the anonymous public (no user id, no address).
    static let anonymousRole = "anonymous"

    // MARK: Public

    /// The sites a member of the public may prefer, by name, with their contact details (public information: no
    /// acting user, nothing audited).
    public func publicSites() async throws -> [PublicSite] {
        let rows = try await database.sql().select().columns("id", "name", "contact_phone", "contact_email").from(SiteModel.schema)
            .orderBy("name").orderBy("id").limit(PageRequest.maximumLimit).all()
        return try rows.map { row in
            PublicSite(id: try row.decode(column: "id", as: UUID.self),
                       contact: ClinicContact(name: try row.decode(column: "name", as: String.self),
                                              phone: try row.decode(column: "contact_phone", as: String?.self),
                                              email: try row.decode(column: "contact_email", as: String?.self)))
        }
    }

    /// Stores a request from the public, unless the address has sent `limit.requests` in the last `limit.window`
    /// seconds. The fields are checked as the page checks them (`StoreError.invalid` naming the field); the request
    /// is audited as created by the anonymous public. The address itself is not kept (only its SHA-256, for the limit).
    public func submit(_ new: NewConsultRequest, address: String?, now: Date = Date(),
                       limit: ConsultRequestRateLimit = ConsultRequestRateLimit()) async throws -> ConsultRequestSubmission {
        let name = try requiredText(new.name, field: "name")
        let email = try optionalText(new.email, field: "email", max: 254)
        let phone = try optionalText(new.phone, field: "phone", max: 40)
        if let email, !ConsultContact.isEmail(email) { throw StoreError.invalid(field: "email", message: "is not an e-mail address") }
        if let phone, !ConsultContact.isPhone(phone) { throw StoreError.invalid(field: "phone", message: "is not a phone number") }
        if email == nil, phone == nil { throw StoreError.invalid(field: "email", message: "give an e-mail address or a phone number") }
        guard new.consent else { throw StoreError.invalid(field: "consent", message: "consent to be contacted is required") }
        let answers = try StoredJSON.encode(new.answers)
        let result = try StoredJSON.encode(new.result)
        let addressHash = Self.hash(address: address)
        let since = now.addingTimeInterval(-limit.window)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            // One address's check and insert at a time across processes (PostgreSQL), so that parallel posts cannot
            // all pass the count.
            try await serialize(Self.rateLimitLockKey, on: db)
            let recent = try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from(Self.table)
                .where("address_hash", .equal, SQLBind(addressHash)).where("created_at", .greaterThan, SQLBind(since))
                .first()?.decode(column: "n", as: Int.self) ?? 0
            if recent >= limit.requests { return .rateLimited }
            if let site = new.siteID {
                guard try await sql.select().column("id").from(SiteModel.schema).where("id", .equal, SQLBind(site)).first() != nil else {
                    throw StoreError.invalid(field: "siteID", message: "is not one of the sites")
                }
            }
            let id = UUID()
            try await sql.insert(into: Self.table)
                .columns(Self.columns + ["address_hash"])
                .values(SQLBind(id), SQLBind(new.siteID), SQLBind(name), SQLBind(email), SQLBind(phone), SQLBind(true), SQLBind(answers),
                        SQLBind(result), SQLBind(new.result.outcome.rawValue), SQLBind(ConsultRequestStatus.new.rawValue), SQLBind(now),
                        SQLBind(Date?.none), SQLBind(UUID?.none), SQLBind(UUID?.none), SQLBind(UUID?.none), SQLBind(String?.none),
                        SQLBind(addressHash))
                .run()
            var event = AuditEvent(system: "self-screen", action: .create, recordType: .consultRequest, recordID: id.lowerString)
            event.actorRole = Self.anonymousRole
            event.fromAddress = nil
            try await AuditLog.append(event, on: db)
            return .stored(id: id)
        }
    }

    /// Clears the address hashes of requests older than the rate limit's window (they are only kept for the limit).
    public func purgeAddressHashes(now: Date = Date(), limit: ConsultRequestRateLimit = ConsultRequestRateLimit()) async throws {
        try await database.sql().update(Self.table).set("address_hash", to: SQLLiteral.null)
            .where("address_hash", .isNot, SQLLiteral.null)
            .where("created_at", .lessThanOrEqual, SQLBind(now.addingTimeInterval(-limit.window)))
            .run()
    }

    // MARK: Staff

    /// The requests the actor may see, newest first, optionally of one status and one preferred site; audited as a list.
    public func list(_ actor: ActingUser, status: ConsultRequestStatus? = nil, site: UUID? = nil,
                     _ page: PageRequest = PageRequest()) async throws -> Page<ConsultRequestRecord> {
        let scope = try await Access.require(actor, .list, .consultRequest, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            var result = Page<ConsultRequestRecord>(items: [], total: 0, limit: page.limit, offset: page.offset)
            if var condition = Self.scope("c", actor, scope) {
                if let status { condition = condition + " AND c.\(ident: "status") = \(bind: status.rawValue)" }
                if let site { condition = condition + " AND c.\(ident: "site_id") = \(bind: site)" }
                result.total = try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: Self.table) c WHERE \(condition)")
                    .first()?.decode(column: "n", as: Int.self) ?? 0
                let rows = try await sql.raw("""
                    SELECT \(Self.selectColumns("c")) FROM \(ident: Self.table) c WHERE \(condition)
                    ORDER BY c.\(ident: "created_at") DESC, c.\(ident: "id") LIMIT \(literal: page.limit) OFFSET \(literal: page.offset)
                    """).all()
                result.items = try rows.map(Self.record)
            }
            try await Access.audit(actor, .list, .consultRequest, nil, on: db)
            return result
        }
    }

    /// One request; audited as a read. Another site's request is `notFound`, as a missing one.
    public func get(_ actor: ActingUser, _ id: UUID) async throws -> ConsultRequestRecord {
        let scope = try await Access.require(actor, .read, .consultRequest, recordID: id.lowerString, database: database)
        return try await database.transaction { db in
            let record = try await Self.load(id, actor, scope, on: try db.sqlDatabase(), lock: false)
            try await Access.audit(actor, .read, .consultRequest, id, on: db)
            return record
        }
    }

    /// Creates the patient and the episode from a new request and marks it converted, in one transaction: a refused
    /// patient (a duplicate MRN, a birth date in the future) or episode (a grade that does not fit the joint) leaves
    /// nothing written and the request open. Needs the rights to update the request and to create the patient (at
    /// the conversion's site, one of the actor's) and the episode; audited (the update of the request, the creation
    /// of the patient and of the episode). A request already converted or closed is `StoreError.conflict`.
    public func convert(_ actor: ActingUser, _ id: UUID, _ conversion: ConsultConversion, now: Date = Date()) async throws -> ConvertedConsultRequest {
        let scope = try await Access.require(actor, .update, .consultRequest, recordID: id.lowerString, database: database)
        let patientScope = try await Access.require(actor, .create, .patient, database: database)
        try await Access.requireSite(actor, conversion.patient.siteID, scope: patientScope, .create, .patient, database: database)
        let episodeScope = try await Access.require(actor, .create, .episode, database: database)
        let patient = try PatientRepository.checked(conversion.patient)
        if patient.birthDate > CalendarDate(utc: now) {
            throw StoreError.invalid(field: "birthDate", message: "is in the future")
        }
        return try await mapConstraint(PatientRepository.duplicateMRN(patient)) {
            try await database.transaction { db in
                let sql = try db.sqlDatabase()
                var request = try await Self.load(id, actor, scope, on: sql, lock: true)
                try Self.requireNew(request)
                let created = try await PatientRepository.insert(actor, patient, on: db)
                let episode = try await EpisodeRepository.insert(
                    actor, NewEpisode(patientID: created.id, joint: conversion.joint, side: conversion.side, diagnosis: conversion.diagnosis),
                    scope: episodeScope, on: db)
                try await sql.update(Self.table)
                    .set("status", to: SQLBind(ConsultRequestStatus.converted.rawValue)).set("handled_at", to: SQLBind(now))
                    .set("handled_by", to: SQLBind(actor.userID)).set("patient_id", to: SQLBind(created.id))
                    .set("episode_id", to: SQLBind(episode.id))
                    .where("id", .equal, SQLBind(id)).run()
                try await Access.audit(actor, .update, .consultRequest, id, on: db)
                (request.status, request.handledAt, request.handledBy) = (.converted, now, actor.userID)
                (request.patientID, request.episodeID) = (created.id, episode.id)
                return ConvertedConsultRequest(request: request, patient: created, episode: episode)
            }
        }
    }

    /// Closes a new request with a reason (at most 2000 characters); audited as an update. A request already
    /// converted or closed is `StoreError.conflict`.
    public func close(_ actor: ActingUser, _ id: UUID, reason: String, now: Date = Date()) async throws -> ConsultRequestRecord {
        let scope = try await Access.require(actor, .update, .consultRequest, recordID: id.lowerString, database: database)
        let reason = try requiredText(reason, field: "reason", max: 2000)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            var request = try await Self.load(id, actor, scope, on: sql, lock: true)
            try Self.requireNew(request)
            try await sql.update(Self.table)
                .set("status", to: SQLBind(ConsultRequestStatus.closed.rawValue)).set("handled_at", to: SQLBind(now))
                .set("handled_by", to: SQLBind(actor.userID)).set("close_reason", to: SQLBind(reason))
                .where("id", .equal, SQLBind(id)).run()
            try await Access.audit(actor, .update, .consultRequest, id, on: db)
            (request.status, request.handledAt, request.handledBy, request.closeReason) = (.closed, now, actor.userID, reason)
            return request
        }
    }

    // MARK: Plumbing

    /// Rows visible to the actor under `scope`: the preferred site is one of theirs, or there is none. Nil: none.
    static func scope(_ table: String, _ actor: ActingUser, _ scope: AccessPolicy.Scope) -> SQLQueryString? {
        switch scope {
        case .all: return "1 = 1"
        case .grantedSites:
            guard !actor.siteIDs.isEmpty else { return nil }
            return "(\(ident: table).\(ident: "site_id") IN (\(binds: actor.siteIDList)) OR \(ident: table).\(ident: "site_id") IS NULL)"
        case .ownRecord, .denied: return nil
        }
    }

    static func selectColumns(_ table: String) -> SQLQueryString {
        columns.map { column -> SQLQueryString in "\(ident: table).\(ident: column)" }.joined(separator: ", ")
    }

    /// The worklist's consult section in one statement: the open requests in scope, newest first, with their count.
    static func openList(_ actor: ActingUser, limit: Int, on sql: any SQLDatabase) async throws -> ConsultRequestList {
        guard let condition = scope("c", actor, AccessPolicy.scope(actor.role, .list, .consultRequest)) else {
            return ConsultRequestList(total: 0, items: [])
        }
        // The count is a window over every matching row, computed before the limit: the total and the first rows
        // in one statement (no rows means none to count).
        let rows = try await sql.raw("""
            SELECT \(selectColumns("c")), COUNT(*) OVER () AS total FROM \(ident: table) c
            WHERE \(condition) AND c.\(ident: "status") = \(unsafeRaw: "'\(ConsultRequestStatus.new.rawValue)'")
            ORDER BY c.\(ident: "created_at") DESC, c.\(ident: "id") LIMIT \(literal: limit)
            """).all()
        return ConsultRequestList(total: try rows.first?.decode(column: "total", as: Int.self) ?? 0, items: try rows.map(record))
    }

    static func load(_ id: UUID, _ actor: ActingUser, _ scope: AccessPolicy.Scope, on sql: any SQLDatabase, lock: Bool) async throws -> ConsultRequestRecord {
        let notFound = StoreError.notFound(recordType: "consult request", id: id.lowerString)
        guard let condition = Self.scope("c", actor, scope) else { throw notFound }
        let forUpdate: SQLQueryString = lock && sql.dialect.name == "postgresql" ? " FOR UPDATE" : ""
        guard let row = try await sql.raw("""
            SELECT \(selectColumns("c")) FROM \(ident: table) c WHERE c.\(ident: "id") = \(bind: id) AND \(condition)\(forUpdate)
            """).first() else { throw notFound }
        return try record(row)
    }

    static func requireNew(_ request: ConsultRequestRecord) throws {
        switch request.status {
        case .new: return
        case .converted: throw StoreError.conflict("this consult request has already been turned into a patient")
        case .closed: throw StoreError.conflict("this consult request has been closed")
        }
    }

    static func record(_ row: any SQLRow) throws -> ConsultRequestRecord {
        ConsultRequestRecord(
            id: try row.decode(column: "id", as: UUID.self), siteID: try row.decode(column: "site_id", as: UUID?.self),
            name: try row.decode(column: "name", as: String.self), email: try row.decode(column: "email", as: String?.self),
            phone: try row.decode(column: "phone", as: String?.self), consent: try row.decode(column: "consent", as: Bool.self),
            answers: try StoredJSON.decode(SelfScreenAnswers.self, try row.decode(column: "answers_json", as: String.self), field: "consultRequest.answers"),
            result: try StoredJSON.decode(SelfScreenResult.self, try row.decode(column: "result_json", as: String.self), field: "consultRequest.result"),
            status: try storedValue(ConsultRequestStatus.self, try row.decode(column: "status", as: String.self), field: "consultRequest.status"),
            createdAt: try row.decode(column: "created_at", as: Date.self), handledAt: try row.decode(column: "handled_at", as: Date?.self),
            handledBy: try row.decode(column: "handled_by", as: UUID?.self), patientID: try row.decode(column: "patient_id", as: UUID?.self),
            episodeID: try row.decode(column: "episode_id", as: UUID?.self), closeReason: try row.decode(column: "close_reason", as: String?.self))
    }

    /// The SHA-256 (hex) of the client address, domain-separated; an unknown address counts as one address.
    static func hash(address: String?) -> String {
        let input = "ossa-consult-request-address-v1\n" + (address ?? "unknown")
        return SHA256.hash(data: Data(input.utf8)).map { byte in byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
    }

    /// The PostgreSQL advisory lock serialising the rate limit's check-then-insert.
    static let rateLimitLockKey: Int64 = 0x4F53_5341_434F_4E53  // "OSSACONS"
}
