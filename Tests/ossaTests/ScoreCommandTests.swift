import Foundation
import Testing

@Suite("ossa score")
struct ScoreCommandTests {
    @Test("KOOS: every subscale is 100 − mean × 25 of its answered items")
    func koosBaseline() throws {
        let result = try CLI.run(["score", "--instrument", "koos", "--answers", "Examples/answers/koos-baseline.json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try CLI.json(result)
        #expect(json["instrument"] as? String == "koos")
        #expect(json["version"] as? String == "2012")
        let scores = try #require(json["scores"] as? [String: Any])
        #expect(Set(scores.keys) == ["symptoms", "pain", "adl", "sport", "qol"])
        // Answers in Examples/answers/koos-baseline.json:
        let expected: [String: Double] = [
            "symptoms": 100 - 15.0 / 7 * 25, // S1–S7 = 2,1,2,3,2,3,2 → sum 15
            "pain": 100 - 22.0 / 9 * 25,     // P1–P9 = 3,3,2,3,2,3,2,2,2 → sum 22
            "adl": 100 - 40.0 / 17 * 25,     // A1–A17 → sum 40
            "sport": 5,                      // SP1–SP5 = 4,4,4,3,4 → 100 − 19/5×25
            "qol": 31.25,                    // Q1–Q4 = 3,3,2,3 → 100 − 11/4×25
        ]
        for (name, value) in expected {
            let got = try #require(scores[name] as? Double, "\(name)")
            #expect(abs(got - value) < 1e-12, "\(name)")
        }
    }

    @Test("A subscale with fewer than half its items answered is an explicit null")
    func koosPartial() throws {
        let result = try CLI.run(["score", "--instrument", "koos", "--answers", "Examples/answers/koos-6-months-partial.json"])
        #expect(result.status == 0, "\(result.stderr)")
        // QOL has 1 of 4 items (the 2012 rule needs 2): null, written out rather than omitted.
        #expect(result.stdout.contains("\"qol\": null"))
        let scores = try #require(try CLI.json(result)["scores"] as? [String: Any])
        #expect(scores["qol"] is NSNull)
        // Pain: P1–P7 answered (2,2,1,2,1,2,1 = 11), P8 and P9 null: 7 of 9 ≥ 5 → 100 − 11/7×25.
        let pain = try #require(scores["pain"] as? Double)
        let expectedPain: Double = 100 - 11.0 / 7 * 25
        #expect(abs(pain - expectedPain) < 1e-12)
    }

    @Test("KOOS JR uses the HSS table: raw 17 → 44.905")
    func koosJR() throws {
        let result = try CLI.run(["score", "--instrument", "koos-jr", "--answers", "Examples/answers/koos-jr.json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try CLI.json(result)
        #expect(json["instrument"] as? String == "koos-jr")
        let scores = try #require(json["scores"] as? [String: Any])
        #expect(Set(scores.keys) == ["score"])
        // S6 2 + P2 3 + P3 2 + P6 3 + P9 2 + A3 2 + A5 3 = 17; HSS KOOS JR conversion table (Lyman 2016): 17 → 44.905
        #expect(scores["score"] as? Double == 44.905)
    }

    @Test("Pain NRS: the score is the answer; 11 is out of range")
    func nrs() throws {
        let ok = try CLI.run(["score", "--instrument", "nrs-pain", "--answers", try CLI.temporaryFile(#"{"pain": 7}"#)])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect((try CLI.json(ok)["scores"] as? [String: Any])?["score"] as? Double == 7)
        let high = try CLI.run(["score", "--instrument", "nrs-pain", "--answers", try CLI.temporaryFile(#"{"pain": 11}"#)])
        #expect(high.status != 0)
    }

    @Test("Text output names every subscale")
    func text() throws {
        let result = try CLI.run(["score", "--instrument", "koos", "--answers", "Examples/answers/koos-6-months-partial.json", "--format", "text"])
        #expect(result.status == 0)
        for name in ["symptoms", "pain", "adl", "sport", "qol"] { #expect(result.stdout.contains(name)) }
    }

    @Test("An unknown item code fails with its name and a non-zero exit")
    func unknownItem() throws {
        let file = try CLI.temporaryFile(#"{"P1": 2, "PX": 1}"#)
        let result = try CLI.run(["score", "--instrument", "koos", "--answers", file])
        #expect(result.status != 0)
        #expect(result.stderr.contains("PX"))
        #expect(result.stdout.isEmpty)
    }

    @Test("An out-of-range value fails with the item's code")
    func outOfRange() throws {
        let file = try CLI.temporaryFile(#"{"P1": 2, "P2": 7}"#)
        let result = try CLI.run(["score", "--instrument", "koos", "--answers", file])
        #expect(result.status != 0)
        #expect(result.stderr.contains("P2"))
    }

    @Test("A non-integer answer and a non-object file are rejected")
    func malformedAnswers() throws {
        let word = try CLI.run(["score", "--instrument", "nrs-pain", "--answers", try CLI.temporaryFile(#"{"pain": "three"}"#)])
        #expect(word.status != 0)
        #expect(word.stderr.contains("pain"))
        let array = try CLI.run(["score", "--instrument", "koos", "--answers", try CLI.temporaryFile("[1, 2]")])
        #expect(array.status != 0)
        let broken = try CLI.run(["score", "--instrument", "koos", "--answers", try CLI.temporaryFile("{\"P1\": ")])
        #expect(broken.status != 0)
    }

    @Test("Unknown instrument and missing file are clear errors")
    func badArguments() throws {
        let unknown = try CLI.run(["score", "--instrument", "womac", "--answers", "Examples/answers/koos-jr.json"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("womac"))
        #expect(unknown.stderr.contains("koos"))
        let missing = try CLI.run(["score", "--instrument", "koos", "--answers", "no/such/file.json"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no/such/file.json"))
        let format = try CLI.run(["score", "--instrument", "koos", "--answers", "Examples/answers/koos-jr.json", "--format", "xml"])
        #expect(format.status != 0)
    }
}
