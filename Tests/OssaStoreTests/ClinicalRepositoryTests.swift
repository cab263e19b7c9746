import Crypto
import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

@Suite("Clinical repositories")
struct ClinicalRepositoryTests {
    // MARK: Screening

    @Test(arguments: Engine.available)
    func screeningStoresTheEngineDecisionThenSignsAndOverrides(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let coordinator = try #require(f.actors[.coordinator])
            let input = try exampleScreeningInput("knee-bml-recommended")
            let stored = try await store.screening.evaluate(coordinator, episodeID: f.episodeA.id, input)
            // The example's file name states its category; the ruleset is the bundled default.
            #expect(stored.category == .recommended)
            #expect(stored.rulesetID == (try Ruleset.bundledDefault()).id)
            #expect(stored.rulesetVersion == (try Ruleset.bundledDefault()).version)
            #expect(stored.input == input)
            #expect(stored.evaluationDate == date("2026-03-02"))
            #expect(stored.decidedBy == coordinator.userID)
            #expect(!stored.isSigned)
            let read = try await store.screening.get(clinician, stored.id)
            #expect(read.withoutCreatedAt == stored.withoutCreatedAt)
            #expect(read.firedRules == (try ScreeningEngine.withDefaultRuleset().evaluate(input)).firedRules)
            let snapshot = try await store.database.sql().select().column("input_snapshot").from("screening_decisions")
                .where("id", .equal, SQLBind(stored.id)).first()?.decode(column: "input_snapshot", as: String.self)
            #expect(try JSONDecoder().decode(ScreeningInput.self, from: Data(try #require(snapshot).utf8)) == input)

            // Coordinators do not sign; clinicians sign once.
            await #expect(throws: AccessDenied.self) { _ = try await store.screening.sign(coordinator, stored.id) }
            let signed = try await store.screening.sign(clinician, stored.id)
            #expect(signed.signedBy == clinician.userID && signed.signedAt != nil)
            await #expect(throws: StoreError.conflict("screening decision \(stored.id.lowerString) is already signed")) {
                _ = try await store.screening.sign(clinician, stored.id)
            }

