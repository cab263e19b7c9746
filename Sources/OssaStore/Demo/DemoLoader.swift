import Crypto
import FluentKit
import Foundation
import OssaCore
import OssaDemo
import SQLKit

/// A staff login the demo loader created. It has no password: the server's demo mode sets one
/// (`UserRepository.update(admin, id, UserChanges(passwordHash: …))`, acting as `DemoLoadSummary.adminUserID`).
public struct DemoLoadedUser: Sendable, Hashable {
    public var id: UUID
    /// The generator's login name, e.g. `demo.clinician1.lis`.
    public var login: String
    public var email: String
    public var displayName: String
    public var role: Role
    public var siteIDs: [UUID]
}

/// What a demo load wrote, table by table.
public struct DemoLoadSummary: Sendable, Hashable {
    public var sites = 0
    public var users = 0
    public var siteGrants = 0
    public var patients = 0
    public var episodes = 0
    public var screeningDecisions = 0
    public var imagingStudies = 0
    public var subregionFindings = 0
    public var procedures = 0
    public var injections = 0
    public var timepoints = 0
    public var questionnaireResponses = 0
    public var outcomeEvents = 0
    /// The demo administrator (the loader's audit entries name it as the actor).
    public var adminUserID = UUID()
    public var loadedUsers: [DemoLoadedUser] = []
    public var seconds = 0.0

    /// Rows written in all.
    public var rows: Int {
        sites + users + siteGrants + patients + episodes + screeningDecisions + imagingStudies + subregionFindings + procedures
            + injections + timepoints + questionnaireResponses + outcomeEvents
    }

    mutating func add(_ chunk: DemoChunk) {
        patients += chunk.rows["patients", default: []].count
        episodes += chunk.rows["episodes", default: []].count
        screeningDecisions += chunk.rows["screening_decisions", default: []].count
        imagingStudies += chunk.rows["imaging_studies", default: []].count
        subregionFindings += chunk.rows["subregion_findings", default: []].count
        procedures += chunk.rows["procedures", default: []].count
        injections += chunk.rows["injections", default: []].count
        timepoints += chunk.rows["follow_up_timepoints", default: []].count
        questionnaireResponses += chunk.rows["questionnaire_responses", default: []].count
        outcomeEvents += chunk.rows["outcome_events", default: []].count
    }
}

public enum DemoLoadError: Error, Sendable, CustomStringConvertible {
    /// The database already holds data; the demo registry loads only into an empty database.
    case notEmpty(sites: Int, users: Int, patients: Int)
    /// A chunk failed; everything the load had written was removed again (`removed`), or could not be (`!removed`).
    case failed(underlying: String, removed: Bool)

    public var description: String {
        switch self {
        case let .notEmpty(sites, users, patients):
            "the database already holds data (\(sites) sites, \(users) users, \(patients) patients); the demo registry loads only into an empty database"
        case let .failed(underlying, removed):
            "the demo load failed (\(underlying)); " + (removed ? "everything it had written was removed again" : "its partial data could NOT be removed")
        }
    }
}

/// Writes the output of OssaCore's `DemoRegistry` into an empty database: sites, staff users with their roles and
/// site grants, patients, episodes, screening decisions, MRI studies and subregion findings, procedures and
/// injections, follow-up timepoints, scored questionnaire responses and outcome events. The generator's
/// `DemoEpisode.truth` is not stored. Users get no password.
///
/// Rows go through SQLKit multi-row INSERTs (`BulkInsert.insertRows`), `chunkSize` patients per chunk, one
/// `bulk-insert` audit entry per chunk, while the next chunk is generated on another core.
///
/// All or nothing: a load of up to `singleTransactionLimit` patients runs in one transaction, so a failure leaves
/// the database as it was. A larger load commits chunk by chunk (so that the SQLite WAL and PostgreSQL's
/// transaction stay small); if a chunk fails, the loader deletes everything the load wrote and reports
/// `DemoLoadError.failed(removed: true)`. Only a crash of the process mid-load can leave a partial registry, which
/// the next load then refuses as a non-empty database (start again from a new database file). The audit entries of
/// committed chunks stay: the log is append-only.
public struct DemoLoader: Sendable {
    public let database: OssaDatabase
    /// Patients per chunk (transaction in chunked mode; audit entry and progress step in both modes).
    public var chunkSize: Int
    /// Loads of at most this many patients run in one transaction.
    public var singleTransactionLimit: Int
    /// Test hook: throw after writing this many chunks.
    var failAfterChunks: Int?

