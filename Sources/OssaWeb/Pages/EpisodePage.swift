import Foundation
import Hummingbird
import OssaCore
import OssaStore

/// GET /episodes/:episodeID: the patient header and what the episode record holds today (joint, side,
/// diagnosis, status, last contact). Model: `EpisodePage`; view: `episode.mustache`; read model:
/// `ReadModels.episodePage`.
struct EpisodePage: Page {
    static let template = "episode"
    struct PatientHeader: Sendable { var name: String }
    struct EpisodeLink: Sendable { var url: String; var label: String }

    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var patient: PatientHeader
    var episode: EpisodeView
    var patientFacts: SummaryList
    var episodeFacts: SummaryList
    var otherEpisodes: [EpisodeLink]
    /// Stored, not computed: Mustache reads stored properties only.
    var hasOtherEpisodes: Bool

    /// One read model: the user bar, the episode, its patient and site, and the patient's other episodes.
    static func load(store: OssaStore, actor: ActingUser, csrfToken: String, episodeID: UUID) async throws -> EpisodePage {
        let view = try await store.readModels.episodePage(actor, episodeID: episodeID)
        let (patient, site) = (view.patient, view.site)
        let episode = EpisodeView(view.episode)
        let name = "\(patient.familyName), \(patient.givenName)"
        let links = view.otherEpisodes.map { EpisodeLink(url: Paths.episode.url($0.id), label: EpisodeView.jointLabel($0)) }
        return EpisodePage(
            title: "\(name) · \(episode.jointLabel)", user: UserBar(view.viewer, csrfToken: csrfToken),
            patient: PatientHeader(name: name), episode: episode,
            patientFacts: SummaryList([("Name", name), ("Born", patient.birthDate.iso), ("Sex", patient.sex?.rawValue ?? "not recorded"),
                                       ("MRN", patient.mrn ?? "–"), ("Site", site.map { "\($0.code) · \($0.name)" } ?? "–")]),
            episodeFacts: SummaryList([("Joint", episode.joint), ("Side", episode.side), ("Diagnosis", episode.diagnosis),
                                       ("Status", episode.status), ("Last contact", episode.lastContact), ("Opened", episode.opened)]),
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

    init(joint: String, side: String, jointLabel: String, diagnosis: String, status: String, lastContact: String, opened: String) {
        (self.joint, self.side, self.jointLabel, self.diagnosis) = (joint, side, jointLabel, diagnosis)
        (self.status, self.lastContact, self.opened) = (status, lastContact, opened)
    }

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
