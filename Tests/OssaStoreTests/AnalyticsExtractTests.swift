import Foundation
import OssaAnalytics
import OssaCore
import SQLKit
@testable import OssaStore
import Testing

/// The registry extract as `AnalyticsRepository` reads it from a real database (SQLite, and PostgreSQL when
/// `OSSA_TEST_POSTGRES_URL` is set): the censoring rule on a crafted registry written through the repositories, the
/// episode attributes taken from procedures, screening and imaging, site scoping, roles, the audit entry of every
/// read, and the revision that tells a cached extract from a re-read one.
@Suite("Analytics extract")
struct AnalyticsExtractTests {
    /// The crafted episodes (all at site A, knee, left) and the hip episode of site B.
    struct Registry: Sendable {
        let fixture: Fixture
        /// (a) replaced after a year; (b) died, with a replacement dated after the death; (c) withdrawn, then a
        /// questionnaire; (d) screened only; (e) last contact before a later questionnaire; (f) lost to follow-up.
        let a, b, c, d, e, f: EpisodeRecord
        let siteBEpisode: EpisodeRecord
    }

    /// `completedAt` at noon UTC of a day.
    static func noon(_ iso: String) -> Date {
        let d = date(iso)
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour) = (d.year, d.month, d.day, 12)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)!
    }

    /// An IO procedure with one PRP injection into the medial tibial plateau (no BMC, no intra-articular injection).
    static func prpOnlyProcedure(on day: String) -> ProcedureRecord {
        var record = kneeProcedure(on: day)
        record.bmc = nil
        record.injections = record.injections.filter {
            if case .bone = $0.target { return $0.product == .prp }
            return false
        }
        return record
    }

    static func craft(_ store: OssaStore) async throws -> Registry {
        let f = try await Fixture.make(store)
        let s = f.seeder
        var mrn = 100
        func patient(born: String, sex: PatientSex? = .female) async throws -> PatientRecord {
            mrn += 1
            return try await store.patients.create(s, NewPatient(siteID: f.siteA.id, mrn: "A-\(mrn)", familyName: "Test\(mrn)",
                                                                 givenName: "Pat", birthDate: date(born), sex: sex))
        }
        func kneeEpisode(_ p: PatientRecord, diagnosis: Diagnosis = .boneMarrowLesion) async throws -> EpisodeRecord {
            try await store.episodes.create(s, NewEpisode(patientID: p.id, joint: .knee, side: .left, diagnosis: diagnosis))
        }
        let screeningInput = try exampleScreeningInput("knee-bml-recommended")

        // (a) Born 1960-05-20, so 59 on 2020-01-10. Two screenings (the later gives BMI 31.5), a baseline MRI
        // (tibia central medial 2, femur central medial 1: burden 3) and a follow-up MRI, the IO procedure with PRP,
        // BMC and an intra-articular injection, and a TKA a year later.
        let a = try await kneeEpisode(try await patient(born: "1960-05-20"),
                                      diagnosis: .osteoarthritis(OAGrading(kellgrenLawrence: .grade3)))
        var first = screeningInput
        first.evaluationDate = date("2026-03-02")
        _ = try await store.screening.evaluate(s, episodeID: a.id, first)
        var latest = screeningInput
        latest.evaluationDate = date("2026-03-05")
        latest.heightCm = nil
        latest.weightKg = nil
        latest.bmi = 31.5
        _ = try await store.screening.evaluate(s, episodeID: a.id, latest)
        var baselineMRI = try #require(screeningInput.mri)
        baselineMRI.date = date("2019-12-01")
        _ = try await store.imaging.create(s, NewImagingStudy(episodeID: a.id, timing: .baseline, mri: baselineMRI))
        var followUpMRI = baselineMRI
        followUpMRI.date = date("2020-07-01")
        followUpMRI.bml = baselineMRI.bml.filter { $0.subregion == .tibiaCentralMedial }.map {
            var finding = $0
            finding.size = .small
            return finding
        }
        _ = try await store.imaging.create(s, NewImagingStudy(episodeID: a.id, timing: .followUp, mri: followUpMRI))
        _ = try await store.procedures.create(s, NewProcedure(episodeID: a.id, record: kneeProcedure(on: "2020-01-10")))
        _ = try await store.outcomes.create(s, episodeID: a.id, .jointReplacement(kind: .tka, date: date("2021-01-10")))

        // (b) PRP only. The store refuses an event dated after a recorded death, so the replacement dated after the
        // death is recorded first and the (earlier) death after it: the registry then holds a replacement after death.
        let b = try await kneeEpisode(try await patient(born: "1950-01-01", sex: .male))
        _ = try await store.procedures.create(s, NewProcedure(episodeID: b.id, record: prpOnlyProcedure(on: "2020-01-10")))
        _ = try await store.outcomes.create(s, episodeID: b.id, .jointReplacement(kind: .tka, date: date("2020-09-01")))
        _ = try await store.outcomes.create(s, episodeID: b.id, .death(date: date("2020-06-01")))

        // (c) Withdrawn on 2020-03-01, then a questionnaire in September and a later last contact.
        let c = try await kneeEpisode(try await patient(born: "1955-06-15"))
        _ = try await store.procedures.create(s, NewProcedure(episodeID: c.id, record: kneeProcedure(on: "2020-01-10")))
        _ = try await store.outcomes.create(s, episodeID: c.id, .withdrawal(date: date("2020-03-01")))
        _ = try await store.questionnaires.submit(s, episodeID: c.id, instrumentID: "koos",
                                                  answers: koosAnswers(symptoms: 1, pain: 1, adl: 1, sport: 2, qol: 1),
                                                  completedAt: noon("2020-09-15"))
        _ = try await store.episodes.update(s, c.id, EpisodeChanges(lastContactDate: date("2020-10-01")))

        // (d) Screened only (born 1970-03-02: 56 on the day of its first screening, 2026-03-02).
        let d = try await kneeEpisode(try await patient(born: "1970-03-02", sex: nil))
        _ = try await store.screening.evaluate(s, episodeID: d.id, screeningInput)

        // (e) Last contact 2020-12-01, a questionnaire on 2021-03-15.
        let e = try await kneeEpisode(try await patient(born: "1965-08-01"))
        _ = try await store.procedures.create(s, NewProcedure(episodeID: e.id, record: kneeProcedure(on: "2020-01-10")))
        _ = try await store.episodes.update(s, e.id, EpisodeChanges(lastContactDate: date("2020-12-01")))
        _ = try await store.questionnaires.submit(s, episodeID: e.id, instrumentID: "koos",
                                                  answers: koosAnswers(symptoms: 1, pain: 1, adl: 1, sport: 1, qol: 1),
                                                  completedAt: noon("2021-03-15"))

        // (f) Lost to follow-up, last contact 2020-08-10.
        let lost = try await kneeEpisode(try await patient(born: "1958-02-02"))
        _ = try await store.procedures.create(s, NewProcedure(episodeID: lost.id, record: kneeProcedure(on: "2020-01-10")))
        _ = try await store.outcomes.create(s, episodeID: lost.id, .lostToFollowUp(lastContact: date("2020-08-10")))

        // Site B: a treated hip with an adverse event.
        _ = try await store.procedures.create(s, NewProcedure(episodeID: f.episodeB.id, record: hipProcedure(on: "2020-02-01")))
        _ = try await store.outcomes.create(s, episodeID: f.episodeB.id, .adverseEvent(description: "bruise", severity: .mild,
                                                                                        date: date("2020-02-03")))
        return Registry(fixture: f, a: a, b: b, c: c, d: d, e: e, f: lost, siteBEpisode: f.episodeB)
    }

    static func episode(_ extract: RegistryExtract, _ record: EpisodeRecord) throws -> ExtractEpisode {
        try #require(extract.episodes.first { $0.key == record.id }, "episode \(record.id) is not in the extract")
    }

    @Test("The extract follows the censoring rule on a crafted registry", arguments: Engine.available)
    func censoring(engine: Engine) async throws {
        try await withStore(engine) { store in
            let r = try await Self.craft(store)
            let coordinator = try #require(r.fixture.actors[.coordinator])
            let extract = try await store.analytics().extract(coordinator, audit: "survival").extract

            // (a) R: as.Date("2021-01-10") - as.Date("2020-01-10") = 366: the replacement is the event.
            let a = try Self.episode(extract, r.a)
            #expect(a.firstProcedure == date("2020-01-10"))
            #expect(a.replacementDay == 366)
            #expect(a.followUpDays == 366)
            #expect(a.followUpEnd == .lastRecord)
            #expect(a.deathDay == nil)

            // (b) R: as.Date("2020-06-01") - as.Date("2020-01-10") = 143: censored at death, the replacement after it unseen.
            let b = try Self.episode(extract, r.b)
            #expect(b.followUpEnd == .death)
            #expect(b.followUpDays == 143)
            #expect(b.deathDay == 143)
            #expect(b.replacementDay == nil)

            // (c) R: as.Date("2020-03-01") - as.Date("2020-01-10") = 51: the later questionnaire and contact do not extend it.
            let c = try Self.episode(extract, r.c)
            #expect(c.followUpEnd == .withdrawal)
            #expect(c.followUpDays == 51)
            #expect(c.replacementDay == nil && c.deathDay == nil)

            // (d) No procedure: no follow-up, left out of the survival analysis.
            let d = try Self.episode(extract, r.d)
            #expect(d.firstProcedure == nil)
            #expect(d.followUpDays == nil && d.followUpEnd == nil && d.replacementDay == nil && d.deathDay == nil)
            #expect(d.ioProcedures == 0)
            let index = try #require(extract.episodes.firstIndex { $0.key == r.d.id })
            let cohort = Cohort(extract, CohortDefinition())
            #expect(cohort.matching.contains(Int32(index)))
            #expect(!cohort.treated.contains(Int32(index)))
            let rows = SurvivalSection.rows(extract, cohort, covariates: [])
            #expect(!rows.contains { $0.episode == Int32(index) })
            // Every treated episode of site A is a row: a, b, c, e and f.
            #expect(rows.count == 5)

            // (e) R: as.Date("2021-03-15") - as.Date("2020-01-10") = 430: the questionnaire is later than the last contact.
            let e = try Self.episode(extract, r.e)
            #expect(e.followUpEnd == .lastRecord)
            #expect(e.followUpDays == 430)

            // (f) R: as.Date("2020-08-10") - as.Date("2020-01-10") = 213.
            let f = try Self.episode(extract, r.f)
            #expect(f.followUpEnd == .lostToFollowUp)
            #expect(f.followUpDays == 213)
            #expect(f.replacementDay == nil && f.deathDay == nil)
        }
    }

    @Test("The extract carries product mix, intra-articular flag, age, BMI and baseline BML burden", arguments: Engine.available)
    func episodeAttributes(engine: Engine) async throws {
        try await withStore(engine) { store in
            let r = try await Self.craft(store)
            let coordinator = try #require(r.fixture.actors[.coordinator])
            let extract = try await store.analytics().extract(coordinator, audit: "baseline").extract

            let a = try Self.episode(extract, r.a)
            // PRP and BMC into the bone plus an intra-articular PRP injection.
            #expect(a.product == .both)
            #expect(a.intraArticular)
            #expect(a.ioProcedures == 1)
            // Born 1960-05-20, first procedure 2020-01-10: 59 (the birthday had not come yet).
            #expect(a.age == 59)
            #expect(a.sex == .female)
            // The later of the two screenings gave BMI 31.5 (the earlier 80 / 1.72² ≈ 27.04).
            #expect(a.bmi == 31.5)
            #expect(a.screened)
            #expect(a.kellgrenLawrence == 3)
            #expect(a.diagnosis == .osteoarthritis)
            // Baseline MRI: size grades 2 + 1.
            #expect(a.bmlBurden == 3)
            let aIndex = Int32(try #require(extract.episodes.firstIndex { $0.key == r.a.id }))
            let pair = try #require(extract.bml.first { $0.episode == aIndex })
            #expect(pair.baseline == [.tibiaCentralMedial: 2, .femurCentralMedial: 1])
            #expect(pair.followUp == [.tibiaCentralMedial: 1])

            let b = try Self.episode(extract, r.b)
            #expect(b.product == .prp)
            #expect(!b.intraArticular)
            // Born 1950-01-01: 70 on 2020-01-10.
            #expect(b.age == 70)
            #expect(b.sex == .male)
            #expect(b.bmi == nil && b.bmlBurden == nil && !b.screened)

            // Untreated: the age at the first screening; BMI from its input (80 kg, 172 cm).
            let d = try Self.episode(extract, r.d)
            #expect(d.age == 56)
            #expect(d.sex == nil)
            #expect(d.screened)
            #expect(d.screeningCategory == .recommended)
            #expect(abs((d.bmi ?? 0) - 80 / (1.72 * 1.72)) < 1e-9)
            #expect(d.product == nil && !d.intraArticular)
        }
    }

    @Test("A coordinator of site A gets only site A's episodes", arguments: Engine.available)
    func siteScope(engine: Engine) async throws {
        try await withStore(engine) { store in
            let r = try await Self.craft(store)
            let analytics = try store.analytics()
            let coordinator = try #require(r.fixture.actors[.coordinator])
            let scoped = try await analytics.extract(coordinator, audit: "flow")
            let extract = scoped.extract
            #expect(scoped.viewer.siteIDs == [r.fixture.siteA.id])
            #expect(!extract.episodes.isEmpty)
            #expect(extract.episodes.allSatisfy { $0.siteID == r.fixture.siteA.id })
            #expect(!extract.episodes.contains { $0.key == r.siteBEpisode.id })
            #expect(Set(extract.siteNames.keys) == [r.fixture.siteA.id])
            // Site B's adverse event is not there, and nothing points past the kept episodes.
            #expect(extract.adverseEvents.isEmpty)
            #expect(extract.scoreEpisode.allSatisfy { Int($0) < extract.episodes.count })
            #expect(extract.bml.allSatisfy { Int($0.episode) < extract.episodes.count })
            #expect(extract.timepoints.allSatisfy { Int($0.episode) < extract.episodes.count })
            // The two questionnaires (c, e) were not at a timepoint, so they hold no scores; one BML pair (a).
            #expect(extract.bml.count == 1)

            // A user granted both sites sees site B too.
            let both = try await analytics.extract(r.fixture.seeder, audit: "flow").extract
            let hip = try Self.episode(both, r.siteBEpisode)
            #expect(hip.siteID == r.fixture.siteB.id)
            #expect(hip.firstProcedure == date("2020-02-01"))
            #expect(both.adverseEvents.count == 1)
            #expect(Set(both.siteNames.keys) == [r.fixture.siteA.id, r.fixture.siteB.id])
        }
    }

    @Test("Researchers get minimumCellCount 5; patients and admins are refused", arguments: Engine.available)
    func roles(engine: Engine) async throws {
        try await withStore(engine) { store in
            let r = try await Self.craft(store)
            let analytics = try store.analytics()
            let researcher = try #require(r.fixture.actors[.researcher])
            let scoped = try await analytics.extract(researcher, audit: "proms")
            #expect(scoped.viewer.minimumCellCount == 5)
            #expect(scoped.viewer.deidentified)
            #expect(scoped.extract.episodes.allSatisfy { $0.siteID == r.fixture.siteA.id })
            // Staff: nothing suppressed.
            for role in [Role.coordinator, .clinician] {
                let staff = try await analytics.extract(try #require(r.fixture.actors[role]), audit: "proms")
                #expect(staff.viewer.minimumCellCount == nil, "\(role)")
                #expect(!staff.viewer.deidentified)
            }
            for role in [Role.patient, .admin] {
                let actor = try #require(r.fixture.actors[role])
                await #expect(throws: AccessDenied.self, "\(role)") { _ = try await analytics.extract(actor, audit: "proms") }
            }
            // The refusals are audited as denied exports of analytics.
            let denied = try await auditEntries(store).filter { $0.recordType == "analytics" && $0.outcome == "denied" }
            #expect(Set(denied.map(\.actorRole)) == ["patient", "admin"])
        }
    }

    @Test("The revision probe is one look at the partial index (SQLite is told which), and equals the newest registry write", arguments: Engine.available)
    func revisionProbe(engine: Engine) async throws {
        try await withStore(engine) { store in
            let r = try await Self.craft(store)
            let sql = try store.database.sql()
            // Many audited reads of registry record types: the entries that made SQLite 3.54's planner scan
            // ix_audit_log_record when the query did not name the index.
            let coordinator = try #require(r.fixture.actors[.coordinator])
            for _ in 0..<20 { _ = try await store.episodes.get(coordinator, r.e.id) }
            let probe = AnalyticsRepository.revisionQuery(dialect: sql.dialect.name)
            if sql.dialect.name == "sqlite" {
                let plan = try await sql.raw(SQLQueryString("EXPLAIN QUERY PLAN " + probe)).all()
                let details = try plan.map { try $0.decode(column: "detail", as: String.self) }
                #expect(details.contains { $0.contains("ix_audit_log_registry_writes") }, "\(details)")
                #expect(!details.contains { $0.contains("ix_audit_log_record") }, "\(details)")
            }
            let hinted = try await sql.raw(SQLQueryString(probe)).first()?.decode(column: "seq", as: Int64.self)
            // Worked out without the index: the newest entry that is a registry write.
            let entries = try await auditEntries(store)
            let writes: Set<String> = ["create", "update", "delete"]
            let types: Set<String> = ["patient", "episode", "screening-decision", "imaging-study", "procedure", "questionnaire-response",
                                      "follow-up-timepoint", "outcome-event", "bulk-insert", "procedure-addendum", "site"]
            let newest = entries.filter { writes.contains($0.action) && types.contains($0.recordType) }.map(\.sequence).max()
            #expect(hinted != nil && hinted == newest)
        }
    }

    @Test("Every extract call is audited as an export; a write changes the revision, no write keeps it", arguments: Engine.available)
    func auditAndRevision(engine: Engine) async throws {
        try await withStore(engine) { store in
            let r = try await Self.craft(store)
            let analytics = try store.analytics()
            let coordinator = try #require(r.fixture.actors[.coordinator])
            func exports() async throws -> [AuditEntry] {
                try await auditEntries(store).filter { $0.action == "export" && $0.recordType == "analytics" && $0.outcome == "ok" }
            }
            #expect(try await exports().isEmpty)

            let first = try await analytics.extract(coordinator, audit: "survival?joint=knee")
            let second = try await analytics.extract(coordinator, audit: "flow")
            // No registry write in between (the export entries themselves are not writes): the same revision.
            #expect(first.revision > 0)
            #expect(second.revision == first.revision)
            // The cached extract itself, not a second read of the registry.
            #expect(second.readAt == first.readAt)
            #expect(second.extract.episodes.count == first.extract.episodes.count)
            var audited = try await exports()
            #expect(audited.count == 2)
            #expect(audited.map(\.recordID) == ["survival?joint=knee", "flow"])
            #expect(audited.allSatisfy { $0.actorUserID == coordinator.userID.uuidString.lowercased() && $0.actorRole == "coordinator" })

            // A new outcome event is a registry write: the next call re-reads the registry.
            _ = try await store.outcomes.create(coordinator, episodeID: r.e.id,
                                                .adverseEvent(description: "swelling", severity: .moderate, date: date("2020-02-01")),
                                                relatedness: .possible)
            let third = try await analytics.extract(coordinator, audit: "safety")
            #expect(third.revision > second.revision)
            #expect(third.readAt > second.readAt)
            #expect(third.extract.adverseEvents.count == first.extract.adverseEvents.count + 1)
            let eIndex = Int32(try #require(third.extract.episodes.firstIndex { $0.key == r.e.id }))
            #expect(third.extract.adverseEvents.contains { $0.episode == eIndex && $0.severity == .moderate && $0.relatedness == .possible })
            let fourth = try await analytics.extract(coordinator, audit: "safety")
            #expect(fourth.revision == third.revision && fourth.readAt == third.readAt)

            audited = try await exports()
            #expect(audited.count == 4)
            #expect(audited.map(\.recordID) == ["survival?joint=knee", "flow", "safety", "safety"])
        }
    }
}
