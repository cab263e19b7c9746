import FluentKit
import Foundation
import NIOConcurrencyHelpers
import OssaAnalytics
import OssaCore
import SQLKit

/// Who is looking at analytics and what they may see: their sites, and whether their view is de-identified with
/// small cells suppressed (researchers).
public struct AnalyticsViewer: Sendable, Hashable {
    public var role: Role
    public var siteIDs: Set<UUID>
    /// Researchers: counts below this are suppressed. nil for staff.
    public var minimumCellCount: Int?
    public var deidentified: Bool { role == .researcher }

    public init(role: Role, siteIDs: Set<UUID>, minimumCellCount: Int? = nil) {
        self.role = role
        self.siteIDs = siteIDs
        self.minimumCellCount = minimumCellCount
    }
}

/// A cohort read for one viewer: the registry extract limited to the viewer's sites, with the revision it was read
/// at. Reading it is audited as an export.
public struct ScopedExtract: Sendable {
    public var extract: RegistryExtract
    public var viewer: AnalyticsViewer
    /// The audit sequence of the newest registry write the extract includes (0 for an empty registry).
    public var revision: Int64
    /// When the registry was read (the page says "figures as of").
    public var readAt: Date
    /// The registry has changed since `readAt`; a newer reading is under way (see `maxStaleness`).
    public var isStale: Bool

    public init(extract: RegistryExtract, viewer: AnalyticsViewer, revision: Int64, readAt: Date, isStale: Bool = false) {
        self.extract = extract
        self.viewer = viewer
        self.revision = revision
        self.readAt = readAt
        self.isStale = isStale
    }
}

/// Registry analytics' read model.
///
/// The whole registry is read into a `RegistryExtract` once and kept in memory; every later request first asks the
/// audit log, in one index probe, for the newest registry write (`M0033_AddAnalytics.registryWrites`) and reads the
/// registry again only when that changed. So a warm analytics page costs one small statement plus the analyses,
/// whatever the registry's size. Role and site rules apply to the cached extract here, in the store: the viewer gets
/// only the episodes of their granted sites.
public struct AnalyticsRepository: Sendable {
    let database: OssaDatabase
    let followUp: FollowUpProtocol

    /// The default minimum cell count of researchers' views (`OSSA_ANALYTICS_MIN_CELL` overrides it in `ossa serve`).
    public static let defaultMinimumCellCount = 5

    /// The newest registry write's sequence number, through M0033's partial index. SQLite's planner (3.54) takes
    /// `ix_audit_log_record` for the record_type list instead — a table lookup for every audited read of those
    /// types, 136 ms on a 150,000-entry log and growing with it — so SQLite is told; PostgreSQL picks the partial
    /// index by itself.
    /// A consent write changes what researchers may count, so it is a registry write too (M0035's partial index):
    /// the revision is the newer of the two.
    static func revisionQuery(dialect: String) -> String {
        let hint = dialect == "sqlite" ? " INDEXED BY ix_audit_log_registry_writes" : ""
        let consentHint = dialect == "sqlite" ? " INDEXED BY ix_audit_log_consent_writes" : ""
        return "SELECT MAX(seq) AS seq FROM (SELECT MAX(seq) AS seq FROM audit_log\(hint) WHERE \(M0033_AddAnalytics.registryWrites) "
            + "UNION ALL SELECT MAX(seq) AS seq FROM audit_log\(consentHint) WHERE \(M0035_CreateConsents.consentWrites)) AS writes"
    }

