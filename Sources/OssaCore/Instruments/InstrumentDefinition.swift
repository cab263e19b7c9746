import Foundation

/// Which end of a scale is the good end.
///
/// Directions differ between instruments (KOOS/HOOS: 100 = best; NRS pain: 10 = worst; Tegner/UCLA:
/// higher = more active), so responder rules must normalise direction explicitly.
public enum ScoreDirection: String, Codable, Sendable, Equatable, CaseIterable {
    /// Higher values mean a better state (KOOS, HOOS, JR forms; Tegner/UCLA: more active).
    case higherIsBetter = "higher-is-better"
    /// Higher values mean a worse state (NRS pain, patient global assessment, WOMAC).
    case higherIsWorse = "higher-is-worse"
}

/// One answer box of a choice item: the ordinal value used for scoring and its display label.
///
/// Scoring reads only `value`, never the label, so a translated or licensed wording cannot change a
/// score (the 0–4 vs 1–5 bug class, e.g. ben-domingue/irw#2100).
public struct AnswerOption: Codable, Sendable, Equatable {
    public var value: Int
    public var label: String

    public init(value: Int, label: String) {
        self.value = value
        self.label = label
    }
}

/// What kind of answer an item takes.
public enum InstrumentItemType: String, Codable, Sendable, Equatable {
    /// One of the item's answer options (an ordinal value).
    case choice
    /// A calendar date (events form follow-up fields); not scored.
    case date
    /// Free text (events form follow-up fields); not scored.
    case text
}

/// Shows an item only when another item has a given ordinal answer (e.g. "which replacement?" only
/// after "joint replacement? = yes").
public struct ItemEnableCondition: Codable, Sendable, Equatable {
    /// Code of the controlling item.
    public var item: String
    /// Ordinal value of the controlling item that enables this one.
    public var equals: Int

    public init(item: String, equals: Int) {
        self.item = item
        self.equals = equals
    }
}

/// One question of an instrument.
public struct InstrumentItem: Codable, Sendable, Equatable {
    /// Stable item code (e.g. `P1`); answers and scores refer to items by this code.
    public var code: String
    /// Patient-facing wording. The shipped text is a plain-language paraphrase; a clinic holding a
    /// licence can replace it (see `InstrumentDefinition.replacingWording(_:)`).
    public var text: String
    /// Answer type; `choice` when absent in the JSON.
    public var type: InstrumentItemType?
    /// Name of a shared option list in `InstrumentDefinition.responseSets`.
    public var responseSet: String?
    /// Options given inline (instead of `responseSet`).
    public var options: [AnswerOption]?
    /// When set, the item is asked only if the condition holds.
    public var enableWhen: ItemEnableCondition?

    public init(code: String, text: String, type: InstrumentItemType? = nil, responseSet: String? = nil,
                options: [AnswerOption]? = nil, enableWhen: ItemEnableCondition? = nil) {
        self.code = code
        self.text = text
        self.type = type
        self.responseSet = responseSet
        self.options = options
        self.enableWhen = enableWhen
    }

    /// The effective answer type (`choice` when the JSON omits `type`).
    public var itemType: InstrumentItemType { type ?? .choice }
}

/// Which published scoring rule an instrument follows, and its version; stored with every score so a
/// later rule change (e.g. KOOS 1998 → 2012 missing-data rule) never silently mixes results.
public struct ScoringSpec: Codable, Sendable, Equatable {
    /// Algorithm id, e.g. `koos-subscale-mean`, `hss-jr-table`, `single-item`, `none`.
    public var algorithm: String
    /// Version of the rule, written into every `ScoreResult` (`"version"`).
    public var version: String
    /// Where the rule is published.
    public var reference: String?

    public init(algorithm: String, version: String, reference: String? = nil) {
        self.algorithm = algorithm
        self.version = version
        self.reference = reference
    }
}

