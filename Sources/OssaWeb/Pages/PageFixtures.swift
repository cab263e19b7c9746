import Foundation
import OssaCore
import OssaStore

/// One made-up patient's whole pathway, built with the real screening engine, protocol and instruments, for the page
/// catalog (`PageRenderTests`) and the full-page snapshots. Fixed ids and dates, so the pages render the same bytes.
enum PageFixtures {
    static func id(_ n: Int) -> UUID { UUID(uuidString: String(format: "00000000-0000-4000-8000-%012d", n))! }

    static let today = try! CalendarDate(year: 2026, month: 9, day: 15)
    static let clinicianID = id(900)
    static let viewer = ReadModels.Viewer(displayName: "Dr Sample", role: .clinician)
    static let site = SiteRecord(id: id(1), code: "VIE-1", name: "Vienna")
    static let patient = PatientRecord(id: id(2), siteID: id(1), mrn: "A-1001", familyName: "Müller", givenName: "Anna",
                                       birthDate: try! CalendarDate(year: 1961, month: 4, day: 3), sex: .female, email: "anna@example.org")
    static let episode = EpisodeRecord(id: id(3), patientID: id(2), siteID: id(1), joint: .knee, side: .right,
                                       diagnosis: .osteoarthritis(OAGrading(kellgrenLawrence: .grade3)), status: .open,
                                       createdAt: Date(timeIntervalSince1970: 1_767_225_600))

    static let baselineMRI = MRIStudy(date: try! CalendarDate(year: 2026, month: 1, day: 20), bml: [
        BMLFinding(subregion: .tibiaCentralMedial, size: .medium, bmlPercent: .over66, count: 1),
        BMLFinding(subregion: .femurCentralMedial, size: .large, bmlPercent: .over66, count: 2),
        BMLFinding(subregion: .subspinous, size: .small, bmlPercent: .over66, count: 1),
    ])
    static let followUpMRI = MRIStudy(date: try! CalendarDate(year: 2026, month: 8, day: 20), bml: [
        BMLFinding(subregion: .tibiaCentralMedial, size: .small, bmlPercent: .over66, count: 1),
        BMLFinding(subregion: .femurCentralMedial, size: .medium, bmlPercent: .over66, count: 1),
        BMLFinding(subregion: .tibiaPosteriorMedial, size: .small, bmlPercent: .over66, count: 1),
    ])

    static var input: ScreeningInput {
        ScreeningInput(evaluationDate: try! CalendarDate(year: 2026, month: 2, day: 2), joint: .knee, side: .right,
                       diagnosis: episode.diagnosis, mri: baselineMRI, painConcordance: .concordant, painNRS: 7,
                       treatmentsTried: [TreatmentTried(treatment: .physiotherapy, durationWeeks: 12, response: .failed)],
                       wishesToAvoidReplacement: true, surgicalCandidacy: SurgicalCandidacy(candidate: false, reasonNot: "declines surgery"),
                       age: 64, heightCm: 168, weightKg: 74)
    }

    static var decision: ScreeningDecisionRecord {
        let decision = try! ScreeningEngine.withDefaultRuleset().evaluate(input)
        return ScreeningDecisionRecord(id: id(10), episodeID: episode.id, siteID: site.id, rulesetID: decision.ruleset.id,
                                       rulesetVersion: decision.ruleset.version, category: decision.category, excluded: decision.excluded,
                                       evaluationDate: decision.evaluationDate, decision: decision, decidedBy: clinicianID,
                                       signedBy: clinicianID, signedAt: Date(timeIntervalSince1970: 1_770_000_000))
    }

    static var studies: [ImagingStudyRecord] {
        [ImagingStudyRecord(id: id(20), episodeID: episode.id, siteID: site.id, timing: .baseline, modality: .mri, date: baselineMRI.date, mri: baselineMRI),
         ImagingStudyRecord(id: id(21), episodeID: episode.id, siteID: site.id, timing: .baseline, modality: .xray,
                            date: try! CalendarDate(year: 2026, month: 1, day: 10), xray: XRayGrades(kellgrenLawrence: .grade3, ahlback: .II)),
         ImagingStudyRecord(id: id(22), episodeID: episode.id, siteID: site.id, timing: .followUp, modality: .mri, date: followUpMRI.date, mri: followUpMRI)]
    }

    static let procedureDate = try! CalendarDate(year: 2026, month: 2, day: 16)

    static var procedure: StoredProcedure {
        StoredProcedure(id: id(30), episodeID: episode.id, siteID: site.id, kind: .io, record: ProcedureRecord(
            date: procedureDate, setting: .office, anaesthesia: .localWithNitrous, guidance: [.fluoroscopy], fluoroscopySeconds: 42,
            doseAreaProduct: 310, prp: PRPDetails(system: "Sample PRP kit", bloodDrawnMl: 60, finalVolumeMl: 20, plateletConcentration: 900,
                                                  foldOverWholeBlood: 4.2, leukocytes: .poor, activation: PRPActivation.none),
            injections: [Injection(target: .bone(.medialTibialPlateau, subregion: .tibiaCentralMedial), product: .prp, approach: "medial", gauge: 11, volumeMl: 5),
                         Injection(target: .bone(.medialFemoralCondyle, subregion: .femurCentralMedial), product: .prp, approach: "medial", gauge: 11, volumeMl: 5),
                         Injection(target: .intraArticular, product: .prp, gauge: 21, volumeMl: 8)],
            dischargeInstructions: "Bear weight as tolerated. Expect discomfort for 2–3 days.", operator_: "Dr Sample"),
            operatorID: clinicianID, signedBy: clinicianID, signedAt: Date(timeIntervalSince1970: 1_771_300_000))
    }