    public init(database: OssaDatabase, chunkSize: Int = 500, singleTransactionLimit: Int = 5_000) {
        self.database = database
        self.chunkSize = chunkSize
        self.singleTransactionLimit = singleTransactionLimit
    }

    /// Loads patients `0..<patients` of `registry`. `progress(done, total)` is called after each chunk (patients).
    public func load(_ registry: DemoRegistry, patients: Int, address: String? = "cli",
                     progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) async throws -> DemoLoadSummary {
        guard patients >= 0 else { throw StoreError.invalid(field: "patients", message: "\(patients) is negative") }
        guard chunkSize >= 1 else { throw StoreError.invalid(field: "chunkSize", message: "\(chunkSize) is below 1") }
        let started = Date()
        let header = try DemoHeader(registry)
        let actor = ActingUser(userID: header.adminID, role: .admin, address: address)
        let chunks = stride(from: 0, to: patients, by: chunkSize).map { $0..<min($0 + chunkSize, patients) }
        let failAfter = failAfterChunks
        let context = DemoRowContext(registry: registry, header: header, library: try InstrumentLibrary.builtIn(), now: Date())

        var start = DemoLoadSummary()
        start.sites = header.siteRows.count
        start.users = header.userRows.count
        start.siteGrants = header.grantRows.count
        start.adminUserID = header.adminID
        start.loadedUsers = header.loadedUsers
        let summary = start

        /// Writes every chunk through `write` (one transaction each, or all inside one), generating ahead.
        @Sendable func run(_ write: @escaping @Sendable (DemoChunk, Int) async throws -> Void) async throws -> DemoLoadSummary {
            var result = summary
            guard !chunks.isEmpty else { return result }
            // Generation is the heavier half: it runs on every core (`parts`) while the previous chunk is written.
            let parts = max(1, ProcessInfo.processInfo.activeProcessorCount)
            var pending = Task.detached { try await context.rows(for: chunks[0], parts: parts) }
            for (index, range) in chunks.enumerated() {
                let chunk = try await pending.value
                if index + 1 < chunks.count {
                    let next = chunks[index + 1]
                    pending = Task.detached { try await context.rows(for: next, parts: parts) }
                }
                try await write(chunk, index)
                result.add(chunk)
                progress?(range.upperBound, patients)
                if let failAfter, index + 1 >= failAfter { throw DemoInjectedFailure() }
            }
            return result
        }

        if patients <= singleTransactionLimit {
            let loaded = try await database.transaction { db in
                try await Self.requireEmpty(db)
                try await header.write(on: db, actor: actor)
                return try await run { chunk, _ in try await chunk.write(on: db, actor: actor) }
            }
            var result = loaded
            result.seconds = Date().timeIntervalSince(started)
            return result
        }

        try await database.transaction { db in
            try await Self.requireEmpty(db)
            try await header.write(on: db, actor: actor)
        }
        do {
            var result = try await run { chunk, _ in
                try await database.transaction { db in try await chunk.write(on: db, actor: actor) }
            }
            result.seconds = Date().timeIntervalSince(started)
            return result
        } catch {
            let removed: Bool
            do {
                try await database.transaction { db in try await header.removeAll(on: db, actor: actor) }
                removed = true
            } catch {
                database.logger.error("could not remove a failed demo load", metadata: ["error": "\(String(reflecting: error))"])
                removed = false
            }
            throw DemoLoadError.failed(underlying: String(describing: error), removed: removed)
        }
    }