/// How a score is computed from its items.
public enum ScoreMethod: String, Codable, Sendable, Equatable {
    /// Mean of the answered items, then `transform` (KOOS/HOOS: 100 − mean × 25).
    case mean
    /// Sum of the items; with missing items (allowed down to `minimumAnswered`) the sum is prorated
    /// as mean × item count (mean imputation, as WOMAC guides do). Then `transform`.
    case sum
    /// Sum of all items looked up in `table` (KOOS JR / HOOS JR raw → interval score). All items required.
    case table
    /// The single item's value itself (NRS, PGA, Tegner, UCLA), then `transform` if given.
    case item
}

/// `score = intercept + slope × aggregate`; KOOS/HOOS use intercept 100, slope −25 on the item mean.
public struct LinearTransform: Codable, Sendable, Equatable {
    public var intercept: Double
    public var slope: Double

    public init(intercept: Double, slope: Double) {
        self.intercept = intercept
        self.slope = slope
    }
}

/// One row of a raw-sum → score conversion table.
public struct ScoreTableRow: Codable, Sendable, Equatable {
    public var raw: Int
    public var score: Double

    public init(raw: Int, score: Double) {
        self.raw = raw
        self.score = score
    }
}

/// Closed range of a score, for display and validation of plotted axes.
public struct ScoreRange: Codable, Sendable, Equatable {
    public var min: Double
    public var max: Double

    public init(min: Double, max: Double) {
        self.min = min
        self.max = max
    }
}

/// One reported score (a KOOS subscale, the JR interval score, a single-item value).
public struct ScoreDefinition: Codable, Sendable, Equatable {
    /// Key in the result JSON, e.g. `pain`, `score`, `preInjury`.
    public var id: String
    /// Human-readable name.
    public var label: String
    public var method: ScoreMethod
    /// Item codes that make up the score, in questionnaire order.
    public var items: [String]
    /// Fewest answered items for which the score is computed; otherwise the score is `null`.
    public var minimumAnswered: Int
    public var transform: LinearTransform?
    /// Raw-sum conversion table (method `table` only), one row per raw sum from 0 to the maximum.
    public var table: [ScoreTableRow]?
    /// LOINC code of the score, only where verified against the LOINC table (loinc.org).
    public var loinc: String?
    public var range: ScoreRange?
    /// Overrides the instrument's direction for this score.
    public var direction: ScoreDirection?

    public init(id: String, label: String, method: ScoreMethod, items: [String], minimumAnswered: Int,
                transform: LinearTransform? = nil, table: [ScoreTableRow]? = nil, loinc: String? = nil,
                range: ScoreRange? = nil, direction: ScoreDirection? = nil) {
        self.id = id
        self.label = label
        self.method = method
        self.items = items
        self.minimumAnswered = minimumAnswered
        self.transform = transform
        self.table = table
        self.loinc = loinc
        self.range = range
        self.direction = direction
    }
}

/// The OMERACT-OARSI domains (Pham 2004), each on 0–100 with higher = worse.
public enum OmeractOarsiDomain: String, Codable, Sendable, Equatable, CaseIterable {
    case pain
    case function
    case patientGlobal
}

/// How one score of an instrument maps onto an OMERACT-OARSI domain's 0–100, higher = worse scale
/// (e.g. KOOS pain → 100 − score; NRS 0–10 → × 10).
public struct OmeractOarsiMapping: Codable, Sendable, Equatable {
    /// Score id within the instrument.
    public var score: String
    public var domain: OmeractOarsiDomain
    public var transform: LinearTransform

    public init(score: String, domain: OmeractOarsiDomain, transform: LinearTransform) {
        self.score = score
        self.domain = domain
        self.transform = transform
    }

    /// The score on the domain's 0–100, higher = worse scale.
    public func domainValue(_ score: Double) -> Double {
        transform.intercept + transform.slope * score
    }
}

