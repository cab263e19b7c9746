import Foundation
import OssaCore

/// A clinic site of the demo registry.
public struct DemoSite: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var city: String
    /// IANA time zone name, e.g. `Europe/Lisbon`.
    public var timeZone: String
    /// Share of patients treated here (relative weight).
    public var weight: Double
    /// The site's usual PRP system.
    public var prpSystem: String
    public var leukocytes: LeukocyteContent
    public var activation: PRPActivation
    /// Whether the site does every case in its surgery centre (otherwise it follows the screening suggestion).
    public var alwaysSurgeryCentre: Bool
}

/// The staff roles of Ossa's five (patient, coordinator, clinician, researcher, admin) that the demo creates.
public enum DemoRole: String, Sendable, Hashable, Codable, CaseIterable {
    case clinician, coordinator, researcher, admin
}

/// A demo login. Passwords are not generated here: the CLI sets them (and prints them) when it stores users.
public struct DemoUser: Sendable, Hashable, Codable {
    public var id: String
    /// Login name, e.g. `demo.clinician.lis1`.
    public var login: String
    public var displayName: String
    public var email: String
    public var role: DemoRole
    /// Sites granted to the user (empty for the admin, who sees no clinical data by default).
    public var siteIds: [String]
}

/// Sex recorded at registration.
public enum DemoSex: String, Sendable, Hashable, Codable, CaseIterable {
    case female, male
}

/// A synthetic patient; every identifier is obviously fictitious.
public struct DemoPatient: Sendable, Hashable, Codable {
    public var id: String
    /// Medical record number, `DEMO-` prefixed.
    public var mrn: String
    public var givenName: String
    public var familyName: String
    public var sex: DemoSex
    public var birthDate: CalendarDate
    /// `…@example.org` (RFC 2606 reserved domain).
    public var email: String
    /// `+1-555-01xx` (reserved for fiction).
    public var phone: String
    public var siteId: String
}

/// A screening decision as stored: the engine's decision (with its input snapshot and ruleset version)
/// and the clinician's signature.
public struct DemoScreening: Sendable, Hashable, Codable {
    public var decision: ScreeningDecision
    public var signedBy: String
    public var signedOn: CalendarDate
}

/// One answer: item code and ordinal value; `nil` = the patient skipped the item.
public struct DemoAnswer: Sendable, Hashable, Codable {
    public var item: String
    public var value: Int?
}

/// One completed questionnaire at one timepoint, item by item (raw answers; scores are recomputable).
public struct DemoResponse: Sendable, Hashable, Codable {
    public var timepoint: String
    public var instrument: String
    public var completedOn: CalendarDate
    /// In questionnaire order. Date and text items of the events form are not generated.
    public var answers: [DemoAnswer]

    /// Answers in the form the scoring engine takes (`InstrumentDefinition.score(_:)`).
    public var answerMap: [String: Int?] {
        var map: [String: Int?] = [:]
        for a in answers { map[a.item] = .some(a.value) }
        return map
    }
}

/// One treatment episode with everything recorded around it.
public struct DemoEpisode: Sendable, Hashable, Codable {
    public var episode: TreatmentEpisode
    /// In date order; a `not-now` decision is followed by a re-screen once the washout is over.
    public var screenings: [DemoScreening]
    /// Follow-up schedule from the default protocol; `nil` when the episode was not treated.
    public var schedule: FollowUpSchedule?
    /// Completed questionnaires in date order.
    public var responses: [DemoResponse]
    /// Timepoints whose window closed before the data cut, while the patient was still followed,
    /// without any questionnaire completed.
    public var missedTimepoints: [String]
    /// Generator-side truth, for calibration checks and teaching: not a clinical field.
    public var truth: DemoTruth
}

/// The latent values an episode was generated from (never shown as clinical data).
public struct DemoTruth: Sendable, Hashable, Codable {
    /// The patient belongs to the latent responder class.
    public var responder: Bool
    /// Relative hazard of joint replacement used for this episode.
    public var replacementHazardRatio: Double
    /// The episode reached treatment.
    public var treated: Bool
}

/// Everything generated for one patient: a self-contained value derived from `(seed, index)` alone.
public struct DemoPatientRecord: Sendable, Hashable, Codable {
    public var index: Int
    public var patient: DemoPatient
    public var episodes: [DemoEpisode]
}

/// A whole generated registry (for small N; use `DemoRegistry.patients(_:)` to stream large ones).
public struct DemoRegistrySnapshot: Sendable, Hashable, Codable {
    public var seed: UInt64
    public var startDate: CalendarDate
    public var dataCutDate: CalendarDate
    public var sites: [DemoSite]
    public var users: [DemoUser]
    public var patients: [DemoPatientRecord]
}

/// Errors of the demo generator.
public enum DemoError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingCalibration(String)
    case invalidCalibration(String)
    case invalidArgument(String)
    case generated(String)

    public var description: String {
        switch self {
        case .missingCalibration(let id): "demo calibration value '\(id)' is missing from demo/calibration.json"
        case .invalidCalibration(let why): "demo calibration: \(why)"
        case .invalidArgument(let why): why
        case .generated(let why): "demo generator produced an invalid record: \(why)"
        }
    }
}