    static func requireEmpty(_ db: any Database) async throws {
        let sql = try db.sqlDatabase()
        func count(_ table: String) async throws -> Int {
            try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self) ?? 0
        }
        let sites = try await count("sites"), users = try await count("users"), patients = try await count("patients")
        if sites + users + patients > 0 { throw DemoLoadError.notEmpty(sites: sites, users: users, patients: patients) }
    }

    /// The database id the loader gives the generator's patient `patientID` (e.g. the demo patient login's record).
    public static func patientUUID(seed: UInt64, patientID: String) -> UUID {
        var ids = DemoRowContext.IDs(seed: seed, patient: patientID)
        return ids.make()  // the patient row takes the first id of its patient's sequence (see `rows(for:)`)
    }

    /// A stable UUID for a generator id (`site-lis`, `user-admin`, `pt-0000042`): SHA-256 of the seed and the id,
    /// with the RFC 9562 version 8 ("custom") and variant bits set.
    public static func uuid(seed: UInt64, _ id: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Data("ossa-demo|\(seed)|\(id)".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10],
                           bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}

struct DemoInjectedFailure: Error, CustomStringConvertible {
    var description: String { "injected failure (test)" }
}

/// Sites, users and grants of a registry, as rows.
struct DemoHeader: Sendable {
    let seed: UInt64
    let adminID: UUID
    let siteIDs: [String: UUID]
    let userIDs: [String: UUID]
    let userNames: [String: String]
    let siteRows: [[any Encodable & Sendable]]
    let userRows: [[any Encodable & Sendable]]
    let grantRows: [[any Encodable & Sendable]]
    let loadedUsers: [DemoLoadedUser]

    init(_ registry: DemoRegistry) throws {
        seed = registry.seed
        let now = Date()
        var siteIDs: [String: UUID] = [:], siteRows: [[any Encodable & Sendable]] = []
        let codes = Dictionary(registry.calibration.people.sites.map { ($0.id, $0.code) }, uniquingKeysWith: { a, _ in a })
        for site in registry.sites {
            let id = DemoLoader.uuid(seed: seed, site.id)
            siteIDs[site.id] = id
            // The site's own time zone (quiet hours and the day a window opens are local) and a demo contact.
            siteRows.append([id, codes[site.id] ?? site.id, site.name, now, now, site.timeZone, "+1 555 0100 (demo)"])
        }
        var userIDs: [String: UUID] = [:], names: [String: String] = [:]
        var userRows: [[any Encodable & Sendable]] = [], grantRows: [[any Encodable & Sendable]] = []
        var loaded: [DemoLoadedUser] = []
        var admin: UUID?
        for user in registry.users {
            let id = DemoLoader.uuid(seed: seed, user.id)
            userIDs[user.id] = id
            names[user.id] = user.displayName
            let role: Role = switch user.role {
            case .clinician: .clinician
            case .coordinator: .coordinator
            case .researcher: .researcher
            case .admin: .admin
            }
            if role == .admin, admin == nil { admin = id }
            userRows.append([id, user.email.lowercased(), user.displayName, role.rawValue, String?.none, UUID?.none, false, now, now])
            var granted: [UUID] = []
            for site in user.siteIds {
                guard let siteID = siteIDs[site] else { throw DemoError.generated("user \(user.id) is granted unknown site \(site)") }
                grantRows.append([DemoLoader.uuid(seed: seed, "grant|\(user.id)|\(site)"), id, siteID, now])
                granted.append(siteID)
            }
            loaded.append(DemoLoadedUser(id: id, login: user.login, email: user.email.lowercased(), displayName: user.displayName,
                                         role: role, siteIDs: granted))
        }
        guard let admin else { throw DemoError.generated("the registry has no administrator") }
        adminID = admin
        self.siteIDs = siteIDs
        self.userIDs = userIDs
        userNames = names
        self.siteRows = siteRows
        self.userRows = userRows
        self.grantRows = grantRows
        loadedUsers = loaded
    }

    func write(on db: any Database, actor: ActingUser) async throws {
        let sql = try db.sqlDatabase()
        try await BulkInsert.insertRows(into: "sites", columns: ["id", "code", "name", "created_at", "updated_at", "time_zone", "contact_phone"],
                                        rows: siteRows, on: sql)
        try await BulkInsert.insertRows(into: "users", columns: ["id", "email", "display_name", "role", "password_hash", "patient_id",
                                                                 "disabled", "created_at", "updated_at"], rows: userRows, on: sql)
        try await BulkInsert.insertRows(into: "site_grants", columns: ["id", "user_id", "site_id", "created_at"], rows: grantRows, on: sql)
        try await AuditLog.append(AuditEvent(actor: actor, action: .create, recordType: .bulkInsert,
                                             recordID: "demo:sites=\(siteRows.count),users=\(userRows.count),site_grants=\(grantRows.count)"), on: db)
    }