    /// The extract for `actor`, audited as an export of analytics (`recordID` says what was viewed, e.g.
    /// `survival?joint=knee`).
    /// - Parameter maxStaleness: see `AnalyticsCache.entry`; `ossa serve` takes it from `OSSA_ANALYTICS_MAX_STALENESS`.
    public func extract(_ actor: ActingUser, minimumCellCount: Int = AnalyticsRepository.defaultMinimumCellCount,
                        maxStaleness: TimeInterval = 0, audit what: String) async throws -> ScopedExtract {
        let scope = try await Access.require(actor, .export, .analytics, recordID: what, database: database)
        guard scope == .grantedSites else {
            try await Access.deny(actor, .export, .analytics, recordID: what, database: database)
        }
        let viewer = AnalyticsViewer(role: actor.role, siteIDs: actor.siteIDs,
                                     minimumCellCount: actor.role == .researcher ? max(1, minimumCellCount) : nil)
        let cache = database.analyticsCache
        let revision: Int64 = try await database.auditedRead { db in
            let sql = try db.sqlDatabase()
            let row = try await sql.raw(SQLQueryString(Self.revisionQuery(dialect: sql.dialect.name))).first()
            let seq = try row?.decodeNil(column: "seq") == false ? try row!.decode(column: "seq", as: Int64.self) : 0
            return (seq, [AuditEvent(actor: actor, action: .export, recordType: .analytics, recordID: what)])
        }
        let followUp = followUp
        let database = database
        let entry = try await cache.entry(revision: revision, maxStaleness: maxStaleness) {
            try await AnalyticsExtractReader.read(database, followUp: followUp)
        }
        let scoped = await cache.scoped(entry, sites: viewer.siteIDs, deidentified: viewer.deidentified)
        return ScopedExtract(extract: scoped, viewer: viewer, revision: entry.revision, readAt: entry.readAt,
                             isStale: entry.revision != revision)
    }
}

extension RegistryExtract {
    /// The same extract with only the episodes of `sites` (and what points at them), re-indexed.
    func limited(to sites: Set<UUID>) -> RegistryExtract {
        limited(siteNames: siteNames.filter { sites.contains($0.key) }) { sites.contains($0.siteID) }
    }

    /// The same extract with only the episodes `keep` accepts (and what points at them), re-indexed.
    func limited(siteNames: [UUID: String]? = nil, _ keep: (ExtractEpisode) -> Bool) -> RegistryExtract {
        if episodes.allSatisfy(keep) { return self }
        var map = [Int32](repeating: -1, count: episodes.count)
        var kept: [ExtractEpisode] = []
        for (i, e) in episodes.enumerated() where keep(e) {
            map[i] = Int32(kept.count)
            kept.append(e)
        }
        var scoreEpisode: [Int32] = [], scoreKey: [UInt16] = [], scoreTimepoint: [UInt8] = [], scoreValue: [Double] = []
        for k in 0..<scoreCount {
            let m = map[Int(self.scoreEpisode[k])]
            guard m >= 0 else { continue }
            scoreEpisode.append(m)
            scoreKey.append(self.scoreKey[k])
            scoreTimepoint.append(self.scoreTimepoint[k])
            scoreValue.append(self.scoreValue[k])
        }
        return RegistryExtract(
            episodes: kept, siteNames: siteNames ?? self.siteNames, timepointCodes: timepointCodes,
            timepointDays: timepointDays, scoreKeys: scoreKeys, scoreEpisode: scoreEpisode, scoreKey: scoreKey,
            scoreTimepoint: scoreTimepoint, scoreValue: scoreValue,
            timepoints: timepoints.compactMap { t in map[Int(t.episode)] >= 0 ? ExtractTimepoint(episode: map[Int(t.episode)], timepoint: t.timepoint, windowEnd: t.windowEnd, completed: t.completed) : nil },
            bml: bml.compactMap { b in map[Int(b.episode)] >= 0 ? ExtractBML(episode: map[Int(b.episode)], baseline: b.baseline, followUp: b.followUp) : nil },
            adverseEvents: adverseEvents.compactMap { a in map[Int(a.episode)] >= 0 ? ExtractAdverseEvent(episode: map[Int(a.episode)], severity: a.severity, relatedness: a.relatedness) : nil },
            asOf: asOf)
    }
}

