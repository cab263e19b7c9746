import Foundation
import OssaAnalytics
import OssaCore
import OssaStore

/// `ossa report`: the analytics page's analyses as one self-contained HTML file (the stylesheet inlined, no links
/// back to a server, no forms), for a cohort file. The page's model and sections, its own view
/// (`analytics-report.mustache`).
public enum AnalyticsReportFile {
    public struct Output: Sendable {
        public var html: String
        public var subjects: Int
        public var matching: Int
    }

    /// - Parameters:
    ///   - literature: the clinic's studies (`OSSA_LITERATURE_FILE`); nil: the built-in file.
    ///   - progress: called with each stage (the CLI prints it).
    public static func render(store: OssaStore, actor: ActingUser, definition: CohortDefinition,
                              minimumCellCount: Int = AnalyticsRepository.defaultMinimumCellCount, literature: LiteratureFile? = nil,
                              progress: @Sendable (String) -> Void = { _ in }) async throws -> Output {
        let setup = try AnalyticsSetup(minimumCellCount: minimumCellCount, literature: literature)
        progress("reading the registry")
        let query = CohortQuery.items(definition).map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        let extract = try await store.analytics(protocol: setup.followUp).extract(actor, minimumCellCount: minimumCellCount,
                                                                                   audit: "report?\(query)")
        progress("\(extract.extract.episodes.count) episodes, \(extract.extract.scoreCount) questionnaire scores read; analysing")
        let context = setup.context(for: extract)
        let report = try await AnalyticsReport.compute(extract.extract, definition, context, literature: setup.literature)
        progress("rendering \(report.cohort.treated.count) treated episodes' analyses")
        let pages = try await PageRenderer.load()
        let viewer = try await store.readModels.viewer(actor)
        let page = AnalyticsPage(report, extract: extract, context: context, user: UserBar(viewer, csrfToken: ""),
                                 values: FormValues(), query: query, saved: [], savedID: nil)
        let css = String(decoding: try PageRenderer.resource("static/ossa.css"), as: UTF8.self)
        let file = AnalyticsReportPage(analytics: page, css: css, cohortName: definition.name ?? "Cohort",
                                       cohortQuery: query.isEmpty ? "all episodes" : query, generatedBy: "\(viewer.displayName) (\(viewer.role.rawValue))")
        return Output(html: try pages.render(file), subjects: report.cohort.treated.count, matching: report.cohort.matching.count)
    }
}

/// Model of `analytics-report.mustache`: the analytics sections in a standalone document.
struct AnalyticsReportPage: Page {
    static let template = "analytics-report"
    var analytics: AnalyticsPage
    var css: String
    var cohortName: String
    var cohortQuery: String
    var generatedBy: String
    var title: String
    var user: UserBar?
    var chrome = Chrome()

    init(analytics: AnalyticsPage, css: String, cohortName: String, cohortQuery: String, generatedBy: String) {
        self.analytics = analytics
        self.css = css
        self.cohortName = cohortName
        self.cohortQuery = cohortQuery
        self.generatedBy = generatedBy
        title = "Registry analytics: \(cohortName)"
    }
}