    /// Removes a failed load: every clinical row (the database was empty before the load), then its users and sites.
    func removeAll(on db: any Database, actor: ActingUser) async throws {
        let sql = try db.sqlDatabase()
        for table in ["questionnaire_responses", "follow_up_timepoints", "injections", "procedures", "subregion_findings", "imaging_studies",
                      "screening_decisions", "outcome_events", "episodes", "patients"] {
            try await sql.delete(from: table).run()
        }
        let users = Array(userIDs.values)
        try await sql.delete(from: "site_grants").where("user_id", .in, SQLBind.group(users)).run()
        try await sql.delete(from: "users").where("id", .in, SQLBind.group(users)).run()
        try await sql.delete(from: "sites").where("id", .in, SQLBind.group(Array(siteIDs.values))).run()
        try await AuditLog.append(AuditEvent(actor: actor, action: .delete, recordType: .bulkInsert, recordID: "demo:failed-load-removed"), on: db)
    }
}

/// The rows of one chunk of patients, per table, in insertion (foreign-key) order.
struct DemoChunk: Sendable {
    static let tables: [(name: String, columns: [String])] = [
        ("patients", ["id", "site_id", "mrn", "family_name", "given_name", "name_search", "birth_date", "sex", "email", "phone",
                      "created_at", "updated_at", "mrn_search"]),
        ("episodes", ["id", "patient_id", "site_id", "joint", "side", "diagnosis_type", "diagnosis_json", "status", "last_contact_date",
                      "created_at", "updated_at"]),
        ("screening_decisions", ["id", "episode_id", "site_id", "ruleset_id", "ruleset_version", "category", "excluded", "evaluation_date",
                                 "input_snapshot", "decision_json", "signed_by", "signed_at", "decided_by", "created_at"]),
        ("imaging_studies", ["id", "episode_id", "site_id", "modality", "timing", "study_date", "other_findings_json", "created_at"]),
        ("subregion_findings", ImagingRepository.findingColumns),
        ("procedures", ["id", "episode_id", "site_id", "kind", "procedure_date", "setting", "anaesthesia", "guidance", "fluoroscopy_seconds",
                        "dap_mgy_cm2", "prp_json", "bmc_json", "complications", "discharge_instructions", "operator_id", "operator_name",
                        "signed_by", "signed_at", "created_at", "updated_at"]),
        ("injections", ProcedureRepository.injectionColumns),
        ("follow_up_timepoints", TimepointRepository.columns),
        ("questionnaire_responses", QuestionnaireRepository.columns),
        ("outcome_events", ["id", "episode_id", "site_id", "kind", "event_date", "replacement_kind", "severity", "description", "created_at"]),
    ]

    let range: Range<Int>
    var rows: [String: [[any Encodable & Sendable]]] = [:]

    func write(on db: any Database, actor: ActingUser) async throws {
        let sql = try db.sqlDatabase()
        for (table, columns) in Self.tables {
            guard let tableRows = rows[table], !tableRows.isEmpty else { continue }
            try await BulkInsert.insertRows(into: table, columns: columns, rows: tableRows, on: sql)
        }
        let total = rows.values.reduce(0) { $0 + $1.count }
        try await AuditLog.append(AuditEvent(actor: actor, action: .create, recordType: .bulkInsert,
                                             recordID: "demo:patients=\(range.lowerBound)..<\(range.upperBound),rows=\(total)"), on: db)
    }
}

/// Turns generated patients into rows (pure; runs off the database's event loop).
struct DemoRowContext: Sendable {
    let registry: DemoRegistry
    let header: DemoHeader
    let library: InstrumentLibrary
    let now: Date

    func rows(for range: Range<Int>) throws -> DemoChunk {
        var chunk = DemoChunk(range: range)
        try registry.forEachPatient(in: range) { record in try add(record, to: &chunk) }
        return chunk
    }