/// The in-memory registry extract, keyed by the revision it was read at. One read at a time: requests that arrive
/// while the registry is being read wait for that read instead of starting their own.
public actor AnalyticsCache {
    public struct Entry: Sendable {
        public var extract: RegistryExtract
        public var revision: Int64
        public var readAt: Date
    }

    private var current: Entry?
    private var loading: (revision: Int64, task: Task<Entry, any Error>)?

    public init() {}

    /// - Parameter maxStaleness: a cached extract read less than this long ago is answered at once while a newer
    ///   one is read in the background (a busy registry changes every minute, and reading 100,000 patients takes
    ///   half a minute); 0 reads the newest registry before answering.
    func entry(revision: Int64, maxStaleness: TimeInterval = 0,
               read: @escaping @Sendable () async throws -> RegistryExtract) async throws -> Entry {
        if let current, current.revision == revision { return current }
        if let loading, loading.revision == revision, current == nil || maxStaleness <= 0 { return try await loading.task.value }
        if let current, maxStaleness > 0, Date().timeIntervalSince(current.readAt) < maxStaleness {
            if loading?.revision != revision { refresh(revision: revision, read: read) }
            return current
        }
        if let loading, loading.revision == revision { return try await loading.task.value }
        let task = Task { Entry(extract: try await read(), revision: revision, readAt: Date()) }
        loading = (revision, task)
        do {
            let entry = try await task.value
            if current.map({ $0.revision <= revision }) ?? true { current = entry }
            if self.loading?.revision == revision { self.loading = nil }
            return entry
        } catch {
            if self.loading?.revision == revision { self.loading = nil }
            throw error
        }
    }

    /// Reads the registry at `revision` in the background and keeps it when done.
    private func refresh(revision: Int64, read: @escaping @Sendable () async throws -> RegistryExtract) {
        let task = Task { Entry(extract: try await read(), revision: revision, readAt: Date()) }
        loading = (revision, task)
        Task { await self.finish(revision: revision, task: task) }
    }

    private func finish(revision: Int64, task: Task<Entry, any Error>) async {
        let entry = try? await task.value
        if let entry, current.map({ $0.revision <= revision }) ?? true { current = entry }
        if loading?.revision == revision { loading = nil }
    }

    private struct ScopeKey: Hashable {
        var revision: Int64
        var sites: Set<UUID>
        var deidentified: Bool
    }
    /// The extract limited to a viewer's sites (and de-identified), per site set: a clinic's users share a few.
    private var scopedCache: [ScopeKey: RegistryExtract] = [:]
    private var scopedOrder: [ScopeKey] = []

    func scoped(_ entry: Entry, sites: Set<UUID>, deidentified: Bool) -> RegistryExtract {
        let key = ScopeKey(revision: entry.revision, sites: sites, deidentified: deidentified)
        if let hit = scopedCache[key] { return hit }
        var scoped = entry.extract.limited(to: sites)
        // De-identified: ages over 89 count as 90 (HIPAA Safe Harbor), in every mean, band and filter; patients who
        // denied research use of their data are left out.
        if deidentified { scoped = scoped.limited { !$0.researchUseDenied }.cappingAges(at: 90) }
        scopedCache = scopedCache.filter { $0.key.revision == entry.revision }
        scopedOrder = scopedOrder.filter { scopedCache[$0] != nil }
        if scopedOrder.count >= 4 { scopedCache[scopedOrder.removeFirst()] = nil }
        scopedCache[key] = scoped
        scopedOrder.append(key)
        return scoped
    }

    /// Drops the cached extract (tests; `ossa report` reads once anyway).
    public func clear() {
        current = nil
        scopedCache = [:]
        scopedOrder = []
    }
}

/// Reads the whole registry into a `RegistryExtract`: nine statements, streamed row by row (a 100,000-patient
/// registry holds millions of questionnaire scores).
enum AnalyticsExtractReader {
    struct EpisodeState {
        var episode: ExtractEpisode
        var birth: CalendarDate?
        var lastContact: CalendarDate?
        var latestRecord: CalendarDate?
        var firstScreening: CalendarDate?
        var latestScreening: (date: CalendarDate, created: Double, category: ScreeningCategory?, snapshot: String)?
        var products: Set<InjectedProduct> = []
        var deaths: [CalendarDate] = []
        var withdrawals: [CalendarDate] = []
        var lost: [CalendarDate] = []
        var replacements: [CalendarDate] = []
        var imagingKL: Int?
        var imagingTonnis: Int?
        var imagingAhlback: Int?
    }

