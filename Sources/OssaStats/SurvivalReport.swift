import OssaJSON
/// Everything `ossa stats survival` computes, with full detail (counts, CIs of hazard
/// ratios, observed/expected). `report` projects it onto the stable JSON contract.
public struct SurvivalAnalysis: Sendable {
    /// Whole-cohort curve.
    public let overall: KaplanMeierCurve
    /// One curve per group, labels sorted (empty without a group column).
    public let byGroup: [KaplanMeierCurve]
    /// Present when the data have a grouping.
    public let logRank: LogRankResult?
    /// Present when the data have covariates.
    public let cox: CoxResult?
    public let confidenceType: ConfidenceIntervalType
    public let confidenceLevel: Double

    /// Runs every analysis on data sorted once.
    public init(prepared: PreparedSurvivalData, confidenceType: ConfidenceIntervalType = .log,
                confidenceLevel: Double = 0.95) throws {
        try self.init(table: SurvivalTable(prepared), cox: prepared.covariateNames.isEmpty ? nil : { prepared },
                      confidenceType: confidenceType, confidenceLevel: confidenceLevel)
    }

    /// Tabulates `dataset` for Kaplan–Meier and log-rank (no sort needed for whole-number times) and
    /// sorts it only when there are covariates for a Cox model.
    public init(dataset: SurvivalDataset, confidenceType: ConfidenceIntervalType = .log,
                confidenceLevel: Double = 0.95) throws {
        try self.init(table: SurvivalTable(dataset),
                      cox: dataset.covariates.isEmpty ? nil : { PreparedSurvivalData(dataset) },
                      confidenceType: confidenceType, confidenceLevel: confidenceLevel)
    }

    private init(table: SurvivalTable, cox prepared: (() -> PreparedSurvivalData)?,
                 confidenceType: ConfidenceIntervalType, confidenceLevel: Double) throws {
        guard confidenceLevel > 0, confidenceLevel < 1 else {
            throw StatsError.invalidArgument("confidence level \(confidenceLevel) is not in (0, 1)")
        }
        guard table.count > 0 else { throw StatsError.noSubjects }
        self.confidenceType = confidenceType
        self.confidenceLevel = confidenceLevel
        overall = KaplanMeier.fit(table, confidenceType: confidenceType, confidenceLevel: confidenceLevel)
        byGroup = KaplanMeier.fitByGroup(table, confidenceType: confidenceType, confidenceLevel: confidenceLevel)
        logRank = LogRank.test(table)
        cox = try prepared.map { try CoxModel.fit($0(), confidenceLevel: confidenceLevel) }
    }

    /// The JSON-contract view.
    public var report: SurvivalReport { SurvivalReport(self) }
}

/// The pipeline behind `ossa stats survival`.
public enum SurvivalPipeline: Sendable {
    /// CSV text + column names + CI transform → analysis. Throws `SurvivalCSVError`
    /// (with line number) for bad input, `StatsError` for model failures.
    public static func analyze(csv: String, columns: SurvivalColumns,
                               confidenceType: ConfidenceIntervalType = .log,
                               confidenceLevel: Double = 0.95) throws -> SurvivalAnalysis {
        let dataset = try SurvivalCSV.parse(csv, columns: columns)
        return try SurvivalAnalysis(dataset: dataset, confidenceType: confidenceType, confidenceLevel: confidenceLevel)
    }
}

/// The stable, script-facing JSON of a survival analysis. Encoding writes exactly the
/// contract's keys; absent values are explicit `null`; non-finite numbers are `null`.
///
///     {"kaplanMeier": [{"group", "median", "steps": [{"time", "atRisk", "events",
///       "survival", "stdErr", "lower", "upper"}]}],
///      "logRank": {"chiSquare", "degreesOfFreedom", "pValue"} | null,
///      "cox": {"terms": [{"name", "coefficient", "stdErr", "hazardRatio", "pValue"}],
///              "logLikelihood"} | null}
public struct SurvivalReport: Codable, Sendable, Equatable {
    /// Whole cohort first (`group` nil), then one curve per group in sorted order.
    public var kaplanMeier: [Curve]
    public var logRank: LogRank?
    public var cox: Cox?

    // Decoding is Codable's; encoding (Codable or `jsonString`) goes through `jsonValue`, the one
    // definition of the contract's keys, order and nulls.

    public struct Curve: Decodable, Sendable, Equatable {
        public var group: String?
        public var median: Double?
        public var steps: [Step]

        private enum CodingKeys: String, CodingKey { case group, median, steps }

        public init(group: String?, median: Double?, steps: [Step]) {
            self.group = group
            self.median = median
            self.steps = steps
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            group = try c.decodeIfPresent(String.self, forKey: .group)
            median = try c.decodeIfPresent(Double.self, forKey: .median)
            steps = try c.decode([Step].self, forKey: .steps)
        }

    }

    public struct Step: Decodable, Sendable, Equatable {
        public var time: Double
        public var atRisk: Int
        public var events: Int
        public var survival: Double
        /// SE of S(t); null when S = 0.
        public var stdErr: Double?
        public var lower: Double?
        public var upper: Double?

        private enum CodingKeys: String, CodingKey { case time, atRisk, events, survival, stdErr, lower, upper }

