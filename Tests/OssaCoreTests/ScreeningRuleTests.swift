import Foundation
import Testing
@testable import OssaCore

/// One case per default rule: `fire` builds an input on which the rule fires, `near` one just on
/// the other side of its threshold, on which it must not fire. Values come from the published trial criteria and
/// the Ossa pathway rules (see the ruleset's evidence), typed here, not read from the ruleset.
struct RuleCase: Sendable, CustomTestStringConvertible {
    let rule: String
    let label: String
    let fire: @Sendable (inout ScreeningInput) -> Void
    let near: @Sendable (inout ScreeningInput) -> Void
    var testDescription: String { "\(rule) (\(label))" }
}

private func setBML(_ input: inout ScreeningInput, _ findings: [BMLFinding]) {
    input.mri?.bml = findings
}

let ruleCases: [RuleCase] = [
    RuleCase(rule: "bml-concordant", label: "BML grade 1 vs 0",
             fire: { setBML(&$0, [BMLFinding(subregion: .tibiaCentralMedial, size: .small)]) },
             near: { setBML(&$0, [BMLFinding(subregion: .tibiaCentralMedial, size: .none)]) }),
    RuleCase(rule: "oa-severe-with-bml", label: "KL 3 vs KL 2",
             fire: { $0.diagnosis = .osteoarthritis(OAGrading(kellgrenLawrence: .grade3)) },
             near: { $0.diagnosis = .osteoarthritis(OAGrading(kellgrenLawrence: .grade2)) }),
    RuleCase(rule: "oa-severe-with-bml", label: "Ahlbäck III vs II",
             fire: { $0.diagnosis = .osteoarthritis(OAGrading(ahlback: .III)) },
             near: { $0.diagnosis = .osteoarthritis(OAGrading(ahlback: .II)) }),
    RuleCase(rule: "oa-severe-with-bml", label: "hip Tönnis 2 vs 1",
             fire: { ScreeningFixtures.makeHip(&$0); $0.diagnosis = .osteoarthritis(OAGrading(tonnis: .grade2)) },
             near: { ScreeningFixtures.makeHip(&$0); $0.diagnosis = .osteoarthritis(OAGrading(tonnis: .grade1)) }),
    RuleCase(rule: "bone-lesion-diagnosis-with-bml", label: "SIFK with vs without BML",
             fire: { $0.diagnosis = .insufficiencyFracture(koshino: nil) },
             near: { $0.diagnosis = .insufficiencyFracture(koshino: nil); setBML(&$0, []) }),
    RuleCase(rule: "avn-precollapse", label: "ARCO II vs IIIA",
             fire: { $0.diagnosis = .avascularNecrosis(.arco(.II)) },
             near: { $0.diagnosis = .avascularNecrosis(.arco(.IIIA)) }),
    RuleCase(rule: "avn-precollapse", label: "Koshino 2 vs 3",
             fire: { $0.diagnosis = .avascularNecrosis(.koshino(.stage2)) },
             near: { $0.diagnosis = .avascularNecrosis(.koshino(.stage3)) }),
    RuleCase(rule: "avn-early-collapse", label: "ARCO IIIA vs II",
             fire: { $0.diagnosis = .avascularNecrosis(.arco(.IIIA)) },
             near: { $0.diagnosis = .avascularNecrosis(.arco(.II)) }),
    RuleCase(rule: "avn-collapsed", label: "ARCO IIIB vs IIIA",
             fire: { $0.diagnosis = .avascularNecrosis(.arco(.IIIB)) },
             near: { $0.diagnosis = .avascularNecrosis(.arco(.IIIA)) }),
    RuleCase(rule: "avn-collapsed", label: "Koshino 3 vs 2",
             fire: { $0.diagnosis = .avascularNecrosis(.koshino(.stage3)) },
             near: { $0.diagnosis = .avascularNecrosis(.koshino(.stage2)) }),
    RuleCase(rule: "focal-cartilage-lesion", label: "one lesion vs none",
             fire: { $0.mri?.focalCartilageLesions = [FocalCartilageLesion(areaCm2: 1.5, depth: .fullThickness)] },
             near: { $0.mri?.focalCartilageLesions = [] }),
    RuleCase(rule: "mri-not-recent", label: "MRI exactly 6 months old vs 1 day younger",
             fire: { $0.mri?.date = day("2025-09-02") },
             near: { $0.mri?.date = day("2025-09-03") }),
    RuleCase(rule: "mri-not-recent", label: "no MRI vs recent MRI",
             fire: { $0.mri = nil },
             near: { _ in }),
    RuleCase(rule: "no-bml-on-recent-mri", label: "grade 0 everywhere vs grade 1",
             fire: { setBML(&$0, []) },
             near: { setBML(&$0, [BMLFinding(subregion: .patellaMedial, size: .small)]) }),
    RuleCase(rule: "pain-discordant", label: "discordant vs partial",
             fire: { $0.painConcordance = .discordant },
             near: { $0.painConcordance = .partial }),
    RuleCase(rule: "pain-concordance-not-assessed", label: "not recorded vs concordant",
             fire: { $0.painConcordance = nil },
             near: { $0.painConcordance = .concordant }),
    RuleCase(rule: "nsaid-washout", label: "14 vs 15 days since last NSAID",
             fire: { $0.medications?.nsaidLastDose = day("2026-02-16") },
             near: { $0.medications?.nsaidLastDose = day("2026-02-15") }),
    RuleCase(rule: "nsaid-current", label: "current without vs with last-dose date",
             fire: { $0.medications?.nsaidCurrent = true; $0.medications?.nsaidLastDose = nil },
             near: { $0.medications?.nsaidCurrent = true }),
    RuleCase(rule: "ia-steroid-washout", label: "3 months less a day vs 3 months",
             fire: { $0.medications?.iaSteroidLastDate = day("2025-12-03") },
             near: { $0.medications?.iaSteroidLastDate = day("2025-12-02") }),
    RuleCase(rule: "ia-steroid-pilot-window", label: "3 months vs 6 months",
             fire: { $0.medications?.iaSteroidLastDate = day("2025-12-02") },
             near: { $0.medications?.iaSteroidLastDate = day("2025-09-02") }),
    RuleCase(rule: "systemic-steroid-washout", label: "3 months less a day vs 3 months",
             fire: { $0.medications?.systemicSteroidLastDose = day("2025-12-03") },
             near: { $0.medications?.systemicSteroidLastDose = day("2025-12-02") }),
    RuleCase(rule: "ia-hyaluronic-acid-washout", label: "6 months less a day vs 6 months",
             fire: { $0.medications?.iaHyaluronicAcidLastDate = day("2025-09-03") },
             near: { $0.medications?.iaHyaluronicAcidLastDate = day("2025-09-02") }),
    RuleCase(rule: "anticoagulant", label: "yes vs no",
             fire: { $0.medications?.anticoagulant = true }, near: { $0.medications?.anticoagulant = false }),
    RuleCase(rule: "antiplatelet", label: "yes vs no",
             fire: { $0.medications?.antiplatelet = true }, near: { $0.medications?.antiplatelet = false }),
    RuleCase(rule: "immunosuppressant", label: "yes vs no",
             fire: { $0.medications?.immunosuppressant = true }, near: { $0.medications?.immunosuppressant = false }),
    RuleCase(rule: "platelets-low", label: "149 vs 150 ×10⁹/L",
             fire: { $0.labs?.platelets = 149 }, near: { $0.labs?.platelets = 150 }),
    RuleCase(rule: "haemoglobin-low", label: "9.9 vs 10 g/dL",
             fire: { $0.labs?.haemoglobin = 9.9 }, near: { $0.labs?.haemoglobin = 10 }),
    RuleCase(rule: "haemoglobin-below-hip-trial", label: "hip Hb 11 vs 11.1 g/dL",
             fire: { ScreeningFixtures.makeHip(&$0); $0.labs?.haemoglobin = 11 },
             near: { ScreeningFixtures.makeHip(&$0); $0.labs?.haemoglobin = 11.1 }),
    RuleCase(rule: "labs-missing", label: "no platelets vs platelets",
             fire: { $0.labs?.platelets = nil }, near: { _ in }),
    RuleCase(rule: "hba1c-uncontrolled", label: "9.1 vs 9.0 %",
             fire: { $0.labs?.hba1c = 9.1 }, near: { $0.labs?.hba1c = 9.0 }),
    RuleCase(rule: "hba1c-above-7", label: "7.1 vs 7.0 %",
             fire: { $0.labs?.hba1c = 7.1 }, near: { $0.labs?.hba1c = 7.0 }),
    RuleCase(rule: "hba1c-missing-diabetic", label: "diabetic without vs with HbA1c",
             fire: { $0.comorbidities = [.diabetes]; $0.labs?.hba1c = nil },
             near: { $0.comorbidities = [.diabetes] }),
    RuleCase(rule: "bmi-over-35", label: "35.1 vs 35.0",
             fire: { $0.bmi = 35.1 }, near: { $0.bmi = 35.0 }),
    RuleCase(rule: "bmi-over-33", label: "33.1 vs 33.0",
             fire: { $0.bmi = 33.1 }, near: { $0.bmi = 33.0 }),
    RuleCase(rule: "infection-active", label: "skin infection vs none",
             fire: { $0.infection?.localSkin = true }, near: { $0.infection?.localSkin = false }),
    RuleCase(rule: "malignancy-bone-or-haematological", label: "haematological vs past solid",
             fire: { $0.malignancy = .haematological }, near: { $0.malignancy = .solidHistory }),
    RuleCase(rule: "malignancy-solid-active", label: "active vs past solid",
             fire: { $0.malignancy = .solidActive }, near: { $0.malignancy = .solidHistory }),
    RuleCase(rule: "mri-suspected-tumour-or-infection", label: "suspected vs not",
             fire: { $0.mri?.suspectedTumourOrInfection = true }, near: { $0.mri?.suspectedTumourOrInfection = false }),
    RuleCase(rule: "pregnancy", label: "yes vs no",
             fire: { $0.pregnantOrBreastfeeding = true }, near: { $0.pregnantOrBreastfeeding = false }),
    RuleCase(rule: "bleeding-disorder", label: "bleeding disorder vs cardiovascular",
             fire: { $0.comorbidities = [.bleedingDisorder] }, near: { $0.comorbidities = [.cardiovascular] }),
    RuleCase(rule: "inflammatory-arthritis", label: "autoimmune vs osteoporosis",
             fire: { $0.comorbidities = [.autoimmuneDisease] }, near: { $0.comorbidities = [.osteoporosis] }),
    RuleCase(rule: "polyarticular-disease", label: "polyarticular vs osteoporosis",
             fire: { $0.comorbidities = [.polyarticularDisease] }, near: { $0.comorbidities = [.osteoporosis] }),
    RuleCase(rule: "conservative-care-not-tried", label: "only NSAIDs vs weight loss",
             fire: { $0.treatmentsTried = [TreatmentTried(treatment: .nsaid)] },
             near: { $0.treatmentsTried = [TreatmentTried(treatment: .weightLoss)] }),
    RuleCase(rule: "age-outside-40-85", label: "39 vs 40",
             fire: { $0.age = 39 }, near: { $0.age = 40 }),
    RuleCase(rule: "age-outside-40-85", label: "86 vs 85",
             fire: { $0.age = 86 }, near: { $0.age = 85 }),
    RuleCase(rule: "arthroscopy-within-12-months", label: "12 months less a day vs 12 months",
             fire: { $0.lastArthroscopyDate = day("2025-03-03") }, near: { $0.lastArthroscopyDate = day("2025-03-02") }),
    RuleCase(rule: "knee-deformity", label: "varus 5° vs 4°",
             fire: { $0.alignment = Alignment(varusDegrees: 5) }, near: { $0.alignment = Alignment(varusDegrees: 4) }),
    RuleCase(rule: "knee-deformity", label: "valgus 17° vs 16°",
             fire: { $0.alignment = Alignment(valgusDegrees: 17) }, near: { $0.alignment = Alignment(valgusDegrees: 16) }),
    RuleCase(rule: "pain-low", label: "NRS 2.5 vs 2.6",
             fire: { $0.painNRS = 2.5 }, near: { $0.painNRS = 2.6 }),
    RuleCase(rule: "bone-bruise-early", label: "2 vs 3 whole months after injury",
             fire: { $0.diagnosis = .boneBruise(injuryDate: day("2025-12-03"), monthsSinceInjury: nil) },
             near: { $0.diagnosis = .boneBruise(injuryDate: day("2025-12-02"), monthsSinceInjury: nil) }),
    RuleCase(rule: "oa-minimal", label: "KL 1 vs KL 2",
             fire: { $0.diagnosis = .osteoarthritis(OAGrading(kellgrenLawrence: .grade1)) },
             near: { $0.diagnosis = .osteoarthritis(OAGrading(kellgrenLawrence: .grade2)) }),
    RuleCase(rule: "wishes-to-avoid-replacement", label: "yes vs no",
             fire: { $0.wishesToAvoidReplacement = true }, near: { $0.wishesToAvoidReplacement = false }),
    RuleCase(rule: "not-a-surgical-candidate", label: "not a candidate vs candidate",
             fire: { $0.surgicalCandidacy = SurgicalCandidacy(candidate: false, reasonNot: "cardiac risk") },
             near: { $0.surgicalCandidacy = SurgicalCandidacy(candidate: true) }),
]

