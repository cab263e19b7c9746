import FluentKit
import Foundation

// Fluent models: persistence types only; repositories map them to the public `…Record` value types.
//
// Sendability: Fluent 4 declares models as `final class …: Model, @unchecked Sendable` — its property wrappers
// hold mutable storage, and Fluent's own documentation and types require this spelling. It is accepted here for
// Fluent models only: an instance is created, filled and saved inside one repository call and never shared
// between tasks. No other type in OssaStore uses `@unchecked Sendable`.
//
// Dates that are calendar days (birth date, procedure date, due dates) are stored as ISO `YYYY-MM-DD` text, as
// `CalendarDate` writes them; instants (`created_at`, `signed_at`, …) are Fluent timestamps.

final class SiteModel: Model, @unchecked Sendable {
    static let schema = "sites"
    @ID(key: .id) var id: UUID?
    @Field(key: "code") var code: String
    @Field(key: "name") var name: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class UserModel: Model, @unchecked Sendable {
    static let schema = "users"
    @ID(key: .id) var id: UUID?
    @Field(key: "email") var email: String
    @Field(key: "display_name") var displayName: String
    /// References `roles.name`.
    @Field(key: "role") var role: String
    /// A bcrypt hash (`$2b$…`), stored as given; hashing belongs to the authentication layer.
    @OptionalField(key: "password_hash") var passwordHash: String?
    /// For the patient role: the patient record this login belongs to.
    @OptionalParent(key: "patient_id") var patient: PatientModel?
    @Field(key: "disabled") var disabled: Bool
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class SiteGrantModel: Model, @unchecked Sendable {
    static let schema = "site_grants"
    @ID(key: .id) var id: UUID?
    @Parent(key: "user_id") var user: UserModel
    @Parent(key: "site_id") var site: SiteModel
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

final class PatientModel: Model, @unchecked Sendable {
    static let schema = "patients"
    @ID(key: .id) var id: UUID?
    @Parent(key: "site_id") var site: SiteModel
    /// Medical record number at the site (unique per site when present).
    @OptionalField(key: "mrn") var mrn: String?
    @Field(key: "family_name") var familyName: String
    @Field(key: "given_name") var givenName: String
    /// Case- and diacritic-folded "family given", for the name search.
    @Field(key: "name_search") var nameSearch: String
    /// The record number lowercased, for the search (M0027), so that it compares without a function per row.
    @OptionalField(key: "mrn_search") var mrnSearch: String?
    @Field(key: "birth_date") var birthDate: String
    @OptionalField(key: "sex") var sex: String?
    @OptionalField(key: "email") var email: String?
    @OptionalField(key: "phone") var phone: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class EpisodeModel: Model, @unchecked Sendable {
    static let schema = "episodes"
    @ID(key: .id) var id: UUID?
    @Parent(key: "patient_id") var patient: PatientModel
    /// Always the patient's site; stored here so that site filters need no join.
    @Parent(key: "site_id") var site: SiteModel
    @Field(key: "joint") var joint: String
    @Field(key: "side") var side: String
    @Field(key: "diagnosis_type") var diagnosisType: String
    /// `Diagnosis` as JSON (sorted keys).
    @Field(key: "diagnosis_json") var diagnosisJSON: String
    @Field(key: "status") var status: String
    @OptionalField(key: "last_contact_date") var lastContactDate: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class ScreeningDecisionModel: Model, @unchecked Sendable {
    static let schema = "screening_decisions"
    @ID(key: .id) var id: UUID?
    @OptionalParent(key: "episode_id") var episode: EpisodeModel?
    @Parent(key: "site_id") var site: SiteModel
    @Field(key: "ruleset_id") var rulesetID: String
    @Field(key: "ruleset_version") var rulesetVersion: String
    @Field(key: "category") var category: String
    @Field(key: "excluded") var excluded: Bool
    @Field(key: "evaluation_date") var evaluationDate: String
    /// The `ScreeningInput` as screened, JSON.
    @Field(key: "input_snapshot") var inputSnapshot: String
    /// The whole `ScreeningDecision` (fired rules, next steps, targets), JSON.
    @Field(key: "decision_json") var decisionJSON: String
    @OptionalParent(key: "signed_by") var signedBy: UserModel?
    @OptionalField(key: "signed_at") var signedAt: Date?
    @OptionalField(key: "override_category") var overrideCategory: String?
    @OptionalField(key: "override_reason") var overrideReason: String?
    /// Who ran the evaluation (M0015).
    @OptionalField(key: "decided_by") var decidedBy: UUID?
    @OptionalField(key: "overridden_by") var overriddenBy: UUID?
    @OptionalField(key: "overridden_at") var overriddenAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

final class ImagingStudyModel: Model, @unchecked Sendable {
    static let schema = "imaging_studies"
    @ID(key: .id) var id: UUID?
    @Parent(key: "episode_id") var episode: EpisodeModel
    @Parent(key: "site_id") var site: SiteModel
    /// `mri` or `xray`.
    @Field(key: "modality") var modality: String
    @Field(key: "study_date") var studyDate: String
    @OptionalField(key: "kellgren_lawrence") var kellgrenLawrence: Int?
    @OptionalField(key: "ahlback") var ahlback: String?
    @OptionalField(key: "tonnis") var tonnis: Int?
    /// Fracture line, AVN lesion, focal cartilage lesions, tumour/infection flag: JSON.
    @OptionalField(key: "other_findings_json") var otherFindingsJSON: String?
    /// `baseline` or `follow-up` (M0015).
    @OptionalField(key: "timing") var timing: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

final class SubregionFindingModel: Model, @unchecked Sendable {
    static let schema = "subregion_findings"
    @ID(key: .id) var id: UUID?
    @Parent(key: "study_id") var study: ImagingStudyModel
    @Field(key: "subregion") var subregion: String
    @Field(key: "bml_size_grade") var bmlSizeGrade: Int
    @OptionalField(key: "bml_percent_grade") var bmlPercentGrade: Int?
    @OptionalField(key: "lesion_count") var lesionCount: Int?
    init() {}
}

final class ProcedureModel: Model, @unchecked Sendable {
    static let schema = "procedures"
    @ID(key: .id) var id: UUID?
    @Parent(key: "episode_id") var episode: EpisodeModel
    @Parent(key: "site_id") var site: SiteModel
    /// `io`, `intra-articular` or `shockwave`.
    @Field(key: "kind") var kind: String
    @Field(key: "procedure_date") var procedureDate: String
    @OptionalField(key: "setting") var setting: String?
    @OptionalField(key: "anaesthesia") var anaesthesia: String?
    @OptionalField(key: "guidance") var guidance: String?
    @OptionalField(key: "fluoroscopy_seconds") var fluoroscopySeconds: Double?
    @OptionalField(key: "dap_mgy_cm2") var dapMGyCm2: Double?
    @OptionalField(key: "prp_json") var prpJSON: String?
    @OptionalField(key: "bmc_json") var bmcJSON: String?
    /// Shockwave parameters (energy flux density, pulses, sessions) for shockwave sessions: JSON.
    @OptionalField(key: "shockwave_json") var shockwaveJSON: String?
    @OptionalField(key: "complications") var complications: String?
    @OptionalField(key: "discharge_instructions") var dischargeInstructions: String?
    @OptionalParent(key: "operator_id") var `operator`: UserModel?
    /// The operator as written on the record (M0015).
    @OptionalField(key: "operator_name") var operatorName: String?
    @OptionalParent(key: "signed_by") var signedBy: UserModel?
    @OptionalField(key: "signed_at") var signedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class InjectionModel: Model, @unchecked Sendable {
    static let schema = "injections"
    @ID(key: .id) var id: UUID?
    @Parent(key: "procedure_id") var procedure: ProcedureModel
    @Field(key: "ordinal") var ordinal: Int
    /// `bone` or `intra-articular`.
    @Field(key: "target_kind") var targetKind: String
    @OptionalField(key: "bone_target") var boneTarget: String?
    @OptionalField(key: "subregion") var subregion: String?
    @Field(key: "product") var product: String
    @OptionalField(key: "approach") var approach: String?
    @OptionalField(key: "needle_gauge") var needleGauge: Int?
    @Field(key: "volume_ml") var volumeMl: Double
    init() {}
}

final class FollowUpTimepointModel: Model, @unchecked Sendable {
    static let schema = "follow_up_timepoints"
    @ID(key: .id) var id: UUID?
    @Parent(key: "episode_id") var episode: EpisodeModel
    @Parent(key: "site_id") var site: SiteModel
    /// Protocol timepoint code (`baseline`, `day-1`, …, `month-24`).
    @Field(key: "code") var code: String
    @Field(key: "protocol_id") var protocolID: String
    @Field(key: "due_date") var dueDate: String
    @Field(key: "window_start") var windowStart: String
    @Field(key: "window_end") var windowEnd: String
    /// `pending`, `completed`, `missed`, `cancelled`.
    @Field(key: "status") var status: String
    @OptionalField(key: "completed_at") var completedAt: Date?
    /// Why it was marked missed or not applicable (M0023).
    @OptionalField(key: "status_reason") var statusReason: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    /// M0029: when the patient was first invited, first opened the link and first saved an answer (none of them is
    /// completion).
    @OptionalField(key: "invited_at") var invitedAt: Date?
    @OptionalField(key: "opened_at") var openedAt: Date?
    @OptionalField(key: "started_at") var startedAt: Date?
    init() {}
}

final class QuestionnaireResponseModel: Model, @unchecked Sendable {
    static let schema = "questionnaire_responses"
    @ID(key: .id) var id: UUID?
    @Parent(key: "episode_id") var episode: EpisodeModel
    @Parent(key: "site_id") var site: SiteModel
    @OptionalParent(key: "timepoint_id") var timepoint: FollowUpTimepointModel?
    @Field(key: "instrument_id") var instrumentID: String
    @Field(key: "instrument_version") var instrumentVersion: String
    /// Raw answers, item code → value, JSON; always kept so scores can be recomputed.
    @Field(key: "answers_json") var answersJSON: String
    @Field(key: "scores_json") var scoresJSON: String
    @Field(key: "scoring_version") var scoringVersion: String
    /// `patient-link`, `staff`, `import`.
    @Field(key: "source") var source: String
    @Field(key: "completed_at") var completedAt: Date
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

final class InvitationModel: Model, @unchecked Sendable {
    static let schema = "invitations"
    @ID(key: .id) var id: UUID?
    @Parent(key: "patient_id") var patient: PatientModel
    @Parent(key: "timepoint_id") var timepoint: FollowUpTimepointModel
    /// SHA-256 (hex) of the random token; the token itself is never stored.
    @Field(key: "token_hash") var tokenHash: String
    /// `email` or `sms`.
    @Field(key: "channel") var channel: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "used_at") var usedAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    /// M0029: `staff` or `automatic` (NULL: issued before M0029, by staff); first opening; date of birth confirmed;
    /// failed date-of-birth tries (NULL = none) and when the link was locked after too many.
    @OptionalField(key: "origin") var origin: String?
    @OptionalField(key: "opened_at") var openedAt: Date?
    @OptionalField(key: "confirmed_at") var confirmedAt: Date?
    @OptionalField(key: "dob_failures") var dobFailures: Int?
    @OptionalField(key: "locked_at") var lockedAt: Date?
    init() {}
}

final class OutboxMessageModel: Model, @unchecked Sendable {
    static let schema = "outbox_messages"
    @ID(key: .id) var id: UUID?
    @OptionalParent(key: "invitation_id") var invitation: InvitationModel?
    /// `invitation`, `reminder`, …
    @Field(key: "kind") var kind: String
    @Field(key: "channel") var channel: String
    @Field(key: "recipient") var recipient: String
    @OptionalField(key: "subject") var subject: String?
    @Field(key: "body") var body: String
    /// `queued`, `sending`, `sent`, `failed`, `cancelled`.
    @Field(key: "status") var status: String
    @Field(key: "not_before") var notBefore: Date
    @OptionalField(key: "not_after") var notAfter: Date?
    @Field(key: "attempts") var attempts: Int
    @OptionalField(key: "last_error") var lastError: String?
    @OptionalField(key: "sent_at") var sentAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    /// M0028: the Message-ID of its first sending, and the delivery worker's lease while it is being sent.
    @OptionalField(key: "message_id") var messageID: String?
    @OptionalField(key: "lease_owner") var leaseOwner: String?
    @OptionalField(key: "lease_until") var leaseUntil: Date?
    /// M0029: the timepoint and site it is about, and its place in the timepoint's sequence (0 = invitation).
    @OptionalField(key: "timepoint_id") var timepointID: UUID?
    @OptionalField(key: "site_id") var siteID: UUID?
    @OptionalField(key: "sequence") var sequence: Int?
    init() {}
}

/// M0029: a browser that confirmed the patient's date of birth on one invitation's link.
final class LinkSessionModel: Model, @unchecked Sendable {
    static let schema = "link_sessions"
    @ID(key: .id) var id: UUID?
    @Parent(key: "invitation_id") var invitation: InvitationModel
    /// SHA-256 (hex) of the cookie's random value.
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    init() {}
}

/// M0029: a questionnaire's answers saved page by page (instrument id → item code → value), until it is submitted.
final class QuestionnaireDraftModel: Model, @unchecked Sendable {
    static let schema = "questionnaire_drafts"
    @ID(key: .id) var id: UUID?
    @Parent(key: "invitation_id") var invitation: InvitationModel
    @Field(key: "answers_json") var answersJSON: String
    @Field(key: "updated_at") var updatedAt: Date
    init() {}
}

final class OutcomeEventModel: Model, @unchecked Sendable {
    static let schema = "outcome_events"
    @ID(key: .id) var id: UUID?
    @Parent(key: "episode_id") var episode: EpisodeModel
    @Parent(key: "site_id") var site: SiteModel
    /// `joint-replacement`, `other-surgery`, `repeat-io`, `adverse-event`, `death`, `withdrawal`, `lost-to-follow-up`.
    @Field(key: "kind") var kind: String
    @Field(key: "event_date") var eventDate: String
    @OptionalField(key: "replacement_kind") var replacementKind: String?
    @OptionalField(key: "severity") var severity: String?
    @OptionalField(key: "description") var eventDescription: String?
    /// Adverse events: `unrelated` … `definite` (M0025).
    @OptionalField(key: "relatedness") var relatedness: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

final class SessionModel: Model, @unchecked Sendable {
    static let schema = "sessions"
    @ID(key: .id) var id: UUID?
    @Parent(key: "user_id") var user: UserModel
    /// SHA-256 (hex) of the session cookie value.
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "csrf_token") var csrfToken: String
    @Field(key: "last_seen_at") var lastSeenAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "remote_address") var remoteAddress: String?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

final class ProcedurePlanModel: Model, @unchecked Sendable {
    static let schema = "procedure_plans"
    @ID(key: .id) var id: UUID?
    @Parent(key: "episode_id") var episode: EpisodeModel
    @Parent(key: "site_id") var site: SiteModel
    @OptionalField(key: "decision_id") var decisionID: UUID?
    /// `YYYY-MM-DD`, when the procedure is booked.
    @OptionalField(key: "planned_date") var plannedDate: String?
    @Field(key: "plan_json") var planJSON: String
    @Field(key: "updated_by") var updatedBy: UUID
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    init() {}
}

final class AdjunctSessionModel: Model, @unchecked Sendable {
    static let schema = "adjunct_sessions"
    @ID(key: .id) var id: UUID?
    @Parent(key: "episode_id") var episode: EpisodeModel
    @Parent(key: "site_id") var site: SiteModel
    /// `shockwave` or `intra-articular`.
    @Field(key: "kind") var kind: String
    /// The (first) session's day, `YYYY-MM-DD`.
    @Field(key: "session_date") var sessionDate: String
    @Field(key: "session_json") var sessionJSON: String
    @Field(key: "created_by") var createdBy: UUID
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    init() {}
}

final class ProcedureAddendumModel: Model, @unchecked Sendable {
    static let schema = "procedure_addenda"
    @ID(key: .id) var id: UUID?
    @Parent(key: "procedure_id") var procedure: ProcedureModel
    @Parent(key: "site_id") var site: SiteModel
    @Field(key: "text") var text: String
    @Field(key: "reason") var reason: String
    @Field(key: "author_id") var authorID: UUID
    @Field(key: "created_at") var createdAt: Date
    init() {}
}
