import Foundation
import Testing
import OssaCore
@testable import OssaStore

/// The direct readers of stored answers and scores must read exactly what JSONDecoder reads, and hand anything
/// they do not expect to it: a stored response that read back differently would change an export or a chart.
@Suite("Stored answers and scores")
struct StoredJSONTests {
    @Test("what the store writes reads back the same as through JSONDecoder, for random answers and scores")
    func roundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var answers: [String: Int?] = [:]
            for index in 0..<Int.random(in: 0...12, using: &generator) {
                answers["Q\(index)"] = Bool.random(using: &generator) ? .some(nil) : Int.random(in: -5...100, using: &generator)
            }
            let text = StoredJSON.answers(answers)
            let parsed = try #require(StoredJSON.parseAnswers(text), "read directly: \(text)")
            #expect(parsed == (try JSONDecoder().decode([String: Int?].self, from: Data(text.utf8))))
            #expect(parsed == answers)

            let values: [Double?] = [nil, 0, 100, 37.5, 1.0 / 3.0, -2.25, 1e-7, 12_345_678.901]
            let scores = (0..<Int.random(in: 0...6, using: &generator)).map { ScoreResult.Score(id: "s\($0)", value: values.randomElement(using: &generator)!) }
            let stored = StoredJSON.scores(ScoreResult(instrument: "koos", version: "2012", scores: scores))
            let read = try #require(StoredJSON.parseScores(stored), "read directly: \(stored)")
            struct Stored: Decodable { var scores: [String: Double?] }
            #expect(read == (try JSONDecoder().decode(Stored.self, from: Data(stored.utf8)).scores))
            #expect(read.count == scores.count)
            for score in scores { #expect(read[score.id] == .some(score.value), "\(stored)") }
        }
    }

    @Test("other JSON is left to JSONDecoder, and read the same")
    func otherForms() throws {
        let answers = [#"{ "Q1": 2 }"#, #"{"Q\u0031":2,"Q2":null}"#, #"{"Q1":2.0}"#, #"{"Q1":true}"#, #"{"Q1":2,}"#, #"{"Q1":2}x"#]
        for text in answers { #expect(StoredJSON.parseAnswers(text) == nil, "\(text)") }
        let expectedAnswers: [String: Int?] = ["Q1": 2, "Q2": nil]
        #expect(try StoredJSON.decodeAnswers(#"{ "Q1": 2, "Q2": null }"#) == expectedAnswers)
        #expect(try StoredJSON.decodeAnswers(#"{"Q\u0031":2}"#) == ["Q1": 2])
        #expect(throws: StoreError.self) { try StoredJSON.decodeAnswers(#"{"Q1":"two"}"#) }

        let scores = [#"{"scores":{"pain":1}}"#, #"{"instrument":"koos","version":"2012","scores":{"pain":1},"extra":1}"#,
                      #"{"instrument":"koos", "version":"2012","scores":{}}"#]
        for text in scores { #expect(StoredJSON.parseScores(text) == nil, "\(text)") }
        let expectedScores: [String: Double?] = ["pain": 1.5, "sport": nil]
        #expect(try StoredJSON.decodeScoreValues(#"{"scores":{"pain":1.5,"sport":null}}"#) == expectedScores)
        #expect(try StoredJSON.parseScores(#"{"instrument":"koos","version":"2012","scores":{}}"#) == [:])
    }
}