    struct Study {
        var episode: Int32
        var date: CalendarDate
        var baseline: Bool
        var grades: [BMLSubregion: Int]
    }

    struct Accumulator {
        var episodes: [EpisodeState] = []
        var index: [UUID: Int32] = [:]
        var studies: [UUID: Study] = [:]
        var adverse: [ExtractAdverseEvent] = []
        var timepoints: [ExtractTimepoint] = []
        var scoreKeys: [ScoreKey] = []
        var scoreKeyIndex: [ScoreKey: UInt16] = [:]
        var instrumentScores: [String: [(String, UInt16)]] = [:]
        var scoreEpisode: [Int32] = []
        var scoreKey: [UInt16] = []
        var scoreTimepoint: [UInt8] = []
        var scoreValue: [Double] = []
        /// (episode, timepoint, instrument) → (completed at, first score row, count) of the response kept.
        var kept: [Int64: (Double, Int, Int)] = [:]
        var instrumentIDs: [String: Int64] = [:]
        var failure: (any Error)?
    }

    static func read(_ database: OssaDatabase, followUp: FollowUpProtocol) async throws -> RegistryExtract {
        let origin = try CalendarDate(iso: "2000-01-01")
        let protocolPoints = followUp.timepoints.filter { $0.repeatDaily == nil }
        let codes = protocolPoints.map(\.id)
        let days = protocolPoints.map { origin.days(to: $0.offset.apply(to: origin)) }
        let codeIndex = Dictionary(codes.enumerated().map { ($0.element, UInt8($0.offset)) }, uniquingKeysWith: { a, _ in a })
        let asOf = CalendarDate(utc: Date())
        return try await database.auditedRead { db in
            let sql = try db.sqlDatabase()
            let box = NIOLockedValueBox(Accumulator())
            var siteNames: [UUID: String] = [:]
            for row in try await sql.raw("SELECT id, name FROM sites").all() {
                siteNames[try row.decode(column: "id", as: UUID.self)] = try row.decode(column: "name", as: String.self)
            }
            func guarded(_ body: @escaping @Sendable (inout Accumulator, any SQLRow) throws -> Void) -> @Sendable (any SQLRow) -> Void {
                { row in
                    box.withLockedValue { acc in
                        guard acc.failure == nil else { return }
                        do { try body(&acc, row) } catch { acc.failure = error }
                    }
                }
            }
            func check() throws {
                if let failure = box.withLockedValue({ $0.failure }) { throw failure }
            }
            @Sendable func date(_ row: any SQLRow, _ column: String) throws -> CalendarDate? {
                guard try !row.decodeNil(column: column) else { return nil }
                return try parseStoredDate(try row.decode(column: column, as: String.self), field: column)
            }

            // 1. Episodes with their patients.
            try await sql.raw("""
                SELECT e.id, e.patient_id, e.site_id, e.joint, e.side, e.diagnosis_json, e.last_contact_date, p.birth_date, p.sex \
                FROM episodes e JOIN patients p ON p.id = e.patient_id
                """).run(guarded { acc, row in
                let id = try row.decode(column: "id", as: UUID.self)
                let diagnosis = try StrictJSON.decode(Diagnosis.self, from: Data(try row.decode(column: "diagnosis_json", as: String.self).utf8))
                var grading: OAGrading?
                if case .osteoarthritis(let g) = diagnosis { grading = g }
                let joint = try decodeClosed(Joint.self, try row.decode(column: "joint", as: String.self), field: "episodes.joint")
                let side = try decodeClosed(Side.self, try row.decode(column: "side", as: String.self), field: "episodes.side")
                let sex = try row.decodeNil(column: "sex") ? nil : PatientSex(rawValue: try row.decode(column: "sex", as: String.self))
                let episode = ExtractEpisode(key: id, patientKey: try row.decode(column: "patient_id", as: UUID.self),
                                             siteID: try row.decode(column: "site_id", as: UUID.self), joint: joint, side: side,
                                             diagnosis: diagnosis.kind, kellgrenLawrence: grading?.kellgrenLawrence?.rawValue,
                                             ahlback: grading?.ahlback?.rawValue, tonnis: grading?.tonnis?.rawValue, sex: sex)
                acc.index[id] = Int32(acc.episodes.count)
                acc.episodes.append(EpisodeState(episode: episode, birth: try date(row, "birth_date"),
                                                 lastContact: try date(row, "last_contact_date")))
            })
            try check()

            // 2. Procedures: the first IO procedure is time zero; every procedure is a dated record.
            try await sql.raw("SELECT episode_id, kind, procedure_date FROM procedures").run(guarded { acc, row in
                guard let i = acc.index[try row.decode(column: "episode_id", as: UUID.self)], let day = try date(row, "procedure_date") else { return }
                let kind = try row.decode(column: "kind", as: String.self)
                acc.episodes[Int(i)].latestRecord = max(acc.episodes[Int(i)].latestRecord ?? day, day)
                if kind == ProcedureKind.io.rawValue {
                    acc.episodes[Int(i)].episode.ioProcedures += 1
                    acc.episodes[Int(i)].episode.firstProcedure = min(acc.episodes[Int(i)].episode.firstProcedure ?? day, day)
                } else if kind == ProcedureKind.intraArticular.rawValue {
                    acc.episodes[Int(i)].episode.intraArticular = true
                }
            })
            try check()

            // 3. Injected products and intra-articular targets of the IO procedures.
            try await sql.raw("""
                SELECT p.episode_id, i.product, i.target_kind FROM injections i JOIN procedures p ON p.id = i.procedure_id \
                WHERE p.kind = 'io' GROUP BY p.episode_id, i.product, i.target_kind
                """).run(guarded { acc, row in
                guard let i = acc.index[try row.decode(column: "episode_id", as: UUID.self)] else { return }
                if let product = InjectedProduct(rawValue: try row.decode(column: "product", as: String.self)) {
                    acc.episodes[Int(i)].products.insert(product)
                }
                if try row.decode(column: "target_kind", as: String.self) == "intra-articular" { acc.episodes[Int(i)].episode.intraArticular = true }
            })
            try check()

            // 4. Screening decisions: screened, the latest standing category, BMI from the latest input.
            try await sql.raw("SELECT episode_id, evaluation_date, category, override_category, input_snapshot, created_at FROM screening_decisions WHERE episode_id IS NOT NULL")
                .run(guarded { acc, row in
                    guard let i = acc.index[try row.decode(column: "episode_id", as: UUID.self)], let day = try date(row, "evaluation_date") else { return }
                    let created = (try? row.decode(column: "created_at", as: Date.self))?.timeIntervalSince1970 ?? 0
                    let override = try row.decodeNil(column: "override_category") ? nil : try row.decode(column: "override_category", as: String.self)
                    let stated = try row.decode(column: "category", as: String.self)
                    let category = ScreeningCategory(rawValue: override ?? stated)
                    var state = acc.episodes[Int(i)]
                    state.episode.screened = true
                    state.firstScreening = min(state.firstScreening ?? day, day)
                    if state.latestScreening.map({ ($0.date, $0.created) < (day, created) }) ?? true {
                        state.latestScreening = (day, created, category, try row.decode(column: "input_snapshot", as: String.self))
                    }
                    acc.episodes[Int(i)] = state
                })
            try check()

            // 5. Imaging studies with their BML subregion grades.
            try await sql.raw("""
                SELECT s.id, s.episode_id, s.modality, s.study_date, s.timing, s.kellgren_lawrence, s.tonnis, \
                f.subregion, f.bml_size_grade FROM imaging_studies s LEFT JOIN subregion_findings f ON f.study_id = s.id
                """).run(guarded { acc, row in
                guard let i = acc.index[try row.decode(column: "episode_id", as: UUID.self)], let day = try date(row, "study_date") else { return }
                let id = try row.decode(column: "id", as: UUID.self)
                acc.episodes[Int(i)].latestRecord = max(acc.episodes[Int(i)].latestRecord ?? day, day)
                let modality = try row.decode(column: "modality", as: String.self)
                if modality == ImagingModality.xray.rawValue {
                    if try !row.decodeNil(column: "kellgren_lawrence") { acc.episodes[Int(i)].imagingKL = try row.decode(column: "kellgren_lawrence", as: Int.self) }
                    if try !row.decodeNil(column: "tonnis") { acc.episodes[Int(i)].imagingTonnis = try row.decode(column: "tonnis", as: Int.self) }
                    return
                }
                var study = acc.studies[id] ?? Study(episode: i, date: day, baseline: (try? row.decode(column: "timing", as: String.self)) != "follow-up", grades: [:])
                if try !row.decodeNil(column: "subregion"), let region = BMLSubregion(rawValue: try row.decode(column: "subregion", as: String.self)) {
                    study.grades[region] = try row.decode(column: "bml_size_grade", as: Int.self)
                }
                acc.studies[id] = study
            })
            try check()

            // 6. Outcome events: the censoring dates, the replacement, adverse events.
            try await sql.raw("SELECT episode_id, kind, event_date, severity, relatedness FROM outcome_events").run(guarded { acc, row in
                guard let i = acc.index[try row.decode(column: "episode_id", as: UUID.self)], let day = try date(row, "event_date") else { return }
                acc.episodes[Int(i)].latestRecord = max(acc.episodes[Int(i)].latestRecord ?? day, day)
                switch try row.decode(column: "kind", as: String.self) {
                case OutcomeKind.jointReplacement.rawValue: acc.episodes[Int(i)].replacements.append(day)
                case OutcomeKind.death.rawValue: acc.episodes[Int(i)].deaths.append(day)
                case OutcomeKind.withdrawal.rawValue: acc.episodes[Int(i)].withdrawals.append(day)
                case OutcomeKind.lostToFollowUp.rawValue: acc.episodes[Int(i)].lost.append(day)
                case OutcomeKind.adverseEvent.rawValue:
                    let severity = try row.decodeNil(column: "severity") ? nil : AdverseEventSeverity(rawValue: try row.decode(column: "severity", as: String.self))
                    let related = try row.decodeNil(column: "relatedness") ? nil : AdverseEventRelatedness(rawValue: try row.decode(column: "relatedness", as: String.self))
                    acc.adverse.append(ExtractAdverseEvent(episode: i, severity: severity, relatedness: related))
                default: break
                }
            })
            try check()

            // 7. Follow-up timepoints (completion rates' denominators).
            try await sql.raw("SELECT episode_id, code, window_end, status FROM follow_up_timepoints WHERE status <> 'cancelled'").run(guarded { acc, row in
                guard let i = acc.index[try row.decode(column: "episode_id", as: UUID.self)],
                      let t = codeIndex[try row.decode(column: "code", as: String.self)], let end = try date(row, "window_end") else { return }
                acc.timepoints.append(ExtractTimepoint(episode: i, timepoint: t, windowEnd: end,
                                                       completed: try row.decode(column: "status", as: String.self) == TimepointStatus.completed.rawValue))
            })
            try check()

            // 8. Questionnaire responses: every score at a protocol timepoint; every response is a dated record.
            let instruments = (try? InstrumentLibrary.builtIn())
            try await sql.raw("""
                SELECT r.episode_id, t.code, r.instrument_id, r.scores_json, r.completed_at \
                FROM questionnaire_responses r LEFT JOIN follow_up_timepoints t ON t.id = r.timepoint_id
                """).run(guarded { acc, row in
                guard let i = acc.index[try row.decode(column: "episode_id", as: UUID.self)] else { return }
                let completed = try row.decode(column: "completed_at", as: Date.self)
                let day = CalendarDate(utc: completed)
                acc.episodes[Int(i)].latestRecord = max(acc.episodes[Int(i)].latestRecord ?? day, day)
                guard try !row.decodeNil(column: "code"), let t = codeIndex[try row.decode(column: "code", as: String.self)] else { return }
                let instrument = try row.decode(column: "instrument_id", as: String.self)
                guard instruments?.instrument(id: instrument)?.isScorable ?? true else { return }
                let json = try row.decode(column: "scores_json", as: String.self)
                let scores = try ScoresJSON.scores(json)
                var instrumentIndex = acc.instrumentScores[instrument] ?? []
                var keys: [UInt16] = []
                for (name, _) in scores {
                    if let known = instrumentIndex.first(where: { $0.0 == name }) {
                        keys.append(known.1)
                        continue
                    }
                    let key = ScoreKey(instrument: instrument, score: name)
                    let k = acc.scoreKeyIndex[key] ?? {
                        let k = UInt16(acc.scoreKeys.count)
                        acc.scoreKeys.append(key)
                        acc.scoreKeyIndex[key] = k
                        return k
                    }()
                    instrumentIndex.append((name, k))
                    keys.append(k)
                }
                acc.instrumentScores[instrument] = instrumentIndex
                // One response per episode, timepoint and instrument: a repeat replaces the earlier one's scores.
                let instrumentCode = acc.instrumentIDs[instrument] ?? {
                    let code = Int64(acc.instrumentIDs.count)
                    acc.instrumentIDs[instrument] = code
                    return code
                }()
                let slot = Int64(i) << 20 | Int64(t) << 12 | instrumentCode
                let at = completed.timeIntervalSince1970
                if let previous = acc.kept[slot] {
                    guard at > previous.0, previous.2 == scores.count else { return }
                    for (n, (_, value)) in scores.enumerated() { acc.scoreValue[previous.1 + n] = value }
                    acc.kept[slot] = (at, previous.1, previous.2)
                    return
                }
                acc.kept[slot] = (at, acc.scoreValue.count, scores.count)
                for (n, (_, value)) in scores.enumerated() {
                    acc.scoreEpisode.append(i)
                    acc.scoreKey.append(keys[n])
                    acc.scoreTimepoint.append(t)
                    acc.scoreValue.append(value)
                }
            })
            try check()

            let acc = box.withLockedValue { $0 }
            // Baseline MRI: the earliest study marked baseline (else the earliest); follow-up: the latest after it.
            var byEpisode: [Int32: [Study]] = [:]
            for study in acc.studies.values { byEpisode[study.episode, default: []].append(study) }
            var bml: [ExtractBML] = []
            var burden: [Int32: Int] = [:]
            for (i, studies) in byEpisode {
                let sorted = studies.sorted { $0.date < $1.date }
                guard let base = sorted.first(where: \.baseline) ?? sorted.first else { continue }
                burden[i] = base.grades.values.reduce(0, +)
                if let follow = sorted.last(where: { !$0.baseline && $0.date > base.date }) {
                    bml.append(ExtractBML(episode: i, baseline: base.grades, followUp: follow.grades))
                }
            }
            bml.sort { $0.episode < $1.episode }
            var episodes: [ExtractEpisode] = []
            episodes.reserveCapacity(acc.episodes.count)
            for (i, state) in acc.episodes.enumerated() {
                var e = state.episode
                e.product = ProductMix(state.products)
                e.bmlBurden = burden[Int32(i)]
                e.kellgrenLawrence = e.kellgrenLawrence ?? state.imagingKL
                e.tonnis = e.tonnis ?? state.imagingTonnis
                e.screeningCategory = state.latestScreening?.category
                if let snapshot = state.latestScreening?.snapshot { e.bmi = ScoresJSON.bmi(snapshot) }
                if let index = e.firstProcedure ?? state.firstScreening, let birth = state.birth {
                    var age = index.year - birth.year
                    if (index.month, index.day) < (birth.month, birth.day) { age -= 1 }
                    e.age = age
                }
                if let result = FollowUpRule.apply(.init(firstProcedure: e.firstProcedure, deaths: state.deaths, withdrawals: state.withdrawals,
                                                          lostToFollowUp: state.lost, replacements: state.replacements,
                                                          lastContact: state.lastContact, latestRecord: state.latestRecord)) {
                    e.followUpDays = result.followUpDays
                    e.followUpEnd = result.end
                    e.replacementDay = result.replacementDay
                    e.deathDay = result.deathDay
                }
                episodes.append(e)
            }
            // Research-use consent denied: kept for the staff's views, left out of researchers' (`AnalyticsCache.scoped`).
            let denied = try await ConsentRepository.researchDenied(among: nil, on: sql)
            if !denied.isEmpty {
                for i in episodes.indices where denied.contains(episodes[i].patientKey) { episodes[i].researchUseDenied = true }
            }
            let extract = RegistryExtract(episodes: episodes, siteNames: siteNames, timepointCodes: codes, timepointDays: days,
                                          scoreKeys: acc.scoreKeys, scoreEpisode: acc.scoreEpisode, scoreKey: acc.scoreKey,
                                          scoreTimepoint: acc.scoreTimepoint, scoreValue: acc.scoreValue,
                                          timepoints: acc.timepoints, bml: bml, adverseEvents: acc.adverse, asOf: asOf)
            return (extract, [])
        }
    }
}

