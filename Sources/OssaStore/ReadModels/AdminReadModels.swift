import FluentKit
import Foundation
import OssaCore
import SQLKit

/// The administration pages' read models: accounts, sites, API tokens, rulesets, instrument wording and the audit
/// log, each loaded in one transaction with a fixed number of statements and audited with one batched append, like
/// `ReadModels`' staff pages. Every one is for administrators: a role that the policy lets act only on its own
/// records (its account, its API tokens) is refused too (`Access.requireAll`), and the refusal is audited.
///
/// Statements (SQLite and PostgreSQL alike; `AdminStoreTests` counts some):
/// - `adminViewer`: viewer — 1.
/// - `adminUsers`: viewer, user count, user page, the listed users' site grants, sites, audit (3) — 8.
/// - `adminUser`: viewer, user, grants, sites, API tokens, audit (3) — 8.
/// - `adminUserForm`: viewer, sites — 2.
/// - `adminSites`: viewer, count, page, audit (3) — 6.
/// - `adminTokens`: viewer, count, page, owners, audit (3) — 7.
/// - `adminTokenForm`: viewer, users, audit (3) — 5.
/// - `adminRulesets`: viewer, versions, uploaders, audit (3) — 6 (uploaders only when there are versions).
/// - `adminRuleset`: viewer, version, uploader, audit (3) — 6.
/// - `adminInstruments`: viewer, wordings, uploaders, audit (3) — 6.
/// - `adminInstrument`: viewer, wording, uploader, audit (3) — 6.
/// - `adminAuditLog`: viewer, count, page, actors' names, users for the filter, audit (3) — 8.
/// - `adminAuditVerification`: the whole chain in pages of 1000, then the audit of the check and the viewer.
extension ReadModels {
    /// The viewer of an administration page that shows no records (start page, blank forms), once the actor may do
    /// `action` to every `recordType` record.
    public func adminViewer(_ actor: ActingUser, _ action: AuditAction, _ recordType: RecordType) async throws -> Viewer {
        try await Access.requireAll(actor, action, recordType, database: database)
        return try await viewer(actor)
    }

    // MARK: Users

    /// GET /admin/users: one page of accounts with their site grants.
    public struct AdminUserList: Sendable {
        public var viewer: Viewer
        public var users: Page<UserRecord>
        /// Each listed user's granted sites.
        public var grants: [UUID: Set<UUID>]
        /// Every site (codes for the grants; at most `PageRequest.maximumLimit`).
        public var sites: [SiteRecord]

        public init(viewer: Viewer, users: Page<UserRecord>, grants: [UUID: Set<UUID>], sites: [SiteRecord]) {
            (self.viewer, self.users, self.grants, self.sites) = (viewer, users, grants, sites)
        }
    }

    public func adminUsers(_ actor: ActingUser, _ page: PageRequest) async throws -> AdminUserList {
        try await Access.requireAll(actor, .list, .user, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            let users = try await UserModel.query(on: db)
                .filterLowerLike(["email", "display_name"], page.likePattern)
                .sort(\.$displayName).sort(\.$email).sort(\.$id)
                .page(page, map: UserRecord.init)
            let grants = try await Self.grants(of: users.items.map(\.id), on: db)
            let sites = try await Self.allSites(on: db)
            try await AuditLog.appendBatch([
                AuditEvent(actor: actor, action: .list, recordType: .user, recordID: nil),
                AuditEvent(actor: actor, action: .list, recordType: .siteGrant, recordID: nil),
            ], on: db)
            return AdminUserList(viewer: viewer, users: users, grants: grants, sites: sites)
        }
    }

    /// GET /admin/users/:userID and its forms: the account, its grants, every site and its API tokens.
    public struct AdminUser: Sendable {
        public var viewer: Viewer
        public var user: UserRecord
        public var siteIDs: Set<UUID>
        public var sites: [SiteRecord]
        /// Newest first, revoked ones included.
        public var tokens: [APITokenRecord]

        public init(viewer: Viewer, user: UserRecord, siteIDs: Set<UUID>, sites: [SiteRecord], tokens: [APITokenRecord]) {
            (self.viewer, self.user, self.siteIDs, self.sites, self.tokens) = (viewer, user, siteIDs, sites, tokens)
        }
    }

