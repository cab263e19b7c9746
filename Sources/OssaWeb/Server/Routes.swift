import Foundation
import Hummingbird

/// A route's path template (`/api/v1/patients/:patientID`): what the router matches, what metrics and logs name,
/// and the one thing URLs are built from (`url(_:)`), so that no link, redirect or `Location` header spells a path
/// by hand.
struct RoutePath: Sendable, Hashable, CustomStringConvertible {
    let template: String

    init(_ template: String) {
        self.template = template
    }

    var description: String { template }

    /// The parameter names, in order (`["patientID"]`).
    var parameters: [String] {
        template.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) }
    }

    /// The URL with each `:parameter` replaced, in order, by the given values (percent-encoded as path segments).
    func url(_ values: String...) -> String {
        var remaining = values[...]
        return template.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            guard segment.hasPrefix(":"), let value = remaining.popFirst() else { return String(segment) }
            return value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? value
        }.joined(separator: "/")
    }

    /// `url(_:)` for ids.
    func url(_ ids: UUID...) -> String {
        var result = template
        for (name, id) in zip(parameters, ids) {
            result = result.replacingOccurrences(of: ":" + name, with: id.uuidString.lowercased())
        }
        return result
    }

    /// The template as OpenAPI writes it (`/api/v1/patients/{patientID}`).
    var openAPI: String {
        template.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }.joined(separator: "/")
    }

    /// Whether a concrete request path matches the template (one non-empty segment per parameter, written
    /// `:name` or, as Hummingbird describes registered routes, `{name}`).
    func matches(_ path: Substring) -> Bool {
        let wanted = template.split(separator: "/", omittingEmptySubsequences: false)
        let given = path.split(separator: "/", omittingEmptySubsequences: false)
        guard wanted.count == given.count else { return false }
        for (w, g) in zip(wanted, given) {
            if w.hasPrefix(":") || (w.hasPrefix("{") && w.hasSuffix("}")) {
                if g.isEmpty { return false }
            } else if w != g {
                return false
            }
        }
        return true
    }
}

/// Every path Ossa serves, in one place. Handlers are registered with these (`RouterMethods.on(_:_:use:)`), and
/// pages, redirects and `Location` headers build their URLs from them. `RouteTableTests` checks that every
/// registered route uses one of them and that the OpenAPI document lists exactly the API's routes.
enum Paths {
    // Pages
    static let home = RoutePath("/")
    static let login = RoutePath("/login")
    static let logout = RoutePath("/logout")
    static let patients = RoutePath("/patients")
    /// A signed-in patient's own page.
    static let myProgress = RoutePath("/my")
    /// Questionnaire completion per site and timepoint (staff).
    static let completion = RoutePath("/follow-up/completion")
    static let episode = RoutePath("/episodes/:episodeID")
    static let staticFile = RoutePath("/static/:file")
    static let patientNew = RoutePath("/patients/new")
    static let patient = RoutePath("/patients/:patientID")
    static let patientEdit = RoutePath("/patients/:patientID/edit")
    static let episodeNew = RoutePath("/patients/:patientID/episodes/new")
    static let screeningNew = RoutePath("/episodes/:episodeID/screening/new")
    static let screeningDecision = RoutePath("/episodes/:episodeID/screening/:decisionID")
    static let screeningSign = RoutePath("/episodes/:episodeID/screening/:decisionID/sign")
    static let screeningOverride = RoutePath("/episodes/:episodeID/screening/:decisionID/override")
    static let imagingNew = RoutePath("/episodes/:episodeID/imaging/new")
    static let imagingStudy = RoutePath("/episodes/:episodeID/imaging/:studyID")
    static let procedureNew = RoutePath("/episodes/:episodeID/procedures/new")
    static let procedure = RoutePath("/episodes/:episodeID/procedures/:procedureID")
    static let procedureSign = RoutePath("/episodes/:episodeID/procedures/:procedureID/sign")
    static let followUp = RoutePath("/episodes/:episodeID/follow-up")
    static let schedule = RoutePath("/episodes/:episodeID/follow-up/schedule")
    static let scheduleMove = RoutePath("/episodes/:episodeID/follow-up/schedule/move")
    static let timepointInvite = RoutePath("/episodes/:episodeID/timepoints/:timepointID/invite")
    static let redFlagResolve = RoutePath("/episodes/:episodeID/red-flags/:flagID/resolve")
    static let questionnaireEntry = RoutePath("/episodes/:episodeID/timepoints/:timepointID/questionnaires/:instrumentID")
    static let timepointStatus = RoutePath("/episodes/:episodeID/timepoints/:timepointID/status")
    static let outcomeNew = RoutePath("/episodes/:episodeID/outcomes/new")
    static let episodeEdit = RoutePath("/episodes/:episodeID/edit")
    static let plan = RoutePath("/episodes/:episodeID/plan")
    static let planEdit = RoutePath("/episodes/:episodeID/plan/edit")
    static let adjunctNew = RoutePath("/episodes/:episodeID/adjuncts/new")
    static let procedureAddenda = RoutePath("/episodes/:episodeID/procedures/:procedureID/addenda")

