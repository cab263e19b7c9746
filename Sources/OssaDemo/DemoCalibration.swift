import Foundation
import OssaCore

/// The numbers the demo generator is calibrated to, each with its source
/// (`Resources/demo/calibration.json`), and the name and site lists (`Resources/demo/people.json`).
///
/// The generator reads values by id; a missing id is an error naming it, and every entry must carry a
/// non-empty `source` so that no number in the demo is unexplained.
public struct DemoCalibration: Sendable {
    public struct Number: Sendable, Codable, Hashable {
        public var id: String
        public var value: Double
        public var source: String
    }

    public struct ChoiceOption: Sendable, Codable, Hashable {
        public var value: String
        public var weight: Double
    }

    public struct Choice: Sendable, Codable, Hashable {
        public var id: String
        public var options: [ChoiceOption]
        public var source: String
    }

    /// A piecewise-linear curve over days since the index procedure.
    public struct Curve: Sendable, Codable, Hashable {
        public var id: String
        /// `[day, value]` pairs in increasing day order.
        public var points: [[Double]]
        public var source: String

        /// Linear interpolation, flat beyond the ends.
        public func value(atDay day: Double) -> Double {
            guard let first = points.first, let last = points.last else { return 0 }
            if day <= first[0] { return first[1] }
            if day >= last[0] { return last[1] }
            for i in 1..<points.count where day <= points[i][0] {
                let (x0, y0, x1, y1) = (points[i - 1][0], points[i - 1][1], points[i][0], points[i][1])
                return y0 + (y1 - y0) * (day - x0) / (x1 - x0)
            }
            return last[1]
        }
    }

    struct File: Codable {
        var schemaVersion: Int
        var notes: [String]?
        var numbers: [Number]
        var choices: [Choice]
        var curves: [Curve]
    }

    public struct SiteEntry: Sendable, Codable, Hashable {
        public var id: String
        public var name: String
        public var city: String
        public var timeZone: String
        public var weight: Double
        public var prpSystem: String
        public var leukocytes: LeukocyteContent
        public var activation: PRPActivation
        public var alwaysSurgeryCentre: Bool
        /// Login suffix, e.g. `lis`.
        public var code: String
    }

    public struct People: Sendable, Codable, Hashable {
        public var notes: [String]?
        public var femaleGivenNames: [String]
        public var maleGivenNames: [String]
        /// Obviously fictitious family names.
        public var familyNames: [String]
        public var staffGivenNames: [String]
        public var staffFamilyNames: [String]
        public var sites: [SiteEntry]
    }

    public let numbers: [Number]
    public let choices: [Choice]
    public let curves: [Curve]
    public let people: People
    private let numberIndex: [String: Double]
    private let choiceIndex: [String: Choice]
    private let curveIndex: [String: Curve]

    /// The bundled calibration.
    public static func bundled() throws -> DemoCalibration {
        try DemoCalibration(calibrationJSON: DemoResources.data("demo/calibration.json"),
                            peopleJSON: DemoResources.data("demo/people.json"))
    }

    public init(calibrationJSON: Data, peopleJSON: Data) throws {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: calibrationJSON) } catch {
            throw DemoError.invalidCalibration("calibration.json: \(FieldValidationError.from(error))")
        }
        do { people = try JSONDecoder().decode(People.self, from: peopleJSON) } catch {
            throw DemoError.invalidCalibration("people.json: \(FieldValidationError.from(error))")
        }
        guard file.schemaVersion == 1 else { throw DemoError.invalidCalibration("schemaVersion \(file.schemaVersion) is not 1") }
        var seen = Set<String>()
        for id in file.numbers.map(\.id) + file.choices.map(\.id) + file.curves.map(\.id) where !seen.insert(id).inserted {
            throw DemoError.invalidCalibration("id '\(id)' is defined twice")
        }
        for n in file.numbers where n.source.trimmingCharacters(in: .whitespaces).isEmpty || !n.value.isFinite {
            throw DemoError.invalidCalibration("'\(n.id)' needs a finite value and a source")
        }
        for c in file.choices {
            if c.source.trimmingCharacters(in: .whitespaces).isEmpty { throw DemoError.invalidCalibration("'\(c.id)' needs a source") }
            if c.options.isEmpty || c.options.contains(where: { !($0.weight >= 0) }) || c.options.reduce(0, { $0 + $1.weight }) <= 0 {
                throw DemoError.invalidCalibration("'\(c.id)' needs options with non-negative weights summing above 0")
            }
        }
        for c in file.curves {
            if c.source.trimmingCharacters(in: .whitespaces).isEmpty { throw DemoError.invalidCalibration("'\(c.id)' needs a source") }
            if c.points.isEmpty || c.points.contains(where: { $0.count != 2 })
                || zip(c.points, c.points.dropFirst()).contains(where: { $0[0] >= $1[0] }) {
                throw DemoError.invalidCalibration("'\(c.id)' needs [day, value] points in increasing day order")
            }
        }
        if people.sites.isEmpty || people.familyNames.isEmpty || people.femaleGivenNames.isEmpty || people.maleGivenNames.isEmpty
            || people.staffGivenNames.isEmpty || people.staffFamilyNames.isEmpty {
            throw DemoError.invalidCalibration("people.json needs sites and name lists")
        }
        numbers = file.numbers
        choices = file.choices
        curves = file.curves
        numberIndex = Dictionary(uniqueKeysWithValues: file.numbers.map { ($0.id, $0.value) })
        choiceIndex = Dictionary(uniqueKeysWithValues: file.choices.map { ($0.id, $0) })
        curveIndex = Dictionary(uniqueKeysWithValues: file.curves.map { ($0.id, $0) })
    }

    /// The number with `id`.
    public func number(_ id: String) throws(DemoError) -> Double {
        guard let v = numberIndex[id] else { throw .missingCalibration(id) }
        return v
    }

    /// The source line of a number, choice or curve.
    public func source(_ id: String) -> String? {
        numbers.first { $0.id == id }?.source ?? choiceIndex[id]?.source ?? curveIndex[id]?.source
    }

    public func choice(_ id: String) throws(DemoError) -> Choice {
        guard let c = choiceIndex[id] else { throw .missingCalibration(id) }
        return c
    }

    public func curve(_ id: String) throws(DemoError) -> Curve {
        guard let c = curveIndex[id] else { throw .missingCalibration(id) }
        return c
    }

    /// A weighted choice converted to values of `T`; an option that does not convert is a calibration error.
    public func weighted<T: Sendable>(_ id: String, _ convert: (String) -> T?) throws(DemoError) -> [DemoWeighted<T>] {
        var out: [DemoWeighted<T>] = []
        for option in try choice(id).options {
            guard let v = convert(option.value) else { throw .invalidCalibration("'\(id)': option '\(option.value)' is not recognised") }
            out.append(DemoWeighted(v, option.weight))
        }
        return out
    }
}