func decodeClosed<T: RawRepresentable>(_: T.Type, _ text: String, field: String) throws -> T where T.RawValue == String {
    guard let value = T(rawValue: text) else { throw StoreError.unreadable(field: field, value: text) }
    return value
}

/// Fast reading of the two JSON columns analytics needs from millions of rows: a questionnaire response's scores
/// (`{"instrument":…,"scores":{"pain":52.8,…}}`) and a screening input's BMI. Anything unusual falls back to
/// Foundation's parser.
enum ScoresJSON {
    static func scores(_ json: String) throws -> [(String, Double)] {
        if let fast = fastScores(json) { return fast }
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let scores = object["scores"] as? [String: Any] else {
            throw StoreError.unreadable(field: "questionnaire_responses.scores_json", value: String(json.prefix(40)))
        }
        return scores.compactMap { key, value in (value as? NSNumber).map { (key, $0.doubleValue) } }.sorted { $0.0 < $1.0 }
    }

    private static func fastScores(_ json: String) -> [(String, Double)]? {
        var json = json
        return json.withUTF8 { bytes -> [(String, Double)]? in
            let marker = Array("\"scores\":{".utf8)
            guard let start = find(marker, in: bytes) else { return nil }
            var p = start + marker.count
            var out: [(String, Double)] = []
            while p < bytes.count {
                if bytes[p] == UInt8(ascii: "}") { return out.sorted { $0.0 < $1.0 } }
                if bytes[p] == UInt8(ascii: ",") || bytes[p] == UInt8(ascii: " ") { p += 1; continue }
                guard bytes[p] == UInt8(ascii: "\"") else { return nil }
                var q = p + 1
                while q < bytes.count, bytes[q] != UInt8(ascii: "\"") {
                    if bytes[q] == UInt8(ascii: "\\") { return nil }
                    q += 1
                }
                guard q + 1 < bytes.count, bytes[q + 1] == UInt8(ascii: ":") else { return nil }
                let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[(p + 1)..<q]), as: UTF8.self)
                var r = q + 2
                let valueStart = r
                while r < bytes.count, bytes[r] != UInt8(ascii: ","), bytes[r] != UInt8(ascii: "}") { r += 1 }
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<r]), as: UTF8.self)
                if text != "null" {
                    // `Double` reads "nan" and "inf", which JSON has not: those go to the full parser, as anything odd does.
                    guard let value = Double(text), value.isFinite else { return nil }
                    out.append((key, value))
                }
                p = r
            }
            return nil
        }
    }

    private static func find(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = 0
        while i <= bytes.count - needle.count {
            if bytes[i] == needle[0] {
                var match = true
                for j in 1..<needle.count where bytes[i + j] != needle[j] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }

    /// BMI as given, or from height and weight (as `ScreeningInput.effectiveBMI`).
    static func bmi(_ snapshot: String) -> Double? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(snapshot.utf8)) as? [String: Any] else { return nil }
        if let bmi = (object["bmi"] as? NSNumber)?.doubleValue { return bmi }
        guard let h = (object["heightCm"] as? NSNumber)?.doubleValue, let w = (object["weightKg"] as? NSNumber)?.doubleValue, h > 0 else { return nil }
        return w / ((h / 100) * (h / 100))
    }
}