    /// The same rows, generated in `parts` concurrent slices (patients are independent) and joined in order.
    func rows(for range: Range<Int>, parts: Int) async throws -> DemoChunk {
        let parts = max(1, min(parts, range.count))
        guard parts > 1 else { return try rows(for: range) }
        let size = (range.count + parts - 1) / parts
        let slices = stride(from: range.lowerBound, to: range.upperBound, by: size).map { $0..<min($0 + size, range.upperBound) }
        let pieces = try await withThrowingTaskGroup(of: (Int, DemoChunk).self) { group in
            for (index, slice) in slices.enumerated() {
                group.addTask { (index, try self.rows(for: slice)) }
            }
            var out: [DemoChunk?] = Array(repeating: nil, count: slices.count)
            for try await (index, piece) in group { out[index] = piece }
            return out.compactMap { $0 }
        }
        var chunk = DemoChunk(range: range)
        for piece in pieces {
            for (table, rows) in piece.rows { chunk.rows[table, default: []].append(contentsOf: rows) }
        }
        return chunk
    }

    /// Row ids: the first 8 bytes from a hash of the patient, the last 8 a counter within the patient.
    struct IDs {
        let prefix: [UInt8]
        var next: UInt64 = 0
        init(seed: UInt64, patient: String) {
            prefix = Array(SHA256.hash(data: Data("ossa-demo|\(seed)|\(patient)".utf8)).prefix(8))
        }
        mutating func make() -> UUID {
            next += 1
            var b = prefix
            withUnsafeBytes(of: next.bigEndian) { b.append(contentsOf: $0) }
            b[6] = (b[6] & 0x0F) | 0x80
            b[8] = (b[8] & 0x3F) | 0x80
            return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
        }
    }

    /// 09:00 UTC on the episode's first dated record, or nil when it has none.
    static func openedAt(_ demo: DemoEpisode) -> Date? {
        let dates = demo.screenings.map(\.decision.evaluationDate) + demo.episode.imaging.map(\.date) + demo.episode.procedures.map(\.date)
        return dates.min().map { $0.startOfDayUTC.addingTimeInterval(9 * 3600) }
    }

