import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// GET /patients: search by name (a plain GET form, works without JavaScript), filter by site, page through.
/// Model: `PatientListPage`; view: `patients.mustache`; read model: `ReadModels.patientList`.
struct PatientListPage: Page {
    static let template = "patients"
    struct SiteOption: Sendable { var id: String; var code: String; var name: String; var selected: Bool }

    var title = "Patients"
    var user: UserBar?
    var chrome = Chrome()
    var query: String
    var sites: [SiteOption]
    /// Mustache reads stored properties only (through Mirror), so the flags are stored.
    var hasSites: Bool
    var table: TableModel
    var pagination: Pagination
    /// The episode filters (joint, diagnosis, episode status) as selects, and the link to a new patient.
    var filters: [FormField] = []
    var newPatientURL: String = Paths.patientNew.template
    var canCreate = false

    static let pageSize = 25

    /// One read model: the user bar, sites, the page of patients and all their episodes in one transaction.
    static func read(store: OssaStore, actor: ActingUser, query: String?, site: UUID?, offset: Int,
                     filter: ReadModels.PatientFilter) async throws -> ReadModels.PatientList {
        try await store.readModels.patientList(actor, PageRequest(limit: pageSize, offset: offset, search: query), site: site, filter: filter)
    }

}

extension PatientListPage {
    /// The page for one read of the list (the memberwise initialiser stays: this one is in an extension).
    init(_ view: ReadModels.PatientList, actor: ActingUser, csrfToken: String, query: String?, site: UUID?, offset: Int,
         filter: ReadModels.PatientFilter) {
        let pageSize = Self.pageSize
        let codes = Dictionary(uniqueKeysWithValues: view.sites.map { ($0.id, $0.code) })
        let page = view.patients
        let rows = page.items.map { patient in
            let episodes = (view.episodes[patient.id] ?? []).prefix(20).map {
                TableModel.Link(url: Paths.episode.url($0.id), text: EpisodeView.jointLabel($0))
            }
            return TableModel.Row(cells: [
                .link("\(patient.familyName), \(patient.givenName)", Paths.patient.url(patient.id)), .init(patient.birthDate.iso), .init(patient.mrn ?? "–"),
                .init(codes[patient.siteID] ?? "–"), .init("none", links: Array(episodes)),
            ])
        }
        let first = page.total == 0 ? 0 : offset + 1
        let last = offset + page.items.count
        let summary = page.total == 0 ? "No patients found." : "Showing \(first)–\(last) of \(page.total) patients."
        func url(_ newOffset: Int) -> String {
            var items = [URLQueryItem(name: "offset", value: String(newOffset))]
            if let query, !query.isEmpty { items.insert(URLQueryItem(name: "q", value: query), at: 0) }
            if let site { items.append(URLQueryItem(name: "site", value: site.lowercasedID)) }
            if let joint = filter.joint { items.append(URLQueryItem(name: "joint", value: joint.rawValue)) }
            if let kind = filter.diagnosis { items.append(URLQueryItem(name: "diagnosis", value: kind.rawValue)) }
            if let status = filter.status { items.append(URLQueryItem(name: "status", value: status.rawValue)) }
            var components = URLComponents()
            components.path = Paths.patients.template
            components.queryItems = items
            return components.string ?? Paths.patients.template
        }
        var values = FormValues()
        values.set("joint", filter.joint?.rawValue)
        values.set("diagnosis", filter.diagnosis?.rawValue)
        values.set("status", filter.status?.rawValue)
        let none = FormErrors()
        self.init(
            title: actor.role == .patient ? "My record" : "Patients",
            user: UserBar(view.viewer, csrfToken: csrfToken), query: query ?? "",
            sites: view.sites.map { SiteOption(id: $0.id.lowercasedID, code: $0.code, name: $0.name, selected: $0.id == site) },
            hasSites: view.sites.count > 1,
            table: TableModel(caption: "Patients", headers: ["Name", "Born", "MRN", "Site", "Episodes"], rows: rows),
            pagination: Pagination(previousURL: offset > 0 ? url(max(0, offset - pageSize)) : nil,
                                   nextURL: last < page.total ? url(offset + pageSize) : nil, summary: summary))
        if actor.role != .patient {
            filters = [
                FormField.select("joint", "Joint", values, none, options: Joint.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) }, blank: "Any"),
                FormField.select("diagnosis", "Diagnosis", values, none, options: Diagnosis.Kind.allCases.map { ($0.rawValue, DiagnosisFields.label($0)) }, blank: "Any"),
                FormField.select("status", "Episode status", values, none, options: EpisodeStatus.allCases.map { ($0.rawValue, $0.rawValue.capitalizedFirst) }, blank: "Any"),
            ]
            canCreate = AccessPolicy.allows(actor.role, .create, .patient)
        }
    }
}
