import Foundation

/// Kind of a per-instrument responder threshold: MCID, MCII, PASS or SCB.
public enum ThresholdKind: String, Codable, Sendable, Equatable, CaseIterable {
    /// Minimal clinically important difference (a change).
    case mcid
    /// Minimal clinically important improvement (a change).
    case mcii
    /// Patient acceptable symptom state: a follow-up state, not a change.
    case pass
    /// Substantial clinical benefit (a change).
    case scb

    /// True for the kinds that compare follow-up with baseline.
    public var isChange: Bool { self != .pass }
}

/// Unit of a threshold value.
public enum ThresholdUnit: String, Codable, Sendable, Equatable {
    /// Score points on the instrument's own scale.
    case points
    /// Percent of the baseline score (relative change).
    case percent
}

/// Which way a change threshold counts.
public enum ThresholdDirection: String, Codable, Sendable, Equatable {
    /// Change towards the instrument's better end (for PASS: a state at or better than the value).
    case improvement
    /// Change towards the worse end (deterioration thresholds).
    case worsening
}

/// One responder threshold with its evidence, as stored in `Resources/responders/thresholds.json`.
public struct ResponderThreshold: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    /// Instrument id (`koos`, `hoos-jr`, …).
    public var instrument: String
    /// Score id within the instrument (`pain`, `score`, …).
    public var score: String
    public var kind: ThresholdKind
    public var value: Double
    public var unit: ThresholdUnit
    public var direction: ThresholdDirection
    /// Whether this is the entry used when only instrument, score, kind and unit are chosen.
    public var `default`: Bool
    /// Evidence tag: V checked in the primary paper, S from a secondary source, M from memory (not re-checked).
    public var evidence: String
    /// Citation.
    public var source: String
    /// Population or setting the value was derived in.
    public var context: String?
    public var note: String?

    public init(id: String, instrument: String, score: String, kind: ThresholdKind, value: Double, unit: ThresholdUnit,
                direction: ThresholdDirection = .improvement, default isDefault: Bool = false, evidence: String, source: String,
                context: String? = nil, note: String? = nil) {
        self.id = id
        self.instrument = instrument
        self.score = score
        self.kind = kind
        self.value = value
        self.unit = unit
        self.direction = direction
        self.default = isDefault
        self.evidence = evidence
        self.source = source
        self.context = context
        self.note = note
    }
}

/// The table of responder thresholds: built in, or a clinic's own file in the same schema.
public struct ResponderThresholdTable: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var notes: [String]?
    public var thresholds: [ResponderThreshold]

    public init(schemaVersion: Int = 1, notes: [String]? = nil, thresholds: [ResponderThreshold]) {
        self.schemaVersion = schemaVersion
        self.notes = notes
        self.thresholds = thresholds
    }

    /// Decodes and validates a table; errors name the offending field, e.g. `thresholds[3].value`.
    public static func decode(from data: Data) throws(FieldValidationError) -> ResponderThresholdTable {
        let table = try StrictJSON.decode(ResponderThresholdTable.self, from: data)
        try table.validate()
        return table
    }

    /// The built-in table (`responders/thresholds.json`), loaded once per process.
    public static func builtIn() throws -> ResponderThresholdTable {
        try cachedBuiltIn.get()
    }

    // Initialised once, lazily and thread-safely; immutable afterwards.
    private static let cachedBuiltIn: Result<ResponderThresholdTable, any Error> = Result {
        try decode(from: BundledResource.data("responders/thresholds.json"))
    }

    /// Checks ids are unique, values positive, PASS in points, and at most one default per
    /// instrument × score × kind × unit.
    public func validate() throws(FieldValidationError) {
        guard schemaVersion == 1 else {
            throw FieldValidationError(path: "schemaVersion", message: "unsupported schema version \(schemaVersion) (this build reads 1)")
        }
        var ids = Set<String>()
        var defaults = Set<String>()
        for (index, threshold) in thresholds.enumerated() {
            let path = "thresholds[\(index)]"
            guard !threshold.id.isEmpty, ids.insert(threshold.id).inserted else {
                throw FieldValidationError(path: "\(path).id", message: "missing or duplicate id '\(threshold.id)'")
            }
            guard threshold.value.isFinite, threshold.value > 0 || threshold.kind == .pass else {
                throw FieldValidationError(path: "\(path).value", message: "must be a positive number")
            }
            if threshold.kind == .pass, threshold.unit != .points {
                throw FieldValidationError(path: "\(path).unit", message: "a PASS threshold is a score value, so its unit must be points")
            }
            if threshold.default {
                let key = "\(threshold.instrument)|\(threshold.score)|\(threshold.kind.rawValue)|\(threshold.unit.rawValue)"
                guard defaults.insert(key).inserted else {
                    throw FieldValidationError(path: "\(path).default",
                                               message: "a second default for \(threshold.instrument) \(threshold.score) \(threshold.kind.rawValue) in \(threshold.unit.rawValue)")
                }
            }
        }
    }

    /// All thresholds for an instrument's score, optionally of one kind.
    public func thresholds(instrument: String, score: String, kind: ThresholdKind? = nil) -> [ResponderThreshold] {
        thresholds.filter { $0.instrument == instrument && $0.score == score && (kind == nil || $0.kind == kind) }
    }

    /// The default threshold for instrument × score × kind × unit, if one is marked.
    public func defaultThreshold(instrument: String, score: String, kind: ThresholdKind,
                                 unit: ThresholdUnit = .points) -> ResponderThreshold? {
        thresholds.first { $0.instrument == instrument && $0.score == score && $0.kind == kind && $0.unit == unit && $0.default }
    }

    /// The threshold with `id`, if any.
    public func threshold(id: String) -> ResponderThreshold? {
        thresholds.first { $0.id == id }
    }
}