    func add(_ record: DemoPatientRecord, to chunk: inout DemoChunk) throws {
        let p = record.patient
        var ids = IDs(seed: header.seed, patient: p.id)
        guard let siteID = header.siteIDs[p.siteId] else { throw DemoError.generated("patient \(p.id) is at unknown site \(p.siteId)") }
        let patientID = ids.make()
        // A demo record was "created" when the clinic first saw it (the earliest screening, MRI or procedure), not
        // when the demo was loaded: pages show these dates as when an episode was opened.
        let opened = record.episodes.map(Self.openedAt)
        chunk.rows["patients", default: []].append([
            patientID, siteID, p.mrn, p.familyName, p.givenName, foldForSearch(p.familyName + " " + p.givenName), p.birthDate.iso,
            p.sex.rawValue, p.email.lowercased(), p.phone, opened.compactMap { $0 }.min() ?? now, now, foldMRN(p.mrn),
        ])
        for (episodeIndex, demo) in record.episodes.enumerated() {
            let e = demo.episode
            let episodeID = ids.make()
            let closed = e.outcomes.contains { if case .death = $0 { true } else if case .jointReplacement = $0 { true } else { false } }
            chunk.rows["episodes", default: []].append([
                episodeID, patientID, siteID, e.joint.rawValue, e.side.rawValue, e.diagnosis.kind.rawValue, try StoredJSON.encode(e.diagnosis),
                (closed ? EpisodeStatus.closed : .open).rawValue, e.lastContactDate?.iso, opened[episodeIndex] ?? now, now,
            ])
            for screening in demo.screenings {
                let d = screening.decision
                let signer = header.userIDs[screening.signedBy]
                chunk.rows["screening_decisions", default: []].append([
                    ids.make(), episodeID, siteID, d.ruleset.id, d.ruleset.version, d.category.rawValue, d.excluded, d.evaluationDate.iso,
                    try StoredJSON.encode(d.input), try StoredJSON.encode(d), signer, screening.signedOn.startOfDayUTC.addingTimeInterval(12 * 3600),
                    signer, now,
                ])
            }
            for (index, mri) in e.imaging.enumerated() {
                let studyID = ids.make()
                let other = try StoredJSON.encode(OtherMRIFindings(insufficiencyFracture: mri.insufficiencyFracture, avn: mri.avn,
                                                                   focalCartilageLesions: mri.focalCartilageLesions,
                                                                   suspectedTumourOrInfection: mri.suspectedTumourOrInfection))
                chunk.rows["imaging_studies", default: []].append([
                    studyID, episodeID, siteID, ImagingModality.mri.rawValue, (index == 0 ? ImagingTiming.baseline : .followUp).rawValue,
                    mri.date.iso, other, now,
                ])
                for finding in mri.bml {
                    chunk.rows["subregion_findings", default: []].append(ImagingRepository.findingRow(finding, study: studyID, id: ids.make()))
                }
            }
            for procedure in e.procedures {
                let procedureID = ids.make()
                let operatorID = header.userIDs[procedure.operator_]
                let signer = procedure.signature.flatMap { header.userIDs[$0.signedBy] }
                chunk.rows["procedures", default: []].append([
                    procedureID, episodeID, siteID, ProcedureKind.io.rawValue, procedure.date.iso, procedure.setting.rawValue,
                    procedure.anaesthesia.rawValue, procedure.guidance.map(\.rawValue).joined(separator: ","), procedure.fluoroscopySeconds,
                    procedure.doseAreaProduct, try procedure.prp.map(StoredJSON.encode), try procedure.bmc.map(StoredJSON.encode),
                    try procedure.complications.isEmpty ? nil : StoredJSON.encode(procedure.complications), procedure.dischargeInstructions,
                    operatorID, header.userNames[procedure.operator_] ?? procedure.operator_, signer,
                    procedure.signature.map { $0.date.startOfDayUTC.addingTimeInterval(17 * 3600) }, now, now,
                ])
                for (i, injection) in procedure.injections.enumerated() {
                    chunk.rows["injections", default: []].append(ProcedureRepository.injectionRow(injection, ordinal: i + 1, procedure: procedureID,
                                                                                                 id: ids.make()))
                }
            }
            var timepointIDs: [String: UUID] = [:]
            if let schedule = demo.schedule {
                let answered = Dictionary(demo.responses.map { ($0.timepoint, $0.completedOn) }, uniquingKeysWith: min)
                let missed = Set(demo.missedTimepoints)
                for tp in schedule.timepoints {
                    let id = ids.make()
                    timepointIDs[tp.id] = id
                    let status: TimepointStatus
                    if answered[tp.id] != nil { status = .completed }
                    else if missed.contains(tp.id) { status = .missed }
                    else if tp.windowClose < registry.dataCutDate { status = .cancelled }
                    else { status = .pending }
                    let completedAt = answered[tp.id].map { $0.startOfDayUTC.addingTimeInterval(18 * 3600) }
                    chunk.rows["follow_up_timepoints", default: []].append([
                        id, episodeID, siteID, tp.id, schedule.protocolId, tp.targetDate.iso, tp.windowOpen.iso, tp.windowClose.iso,
                        status.rawValue, completedAt, now, now,
                    ])
                }
            }
            for response in demo.responses {
                guard let instrument = library.instrument(id: response.instrument) else {
                    throw DemoError.generated("unknown instrument \(response.instrument)")
                }
                let answers = response.answerMap
                let scores = try QuestionnaireRepository.score(instrument, answers)
                chunk.rows["questionnaire_responses", default: []].append([
                    ids.make(), episodeID, siteID, timepointIDs[response.timepoint], instrument.id, instrument.scoring.version,
                    StoredJSON.answers(answers), StoredJSON.scores(scores), instrument.scoring.version, ResponseSource.import.rawValue,
                    response.completedOn.startOfDayUTC.addingTimeInterval(18 * 3600), now,
                ])
            }
            for event in e.outcomes {
                var replacement: String?, severity: String?, description: String?
                switch event {
                case .jointReplacement(let kind, _): replacement = kind.rawValue
                case .otherSurgery(let text, _): description = text
                case .adverseEvent(let text, let level, _): (description, severity) = (text, level.rawValue)
                default: break
                }
                chunk.rows["outcome_events", default: []].append([
                    ids.make(), episodeID, siteID, OutcomeKind(event).rawValue, event.date.iso, replacement, severity, description, now,
                ])
            }
        }
    }
}
