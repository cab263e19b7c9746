import Foundation
import Testing
@testable import OssaCore

/// A quiet day: nothing that should raise a flag.
private func entry(day: Int, pain: Int = 2, weightBearing: DiaryWeightBearing = .full, redness: DiaryRedness = .none,
                   fever: Bool = false, temperature: Double? = nil) -> DiaryEntry {
    DiaryEntry(day: day, pain: pain, discomfort: .mild, weightBearing: weightBearing, crutches: false, painMedicine: [.paracetamol],
               swelling: .mild, redness: redness, fever: fever, temperature: temperature)
}

/// A complete, valid form submission.
private let goodForm: [String: [String]] = [
    "pain": ["4"], "discomfort": ["moderate"], "weightBearing": ["partial"], "crutches": ["yes"],
    "painMedicine": ["paracetamol", "prescribed-opioid"], "swelling": ["mild"], "redness": ["around-the-injection-site"],
    "fever": ["no"], "temperature": ["37,4"], "note": ["  Slept badly.  "], "csrf": ["abc123"],
]

@Suite("Recovery diary and red flags")
struct RecoveryDiaryTests {
    let diary: RecoveryDiaryProtocol = {
        do { return try RecoveryDiaryProtocol.bundled() } catch { fatalError("recovery diary does not load: \(error)") }
    }()

    func fired(_ e: DiaryEntry, previous: [DiaryEntry] = [], joint: Joint? = .knee) -> [String] {
        diary.flags(for: e, previous: previous, joint: joint).map(\.ruleID)
    }

    // MARK: The resource

