import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// The repository's `Examples/` folder (resolving the symlinks of the development package).
func examplesDirectory() -> URL {
    URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Examples")
}

/// A screening input from `Examples/screening/NAME.json` (its file name states the expected category).
func exampleScreeningInput(_ name: String) throws -> ScreeningInput {
    let data = try Data(contentsOf: examplesDirectory().appendingPathComponent("screening/\(name).json"))
    return try StrictJSON.decode(ScreeningInput.self, from: data)
}

/// An IO procedure on the medial knee with PRP and BMC and one intra-articular PRP injection.
func kneeProcedure(on day: String = "2026-03-10", operator name: String = "Dr Test") -> ProcedureRecord {
    ProcedureRecord(
        date: date(day), setting: .office, anaesthesia: .localWithNitrous, guidance: [.fluoroscopy], fluoroscopySeconds: 42,
        doseAreaProduct: 120,
        prp: PRPDetails(system: "Test PRP", bloodDrawnMl: 60, finalVolumeMl: 10, plateletConcentration: 1200, foldOverWholeBlood: 5,
                        leukocytes: .poor, activation: PRPActivation.none),
        bmc: BMCDetails(harvestSite: .posteriorIliacCrest, aspirateVolumeMl: 60, concentrateVolumeMl: 6, nucleatedCellsPerMl: 30),
        injections: [
            Injection(target: .bone(.medialTibialPlateau, subregion: .tibiaCentralMedial), product: .prp, approach: "anteromedial",
                      gauge: 11, volumeMl: 5),
            Injection(target: .bone(.medialFemoralCondyle, subregion: .femurCentralMedial), product: .bmc, gauge: 11, volumeMl: 4),
            Injection(target: .intraArticular, product: .prp, gauge: 22, volumeMl: 3),
        ],
        complications: [Complication(description: "vasovagal episode", severity: .mild)],
        dischargeInstructions: "weight bearing as tolerated", operator_: name)
}

/// The hip equivalent (femoral head, BMC).
func hipProcedure(on day: String = "2026-03-10") -> ProcedureRecord {
    ProcedureRecord(date: date(day), setting: .surgeryCentre, anaesthesia: .twilightSedation, guidance: [.fluoroscopy],
                    bmc: BMCDetails(harvestSite: .posteriorIliacCrest, aspirateVolumeMl: 60, concentrateVolumeMl: 8),
                    injections: [Injection(target: .bone(.femoralHead, subregion: .femoralHeadSuperior), product: .bmc, gauge: 11, volumeMl: 6)],
                    operator_: "Dr Hip")
}

/// A KOOS with every answer given: symptoms S1–S7, pain P1–P9, ADL A1–A17, sport SP1–SP5, QoL Q1–Q4.
func koosAnswers(symptoms: Int, pain: Int, adl: Int, sport: Int, qol: Int) -> [String: Int?] {
    var answers: [String: Int?] = [:]
    for i in 1...7 { answers["S\(i)"] = symptoms }
    for i in 1...9 { answers["P\(i)"] = pain }
    for i in 1...17 { answers["A\(i)"] = adl }
    for i in 1...5 { answers["SP\(i)"] = sport }
    for i in 1...4 { answers["Q\(i)"] = qol }
    return answers
}

/// `Fixture` plus one record of every clinical kind at each site (A for the patient login's own episode).
struct ClinicalFixture: Sendable {
    let base: Fixture
    var store: OssaStore { base.store }
    /// Per site (A, B): a screening decision, an MRI study, an IO procedure, the follow-up schedule, a KOOS at
    /// baseline and an adverse event.
    let screening: [UUID]
    let imaging: [UUID]
    let procedures: [UUID]
    let timepoints: [[TimepointRecord]]
    let responses: [UUID]
    let outcomes: [UUID]
    /// Further episodes (A2 for patient A2 at site A, B2 for patient B) with no records, for creating schedules.
    let spareEpisodes: [EpisodeRecord]

    static func make(_ store: OssaStore) async throws -> ClinicalFixture {
        let f = try await Fixture.make(store)
        let s = f.seeder
        let knee = try exampleScreeningInput("knee-bml-recommended")
        let hip = try exampleScreeningInput("hip-avn-collapse-refer")
        let screenA = try await store.screening.evaluate(s, episodeID: f.episodeA.id, knee)
        let screenB = try await store.screening.evaluate(s, episodeID: f.episodeB.id, hip)
        let mriA = try await store.imaging.create(s, NewImagingStudy(episodeID: f.episodeA.id, timing: .baseline, mri: knee.mri!))
        let mriB = try await store.imaging.create(s, NewImagingStudy(episodeID: f.episodeB.id, timing: .baseline, mri: hip.mri!))
        let procA = try await store.procedures.create(s, NewProcedure(episodeID: f.episodeA.id, record: kneeProcedure()))
        let procB = try await store.procedures.create(s, NewProcedure(episodeID: f.episodeB.id, record: hipProcedure()))
        let tpA = try await store.timepoints.generate(s, episodeID: f.episodeA.id, indexDate: date("2026-03-10"))
        let tpB = try await store.timepoints.generate(s, episodeID: f.episodeB.id, indexDate: date("2026-03-10"))
        let koos = koosAnswers(symptoms: 1, pain: 2, adl: 1, sport: 3, qol: 2)
        let respA = try await store.questionnaires.submit(s, episodeID: f.episodeA.id, instrumentID: "koos", answers: koos,
                                                          timepointID: tpA.first { $0.code == "baseline" }?.id)
        var hoos: [String: Int?] = [:]
        for i in 1...10 { hoos["P\(i)"] = 2 }
        let respB = try await store.questionnaires.submit(s, episodeID: f.episodeB.id, instrumentID: "hoos", answers: hoos)
        let outA = try await store.outcomes.create(s, episodeID: f.episodeA.id, .adverseEvent(description: "pain flare", severity: .mild,
                                                                                              date: date("2026-03-12")))
        let outB = try await store.outcomes.create(s, episodeID: f.episodeB.id, .adverseEvent(description: "bruise", severity: .mild,
                                                                                              date: date("2026-03-12")))
        let spareA = try await store.episodes.create(s, NewEpisode(patientID: f.patientA2.id, joint: .knee, side: .right,
                                                                   diagnosis: .boneMarrowLesion))
        let spareB = try await store.episodes.create(s, NewEpisode(patientID: f.patientB.id, joint: .knee, side: .left,
                                                                   diagnosis: .boneMarrowLesion))
        return ClinicalFixture(base: f, screening: [screenA.id, screenB.id], imaging: [mriA.id, mriB.id], procedures: [procA.id, procB.id],
                               timepoints: [tpA, tpB], responses: [respA.id, respB.id], outcomes: [outA.id, outB.id],
                               spareEpisodes: [spareA, spareB])
    }
}

func count(_ table: String, in store: OssaStore) async throws -> Int {
    try await store.database.sql().raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self) ?? -1
}
