import Foundation
import OssaCore
import OssaJSON
import OssaStats

/// Every analysis of one cohort: what the analytics page, the API, the JSON download and `ossa report` show.
public struct AnalyticsReport: Sendable {
    public var definition: CohortDefinition
    public var cohort: Cohort
    public var flow: FlowDiagram
    public var baseline: BaselineTable
    public var outcomes: OutcomeTable
    public var responders: ResponderTable
    public var survival: SurvivalSection
    public var bml: BMLSection
    public var safety: SafetySection
    public var literature: LiteratureComparison?
    public var asOf: CalendarDate
    public var minimumCellCount: Int?

    /// The sections a caller may ask for alone (the API's endpoints compute only theirs).
    public enum Section: String, Sendable, CaseIterable {
        case flow, baseline, proms, responders, survival, bml, safety, literature
    }

    /// - Parameter comparison: the literature comparison computed already (it depends on the viewer's sites, not on
    ///   the cohort, so the server computes it once per registry revision); otherwise computed from `literature`.
    public init(_ extract: RegistryExtract, _ definition: CohortDefinition, _ context: AnalysisContext,
                literature: LiteratureFile? = nil, comparison: LiteratureComparison? = nil,
                confidenceType: ConfidenceIntervalType = .logLog) throws {
        self.definition = definition
        let cohort = Cohort(extract, definition)
        self.cohort = cohort
        flow = FlowDiagram(extract, cohort, context)
        baseline = BaselineTable(extract, cohort, context)
        outcomes = OutcomeTable(extract, cohort, context)
        responders = ResponderTable(extract, cohort, context)
        survival = try SurvivalSection(extract, cohort, context, confidenceType: confidenceType)
        bml = BMLSection(extract, cohort, context)
        safety = SafetySection(extract, cohort, context)
        self.literature = try comparison ?? literature.map { try LiteratureComparison($0, extract, definition, context) }
        asOf = extract.asOf
        minimumCellCount = context.minimumCellCount
    }

    init(definition: CohortDefinition, cohort: Cohort, flow: FlowDiagram, baseline: BaselineTable, outcomes: OutcomeTable,
         responders: ResponderTable, survival: SurvivalSection, bml: BMLSection, safety: SafetySection,
         literature: LiteratureComparison?, asOf: CalendarDate, minimumCellCount: Int?) {
        self.definition = definition
        self.cohort = cohort
        self.flow = flow
        self.baseline = baseline
        self.outcomes = outcomes
        self.responders = responders
        self.survival = survival
        self.bml = bml
        self.safety = safety
        self.literature = literature
        self.asOf = asOf
        self.minimumCellCount = minimumCellCount
    }

    /// The same analyses, the independent ones at once (the outcome tables, the responders and the survival section
    /// are the large ones): a server has more than one core.
    public static func compute(_ extract: RegistryExtract, _ definition: CohortDefinition, _ context: AnalysisContext,
                               literature: LiteratureFile? = nil, comparison: LiteratureComparison? = nil,
                               confidenceType: ConfidenceIntervalType = .logLog) async throws -> AnalyticsReport {
        let cohort = Cohort(extract, definition)
        async let outcomes = OutcomeTable(extract, cohort, context)
        async let responders = ResponderTable(extract, cohort, context)
        async let survival = SurvivalSection(extract, cohort, context, confidenceType: confidenceType)
        let flow = FlowDiagram(extract, cohort, context)
        let baseline = BaselineTable(extract, cohort, context)
        let bml = BMLSection(extract, cohort, context)
        let safety = SafetySection(extract, cohort, context)
        let literature = try comparison ?? literature.map { try LiteratureComparison($0, extract, definition, context) }
        return AnalyticsReport(definition: definition, cohort: cohort, flow: flow, baseline: baseline, outcomes: await outcomes,
                               responders: await responders, survival: try await survival, bml: bml, safety: safety,
                               literature: literature, asOf: extract.asOf, minimumCellCount: context.minimumCellCount)
    }

    /// One section's JSON.
    public func json(_ section: Section) throws -> String {
        switch section {
        case .flow: try Self.encode(flow)
        case .baseline: try Self.encode(baseline)
        case .proms: try Self.encode(outcomes)
        case .responders: try Self.encode(responders)
        case .survival: survival.json().rendered(.compact)
        case .bml: try Self.encode(bml)
        case .safety: try Self.encode(safety)
        case .literature: try literature.map { try Self.encode($0) } ?? "null"
        }
    }

    /// Everything, as one JSON document ("download all").
    public func json() throws -> String {
        let header = try Self.encode(Header(asOf: asOf.iso, minimumCellCount: minimumCellCount, cohort: definition,
                                            subjects: cohort.treated.count))
        var out = String(header.dropLast())
        for section in Section.allCases {
            out += ",\"\(section.rawValue)\":" + (try json(section))
        }
        return out + "}"
    }

    struct Header: Encodable {
        var asOf: String
        var minimumCellCount: Int?
        var cohort: CohortDefinition
        var subjects: Int
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// One section computed on its own (each API endpoint answers one).
public enum AnalyticsSection {
    public static func json(_ section: AnalyticsReport.Section, _ extract: RegistryExtract, _ definition: CohortDefinition,
                            _ context: AnalysisContext, literature: LiteratureFile? = nil, comparison: LiteratureComparison? = nil,
                            confidenceType: ConfidenceIntervalType = .logLog) throws -> String {
        let cohort = Cohort(extract, definition)
        switch section {
        case .flow: return try AnalyticsReport.encode(FlowDiagram(extract, cohort, context))
        case .baseline: return try AnalyticsReport.encode(BaselineTable(extract, cohort, context))
        case .proms: return try AnalyticsReport.encode(OutcomeTable(extract, cohort, context))
        case .responders: return try AnalyticsReport.encode(ResponderTable(extract, cohort, context))
        case .survival: return try SurvivalSection(extract, cohort, context, confidenceType: confidenceType).json().rendered(.compact)
        case .bml: return try AnalyticsReport.encode(BMLSection(extract, cohort, context))
        case .safety: return try AnalyticsReport.encode(SafetySection(extract, cohort, context))
        case .literature:
            if let comparison { return try AnalyticsReport.encode(comparison) }
            guard let literature else { return "null" }
            return try AnalyticsReport.encode(try LiteratureComparison(literature, extract, definition, context))
        }
    }
}
