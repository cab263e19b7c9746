import Foundation
import OssaCore
import OssaStore

/// One sample model of every page, with the states worth seeing (a refused form, an empty list). `PageRenderTests`
/// renders each and checks every view in `Resources/templates` is covered, so a page cannot ship unrendered; the
/// full-page snapshot tests render the same samples. Data: `PageFixtures` (the real engine, protocol and instruments).
enum PageCatalog {
    static let sampleUser = UserBar(PageFixtures.viewer, csrfToken: "sample-csrf")

    /// Named samples: the name is the snapshot's.
    static var named: [(String, any Page)] {
        let f = PageFixtures.self
        let view = f.episodeView
        let user = sampleUser
        var refused = FormErrors()
        refused.add("familyName", "Enter family name")
        refused.add("birthDate", "Date of birth must be a real date, for example 2026-03-27")
        var badBirth = FormValues()
        badBirth.set("givenName", "Anna")
        badBirth.set("birthDate", "1961-02-30")
        var screeningErrors = FormErrors()
        var screeningValues = ScreeningForm.initialValues(view, today: f.today)
        screeningValues.set("evaluationDate", "")
        screeningValues.set("age", "-3")
        var reader = FormReader(screeningValues)
        _ = ScreeningForm.read(&reader, episode: view.episode, today: f.today)
        screeningErrors = reader.errors
        let library = try! InstrumentLibrary.builtIn()
        var unsigned = f.decision
        unsigned.signedBy = nil
        unsigned.signedAt = nil
        var unsignedView = view
        unsignedView.screeningDecisions = [unsigned]
        let timepoint = view.timepoints.first { $0.code == "month-12" }!
        var worklist = f.worklist
        worklist.consultRequests = ConsultRequestList(total: 7, items: [ConsultPageSamples.request])
        return [
            ("login", LoginPage()),
            ("login-refused", LoginPage(email: "someone@example.org", emailError: nil, passwordError: "Enter your password",
                                        summary: [.init(fieldID: "password", message: "Enter your password")])),
            ("home-researcher", HomePage(user: UserBar(displayName: "Rae Searcher", role: "researcher", csrfToken: "sample-csrf", seesPatients: false))),
            ("worklist", WorklistPage(worklist, user: user)),
            ("patients", PatientListPage(
                title: "Patients", user: user, query: "",
                sites: [.init(id: "s1", code: "VIE-1", name: "Vienna", selected: false), .init(id: "s2", code: "GRZ-1", name: "Graz", selected: true)],
                hasSites: true,
                table: TableModel(caption: "Patients", headers: ["Name", "Born", "MRN", "Site", "Episodes"], rows: [
                    .init(cells: [.link("Müller, Anna", Paths.patient.url(f.patient.id)), .init("1961-04-03"), .init("A-1"), .init("VIE-1"),
                                  .init("none", links: [.init(url: Paths.episode.url(f.episode.id), text: "right knee, osteoarthritis")])]),
                    .init(cells: [.init("Novak, Petr"), .init("1955-11-20"), .init("–"), .init("VIE-1"), .init("none")]),
                ]),
                pagination: Pagination(previousURL: nil, nextURL: Paths.patients.template + "?offset=25", summary: "Showing 1–25 of 40 patients."))),
            ("patients-empty", PatientListPage(title: "Patients", user: user, query: "nobody", sites: [], hasSites: false,
                                               table: TableModel(caption: "Patients", headers: ["Name"], rows: []),
                                               pagination: Pagination(previousURL: nil, nextURL: nil, summary: "No patients found."))),
            ("patient", PatientPage(ReadModels.PatientPage(viewer: f.viewer, patient: f.patient, site: f.site, sites: [f.site],
                                                           episodes: [f.episode]), user: user, role: .clinician)),
            ("patient-new", PatientForm.page(user: user, sites: [f.site], values: FormValues(), errors: FormErrors())),
            ("patient-new-refused", PatientForm.page(user: user, sites: [f.site], values: badBirth, errors: refused)),
            ("episode-new", EpisodeForm.page(user: user, patient: f.patient, values: FormValues(), errors: FormErrors())),
            ("consent-form", ConsentForm.page(user: user, patient: f.patient, values: FormValues(), errors: FormErrors())),
            ("consent-form-refused", ConsentForm.page(user: user, patient: f.patient, values: consentRefusedValues, errors: consentRefusedErrors)),
            ("episode", EpisodePage(view, user: user, role: .clinician, today: f.today)),
            ("episode-empty", EpisodePage(f.emptyEpisodeView, user: user, role: .coordinator, today: f.today)),
            ("screening-form", ScreeningForm.page(user: user, view: view, values: ScreeningForm.initialValues(view, today: f.today), errors: FormErrors())),
            ("screening-form-refused", ScreeningForm.page(user: user, view: view, values: screeningValues, errors: screeningErrors)),
            ("screening-decision", ScreeningDecisionPage(view, decision: f.decision, user: user, role: .clinician)),
            ("screening-decision-unsigned", ScreeningDecisionPage(unsignedView, decision: unsigned, user: user, role: .clinician)),
            ("imaging-form", ImagingForm.page(user: user, view: view, modality: .mri, values: ImagingForm.initialValues(view), errors: FormErrors())),
            ("imaging-form-xray", ImagingForm.page(user: user, view: view, modality: .xray, values: ImagingForm.initialValues(view), errors: FormErrors())),
            ("imaging-study", ImagingStudyPage(view, study: view.imagingStudies[0], user: user)),
            ("imaging-study-follow-up", ImagingStudyPage(view, study: view.imagingStudies[2], user: user)),
            ("procedure-form", ProcedureForm.page(user: user, view: view, values: ProcedureForm.initialValues(view, operatorName: "Dr Sample", today: f.today),
                                                  errors: FormErrors())),
            ("procedure", ProcedurePage(view, procedure: view.procedures[0], user: user, role: .clinician)),
            ("follow-up", FollowUpPage(view, user: user, role: .clinician, today: f.today, library: library,
                                       followUp: try! FollowUpProtocol.bundledDefault(), thresholds: try! ResponderThresholdTable.builtIn())),
            ("follow-up-empty", FollowUpPage(f.emptyEpisodeView, user: user, role: .coordinator, today: f.today, library: library,
                                             followUp: try! FollowUpProtocol.bundledDefault(), thresholds: try! ResponderThresholdTable.builtIn())),
            ("questionnaire", QuestionnaireForm.page(user: user, view: view, timepoint: timepoint, instrument: library.instrument(id: "koos-jr")!,
                                                     values: FormValues(), errors: FormErrors())),
            ("timepoint-status", TimepointStatusForm.page(user: user, view: view, timepoint: timepoint, values: FormValues(), errors: FormErrors())),
            ("outcome-form", OutcomeForm.page(user: user, view: view, values: FormValues(), errors: FormErrors())),
            ("episode-status", EpisodeStatusForm.page(user: user, view: view, values: EpisodeStatusForm.values(view.episode), errors: FormErrors())),
            ("plan", PlanPage(view, user: user, role: .clinician)),
            ("plan-none", PlanPage(f.emptyEpisodeView, user: user, role: .clinician)),
            ("plan-form", PlanForm.page(user: user, view: view, values: PlanForm.initialValues(view), errors: FormErrors())),
            ("adjunct-form", AdjunctForm.page(user: user, view: view, values: FormValues(), errors: FormErrors())),
            ("not-found", ErrorPage(title: "Not Found", heading: "Not Found", detail: "no episode e3", status: 404, requestID: "req-1", user: user)),
        ] + AdminPageSamples.named + portal + ConsultPageSamples.named
    }

