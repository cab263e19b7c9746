import FluentKit
import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// What the administration pages rely on in the store: ruleset versions (checked, unique, exactly one in use, and the
/// one new evaluations use), instrument wording, role-and-sites changes in one transaction, the audit log's filters
/// and verification, and every one of them refused (and audited) for every role but admin.
@Suite("Administration in the store")
struct AdminStoreTests {
    /// The bundled ruleset file, changed by `edit`.
    func rulesetJSON(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/OssaCore/Resources/rulesets/default.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        edit(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    func clinicVersion(_ version: String) throws -> String {
        try rulesetJSON { object in
            object["id"] = "vie-clinic"
            object["version"] = version
        }
    }

    func activeRows(_ store: OssaStore) async throws -> Int {
        let row = try await store.database.sql().raw("SELECT COUNT(*) AS n FROM rulesets WHERE active").first()
        return try row?.decode(column: "n", as: Int.self) ?? -1
    }

    @Test("ruleset versions: checked with the path of the problem, unique, exactly one in use, and used by new evaluations",
          arguments: Engine.available)
    func rulesets(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let now = Date()
            #expect(try await store.rulesets.active() == nil)
            await #expect(throws: StoreError.invalid(field: "ruleset.rules[1].evidence", message: "needs at least one evidence id")) {
                _ = try await store.rulesets.upload(f.admin, json: try rulesetJSON { object in
                    var rules = object["rules"] as! [[String: Any]]
                    rules[1]["evidence"] = [String]()
                    object["rules"] = rules
                }, now: now)
            }
            await #expect(throws: StoreError.invalid(field: "ruleset", message: "is empty")) {
                _ = try await store.rulesets.upload(f.admin, json: "  ", now: now)
            }
            // The bundled default's own id and version are not uploaded over it.
            await #expect(throws: StoreError.self) { _ = try await store.rulesets.upload(f.admin, json: try rulesetJSON { _ in }, now: now) }

            let first = try await store.rulesets.upload(f.admin, json: try clinicVersion("2026-03"), now: now)
            #expect(first.rulesetID == "vie-clinic" && first.version == "2026-03" && !first.active)
            #expect(try await store.rulesets.active() == nil)
            await #expect(throws: StoreError.conflictingField(field: "ruleset.version",
                                                              message: "vie-clinic version 2026-03 has been uploaded already; give the new one its own version number")) {
                _ = try await store.rulesets.upload(f.admin, json: try clinicVersion("2026-03"), now: now)
            }

            try await store.rulesets.activate(f.admin, first.id)
            #expect(try await store.rulesets.active()?.version == "2026-03")
            let second = try await store.rulesets.upload(f.admin, json: try clinicVersion("2026-04"), now: now, activate: true)
            #expect(second.active)
            #expect(try await store.rulesets.active()?.version == "2026-04")
            #expect(try await activeRows(store) == 1)
            // The database itself refuses a second active version.
            await #expect(throws: (any Error).self) {
                try await store.database.sql().update("rulesets").set("active", to: SQLBind(true)).where("id", .equal, SQLBind(first.id)).run()
            }

            // New evaluations made with the active ruleset record its id and version.
            let clinician = try #require(f.actors[.clinician])
            let input = try exampleScreeningInput("knee-bml-recommended")
            let decision = try await store.screening.evaluate(clinician, episodeID: f.episodeA.id, input, ruleset: try await store.rulesets.active())
            #expect(decision.rulesetID == "vie-clinic" && decision.rulesetVersion == "2026-04")

            try await store.rulesets.activate(f.admin, nil)
            #expect(try await store.rulesets.active() == nil)
            #expect(try await activeRows(store) == 0)
            let bundled = try await store.screening.evaluate(clinician, episodeID: f.episodeA.id, input, ruleset: try await store.rulesets.active())
            #expect(bundled.rulesetID == (try Ruleset.bundledDefault()).id)
            await #expect(throws: StoreError.notFound(recordType: "ruleset", id: UUID(uuidString: "00000000-0000-0000-0000-0000000000aa")!.lowerString)) {
                try await store.rulesets.activate(f.admin, UUID(uuidString: "00000000-0000-0000-0000-0000000000aa")!)
            }

            let audit = try await auditEntries(store).filter { $0.recordType == "ruleset" }
            #expect(audit.map(\.action) == ["create", "update", "create", "update", "update"])
            #expect(audit.last?.recordID == "bundled:\((try Ruleset.bundledDefault()).id)@\((try Ruleset.bundledDefault()).version)")
        }
    }

    @Test("instrument wording: only an instrument's own item codes; one per instrument, replaced and removed, each audited",
          arguments: Engine.available)
    func wording(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let now = Date()
            await #expect(throws: StoreError.notFound(recordType: "instrument", id: "womac")) {
                _ = try await store.instrumentWordings.upload(f.admin, instrumentID: "womac", texts: ["P1": "x"], now: now)
            }
            await #expect(throws: StoreError.invalid(field: "texts.X9", message: "is not an item of instrument 'koos'")) {
                _ = try await store.instrumentWordings.upload(f.admin, instrumentID: "koos", texts: ["P1": "x", "X9": "y"], now: now)
            }
            await #expect(throws: StoreError.invalid(field: "texts.P2", message: "must not be empty")) {
                _ = try await store.instrumentWordings.upload(f.admin, instrumentID: "koos", texts: ["P2": " "], now: now)
            }
            #expect(try await store.instrumentWordings.get("koos") == nil)
            _ = try await store.instrumentWordings.upload(f.admin, instrumentID: "koos", texts: ["P1": " Licensed P1 "], now: now)
            _ = try await store.instrumentWordings.upload(f.admin, instrumentID: "koos", texts: ["P1": "Licensed P1, second edition", "P2": "P2"], now: now)
            let stored = try #require(try await store.instrumentWordings.get("koos"))
            #expect(stored.texts == ["P1": "Licensed P1, second edition", "P2": "P2"])
            #expect(stored.uploadedBy == f.admin.userID)
            #expect(try await store.instrumentWordings.get("hoos") == nil)
            try await store.instrumentWordings.remove(f.admin, instrumentID: "koos")
            #expect(try await store.instrumentWordings.get("koos") == nil)
            #expect(try await auditEntries(store).filter { $0.recordType == "instrument-wording" }.map(\.action) == ["create", "update", "delete"])
            // The instrument id is a closed set in the database too.
            await #expect(throws: (any Error).self) {
                try await store.database.sql().insert(into: "instrument_wordings").columns("id", "instrument_id", "json", "uploaded_by", "uploaded_at")
                    .values(SQLBind(UUID()), SQLBind("womac"), SQLBind("{}"), SQLBind(f.admin.userID), SQLBind(now)).run()
            }
        }
    }

    @Test("role and sites change in one transaction: an unknown site changes nothing; grants and withdrawals are audited",
          arguments: Engine.available)
    func roleAndSites(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            let unknown = UUID(uuidString: "00000000-0000-0000-0000-0000000000bb")!
            await #expect(throws: StoreError.notFound(recordType: "site", id: unknown.lowerString)) {
                _ = try await store.users.setRoleAndSites(f.admin, coordinator.userID, role: .clinician, sites: [f.siteB.id, unknown])
            }
            var now = try await store.users.actingUser(coordinator.userID, from: nil)
            #expect(now.role == .coordinator && now.siteIDs == [f.siteA.id], "nothing changed")

            let before = try await auditEntries(store).count
            let record = try await store.users.setRoleAndSites(f.admin, coordinator.userID, role: .clinician, sites: [f.siteB.id])
            #expect(record.role == .clinician)
            now = try await store.users.actingUser(coordinator.userID, from: nil)
            #expect(now.role == .clinician && now.siteIDs == [f.siteB.id])
            let added = try await auditEntries(store).dropFirst(before)
            #expect(added.map { "\($0.action) \($0.recordType)" } == ["update user", "grant site-grant", "revoke site-grant"])

            await #expect(throws: StoreError.invalid(field: "role", message: "you cannot change your own role; another administrator can")) {
                _ = try await store.users.setRoleAndSites(f.admin, f.admin.userID, role: .clinician, sites: [])
            }
            let patient = try #require(f.actors[.patient])
            await #expect(throws: StoreError.self) { _ = try await store.users.setRoleAndSites(f.admin, patient.userID, role: .clinician, sites: []) }
            await #expect(throws: StoreError.self) { _ = try await store.users.setRoleAndSites(f.admin, patient.userID, role: .patient, sites: [f.siteA.id]) }
        }
    }

    @Test("the audit log read model filters by user, record type, record id, action, outcome and day, newest first, and audits the read",
          arguments: Engine.available)
    func auditFilters(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            await #expect(throws: AccessDenied.self) { _ = try await store.readModels.adminUsers(clinician, PageRequest()) }
            let all = try await store.readModels.adminAuditLog(f.admin, .init(), limit: 5)
            #expect(all.entries.items.count == 5)
            #expect(all.entries.items.map(\.sequence) == all.entries.items.map(\.sequence).sorted(by: >))
            #expect(all.entries.total == (try await auditEntries(store).count) - 1, "the total is counted before the read is appended")

            let refused = try await store.readModels.adminAuditLog(f.admin, .init(userID: clinician.userID, outcome: .denied))
            #expect(refused.entries.items.map { "\($0.action) \($0.recordType)" } == ["list user"])
            #expect(refused.actorNames[clinician.userID.lowerString] == "clinician")
            let sites = try await store.readModels.adminAuditLog(f.admin, .init(recordType: .site, action: .create))
            #expect(Set(sites.entries.items.compactMap(\.recordID)) == [f.siteA.id.lowerString, f.siteB.id.lowerString])
            let one = try await store.readModels.adminAuditLog(f.admin, .init(recordID: f.siteB.id.lowerString))
            #expect(one.entries.total == 1)
            let today = CalendarDate(dayNumber: Int(Date().timeIntervalSince1970 / 86_400))
            #expect(try await store.readModels.adminAuditLog(f.admin, .init(recordType: .site, from: today, to: today)).entries.total == 2)
            #expect(try await store.readModels.adminAuditLog(f.admin, .init(from: today.adding(days: 1))).entries.total == 0)
            #expect(try await store.readModels.adminAuditLog(f.admin, .init(to: today.adding(days: -1))).entries.total == 0)
            await #expect(throws: StoreError.invalid(field: "to", message: "is before the start of the range (\(today.iso))")) {
                _ = try await store.readModels.adminAuditLog(f.admin, .init(from: today, to: today.adding(days: -1)))
            }
            let last = try #require(try await auditEntries(store).last)
            #expect(last.action == "read" && last.recordType == "audit-log" && last.actorUserID == f.admin.userID.lowerString)
        }
    }

    @Test("verification: intact, then the edited entry named; refused and audited for anyone but an admin", arguments: Engine.available)
    func verification(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            await #expect(throws: AccessDenied.self) { _ = try await store.audit.verify(as: clinician) }
            #expect(try await auditEntries(store).last?.outcome == "denied")
            guard case .intact(let count, _) = try await store.audit.verify(as: f.admin) else {
                Issue.record("the log should be intact")
                return
            }
            let entries = try await auditEntries(store)
            #expect(count == entries.count - 1)
            #expect(entries.last?.recordID == "verify" && entries.last?.actorRole == "admin")
            try await dropAuditTriggers(store)
            try await store.database.sql().raw("UPDATE audit_log SET action = 'delete' WHERE seq = 3").run()
            #expect(try await store.audit.verify(as: f.admin) == .broken(sequence: 3, reason: .hashMismatch))
        }
    }

    @Test("every administration read model and write refuses every other role, audited, before reading or writing anything",
          arguments: [Role.patient, .coordinator, .clinician, .researcher])
    func refusals(role: Role) async throws {
        try await withStore(.sqlite) { store in
            let f = try await Fixture.make(store)
            let actor = try #require(f.actors[role])
            let own = try await store.apiTokens.create(actor, user: actor.userID, name: "own", token: "own-token-\(role)", now: Date())
            let calls: [(String, @Sendable () async throws -> Void)] = [
                ("adminViewer", { _ = try await store.readModels.adminViewer(actor, .create, .user) }),
                ("adminUsers", { _ = try await store.readModels.adminUsers(actor, PageRequest()) }),
                ("adminUser (own account)", { _ = try await store.readModels.adminUser(actor, userID: actor.userID) }),
                ("adminUserForm", { _ = try await store.readModels.adminUserForm(actor) }),
                ("adminSites", { _ = try await store.readModels.adminSites(actor, PageRequest()) }),
                ("adminTokens", { _ = try await store.readModels.adminTokens(actor, PageRequest()) }),
                ("adminTokenForm", { _ = try await store.readModels.adminTokenForm(actor) }),
                ("adminRulesets", { _ = try await store.readModels.adminRulesets(actor) }),
                ("adminRuleset", { _ = try await store.readModels.adminRuleset(actor, rulesetID: UUID()) }),
                ("adminInstruments", { _ = try await store.readModels.adminInstruments(actor) }),
                ("adminInstrument", { _ = try await store.readModels.adminInstrument(actor, instrumentID: "koos") }),
                ("adminAuditLog", { _ = try await store.readModels.adminAuditLog(actor, .init()) }),
                ("adminAuditVerification", { _ = try await store.readModels.adminAuditVerification(actor) }),
                ("upload ruleset", { _ = try await store.rulesets.upload(actor, json: "{}", now: Date()) }),
                ("activate ruleset", { try await store.rulesets.activate(actor, nil) }),
                ("upload wording", { _ = try await store.instrumentWordings.upload(actor, instrumentID: "koos", texts: ["P1": "x"], now: Date()) }),
                ("remove wording", { try await store.instrumentWordings.remove(actor, instrumentID: "koos") }),
                ("role and sites", { _ = try await store.users.setRoleAndSites(actor, actor.userID, role: role, sites: []) }),
                ("own token, as administrator", {
                    _ = try await store.apiTokens.createAsAdministrator(actor, user: actor.userID, name: "x", token: "t-\(role)", now: Date())
                }),
                ("revoke own token, as administrator", { _ = try await store.apiTokens.revokeAsAdministrator(actor, own.id, now: Date()) }),
            ]
            for (name, call) in calls {
                let before = try await auditEntries(store).count
                await #expect(throws: AccessDenied.self, "\(role) \(name)") { try await call() }
                let after = try await auditEntries(store)
                #expect(after.count == before + 1 && after.last?.outcome == "denied", "\(role) \(name): one denied entry")
            }
            #expect(try await store.apiTokens.authenticate(token: "own-token-\(role)", now: Date(), address: nil) != nil)
        }
    }

    @Test("the users page's statement count does not grow with the number of users shown")
    func userListStatements() async throws {
        let counter = StatementCounter()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-admin-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await OssaDatabase.open(.sqlite(path: dir.appendingPathComponent("ossa.sqlite").path), logger: counter.logger)
        do {
            try await database.migrate()
            let store = OssaStore(database: database)
            let f = try await Fixture.make(store)
            let few = try await counter.statements { _ = try await store.readModels.adminUsers(f.admin, PageRequest(limit: 50)) }
            for index in 0..<30 {
                _ = try await store.users.create(f.admin, NewUser(email: "u\(index)@example.org", displayName: "U\(index)", role: .clinician),
                                                 sites: [f.siteA.id, f.siteB.id])
            }
            let many = try await counter.statements { _ = try await store.readModels.adminUsers(f.admin, PageRequest(limit: 50)) }
            #expect(few == many)
            #expect(many <= 10, "\(many) statements")
            let audit = try await counter.statements { _ = try await store.readModels.adminAuditLog(f.admin, .init(), limit: 50) }
            #expect(audit <= 10, "\(audit) statements")
            await database.shutdown()
        } catch {
            await database.shutdown()
            throw error
        }
    }
}