        public init(time: Double, atRisk: Int, events: Int, survival: Double, stdErr: Double?,
                    lower: Double?, upper: Double?) {
            self.time = time
            self.atRisk = atRisk
            self.events = events
            self.survival = survival
            self.stdErr = stdErr
            self.lower = lower
            self.upper = upper
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            time = try c.decode(Double.self, forKey: .time)
            atRisk = try c.decode(Int.self, forKey: .atRisk)
            events = try c.decode(Int.self, forKey: .events)
            survival = try c.decode(Double.self, forKey: .survival)
            stdErr = try c.decodeIfPresent(Double.self, forKey: .stdErr)
            lower = try c.decodeIfPresent(Double.self, forKey: .lower)
            upper = try c.decodeIfPresent(Double.self, forKey: .upper)
        }

    }

    public struct LogRank: Decodable, Sendable, Equatable {
        public var chiSquare: Double
        public var degreesOfFreedom: Int
        public var pValue: Double

        private enum CodingKeys: String, CodingKey { case chiSquare, degreesOfFreedom, pValue }

        public init(chiSquare: Double, degreesOfFreedom: Int, pValue: Double) {
            self.chiSquare = chiSquare
            self.degreesOfFreedom = degreesOfFreedom
            self.pValue = pValue
        }

    }

    public struct Cox: Decodable, Sendable, Equatable {
        public var terms: [Term]
        public var logLikelihood: Double

        private enum CodingKeys: String, CodingKey { case terms, logLikelihood }

        public init(terms: [Term], logLikelihood: Double) {
            self.terms = terms
            self.logLikelihood = logLikelihood
        }

    }

    public struct Term: Decodable, Sendable, Equatable {
        public var name: String
        public var coefficient: Double
        public var stdErr: Double
        public var hazardRatio: Double
        public var pValue: Double

        private enum CodingKeys: String, CodingKey { case name, coefficient, stdErr, hazardRatio, pValue }

        public init(name: String, coefficient: Double, stdErr: Double, hazardRatio: Double, pValue: Double) {
            self.name = name
            self.coefficient = coefficient
            self.stdErr = stdErr
            self.hazardRatio = hazardRatio
            self.pValue = pValue
        }

    }

    private enum CodingKeys: String, CodingKey { case kaplanMeier, logRank, cox }

    public init(kaplanMeier: [Curve], logRank: LogRank?, cox: Cox?) {
        self.kaplanMeier = kaplanMeier
        self.logRank = logRank
        self.cox = cox
    }

    /// Projects a full analysis onto the contract.
    public init(_ analysis: SurvivalAnalysis) {
        func curve(_ c: KaplanMeierCurve) -> Curve {
            Curve(group: c.group, median: c.median, steps: c.steps.map {
                Step(time: $0.time, atRisk: $0.atRisk, events: $0.events, survival: $0.survival,
                     stdErr: $0.stdErr, lower: $0.lower, upper: $0.upper)
            })
        }
        kaplanMeier = [curve(analysis.overall)] + analysis.byGroup.map(curve)
        logRank = analysis.logRank.map {
            LogRank(chiSquare: $0.chiSquare, degreesOfFreedom: $0.degreesOfFreedom, pValue: $0.pValue)
        }
        cox = analysis.cox.map {
            Cox(terms: $0.terms.map {
                Term(name: $0.name, coefficient: $0.coefficient, stdErr: $0.stdErr,
                     hazardRatio: $0.hazardRatio, pValue: $0.pValue)
            }, logLikelihood: $0.logLikelihood)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kaplanMeier = try c.decode([Curve].self, forKey: .kaplanMeier)
        logRank = try c.decodeIfPresent(LogRank.self, forKey: .logRank)
        cox = try c.decodeIfPresent(Cox.self, forKey: .cox)
    }

    /// Encodes the same tree `jsonString` writes, so there is one definition of the contract.
    public func encode(to encoder: Encoder) throws {
        try jsonValue.encode(to: encoder)
    }

    /// JSON text of the report with keys in contract order (Foundation's JSONEncoder does
    /// not keep key order on Linux). Pretty output puts each step on one line.
    /// Declared `throws` so call sites stay valid if output validation is added; it does not
    /// throw today (non-finite numbers are written as null).
    public func jsonString(prettyPrinted: Bool = true) throws -> String {
        prettyPrinted ? jsonValue.rendered(.pretty) + "\n" : jsonValue.rendered(.compact)
    }

    public var jsonValue: JSONValue {
        func num(_ x: Double?) -> JSONValue { x.map { JSONValue.number($0) } ?? .null }
        let curves: [JSONValue] = kaplanMeier.map { c in
            .object([
                ("group", c.group.map { .string($0) } ?? .null),
                ("median", num(c.median)),
                ("steps", .array(c.steps.map { s in
                    .object([("time", .number(s.time)), ("atRisk", .int(s.atRisk)), ("events", .int(s.events)),
                             ("survival", .number(s.survival)), ("stdErr", num(s.stdErr)),
                             ("lower", num(s.lower)), ("upper", num(s.upper))])
                })),
            ])
        }
        let lr: JSONValue = logRank.map {
            .object([("chiSquare", .number($0.chiSquare)), ("degreesOfFreedom", .int($0.degreesOfFreedom)),
                     ("pValue", .number($0.pValue))])
        } ?? .null
        let coxValue: JSONValue = cox.map { c in
            .object([
                ("terms", .array(c.terms.map { t in
                    .object([("name", .string(t.name)), ("coefficient", .number(t.coefficient)),
                             ("stdErr", .number(t.stdErr)), ("hazardRatio", .number(t.hazardRatio)),
                             ("pValue", .number(t.pValue))])
                })),
                ("logLikelihood", .number(c.logLikelihood)),
            ])
        } ?? .null
        return .object([("kaplanMeier", .array(curves)), ("logRank", lr), ("cox", coxValue)])
    }
}