            // Override: a reason is required and the category must change; the engine's category stays.
            await #expect(throws: StoreError.invalid(field: "reason", message: "must not be empty")) {
                _ = try await store.screening.override(clinician, stored.id, category: .notNow, reason: "   ")
            }
            await #expect(throws: StoreError.self) {
                _ = try await store.screening.override(clinician, stored.id, category: .recommended, reason: "same")
            }
            let overridden = try await store.screening.override(clinician, stored.id, category: .notNow, reason: "awaiting HbA1c repeat")
            #expect(overridden.category == .recommended && overridden.effectiveCategory == .notNow)
            #expect(overridden.overrideReason == "awaiting HbA1c repeat" && overridden.overriddenBy == clinician.userID)
            #expect(overridden.signedBy == clinician.userID)

            // Filters: effective category and signature.
            let unsignedRefer = try await store.screening.evaluate(clinician, episodeID: f.episodeA.id, input)
            #expect(try await store.screening.list(clinician, ScreeningFilter(category: .notNow)).items.map(\.id) == [stored.id])
            #expect(try await store.screening.list(clinician, ScreeningFilter(category: .recommended)).items.map(\.id) == [unsignedRefer.id])
            #expect(try await store.screening.list(clinician, ScreeningFilter(signed: false)).items.map(\.id) == [unsignedRefer.id])
            #expect(try await store.screening.list(clinician, ScreeningFilter(patientID: f.patientB.id)).items.isEmpty)
            #expect(try await store.screening.list(clinician, ScreeningFilter(evaluated: DateRange(from: date("2026-03-03")))).items.isEmpty)
        }
    }

    @Test(arguments: Engine.available)
    func screeningRejectsBadInputAndOtherSites(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            var input = try exampleScreeningInput("knee-bml-recommended")
            let before = try await count("screening_decisions", in: store)
            input.side = .right
            await #expect(throws: StoreError.conflictingField(field: "input.side", message: "\"right\" is not the episode's side (left)")) {
                _ = try await store.screening.evaluate(clinician, episodeID: f.episodeA.id, input)
            }
            input.side = .left
            input.painNRS = 14
            do {
                _ = try await store.screening.evaluate(clinician, episodeID: f.episodeA.id, input)
                Issue.record("an NRS of 14 was accepted")
            } catch let StoreError.invalid(field, _) {
                #expect(field == "input.painNRS")
            }
            let hip = try exampleScreeningInput("hip-avn-collapse-refer")
            await #expect(throws: StoreError.notFound(recordType: "episode", id: f.episodeB.id.lowerString)) {
                _ = try await store.screening.evaluate(clinician, episodeID: f.episodeB.id, hip)
            }
            #expect(try await count("screening_decisions", in: store) == before)
            // The seeder (granted B) gets the hip example's category.
            #expect(try await store.screening.evaluate(f.seeder, episodeID: f.episodeB.id, hip).category == .refer)
        }
    }

    // MARK: Imaging

    @Test(arguments: Engine.available)
    func imagingStoresSubregionFindingsAndComparesFollowUp(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let baselineMRI = MRIStudy(date: date("2026-02-10"), bml: [
                BMLFinding(subregion: .tibiaCentralMedial, size: .medium, bmlPercent: .over66, count: 1),
                BMLFinding(subregion: .femurCentralMedial, size: .small, bmlPercent: .over66, count: 1),
                BMLFinding(subregion: .patellaLateral, size: .large, count: 2),
            ], insufficiencyFracture: InsufficiencyFractureLine(subregion: .tibiaCentralMedial, lengthMm: 8),
               focalCartilageLesions: [FocalCartilageLesion(subregion: .femurCentralMedial, areaCm2: 1.5, depth: .partialThickness)])
            let baseline = try await store.imaging.create(clinician, NewImagingStudy(episodeID: f.episodeA.id, timing: .baseline, mri: baselineMRI))
            #expect(baseline.mri == MRIStudy(date: baselineMRI.date, bml: baselineMRI.bml.sorted { $0.subregion < $1.subregion },
                                             insufficiencyFracture: baselineMRI.insufficiencyFracture,
                                             focalCartilageLesions: baselineMRI.focalCartilageLesions))
            // Burden = 2 + 1 + 3, maximal grade 3, two compartments (MOAKS sums, computed by hand).
            #expect(baseline.bmlSummary.burden == 6 && baseline.bmlSummary.maxGrade == 3)
            #expect(baseline.bmlSummary.compartments == [.patellofemoral, .medialTibiofemoral])
            let read = try await store.imaging.get(clinician, baseline.id)
            #expect(read.withoutCreatedAt == baseline.withoutCreatedAt)
            #expect(try await count("subregion_findings", in: store) == 3)

            let followUp = try await store.imaging.create(clinician, NewImagingStudy(
                episodeID: f.episodeA.id, timing: .followUp,
                mri: MRIStudy(date: date("2026-09-10"), bml: [BMLFinding(subregion: .tibiaCentralMedial, size: .small, count: 1),
                                                              BMLFinding(subregion: .tibiaAnteriorLateral, size: .small, count: 1)])))
            let changes = try await store.imaging.compare(clinician, baseline: baseline.id, followUp: followUp.id)
            #expect(changes.map { "\($0.subregion.rawValue):\($0.baseline)->\($0.followUp)" } == [
                "patella-lateral:3->0", "femur-central-medial:1->0", "tibia-central-medial:2->1", "tibia-anterior-lateral:0->1",
            ])
            let xray = try await store.imaging.create(clinician, NewImagingStudy(episodeID: f.episodeA.id, timing: .baseline,
                                                                                 xrayOn: date("2026-01-15"),
                                                                                 grades: XRayGrades(kellgrenLawrence: .grade3, ahlback: .II)))
            #expect(try await store.imaging.get(clinician, xray.id).xray == XRayGrades(kellgrenLawrence: .grade3, ahlback: .II))
            #expect(try await store.imaging.list(clinician, ImagingFilter(episodeID: f.episodeA.id, timing: .followUp)).items.map(\.id) == [followUp.id])
            #expect(try await store.imaging.list(clinician, ImagingFilter(modality: .mri)).items.map(\.id) == [baseline.id, followUp.id])
            #expect(try await store.imaging.list(clinician, ImagingFilter(studied: DateRange(to: date("2026-02-10")))).items.map(\.id) == [xray.id, baseline.id])
        }
    }

    @Test(arguments: Engine.available)
    func imagingRejectsFindingsOfAnotherJointAndWritesNothing(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let hipOnKnee = MRIStudy(date: date("2026-02-10"), bml: [BMLFinding(subregion: .tibiaCentralMedial, size: .small, count: 1),
                                                                     BMLFinding(subregion: .femoralHeadSuperior, size: .small, count: 1)])
            await #expect(throws: StoreError.conflictingField(field: "mri.bml[1].subregion",
                                                     message: "\"femoral-head-superior\" is a hip subregion, but the episode's joint is the knee")) {
                _ = try await store.imaging.create(clinician, NewImagingStudy(episodeID: f.episodeA.id, timing: .baseline, mri: hipOnKnee))
            }
            await #expect(throws: StoreError.conflictingField(field: "xray.tonnis", message: "the Tönnis grade is for the hip; this episode is a knee")) {
                _ = try await store.imaging.create(clinician, NewImagingStudy(episodeID: f.episodeA.id, timing: .baseline, xrayOn: date("2026-01-01"),
                                                                              grades: XRayGrades(tonnis: .grade2)))
            }
            #expect(try await count("imaging_studies", in: store) == 0)
            #expect(try await count("subregion_findings", in: store) == 0)
        }
    }

    // MARK: Procedures

    @Test(arguments: Engine.available)
    func proceduresRoundTripWithInjectionsAndAreSignedByClinicians(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let record = kneeProcedure()
            let stored = try await store.procedures.create(clinician, NewProcedure(episodeID: f.episodeA.id, record: record))
            #expect(stored.record == record)
            #expect(stored.operatorID == clinician.userID && stored.signedBy == nil)
            await #expect(throws: StoreError.notFound(recordType: "user", id: "00000000-0000-0000-0000-000000000000")) {
                _ = try await store.procedures.create(clinician, NewProcedure(episodeID: f.episodeA.id, record: record,
                                                                              operatorID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))))
            }
            let read = try await store.procedures.get(clinician, stored.id)
            #expect(read.withoutCreatedAt == stored.withoutCreatedAt)
            #expect(read.record.injections.map(\.volumeMl) == [5, 4, 3])
            #expect(try await count("injections", in: store) == 3)
            let signed = try await store.procedures.sign(clinician, stored.id)
            #expect(signed.signedBy == clinician.userID)
            #expect(try await store.procedures.list(clinician, ProcedureFilter(signed: true)).items.map(\.id) == [stored.id])
            #expect(try await store.procedures.list(clinician, ProcedureFilter(performed: DateRange(from: date("2026-03-11")))).items.isEmpty)
        }
    }

    @Test(arguments: Engine.available)
    func proceduresRejectImpossibleValuesNamingTheField(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            var record = kneeProcedure()
            record.injections[1].volumeMl = 45
            await #expect(throws: StoreError.self) {
                _ = try await store.procedures.create(clinician, NewProcedure(episodeID: f.episodeA.id, record: record))
            }
            do {
                _ = try await store.procedures.create(clinician, NewProcedure(episodeID: f.episodeA.id, record: record))
            } catch let StoreError.invalid(field, _) {
                #expect(field == "injections[1].volumeMl")
            }
            record = kneeProcedure()
            record.injections[0].target = .bone(.femoralHead, subregion: nil)
            await #expect(throws: StoreError.conflictingField(field: "injections[0].target.bone", message: "\"femoral-head\" is not a bone of the knee")) {
                _ = try await store.procedures.create(clinician, NewProcedure(episodeID: f.episodeA.id, record: record))
            }
            record = kneeProcedure()
            record.injections[0].target = .bone(.medialTibialPlateau, subregion: .patellaMedial)
            await #expect(throws: StoreError.invalid(field: "injections[0].target.subregion", message: "\"patella-medial\" is not in the medial tibial plateau")) {
                _ = try await store.procedures.create(clinician, NewProcedure(episodeID: f.episodeA.id, record: record))
            }
            #expect(try await count("procedures", in: store) == 0)
            #expect(try await count("injections", in: store) == 0)
        }
    }

    @Test(arguments: Engine.available)
    func aFailureAfterTheFirstInsertRollsBackTheWholeRecord(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            // The database refuses injections: the procedure row written before them must go too.
            let sql = try store.database.sql()
            switch engine {
            case .sqlite:
                try await sql.raw("CREATE TRIGGER refuse_injections BEFORE INSERT ON injections BEGIN SELECT RAISE(ABORT, 'refused'); END").run()
            case .postgres:
                try await sql.raw("CREATE FUNCTION refuse_injections() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$").run()
                try await sql.raw("CREATE TRIGGER refuse_injections BEFORE INSERT ON injections FOR EACH ROW EXECUTE FUNCTION refuse_injections()").run()
            }
            let before = try await auditEntries(store).count
            await #expect(throws: (any Error).self) {
                _ = try await store.procedures.create(clinician, NewProcedure(episodeID: f.episodeA.id, record: kneeProcedure()))
            }
            #expect(try await count("procedures", in: store) == 0)
            #expect(try await auditEntries(store).count == before)
            #expect(try await AuditVerifier.verify(store.database).isIntact)
        }
    }

    // MARK: Questionnaires

    @Test(arguments: Engine.available)
    func submissionsAreScoredAndStoredWithRawAnswers(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            var answers = koosAnswers(symptoms: 1, pain: 2, adl: 0, sport: 4, qol: 3)
            answers["Q4"] = .some(nil) // unanswered: QoL is the mean of the three answered items
            let response = try await store.questionnaires.submit(coordinator, episodeID: f.episodeA.id, instrumentID: "koos", answers: answers)
            // KOOS 2012: 100 − mean × 25 per subscale (worked by hand).
            #expect(response.scores.map(\.id) == ["symptoms", "pain", "adl", "sport", "qol"])
            #expect(response.score("symptoms") == 75 && response.score("pain") == 50 && response.score("adl") == 100)
            #expect(response.score("sport") == 0 && response.score("qol") == 25)
            #expect(response.scoringVersion == "2012" && response.source == .staff)
            let read = try await store.questionnaires.get(coordinator, response.id)
            #expect(read.answers == answers)
            #expect(read.scores == response.scores)
            #expect(read.id == response.id && read.instrumentID == "koos")

            // A scale too sparsely answered has no score, never an error: pain needs 5 of 9 items.
            var sparse: [String: Int?] = [:]
            for i in 1...4 { sparse["P\(i)"] = 1 }
            let partial = try await store.questionnaires.submit(coordinator, episodeID: f.episodeA.id, instrumentID: "koos", answers: sparse)
            #expect(partial.score("pain") == nil)
            #expect(try await store.questionnaires.get(coordinator, partial.id).score("pain") == nil)

            // The events form is stored unscored.
            let events = try await store.questionnaires.submit(coordinator, episodeID: f.episodeA.id, instrumentID: "events",
                                                               answers: ["jointReplacement": 0])
            #expect(events.scores.isEmpty)
            #expect(try await store.questionnaires.list(coordinator, QuestionnaireFilter(instrumentID: "koos")).total == 2)
            #expect(try await store.questionnaires.list(coordinator, QuestionnaireFilter(patientID: f.patientA.id)).total == 3)
        }
    }

    @Test func storedJSONWritersProduceValidJSON() throws {
        let answers: [String: Int?] = ["P2": 3, "P1": nil, "we\"ird\\key\n\u{01}": -1, "Zürich": 0]
        let text = StoredJSON.answers(answers)
        #expect(text.hasPrefix("{\"P1\":null,\"P2\":3,"))
        #expect(try JSONDecoder().decode([String: Int?].self, from: Data(text.utf8)) == answers)
        let scores = ScoreResult(instrument: "koos", version: "2012", scores: [.init(id: "symptoms", value: 82.14285714285714),
                                                                              .init(id: "pain", value: nil), .init(id: "tiny", value: 1e-7)])
        let stored = StoredJSON.scores(scores)
        #expect(stored == "{\"instrument\":\"koos\",\"version\":\"2012\",\"scores\":{\"symptoms\":82.14285714285714,\"pain\":null,\"tiny\":1e-07}}")
        #expect(try QuestionnaireRepository.decodeScores(stored, instrument: "koos").map(\.value) == [82.14285714285714, nil, 1e-7])
    }

    @Test(arguments: Engine.available)
    func invalidAnswersNameTheItemAndWriteNothing(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let before = try await auditEntries(store).count
            await #expect(throws: StoreError.invalid(field: "answers.P99", message: "is not an item of koos")) {
                _ = try await store.questionnaires.submit(clinician, episodeID: f.episodeA.id, instrumentID: "koos", answers: ["P99": 1])
            }
            do {
                _ = try await store.questionnaires.submit(clinician, episodeID: f.episodeA.id, instrumentID: "koos", answers: ["P3": 7])
                Issue.record("P3 = 7 accepted")
            } catch let StoreError.invalid(field, message) {
                #expect(field == "answers.P3")
                #expect(message.contains("out of range"))
            }
            await #expect(throws: StoreError.self) {
                _ = try await store.questionnaires.submit(clinician, episodeID: f.episodeA.id, instrumentID: "womac", answers: [:])
            }
            let unknownTimepoint = UUID()
            await #expect(throws: StoreError.notFound(recordType: "timepoint", id: unknownTimepoint.lowerString)) {
                _ = try await store.questionnaires.submit(clinician, episodeID: f.episodeA.id, instrumentID: "nrs-pain", answers: ["pain": 3],
                                                          timepointID: unknownTimepoint)
            }
            #expect(try await count("questionnaire_responses", in: store) == 0)
            #expect(try await auditEntries(store).count == before)
        }
    }

    @Test(arguments: Engine.available)
    func patientsSubmitForTheirOwnEpisodesOnly(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let patient = try #require(f.actors[.patient])
            let other = try await store.episodes.create(f.seeder, NewEpisode(patientID: f.patientA2.id, joint: .knee, side: .left,
                                                                             diagnosis: .boneMarrowLesion))
            let own = try await store.questionnaires.submit(patient, episodeID: f.episodeA.id, instrumentID: "nrs-pain", answers: ["pain": 6])
            #expect(own.source == .patientLink && own.score("score") == 6)
            await #expect(throws: StoreError.notFound(recordType: "episode", id: other.id.lowerString)) {
                _ = try await store.questionnaires.submit(patient, episodeID: other.id, instrumentID: "nrs-pain", answers: ["pain": 6])
            }
            _ = try await store.questionnaires.submit(f.seeder, episodeID: other.id, instrumentID: "nrs-pain", answers: ["pain": 2])
            #expect(try await store.questionnaires.list(patient).items.map(\.id) == [own.id])
        }
    }

    @Test(arguments: Engine.available)
    func concurrentSubmissionsCommitTogetherAndFailAlone(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let patient = try #require(f.actors[.patient])
            let before = try await auditEntries(store).count
            // 120 submissions at once: clinicians and the patient on episode A, and every 10th for site B's episode,
            // which the clinician cannot see.
            let outcomes = await withTaskGroup(of: (Int, Result<QuestionnaireResponseRecord, any Error>).self) { group in
                for i in 0..<120 {
                    group.addTask {
                        let actor = i % 3 == 0 ? patient : clinician
                        let episode = i % 10 == 9 && actor == clinician ? f.episodeB.id : f.episodeA.id
                        do {
                            return (i, .success(try await store.questionnaires.submit(actor, episodeID: episode, instrumentID: "nrs-pain",
                                                                                      answers: ["pain": i % 11])))
                        } catch {
                            return (i, .failure(error))
                        }
                    }
                }
                var all: [(Int, Result<QuestionnaireResponseRecord, any Error>)] = []
                for await outcome in group { all.append(outcome) }
                return all.sorted { $0.0 < $1.0 }
            }
            var stored = 0
            for (i, outcome) in outcomes {
                let refused = i % 10 == 9 && i % 3 != 0
                switch outcome {
                case .success(let record):
                    #expect(!refused, "submission \(i) for another site was stored")
                    #expect(record.score("score") == Double(i % 11))
                    stored += 1
                case .failure(let error):
                    #expect(refused, "submission \(i) failed: \(error)")
                    #expect(error as? StoreError == .notFound(recordType: "episode", id: f.episodeB.id.lowerString))
                }
            }
            #expect(stored == 120 - (0..<120).filter { $0 % 10 == 9 && $0 % 3 != 0 }.count)
            #expect(try await count("questionnaire_responses", in: store) == stored)
            let entries = try await auditEntries(store).dropFirst(before)
            #expect(entries.count == stored)
            #expect(Set(entries.compactMap(\.recordID)).count == stored)
            #expect(try await AuditVerifier.verify(store.database).isIntact)
        }
    }

    // MARK: Timepoints, invitations, outbox

    @Test(arguments: Engine.available)
    func scheduleFollowsTheProtocolAndWorklistsSplitByWindow(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            let schedule = try await store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: date("2026-01-31"))
            // Ossa follow-up protocol: baseline, 7 diary days, 2 and 6 weeks, 3, 6, 12 and 24 months.
            #expect(schedule.map(\.code) == ["baseline", "diary-d1", "diary-d2", "diary-d3", "diary-d4", "diary-d5", "diary-d6", "diary-d7",
                                             "week-2", "week-6", "month-3", "month-6", "month-12", "month-24"])
            let byCode = Dictionary(uniqueKeysWithValues: schedule.map { ($0.code, $0) })
            #expect(byCode["baseline"]?.windowStart == date("2026-01-01") && byCode["baseline"]?.windowEnd == date("2026-01-31"))
            #expect(byCode["diary-d7"]?.dueDate == date("2026-02-07"))
            #expect(byCode["week-2"]?.dueDate == date("2026-02-14"))
            // Calendar months clamp: 31 January + 3 months = 30 April.
            #expect(byCode["month-3"]?.dueDate == date("2026-04-30"))
            #expect(byCode["month-24"]?.dueDate == date("2028-01-31"))
            await #expect(throws: StoreError.conflict("episode \(f.episodeA.id.lowerString) already has a follow-up schedule")) {
                _ = try await store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: date("2026-01-31"))
            }
            let week2 = try #require(byCode["week-2"])
            func worklist(_ kind: TimepointWorklist, _ day: String) async throws -> [String] {
                try await store.timepoints.list(coordinator, TimepointFilter(worklist: kind, on: date(day)), PageRequest(limit: 100)).items.map(\.code)
            }
            #expect(try await worklist(.due, week2.windowStart.iso) == ["week-2"])
            #expect(try await worklist(.overdue, week2.dueDate.adding(days: 1).iso) == ["week-2"])
            #expect(try await worklist(.closed, "2026-02-09") == ["baseline", "diary-d1", "diary-d2", "diary-d3", "diary-d4", "diary-d5", "diary-d6", "diary-d7"])
            #expect(try await store.timepoints.markClosedAsMissed(coordinator, before: date("2026-02-09")) == 8)
            #expect(try await worklist(.closed, "2026-02-09").isEmpty)
            #expect(try await store.timepoints.list(coordinator, TimepointFilter(status: .missed)).total == 8)
            let done = try await store.timepoints.mark(coordinator, week2.id, .completed)
            #expect(done.status == .completed && done.completedAt != nil)
            let patient = try #require(f.actors[.patient])
            #expect(try await store.timepoints.list(patient, TimepointFilter(), PageRequest(limit: 100)).total == 14)
        }
    }

    @Test(arguments: Engine.available)
    func invitationTokensAreHashedAndRedeemedOnce(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            let schedule = try await store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: date("2026-01-31"))
            let month3 = try #require(schedule.first { $0.code == "month-3" })
            let now = date("2026-04-01").startOfDayUTC
            let issued = try await store.invitations.create(coordinator, timepointID: month3.id, channel: .email, now: now)
            #expect(issued.token.count == 43)
            #expect(issued.invitation.patientID == f.patientA.id)
            // Expires at the end of the window's last day.
            #expect(issued.invitation.expiresAt == month3.windowEnd.adding(days: 1).startOfDayUTC)
            // Only the SHA-256 of the token is stored.
            let expectedHash = SHA256.hash(data: Data(issued.token.utf8)).map { String(format: "%02x", $0) }.joined()
            let rows = try await store.database.sql().raw("SELECT * FROM invitations").all()
            #expect(rows.count == 1)
            #expect(try rows[0].decode(column: "token_hash", as: String.self) == expectedHash)
            for column in rows[0].allColumns {
                #expect((try? rows[0].decode(column: column, as: String.self)) != issued.token, "token stored in \(column)")
            }
            await #expect(throws: StoreError.notFound(recordType: "invitation", id: "(token)")) {
                _ = try await store.invitations.redeem(token: "not-a-token", now: now)
            }
            let redeemed = try await store.invitations.redeem(token: issued.token, now: now, from: "198.51.100.4")
            #expect(redeemed.episodeID == f.episodeA.id && redeemed.timepointCode == "month-3" && redeemed.patientID == f.patientA.id)
            await #expect(throws: StoreError.conflict("this link has already been used")) {
                _ = try await store.invitations.redeem(token: issued.token, now: now)
            }
            let entry = try #require(try await auditEntries(store).last { $0.recordType == "invitation" && $0.action == "update" })
            #expect(entry.actorUserID == nil && entry.actorRole == "patient" && entry.fromAddress == "198.51.100.4")

            // The link's session submits as the patient, for that episode only.
            let linkActor = redeemed.actingUser(address: "198.51.100.4")
            let response = try await store.questionnaires.submit(linkActor, episodeID: redeemed.episodeID, instrumentID: "nrs-pain",
                                                                 answers: ["pain": 3], timepointID: redeemed.timepointID)
            #expect(response.source == .patientLink)
            #expect(try await store.timepoints.get(coordinator, month3.id).status == .completed)

            // Expired and revoked links.
            let month6 = try #require(schedule.first { $0.code == "month-6" })
            let expiring = try await store.invitations.create(coordinator, timepointID: month6.id, channel: .sms, now: now)
            await #expect(throws: StoreError.invalid(field: "token", message: "this link expired")) {
                _ = try await store.invitations.redeem(token: expiring.token, now: expiring.invitation.expiresAt)
            }
            let revoked = try await store.invitations.create(coordinator, timepointID: month6.id, channel: .sms, now: now)
            _ = try await store.invitations.revoke(coordinator, revoked.invitation.id)
            await #expect(throws: StoreError.invalid(field: "token", message: "this link was withdrawn")) {
                _ = try await store.invitations.redeem(token: revoked.token, now: now)
            }
            #expect(try await store.invitations.list(coordinator, InvitationFilter(status: .used), now: now).items.map(\.id) == [issued.invitation.id])
            #expect(try await store.invitations.list(coordinator, InvitationFilter(status: .revoked), now: now).items.map(\.id) == [revoked.invitation.id])
            // A window that has closed takes no invitation; other sites' timepoints do not exist for this user.
            let baseline = try #require(schedule.first { $0.code == "baseline" })
            await #expect(throws: StoreError.invalid(field: "expiresAt", message: "is in the past (the window has closed)")) {
                _ = try await store.invitations.create(coordinator, timepointID: baseline.id, channel: .email, now: now)
            }
            let other = try await store.timepoints.generate(f.seeder, episodeID: f.episodeB.id, indexDate: date("2026-01-31"))
            await #expect(throws: StoreError.notFound(recordType: "timepoint", id: other[12].id.lowerString)) {
                _ = try await store.invitations.create(coordinator, timepointID: other[12].id, channel: .email, now: now)
            }
            _ = try await store.invitations.create(f.seeder, timepointID: other[12].id, channel: .email, now: now)
            #expect(try await store.invitations.list(coordinator, now: now).total == 3)
            #expect(try await store.invitations.list(f.seeder, now: now).total == 4)
        }
    }

    @Test(arguments: Engine.available)
    func outboxSendsDueMessagesAndCompletionCancelsReminders(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let coordinator = try #require(f.actors[.coordinator])
            let schedule = try await store.timepoints.generate(coordinator, episodeID: f.episodeA.id, indexDate: date("2026-01-31"))
            let month3 = try #require(schedule.first { $0.code == "month-3" })
            let month6 = try #require(schedule.first { $0.code == "month-6" })
            let now = date("2026-04-20").startOfDayUTC
            let inv3 = try await store.invitations.create(coordinator, timepointID: month3.id, channel: .email, now: now)
            let inv6 = try await store.invitations.create(coordinator, timepointID: month6.id, channel: .email, now: now)
            func message(_ inv: IssuedInvitation, _ kind: String, at: Date) -> NewOutboxMessage {
                NewOutboxMessage(invitationID: inv.invitation.id, kind: kind, channel: .email, recipient: "anna@example.org",
                                 subject: "Your questionnaire", body: "https://ossa.example/q/\(inv.token)", notBefore: at)
            }
            let first = try await store.outbox.enqueue(coordinator, message(inv3, "invitation", at: now))
            let reminder = try await store.outbox.enqueue(coordinator, message(inv3, "reminder", at: now.addingTimeInterval(3 * 86_400)))
            let later = try await store.outbox.enqueue(coordinator, message(inv6, "invitation", at: now.addingTimeInterval(60 * 86_400)))
            #expect(first.notAfter == inv3.invitation.expiresAt)

            // Staff cannot run the sender; the sender (admin service account) claims what is due.
            await #expect(throws: AccessDenied.self) { _ = try await store.outbox.claim(coordinator, now: now) }
            let claimed = try await store.outbox.claim(f.admin, now: now)
            #expect(claimed.map(\.id) == [first.id] && claimed[0].status == .sending && claimed[0].attempts == 1)
            #expect(try await store.outbox.claim(f.admin, now: now).isEmpty)
            let sent = try await store.outbox.markSent(f.admin, first.id, at: now)
            #expect(sent.status == .sent && sent.sentAt == now)
            await #expect(throws: StoreError.self) { _ = try await store.outbox.markSent(f.admin, first.id) }

            // Completing the timepoint cancels its queued reminder at once.
            _ = try await store.questionnaires.submit(coordinator, episodeID: f.episodeA.id, instrumentID: "nrs-pain", answers: ["pain": 1],
                                                      timepointID: month3.id)
            #expect(try await store.outbox.list(f.admin, status: .cancelled).items.map(\.id) == [reminder.id])
            #expect(try await store.outbox.claim(f.admin, now: now.addingTimeInterval(4 * 86_400)).isEmpty)

            // Nothing is sent after the window closes: a message past its notAfter is cancelled, not claimed.
            #expect(try await store.outbox.claim(f.admin, now: inv6.invitation.expiresAt.addingTimeInterval(1)).isEmpty)
            #expect(try await store.outbox.list(f.admin, status: .cancelled).items.map(\.id).contains(later.id))

            // A failed attempt goes back to the queue for a retry.
            let inv6b = try await store.invitations.create(coordinator, timepointID: month6.id, channel: .email, now: now)
            let retry = try await store.outbox.enqueue(coordinator, message(inv6b, "invitation", at: now))
            _ = try await store.outbox.claim(f.admin, now: now)
            let failed = try await store.outbox.markFailed(f.admin, retry.id, error: "SMTP 451", retryAt: now.addingTimeInterval(3600))
            #expect(failed.status == .queued && failed.lastError == "SMTP 451")
            #expect(try await store.outbox.claim(f.admin, now: now.addingTimeInterval(3600)).map(\.attempts) == [2])
        }
    }

    // MARK: Outcomes

    @Test(arguments: Engine.available)
    func outcomeEventsAreCheckedAgainstTheEpisodeTimeline(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            _ = try await store.procedures.create(clinician, NewProcedure(episodeID: f.episodeA.id, record: kneeProcedure(on: "2026-03-10")))
            await #expect(throws: StoreError.conflictingField(field: "date", message: "2026-03-01 is before the first IO procedure on 2026-03-10")) {
                _ = try await store.outcomes.create(clinician, episodeID: f.episodeA.id, .repeatIO(date: date("2026-03-01")))
            }
            await #expect(throws: StoreError.invalid(field: "description", message: "must not be empty")) {
                _ = try await store.outcomes.create(clinician, episodeID: f.episodeA.id, .adverseEvent(description: " ", severity: .mild, date: date("2026-03-11")))
            }
            let tka = try await store.outcomes.create(clinician, episodeID: f.episodeA.id, .jointReplacement(kind: .tka, date: date("2027-05-02")))
            #expect(tka.event == .jointReplacement(kind: .tka, date: date("2027-05-02")) && tka.kind == .jointReplacement)
            let ae = try await store.outcomes.create(clinician, episodeID: f.episodeA.id,
                                                     .adverseEvent(description: "post-injection pain", severity: .moderate, date: date("2026-03-12")))
            #expect(try await store.outcomes.get(clinician, ae.id).event == .adverseEvent(description: "post-injection pain", severity: .moderate,
                                                                                          date: date("2026-03-12")))
            _ = try await store.outcomes.create(clinician, episodeID: f.episodeA.id, .death(date: date("2028-01-01")))
            await #expect(throws: StoreError.conflict("a death is already recorded for episode \(f.episodeA.id.lowerString)")) {
                _ = try await store.outcomes.create(clinician, episodeID: f.episodeA.id, .death(date: date("2028-01-02")))
            }
            await #expect(throws: StoreError.conflictingField(field: "date", message: "2028-02-01 is after death on 2028-01-01")) {
                _ = try await store.outcomes.create(clinician, episodeID: f.episodeA.id, .lostToFollowUp(lastContact: date("2028-02-01")))
            }
            #expect(try await store.outcomes.list(clinician).items.map(\.kind) == [.adverseEvent, .jointReplacement, .death])
            #expect(try await store.outcomes.list(clinician, OutcomeFilter(kind: .jointReplacement)).items.map(\.id) == [tka.id])
            #expect(try await store.outcomes.list(clinician, OutcomeFilter(occurred: DateRange(from: date("2027-01-01"), to: date("2027-12-31")))).items.map(\.id) == [tka.id])
            // A range that ends before it starts holds no day: nothing matches (it is not an error).
            #expect(try await store.outcomes.list(clinician, OutcomeFilter(occurred: DateRange(from: date("2027-12-31"), to: date("2027-01-01")))).total == 0)
        }
    }
}

/// Stored instants come back at the engine's precision (microseconds); compare records without them.
protocol HasCreatedAt { var createdAt: Date? { get set } }
extension HasCreatedAt {
    var withoutCreatedAt: Self { var copy = self; copy.createdAt = nil; return copy }
}
extension ScreeningDecisionRecord: HasCreatedAt {}
extension ImagingStudyRecord: HasCreatedAt {}
extension StoredProcedure: HasCreatedAt {}
