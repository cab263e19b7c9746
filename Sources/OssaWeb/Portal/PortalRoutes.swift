import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// The personal questionnaire link, `/q/{token}`, as a phone uses it without JavaScript: the date-of-birth check,
/// a page per section with its progress, answers saved on every page (resume later from the same link), a review
/// page, and submission (scored with the instrument's published rule, stored with the raw answers, the timepoint
/// completed and its reminders cancelled in one transaction). A closed link says why and gives the clinic's contact.
///
/// The token in the path is the credential: it is never logged (metrics and logs name the route template) and the
/// store looks it up by hash. A browser that confirmed the date of birth holds a link cookie scoped to that link's
/// path. Forms carry the public double-submit CSRF token (`CSRFMiddleware(publicCookie:)`).
struct PortalRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer
    let configuration: ServerConfiguration
    let environment: WebEnvironment
    let library: InstrumentLibrary
    let followUp: FollowUpProtocol
    let diary: RecoveryDiaryProtocol

    init(store: OssaStore, pages: PageRenderer, configuration: ServerConfiguration, environment: WebEnvironment) throws {
        self.store = store
        self.pages = pages
        self.configuration = configuration
        self.environment = environment
        library = try InstrumentLibrary.builtIn()
        followUp = try FollowUpProtocol.bundledDefault()
        diary = try RecoveryDiaryProtocol.bundled()
    }

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.Portal.link, use: open)
        group.on(.post, Paths.Portal.link, use: confirm)
        group.on(.get, Paths.Portal.page, use: sectionPage)
        group.on(.post, Paths.Portal.page, use: saveSection)
        group.on(.get, Paths.Portal.review, use: review)
        group.on(.post, Paths.Portal.submit, use: submit)
        group.on(.get, Paths.Portal.stop, use: stopPage)
        group.on(.post, Paths.Portal.stop, use: stop)
        group.on(.get, Paths.Portal.progress, use: progress)
    }

    // MARK: Handlers

    @Sendable func open(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await link(request, context) { token, view, csrf in
            if view.status != .open { return try closed(view, token: token) }
            guard view.confirmed else {
                return try html(PortalForms.birthDate(token: token, clinic: view.clinic, values: FormValues(), errors: FormErrors(), csrf: csrf), csrf: csrf)
            }
            if Self.diaryDay(view) != nil { return redirect(Paths.Portal.page.url(token, "1")) }
            // Resume: the first page with nothing answered yet, or the review page.
            let questionnaire = questionnaire(view)
            let next = questionnaire.sections.first { questionnaire.answered($0, view.draft) == 0 }
            return redirect(next.map { Paths.Portal.page.url(token, String($0.number)) } ?? Paths.Portal.review.url(token))
        }
    }

    @Sendable func confirm(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await link(request, context) { token, view, csrf in
            guard view.status == .open else { return try closed(view, token: token) }
            if view.confirmed { return redirect(Paths.Portal.link.url(token)) }
            let values = try await PageHandling.values(request, context)
            let (birthDate, errors) = PortalForms.readBirthDate(values)
            guard let birthDate, errors.isEmpty else {
                return try html(PortalForms.birthDate(token: token, clinic: view.clinic, values: values, errors: errors, csrf: csrf),
                                status: .unprocessableContent, csrf: csrf)
            }
            switch try await store.links.confirm(token: token, birthDate: birthDate, now: environment.now(), address: context.clientAddress) {
            case .confirmed(let session, let expiresAt):
                var response = redirect(Paths.Portal.link.url(token))
                response.setCookie(Cookie(name: configuration.linkCookieName, value: session,
                                          maxAge: max(60, Int(expiresAt.timeIntervalSince(environment.now()))),
                                          path: Paths.Portal.link.url(token), secure: configuration.behindTLS, httpOnly: true, sameSite: .lax))
                return response
            case .wrong(let remaining):
                var errors = FormErrors()
                errors.add("day", "The date of birth does not match the clinic's records. \(remaining) \(remaining == 1 ? "try" : "tries") left.")
                context.logger.notice("questionnaire link: date of birth not confirmed")
                return try html(PortalForms.birthDate(token: token, clinic: view.clinic, values: FormValues(), errors: errors, csrf: csrf),
                                status: .unprocessableContent, csrf: csrf)
            case .locked:
                context.logger.notice("questionnaire link locked after failed date-of-birth checks")
                var locked = view
                locked.status = .locked
                return try closed(locked, token: token, status: .forbidden)
            case .closed(let status):
                var closedView = view
                closedView.status = status
                return try closed(closedView, token: token)
            }
        }
    }

    @Sendable func sectionPage(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await confirmed(request, context) { token, view, questionnaire, section, csrf in
            if let day = Self.diaryDay(view) {
                return try html(PortalForms.diary(token: token, clinic: view.clinic, diary: diary, day: day, values: FormValues(), errors: FormErrors(),
                                                  csrf: csrf), csrf: csrf)
            }
            guard let section else { return redirect(Paths.Portal.review.url(token)) }
            return try html(PortalForms.section(token: token, clinic: view.clinic, questionnaire: questionnaire, section: section,
                                                values: PortalForms.values(section, draft: view.draft), errors: FormErrors(), csrf: csrf), csrf: csrf)
        }
    }

    @Sendable func saveSection(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await confirmed(request, context) { token, view, questionnaire, section, csrf in
            if let day = Self.diaryDay(view) {
                let values = try await PageHandling.values(request, context)
                let (entry, problems) = DiaryEntry.read(values.values, day: day)
                guard let entry, problems.isEmpty else {
                    return try html(PortalForms.diary(token: token, clinic: view.clinic, diary: diary, day: day, values: values,
                                                      errors: PortalForms.errors(problems), csrf: csrf), status: .unprocessableContent, csrf: csrf)
                }
                let flags = try await store.links.submitDiary(token: token, session: linkCookie(request), entry: entry, protocol: diary,
                                                              library: library, now: environment.now(), address: context.clientAddress)
                if !flags.isEmpty { context.logger.notice("recovery diary raised red flags", metadata: ["count": "\(flags.count)"]) }
                return try html(PortalForms.diaryDone(clinic: view.clinic, day: day, flags: flags), csrf: "")
            }
            guard let section else { return redirect(Paths.Portal.review.url(token)) }
            let values = try await PageHandling.values(request, context)
            let (answers, errors) = questionnaire.read(section, values)
            guard errors.isEmpty else {
                return try html(PortalForms.section(token: token, clinic: view.clinic, questionnaire: questionnaire, section: section,
                                                    values: values, errors: errors, csrf: csrf), status: .unprocessableContent, csrf: csrf)
            }
            try await store.links.saveDraft(token: token, session: linkCookie(request), answers: answers, now: environment.now(),
                                            address: context.clientAddress)
            if values["go"] == "back", section.number > 1 {
                return redirect(Paths.Portal.page.url(token, String(section.number - 1)))
            }
            let next = section.number + 1
            return redirect(next <= questionnaire.sections.count ? Paths.Portal.page.url(token, String(next)) : Paths.Portal.review.url(token))
        }
    }

    @Sendable func review(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await confirmedLink(request, context) { token, view, questionnaire, csrf in
            try html(PortalReviewPage(token: token, clinic: view.clinic, questionnaire: questionnaire, draft: view.draft, csrf: csrf), csrf: csrf)
        }
    }

    @Sendable func submit(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await confirmedLink(request, context) { token, view, questionnaire, csrf in
            let submissions = questionnaire.submissions(view.draft).map { LinkSubmission(instrumentID: $0.0.id, answers: $0.1) }
            guard !submissions.isEmpty else {
                var errors = FormErrors()
                errors.add("submit", "Answer at least one question before sending")
                return try html(PortalReviewPage(token: token, clinic: view.clinic, questionnaire: questionnaire, draft: view.draft, csrf: csrf,
                                                 errors: errors), status: .unprocessableContent, csrf: csrf)
            }
            _ = try await store.links.submit(token: token, session: linkCookie(request), submissions, library: library,
                                             now: environment.now(), address: context.clientAddress)
            return redirect(Paths.Portal.link.url(token))
        }
    }

    @Sendable func stopPage(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await link(request, context) { token, view, csrf in
            let channel = view.channel == .email ? "e-mail" : "text message"
            return try html(PortalMessagePage(clinic: view.clinic, heading: "Stop messages by \(channel)",
                                              paragraphs: ["\(view.clinic.name) will send you no more questionnaire invitations or reminders by \(channel). Your clinic may still call you about your follow-up.",
                                                           "You can still answer from this link while it is open."],
                                              form: .init(action: Paths.Portal.stop.url(token), label: "Stop messages by \(channel)", secondary: false),
                                              csrf: csrf), csrf: csrf)
        }
    }

    @Sendable func stop(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await link(request, context) { token, view, csrf in
            let channel = try await store.links.optOut(token: token, now: environment.now(), address: context.clientAddress)
            let name = channel == .email ? "e-mail" : "text message"
            var links: [FormPage.Link] = []
            if view.status == .open { links.append(.init(url: Paths.Portal.link.url(token), label: "Answer the questionnaire")) }
            return try html(PortalMessagePage(clinic: view.clinic, heading: "Messages by \(name) stopped",
                                              paragraphs: ["You will get no more messages by \(name) from \(view.clinic.name). To start them again, contact the clinic."],
                                              links: links), csrf: csrf)
        }
    }

    /// The patient's results so far, for the browser that confirmed the date of birth on this link.
    @Sendable func progress(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        do {
            let progress = try await store.links.progress(token: token, session: linkCookie(request), now: environment.now(), address: context.clientAddress)
            return try html(ProgressPage(progress, user: nil, today: CalendarDate(utc: environment.now()), library: library, followUp: followUp,
                                         backURL: Paths.Portal.link.url(token)), csrf: "")
        } catch is LinkNotConfirmed {
            return redirect(Paths.Portal.link.url(token))
        } catch is LinkClosed {
            return redirect(Paths.Portal.link.url(token))
        } catch StoreError.notFound {
            return redirect(Paths.Portal.link.url(token))
        }
    }

    // MARK: Plumbing

    /// Resolves the link (`open` records the first opening and audits the read) and hands over the public CSRF token.
    private func link(_ request: Request, _ context: OssaRequestContext,
                      _ body: (String, LinkView, String) async throws -> Response) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let csrf = request.cookies[configuration.formCookieName]?.value ?? environment.makeToken()
        let view: LinkView
        do {
            view = try await store.links.open(token: token, session: request.cookies[configuration.linkCookieName]?.value,
                                              now: environment.now(), address: context.clientAddress)
        } catch StoreError.notFound {
            return try html(PortalMessagePage(clinic: nil, heading: "This link does not work",
                                              paragraphs: ["Check that you opened the whole link from your message. If it still does not work, contact your clinic: they can send you a new one."]),
                            status: .notFound, csrf: csrf)
        }
        do {
            return try await body(token, view, csrf)
        } catch let closed as LinkClosed {
            var view = view
            view.status = closed.status
            return try self.closed(view, token: token)
        } catch is LinkNotConfirmed {
            return redirect(Paths.Portal.link.url(token))
        } catch let error as StoreError where PageHandling.isFieldError(error) {
            // The store refused an answer the page let through (an instrument changed under the draft): start the review again.
            context.logger.notice("questionnaire link: answers refused by the store")
            var errors = FormErrors()
            errors.add("submit", "Some answers could not be read; check them and send again")
            return try html(PortalReviewPage(token: token, clinic: view.clinic, questionnaire: questionnaire(view), draft: view.draft, csrf: csrf,
                                             errors: errors), status: .unprocessableContent, csrf: csrf)
        }
    }

    /// A link whose browser has confirmed the date of birth; otherwise back to the link (the date-of-birth form).
    private func confirmedLink(_ request: Request, _ context: OssaRequestContext,
                               _ body: (String, LinkView, PortalQuestionnaire, String) async throws -> Response) async throws -> Response {
        try await link(request, context) { token, view, csrf in
            guard view.status == .open else { return try closed(view, token: token) }
            guard view.confirmed else { return redirect(Paths.Portal.link.url(token)) }
            return try await body(token, view, questionnaire(view), csrf)
        }
    }

    /// `confirmedLink` for one numbered page; nil when the number is past the last page.
    private func confirmed(_ request: Request, _ context: OssaRequestContext,
                           _ body: (String, LinkView, PortalQuestionnaire, PortalQuestionnaire.Section?, String) async throws -> Response) async throws -> Response {
        try await confirmedLink(request, context) { token, view, questionnaire, csrf in
            guard let number = Int(context.parameters.get("page") ?? ""), number >= 1 else {
                throw Problem(.notFound, detail: "no such page of this questionnaire")
            }
            return try await body(token, view, questionnaire, questionnaire.sections.first { $0.number == number }, csrf)
        }
    }

    /// The diary day of a recovery-diary timepoint (`diary-d3` → 3); nil for a questionnaire.
    static func diaryDay(_ view: LinkView) -> Int? {
        guard view.timepointCode.hasPrefix("diary-d"), let day = Int(view.timepointCode.dropFirst("diary-d".count)), DiaryEntry.days.contains(day) else { return nil }
        return day
    }

    private func questionnaire(_ view: LinkView) -> PortalQuestionnaire {
        PortalQuestionnaire(timepointCode: view.timepointCode, joint: view.joint, protocol: followUp, library: library)
    }

    private func closed(_ view: LinkView, token: String, status: HTTPResponse.Status = .ok) throws -> Response {
        let window = "The questionnaire was open until the end of \(view.windowEnd.iso)."
        let (heading, paragraphs): (String, [String]) = switch view.status {
        case .completed: ("Thank you", ["Your answers have been sent to \(view.clinic.name). There is nothing more to do on this link.",
                                        "We will send you a new link when your next questionnaire is due."])
        case .expired: ("This link has expired", [window, "If you would still like to give your answers, contact the clinic."])
        case .withdrawn: ("This link is no longer in use", ["Your clinic changed your follow-up schedule or sent you a newer link. Use the newest message you received, or contact the clinic."])
        case .locked: ("This link has been locked", ["The date of birth was entered wrongly too many times, so the link was locked to protect your answers. The clinic has been told and will contact you."])
        case .open: ("Your questionnaire", [])
        }
        let links: [FormPage.Link] = view.status == .completed && view.confirmed
            ? [.init(url: Paths.Portal.progress.url(token), label: "See your results so far")] : []
        return try html(PortalMessagePage(clinic: view.clinic, heading: heading, paragraphs: paragraphs, links: links), status: status, csrf: "")
    }

    private func linkCookie(_ request: Request) -> String {
        request.cookies[configuration.linkCookieName]?.value ?? ""
    }

    private func redirect(_ url: String) -> Response {
        Response(status: .seeOther, headers: [.location: url])
    }

    /// Renders a public page; a page with a form also (re)sets the double-submit cookie its form carries. Patient
    /// pages are never cached (a shared phone's back button must not show another step's answers).
    private func html(_ page: some Page, status: HTTPResponse.Status = .ok, csrf: String) throws -> Response {
        var response = try pages.html(page, status: status, headers: [.cacheControl: "no-store"])
        if !csrf.isEmpty {
            response.setCookie(Cookie(name: configuration.formCookieName, value: csrf, maxAge: 24 * 3600, path: "/",
                                      secure: configuration.behindTLS, httpOnly: true, sameSite: .lax))
        }
        return response
    }
}
