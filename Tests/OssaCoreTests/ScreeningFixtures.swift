import Foundation
@testable import OssaCore

/// Parses a date literal typed in a test (crashes the test on a typo, which is what we want).
func day(_ iso: String) -> CalendarDate {
    do { return try CalendarDate(iso: iso) } catch { fatalError("bad test date \(iso): \(error)") }
}

enum ScreeningFixtures {
    static let evaluation = day("2026-03-02")

    /// A knee that the default ruleset should recommend: OA KL 3 / Ahlbäck III, medial BML where it
    /// hurts, conservative care failed, normal labs, no washouts pending. Only include/note rules fire.
    static var recommendedKnee: ScreeningInput {
        ScreeningInput(
            evaluationDate: evaluation, joint: .knee, side: .left,
            diagnosis: .osteoarthritis(OAGrading(kellgrenLawrence: .grade3, ahlback: .III)),
            mri: MRIStudy(date: day("2026-02-10"), bml: [
                BMLFinding(subregion: .tibiaCentralMedial, size: .medium, bmlPercent: .over66, count: 1),
                BMLFinding(subregion: .femurCentralMedial, size: .small, bmlPercent: .over66, count: 1),
            ]),
            painConcordance: .concordant, painNRS: 7,
            treatmentsTried: [TreatmentTried(treatment: .physiotherapy, durationWeeks: 12, response: .failed)],
            wishesToAvoidReplacement: true, surgicalCandidacy: SurgicalCandidacy(candidate: false, reasonNot: "wishes to postpone"),
            age: 62, activity: ActivityLevel(tegner: 3), heightCm: 172, weightKg: 80,
            comorbidities: [], medications: Medications(anticoagulant: false, nsaidLastDose: day("2026-02-01")),
            labs: Labs(platelets: 245, haemoglobin: 13.9, hba1c: 5.6),
            infection: InfectionStatus(systemic: false, localSkin: false), malignancy: MalignancyType.none,
            pregnantOrBreastfeeding: false)
    }

    /// Turns the fixture into a hip with OA Tönnis 2 and femoral-head BML.
    static func makeHip(_ input: inout ScreeningInput) {
        input.joint = .hip
        input.diagnosis = .osteoarthritis(OAGrading(kellgrenLawrence: .grade3, tonnis: .grade2))
        input.mri = MRIStudy(date: day("2026-02-10"), bml: [BMLFinding(subregion: .femoralHeadSuperior, size: .medium, count: 1)])
    }

    static let engine: ScreeningEngine = {
        do { return try ScreeningEngine.withDefaultRuleset() } catch { fatalError("default ruleset does not load: \(error)") }
    }()

    static func firedIds(_ input: ScreeningInput) throws -> Set<String> {
        Set(try engine.evaluate(input).firedRules.map(\.id))
    }

    /// Repository root, found from this file through the dev package's symlink.
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