    static var consentRefusedValues: FormValues {
        var values = FormValues()
        values.set("kind", "research-use")
        values.set("date", "2026-02-30")
        return values
    }

    static var consentRefusedErrors: FormErrors {
        var errors = FormErrors()
        errors.add("decision", "Select decision")
        errors.add("date", "Enter date of the decision as a real date, for example 2026-03-27")
        return errors
    }

    /// The exports page of a coordinator with two sites.
    static var exportsView: ReadModels.ExportsPage {
        ReadModels.ExportsPage(viewer: PageFixtures.viewer, sites: [PageFixtures.site, SiteRecord(id: UUID(uuidString: "00000000-0000-4000-8000-0000000000b2")!,
                                                                                             code: "GRZ-1", name: "Graz Joint Centre")])
    }

    static var exportsRefusedValues: FormValues {
        var values = FormValues()
        values.set("since", "2026-13-01")
        return values
    }

    static var exportsRefusedErrors: FormErrors {
        var errors = FormErrors()
        errors.add("kind", "Choose what to export")
        errors.add("since", "Enter changed since as year-month-day, for example 2026-01-31")
        return errors
    }

    /// The patient's pages of a questionnaire link (sample token and clinic).
    static var portal: [(String, any Page)] {
        let clinic = ClinicContact(name: "Vienna Bone Clinic", phone: "+43 1 555 0100", email: "follow-up@example.org")
        let questionnaire = PortalQuestionnaire(timepointCode: "month-3", joint: .knee, protocol: try! FollowUpProtocol.bundledDefault(),
                                                library: try! InstrumentLibrary.builtIn())
        let token = "sample-token"
        var draft: [String: [String: Int?]] = [:]
        for section in questionnaire.sections.prefix(3) {
            for item in section.items { draft[section.instrument.id, default: [:]][item.code] = section.instrument.options(for: item).first?.value }
        }
        var dobErrors = FormErrors()
        dobErrors.add("day", "The date of birth does not match the clinic's records. 4 tries left.")
        let koos = questionnaire.sections.first { $0.instrument.id == "koos" }!
        var refused = FormErrors()
        refused.add(PortalQuestionnaire.field("koos", koos.items[0].code), "Choose one of the answers")
        return [
            ("portal-birth-date", PortalForms.birthDate(token: token, clinic: clinic, values: FormValues(), errors: FormErrors(), csrf: "sample-csrf")),
            ("portal-birth-date-wrong", PortalForms.birthDate(token: token, clinic: clinic, values: FormValues(), errors: dobErrors, csrf: "sample-csrf")),
            ("portal-section", PortalForms.section(token: token, clinic: clinic, questionnaire: questionnaire, section: koos,
                                                   values: PortalForms.values(koos, draft: draft), errors: FormErrors(), csrf: "sample-csrf")),
            ("portal-section-refused", PortalForms.section(token: token, clinic: clinic, questionnaire: questionnaire, section: koos,
                                                           values: FormValues(), errors: refused, csrf: "sample-csrf")),
            ("portal-review", PortalReviewPage(token: token, clinic: clinic, questionnaire: questionnaire, draft: draft, csrf: "sample-csrf")),
            ("my-progress", ProgressPage(PatientProgress(clinic: clinic, episodes: [.init(episode: PageFixtures.episodeView.episode,
                                                                                           timepoints: PageFixtures.episodeView.timepoints,
                                                                                           responses: PageFixtures.episodeView.responses)]),
                                         user: nil, today: PageFixtures.today, library: try! InstrumentLibrary.builtIn(),
                                         followUp: try! FollowUpProtocol.bundledDefault())),
            ("completion", CompletionPage(CompletionRates(viewer: PageFixtures.viewer, today: PageFixtures.today, rows: [
                .init(siteID: PageFixtures.site.id, siteName: "Vienna Bone Clinic", code: "baseline", completed: 40, due: 42),
                .init(siteID: PageFixtures.site.id, siteName: "Vienna Bone Clinic", code: "diary-d1", completed: 30, due: 40),
                .init(siteID: PageFixtures.site.id, siteName: "Vienna Bone Clinic", code: "diary-d2", completed: 28, due: 40),
                .init(siteID: PageFixtures.site.id, siteName: "Vienna Bone Clinic", code: "month-3", completed: 31, due: 38),
            ]), user: sampleUser, followUp: try! FollowUpProtocol.bundledDefault())),
            ("portal-thanks", PortalMessagePage(clinic: clinic, heading: "Thank you", paragraphs: ["Your answers have been sent to Vienna Bone Clinic."])),
            ("portal-stop", PortalMessagePage(clinic: clinic, heading: "Stop messages by e-mail", paragraphs: ["You will get no more messages by e-mail."],
                                              form: .init(action: Paths.Portal.stop.url(token), label: "Stop messages by e-mail", secondary: false),
                                              csrf: "sample-csrf")),
            ("analytics", AnalyticsSamples.page()),
            ("exports", ExportRoutes.form(user: sampleUser, view: exportsView, role: .coordinator, values: FormValues(), errors: FormErrors())),
            ("exports-refused", ExportRoutes.form(user: sampleUser, view: exportsView, role: .coordinator, values: exportsRefusedValues,
                                                  errors: exportsRefusedErrors)),
            ("analytics-researcher", AnalyticsSamples.page(researcher: true, grouped: false)),
            ("analytics-refused", AnalyticsSamples.refused),
            ("analytics-report", AnalyticsReportPage(analytics: AnalyticsSamples.page(grouped: false), css: "/* the stylesheet */",
                                                     cohortName: "Knee OA KL 3–4", cohortQuery: "joint=knee", generatedBy: "Dr Sample (clinician)")),
        ]
    }

    static var samples: [any Page] { named.map(\.1) }
}
