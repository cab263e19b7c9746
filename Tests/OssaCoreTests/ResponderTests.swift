import Foundation
import Testing
@testable import OssaCore

/// Per-instrument thresholds (each with its published source) and OMERACT-OARSI 2004 (Pham et al., Osteoarthritis
/// Cartilage 2004;12:389–399).
@Suite("Responders")
struct ResponderTests {
    let table: ResponderThresholdTable

    init() throws {
        table = try ResponderThresholdTable.builtIn()
    }

    func custom(_ kind: ThresholdKind, _ value: Double, _ unit: ThresholdUnit = .points) -> ResponderThreshold {
        ResponderThreshold(id: "t", instrument: "x", score: "score", kind: kind, value: value, unit: unit, evidence: "V", source: "test")
    }

    // MARK: Table contents, typed from the published sources

    @Test func defaultThresholdsMatchClinicalReference() throws {
        let koosJRSCB = try #require(table.defaultThreshold(instrument: "koos-jr", score: "score", kind: .scb))
        #expect(koosJRSCB.value == 20)
        #expect(koosJRSCB.source.contains("CMS"))
        let hoosJRSCB = try #require(table.defaultThreshold(instrument: "hoos-jr", score: "score", kind: .scb))
        #expect(hoosJRSCB.value == 22)
        #expect(table.defaultThreshold(instrument: "hoos-jr", score: "score", kind: .mcid)?.value == 7.76)
        #expect(table.defaultThreshold(instrument: "hoos-jr", score: "score", kind: .pass)?.value == 76.8)
        let nrsPoints = try #require(table.defaultThreshold(instrument: "nrs-pain", score: "score", kind: .mcid))
        #expect(nrsPoints.value == 1)
        #expect(nrsPoints.source.contains("Salaffi"))
        #expect(table.defaultThreshold(instrument: "nrs-pain", score: "score", kind: .mcid, unit: .percent)?.value == 15)
        let farrar = table.thresholds(instrument: "nrs-pain", score: "score", kind: .mcid).filter { $0.source.contains("Farrar") }
        #expect(Set(farrar.map(\.value)) == [2, 30])
        let qol = try #require(table.defaultThreshold(instrument: "koos", score: "qol", kind: .mcid))
        #expect(qol.value == 8)
        #expect(qol.source.contains("Singh"))
        let koosPain = try #require(table.defaultThreshold(instrument: "koos", score: "pain", kind: .mcii))
        #expect((8...10).contains(koosPain.value))
        #expect(koosPain.source.contains("Roos"))
        let mostafaee = Dictionary(uniqueKeysWithValues: table.thresholds.filter { $0.source.contains("Mostafaee") }.map { ($0.score, $0.value) })
        #expect(mostafaee == ["pain": 15, "symptoms": 12.5, "adl": 15.5, "sport": 17.5, "qol": 12.5])
    }

    @Test func everyThresholdNamesAKnownInstrumentScore() throws {
        let library = try InstrumentLibrary.builtIn()
        for threshold in table.thresholds {
            let instrument = try #require(library.instrument(id: threshold.instrument), "\(threshold.id)")
            #expect(instrument.score(id: threshold.score) != nil, "\(threshold.id)")
            #expect(!threshold.source.isEmpty)
            #expect(["V", "S", "M"].contains(threshold.evidence))
        }
    }

    @Test func tableValidationNamesTheField() {
        let json = #"{"schemaVersion": 1, "thresholds": [{"id": "a", "instrument": "koos", "score": "pain", "kind": "pass", "value": 70, "unit": "percent", "direction": "improvement", "default": false, "evidence": "V", "source": "x"}]}"#
        let error = #expect(throws: FieldValidationError.self) { try ResponderThresholdTable.decode(from: Data(json.utf8)) }
        #expect(error?.path == "thresholds[0].unit")
        let badKind = json.replacingOccurrences(of: "\"pass\"", with: "\"mid\"")
        let kindError = #expect(throws: FieldValidationError.self) { try ResponderThresholdTable.decode(from: Data(badKind.utf8)) }
        #expect(kindError?.path == "thresholds[0].kind")
    }