    @Test("the bundled diary decodes and validates; the form lists every question")
    func bundled() {
        #expect(diary.id == "ossa-recovery-diary")
        #expect(diary.form.fields.map(\.id) == ["pain", "discomfort", "weightBearing", "crutches", "painMedicine", "swelling",
                                                "redness", "fever", "temperature", "note"])
        #expect(diary.form["redness"]?.options?.map(\.value) == ["none", "around-the-injection-site", "spreading"])
        #expect(diary.form["painMedicine"]?.kind == .multiple)
        #expect(diary.form["temperature"]?.required == false && diary.form["temperature"]?.unit == "°C")
        #expect(diary.rules.map(\.id) == ["fever", "redness-spreading", "redness-after-day-3", "pain-high", "pain-rising",
                                          "knee-no-weight-bearing"])
    }

    @Test("every rule has evidence, a basis, staff and patient text; conventions say so")
    func evidence() {
        let sources = Dictionary(uniqueKeysWithValues: diary.evidence.map { ($0.id, $0) })
        for rule in diary.rules {
            #expect(!rule.evidence.isEmpty, "\(rule.id) has no evidence")
            for id in rule.evidence {
                let citation = sources[id]?.citation ?? ""
                #expect(!citation.isEmpty, "\(rule.id) cites \(id) without a citation")
            }
            // At least one primary source besides the programme's own convention.
            #expect(rule.evidence.contains { $0 != "programme-convention" }, "\(rule.id) cites no primary source")
            #expect(!rule.message.isEmpty && !rule.patientAdvice.isEmpty)
            if rule.evidence.contains("programme-convention") {
                #expect(rule.basis.contains("programme convention, to be reviewed by the clinic's medical lead"), "\(rule.id)")
            }
        }
        for flag in diary.flags(for: entry(day: 4, pain: 9, weightBearing: .none, redness: .spreading, fever: true), previous: [entry(day: 3)]) {
            #expect(!flag.evidence.isEmpty && flag.evidence.allSatisfy { !$0.citation.isEmpty })
        }
        #expect(sources["sanchez-2014"]?.citation.contains("PMID 25685680") == true)
    }

    @Test("a malformed diary protocol names the path")
    func protocolErrors() throws {
        let base = String(decoding: try BundledResource.data("protocols/recovery-diary.json"), as: UTF8.self)
        func message(_ from: String, _ to: String) -> String? {
            guard let range = base.range(of: from) else {
                Issue.record("fixture text \(from) not in recovery-diary.json")
                return nil
            }
            do { _ = try RecoveryDiaryProtocol.decode(from: Data(base.replacingCharacters(in: range, with: to).utf8)); return nil } catch {
                return error.description
            }
        }
        #expect(message(#""painAtLeast": 8"#, #""painAtLeast": 11"#) == "rules[3].when.painAtLeast: 11 is not 1–10")
        #expect(message(#""when": { "painRiseAtLeast": 3 }"#, #""when": { "painRiseAtLeast": 3, "painAtLeast": 9 }"#)
                == "rules[4].when: give only one condition (found painAtLeast, painRiseAtLeast)")
        #expect(message(#""evidence": ["farrar-2001", "programme-convention"]"#, #""evidence": []"#)
                == "rules[4].evidence: needs at least one evidence id")
        #expect(message(#""evidence": ["stevens-2014", "programme-convention"]"#, #""evidence": ["stevens-2015", "programme-convention"]"#)
                == #"rules[2].evidence[0]: unknown evidence id "stevens-2015""#)
        #expect(message(#""severity": "urgent""#, #""severity": "critical""#)
                == #"rules[0].severity: "critical" is not a flag severity (one of "review", "urgent")"#)
        #expect(message(#""fromDay": 4,"#, #""fromDay": 8,"#) == "rules[2].fromDay: 8 is not a diary day (1–7)")
        #expect(message(#""joints": ["knee"]"#, #""joints": ["elbow"]"#)?.hasPrefix(#"rules[5].joints[0]: "elbow" is not a joint"#) == true)
        #expect(message(#""basis": "Spreading"#, #""colour": "red", "basis": "Spreading"#) == #"rules[1].colour: unknown field "colour""#)
        #expect(message(#"{ "value": "spreading", "label""#, #"{ "value": "purple", "label""#)
                == #"form.fields[6].options[2].value: "purple" is not an answer the diary reads (one of "none", "around-the-injection-site", "spreading")"#)
        #expect(message(#""id": "note""#, #""id": "notes""#)?.hasPrefix(#"form.fields[9].id: "notes" is not a diary field"#) == true)
        #expect(message(#""maxLength": 500"#, #""maxLength": 400"#) == "form.fields[9].maxLength: must be 500 (what the diary accepts)")
        #expect(message(#""kind": "yes-no","#, #""kind": "single","#) == #"form.fields[3].kind: "single" must be "yes-no" for crutches"#)
    }

    // MARK: Reading the form

    @Test("a complete form reads into an entry")
    func readGood() throws {
        let (read, problems) = DiaryEntry.read(goodForm, day: 2)
        #expect(problems.isEmpty)
        let e = try #require(read)
        #expect(e == DiaryEntry(day: 2, pain: 4, discomfort: .moderate, weightBearing: .partial, crutches: true,
                                painMedicine: [.prescribedOpioid, .paracetamol], swelling: .mild, redness: .aroundSite,
                                fever: false, temperature: 37.4, note: "Slept badly."))
        #expect(e.painMedicine == [.paracetamol, .prescribedOpioid])   // stored in a fixed order
        // Optional fields left empty are simply absent.
        var form = goodForm
        form["temperature"] = [""]
        form["note"] = nil
        form["painMedicine"] = ["none"]
        let (bare, none) = DiaryEntry.read(form, day: 7)
        #expect(none.isEmpty && bare?.temperature == nil && bare?.note == nil && bare?.painMedicine == [DiaryPainMedicine.none])
    }

    @Test("every problem in a form is reported at once")
    func readAllProblems() {
        let form: [String: [String]] = [
            "pain": ["11"],
            // discomfort missing
            "weightBearing": ["sometimes"],
            "crutches": ["yes", "no"],
            "painMedicine": ["none", "paracetamol", "aspirin"],
            "swelling": ["mild"],
            "redness": ["bright"],
            // fever missing
            "temperature": ["hot"],
            "note": [String(repeating: "x", count: 501)],
        ]
        let (e, problems) = DiaryEntry.read(form, day: 8)
        #expect(e == nil)
        #expect(problems.map(\.field) == ["day", "pain", "discomfort", "weightBearing", "crutches", "painMedicine", "painMedicine",
                                          "redness", "fever", "temperature", "note"])
        #expect(problems.contains(DiaryProblem(field: "painMedicine", message: "“aspirin” is not one of the answers to this question.")))
        #expect(problems.contains(DiaryProblem(field: "painMedicine", message: "“None” cannot be chosen together with a medicine.")))
        #expect(problems.contains(DiaryProblem(field: "discomfort", message: "Please answer this question.")))
        #expect(problems.contains(DiaryProblem(field: "crutches", message: "Please give only one answer.")))
        #expect(problems.contains(DiaryProblem(field: "note", message: "Please keep the note to 500 characters (this one has 501).")))
        #expect(problems.contains(DiaryProblem(field: "day", message: "Day 8 is not a recovery-diary day (1–7).")))
    }

    @Test("numbers at the edges of their ranges")
    func readRanges() {
        func problems(_ field: String, _ value: String) -> [String] {
            var form = goodForm
            form[field] = [value]
            return DiaryEntry.read(form, day: 1).1.map(\.field)
        }
        #expect(problems("pain", "0").isEmpty && problems("pain", "10").isEmpty)
        #expect(problems("pain", "-1") == ["pain"] && problems("pain", "7.5") == ["pain"])
        #expect(problems("temperature", "34.0").isEmpty && problems("temperature", "43").isEmpty)
        #expect(problems("temperature", "33.9") == ["temperature"] && problems("temperature", "43.1") == ["temperature"])
        #expect(problems("temperature", "nan") == ["temperature"] && problems("temperature", "1e1") == ["temperature"])
        #expect(problems("note", String(repeating: "é", count: 500)).isEmpty)
        #expect(problems("fever", "true") == ["fever"])
        #expect(DiaryEntry.read(goodForm, day: 0).1.map(\.field) == ["day"])
    }

    @Test("the JSON form of an entry decodes strictly and is checked")
    func entryJSON() throws {
        let good = #"{"day":3,"pain":5,"discomfort":"mild","weightBearing":"full","crutches":false,"painMedicine":["paracetamol"],"swelling":"none","redness":"none","fever":false}"#
        let e = try StrictJSON.decode(DiaryEntry.self, from: Data(good.utf8))
        #expect(e == entry(day: 3, pain: 5).with { $0.discomfort = .mild; $0.swelling = .none })
        let roundTrip = try StrictJSON.decode(DiaryEntry.self, from: try StrictJSON.encode(e))
        #expect(roundTrip == e)
        func message(_ json: String) -> String? {
            do { _ = try StrictJSON.decode(DiaryEntry.self, from: Data(json.utf8)); return nil } catch { return error.description }
        }
        let bad = good.replacingOccurrences(of: #""pain":5"#, with: #""pain":12"#)
            .replacingOccurrences(of: #""fever":false"#, with: #""fever":false,"temperature":50"#)
        #expect(message(bad) == "pain: \(DiaryEntry.painMessage); temperature: A temperature of 50.0 °C is outside 34.0–43.0 °C; please check the number.")
        #expect(message(good.replacingOccurrences(of: #""redness":"none""#, with: #""redness":"pink""#))?.hasPrefix(#"redness: "pink" is not a redness answer"#) == true)
        #expect(message(good.replacingOccurrences(of: #""fever":false"#, with: #""fever":false,"mood":"ok""#)) == #"mood: unknown field "mood""#)
    }

    // MARK: Red flags, each at its boundary

    @Test("fever: answered yes, or a temperature of 38.0 °C or more")
    func feverRule() throws {
        #expect(fired(entry(day: 1, fever: true)) == ["fever"])
        #expect(fired(entry(day: 1, temperature: 38.0)) == ["fever"])
        #expect(fired(entry(day: 1, temperature: 37.9)) == [])
        #expect(fired(entry(day: 7)) == [])
        let flag = try #require(diary.flags(for: entry(day: 2, fever: true), previous: []).first)
        #expect(flag.severity == .urgent && flag.protocolID == diary.id && flag.protocolVersion == diary.version)
        #expect(flag.patientAdvice.contains("call the clinic now") && flag.patientAdvice.contains("emergency services"))
    }

    @Test("spreading redness on any day; redness around the site only after day 3")
    func rednessRules() {
        #expect(fired(entry(day: 1, redness: .spreading)) == ["redness-spreading"])
        #expect(fired(entry(day: 1, redness: .aroundSite)) == [])
        #expect(fired(entry(day: 3, redness: .aroundSite)) == [])
        #expect(fired(entry(day: 4, redness: .aroundSite)) == ["redness-after-day-3"])
        #expect(fired(entry(day: 7, redness: .none)) == [])
    }

    @Test("pain of 8 or more from day 3")
    func painHighRule() {
        #expect(fired(entry(day: 2, pain: 10)) == [])
        #expect(fired(entry(day: 3, pain: 7)) == [])
        #expect(fired(entry(day: 3, pain: 8)) == ["pain-high"])
    }

    @Test("pain rising by 3 points or more since the previous recorded day, after day 2")
    func painRisingRule() {
        #expect(fired(entry(day: 3, pain: 5), previous: [entry(day: 2, pain: 3)]) == [])
        #expect(fired(entry(day: 3, pain: 6), previous: [entry(day: 2, pain: 3)]) == ["pain-rising"])
        #expect(fired(entry(day: 2, pain: 6), previous: [entry(day: 1, pain: 1)]) == [])       // day 2: expected flare
        #expect(fired(entry(day: 3, pain: 6), previous: []) == [])                             // nothing to compare with
        // The previous *recorded* day: day 4 missing, day 5 compares with day 3; later days are ignored.
        let earlier = [entry(day: 1, pain: 2), entry(day: 3, pain: 2), entry(day: 6, pain: 0)]
        #expect(fired(entry(day: 5, pain: 5), previous: earlier) == ["pain-rising"])
        #expect(fired(entry(day: 5, pain: 4), previous: earlier) == [])
        #expect(fired(entry(day: 5, pain: 5), previous: earlier.reversed()) == ["pain-rising"])
    }

    @Test("no weight at all on a knee after day 3")
    func weightBearingRule() {
        #expect(fired(entry(day: 3, weightBearing: .none)) == [])
        #expect(fired(entry(day: 4, weightBearing: .none)) == ["knee-no-weight-bearing"])
        #expect(fired(entry(day: 4, weightBearing: .partial)) == [])
        #expect(fired(entry(day: 4, weightBearing: .none), joint: .hip) == [])
        #expect(fired(entry(day: 4, weightBearing: .none), joint: nil) == ["knee-no-weight-bearing"])   // joint unknown: still flagged
    }

    @Test("several flags: urgent ones first, then in rule order")
    func ordering() {
        let bad = entry(day: 4, pain: 9, weightBearing: .none, redness: .spreading, temperature: 38.4)
        #expect(fired(bad, previous: [entry(day: 3, pain: 4)]) == ["fever", "redness-spreading", "pain-high", "pain-rising",
                                                                     "knee-no-weight-bearing"])
        #expect(diary.flags(for: bad, previous: []).map(\.severity) == [.urgent, .urgent, .review, .review])
    }

    @Test("thresholds are data: a clinic's own file changes when a rule fires")
    func thresholdsAreData() throws {
        let base = String(decoding: try BundledResource.data("protocols/recovery-diary.json"), as: UTF8.self)
        let own = try RecoveryDiaryProtocol.decode(from: Data(base
            .replacingOccurrences(of: #""painAtLeast": 8"#, with: #""painAtLeast": 6"#)
            .replacingOccurrences(of: #""feverOrTemperatureAtLeast": 38.0"#, with: #""feverOrTemperatureAtLeast": 37.5"#).utf8))
        #expect(own.flags(for: entry(day: 3, pain: 6), previous: []).map(\.ruleID) == ["pain-high"])
        #expect(own.flags(for: entry(day: 3, temperature: 37.5), previous: []).map(\.ruleID) == ["fever"])
        #expect(fired(entry(day: 3, pain: 6)) == [] && fired(entry(day: 3, temperature: 37.5)) == [])
    }
}

private extension DiaryEntry {
    func with(_ change: (inout DiaryEntry) -> Void) -> DiaryEntry {
        var copy = self
        change(&copy)
        return copy
    }
}
