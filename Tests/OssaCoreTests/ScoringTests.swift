import Foundation
import Testing
@testable import OssaCore

/// Scoring against hand-worked values and the HSS KOOS JR / HOOS JR conversion tables (Lyman 2016), typed here.
@Suite("Scoring")
struct ScoringTests {
    let library: InstrumentLibrary

    init() throws {
        library = try InstrumentLibrary.builtIn()
    }

    func codes(_ prefix: String, _ count: Int) -> [String] { (1...count).map { "\(prefix)\($0)" } }

    /// Answers giving `values` to `codes` in order.
    func answers(_ codes: [String], _ values: [Int?]) -> [String: Int?] {
        Dictionary(uniqueKeysWithValues: zip(codes, values).map { ($0, $1) })
    }

    func close(_ actual: Double?, _ expected: Double) -> Bool {
        guard let actual else { return false }
        return abs(actual - expected) < 1e-9
    }

    // MARK: KOOS

    var koosCodes: [String] { codes("S", 7) + codes("P", 9) + codes("A", 17) + codes("SP", 5) + codes("Q", 4) }
    var hoosCodes: [String] { codes("S", 5) + codes("P", 10) + codes("A", 17) + codes("SP", 4) + codes("Q", 4) }

    @Test func koosAllZeroIsHundredAllFourIsZero() throws {
        let koos = try library.require(id: "koos")
        let best = try koos.score(answers(koosCodes, Array(repeating: 0, count: 42)))
        let worst = try koos.score(answers(koosCodes, Array(repeating: 4, count: 42)))
        for id in ["symptoms", "pain", "adl", "sport", "qol"] {
            #expect(best.value(id) == 100, "\(id)")  // 100 − 0 × 25
            #expect(worst.value(id) == 0, "\(id)")   // 100 − 4 × 25
        }
    }

    @Test func koosMixedCaseEverySubscale() throws {
        let koos = try library.require(id: "koos")
        var given = answers(codes("S", 7), [0, 1, 2, 3, 4, 0, 1])      // sum 11, mean 11/7
        given.merge(answers(codes("P", 9), [1, 2, 3, 4, 0, 1, 2, 3, 4])) { $1 }  // sum 20, mean 20/9
        given.merge(answers(codes("A", 17), Array(repeating: 2, count: 17))) { $1 }  // mean 2
        given.merge(answers(codes("SP", 5), [4, 4, 4, 3, 3])) { $1 }  // sum 18, mean 3.6
        given.merge(answers(codes("Q", 4), [1, 1, 2, 2])) { $1 }      // sum 6, mean 1.5
        let result = try koos.score(given)
        #expect(close(result.value("symptoms"), 100 - 11.0 / 7 * 25))  // 60.714…
        #expect(close(result.value("pain"), 100 - 20.0 / 9 * 25))      // 44.444…
        #expect(result.value("adl") == 50)                             // 100 − 2 × 25
        #expect(close(result.value("sport"), 10))                     // 100 − 3.6 × 25
        #expect(result.value("qol") == 62.5)                           // 100 − 1.5 × 25
        #expect(result.scores.map(\.id) == ["symptoms", "pain", "adl", "sport", "qol"])
        #expect(result.instrument == "koos")
        #expect(result.version == "2012")
    }

    /// 2012 rule: ≥ 50% answered — symptoms 4/7, pain 5/9, ADL 9/17, sport 3/5, QOL 2/4 (KOOS User's Guide 2012).
    @Test(arguments: [("symptoms", "S", 7, 4), ("pain", "P", 9, 5), ("adl", "A", 17, 9), ("sport", "SP", 5, 3), ("qol", "Q", 4, 2)])
    func koosMissingDataRule(subscale: String, prefix: String, items: Int, minimum: Int) throws {
        let koos = try library.require(id: "koos")
        let all = codes(prefix, items)
        // Exactly at the minimum, every answered item = 1 → mean 1 → 75; the rest unanswered (null).
        let atMinimum = answers(all, (0..<items).map { $0 < minimum ? 1 : nil })
        #expect(try koos.score(atMinimum).value(subscale) == 75)
        // One below the minimum → not scored.
        let below = answers(all, (0..<items).map { $0 < minimum - 1 ? 1 : nil })
        let result = try koos.score(below)
        #expect(result.value(subscale) == nil)
        #expect(result.scores.contains { $0.id == subscale && $0.value == nil })
        // Items simply absent from the answers count as unanswered too.
        let absent = answers(Array(all.prefix(minimum - 1)), Array(repeating: 1, count: minimum - 1))
        #expect(try koos.score(absent).value(subscale) == nil)
    }

