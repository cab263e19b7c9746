import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// The exports page (issue #12): the research files `ossa export` writes, as one ZIP download — the kinds the role
/// may make (identified REDCap and long CSV for the staff of the sites, de-identified for researchers and staff),
/// for some or all of the user's sites, optionally only what changed since a day. A refused form comes back with
/// the user's values and every error (GOV.UK pattern); the download is audited by the export itself.
struct ExportRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer
    let download: ResearchDownload
    let now: @Sendable () -> Date

    var handling: PageHandling { PageHandling(store: store, pages: pages) }
    var today: CalendarDate { CalendarDate(utc: now()) }

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.exports, use: page)
        group.on(.post, Paths.exports, use: export)
    }

    static func form(user: UserBar, view: ReadModels.ExportsPage, role: Role, values: FormValues, errors: FormErrors) -> FormPage {
        let kinds = ResearchDownload.Kind.allCases.filter { $0.allowed(for: role) }
        var values = values
        if values["kind"].isEmpty, kinds.count == 1 { values.set("kind", kinds[0].rawValue) }
        return FormPage(
            title: "Export research files", user: user,
            intro: ["The files are those of ossa export, in one ZIP archive. Each export is recorded in the audit log.",
                    "The wide CSV imports into a REDCap longitudinal project: upload its data dictionary, events and form designations first (the README says how)."],
            action: Paths.exports.template, values: values, errors: errors,
            sections: [
                FormSection("What to export", id: "what", fields: [
                    FormField.choices("kind", "Export", values, errors, options: kinds.map { ($0.rawValue, $0.label) }),
                ]),
                FormSection("Which records", id: "which", fields: [
                    FormField.choices("site", "Sites", values, errors, options: view.sites.map { ($0.code, "\($0.name) (\($0.code))") },
                                      multiple: true, hint: "None ticked: all your sites"),
                    FormField.date("since", "Changed since", values, errors,
                                   hint: "Optional. Only episodes with anything created or changed on or after this day (year-month-day, UTC)"),
                ]),
            ],
            buttons: [FormButton("Download the export")], cancelURL: nil)
    }

    @Sendable func page(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.exportsPage(actor)
            guard ResearchDownload.Kind.allCases.contains(where: { $0.allowed(for: actor.role) }) else {
                throw Problem(.forbidden, detail: "Your role does not export records.")
            }
            return try pages.html(Self.form(user: UserBar(view.viewer, csrfToken: context.auth?.csrfToken ?? ""), view: view, role: actor.role,
                                            values: FormValues(), errors: FormErrors()))
        }
    }

    @Sendable func export(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let values = try await PageHandling.values(request, context)
            let view = try await store.readModels.exportsPage(actor)
            var errors = FormErrors()
            let kind = ResearchDownload.Kind(rawValue: values["kind"])
            if values["kind"].isEmpty { errors.add("kind", "Choose what to export") }
            else if kind == nil || kind?.allowed(for: actor.role) != true { errors.add("kind", "Choose one of the exports listed") }
            let (sites, unknown) = ResearchDownload.sites(values.all("site").filter { !$0.isEmpty }, mine: view.sites)
            if !unknown.isEmpty { errors.add("site", "Choose among your sites; \(unknown.joined(separator: ", ")) is not one of them") }
            var since: Date?
            let sinceText = values["since"].trimmingCharacters(in: .whitespaces)
            if !sinceText.isEmpty {
                if let day = try? CalendarDate(iso: sinceText) {
                    if day > today { errors.add("since", "Changed since must be today or earlier") } else { since = day.startOfDayUTC }
                } else {
                    errors.add("since", "Enter changed since as year-month-day, for example 2026-01-31")
                }
            }
            guard errors.isEmpty, let kind else {
                return try pages.html(Self.form(user: UserBar(view.viewer, csrfToken: context.auth?.csrfToken ?? ""), view: view, role: actor.role,
                                                values: values, errors: errors), status: .unprocessableContent)
            }
            let what = "\(kind.rawValue) (page)" + (sites == nil ? "" : " site=\(values.all("site").joined(separator: ","))") + (since == nil ? "" : " since=\(sinceText)")
            return try await download.response(kind, actor: actor, sites: sites, since: since, what: what, today: today)
        }
    }
}