    /// Consult requests from the public self-screen (coordinators and clinicians): the list, one request, and
    /// turning it into a patient and episode or closing it.
    static let consultRequests = RoutePath("/consult-requests")
    /// Registry analytics: the page (GET form of cohort filters), its downloads and saving a cohort.
    static let analytics = RoutePath("/analytics")
    static let analyticsJSON = RoutePath("/analytics/report.json")
    static let analyticsCSV = RoutePath("/analytics/data/:dataset")
    static let analyticsCohorts = RoutePath("/analytics/cohorts")
    /// Recording a patient's consent decision.
    static let consentNew = RoutePath("/patients/:patientID/consents/new")
    /// The research files as a ZIP download (GET the form, POST it for the archive).
    static let exports = RoutePath("/exports")
    static let consultRequest = RoutePath("/consult-requests/:requestID")
    static let consultRequestConvert = RoutePath("/consult-requests/:requestID/convert")
    static let consultRequestClose = RoutePath("/consult-requests/:requestID/close")

    /// The public self-screen (no sign-in, no identifiers): the questions, the result, a consult request.
    enum SelfScreen {
        /// GET: the questions; POST: the result (nothing stored).
        static let form = RoutePath("/self-screen")
        /// POST: a consult request with the answers (re-evaluated on the server).
        static let consult = RoutePath("/self-screen/consult")
        /// GET: what happens next, after a request.
        static let thanks = RoutePath("/self-screen/thanks")
    }

    /// The patient's pages: a personal questionnaire link (no sign-in; the token is the credential).
    enum Portal {
        static let link = RoutePath("/q/:token")
        static let page = RoutePath("/q/:token/pages/:page")
        static let review = RoutePath("/q/:token/review")
        static let submit = RoutePath("/q/:token/submit")
        static let stop = RoutePath("/q/:token/stop")
        static let progress = RoutePath("/q/:token/progress")
    }

    // Operations
    static let health = RoutePath("/healthz")
    static let ready = RoutePath("/readyz")
    static let metrics = RoutePath("/metrics")

    /// Every path above (the route table's rows).
    static let all: [RoutePath] = [
        home, login, logout, patients, episode, staticFile, health, ready, metrics,
        patientNew, patient, patientEdit, episodeNew, screeningNew, screeningDecision, screeningSign, screeningOverride,
        imagingNew, imagingStudy, procedureNew, procedure, procedureSign, followUp, schedule, scheduleMove, timepointInvite, redFlagResolve, questionnaireEntry, timepointStatus, outcomeNew,
        plan, planEdit, adjunctNew, procedureAddenda, episodeEdit,
        Portal.link, Portal.page, Portal.review, Portal.submit, Portal.stop, Portal.progress, myProgress, completion,
        SelfScreen.form, SelfScreen.consult, SelfScreen.thanks,
        consultRequests, consultRequest, consultRequestConvert, consultRequestClose, API.consultRequests,
        Admin.home, Admin.users, Admin.userNew, Admin.user, Admin.userAccess, Admin.userPassword, Admin.userDisable, Admin.sites, Admin.siteNew, Admin.siteMessaging,
        Admin.tokens, Admin.tokenNew, Admin.tokenRevoke, Admin.rulesets, Admin.rulesetNew, Admin.ruleset, Admin.rulesetActivate,
        Admin.instruments, Admin.instrument, Admin.instrumentWording, Admin.instrumentWordingRemove, Admin.audit, Admin.auditVerify,
        API.openAPI, API.me, API.sites, API.tokens, API.token, API.patients, API.patient, API.patientEpisodes, API.episode, API.episodeImagingStudies, API.episodeOutcomeEvents, API.episodeProcedures, API.episodeQuestionnaireResponses, API.episodeScreeningDecisions, API.episodeTimepoints, API.imagingStudies, API.imagingStudy, API.imagingStudyBMLChange, API.outcomeEvents, API.outcomeEvent, API.procedures, API.procedure, API.procedureSign, API.questionnaireResponse, API.screeningDecisions, API.screeningDecision, API.screeningDecisionOverride, API.screeningDecisionSign, API.timepoints, API.timepoint,
        API.timepointInvitations, API.outbox,
        analytics, analyticsJSON, analyticsCSV, analyticsCohorts, exports, API.exports, API.patientConsents, API.consent,
        consentNew, FHIR.consents, FHIR.consent,
        API.analyticsSurvival, API.analyticsBaseline, API.analyticsProms, API.analyticsResponders, API.analyticsBML, API.analyticsSafety,
        API.analyticsLiterature, API.analyticsFlow, API.cohorts, API.cohort,
        FHIR.metadata, FHIR.patients, FHIR.patient, FHIR.conditions, FHIR.condition, FHIR.procedures, FHIR.procedure,
        FHIR.observations, FHIR.observation, FHIR.questionnaires, FHIR.questionnaire, FHIR.questionnaireResponses, FHIR.questionnaireResponse,
        FHIR.auditEvents, FHIR.auditEvent, FHIR.system,
        FHIR.exportSystem, FHIR.exportPatients, FHIR.exportGroup, FHIR.exportStatus, FHIR.exportFile,
        FHIR.patientVersion, FHIR.conditionVersion, FHIR.procedureVersion, FHIR.observationVersion, FHIR.questionnaireResponseVersion,
        FHIR.consentVersion,
    ]