    @Test func koosMeanUsesAnsweredItemsOnly() throws {
        // Pain: 5 answered (0, 1, 2, 3, 4), 4 missing → mean 10/5 = 2 → 100 − 2 × 25 = 50.
        let koos = try library.require(id: "koos")
        let given = answers(codes("P", 9), [0, 1, 2, 3, 4, nil, nil, nil, nil])
        #expect(try koos.score(given).value("pain") == 50)
    }

    // MARK: HOOS

    @Test func hoosEndpointsAndMixed() throws {
        let hoos = try library.require(id: "hoos")
        let best = try hoos.score(answers(hoosCodes, Array(repeating: 0, count: 40)))
        let worst = try hoos.score(answers(hoosCodes, Array(repeating: 4, count: 40)))
        for id in ["symptoms", "pain", "adl", "sport", "qol"] {
            #expect(best.value(id) == 100)
            #expect(worst.value(id) == 0)
        }
        var given = answers(codes("S", 5), [1, 1, 1, 1, 2])           // mean 6/5 = 1.2 → 70
        given.merge(answers(codes("P", 10), [1, 2, 3, 4, 0, 1, 2, 3, 4, 0])) { $1 }  // mean 2 → 50
        given.merge(answers(codes("SP", 4), [3, 3, 3, 4])) { $1 }      // mean 13/4 = 3.25 → 18.75
        let result = try hoos.score(given)
        #expect(close(result.value("symptoms"), 70))
        #expect(result.value("pain") == 50)
        #expect(result.value("sport") == 18.75)
        #expect(result.value("adl") == nil)
        #expect(result.value("qol") == nil)
        #expect(result.version == "2013")
    }

    /// 2013 rule: symptoms ≥ 3, pain ≥ 5, ADL ≥ 9, sport ≥ 2, QOL ≥ 2 (HOOS User's Guide 2013).
    @Test(arguments: [("symptoms", "S", 5, 3), ("pain", "P", 10, 5), ("adl", "A", 17, 9), ("sport", "SP", 4, 2), ("qol", "Q", 4, 2)])
    func hoosMissingDataRule(subscale: String, prefix: String, items: Int, minimum: Int) throws {
        let hoos = try library.require(id: "hoos")
        let all = codes(prefix, items)
        let atMinimum = answers(all, (0..<items).map { $0 < minimum ? 2 : nil })   // mean 2 → 50
        #expect(try hoos.score(atMinimum).value(subscale) == 50)
        let below = answers(all, (0..<items).map { $0 < minimum - 1 ? 2 : nil })
        #expect(try hoos.score(below).value(subscale) == nil)
    }

    // MARK: JR forms

    /// KOOS JR raw 0–28 → interval, typed from the HSS conversion table (Lyman 2016).
    static let koosJRTable: [Double] = [
        100.000, 91.975, 84.600, 79.914, 76.332, 73.342, 70.704, 68.284, 65.994, 63.776,
        61.583, 59.381, 57.140, 54.840, 52.465, 50.012, 47.487, 44.905, 42.281, 39.625,
        36.931, 34.174, 31.307, 28.251, 24.875, 20.941, 15.939, 8.291, 0.000,
    ]
    /// HOOS JR raw 0–24 → interval, typed from the HSS conversion table (Lyman 2016).
    static let hoosJRTable: [Double] = [
        100.000, 92.340, 85.257, 80.550, 76.776, 73.472, 70.426, 67.516, 64.664,
        61.815, 58.930, 55.985, 52.965, 49.858, 46.652, 43.335, 39.902, 36.363,
        32.735, 29.009, 25.103, 20.805, 15.633, 8.104, 0.000,
    ]