    static var timepoints: [TimepointRecord] {
        let schedule = try! FollowUpProtocol.bundledDefault().schedule(indexDate: procedureDate, joint: .knee)
        return schedule.timepoints.enumerated().map { n, t in
            let status: TimepointStatus = t.id == "baseline" || t.id == "month-6" ? .completed
                : t.id == "week-6" ? .missed : t.windowClose < today ? .completed : .pending
            return TimepointRecord(id: id(100 + n), episodeID: episode.id, siteID: site.id, code: t.id, protocolID: schedule.protocolId,
                                   dueDate: t.targetDate, windowStart: t.windowOpen, windowEnd: t.windowClose, status: status,
                                   statusReason: t.id == "week-6" ? "Three calls unanswered" : nil)
        }
    }

    /// KOOS at baseline and 6 months, scored by the real scoring code.
    static var responses: [QuestionnaireResponseRecord] {
        let library = try! InstrumentLibrary.builtIn()
        let koos = library.instrument(id: "koos")!
        let tps = timepoints
        func response(_ n: Int, code: String, answer: Int, at day: CalendarDate) -> QuestionnaireResponseRecord {
            var answers: [String: Int?] = [:]
            for item in koos.items where item.itemType == .choice { answers[item.code] = answer }
            let result = try! koos.score(answers)
            return QuestionnaireResponseRecord(
                id: id(200 + n), episodeID: episode.id, siteID: site.id, timepointID: tps.first { $0.code == code }?.id, instrumentID: "koos",
                instrumentVersion: koos.scoring.version, answers: answers, scores: result.scores.map { ResponseScore(id: $0.id, value: $0.value) },
                scoringVersion: koos.scoring.version, source: n == 0 ? .staff : .patientLink,
                completedAt: Date(timeIntervalSince1970: Double(day.dayNumber) * 86_400 + 36_000), createdAt: nil)
        }
        return [response(0, code: "baseline", answer: 3, at: procedureDate.adding(days: -3)),
                response(1, code: "month-6", answer: 1, at: procedureDate.adding(months: 6))]
    }

    static var episodeView: ReadModels.EpisodePage {
        ReadModels.EpisodePage(viewer: viewer, episode: episode, patient: patient, site: site,
                               otherEpisodes: [EpisodeRecord(id: id(4), patientID: patient.id, siteID: site.id, joint: .knee, side: .left,
                                                             diagnosis: .boneMarrowLesion, status: .open)],
                               screeningDecisions: [decision], imagingStudies: studies, procedures: [procedure], timepoints: timepoints,
                               responses: responses,
                               outcomeEvents: [OutcomeEventRecord(id: id(40), episodeID: episode.id, siteID: site.id,
                                                                  event: .adverseEvent(description: "Bruising at the entry site", severity: .mild,
                                                                                       date: procedureDate.adding(days: 2)))],
                               userNames: [clinicianID: "Dr Sample"], plan: plan, adjuncts: adjuncts,
                               addenda: [id(30): [ProcedureAddendum(id: id(50), procedureID: id(30), text: "The femoral injection was 4 ml, not 5 ml.",
                                                                     reason: "Volume misread from the syringe", authorID: clinicianID,
                                                                     createdAt: Date(timeIntervalSince1970: 1_771_400_000))]])
    }

    static var plan: StoredPlan {
        StoredPlan(id: id(60), episodeID: episode.id, siteID: site.id, decisionID: id(10), plan: InjectionPlan(
            plannedDate: procedureDate, setting: .office, anaesthesia: .localWithNitrous, injections: [
                PlannedInjection(target: .bone(.medialTibialPlateau, subregion: .tibiaCentralMedial), product: .prp, approach: "medial", minVolumeMl: 5, maxVolumeMl: 10),
                PlannedInjection(target: .bone(.medialFemoralCondyle, subregion: .femurCentralMedial), product: .prp, approach: "medial", minVolumeMl: 5, maxVolumeMl: 10),
                PlannedInjection(target: .intraArticular, product: .prp, minVolumeMl: 3, maxVolumeMl: 8),
            ], notes: "Fluoroscopy in two planes before each injection."), updatedBy: clinicianID, updatedAt: Date(timeIntervalSince1970: 1_770_100_000))
    }

    static var adjuncts: [StoredAdjunct] {
        [StoredAdjunct(id: id(70), episodeID: episode.id, siteID: site.id, session: .shockwave(ShockwaveCourse(
            device: .focusedElectromagnetic, energyFluxDensity: 0.25, pulsesPerSession: 2000, frequencyHz: 4,
            sessionDates: [procedureDate.adding(days: 21), procedureDate.adding(days: 28), procedureDate.adding(days: 35)])),
                       createdBy: clinicianID, createdAt: nil)]
    }

    /// The same episode at its start: nothing recorded yet.
    static var emptyEpisodeView: ReadModels.EpisodePage {
        ReadModels.EpisodePage(viewer: viewer, episode: episode, patient: patient, site: site, otherEpisodes: [], screeningDecisions: [],
                               imagingStudies: [], procedures: [], timepoints: [], responses: [], outcomeEvents: [], userNames: [:])
    }

    static var worklist: Worklist {
        let item = Worklist.Item(recordID: id(10), episodeID: episode.id, patientName: "Müller, Anna", episode: episode,
                                 date: try! CalendarDate(year: 2026, month: 9, day: 1), detail: "recommended")
        var timepoint = item
        timepoint.detail = "month-6"
        return Worklist(viewer: viewer, today: today, decisionsAwaitingSignature: .init(total: 12, items: [item]),
                        proceduresAwaitingSignature: .init(total: 0, items: []), questionnairesDue: .init(total: 1, items: [timepoint]),
                        questionnairesOverdue: .init(total: 0, items: []), questionnairesClosed: .init(total: 0, items: []))
    }
}
