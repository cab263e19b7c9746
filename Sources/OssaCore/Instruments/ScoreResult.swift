import Foundation
import OssaJSON

/// The scores of one completed questionnaire, with the rule version that produced them.
///
/// The JSON form is a contract that users' scripts rely on:
/// `{"instrument": "koos", "version": "2012", "scores": {"symptoms": 82.14285714285714, "pain": null, …}}`
/// — keys in that order, scores in the instrument's order, a score that cannot be computed written as
/// an explicit `null`. `jsonString()` / `jsonData()` produce exactly that text. (`Encodable` is also
/// provided for embedding in larger documents; it writes the same keys and nulls, but `JSONEncoder`
/// on Linux does not keep key order.)
public struct ScoreResult: Sendable, Equatable, Encodable {
    /// One named score; `value` is `nil` when too few items were answered.
    public struct Score: Sendable, Equatable {
        public let id: String
        public let value: Double?

        public init(id: String, value: Double?) {
            self.id = id
            self.value = value
        }
    }

    /// Instrument id, e.g. `koos`.
    public let instrument: String
    /// Scoring algorithm version, e.g. `2012`.
    public let version: String
    /// Scores in the instrument's report order.
    public let scores: [Score]

    public init(instrument: String, version: String, scores: [Score]) {
        self.instrument = instrument
        self.version = version
        self.scores = scores
    }

    /// The value of score `id`; `nil` when it was not computable or does not exist.
    public func value(_ id: String) -> Double? {
        scores.first { $0.id == id }?.value
    }

    /// The contract JSON on one line, e.g. `{"instrument": "koos-jr", "version": "…", "scores": {"score": 91.975}}`.
    public func jsonString() -> String {
        let values = scores.map { ($0.id, $0.value.map(JSONValue.number) ?? .null) }
        return JSONValue.object([
            ("instrument", .string(instrument)), ("version", .string(version)), ("scores", .object(values)),
        ]).rendered(.singleLine)
    }

    /// `jsonString()` as UTF-8 bytes.
    public func jsonData() -> Data { Data(jsonString().utf8) }

    /// One line per score for the command line, e.g. `pain: 63.889`, or
    /// `pain: not scored (too few items answered)`.
    public func renderText() -> String {
        scores.map { score in
            guard let value = score.value else { return "\(score.id): not scored (too few items answered)" }
            return "\(score.id): \(Self.display(value))"
        }.joined(separator: "\n")
    }

    /// Writes `instrument`, `version` and `scores` (in order, `null` via `encodeNil` for missing scores).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ResultKey.self)
        try container.encode(instrument, forKey: ResultKey("instrument"))
        try container.encode(version, forKey: ResultKey("version"))
        var nested = container.nestedContainer(keyedBy: ResultKey.self, forKey: ResultKey("scores"))
        for score in scores {
            if let value = score.value {
                try nested.encode(value, forKey: ResultKey(score.id))
            } else {
                try nested.encodeNil(forKey: ResultKey(score.id))
            }
        }
    }

    /// Up to three decimals, trailing zeros dropped (JR tables are published to three decimals).
    static func display(_ value: Double) -> String {
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }
}

private struct ResultKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