    /// Spreads `raw` over the items, filling each to 4 in turn.
    func answersSumming(to raw: Int, _ codes: [String]) -> [String: Int?] {
        var left = raw
        return answers(codes, codes.map { _ in let value = min(4, left); left -= value; return value })
    }

    @Test func koosJREndpointsAndEveryRow() throws {
        let jr = try library.require(id: "koos-jr")
        let items = ["S6", "P2", "P3", "P6", "P9", "A3", "A5"]
        #expect(try jr.score(answers(items, Array(repeating: 0, count: 7))).value("score") == 100)
        #expect(try jr.score(answers(items, Array(repeating: 4, count: 7))).value("score") == 0)
        #expect(try jr.score(answers(items, [1, 0, 0, 0, 0, 0, 0])).value("score") == 91.975)
        #expect(try jr.score(answers(items, [2, 2, 2, 2, 2, 2, 2])).value("score") == 52.465)   // raw 14
        for (raw, expected) in Self.koosJRTable.enumerated() {
            #expect(try jr.score(answersSumming(to: raw, items)).value("score") == expected, "raw \(raw)")
        }
        #expect(jr.scoring.version == "HSS-2016")
    }

    @Test func hoosJREndpointsAndEveryRow() throws {
        let jr = try library.require(id: "hoos-jr")
        let items = ["P5", "P10", "A3", "A5", "A12", "A14"]
        #expect(try jr.score(answers(items, Array(repeating: 0, count: 6))).value("score") == 100)
        #expect(try jr.score(answers(items, Array(repeating: 4, count: 6))).value("score") == 0)
        #expect(try jr.score(answers(items, [3, 3, 2, 2, 1, 1])).value("score") == 52.965)   // raw 12
        for (raw, expected) in Self.hoosJRTable.enumerated() {
            #expect(try jr.score(answersSumming(to: raw, items)).value("score") == expected, "raw \(raw)")
        }
    }

    @Test func jrOneMissingItemIsNull() throws {
        let koosJR = try library.require(id: "koos-jr")
        let result = try koosJR.score(answers(["S6", "P2", "P3", "P6", "P9", "A3", "A5"], [1, 1, 1, 1, 1, 1, nil]))
        #expect(result.value("score") == nil)
        #expect(result.jsonString() == #"{"instrument": "koos-jr", "version": "HSS-2016", "scores": {"score": null}}"#)
        let hoosJR = try library.require(id: "hoos-jr")
        #expect(try hoosJR.score(answers(["P5", "P10", "A3", "A5", "A12"], [0, 0, 0, 0, 0])).value("score") == nil)
    }

    @Test func koosJRFromAFullKOOS() throws {
        // KOOS JR keeps the parent item codes, so a full KOOS can be rescored as KOOS JR.
        let full = answers(koosCodes, Array(repeating: 1, count: 42))  // JR raw = 7 × 1 = 7 → 68.284
        let jr = try library.require(id: "koos-jr")
        #expect(try jr.score(full, ignoringUnknownItems: true).value("score") == 68.284)
        #expect(throws: ScoringError.unknownItem(instrument: "koos-jr", item: "A1")) { try jr.score(full) }
    }

    // MARK: Single-item instruments

    @Test func singleItemScoresAreTheValue() throws {
        #expect(try library.require(id: "nrs-pain").score(["pain": 7]).value("score") == 7)
        #expect(try library.require(id: "nrs-pain").score(["pain": 0]).value("score") == 0)
        #expect(try library.require(id: "nrs-pain").score(["pain": nil]).value("score") == nil)
        #expect(try library.require(id: "pga").score(["global": 10]).value("score") == 10)
        #expect(try library.require(id: "ucla").score(["activity": 1]).value("score") == 1)
        let tegner = try library.require(id: "tegner").score(["current": 3, "preInjury": 7])
        #expect(tegner.value("current") == 3)
        #expect(tegner.value("preInjury") == 7)
    }

    // MARK: Errors