@Suite("Screening default rules")
struct ScreeningRuleTests {
    @Test("rule fires on its input and not just across its threshold", arguments: ruleCases)
    func ruleThreshold(_ c: RuleCase) throws {
        var firing = ScreeningFixtures.recommendedKnee
        c.fire(&firing)
        var near = ScreeningFixtures.recommendedKnee
        c.near(&near)
        #expect(try ScreeningFixtures.firedIds(firing).contains(c.rule), "should fire: \(c.label)")
        #expect(try !ScreeningFixtures.firedIds(near).contains(c.rule), "should not fire: \(c.label)")
    }

    @Test("every rule in the default ruleset has a threshold case")
    func everyRuleCovered() throws {
        let ids = Set(ScreeningFixtures.engine.ruleset.rules.map(\.id))
        let covered = Set(ruleCases.map(\.rule))
        #expect(ids.subtracting(covered).isEmpty, "rules without a test: \(ids.subtracting(covered).sorted())")
        #expect(covered.subtracting(ids).isEmpty, "tests for missing rules: \(covered.subtracting(ids).sorted())")
    }

    @Test("the recommended fixture fires only inclusion and note rules")
    func fixtureIsClean() throws {
        let decision = try ScreeningFixtures.engine.evaluate(ScreeningFixtures.recommendedKnee)
        #expect(decision.category == .recommended)
        #expect(decision.firedRules.allSatisfy { $0.effect == .include || $0.effect == .note })
        #expect(decision.firedRules.map(\.id).contains("bml-concordant"))
        #expect(decision.firedRules.map(\.id).contains("oa-severe-with-bml"))
    }