    /// FHIR R4 (`FHIRRoutes`): resource types and ids as the FHIR RESTful API writes them.
    enum FHIR {
        static let base = "/fhir"
        /// `POST` a transaction or batch Bundle.
        static let system = RoutePath("/fhir")
        static let metadata = RoutePath("/fhir/metadata")
        static let patients = RoutePath("/fhir/Patient")
        static let patient = RoutePath("/fhir/Patient/:patientID")
        static let conditions = RoutePath("/fhir/Condition")
        static let condition = RoutePath("/fhir/Condition/:conditionID")
        static let procedures = RoutePath("/fhir/Procedure")
        static let consents = RoutePath("/fhir/Consent")
        static let consent = RoutePath("/fhir/Consent/:consentID")
        static let procedure = RoutePath("/fhir/Procedure/:procedureID")
        static let observations = RoutePath("/fhir/Observation")
        static let observation = RoutePath("/fhir/Observation/:observationID")
        static let questionnaires = RoutePath("/fhir/Questionnaire")
        static let questionnaire = RoutePath("/fhir/Questionnaire/:questionnaireID")
        static let questionnaireResponses = RoutePath("/fhir/QuestionnaireResponse")
        static let questionnaireResponse = RoutePath("/fhir/QuestionnaireResponse/:questionnaireResponseID")
        /// Bulk Data `$export` (kick-off, status, files).
        static let exportSystem = RoutePath("/fhir/$export")
        static let exportPatients = RoutePath("/fhir/Patient/$export")
        static let exportGroup = RoutePath("/fhir/Group/:groupID/$export")
        static let exportStatus = RoutePath("/fhir/$export-status/:jobID")
        static let exportFile = RoutePath("/fhir/$export-file/:jobID/:file")
        static let auditEvents = RoutePath("/fhir/AuditEvent")
        static let auditEvent = RoutePath("/fhir/AuditEvent/:auditEventID")
        /// vread: one version of a record (Ossa keeps the current one).
        static let patientVersion = RoutePath("/fhir/Patient/:patientID/_history/:versionID")
        static let conditionVersion = RoutePath("/fhir/Condition/:conditionID/_history/:versionID")
        static let procedureVersion = RoutePath("/fhir/Procedure/:procedureID/_history/:versionID")
        static let observationVersion = RoutePath("/fhir/Observation/:observationID/_history/:versionID")
        static let questionnaireResponseVersion = RoutePath("/fhir/QuestionnaireResponse/:questionnaireResponseID/_history/:versionID")
        static let consentVersion = RoutePath("/fhir/Consent/:consentID/_history/:versionID")
    }

    /// The administration pages (the store refuses every role but admin).
    enum Admin {
        static let home = RoutePath("/admin")
        static let users = RoutePath("/admin/users")
        static let userNew = RoutePath("/admin/users/new")
        static let user = RoutePath("/admin/users/:userID")
        static let userAccess = RoutePath("/admin/users/:userID/access")
        static let userPassword = RoutePath("/admin/users/:userID/password")
        static let userDisable = RoutePath("/admin/users/:userID/disable")
        static let sites = RoutePath("/admin/sites")
        static let siteNew = RoutePath("/admin/sites/new")
        /// A site's time zone, quiet hours, contact and message wording.
        static let siteMessaging = RoutePath("/admin/sites/:siteID/messaging")
        static let tokens = RoutePath("/admin/tokens")
        static let tokenNew = RoutePath("/admin/tokens/new")
        static let tokenRevoke = RoutePath("/admin/tokens/:tokenID/revoke")
        static let rulesets = RoutePath("/admin/rulesets")
        static let rulesetNew = RoutePath("/admin/rulesets/new")
        static let ruleset = RoutePath("/admin/rulesets/:rulesetID")
        /// Posts `ruleset` = a version's id, or `bundled` for the bundled default.
        static let rulesetActivate = RoutePath("/admin/rulesets/activate")
        static let instruments = RoutePath("/admin/instruments")
        static let instrument = RoutePath("/admin/instruments/:instrumentID")
        static let instrumentWording = RoutePath("/admin/instruments/:instrumentID/wording")
        static let instrumentWordingRemove = RoutePath("/admin/instruments/:instrumentID/wording/remove")
        static let audit = RoutePath("/admin/audit")
        static let auditVerify = RoutePath("/admin/audit/verify")
    }