    @Test func unknownItemCodeIsNamed() throws {
        let koos = try library.require(id: "koos")
        let error = #expect(throws: ScoringError.self) { try koos.score(["P1": 1, "P10": 2]) }
        #expect(error == .unknownItem(instrument: "koos", item: "P10"))
        #expect(error?.description.contains("'P10'") == true)
    }

    @Test func outOfRangeValueIsNamed() throws {
        let koos = try library.require(id: "koos")
        let error = #expect(throws: ScoringError.self) { try koos.score(["P1": 1, "P3": 5]) }
        #expect(error == .valueOutOfRange(instrument: "koos", item: "P3", value: 5, allowed: [0, 1, 2, 3, 4]))
        #expect(error?.description.contains("'P3'") == true)
        #expect(error?.description.contains("5") == true)
        #expect(throws: ScoringError.valueOutOfRange(instrument: "koos", item: "S1", value: -1, allowed: [0, 1, 2, 3, 4])) {
            try koos.score(["S1": -1])
        }
        // UCLA starts at 1: 0 is out of range; NRS stops at 10.
        #expect(throws: ScoringError.self) { try library.require(id: "ucla").score(["activity": 0]) }
        #expect(throws: ScoringError.self) { try library.require(id: "nrs-pain").score(["pain": 11]) }
    }

    @Test func eventsFormIsNotScorable() throws {
        let events = try library.require(id: "events")
        let error = #expect(throws: ScoringError.self) { try events.score(["jointReplacement": 1]) }
        #expect(error == .notScorable(instrument: "events"))
        #expect(error?.description.contains("events") == true)
        // The events answers can still be validated: yes = 1, no = 0; 2 is not an answer.
        try events.validate(answers: ["jointReplacement": 1, "jointReplacementType": 3])
        #expect(throws: ScoringError.valueOutOfRange(instrument: "events", item: "jointReplacement", value: 2, allowed: [0, 1])) {
            try events.validate(answers: ["jointReplacement": 2])
        }
        #expect(throws: ScoringError.notAChoiceItem(instrument: "events", item: "jointReplacementDate")) {
            try events.validate(answers: ["jointReplacementDate": 20240101])
        }
    }

    // MARK: Answers files

    @Test func answersFileParses() throws {
        let parsed = try AnswerFile.parse(Data(#"{"P1": 2, "P2": null, "P3": 0}"#.utf8))
        #expect(parsed.count == 3)
        #expect(parsed["P1"] == .some(2))
        #expect(parsed["P2"] == .some(nil))
        #expect(parsed["P3"] == .some(0))
    }

    @Test func answersFileNonIntegerValuesAreNamed() {
        let text = #expect(throws: ScoringError.self) { try AnswerFile.parse(Data(#"{"P1": 1, "P2": "three"}"#.utf8)) }
        #expect(text == .notAnInteger(item: "P2", found: "the text \"three\""))
        #expect(text?.description.contains("'P2'") == true)
        let fraction = #expect(throws: ScoringError.self) { try AnswerFile.parse(Data(#"{"A7": 2.5}"#.utf8)) }
        #expect(fraction == .notAnInteger(item: "A7", found: "2.5"))
        #expect(fraction?.description.contains("'A7'") == true)
        let bool = #expect(throws: ScoringError.self) { try AnswerFile.parse(Data(#"{"Q1": true}"#.utf8)) }
        #expect(bool == .notAnInteger(item: "Q1", found: "true"))
        let list = #expect(throws: ScoringError.self) { try AnswerFile.parse(Data(#"{"S1": [1]}"#.utf8)) }
        #expect(list?.description.contains("'S1'") == true)
    }

    @Test func answersFileMustBeAnObject() {
        #expect(throws: ScoringError.notAnObject(found: "a list")) { try AnswerFile.parse(Data("[1, 2]".utf8)) }
        #expect(throws: ScoringError.notAnObject(found: "a number or boolean")) { try AnswerFile.parse(Data("3".utf8)) }
        let broken = #expect(throws: ScoringError.self) { try AnswerFile.parse(Data("{\"P1\": ".utf8)) }
        if case .invalidJSON = broken {} else { Issue.record("expected invalidJSON, got \(String(describing: broken))") }
    }

    @Test func answersFileThenScore() throws {
        let data = Data(#"{"S6": 1, "P2": 0, "P3": 0, "P6": 0, "P9": 0, "A3": 0, "A5": 0}"#.utf8)
        let result = try library.require(id: "koos-jr").score(try AnswerFile.parse(data))
        #expect(result.value("score") == 91.975)  // raw 1
    }

    // MARK: JSON contract and text

    @Test func koosJSONIsExactWithNullsInOrder() throws {
        let koos = try library.require(id: "koos")
        var given = answers(codes("S", 7), Array(repeating: 0, count: 7))          // 100
        given.merge(answers(codes("P", 9), [1, 1, 1, 1, nil, nil, nil, nil, nil])) { $1 }  // 4/9 → null
        given.merge(answers(codes("A", 17), Array(repeating: 2, count: 17))) { $1 }      // 50
        given.merge(answers(codes("Q", 4), [1, 1, 2, 2])) { $1 }                           // 62.5; sport absent → null
        let result = try koos.score(given)
        #expect(result.jsonString()
            == #"{"instrument": "koos", "version": "2012", "scores": {"symptoms": 100, "pain": null, "adl": 50, "sport": null, "qol": 62.5}}"#)
        #expect(result.jsonData() == Data(result.jsonString().utf8))
        // The bytes are valid JSON with explicit nulls.
        let object = try #require(try JSONSerialization.jsonObject(with: result.jsonData()) as? [String: Any])
        let scores = try #require(object["scores"] as? [String: Any])
        #expect(scores.count == 5)
        #expect(scores["pain"] is NSNull)
        #expect(scores["sport"] is NSNull)
    }

    @Test func fractionalScoresRoundTrip() throws {
        let koos = try library.require(id: "koos")
        let result = try koos.score(answers(codes("P", 9), [1, 2, 3, 4, 0, 1, 2, 3, 4]))
        let object = try #require(try JSONSerialization.jsonObject(with: result.jsonData()) as? [String: Any])
        let scores = try #require(object["scores"] as? [String: Any])
        let pain = try #require(scores["pain"] as? Double)
        #expect(pain == result.value("pain"))  // full precision, no rounding in the contract
    }

    @Test func jrAndSingleScoreJSON() throws {
        let jr = try library.require(id: "hoos-jr").score(answers(["P5", "P10", "A3", "A5", "A12", "A14"], [1, 0, 0, 0, 0, 0]))
        #expect(jr.jsonString() == #"{"instrument": "hoos-jr", "version": "HSS-2016", "scores": {"score": 92.34}}"#)
        let nrs = try library.require(id: "nrs-pain").score(["pain": 7])
        #expect(nrs.jsonString() == #"{"instrument": "nrs-pain", "version": "1", "scores": {"score": 7}}"#)
        let tegner = try library.require(id: "tegner").score(["current": 3])
        #expect(tegner.jsonString() == #"{"instrument": "tegner", "version": "1", "scores": {"current": 3, "preInjury": null}}"#)
    }

    @Test func encodableWritesExplicitNulls() throws {
        let result = ScoreResult(instrument: "koos", version: "2012",
                                 scores: [.init(id: "symptoms", value: 50), .init(id: "pain", value: nil)])
        let data = try JSONEncoder().encode(result)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["instrument"] as? String == "koos")
        #expect(object["version"] as? String == "2012")
        let scores = try #require(object["scores"] as? [String: Any])
        #expect(scores["symptoms"] as? Double == 50)
        #expect(scores.keys.contains("pain"))
        #expect(scores["pain"] is NSNull)
    }

    @Test func textRenderingOneLinePerScore() {
        let result = ScoreResult(instrument: "koos", version: "2012", scores: [
            .init(id: "symptoms", value: 100), .init(id: "pain", value: 100 - 20.0 / 9 * 25),
            .init(id: "adl", value: nil), .init(id: "sport", value: 91.975), .init(id: "qol", value: 62.5),
        ])
        #expect(result.renderText().split(separator: "\n") == [
            "symptoms: 100", "pain: 44.444", "adl: not scored (too few items answered)", "sport: 91.975", "qol: 62.5",
        ])
    }
}