/// The outcome of applying one threshold to one patient's scores.
public struct ThresholdEvaluation: Sendable, Equatable {
    /// `true`/`false`, or `nil` when a needed score is missing.
    public let isResponder: Bool?
    /// Change towards the better end (follow-up − baseline, sign-adjusted for direction); `nil` for PASS
    /// or missing scores.
    public let improvement: Double?
    /// `improvement` as a percent of the baseline; `nil` when not computable.
    public let relativeImprovementPercent: Double?
    /// The threshold is relative and the baseline is 0, so it cannot be met (flagged, counted as `false`).
    public let baselineZero: Bool
}

/// Applies per-instrument thresholds (MCID / MCII / SCB as changes; PASS as a follow-up state).
public enum ResponderEvaluator {
    /// Absorbs binary floating-point error in differences such as 70.012 − 50.012 so that a change
    /// exactly at the threshold counts as meeting it. Far below any clinically meaningful difference.
    @usableFromInline static let tolerance = 1e-9

    /// Whether the patient is a responder by `threshold`; `nil` when a needed score is missing.
    public static func isResponder(_ threshold: ResponderThreshold, baseline: Double?, followUp: Double?,
                                   direction: ScoreDirection) -> Bool? {
        evaluate(threshold, baseline: baseline, followUp: followUp, direction: direction).isResponder
    }

    /// Full evaluation with the change and flags.
    ///
    /// - Change kinds: improvement = (follow-up − baseline) on a higher-is-better scale, (baseline −
    ///   follow-up) on a higher-is-worse scale; for `worsening` thresholds the sign is reversed. Meets the
    ///   threshold when improvement ≥ value (points) or improvement / |baseline| × 100 ≥ value (percent).
    /// - PASS: the follow-up alone is compared: ≥ value (higher is better) or ≤ value (higher is worse);
    ///   the baseline is not needed.
    public static func evaluate(_ threshold: ResponderThreshold, baseline: Double?, followUp: Double?,
                                direction: ScoreDirection) -> ThresholdEvaluation {
        guard let followUp else {
            return ThresholdEvaluation(isResponder: nil, improvement: nil, relativeImprovementPercent: nil, baselineZero: false)
        }
        if threshold.kind == .pass {
            let meets = switch direction {
            case .higherIsBetter: followUp >= threshold.value - tolerance
            case .higherIsWorse: followUp <= threshold.value + tolerance
            }
            return ThresholdEvaluation(isResponder: meets, improvement: nil, relativeImprovementPercent: nil, baselineZero: false)
        }
        guard let baseline else {
            return ThresholdEvaluation(isResponder: nil, improvement: nil, relativeImprovementPercent: nil, baselineZero: false)
        }
        var change = direction == .higherIsBetter ? followUp - baseline : baseline - followUp
        if threshold.direction == .worsening { change = -change }
        let relative = baseline == 0 ? nil : change / abs(baseline) * 100
        switch threshold.unit {
        case .points:
            return ThresholdEvaluation(isResponder: change >= threshold.value - tolerance, improvement: change,
                                       relativeImprovementPercent: relative, baselineZero: false)
        case .percent:
            guard let relative else {
                return ThresholdEvaluation(isResponder: false, improvement: change, relativeImprovementPercent: nil, baselineZero: true)
            }
            return ThresholdEvaluation(isResponder: relative >= threshold.value - tolerance, improvement: change,
                                       relativeImprovementPercent: relative, baselineZero: false)
        }
    }
}

/// `ResponderEvaluator.isResponder` for one threshold on one score, prepared once: the same verdict on plain doubles
/// (a missing baseline is NaN) without copying the threshold, for counting responders over a whole registry.
@frozen public struct ResponderRule: Sendable {
    @usableFromInline let pass: Bool
    @usableFromInline let higherIsBetter: Bool
    @usableFromInline let worsening: Bool
    @usableFromInline let percent: Bool
    @usableFromInline let value: Double

    public init(_ threshold: ResponderThreshold, direction: ScoreDirection) {
        pass = threshold.kind == .pass
        higherIsBetter = direction == .higherIsBetter
        worsening = threshold.direction == .worsening
        percent = threshold.unit == .percent
        value = threshold.value
    }

    /// Whether `followUp` (against `baseline`, NaN when there is none) meets the threshold; nil when the baseline
    /// is needed and missing.
    @inlinable public func verdict(baseline: Double, followUp: Double) -> Bool? {
        if pass {
            return higherIsBetter ? followUp >= value - ResponderEvaluator.tolerance : followUp <= value + ResponderEvaluator.tolerance
        }
        guard !baseline.isNaN else { return nil }
        var change = higherIsBetter ? followUp - baseline : baseline - followUp
        if worsening { change = -change }
        guard percent else { return change >= value - ResponderEvaluator.tolerance }
        guard baseline != 0 else { return false }
        return change / abs(baseline) * 100 >= value - ResponderEvaluator.tolerance
    }
}
