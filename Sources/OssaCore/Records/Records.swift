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
    /// Why it was marked missed or not applicable.
    public var statusReason: String?
    /// When the patient was first sent a link, first opened it, and first saved an answer (none of them is completion).
    public var invitedAt: Date?
    public var openedAt: Date?
    public var startedAt: Date?

    public init(id: UUID, episodeID: UUID, siteID: UUID, code: String, protocolID: String, dueDate: CalendarDate,
                windowStart: CalendarDate, windowEnd: CalendarDate, status: TimepointStatus, completedAt: Date? = nil,
                statusReason: String? = nil, invitedAt: Date? = nil, openedAt: Date? = nil, startedAt: Date? = nil) {
        (self.id, self.episodeID, self.siteID, self.code, self.protocolID) = (id, episodeID, siteID, code, protocolID)
        (self.dueDate, self.windowStart, self.windowEnd, self.status, self.completedAt) = (dueDate, windowStart, windowEnd, status, completedAt)
        self.statusReason = statusReason
        (self.invitedAt, self.openedAt, self.startedAt) = (invitedAt, openedAt, startedAt)
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
    /// For an adverse event: how likely the procedure caused it (nil when not assessed).
    public var relatedness: AdverseEventRelatedness?
    public var createdAt: Date?

    public init(id: UUID, episodeID: UUID, siteID: UUID, event: OutcomeEvent, relatedness: AdverseEventRelatedness? = nil, createdAt: Date? = nil) {
        (self.id, self.episodeID, self.siteID, self.event, self.createdAt) = (id, episodeID, siteID, event, createdAt)
        self.relatedness = relatedness
    }
}

/// X-ray grades of the treated joint: the same radiographic grading a diagnosis carries (defined once, `OAGrading`).
public typealias XRayGrades = OAGrading

/// A stored imaging study with its per-subregion findings.
public struct ImagingStudyRecord: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID
    public var siteID: UUID
    public var timing: ImagingTiming
    public var modality: ImagingModality
    public var date: CalendarDate
    /// The MRI reading (BML per subregion and the other findings); nil for an x-ray.
    public var mri: MRIStudy?
    public var xray: XRayGrades?
    public var createdAt: Date?

    public init(id: UUID, episodeID: UUID, siteID: UUID, timing: ImagingTiming, modality: ImagingModality, date: CalendarDate,
                mri: MRIStudy? = nil, xray: XRayGrades? = nil, createdAt: Date? = nil) {
        (self.id, self.episodeID, self.siteID, self.timing, self.modality) = (id, episodeID, siteID, timing, modality)
        (self.date, self.mri, self.xray, self.createdAt) = (date, mri, xray, createdAt)
    }

    /// BML burden, maximal grade and compartments (all zero for an x-ray).
    public var bmlSummary: BMLSummary { BMLSummary(mri?.bml ?? []) }
}

/// A stored procedure. (Named `StoredProcedure` because OssaCore's domain type is `ProcedureRecord`.)
public struct StoredProcedure: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID
    public var siteID: UUID
    public var kind: ProcedureKind
    /// The procedure as recorded, injections in their recorded order; `signature` is nil (see `signedBy`).
    public var record: ProcedureRecord
    /// The operator's user account, when known (the name as written is `record.operator_`).
    public var operatorID: UUID?
    public var signedBy: UUID?
    public var signedAt: Date?
    public var createdAt: Date?

    public init(id: UUID, episodeID: UUID, siteID: UUID, kind: ProcedureKind, record: ProcedureRecord, operatorID: UUID? = nil,
                signedBy: UUID? = nil, signedAt: Date? = nil, createdAt: Date? = nil) {
        (self.id, self.episodeID, self.siteID, self.kind, self.record) = (id, episodeID, siteID, kind, record)
        (self.operatorID, self.signedBy, self.signedAt, self.createdAt) = (operatorID, signedBy, signedAt, createdAt)
    }
}