    /// The JSON API under `/api/v1`.
    enum API {
        static let prefix = "/api/v1"
        static let openAPI = RoutePath("/api/v1/openapi.json")
        static let me = RoutePath("/api/v1/me")
        static let sites = RoutePath("/api/v1/sites")
        static let tokens = RoutePath("/api/v1/tokens")
        static let token = RoutePath("/api/v1/tokens/:tokenID")
        static let patients = RoutePath("/api/v1/patients")
        static let patient = RoutePath("/api/v1/patients/:patientID")
        static let patientEpisodes = RoutePath("/api/v1/patients/:patientID/episodes")
        static let episode = RoutePath("/api/v1/episodes/:episodeID")
        static let episodeImagingStudies = RoutePath("/api/v1/episodes/:episodeID/imaging-studies")
        static let episodeOutcomeEvents = RoutePath("/api/v1/episodes/:episodeID/outcome-events")
        static let episodeProcedures = RoutePath("/api/v1/episodes/:episodeID/procedures")
        static let episodeQuestionnaireResponses = RoutePath("/api/v1/episodes/:episodeID/questionnaire-responses")
        static let episodeScreeningDecisions = RoutePath("/api/v1/episodes/:episodeID/screening-decisions")
        static let episodeTimepoints = RoutePath("/api/v1/episodes/:episodeID/timepoints")
        static let imagingStudies = RoutePath("/api/v1/imaging-studies")
        static let imagingStudy = RoutePath("/api/v1/imaging-studies/:studyID")
        static let imagingStudyBMLChange = RoutePath("/api/v1/imaging-studies/:studyID/bml-change")
        static let outcomeEvents = RoutePath("/api/v1/outcome-events")
        static let outcomeEvent = RoutePath("/api/v1/outcome-events/:eventID")
        static let procedures = RoutePath("/api/v1/procedures")
        static let procedure = RoutePath("/api/v1/procedures/:procedureID")
        static let procedureSign = RoutePath("/api/v1/procedures/:procedureID/sign")
        static let questionnaireResponse = RoutePath("/api/v1/questionnaire-responses/:responseID")
        static let screeningDecisions = RoutePath("/api/v1/screening-decisions")
        static let screeningDecision = RoutePath("/api/v1/screening-decisions/:decisionID")
        static let screeningDecisionOverride = RoutePath("/api/v1/screening-decisions/:decisionID/override")
        static let screeningDecisionSign = RoutePath("/api/v1/screening-decisions/:decisionID/sign")
        static let timepoints = RoutePath("/api/v1/timepoints")
        static let timepoint = RoutePath("/api/v1/timepoints/:timepointID")
        static let timepointInvitations = RoutePath("/api/v1/timepoints/:timepointID/invitations")
        static let outbox = RoutePath("/api/v1/outbox")
        static let consultRequests = RoutePath("/api/v1/consult-requests")
        static let analyticsSurvival = RoutePath("/api/v1/analytics/survival")
        static let analyticsBaseline = RoutePath("/api/v1/analytics/baseline")
        static let analyticsProms = RoutePath("/api/v1/analytics/proms")
        static let analyticsResponders = RoutePath("/api/v1/analytics/responders")
        static let analyticsBML = RoutePath("/api/v1/analytics/bml")
        static let analyticsSafety = RoutePath("/api/v1/analytics/safety")
        static let analyticsLiterature = RoutePath("/api/v1/analytics/literature")
        static let analyticsFlow = RoutePath("/api/v1/analytics/flow")
        static let cohorts = RoutePath("/api/v1/cohorts")
        static let cohort = RoutePath("/api/v1/cohorts/:cohortID")
        /// The research files (`csv-wide`, `csv-long`, `deidentified`) as a ZIP archive.
        static let exports = RoutePath("/api/v1/exports/:kind")
        static let patientConsents = RoutePath("/api/v1/patients/:patientID/consents")
        static let consent = RoutePath("/api/v1/consents/:consentID")
    }
}

extension RouterMethods {
    /// Registers `handler` for `method` on one of the `Paths`.
    @discardableResult
    func on(_ method: HTTPRequest.Method, _ path: RoutePath,
            use handler: @Sendable @escaping (Request, Context) async throws -> some ResponseGenerator) -> Self {
        on(RouterPath(path.template), method: method, use: handler)
    }
}