    public func adminUser(_ actor: ActingUser, userID: UUID) async throws -> AdminUser {
        try await Access.requireAll(actor, .read, .user, recordID: userID.lowerString, database: database)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            guard let model = try await UserModel.find(userID, on: db) else {
                throw StoreError.notFound(recordType: "user", id: userID.lowerString)
            }
            let grants = try await Self.grants(of: [userID], on: db)
            let sites = try await Self.allSites(on: db)
            let tokens = try await APITokenModel.query(on: db).filter(\.$user.$id == userID)
                .sort(\.$createdAt, .descending).sort(\.$id).limit(PageRequest.maximumLimit).all().map(APITokenRecord.init)
            try await AuditLog.appendBatch([
                AuditEvent(actor: actor, action: .read, recordType: .user, recordID: userID.lowerString),
                AuditEvent(actor: actor, action: .list, recordType: .apiToken, recordID: "user:\(userID.lowerString)"),
            ], on: db)
            return AdminUser(viewer: viewer, user: try UserRecord(model), siteIDs: grants[userID] ?? [], sites: sites, tokens: tokens)
        }
    }

    /// The new-user form: the viewer and every site to grant.
    public struct AdminUserForm: Sendable {
        public var viewer: Viewer
        public var sites: [SiteRecord]

        public init(viewer: Viewer, sites: [SiteRecord]) {
            self.viewer = viewer
            self.sites = sites
        }
    }

    public func adminUserForm(_ actor: ActingUser) async throws -> AdminUserForm {
        try await Access.requireAll(actor, .create, .user, database: database)
        return try await database.transaction { db in
            AdminUserForm(viewer: try await Self.viewer(actor, on: db), sites: try await Self.allSites(on: db))
        }
    }

    // MARK: Sites

    /// GET /admin/sites.
    public struct AdminSiteList: Sendable {
        public var viewer: Viewer
        public var sites: Page<SiteRecord>

        public init(viewer: Viewer, sites: Page<SiteRecord>) {
            self.viewer = viewer
            self.sites = sites
        }
    }

    public func adminSites(_ actor: ActingUser, _ page: PageRequest) async throws -> AdminSiteList {
        try await Access.requireAll(actor, .list, .site, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            let sites = try await SiteModel.query(on: db).filterLowerLike(["code", "name"], page.likePattern)
                .sort(\.$code).sort(\.$id).page(page, map: SiteRecord.init)
            try await AuditLog.append(AuditEvent(actor: actor, action: .list, recordType: .site, recordID: nil), on: db)
            return AdminSiteList(viewer: viewer, sites: sites)
        }
    }

    // MARK: API tokens

    /// GET /admin/tokens: every user's tokens, newest first, with their owners.
    public struct AdminTokenList: Sendable {
        public var viewer: Viewer
        public var tokens: Page<APITokenRecord>
        /// The listed tokens' owners (and creators).
        public var users: [UUID: UserRecord]

        public init(viewer: Viewer, tokens: Page<APITokenRecord>, users: [UUID: UserRecord]) {
            (self.viewer, self.tokens, self.users) = (viewer, tokens, users)
        }
    }

    public func adminTokens(_ actor: ActingUser, _ page: PageRequest) async throws -> AdminTokenList {
        try await Access.requireAll(actor, .list, .apiToken, database: database)
        let page = try page.validated()
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            let tokens = try await APITokenModel.query(on: db).sort(\.$createdAt, .descending).sort(\.$id)
                .page(page, map: APITokenRecord.init)
            let ids = Array(Set(tokens.items.flatMap { [$0.userID, $0.createdBy] }))
            var users: [UUID: UserRecord] = [:]
            if !ids.isEmpty {
                for model in try await UserModel.query(on: db).filter(\.$id ~~ ids).all() {
                    users[try model.requireID()] = try UserRecord(model)
                }
            }
            try await AuditLog.append(AuditEvent(actor: actor, action: .list, recordType: .apiToken, recordID: nil), on: db)
            return AdminTokenList(viewer: viewer, tokens: tokens, users: users)
        }
    }

    /// The new-token form: the enabled accounts a token may be created for.
    public struct AdminTokenForm: Sendable {
        public var viewer: Viewer
        /// By name; at most `PageRequest.maximumLimit`.
        public var users: [UserRecord]

        public init(viewer: Viewer, users: [UserRecord]) {
            self.viewer = viewer
            self.users = users
        }
    }

    public func adminTokenForm(_ actor: ActingUser) async throws -> AdminTokenForm {
        try await Access.requireAll(actor, .create, .apiToken, database: database)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            let users = try await UserModel.query(on: db).filter(\.$disabled == false)
                .sort(\.$displayName).sort(\.$email).limit(PageRequest.maximumLimit).all().map(UserRecord.init)
            try await AuditLog.append(AuditEvent(actor: actor, action: .list, recordType: .user, recordID: nil), on: db)
            return AdminTokenForm(viewer: viewer, users: users)
        }
    }

    // MARK: Rulesets

    /// GET /admin/rulesets: every uploaded version, newest first (the bundled default is the web layer's to add).
    public struct AdminRulesetList: Sendable {
        public var viewer: Viewer
        public var rulesets: [RulesetRecord]
        public var userNames: [UUID: String]

        public init(viewer: Viewer, rulesets: [RulesetRecord], userNames: [UUID: String]) {
            (self.viewer, self.rulesets, self.userNames) = (viewer, rulesets, userNames)
        }
    }

    public func adminRulesets(_ actor: ActingUser) async throws -> AdminRulesetList {
        try await Access.requireAll(actor, .list, .ruleset, database: database)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            // The JSON stays in the database: the list needs its identity and title only.
            let rulesets = try await RulesetModel.query(on: db)
                .field(\.$id).field(\.$rulesetID).field(\.$version).field(\.$title).field(\.$uploadedBy).field(\.$uploadedAt).field(\.$active)
                .sort(\.$uploadedAt, .descending).sort(\.$id).limit(PageRequest.maximumLimit).all().map(RulesetRecord.init)
            let names = try await Self.names(of: rulesets.map(\.uploadedBy), on: db)
            try await AuditLog.append(AuditEvent(actor: actor, action: .list, recordType: .ruleset, recordID: nil), on: db)
            return AdminRulesetList(viewer: viewer, rulesets: rulesets, userNames: names)
        }
    }

    /// GET /admin/rulesets/:rulesetID: one uploaded version with its rules.
    public struct AdminRuleset: Sendable {
        public var viewer: Viewer
        public var record: RulesetRecord
        public var ruleset: Ruleset
        public var uploadedByName: String?

        public init(viewer: Viewer, record: RulesetRecord, ruleset: Ruleset, uploadedByName: String?) {
            (self.viewer, self.record, self.ruleset, self.uploadedByName) = (viewer, record, ruleset, uploadedByName)
        }
    }

    public func adminRuleset(_ actor: ActingUser, rulesetID: UUID) async throws -> AdminRuleset {
        try await Access.requireAll(actor, .read, .ruleset, recordID: rulesetID.lowerString, database: database)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            guard let model = try await RulesetModel.find(rulesetID, on: db) else {
                throw StoreError.notFound(recordType: "ruleset", id: rulesetID.lowerString)
            }
            let ruleset = try RulesetRepository.stored(json: model.json, name: "\(model.rulesetID) \(model.version)")
            let names = try await Self.names(of: [model.uploadedBy], on: db)
            try await AuditLog.append(AuditEvent(actor: actor, action: .read, recordType: .ruleset, recordID: rulesetID.lowerString), on: db)
            return AdminRuleset(viewer: viewer, record: try RulesetRecord(model), ruleset: ruleset, uploadedByName: names[model.uploadedBy])
        }
    }

    // MARK: Instruments

    /// GET /admin/instruments: the clinic's wordings (the instruments themselves are OssaCore's library).
    public struct AdminInstrumentList: Sendable {
        public var viewer: Viewer
        /// By instrument id.
        public var wordings: [String: InstrumentWordingRecord]
        public var userNames: [UUID: String]

        public init(viewer: Viewer, wordings: [String: InstrumentWordingRecord], userNames: [UUID: String]) {
            (self.viewer, self.wordings, self.userNames) = (viewer, wordings, userNames)
        }
    }

    public func adminInstruments(_ actor: ActingUser) async throws -> AdminInstrumentList {
        try await Access.requireAll(actor, .list, .instrumentWording, database: database)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            var wordings: [String: InstrumentWordingRecord] = [:]
            for model in try await InstrumentWordingModel.query(on: db).sort(\.$instrumentID).limit(PageRequest.maximumLimit).all() {
                wordings[model.instrumentID] = try InstrumentWordingRecord(model)
            }
            let names = try await Self.names(of: wordings.values.map(\.uploadedBy), on: db)
            try await AuditLog.append(AuditEvent(actor: actor, action: .list, recordType: .instrumentWording, recordID: nil), on: db)
            return AdminInstrumentList(viewer: viewer, wordings: wordings, userNames: names)
        }
    }

    /// GET /admin/instruments/:instrumentID and its wording form.
    public struct AdminInstrument: Sendable {
        public var viewer: Viewer
        /// The clinic's wording, or nil when the shipped wording is in use.
        public var wording: InstrumentWordingRecord?
        public var uploadedByName: String?

        public init(viewer: Viewer, wording: InstrumentWordingRecord?, uploadedByName: String?) {
            (self.viewer, self.wording, self.uploadedByName) = (viewer, wording, uploadedByName)
        }
    }

    public func adminInstrument(_ actor: ActingUser, instrumentID: String) async throws -> AdminInstrument {
        try await Access.requireAll(actor, .read, .instrumentWording, recordID: instrumentID, database: database)
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            let wording = try await InstrumentWordingModel.query(on: db).filter(\.$instrumentID == instrumentID).first()
                .map(InstrumentWordingRecord.init)
            let names = try await Self.names(of: wording.map { [$0.uploadedBy] } ?? [], on: db)
            try await AuditLog.append(AuditEvent(actor: actor, action: .read, recordType: .instrumentWording, recordID: instrumentID), on: db)
            return AdminInstrument(viewer: viewer, wording: wording, uploadedByName: wording.flatMap { names[$0.uploadedBy] })
        }
    }

    // MARK: Audit log

    /// Which audit entries to show; nil fields do not filter.
    public struct AuditFilter: Sendable, Hashable {
        public var userID: UUID?
        public var recordType: RecordType?
        /// Exactly this record id (a UUID in lowercase, `user:…`, `bundled:…`, an instrument id).
        public var recordID: String?
        public var action: AuditAction?
        public var outcome: AuditOutcome?
        /// From the start of this day (UTC).
        public var from: CalendarDate?
        /// To the end of this day (UTC).
        public var to: CalendarDate?

        public init(userID: UUID? = nil, recordType: RecordType? = nil, recordID: String? = nil, action: AuditAction? = nil,
                    outcome: AuditOutcome? = nil, from: CalendarDate? = nil, to: CalendarDate? = nil) {
            (self.userID, self.recordType, self.recordID, self.action, self.outcome, self.from, self.to) =
                (userID, recordType, recordID, action, outcome, from, to)
        }
    }

    /// GET /admin/audit: entries newest first, filtered and paged; reading them is itself audited.
    public struct AdminAuditLog: Sendable {
        public var viewer: Viewer
        public var entries: Page<AuditEntry>
        /// Names of the users who acted in the listed entries, by their id as the entry holds it (lowercase).
        public var actorNames: [String: String]
        /// Every account, for the user filter (by name; at most `PageRequest.maximumLimit`).
        public var users: [UserRecord]

        public init(viewer: Viewer, entries: Page<AuditEntry>, actorNames: [String: String], users: [UserRecord]) {
            (self.viewer, self.entries, self.actorNames, self.users) = (viewer, entries, actorNames, users)
        }
    }

    public func adminAuditLog(_ actor: ActingUser, _ filter: AuditFilter, limit: Int = 50, offset: Int = 0) async throws -> AdminAuditLog {
        try await Access.requireAll(actor, .read, .auditLog, database: database)
        let page = try PageRequest(limit: limit, offset: offset).validated()
        if let recordID = filter.recordID, recordID.unicodeScalars.count > 200 {
            throw StoreError.invalid(field: "recordID", message: "longer than 200 characters")
        }
        if let from = filter.from, let to = filter.to, to < from {
            throw StoreError.invalid(field: "to", message: "is before the start of the range (\(from.iso))")
        }
        return try await database.transaction { db in
            let viewer = try await Self.viewer(actor, on: db)
            let sql = try db.sqlDatabase()
            func filtered(_ query: SQLSelectBuilder) -> SQLSelectBuilder {
                if let user = filter.userID { query.where("actor_user_id", .equal, SQLBind(user.lowerString)) }
                if let type = filter.recordType { query.where("record_type", .equal, SQLBind(type.rawValue)) }
                if let id = filter.recordID { query.where("record_id", .equal, SQLBind(id)) }
                if let action = filter.action { query.where("action", .equal, SQLBind(action.rawValue)) }
                if let outcome = filter.outcome { query.where("outcome", .equal, SQLBind(outcome.rawValue)) }
                if let from = filter.from { query.where("at_us", .greaterThanOrEqual, SQLBind(Self.microseconds(startOf: from))) }
                if let to = filter.to { query.where("at_us", .lessThan, SQLBind(Self.microseconds(startOf: to.adding(days: 1)))) }
                return query
            }
            let total = try await filtered(sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("audit_log"))
                .first()?.decode(column: "n", as: Int.self) ?? 0
            let entries = try await filtered(sql.select().columns(AuditEntry.columns.map { SQLColumn($0) }).from("audit_log"))
                .orderBy("seq", .descending).limit(page.limit).offset(page.offset)
                .all().map(AuditEntry.init(row:))
            let actorIDs = Set(entries.compactMap { $0.actorUserID }.compactMap(UUID.init(uuidString:)))
            let names = try await Self.names(of: Array(actorIDs), on: db)
            let users = try await UserModel.query(on: db).sort(\.$displayName).sort(\.$email).sort(\.$id)
                .limit(PageRequest.maximumLimit).all().map(UserRecord.init)
            try await AuditLog.append(AuditEvent(actor: actor, action: .read, recordType: .auditLog, recordID: nil), on: db)
            return AdminAuditLog(viewer: viewer, entries: Page(items: entries, total: total, limit: page.limit, offset: page.offset),
                                 actorNames: Dictionary(uniqueKeysWithValues: names.map { ($0.key.lowerString, $0.value) }), users: users)
        }
    }

    /// GET /admin/audit/verify: the chain checked (`AuditLog.verify(as:)`, itself audited), and the viewer.
    public struct AdminAuditVerification: Sendable {
        public var viewer: Viewer
        public var result: AuditVerification

        public init(viewer: Viewer, result: AuditVerification) {
            self.viewer = viewer
            self.result = result
        }
    }

    public func adminAuditVerification(_ actor: ActingUser) async throws -> AdminAuditVerification {
        let result = try await AuditLog(database: database).verify(as: actor)
        return AdminAuditVerification(viewer: try await viewer(actor), result: result)
    }

    static func microseconds(startOf day: CalendarDate) -> Int64 {
        Int64(day.dayNumber) * 86_400 * 1_000_000
    }

    // MARK: Shared statements

    /// Every site by code (one statement).
    static func allSites(on db: any Database) async throws -> [SiteRecord] {
        try await SiteModel.query(on: db).sort(\.$code).sort(\.$id).limit(PageRequest.maximumLimit).all().map(SiteRecord.init)
    }

    /// The granted sites of these users (one statement; none when there are no users).
    static func grants(of users: [UUID], on db: any Database) async throws -> [UUID: Set<UUID>] {
        guard !users.isEmpty else { return [:] }
        var grants: [UUID: Set<UUID>] = [:]
        for grant in try await SiteGrantModel.query(on: db).filter(\.$user.$id ~~ users).all() {
            grants[grant.$user.id, default: []].insert(grant.$site.id)
        }
        return grants
    }

    /// Display names of these users (one statement; none when there are no ids).
    static func names(of ids: [UUID], on db: any Database) async throws -> [UUID: String] {
        let ids = Array(Set(ids))
        guard !ids.isEmpty else { return [:] }
        var names: [UUID: String] = [:]
        for user in try await UserModel.query(on: db).filter(\.$id ~~ ids).field(\.$id).field(\.$displayName).all() {
            names[try user.requireID()] = user.displayName
        }
        return names
    }
}

extension Page {
    /// A page of items as a read model returns it (for page samples and tests outside the store).
    public init(_ items: [Item], total: Int, limit: Int, offset: Int) {
        self.init(items: items, total: total, limit: limit, offset: offset)
    }
}

extension AuditEntry {
    /// An entry exactly as given, stored hash included (for page samples and tests; the store appends through
    /// `AuditLog`, which computes the hash).
    public init(sequence: Int64, atMicroseconds: Int64, actorUserID: String?, actorRole: String, action: String, outcome: String,
                recordType: String, recordID: String?, fromAddress: String?, previousHash: String, hash: String) {
        self.init(sequence: sequence, atMicroseconds: atMicroseconds, actorUserID: actorUserID, actorRole: actorRole, action: action,
                  outcome: outcome, recordType: recordType, recordID: recordID, fromAddress: fromAddress, previousHash: previousHash)
        self.hash = hash
    }
}