    @Test("each rule's effect on the category, from the trial criteria and the Ossa pathway")
    func effectsMatchSpecification() throws {
        let expected: [String: RuleEffect] = [
            "focal-cartilage-lesion": .refer, "avn-collapsed": .refer, "mri-not-recent": .notNow,
            "nsaid-washout": .notNow, "ia-steroid-washout": .notNow, "ia-hyaluronic-acid-washout": .notNow,
            "anticoagulant": .consider, "platelets-low": .notNow, "haemoglobin-low": .notNow,
            "hba1c-uncontrolled": .notNow, "hba1c-above-7": .consider, "bmi-over-35": .consider,
            "infection-active": .notNow, "malignancy-bone-or-haematological": .refer, "pregnancy": .notNow,
            "pain-discordant": .consider, "conservative-care-not-tried": .consider, "age-outside-40-85": .consider,
            "bml-concordant": .include, "oa-severe-with-bml": .include,
        ]
        let rules = Dictionary(uniqueKeysWithValues: ScreeningFixtures.engine.ruleset.rules.map { ($0.id, $0) })
        for (id, effect) in expected {
            #expect(rules[id]?.effect == effect, "\(id)")
            #expect(!(rules[id]?.evidence.isEmpty ?? true), "\(id) has evidence")
        }
    }

    @Test("shipped clinical data cites primary sources, not the team's internal notes")
    func shippedDataCitesPrimarySources() throws {
        var paths: [String] = []
        // (The demo calibration lives in OssaDemo; its own tests check it the same way.)
        for directory in ["rulesets", "instruments", "responders", "protocols"] {
            paths += try BundledResource.files(in: directory).filter { $0.hasSuffix(".json") }.map { "\(directory)/\($0)" }
        }
        for required in ["rulesets/default.json", "protocols/default.json",
                         "responders/thresholds.json", "responders/omeract-oarsi-2004.json", "instruments/koos.json"] {
            #expect(paths.contains(required), "\(required) is bundled")
        }
        for path in paths {
            let data = try BundledResource.data(path)
            let text = try #require(String(data: data, encoding: .utf8), "\(path) is UTF-8")
            for document in ["clinical.md", "PRODUCT.md", "registry-anchors"] {
                #expect(!text.contains(document), "\(path) points to \(document)")
            }
        }
        let ruleset = try Ruleset.bundledDefault()
        #expect(!ruleset.evidence.isEmpty)
        for source in ruleset.evidence {
            #expect(!source.citation.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(source.id) has a citation")
        }
    }
}