/// A stored screening decision: the engine's output for one input, with who ran it and who signed or overrode it.
public struct ScreeningDecisionRecord: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID?
    public var siteID: UUID
    public var rulesetID: String
    public var rulesetVersion: String
    /// The engine's category (never changed; an override is stored beside it).
    public var category: ScreeningCategory
    public var excluded: Bool
    public var evaluationDate: CalendarDate
    /// The whole decision as the engine produced it, including the input snapshot and every fired rule.
    public var decision: ScreeningDecision
    public var decidedBy: UUID?
    public var signedBy: UUID?
    public var signedAt: Date?
    public var overrideCategory: ScreeningCategory?
    public var overrideReason: String?
    public var overriddenBy: UUID?
    public var overriddenAt: Date?
    public var createdAt: Date?

    /// The category that stands: the clinician's override when there is one, else the engine's.
    public var effectiveCategory: ScreeningCategory { overrideCategory ?? category }
    public var input: ScreeningInput { decision.input }
    public var firedRules: [FiredRule] { decision.firedRules }
    public var isSigned: Bool { signedBy != nil }

    public init(id: UUID, episodeID: UUID?, siteID: UUID, rulesetID: String, rulesetVersion: String, category: ScreeningCategory,
                excluded: Bool, evaluationDate: CalendarDate, decision: ScreeningDecision, decidedBy: UUID? = nil, signedBy: UUID? = nil,
                signedAt: Date? = nil, overrideCategory: ScreeningCategory? = nil, overrideReason: String? = nil,
                overriddenBy: UUID? = nil, overriddenAt: Date? = nil, createdAt: Date? = nil) {
        (self.id, self.episodeID, self.siteID, self.rulesetID, self.rulesetVersion) = (id, episodeID, siteID, rulesetID, rulesetVersion)
        (self.category, self.excluded, self.evaluationDate, self.decision) = (category, excluded, evaluationDate, decision)
        (self.decidedBy, self.signedBy, self.signedAt) = (decidedBy, signedBy, signedAt)
        (self.overrideCategory, self.overrideReason, self.overriddenBy, self.overriddenAt) = (overrideCategory, overrideReason, overriddenBy, overriddenAt)
        self.createdAt = createdAt
    }
}

/// A personal questionnaire link for one patient and one timepoint. The token is never stored, only its SHA-256.
public struct InvitationRecord: Sendable, Hashable {
    public var id: UUID
    public var patientID: UUID
    public var timepointID: UUID
    public var channel: InvitationChannel
    public var expiresAt: Date
    public var usedAt: Date?
    public var revokedAt: Date?
    public var createdAt: Date?

    public func status(at now: Date = Date()) -> InvitationStatus {
        if revokedAt != nil { return .revoked }
        if usedAt != nil { return .used }
        return now >= expiresAt ? .expired : .active
    }

    public init(id: UUID, patientID: UUID, timepointID: UUID, channel: InvitationChannel, expiresAt: Date, usedAt: Date? = nil,
                revokedAt: Date? = nil, createdAt: Date? = nil) {
        (self.id, self.patientID, self.timepointID, self.channel, self.expiresAt) = (id, patientID, timepointID, channel, expiresAt)
        (self.usedAt, self.revokedAt, self.createdAt) = (usedAt, revokedAt, createdAt)
    }
}

/// A message waiting in, or sent from, the outbox (e-mail or SMS).
public struct OutboxMessageRecord: Sendable, Hashable {
    public var id: UUID
    public var invitationID: UUID?
    public var kind: String
    public var channel: InvitationChannel
    public var recipient: String
    public var subject: String?
    public var body: String
    public var status: OutboxStatus
    public var notBefore: Date
    public var notAfter: Date?
    public var attempts: Int
    public var lastError: String?
    public var sentAt: Date?
    public var createdAt: Date?
    /// The timepoint and site the message is about, and its place in the plan (0 = the invitation); nil for messages
    /// queued before they were recorded.
    public var timepointID: UUID?
    public var siteID: UUID?
    public var sequence: Int?

    public init(id: UUID, invitationID: UUID?, kind: String, channel: InvitationChannel, recipient: String, subject: String?,
                body: String, status: OutboxStatus, notBefore: Date, notAfter: Date? = nil, attempts: Int = 0,
                lastError: String? = nil, sentAt: Date? = nil, createdAt: Date? = nil, timepointID: UUID? = nil, siteID: UUID? = nil,
                sequence: Int? = nil) {
        (self.id, self.invitationID, self.kind, self.channel, self.recipient) = (id, invitationID, kind, channel, recipient)
        (self.subject, self.body, self.status, self.notBefore, self.notAfter) = (subject, body, status, notBefore, notAfter)
        (self.attempts, self.lastError, self.sentAt, self.createdAt) = (attempts, lastError, sentAt, createdAt)
        (self.timepointID, self.siteID, self.sequence) = (timepointID, siteID, sequence)
    }
}
