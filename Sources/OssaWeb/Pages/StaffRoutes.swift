import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// The clinic staff's pages over the pathway: patients, episodes, screening, imaging, procedures, follow-up and
/// outcomes. Each GET is one read model; each POST decodes its form, collects every problem at once and either
/// writes (one store call, all or nothing) and redirects, or renders the form again with the user's values and the
/// errors (422). A form's one-time submission key makes a double submission open the first result instead.
struct StaffRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer
    let now: @Sendable () -> Date
    let library: InstrumentLibrary
    let followUp: FollowUpProtocol
    let thresholds: ResponderThresholdTable
    /// Writes the messages of a link sent from the follow-up page.
    let composition: MessageComposition

    init(store: OssaStore, pages: PageRenderer, now: @escaping @Sendable () -> Date, composition: MessageComposition) throws {
        self.store = store
        self.pages = pages
        self.now = now
        self.composition = composition
        library = try InstrumentLibrary.builtIn()
        followUp = try FollowUpProtocol.bundledDefault()
        thresholds = try ResponderThresholdTable.builtIn()
    }

    var today: CalendarDate { CalendarDate(utc: now()) }

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.patientNew, use: newPatient)
        group.on(.post, Paths.patientNew, use: createPatient)
        group.on(.get, Paths.patient, use: patient)
        group.on(.get, Paths.patientEdit, use: editPatient)
        group.on(.get, Paths.consentNew, use: newConsent)
        group.on(.post, Paths.consentNew, use: createConsent)
        group.on(.post, Paths.patientEdit, use: updatePatient)
        group.on(.get, Paths.episodeNew, use: newEpisode)
        group.on(.post, Paths.episodeNew, use: createEpisode)
        group.on(.get, Paths.screeningNew, use: newScreening)
        group.on(.post, Paths.screeningNew, use: createScreening)
        group.on(.get, Paths.screeningDecision, use: screeningDecision)
        group.on(.post, Paths.screeningSign, use: signScreening)
        group.on(.post, Paths.screeningOverride, use: overrideScreening)
        group.on(.get, Paths.imagingNew, use: newImaging)
        group.on(.post, Paths.imagingNew, use: createImaging)
        group.on(.get, Paths.imagingStudy, use: imagingStudy)
        group.on(.get, Paths.procedureNew, use: newProcedure)
        group.on(.post, Paths.procedureNew, use: createProcedure)
        group.on(.get, Paths.procedure, use: procedure)
        group.on(.post, Paths.procedureSign, use: signProcedure)
        group.on(.get, Paths.followUp, use: followUpPage)
        group.on(.post, Paths.schedule, use: createSchedule)
        group.on(.get, Paths.scheduleMove, use: moveSchedulePage)
        group.on(.post, Paths.scheduleMove, use: moveSchedule)
        group.on(.post, Paths.timepointInvite, use: inviteNow)
        group.on(.get, Paths.redFlagResolve, use: resolveFlagPage)
        group.on(.post, Paths.redFlagResolve, use: resolveFlag)
        group.on(.get, Paths.questionnaireEntry, use: newQuestionnaire)
        group.on(.post, Paths.questionnaireEntry, use: createQuestionnaire)
        group.on(.get, Paths.timepointStatus, use: newTimepointStatus)
        group.on(.post, Paths.timepointStatus, use: updateTimepointStatus)
        group.on(.get, Paths.outcomeNew, use: newOutcome)
        group.on(.post, Paths.outcomeNew, use: createOutcome)
        group.on(.get, Paths.plan, use: planPage)
        group.on(.get, Paths.planEdit, use: editPlan)
        group.on(.post, Paths.planEdit, use: savePlan)
        group.on(.get, Paths.adjunctNew, use: newAdjunct)
        group.on(.post, Paths.adjunctNew, use: createAdjunct)
        group.on(.post, Paths.procedureAddenda, use: createAddendum)
        group.on(.get, Paths.episodeEdit, use: editEpisode)
        group.on(.post, Paths.episodeEdit, use: updateEpisode)
    }

    @Sendable func editEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in
            EpisodeStatusForm.page(user: bar(view.viewer, context), view: view, values: EpisodeStatusForm.values(view.episode), errors: FormErrors())
        }
    }

    @Sendable func updateEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            let last = reader.date("lastContactDate", "Last contact", notAfter: today)
            let status = reader.choice(EpisodeStatus.self, "status", "Episode", required: true)
            guard reader.errors.isEmpty, let status else { return .refused(reader.errors) }
            do {
                _ = try await store.episodes.update(actor, id, EpisodeChanges(status: status, lastContactDate: last))
                return .done(Paths.episode.url(id) + "#step-outcomes")
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return EpisodeStatusForm.page(user: bar(view.viewer, context), view: view, values: values, errors: errors)
        }
    }

    // MARK: Patients

    @Sendable func newPatient(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let choice = try await store.readModels.siteChoice(actor)
            var values = FormValues()
            if choice.sites.count == 1 { values.set("siteID", choice.sites[0].id.lowercasedID) }
            return try pages.html(PatientForm.page(user: bar(choice.viewer, context), sites: choice.sites, values: values, errors: FormErrors()))
        }
    }

    @Sendable func createPatient(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await form(request, context, PatientForm.Posted.self) { actor, values in
            var reader = FormReader(values)
            guard let read = PatientForm.read(&reader, today: today, requireSite: true), let site = read.siteID else {
                return .refused(reader.errors)
            }
            do {
                let created = try await store.patients.create(actor, NewPatient(siteID: site, mrn: read.mrn, familyName: read.familyName,
                                                                                givenName: read.givenName, birthDate: read.birthDate, sex: read.sex,
                                                                                email: read.email, phone: read.phone))
                return .done(Paths.patient.url(created.id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: ["mrn": "mrn", "siteID": "siteID", "site": "siteID", "birthDate": "birthDate"]))
            }
        } render: { actor, values, errors in
            let choice = try await store.readModels.siteChoice(actor)
            return PatientForm.page(user: bar(choice.viewer, context), sites: choice.sites, values: values, errors: errors)
        }
    }

    @Sendable func patient(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let view = try await store.readModels.patientPage(actor, patientID: try context.uuidParameter("patientID"))
            return try pages.html(PatientPage(view, user: bar(view.viewer, context), role: actor.role))
        }
    }

    @Sendable func editPatient(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let view = try await store.readModels.patientPage(actor, patientID: try context.uuidParameter("patientID"))
            return try pages.html(PatientForm.page(user: bar(view.viewer, context), sites: view.sites, values: PatientForm.values(view.patient),
                                                   errors: FormErrors(), editing: view.patient))
        }
    }

    @Sendable func updatePatient(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("patientID")
        return try await form(request, context, PatientForm.Posted.self) { actor, values in
            var reader = FormReader(values)
            guard let read = PatientForm.read(&reader, today: today, requireSite: false) else { return .refused(reader.errors) }
            do {
                _ = try await store.patients.update(actor, id, PatientChanges(mrn: read.mrn, familyName: read.familyName, givenName: read.givenName,
                                                                              birthDate: read.birthDate, sex: read.sex, email: read.email, phone: read.phone))
                return .done(Paths.patient.url(id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: ["mrn": "mrn", "birthDate": "birthDate"]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.patientPage(actor, patientID: id)
            return PatientForm.page(user: bar(view.viewer, context), sites: view.sites, values: values, errors: errors, editing: view.patient)
        }
    }

    @Sendable func newConsent(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let view = try await store.readModels.patientPage(actor, patientID: try context.uuidParameter("patientID"))
            var values = FormValues()
            values.set("date", today.iso)
            return try pages.html(ConsentForm.page(user: bar(view.viewer, context), patient: view.patient, values: values, errors: FormErrors()))
        }
    }

    @Sendable func createConsent(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("patientID")
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            guard let new = ConsentForm.read(&reader, today: today) else { return .refused(reader.errors) }
            do {
                _ = try await store.consents.create(actor, patientID: id, new, now: now())
                return .done(Paths.patient.url(id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: ["date": "date", "formReference": "formReference"]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.patientPage(actor, patientID: id)
            return ConsentForm.page(user: bar(view.viewer, context), patient: view.patient, values: values, errors: errors)
        }
    }

    @Sendable func newEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await page(context) { actor in
            let view = try await store.readModels.patientPage(actor, patientID: try context.uuidParameter("patientID"))
            var values = FormValues()
            values.set("joint", "knee")
            return try pages.html(EpisodeForm.page(user: bar(view.viewer, context), patient: view.patient, values: values, errors: FormErrors()))
        }
    }

    @Sendable func createEpisode(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("patientID")
        return try await form(request, context, EpisodeForm.Posted.self) { actor, values in
            var reader = FormReader(values)
            let joint = reader.choice(Joint.self, "joint", "Joint", required: true)
            let side = reader.choice(Side.self, "side", "Side", required: true)
            let diagnosis = DiagnosisFields.read(&reader, joint: joint, today: today)
            guard reader.errors.isEmpty, let joint, let side, let diagnosis else { return .refused(reader.errors) }
            do {
                let episode = try await store.episodes.create(actor, NewEpisode(patientID: id, joint: joint, side: side, diagnosis: diagnosis))
                return .done(Paths.episode.url(episode.id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.patientPage(actor, patientID: id)
            return EpisodeForm.page(user: bar(view.viewer, context), patient: view.patient, values: values, errors: errors)
        }
    }

    // MARK: Screening

    @Sendable func newScreening(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in
            ScreeningForm.page(user: bar(view.viewer, context), view: view, values: ScreeningForm.initialValues(view, today: today), errors: FormErrors())
        }
    }

    @Sendable func createScreening(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        return try await form(request, context, AnyForm.self) { actor, values in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            var reader = FormReader(values)
            guard let input = ScreeningForm.read(&reader, episode: view.episode, today: today) else { return .refused(reader.errors) }
            do {
                // The clinic's active ruleset (an admin uploads and activates versions); nil is the bundled default.
                let decision = try await store.screening.evaluate(actor, episodeID: id, input, ruleset: try await store.rulesets.active())
                return .done(Paths.screeningDecision.url(id, decision.id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:], stripping: "input."))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return ScreeningForm.page(user: bar(view.viewer, context), view: view, values: values, errors: errors)
        }
    }

    @Sendable func screeningDecision(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let decisionID = try context.uuidParameter("decisionID")
        return try await episodePage(context, focus: (.screeningDecision, decisionID)) { actor, view in
            guard let decision = view.screeningDecisions.first(where: { $0.id == decisionID }) else {
                throw StoreError.notFound(recordType: "screening decision", id: decisionID.lowercasedID)
            }
            return ScreeningDecisionPage(view, decision: decision, user: bar(view.viewer, context), role: actor.role)
        }
    }

    @Sendable func signScreening(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let (episodeID, decisionID) = (try context.uuidParameter("episodeID"), try context.uuidParameter("decisionID"))
        return try await action(context) { actor in
            do {
                _ = try await store.screening.sign(actor, decisionID)
            } catch StoreError.conflict {
                // Signed already (a second click, or a colleague): the page shows who signed.
            }
            return Paths.screeningDecision.url(episodeID, decisionID)
        }
    }

    @Sendable func overrideScreening(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let (episodeID, decisionID) = (try context.uuidParameter("episodeID"), try context.uuidParameter("decisionID"))
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            let category = reader.choice(ScreeningCategory.self, "category", "New category", required: true)
            let reason = reader.text("reason", "Reason for the override", required: true, max: 2000)
            guard reader.errors.isEmpty, let category, let reason else { return .refused(reader.errors) }
            do {
                _ = try await store.screening.override(actor, decisionID, category: category, reason: reason)
                return .done(Paths.screeningDecision.url(episodeID, decisionID))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: episodeID, focus: (.screeningDecision, decisionID))
            guard let decision = view.screeningDecisions.first(where: { $0.id == decisionID }) else {
                throw StoreError.notFound(recordType: "screening decision", id: decisionID.lowercasedID)
            }
            return ScreeningDecisionPage(view, decision: decision, user: bar(view.viewer, context), role: actor.role,
                                         overrideValues: values, overrideErrors: errors)
        }
    }

    // MARK: Imaging

    func modality(_ request: Request) throws -> ImagingModality {
        let text = request.uri.queryParameters.get("modality") ?? "mri"
        guard let modality = ImagingModality(rawValue: text) else { throw Problem.badParameter("modality", "\"\(text)\" is not mri or xray") }
        return modality
    }

    @Sendable func newImaging(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let modality = try modality(request)
        return try await episodePage(context) { actor, view in
            ImagingForm.page(user: bar(view.viewer, context), view: view, modality: modality, values: ImagingForm.initialValues(view), errors: FormErrors())
        }
    }

    @Sendable func createImaging(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        let modality = try modality(request)
        return try await form(request, context, AnyForm.self) { actor, values in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            var reader = FormReader(values)
            guard let new = ImagingForm.read(&reader, episode: view.episode, modality: modality, today: today) else { return .refused(reader.errors) }
            do {
                let study = try await store.imaging.create(actor, new)
                return .done(Paths.imagingStudy.url(id, study.id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: ["date": modality == .mri ? "mri[date]" : "date"]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return ImagingForm.page(user: bar(view.viewer, context), view: view, modality: modality, values: values, errors: errors)
        }
    }

    @Sendable func imagingStudy(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let studyID = try context.uuidParameter("studyID")
        return try await episodePage(context, focus: (.imagingStudy, studyID)) { actor, view in
            guard let study = view.imagingStudies.first(where: { $0.id == studyID }) else {
                throw StoreError.notFound(recordType: "imaging study", id: studyID.lowercasedID)
            }
            return ImagingStudyPage(view, study: study, user: bar(view.viewer, context))
        }
    }

    // MARK: Procedures

    @Sendable func newProcedure(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in
            ProcedureForm.page(user: bar(view.viewer, context), view: view,
                               values: ProcedureForm.initialValues(view, operatorName: view.viewer.displayName, today: today), errors: FormErrors())
        }
    }

    @Sendable func createProcedure(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        // Adding or removing a row writes nothing: the form comes back with the rows changed.
        return try await form(request, context, AnyForm.self, rebuild: ProcedureForm.applying) { actor, values in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            var reader = FormReader(values)
            guard let new = ProcedureForm.read(&reader, episode: view.episode, today: today) else { return .refused(reader.errors) }
            do {
                let created = try await store.procedures.create(actor, NewProcedure(episodeID: id, kind: new.kind, record: new.record, operatorID: actor.userID))
                return .done(Paths.procedure.url(id, created.id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:], stripping: "record."))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return ProcedureForm.page(user: bar(view.viewer, context), view: view, values: values, errors: errors)
        }
    }

    @Sendable func procedure(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let procedureID = try context.uuidParameter("procedureID")
        return try await episodePage(context, focus: (.procedure, procedureID)) { actor, view in
            guard let procedure = view.procedures.first(where: { $0.id == procedureID }) else {
                throw StoreError.notFound(recordType: "procedure", id: procedureID.lowercasedID)
            }
            return ProcedurePage(view, procedure: procedure, user: bar(view.viewer, context), role: actor.role)
        }
    }

    @Sendable func signProcedure(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let (episodeID, procedureID) = (try context.uuidParameter("episodeID"), try context.uuidParameter("procedureID"))
        return try await action(context) { actor in
            do {
                _ = try await store.procedures.sign(actor, procedureID)
            } catch StoreError.conflict {
                // Signed already: the page shows who signed.
            }
            return Paths.procedure.url(episodeID, procedureID)
        }
    }

    // MARK: Follow-up

    func followUpModel(_ view: ReadModels.EpisodePage, _ actor: ActingUser, _ context: OssaRequestContext,
                       values: FormValues? = nil, errors: FormErrors = FormErrors()) -> FollowUpPage {
        FollowUpPage(view, user: bar(view.viewer, context), role: actor.role, today: today, library: library, followUp: followUp,
                     thresholds: thresholds, scheduleValues: values, scheduleErrors: errors)
    }

    @Sendable func followUpPage(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in followUpModel(view, actor, context) }
    }

    @Sendable func createSchedule(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            guard let index = reader.date("indexDate", "Index date", required: true, notAfter: today.adding(days: 366)) else { return .refused(reader.errors) }
            do {
                _ = try await store.timepoints.generate(actor, episodeID: id, indexDate: index)
            } catch StoreError.conflict {
                // The schedule exists already (a second click): show it.
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
            return .done(Paths.followUp.url(id))
        } render: { actor, values, errors in
            followUpModel(try await store.readModels.episodePage(actor, episodeID: id), actor, context, values: values, errors: errors)
        }
    }

    @Sendable func moveSchedulePage(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in
            var values = FormValues()
            values.set("indexDate", view.timepoints.first { $0.code == "baseline" }?.dueDate.iso)
            return ScheduleMoveForm.page(user: bar(view.viewer, context), view: view, values: values, errors: FormErrors())
        }
    }

    /// Moves every pending timepoint to the new index date; their links are withdrawn and queued messages cancelled
    /// (`TimepointRepository.reschedule`), and the planner invites again when the new windows open.
    @Sendable func moveSchedule(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            guard let index = reader.date("indexDate", "New index date", required: true, notAfter: today.adding(days: 366)) else { return .refused(reader.errors) }
            do {
                _ = try await store.timepoints.reschedule(actor, episodeID: id, indexDate: index, now: now())
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
            return .done(Paths.followUp.url(id))
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return ScheduleMoveForm.page(user: bar(view.viewer, context), view: view, values: values, errors: errors)
        }
    }

    /// "Send the link now": a new personal link by the chosen channel with its reminders (the coordinator's
    /// reminder now). A patient without an address on the channel, or who opted out of it, gets the error page
    /// saying so.
    @Sendable func inviteNow(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let (episodeID, timepointID) = (try context.uuidParameter("episodeID"), try context.uuidParameter("timepointID"))
        return try await handling.post(request, context) { actor, values in
            guard let channel = InvitationChannel(rawValue: values["channel"]) else {
                throw Problem(.badRequest, detail: "choose e-mail or SMS")
            }
            _ = try await store.invitations.send(actor, timepointID: timepointID, channel: channel, now: now(), compose: composition.composer)
            return Paths.followUp.url(episodeID)
        }
    }

    func flag(_ view: ReadModels.EpisodePage, _ context: OssaRequestContext) throws -> RedFlagRecord {
        let id = try context.uuidParameter("flagID")
        guard let flag = view.redFlags.first(where: { $0.id == id }) else { throw StoreError.notFound(recordType: "red flag", id: id.lowercasedID) }
        return flag
    }

    @Sendable func resolveFlagPage(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in
            RedFlagResolveForm.page(user: bar(view.viewer, context), view: view, flag: try flag(view, context), values: FormValues(), errors: FormErrors())
        }
    }

    @Sendable func resolveFlag(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let (episodeID, flagID) = (try context.uuidParameter("episodeID"), try context.uuidParameter("flagID"))
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            guard let note = reader.text("resolution", "What was done", required: true, max: 2000) else { return .refused(reader.errors) }
            do {
                _ = try await store.redFlags.resolve(actor, flagID, note: note, now: now())
            } catch StoreError.conflict {
                // Resolved already (by a colleague, or a second click): the page shows how.
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
            return .done(Paths.followUp.url(episodeID) + "#red-flags")
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: episodeID)
            return RedFlagResolveForm.page(user: bar(view.viewer, context), view: view, flag: try flag(view, context), values: values, errors: errors)
        }
    }

    func timepoint(_ view: ReadModels.EpisodePage, _ id: UUID) throws -> TimepointRecord {
        guard let timepoint = view.timepoints.first(where: { $0.id == id }) else {
            throw StoreError.notFound(recordType: "timepoint", id: id.lowercasedID)
        }
        return timepoint
    }

    /// The instrument as the clinic reads it out: the clinic's licensed wording when an admin has uploaded one.
    func instrument(_ context: OssaRequestContext) async throws -> InstrumentDefinition {
        let id = context.parameters.get("instrumentID") ?? ""
        guard let instrument = library.instrument(id: id), instrument.isScorable else {
            throw Problem(.notFound, detail: "no questionnaire \(id)")
        }
        if let wording = try await store.instrumentWordings.get(id) { return try wording.applied(to: instrument) }
        return instrument
    }

    @Sendable func newQuestionnaire(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let timepointID = try context.uuidParameter("timepointID")
        let instrument = try await instrument(context)
        return try await episodePage(context) { actor, view in
            QuestionnaireForm.page(user: bar(view.viewer, context), view: view, timepoint: try timepoint(view, timepointID), instrument: instrument,
                                   values: FormValues(), errors: FormErrors())
        }
    }

    @Sendable func createQuestionnaire(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let (id, timepointID) = (try context.uuidParameter("episodeID"), try context.uuidParameter("timepointID"))
        let instrument = try await instrument(context)
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            let answers = QuestionnaireForm.read(&reader, instrument: instrument)
            guard reader.errors.isEmpty else { return .refused(reader.errors) }
            do {
                _ = try await store.questionnaires.submit(actor, episodeID: id, instrumentID: instrument.id, answers: answers,
                                                          timepointID: timepointID, completedAt: now(), library: library)
                return .done(Paths.followUp.url(id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return QuestionnaireForm.page(user: bar(view.viewer, context), view: view, timepoint: try timepoint(view, timepointID),
                                          instrument: instrument, values: values, errors: errors)
        }
    }

    @Sendable func newTimepointStatus(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let timepointID = try context.uuidParameter("timepointID")
        return try await episodePage(context) { actor, view in
            var values = FormValues()
            values.set("status", "missed")
            return TimepointStatusForm.page(user: bar(view.viewer, context), view: view, timepoint: try timepoint(view, timepointID),
                                            values: values, errors: FormErrors())
        }
    }

    @Sendable func updateTimepointStatus(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let (id, timepointID) = (try context.uuidParameter("episodeID"), try context.uuidParameter("timepointID"))
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            let status = reader.values["status"]
            if status != "missed" && status != "cancelled" { reader.errors.add("status", "Select missed or not applicable") }
            let reason = reader.text("reason", "Reason", required: true, max: 2000)
            guard reader.errors.isEmpty, let reason, let newStatus = TimepointStatus(rawValue: status) else { return .refused(reader.errors) }
            // The timepoint must be this episode's: the read model finds it among the episode's own.
            _ = try timepoint(try await store.readModels.episodePage(actor, episodeID: id), timepointID)
            _ = try await store.timepoints.mark(actor, timepointID, newStatus, at: now(), reason: reason)
            return .done(Paths.followUp.url(id))
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return TimepointStatusForm.page(user: bar(view.viewer, context), view: view, timepoint: try timepoint(view, timepointID),
                                            values: values, errors: errors)
        }
    }

    // MARK: Outcomes

    @Sendable func newOutcome(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in
            OutcomeForm.page(user: bar(view.viewer, context), view: view, values: FormValues(), errors: FormErrors())
        }
    }

    @Sendable func createOutcome(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            guard let (event, relatedness) = OutcomeForm.read(&reader, today: today) else { return .refused(reader.errors) }
            do {
                _ = try await store.outcomes.create(actor, episodeID: id, event, relatedness: relatedness)
                return .done(Paths.episode.url(id) + "#step-outcomes")
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            } catch StoreError.conflict(let message) {
                var errors = FormErrors()
                errors.add("kind", message.capitalizedFirst)
                return .refused(errors)
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return OutcomeForm.page(user: bar(view.viewer, context), view: view, values: values, errors: errors)
        }
    }

    // MARK: Plan, adjuncts, addenda

    @Sendable func planPage(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in PlanPage(view, user: bar(view.viewer, context), role: actor.role) }
    }

    @Sendable func editPlan(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in
            PlanForm.page(user: bar(view.viewer, context), view: view, values: PlanForm.initialValues(view), errors: FormErrors())
        }
    }

    @Sendable func savePlan(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        return try await form(request, context, AnyForm.self, rebuild: PlanForm.applying) { actor, values in
            var reader = FormReader(values)
            guard let plan = PlanForm.read(&reader, today: today) else { return .refused(reader.errors) }
            do {
                _ = try await store.plans.save(actor, episodeID: id, plan, decisionID: UUID(uuidString: values["decisionID"]))
                return .done(Paths.plan.url(id))
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return PlanForm.page(user: bar(view.viewer, context), view: view, values: values, errors: errors)
        }
    }

    @Sendable func newAdjunct(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await episodePage(context) { actor, view in
            var values = FormValues()
            values.set("kind", "shockwave")
            return AdjunctForm.page(user: bar(view.viewer, context), view: view, values: values, errors: FormErrors())
        }
    }

    @Sendable func createAdjunct(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("episodeID")
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            guard let session = AdjunctForm.read(&reader, today: today) else { return .refused(reader.errors) }
            do {
                _ = try await store.plans.addAdjunct(actor, episodeID: id, session)
                return .done(Paths.episode.url(id) + "#step-procedures")
            } catch let error as StoreError where Self.isFieldError(error) {
                return .refused(Self.errors(error, fields: [:]))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id)
            return AdjunctForm.page(user: bar(view.viewer, context), view: view, values: values, errors: errors)
        }
    }

    @Sendable func createAddendum(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let (id, procedureID) = (try context.uuidParameter("episodeID"), try context.uuidParameter("procedureID"))
        return try await form(request, context, AnyForm.self) { actor, values in
            var reader = FormReader(values)
            let text = reader.text("text", "Correction or addition", required: true, max: 4000)
            let reason = reader.text("reason", "Reason", required: true, max: 2000)
            guard reader.errors.isEmpty, let text, let reason else { return .refused(reader.errors) }
            _ = try await store.plans.addAddendum(actor, procedureID: procedureID, text: text, reason: reason)
            return .done(Paths.procedure.url(id, procedureID) + "#addenda")
        } render: { actor, values, errors in
            let view = try await store.readModels.episodePage(actor, episodeID: id, focus: (.procedure, procedureID))
            guard let procedure = view.procedures.first(where: { $0.id == procedureID }) else {
                throw StoreError.notFound(recordType: "procedure", id: procedureID.lowercasedID)
            }
            return ProcedurePage(view, procedure: procedure, user: bar(view.viewer, context), role: actor.role,
                                 addendumValues: values, addendumErrors: errors)
        }
    }

    // MARK: Plumbing

    typealias AnyForm = PageHandling.AnyForm
    typealias FormResult = PageHandling.FormResult

    var handling: PageHandling { PageHandling(store: store, pages: pages) }

    func bar(_ viewer: ReadModels.Viewer, _ context: OssaRequestContext) -> UserBar { handling.bar(viewer, context) }

    /// A page from the episode's read model; refusals become the error page.
    func episodePage<P: Page>(_ context: OssaRequestContext, focus: (RecordType, UUID)? = nil,
                              _ build: (ActingUser, ReadModels.EpisodePage) async throws -> P) async throws -> Response {
        try await page(context) { actor in
            let view = try await store.readModels.episodePage(actor, episodeID: try context.uuidParameter("episodeID"), focus: focus)
            return try pages.html(try await build(actor, view))
        }
    }

    func page(_ context: OssaRequestContext, _ body: (ActingUser) async throws -> Response) async throws -> Response {
        try await handling.page(context, body)
    }

    /// A button that changes one thing (sign): no fields but the CSRF token, then back to the record.
    func action(_ context: OssaRequestContext, _ body: (ActingUser) async throws -> String) async throws -> Response {
        try await page(context) { actor in
            Response(status: .seeOther, headers: [.location: try await body(actor)])
        }
    }

    /// A form post (`PageHandling.form`), decoded into `type` first (which refuses a malformed body); the fields are
    /// then read through `FormValues`, so that a refused form shows the user's own text.
    func form<F: Decodable & Sendable, P: Page>(_ request: Request, _ context: OssaRequestContext, _ type: F.Type,
                                                rebuild: (FormValues) -> FormValues? = { _ in nil },
                                                handle: (ActingUser, FormValues) async throws -> FormResult,
                                                render: (ActingUser, FormValues, FormErrors) async throws -> P) async throws -> Response {
        try await handling.form(request, context, decoding: type, rebuild: rebuild, handle: handle, render: render)
    }

    static func isClientError(_ error: any Error) -> Bool { PageHandling.isClientError(error) }
    static func isFieldError(_ error: StoreError) -> Bool { PageHandling.isFieldError(error) }
    static func errors(_ error: StoreError, fields: [String: String], stripping prefix: String = "") -> FormErrors {
        PageHandling.errors(error, fields: fields, stripping: prefix)
    }

}
