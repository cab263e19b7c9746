import Foundation
import Testing
@testable import OssaCore

@Suite("Screening engine")
struct ScreeningEngineTests {
    let engine = ScreeningFixtures.engine

    // MARK: Aggregation (small hand-written rulesets, so the test does not depend on the default rules)

    private func miniRuleset(_ rules: [(id: String, effect: String, param: String)]) throws -> Ruleset {
        let ruleJSON = rules.map { r in
            #"{"id":"\#(r.id)","when":{"param":"\#(r.param)","op":"==","value":true},"effect":"\#(r.effect)","severity":"info","reason":"r","evidence":["e"]}"#
        }.joined(separator: ",")
        let json = #"""
        {"id":"mini","version":"1","title":"t","evidence":[{"id":"e","short":"E","citation":"C"}],
         "rules":[\#(ruleJSON)],
         "planning":{"targetMinimumGrade":1,"includeIntraArticular":false,"volumes":[],"adjuncts":[],"expectations":[],
                     "settings":[{"setting":"office","anaesthesia":"local","reason":"default"}],"suggestFor":["recommended"]}}
        """#
        return try Ruleset.decode(from: Data(json.utf8))
    }

    private func category(_ rules: [(id: String, effect: String, param: String)]) throws -> (ScreeningCategory, Bool) {
        var input = ScreeningFixtures.recommendedKnee
        input.wishesToAvoidReplacement = true    // the param every mini rule tests
        input.pregnantOrBreastfeeding = false    // a param that stays false
        let decision = try ScreeningEngine(ruleset: try miniRuleset(rules)).evaluate(input)
        return (decision.category, decision.excluded)
    }

    @Test("recommended needs an inclusion rule and nothing restricting")
    func aggregation() throws {
        let yes = "wishesToAvoidReplacement", no = "pregnantOrBreastfeeding"
        #expect(try category([("a", "include", yes)]) == (.recommended, false))
        #expect(try category([("a", "include", yes), ("b", "note", yes)]) == (.recommended, false))
        #expect(try category([("a", "note", yes)]) == (.consider, false), "nothing includes → consider")
        #expect(try category([]) == (.consider, false))
        #expect(try category([("a", "include", yes), ("b", "consider", yes)]) == (.consider, false))
        #expect(try category([("a", "include", yes), ("b", "consider", yes), ("c", "not-now", yes)]) == (.notNow, false))
        #expect(try category([("a", "not-now", yes), ("b", "refer", yes)]) == (.refer, false))
        #expect(try category([("a", "include", yes), ("b", "exclude", yes)]) == (.refer, true))
        #expect(try category([("a", "include", yes), ("b", "refer", no)]) == (.recommended, false), "unfired rule has no effect")
    }

    @Test("default ruleset: most restrictive effect wins and every fired rule is listed")
    func defaultAggregation() throws {
        var input = ScreeningFixtures.recommendedKnee
        input.medications?.anticoagulant = true                    // consider
        input.medications?.nsaidLastDose = day("2026-02-25")       // not-now
        input.mri?.focalCartilageLesions = [FocalCartilageLesion()] // refer
        let decision = try engine.evaluate(input)
        #expect(decision.category == .refer)
        let ids = decision.firedRules.map(\.id)
        for id in ["anticoagulant", "nsaid-washout", "focal-cartilage-lesion", "bml-concordant"] {
            #expect(ids.contains(id))
        }
        #expect(decision.targets.isEmpty, "no targets are suggested for refer")
        #expect(decision.firedRules.first?.severity == .warning, "most severe first")
        #expect(decision.ruleset.id == "ossa-default")
        #expect(!decision.ruleset.version.isEmpty)
    }

    // MARK: Washout dates

    @Test("washout next steps carry the eligible date")
    func washoutDates() throws {
        var input = ScreeningFixtures.recommendedKnee
        input.medications?.nsaidLastDose = day("2026-02-25")            // + 15 days
        input.medications?.iaSteroidLastDate = day("2025-12-31")        // + 3 months (clamped)
        input.medications?.iaHyaluronicAcidLastDate = day("2025-09-05") // + 6 months
        let decision = try engine.evaluate(input)
        #expect(decision.category == .notNow)
        let steps = Dictionary(uniqueKeysWithValues: decision.nextSteps.map { ($0.ruleId, $0) })
        #expect(steps["nsaid-washout"]?.eligibleFrom == day("2026-03-12"))
        #expect(steps["nsaid-washout"]?.text == "Stop NSAIDs; eligible from 2026-03-12.")
        #expect(steps["ia-steroid-washout"]?.eligibleFrom == day("2026-03-31"))
        #expect(steps["ia-hyaluronic-acid-washout"]?.eligibleFrom == day("2026-03-05"))
        #expect(decision.earliestEligibleDate == day("2026-03-31"))
        let nsaid = try #require(decision.firedRules.first { $0.id == "nsaid-washout" })
        #expect(nsaid.reason.contains("2026-02-25"))
        #expect(nsaid.evidence.contains("https://doi.org/10.1186/s13063-022-07049-3"))
    }

    @Test("no eligible date when a not-now rule has none (missing MRI)")
    func noEligibleDateForMRI() throws {
        var input = ScreeningFixtures.recommendedKnee
        input.mri = nil
        input.medications?.nsaidLastDose = day("2026-02-25")
        let decision = try engine.evaluate(input)
        #expect(decision.category == .notNow)
        #expect(decision.earliestEligibleDate == nil)
        #expect(decision.nextSteps.contains { $0.text == "MRI needed: none in the last 6 months." })
    }

    // MARK: Targets, setting, adjuncts

    @Test("targets from BML subregions with volumes from the Intraosseous Injections chapter")
    func kneeTargets() throws {
        var input = ScreeningFixtures.recommendedKnee
        input.mri?.bml = [
            BMLFinding(subregion: .tibiaCentralMedial, size: .medium),
            BMLFinding(subregion: .tibiaPosteriorMedial, size: .small),
            BMLFinding(subregion: .femurCentralMedial, size: .small),
            BMLFinding(subregion: .patellaLateral, size: .small),
            BMLFinding(subregion: .trochleaLateral, size: .none),
        ]
        let d = try engine.evaluate(input)
        #expect(d.targets.map(\.target) == ["intra-articular", "medial-tibial-plateau", "medial-femoral-condyle", "patella"])
        let ia = d.targets[0], tibia = d.targets[1], patella = d.targets[3]
        #expect(ia.minVolumeMl == 3 && ia.maxVolumeMl == 8)
        #expect(tibia.minVolumeMl == 5 && tibia.maxVolumeMl == 10)
        #expect(tibia.subregions == [.tibiaCentralMedial, .tibiaPosteriorMedial])
        #expect(tibia.maxGrade == 2)
        #expect(patella.minVolumeMl == 2 && patella.maxVolumeMl == 3)
        // Three bone targets → surgery centre with twilight sedation.
        #expect(d.setting?.setting == .surgeryCentre)
        #expect(d.setting?.anaesthesia == .twilightSedation)
        #expect(d.adjuncts.map(\.id) == ["focal-shockwave"])
        #expect(d.expectations.contains { $0.contains("2–3 days") })
        #expect(d.expectations.contains { $0.contains("without crutches") })
    }

    @Test("two knee targets → office with local + nitrous; hip → surgery centre")
    func settings() throws {
        let knee = try engine.evaluate(ScreeningFixtures.recommendedKnee)
        #expect(knee.setting?.setting == .office)
        #expect(knee.setting?.anaesthesia == .localWithNitrous)
        var hip = ScreeningFixtures.recommendedKnee
        ScreeningFixtures.makeHip(&hip)
        let h = try engine.evaluate(hip)
        #expect(h.setting?.setting == .surgeryCentre)
        #expect(h.targets.map(\.target) == ["intra-articular", "femoral-head"])
        #expect(h.targets[1].minVolumeMl == 5 && h.targets[1].maxVolumeMl == 10)
        #expect(!h.expectations.contains { $0.contains("without crutches") })
    }

    // MARK: Examples

    @Test("each example input yields the category in its name", arguments: [
        ("knee-bml-recommended.json", ScreeningCategory.recommended),
        ("knee-nsaid-washout-not-now.json", .notNow),
        ("knee-focal-cartilage-refer.json", .refer),
        ("hip-avn-collapse-refer.json", .refer),
        ("knee-discordant-consider.json", .consider),
        ("hip-oa-bml-recommended.json", .recommended),
    ])
    func examples(file: String, expected: ScreeningCategory) throws {
        let url = ScreeningFixtures.repositoryRoot.appendingPathComponent("Examples/screening/\(file)")
        let data = try #require(FileManager.default.contents(atPath: url.path), "missing \(url.path)")
        let decision = try engine.evaluate(try ScreeningInput.decode(from: data))
        #expect(decision.category == expected, "\(file): \(decision.summary)")
    }

    @Test("every example file is covered")
    func examplesListed() throws {
        let dir = ScreeningFixtures.repositoryRoot.appendingPathComponent("Examples/screening")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        #expect(files.count >= 5)
        for file in files {
            let name = file.replacingOccurrences(of: ".json", with: "")
            let named = ScreeningCategory.allCases.filter { name.hasSuffix("-" + $0.rawValue) }
            #expect(named.count == 1, "\(file) names its category")
        }
    }

    // MARK: Input errors

    @Test("unknown input keys are rejected with their path")
    func unknownKeys() throws {
        let cases: [(String, String)] = [
            (#"{"evaluationDate":"2026-03-02","joint":"knee","side":"left","diagnosis":{"type":"bone-marrow-lesion"},"medications":{"nsaidLastdose":"2026-02-01"}}"#,
             #"medications.nsaidLastdose: unknown field "nsaidLastdose""#),
            (#"{"evaluationDate":"2026-03-02","joint":"knee","side":"left","diagnosis":{"type":"bone-marrow-lesion"},"bmi_value":30}"#,
             #"bmi_value: unknown field "bmi_value""#),
            (#"{"evaluationDate":"2026-03-02","joint":"knee","side":"left","diagnosis":{"type":"bone-marrow-lesion"},"mri":{"date":"2026-02-01","bml":[{"subregion":"subspinous","size":1,"grade":2}]}}"#,
             #"mri.bml[0].grade: unknown field "grade""#),
            (#"{"evaluationDate":"2026-03-02","joint":"knee","side":"left","diagnosis":{"type":"bone-marrow-lesion","kellgrenLawrence":3}}"#,
             #"diagnosis.kellgrenLawrence: does not apply to diagnosis type "bone-marrow-lesion""#),
        ]
        for (json, message) in cases {
            #expect(throws: FieldValidationError.self) { try ScreeningInput.decode(from: Data(json.utf8)) }
            do {
                _ = try ScreeningInput.decode(from: Data(json.utf8))
            } catch {
                #expect(error.description == message)
            }
        }
    }

    @Test("bad input values name the field")
    func badValues() throws {
        func message(_ json: String) -> String? {
            do { _ = try ScreeningInput.decode(from: Data(json.utf8)); return nil } catch { return error.description }
        }
        let head = #""evaluationDate":"2026-03-02","side":"left""#
        #expect(message(#"{\#(head),"joint":"elbow","diagnosis":{"type":"bone-marrow-lesion"}}"#)?.hasPrefix(#"joint: "elbow" is not a joint"#) == true)
        #expect(message(#"{\#(head),"joint":"knee","diagnosis":{"type":"osteoarthritis","kellgrenLawrence":5}}"#)
                == "diagnosis.kellgrenLawrence: 5 is not a Kellgren–Lawrence grade (0–4)")
        #expect(message(#"{\#(head),"joint":"knee","diagnosis":{"type":"bone-marrow-lesion"},"labs":{"platelets":250000}}"#)?.hasPrefix("labs.platelets: 250000 ×10⁹/L is outside the plausible range") == true)
        #expect(message(#"{\#(head),"joint":"knee","diagnosis":{"type":"bone-marrow-lesion"},"medications":{"nsaidLastDose":"2026-03-05"}}"#)
                == "medications.nsaidLastDose: 2026-03-05 is after the evaluation date 2026-03-02")
        #expect(message(#"{\#(head),"joint":"knee","diagnosis":{"type":"bone-marrow-lesion"},"mri":{"date":"2026-02-30","bml":[]}}"#)?.hasPrefix("mri.date: ") == true)
        #expect(message(#"{\#(head),"joint":"knee","diagnosis":{"type":"bone-marrow-lesion"},"mri":{"date":"2026-02-01","bml":[{"subregion":"femoral-head-superior","size":1}]}}"#)
                == #"mri.bml[0].subregion: "femoral-head-superior" is a hip subregion, but the joint is the knee"#)
        #expect(message(#"{\#(head),"joint":"knee","diagnosis":{"type":"bone-marrow-lesion"},"mri":{"date":"2026-02-01","bml":[{"subregion":"subspinous","size":4}]}}"#)
                == "mri.bml[0].size: 4 is not a MOAKS BML size grade (0–3)")
        #expect(message(#"{\#(head),"joint":"knee","diagnosis":{"type":"bone-marrow-lesion"},"age":"sixty"}"#) == "age: expected a number")
        #expect(message(#"{\#(head),"diagnosis":{"type":"bone-marrow-lesion"}}"#) == "joint: is required but missing")
        #expect(message(#"{\#(head),"joint":"hip","diagnosis":{"type":"osteoarthritis","ahlback":"III"}}"#)
                == "diagnosis.ahlback: Ahlbäck grading is for the knee, not the hip")
    }

    // MARK: Ruleset schema errors

    private func rulesetError(_ mutate: (inout [String: Any]) -> Void) throws -> String? {
        let data = try #require(try? BundledResource.data("rulesets/default.json"))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        mutate(&object)
        let edited = try JSONSerialization.data(withJSONObject: object)
        do { _ = try Ruleset.decode(from: edited); return nil } catch { return error.description }
    }

    private func setRule(_ object: inout [String: Any], _ index: Int, _ key: String, _ value: Any) {
        var rules = object["rules"] as! [[String: Any]]
        rules[index][key] = value
        object["rules"] = rules
    }

    @Test("ruleset schema errors name the path")
    func rulesetSchemaErrors() throws {
        #expect(try rulesetError { _ in } == nil, "the default ruleset itself is valid")
        #expect(try rulesetError { setRule(&$0, 3, "when", ["all": [["param": "labs.platelets", "op": "≈", "value": 1]]]) }?
            .hasPrefix(#"rules[3].when.all[0].op: unknown comparator "≈""#) == true)
        #expect(try rulesetError { setRule(&$0, 2, "when", ["any": [["param": "age", "op": ">", "value": 1], ["param": "labs.plt", "op": "<", "value": 1]]]) }
            == #"rules[2].when.any[1].param: unknown parameter "labs.plt""#)
        #expect(try rulesetError { setRule(&$0, 0, "when", ["param": "age", "op": "within-days", "value": 3]) }
            == #"rules[0].when.op: "within-days" needs a date parameter; age is a number"#)
        #expect(try rulesetError { setRule(&$0, 0, "when", ["param": "diagnosis.arco", "op": "in", "value": ["IIIC"]]) }?
            .hasPrefix(#"rules[0].when.value: "IIIC" is not a value of diagnosis.arco"#) == true)
        #expect(try rulesetError { setRule(&$0, 1, "effect", "maybe") }?.hasPrefix(#"rules[1].effect: "maybe" is not a rule effect"#) == true)
        #expect(try rulesetError { setRule(&$0, 1, "evidence", ["nobody-2020"]) } == #"rules[1].evidence[0]: unknown evidence id "nobody-2020""#)
        #expect(try rulesetError { setRule(&$0, 1, "reason", "BMI {bmii}") } == "rules[1].reason: unknown placeholder {bmii}")
        #expect(try rulesetError { setRule(&$0, 4, "colour", "red") } == #"rules[4].colour: unknown field "colour""#)
        #expect(try rulesetError { setRule(&$0, 5, "id", "bml-concordant") } == #"rules[5].id: "bml-concordant" is used by an earlier rule"#)
        #expect(try rulesetError { $0["rules"] = nil } == "rules: is required but missing")
    }

    @Test("a clinic ruleset with its own threshold changes the decision")
    func clinicRuleset() throws {
        let data = try BundledResource.data("rulesets/default.json")
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var rules = try #require(object["rules"] as? [[String: Any]])
        let index = try #require(rules.firstIndex { $0["id"] as? String == "platelets-low" })
        // A stricter clinic: platelets below 200 → not-now.
        rules[index]["when"] = ["param": "labs.platelets", "op": "<", "value": 200]
        object["rules"] = rules
        object["id"] = "clinic-strict"
        let clinic = try Ruleset.decode(from: try JSONSerialization.data(withJSONObject: object))
        var input = ScreeningFixtures.recommendedKnee
        input.labs?.platelets = 180
        #expect(try engine.evaluate(input).category == .recommended)
        #expect(try ScreeningEngine(ruleset: clinic).evaluate(input).category == .notNow)
    }

    // MARK: Output

    @Test("decision JSON round-trips and the text rendering lists everything")
    func output() throws {
        var input = ScreeningFixtures.recommendedKnee
        input.medications?.nsaidLastDose = day("2026-02-25")
        let decision = try engine.evaluate(input)
        let json = try decision.jsonData()
        let back = try JSONDecoder().decode(ScreeningDecision.self, from: json)
        #expect(back == decision)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["category"] as? String == "not-now")
        let text = decision.renderText()
        #expect(text.hasPrefix("Screening: NOT-NOW"))
        #expect(text.contains("[WARNING] nsaid-washout → not-now"))
        #expect(text.contains("evidence: PRGF Restoring trial (Trials 2022) (https://doi.org/10.1186/s13063-022-07049-3)"))
        #expect(text.contains("Stop NSAIDs; eligible from 2026-03-12."))
        #expect(text.contains("medial tibial plateau: 5–10 mL"))
        #expect(text.contains("What to expect:"))
    }
}