    // MARK: Threshold evaluation

    @Test func changeThresholdOnHigherIsBetterScale() throws {
        let scb = try #require(table.defaultThreshold(instrument: "koos-jr", score: "score", kind: .scb))  // ≥ 20 points
        #expect(ResponderEvaluator.isResponder(scb, baseline: 40, followUp: 60, direction: .higherIsBetter) == true)     // +20: at threshold
        #expect(ResponderEvaluator.isResponder(scb, baseline: 40, followUp: 59.9, direction: .higherIsBetter) == false)  // +19.9
        // KOOS JR table values: raw 15 → 50.012, raw 6 → 70.704: +20.692.
        #expect(ResponderEvaluator.isResponder(scb, baseline: 50.012, followUp: 70.704, direction: .higherIsBetter) == true)
        // Exactly 20 apart in decimal, not in binary: still at the threshold.
        #expect(ResponderEvaluator.isResponder(scb, baseline: 50.012, followUp: 70.012, direction: .higherIsBetter) == true)
        // Getting worse is never a response.
        #expect(ResponderEvaluator.isResponder(scb, baseline: 60, followUp: 40, direction: .higherIsBetter) == false)
        let evaluation = ResponderEvaluator.evaluate(scb, baseline: 40, followUp: 65, direction: .higherIsBetter)
        #expect(evaluation.improvement == 25)
        #expect(evaluation.relativeImprovementPercent == 62.5)  // 25 / 40
    }

    @Test func changeThresholdOnHigherIsWorseScale() throws {
        let points = try #require(table.defaultThreshold(instrument: "nrs-pain", score: "score", kind: .mcid))  // 1 point
        #expect(ResponderEvaluator.isResponder(points, baseline: 6, followUp: 5, direction: .higherIsWorse) == true)   // −1: at threshold
        #expect(ResponderEvaluator.isResponder(points, baseline: 6, followUp: 6, direction: .higherIsWorse) == false)
        #expect(ResponderEvaluator.isResponder(points, baseline: 6, followUp: 7, direction: .higherIsWorse) == false)
        let percent = try #require(table.defaultThreshold(instrument: "nrs-pain", score: "score", kind: .mcid, unit: .percent))  // 15%
        #expect(ResponderEvaluator.isResponder(percent, baseline: 6, followUp: 5, direction: .higherIsWorse) == true)   // 1/6 = 16.7%
        #expect(ResponderEvaluator.isResponder(percent, baseline: 7, followUp: 6, direction: .higherIsWorse) == false)  // 1/7 = 14.3%
        // Exactly 15%: 20 → 17 on a 0–100 scale.
        #expect(ResponderEvaluator.isResponder(custom(.mcid, 15, .percent), baseline: 20, followUp: 17, direction: .higherIsWorse) == true)
        #expect(ResponderEvaluator.isResponder(custom(.mcid, 15, .percent), baseline: 20, followUp: 17.1, direction: .higherIsWorse) == false)
    }

    @Test func relativeThresholdWithBaselineZeroCannotBeMet() {
        let evaluation = ResponderEvaluator.evaluate(custom(.mcii, 20, .percent), baseline: 0, followUp: 50, direction: .higherIsBetter)
        #expect(evaluation.isResponder == false)
        #expect(evaluation.baselineZero)
    }

    @Test func missingScoresGiveNil() throws {
        let scb = try #require(table.defaultThreshold(instrument: "koos-jr", score: "score", kind: .scb))
        #expect(ResponderEvaluator.isResponder(scb, baseline: nil, followUp: 80, direction: .higherIsBetter) == nil)
        #expect(ResponderEvaluator.isResponder(scb, baseline: 40, followUp: nil, direction: .higherIsBetter) == nil)
    }

