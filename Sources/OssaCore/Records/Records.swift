import Foundation

// The registry's records as every layer sees them: what the store returns, what the pages and the JSON API show
// and what FHIR maps. Value types only; OssaStore builds them from its (internal) persistence models.

/// A clinic site; records belong to one, and staff are granted sites.
public struct SiteRecord: Sendable, Hashable {
    public var id: UUID
    /// Short unique code, e.g. `VIE-1`.
    public var code: String
    public var name: String
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(id: UUID, code: String, name: String, createdAt: Date? = nil, updatedAt: Date? = nil) {
        (self.id, self.code, self.name, self.createdAt, self.updatedAt) = (id, code, name, createdAt, updatedAt)
    }
}

/// An account (any role). The password hash is never part of it.
public struct UserRecord: Sendable, Hashable {
    public var id: UUID
    public var email: String
    public var displayName: String
    public var role: Role
    /// Whether a password hash is set (the hash itself is never returned).
    public var hasPassword: Bool
    public var patientID: UUID?
    public var disabled: Bool
    public var createdAt: Date?

    public init(id: UUID, email: String, displayName: String, role: Role, hasPassword: Bool, patientID: UUID? = nil,
                disabled: Bool = false, createdAt: Date? = nil) {
        (self.id, self.email, self.displayName, self.role) = (id, email, displayName, role)
        (self.hasPassword, self.patientID, self.disabled, self.createdAt) = (hasPassword, patientID, disabled, createdAt)
    }
}

/// An identified patient record (one chart per site).
public struct PatientRecord: Sendable, Hashable {
    public var id: UUID
    public var siteID: UUID
    public var mrn: String?
    public var familyName: String
    public var givenName: String
    public var birthDate: CalendarDate
    public var sex: PatientSex?
    public var email: String?
    public var phone: String?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(id: UUID, siteID: UUID, mrn: String? = nil, familyName: String, givenName: String, birthDate: CalendarDate,
                sex: PatientSex? = nil, email: String? = nil, phone: String? = nil, createdAt: Date? = nil, updatedAt: Date? = nil) {
        (self.id, self.siteID, self.mrn, self.familyName, self.givenName) = (id, siteID, mrn, familyName, givenName)
        (self.birthDate, self.sex, self.email, self.phone) = (birthDate, sex, email, phone)
        (self.createdAt, self.updatedAt) = (createdAt, updatedAt)
    }
}

/// A treatment episode's header: one patient × one joint × one course.
public struct EpisodeRecord: Sendable, Hashable {
    public var id: UUID
    public var patientID: UUID
    public var siteID: UUID
    public var joint: Joint
    public var side: Side
    public var diagnosis: Diagnosis
    public var status: EpisodeStatus
    public var lastContactDate: CalendarDate?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(id: UUID, patientID: UUID, siteID: UUID, joint: Joint, side: Side, diagnosis: Diagnosis, status: EpisodeStatus,
                lastContactDate: CalendarDate? = nil, createdAt: Date? = nil, updatedAt: Date? = nil) {
        (self.id, self.patientID, self.siteID, self.joint, self.side) = (id, patientID, siteID, joint, side)
        (self.diagnosis, self.status, self.lastContactDate) = (diagnosis, status, lastContactDate)
        (self.createdAt, self.updatedAt) = (createdAt, updatedAt)
    }
}

/// One follow-up timepoint of an episode, dated from the index procedure.
public struct TimepointRecord: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID
    public var siteID: UUID
    /// The protocol's timepoint id (`baseline`, `diary-d1`, …, `month-24`).
    public var code: String
    public var protocolID: String
    public var dueDate: CalendarDate
    /// First and last day answers are accepted (inclusive).
    public var windowStart: CalendarDate
    public var windowEnd: CalendarDate
    public var status: TimepointStatus
    public var completedAt: Date?

    public init(id: UUID, episodeID: UUID, siteID: UUID, code: String, protocolID: String, dueDate: CalendarDate,
                windowStart: CalendarDate, windowEnd: CalendarDate, status: TimepointStatus, completedAt: Date? = nil) {
        (self.id, self.episodeID, self.siteID, self.code, self.protocolID) = (id, episodeID, siteID, code, protocolID)
        (self.dueDate, self.windowStart, self.windowEnd, self.status, self.completedAt) = (dueDate, windowStart, windowEnd, status, completedAt)
    }
}

/// A stored questionnaire response: raw answers, the scores computed at submission and the rule version used.
public struct QuestionnaireResponseRecord: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID
    public var siteID: UUID
    public var timepointID: UUID?
    public var instrumentID: String
    public var instrumentVersion: String
    /// Item code → ordinal; nil = unanswered. Always kept, so scores can be recomputed.
    public var answers: [String: Int?]
    /// Score id → value (nil when too few items were answered), in the instrument's order.
    public var scores: [ResponseScore]
    public var scoringVersion: String
    public var source: ResponseSource
    public var completedAt: Date
    public var createdAt: Date?

    public func score(_ id: String) -> Double? { scores.first { $0.id == id }?.value }

    public init(id: UUID, episodeID: UUID, siteID: UUID, timepointID: UUID?, instrumentID: String, instrumentVersion: String,
                answers: [String: Int?], scores: [ResponseScore], scoringVersion: String, source: ResponseSource, completedAt: Date,
                createdAt: Date?) {
        (self.id, self.episodeID, self.siteID, self.timepointID) = (id, episodeID, siteID, timepointID)
        (self.instrumentID, self.instrumentVersion, self.answers, self.scores) = (instrumentID, instrumentVersion, answers, scores)
        (self.scoringVersion, self.source, self.completedAt, self.createdAt) = (scoringVersion, source, completedAt, createdAt)
    }
}

/// One computed score of a response; `value` is nil when too few items were answered.
public struct ResponseScore: Sendable, Hashable {
    public var id: String
    public var value: Double?

    public init(id: String, value: Double?) {
        self.id = id
        self.value = value
    }
}

/// An outcome event of an episode (joint replacement, other surgery, repeat IO, adverse event, death, withdrawal,
/// loss to follow-up).
public struct OutcomeEventRecord: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID
    public var siteID: UUID
    public var event: OutcomeEvent
    public var kind: OutcomeKind { OutcomeKind(event) }
    public var date: CalendarDate { event.date }
    public var createdAt: Date?

    public init(id: UUID, episodeID: UUID, siteID: UUID, event: OutcomeEvent, createdAt: Date? = nil) {
        (self.id, self.episodeID, self.siteID, self.event, self.createdAt) = (id, episodeID, siteID, event, createdAt)
    }
}
