import Foundation

// The closed sets of the registry, defined once: the store keeps them as text (with database constraints, see
// OssaStore's M0022_CheckClosedSets), the JSON API and the pages use them as they are, and FHIR maps them. Their raw
// values are a contract: never rename one; a new value needs a migration that widens the column's constraint.
// Each decodes with an error naming the field and the accepted values.

/// The five roles: patient, coordinator, clinician, researcher, admin. Stored as `users.role`, a foreign key to the `roles` table.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    case patient, coordinator, clinician, researcher, admin

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "role") }
}

public enum PatientSex: String, Sendable, Hashable, CaseIterable, Codable {
    case female, male, other, unknown

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "patient sex") }
}

public enum EpisodeStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case open, closed

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "episode status") }
}

public enum ImagingTiming: String, Sendable, Hashable, CaseIterable, Codable {
    case baseline
    case followUp = "follow-up"

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "imaging timing") }
}

public enum ImagingModality: String, Sendable, Hashable, CaseIterable, Codable {
    case mri, xray

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "imaging modality") }
}

/// Kind of procedure in an episode (IO procedure or an adjunct session).
public enum ProcedureKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Intraosseous injection (the index treatment; the first one is time zero of follow-up).
    case io
    /// Adjunct intra-articular injection session.
    case intraArticular = "intra-articular"

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "procedure kind") }
}

public enum TimepointStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case pending, completed, missed, cancelled

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "timepoint status") }
}

/// Worklists of pending timepoints on a given day.
public enum TimepointWorklist: String, Sendable, Hashable, CaseIterable, Codable {
    /// Window open and the target day not yet passed.
    case due
    /// Target day passed, window still open.
    case overdue
    /// Window closed without an answer and not yet marked missed.
    case closed

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "timepoint worklist") }
}

/// How a questionnaire reached the store.
public enum ResponseSource: String, Sendable, Hashable, CaseIterable, Codable {
    /// The patient, through their personal link or login.
    case patientLink = "patient-link"
    /// Staff entering a paper form.
    case staff
    /// Bulk import (the demo registry, migrations from other systems).
    case `import`

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "response source") }
}

public enum InvitationChannel: String, Sendable, Hashable, CaseIterable, Codable {
    case email, sms

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "invitation channel") }
}

public enum InvitationStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case active, used, revoked, expired

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "invitation status") }
}

public enum OutboxStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case queued, sending, sent, failed, cancelled

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "outbox status") }
}

/// Kinds of outcome event, as stored in `outcome_events.kind`.
public enum OutcomeKind: String, Sendable, Hashable, CaseIterable, Codable {
    case jointReplacement = "joint-replacement"
    case otherSurgery = "other-surgery"
    case repeatIO = "repeat-io"
    case adverseEvent = "adverse-event"
    case death
    case withdrawal
    case lostToFollowUp = "lost-to-follow-up"

    public init(_ event: OutcomeEvent) {
        switch event {
        case .jointReplacement: self = .jointReplacement
        case .otherSurgery: self = .otherSurgery
        case .repeatIO: self = .repeatIO
        case .adverseEvent: self = .adverseEvent
        case .death: self = .death
        case .withdrawal: self = .withdrawal
        case .lostToFollowUp: self = .lostToFollowUp
        }
    }

    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "outcome kind") }
}