    @Test func passIsAFollowUpState() throws {
        let pass = try #require(table.defaultThreshold(instrument: "hoos-jr", score: "score", kind: .pass))  // 76.8
        #expect(ResponderEvaluator.isResponder(pass, baseline: nil, followUp: 76.8, direction: .higherIsBetter) == true)
        #expect(ResponderEvaluator.isResponder(pass, baseline: nil, followUp: 76.7, direction: .higherIsBetter) == false)
        // No change needed: already acceptable at baseline and unchanged still counts.
        #expect(ResponderEvaluator.isResponder(pass, baseline: 90, followUp: 90, direction: .higherIsBetter) == true)
        #expect(ResponderEvaluator.isResponder(pass, baseline: 40, followUp: nil, direction: .higherIsBetter) == nil)
        // On a higher-is-worse scale the acceptable state is at or below the value.
        #expect(ResponderEvaluator.isResponder(custom(.pass, 3), baseline: nil, followUp: 3, direction: .higherIsWorse) == true)
        #expect(ResponderEvaluator.isResponder(custom(.pass, 3), baseline: nil, followUp: 4, direction: .higherIsWorse) == false)
    }

    /// The prepared rule the registry's responder tables use gives the evaluator's verdict for every threshold of the
    /// table (and worsening and percent variants), both score directions, a missing or zero baseline, values at,
    /// just above and just below each threshold.
    @Test func preparedRuleAgreesWithTheEvaluator() {
        var thresholds = table.thresholds
        thresholds += [custom(.mcii, 20, .percent), custom(.pass, 3)]
        var worse = custom(.mcid, 10)
        worse.direction = .worsening
        thresholds.append(worse)
        var worsePercent = custom(.mcid, 15, .percent)
        worsePercent.direction = .worsening
        thresholds.append(worsePercent)
        var checked = 0
        for threshold in thresholds {
            for direction in [ScoreDirection.higherIsBetter, .higherIsWorse] {
                let rule = ResponderRule(threshold, direction: direction)
                let v = threshold.value
                let baselines: [Double?] = [nil, 0, 1, 10, 40, 50, 100, -20]
                for baseline in baselines {
                    let b = baseline ?? 0
                    let edges: [Double] = [v, -v, b + v, b - v, b + v * b / 100, b - v * b / 100]
                    var followUps: [Double] = [0, 1, 50, 100]
                    for edge in edges { followUps += [edge, edge + 1e-6, edge - 1e-6, edge.nextUp, edge.nextDown] }
                    for followUp in followUps {
                        let expected = ResponderEvaluator.isResponder(threshold, baseline: baseline, followUp: followUp, direction: direction)
                        let got = rule.verdict(baseline: baseline ?? .nan, followUp: followUp)
                        #expect(got == expected, "\(threshold.id) \(direction) baseline \(String(describing: baseline)) follow-up \(followUp)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 1000)
    }

    @Test func worseningThreshold() {
        var threshold = custom(.mcid, 10)
        threshold.direction = .worsening
        #expect(ResponderEvaluator.isResponder(threshold, baseline: 60, followUp: 50, direction: .higherIsBetter) == true)
        #expect(ResponderEvaluator.isResponder(threshold, baseline: 60, followUp: 70, direction: .higherIsBetter) == false)
    }
}

@Suite("Responders: OMERACT-OARSI 2004")
struct ResponderOmeractOarsiTests {
    let criteria: OmeractOarsiCriteria

    init() throws {
        criteria = try OmeractOarsiCriteria.builtIn()
    }

    typealias Change = OmeractOarsiInput.Change

    @Test func cutoffsAreThePham2004Values() {
        // Typed from Pham et al. 2004.
        #expect(criteria.highImprovement.minimumRelativePercent == 50)
        #expect(criteria.highImprovement.minimumAbsolutePoints == 20)
        #expect(Set(criteria.highImprovement.domains) == [.pain, .function])
        #expect(criteria.improvement.minimumRelativePercent == 20)
        #expect(criteria.improvement.minimumAbsolutePoints == 10)
        #expect(criteria.improvement.minimumDomains == 2)
        #expect(Set(criteria.improvement.domains) == [.pain, .function, .patientGlobal])
        #expect(criteria.reference.contains("Pham"))
        #expect(criteria.reference.contains("2004"))
    }

    @Test func highImprovementInPain() throws {
        // Pain 60 → 30: 30 points, 50% → rule (a). Function 50 → 45 is irrelevant.
        let result = try criteria.evaluate(.init(pain: Change(baseline: 60, followUp: 30), function: Change(baseline: 50, followUp: 45)))
        #expect(result.isResponder)
        #expect(result.criterion == .highImprovement)
        #expect(result.highImprovementDomains == [.pain])
        #expect(!result.patientGlobalAvailable)
    }

    @Test func highImprovementInFunctionExactlyAtCutoffs() throws {
        // Function 40 → 20: exactly 20 points and exactly 50%.
        let result = try criteria.evaluate(.init(pain: Change(baseline: 50, followUp: 50), function: Change(baseline: 40, followUp: 20)))
        #expect(result.criterion == .highImprovement)
        #expect(result.highImprovementDomains == [.function])
        // Just below: 40 → 21 is 19 points, 47.5% → not high; it is an improvement (≥ 10 and ≥ 20%) but alone.
        let below = try criteria.evaluate(.init(pain: Change(baseline: 50, followUp: 50), function: Change(baseline: 40, followUp: 21)))
        #expect(!below.isResponder)
        #expect(below.improvedDomains == [.function])
    }

    @Test func twoOfThreeWithPatientGlobal() throws {
        // Pain 50 → 40: 10 points, 20% (both exactly at cut-off) ✓; function 80 → 75: 5 points ✗;
        // PGA 60 → 45: 15 points, 25% ✓ → 2 of 3.
        let result = try criteria.evaluate(.init(pain: Change(baseline: 50, followUp: 40), function: Change(baseline: 80, followUp: 75),
                                                 patientGlobal: Change(baseline: 60, followUp: 45)))
        #expect(result.isResponder)
        #expect(result.criterion == .improvementInAtLeastTwo)
        #expect(!result.highImprovement)
        #expect(result.improvedDomains == [.pain, .patientGlobal])
        #expect(result.patientGlobalAvailable)
    }

    @Test func twoOfThreeWithoutPatientGlobal() throws {
        // Pain 50 → 38: 12 points, 24% ✓; function 60 → 48: 12 points, 20% ✓; no PGA.
        let result = try criteria.evaluate(.init(pain: Change(baseline: 50, followUp: 38), function: Change(baseline: 60, followUp: 48)))
        #expect(result.criterion == .improvementInAtLeastTwo)
        #expect(result.improvedDomains == [.pain, .function])
        #expect(!result.patientGlobalAvailable)
    }

    @Test func nonResponder() throws {
        // Pain 50 → 41: 9 points ✗; function 50 → 40: 10 points, 20% ✓; PGA 30 → 25: 5 points ✗ → 1 of 3.
        let result = try criteria.evaluate(.init(pain: Change(baseline: 50, followUp: 41), function: Change(baseline: 50, followUp: 40),
                                                 patientGlobal: Change(baseline: 30, followUp: 25)))
        #expect(!result.isResponder)
        #expect(result.criterion == nil)
        #expect(result.improvedDomains == [.function])
        // Large relative but small absolute change: 15 → 5 is 67% but 10 points → not high improvement.
        let small = try criteria.evaluate(.init(pain: Change(baseline: 15, followUp: 5), function: Change(baseline: 15, followUp: 15)))
        #expect(!small.highImprovement)
        #expect(!small.isResponder)
    }

    @Test func baselineZeroIsFlagged() throws {
        // Pain and PGA start at 0: relative change undefined, cannot be met. Function 30 → 15: 15 points, 50%.
        let result = try criteria.evaluate(.init(pain: Change(baseline: 0, followUp: 0), function: Change(baseline: 30, followUp: 15),
                                                 patientGlobal: Change(baseline: 0, followUp: 0)))
        #expect(result.baselineZeroDomains == [.pain, .patientGlobal])
        #expect(!result.isResponder)
        #expect(result.domains.first { $0.domain == .pain }?.relativeImprovementPercent == nil)
    }

    @Test func outOfScaleInputIsNamed() {
        let error = #expect(throws: FieldValidationError.self) {
            try criteria.evaluate(.init(pain: Change(baseline: 120, followUp: 30), function: Change(baseline: 50, followUp: 45)))
        }
        #expect(error?.path == "pain.baseline")
    }

    @Test func conversionsFromInstruments() throws {
        #expect(OmeractOarsiCriteria.fromKOOSOrHOOS(30) == 70)   // 100 − 30
        #expect(OmeractOarsiCriteria.fromNRS(7) == 70)           // 7 × 10
        let library = try InstrumentLibrary.builtIn()
        let koos = try library.require(id: "koos")
        // Pain all 3 → 100 − 3 × 25 = 25 → OARSI 75; ADL all 1 → 75 → OARSI 25.
        var answers: [String: Int?] = [:]
        for i in 1...9 { answers["P\(i)"] = 3 }
        for i in 1...17 { answers["A\(i)"] = 1 }
        let values = koos.omeractOarsiValues(try koos.score(answers))
        #expect(values == [.pain: 75, .function: 25])
        let pga = try library.require(id: "pga")
        #expect(pga.omeractOarsiValues(try pga.score(["global": 6])) == [.patientGlobal: 60])
        let nrs = try library.require(id: "nrs-pain")
        #expect(nrs.omeractOarsiValues(try nrs.score(["pain": 4])) == [.pain: 40])
    }

    @Test func endToEndFromKOOS() throws {
        // Baseline pain all 3 (KOOS 25 → 75), follow-up all 1 (KOOS 75 → 25): 50 points, 66.7% → high improvement.
        let koos = try InstrumentLibrary.builtIn().require(id: "koos")
        func domainValues(_ pain: Int, _ adl: Int) throws -> [OmeractOarsiDomain: Double] {
            var answers: [String: Int?] = [:]
            for i in 1...9 { answers["P\(i)"] = pain }
            for i in 1...17 { answers["A\(i)"] = adl }
            return koos.omeractOarsiValues(try koos.score(answers))
        }
        let before = try domainValues(3, 2)
        let after = try domainValues(1, 2)
        let result = try criteria.evaluate(.init(
            pain: Change(baseline: try #require(before[.pain]), followUp: try #require(after[.pain])),
            function: Change(baseline: try #require(before[.function]), followUp: try #require(after[.function]))))
        #expect(result.criterion == .highImprovement)
        #expect(result.highImprovementDomains == [.pain])
    }
}

@Suite("OMERACT-OARSI quick verdict")
struct OmeractOarsiQuickVerdictTests {
    /// Registry analytics uses the allocation-free verdict; it must agree with the full evaluation everywhere,
    /// including at the cut-offs and for values outside the scale.
    @Test("isResponder agrees with evaluate(_:).isResponder on a grid of inputs")
    func agrees() throws {
        let criteria = try OmeractOarsiCriteria.builtIn()
        let values: [Double] = [0, 5, 10, 19.999999, 20, 30, 40, 50, 60, 80, 100, 101, -1]
        var checked = 0
        for pb in values { for pf in values { for fb in [0.0, 40, 60, 100] { for ff in [0.0, 20, 48, 100, 120] {
            for global in [nil, OmeractOarsiInput.Change(baseline: 50, followUp: 39), OmeractOarsiInput.Change(baseline: 50, followUp: 41)] {
                let input = OmeractOarsiInput(pain: .init(baseline: pb, followUp: pf), function: .init(baseline: fb, followUp: ff), patientGlobal: global)
                let full: Bool? = try? criteria.evaluate(input).isResponder
                #expect(criteria.isResponder(input) == full, "\(input)")
                checked += 1
            }
        } } } }
        #expect(checked > 3000)
    }
}