/// A questionnaire as data: items, answer options, scoring rule and codes.
///
/// Built-in definitions live in `Resources/instruments/<id>.json`; a clinic can supply its own (e.g. a
/// licensed WOMAC) in the same schema through `InstrumentDefinition.decode(from:)`.
public struct InstrumentDefinition: Codable, Sendable, Equatable, Identifiable {
    /// Schema version of the JSON file; this build reads version 1.
    public var schemaVersion: Int
    /// Stable id, e.g. `koos`, `hoos-jr`, `nrs-pain`.
    public var id: String
    public var title: String
    public var abbreviation: String
    /// Joints the instrument is meant for (`knee`, `hip`, …); empty or absent = any.
    public var joints: [String]?
    /// Recall period shown to the patient, e.g. "the last week".
    public var recallPeriod: String?
    public var direction: ScoreDirection
    /// Plain-language note on the direction (e.g. "higher = more active").
    public var directionNote: String?
    public var scoring: ScoringSpec
    /// LOINC panel code, only where verified against the LOINC table (loinc.org).
    public var loincPanel: String?
    /// Licence and wording note.
    public var licence: String
    /// Where the item wording comes from (`paraphrase` for the shipped files).
    public var wordingSource: String?
    /// Shared option lists referenced by items' `responseSet`.
    public var responseSets: [String: [AnswerOption]]?
    public var items: [InstrumentItem]
    /// Scores in report order; empty for forms without a numeric score (events).
    public var scores: [ScoreDefinition]
    /// Inputs this instrument can provide to the OMERACT-OARSI responder rule.
    public var omeractOarsi: [OmeractOarsiMapping]?
    public var notes: [String]?

    public init(schemaVersion: Int = 1, id: String, title: String, abbreviation: String, joints: [String]? = nil,
                recallPeriod: String? = nil, direction: ScoreDirection, directionNote: String? = nil,
                scoring: ScoringSpec, loincPanel: String? = nil, licence: String, wordingSource: String? = nil,
                responseSets: [String: [AnswerOption]]? = nil, items: [InstrumentItem], scores: [ScoreDefinition],
                omeractOarsi: [OmeractOarsiMapping]? = nil, notes: [String]? = nil) {
        self.schemaVersion = schemaVersion
        self.id = id
        self.title = title
        self.abbreviation = abbreviation
        self.joints = joints
        self.recallPeriod = recallPeriod
        self.direction = direction
        self.directionNote = directionNote
        self.scoring = scoring
        self.loincPanel = loincPanel
        self.licence = licence
        self.wordingSource = wordingSource
        self.responseSets = responseSets
        self.items = items
        self.scores = scores
        self.omeractOarsi = omeractOarsi
        self.notes = notes
    }

    /// The schema version this build understands.
    public static let supportedSchemaVersion = 1

    /// True when the instrument yields at least one numeric score (the events form does not).
    public var isScorable: Bool { !scores.isEmpty }

    /// The item with `code`, if any.
    public func item(_ code: String) -> InstrumentItem? {
        items.first { $0.code == code }
    }

    /// The score definition with `id`, if any.
    public func score(id: String) -> ScoreDefinition? {
        scores.first { $0.id == id }
    }

    /// Direction of one score (its own override, else the instrument's).
    public func direction(ofScore id: String) -> ScoreDirection {
        score(id: id)?.direction ?? direction
    }

    /// Answer options of an item: inline options, else its response set; empty for date/text items.
    public func options(for item: InstrumentItem) -> [AnswerOption] {
        if let inline = item.options { return inline }
        if let name = item.responseSet { return responseSets?[name] ?? [] }
        return []
    }

    /// Returns a copy whose item wording is replaced by `texts` (item code → text), e.g. a clinic's
    /// licensed wording. Throws when a code is not an item of this instrument.
    public func replacingWording(_ texts: [String: String]) throws(FieldValidationError) -> InstrumentDefinition {
        var copy = self
        for code in texts.keys.sorted() {
            guard let index = copy.items.firstIndex(where: { $0.code == code }) else {
                throw FieldValidationError(path: code, message: "is not an item of instrument '\(id)'")
            }
            copy.items[index].text = texts[code] ?? copy.items[index].text
        }
        return copy
    }
}
