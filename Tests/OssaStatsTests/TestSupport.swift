import Foundation
import Testing
@testable import OssaStats

/// Reference files live next to the tests; located from this source file's path.
enum Vectors {
    static let directory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// cohort_1000.csv through the production parser (time, event, group, age, bmi).
    static func cohort(group: Bool = true, covariates: [String] = []) throws -> SurvivalDataset {
        try SurvivalCSV.parse(try text("cohort_1000.csv"),
                              columns: SurvivalColumns(time: "time", event: "event",
                                                       group: group ? "group" : nil, covariates: covariates))
    }
}

/// |a − b| ≤ tol, with a readable failure message.
func expectClose(_ a: Double?, _ b: Double?, _ tol: Double = 1e-9, _ what: @autoclosure () -> String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard let a, let b else {
        #expect(a == nil && b == nil, "\(what()): \(String(describing: a)) vs \(String(describing: b))",
                sourceLocation: sourceLocation)
        return
    }
    #expect(abs(a - b) <= tol, "\(what()): \(a) vs \(b) (diff \(abs(a - b)))", sourceLocation: sourceLocation)
}

/// Relative closeness for quantities spanning many magnitudes.
func expectRelClose(_ a: Double, _ b: Double, _ rel: Double, _ what: @autoclosure () -> String = "",
                    sourceLocation: SourceLocation = #_sourceLocation) {
    let ok = a == b || abs(a - b) <= rel * abs(b)
    #expect(ok, "\(what()): \(a) vs \(b) (rel \(abs(a - b) / abs(b)))", sourceLocation: sourceLocation)
}

func double(_ any: Any?) -> Double? {
    if let d = any as? Double { return d }
    if let n = any as? NSNumber { return n.doubleValue }
    if let i = any as? Int { return Double(i) }
    return nil
}
