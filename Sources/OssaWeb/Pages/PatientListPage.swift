import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// GET /patients: search by name (a plain GET form, works without JavaScript), filter by site, page through.
/// Model: `PatientListPage`; view: `patients.mustache`; query: `PatientListPage.load`.
struct PatientListPage: Sendable {
    struct SiteOption: Sendable { var id: String; var code: String; var name: String; var selected: Bool }
    struct EpisodeLink: Sendable { var id: String; var label: String }
    struct Row: Sendable { var name: String; var birthDate: String; var mrn: String; var site: String; var episodes: [EpisodeLink] }

    var title = "Patients"
    var user: UserBar?
    var query: String
    var sites: [SiteOption]
    /// Mustache reads stored properties only (through Mirror), so the flags are stored.
    var hasSites: Bool
    var patients: [Row]
    var hasPatients: Bool
    var summary: String
    var previousURL: String?
    var nextURL: String?

    static let pageSize = 25

    static func load(store: OssaStore, actor: ActingUser, user: UserBar, query: String?, site: UUID?, offset: Int) async throws -> PatientListPage {
        // A patient sees their own record only and no site directory (sites are staff data).
        let sites = actor.role == .patient ? []
            : try await store.sites.list(actor, PageRequest(limit: PageRequest.maximumLimit)).items
        let codes = Dictionary(uniqueKeysWithValues: sites.map { ($0.id, $0.code) })
        let page = try await store.patients.list(actor, PageRequest(limit: pageSize, offset: offset, search: query), site: site)
        var rows: [Row] = []
        for patient in page.items {
            let episodes = try await store.episodes.list(actor, patient: patient.id, PageRequest(limit: 20)).items
            rows.append(Row(name: "\(patient.familyName), \(patient.givenName)", birthDate: patient.birthDate.iso,
                            mrn: patient.mrn ?? "–", site: codes[patient.siteID] ?? "–",
                            episodes: episodes.map { EpisodeLink(id: $0.id.lowercasedID, label: EpisodeView.jointLabel($0)) }))
        }
        let first = page.total == 0 ? 0 : offset + 1
        let last = offset + page.items.count
        let summary = page.total == 0 ? "No patients found." : "Showing \(first)–\(last) of \(page.total) patients."
        func url(_ newOffset: Int) -> String {
            var items = [URLQueryItem(name: "offset", value: String(newOffset))]
            if let query, !query.isEmpty { items.insert(URLQueryItem(name: "q", value: query), at: 0) }
            if let site { items.append(URLQueryItem(name: "site", value: site.lowercasedID)) }
            var components = URLComponents()
            components.path = "/patients"
            components.queryItems = items
            return components.string ?? "/patients"
        }
        return PatientListPage(
            title: actor.role == .patient ? "My record" : "Patients",
            user: user, query: query ?? "",
            sites: sites.map { SiteOption(id: $0.id.lowercasedID, code: $0.code, name: $0.name, selected: $0.id == site) },
            hasSites: sites.count > 1, patients: rows, hasPatients: !rows.isEmpty, summary: summary,
            previousURL: offset > 0 ? url(max(0, offset - pageSize)) : nil,
            nextURL: last < page.total ? url(offset + pageSize) : nil)
    }
}

