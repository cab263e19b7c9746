import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// GET /episodes/:episodeID: the patient header and what the episode record holds today (joint, side,
/// diagnosis, status, last contact). Screening, imaging and procedures join here as their repositories land.
/// Model: `EpisodePage`; view: `episode.mustache`; query: `EpisodePage.load`.
struct EpisodePage: Sendable {
    struct PatientHeader: Sendable { var name: String; var birthDate: String; var sex: String; var mrn: String; var site: String }
    struct EpisodeLink: Sendable { var id: String; var url: String; var label: String }

    var title: String
    var user: UserBar?
    var patient: PatientHeader
    var episode: EpisodeView
    var otherEpisodes: [EpisodeLink]
    /// Stored, not computed: Mustache reads stored properties only.
    var hasOtherEpisodes: Bool

    /// One read model: the user bar, the episode, its patient and site, and the patient's other episodes.
    static func load(store: OssaStore, actor: ActingUser, csrfToken: String, episodeID: UUID) async throws -> EpisodePage {
        let view = try await store.readModels.episodePage(actor, episodeID: episodeID)
        let user = UserBar(view.viewer, csrfToken: csrfToken)
        let (episode, patient, site) = (view.episode, view.patient, view.site)
        let viewModel = EpisodeView(episode)
        let links = view.otherEpisodes.map { EpisodeLink(id: $0.id.lowercasedID, url: Paths.episode.url($0.id), label: EpisodeView.jointLabel($0)) }
        return EpisodePage(
            title: "\(patient.familyName), \(patient.givenName) · \(viewModel.jointLabel)", user: user,
            patient: PatientHeader(name: "\(patient.familyName), \(patient.givenName)", birthDate: patient.birthDate.iso,
                                   sex: patient.sex?.rawValue ?? "not recorded", mrn: patient.mrn ?? "–",
                                   site: site.map { "\($0.code) · \($0.name)" } ?? "–"),
            episode: viewModel,
            otherEpisodes: links, hasOtherEpisodes: !links.isEmpty)
    }
}

/// An episode as the pages show it.
struct EpisodeView: Sendable {
    var joint: String
    var side: String
    var jointLabel: String
    var diagnosis: String
    var status: String
    var lastContact: String
    var opened: String

    init(_ episode: EpisodeRecord) {
        joint = episode.joint.rawValue
        side = episode.side.rawValue
        jointLabel = Self.jointLabel(episode)
        diagnosis = episode.diagnosis.summary
        status = episode.status.rawValue
        lastContact = episode.lastContactDate?.iso ?? "–"
        opened = episode.createdAt.map { String($0.formatted(.iso8601).prefix(10)) } ?? "–"
    }

    static func jointLabel(_ episode: EpisodeRecord) -> String {
        "\(episode.side.rawValue) \(episode.joint.rawValue), \(episode.diagnosis.kind.rawValue.replacingOccurrences(of: "-", with: " "))"
    }
}
