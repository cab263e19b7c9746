import Foundation

/// Who may do what, for each of the five roles (patient, coordinator, clinician, researcher, admin).
/// Site scoping is applied separately, inside each query.
///
/// | record        | operation             | patient     | coordinator | clinician | researcher | admin |
/// |---------------|-----------------------|-------------|-------------|-----------|------------|-------|
/// | site          | create, update        | –           | –           | –         | –          | all   |
/// | site          | read, list            | –           | granted     | granted   | granted    | all   |
/// | user          | create, update, grant | –           | –           | –         | –          | all   |
/// | user          | read                  | self        | self        | self      | self       | all   |
/// | patient       | create, update        | –           | granted     | granted   | –          | –     |
/// | patient       | read (chart), list    | own record  | granted     | granted   | –          | –     |
/// | episode       | create                | –           | granted     | granted   | –          | –     |
/// | episode       | update (clinical)     | –           | –           | granted   | –          | –     |
/// | episode       | read, list            | own         | granted     | granted   | –          | –     |
/// | screening     | create (evaluate)     | –           | granted     | granted   | –          | –     |
/// | screening     | update (sign/override)| –           | –           | granted   | –          | –     |
/// | screening     | read, list            | –           | granted     | granted   | –          | –     |
/// | imaging study | create                | –           | granted     | granted   | –          | –     |
/// | imaging study | read, list            | –           | granted     | granted   | –          | –     |
/// | procedure     | create, update (sign) | –           | –           | granted   | –          | –     |
/// | procedure     | read, list            | –           | granted     | granted   | –          | –     |
/// | questionnaire | create (submit)       | own         | granted     | granted   | –          | –     |
/// | questionnaire | read, list            | own         | granted     | granted   | –          | –     |
/// | timepoint     | create, update        | –           | granted     | granted   | –          | –     |
/// | timepoint     | read, list            | own         | granted     | granted   | –          | –     |
/// | outcome event | create                | –           | granted     | granted   | –          | –     |
/// | outcome event | read, list            | –           | granted     | granted   | –          | –     |
/// | invitation    | create, update, list  | –           | granted     | granted   | –          | –     |
/// | outbox message| create (enqueue)      | –           | granted     | granted   | –          | –     |
/// | outbox message| list, update (send)   | –           | –           | –         | –          | all   |
/// | de-identified | export                | –           | –           | –         | granted    | –     |
///
/// Clinical choices behind the rows above:
/// - Coordinators run screening (it is decision support and produces an unsigned decision) but only clinicians
///   sign or override it, and only clinicians record and sign procedures.
/// - Coordinators transcribe imaging reports (MRI subregion grades, x-ray grades), enter paper questionnaires,
///   plan follow-up schedules, mark timepoints and record outcome events reported by phone.
/// - Patients submit and read their own questionnaires and see their own follow-up timepoints; screening
///   decisions, imaging, procedures and outcome events are discussed with them rather than shown raw.
/// - The outbox sender is a service account with the admin role: it sees a message's recipient and body
///   (a link), never chart data. Staff enqueue messages only for invitations at their granted sites.
/// - Researchers read the de-identified read model of their granted sites only (audited as an export).
///
/// Researchers get no identified data: the identified repositories refuse them; `ResearchRepository` serves them
/// de-identified rows. Admins get no clinical data. A redeemed invitation link acts as its patient
/// (`RedeemedInvitation.actingUser`), with the patient role's rights on that patient's own records.
public enum AccessPolicy {
    /// Whether the role may do this to any record of the type (navigation asks this; the store still scopes every
    /// query by site and ownership).
    public static func allows(_ role: Role, _ action: AuditAction, _ recordType: RecordType) -> Bool {
        scope(role, action, recordType) != .denied
    }

    enum Scope { case denied, ownRecord, grantedSites, all }

    static func scope(_ role: Role, _ action: AuditAction, _ recordType: RecordType) -> Scope {
        switch (recordType, action, role) {
        case (.site, .create, .admin), (.site, .update, .admin): .all
        case (.site, .read, .admin), (.site, .list, .admin): .all
        case (.site, .read, .coordinator), (.site, .read, .clinician), (.site, .read, .researcher),
             (.site, .list, .coordinator), (.site, .list, .clinician), (.site, .list, .researcher): .grantedSites
        case (.user, _, .admin), (.siteGrant, _, .admin): .all
        case (.user, .read, _): .ownRecord
        case (.patient, .create, .coordinator), (.patient, .create, .clinician),
             (.patient, .update, .coordinator), (.patient, .update, .clinician),
             (.patient, .read, .coordinator), (.patient, .read, .clinician),
             (.patient, .list, .coordinator), (.patient, .list, .clinician): .grantedSites
        case (.patient, .read, .patient), (.patient, .list, .patient): .ownRecord
        case (.episode, .create, .coordinator), (.episode, .create, .clinician), (.episode, .update, .clinician),
             (.episode, .read, .coordinator), (.episode, .read, .clinician),
             (.episode, .list, .coordinator), (.episode, .list, .clinician): .grantedSites
        case (.episode, .read, .patient), (.episode, .list, .patient): .ownRecord
        // Clinical records of an episode.
        case (.screeningDecision, .create, .coordinator), (.screeningDecision, .create, .clinician),
             (.screeningDecision, .update, .clinician),
             (.screeningDecision, .read, .coordinator), (.screeningDecision, .read, .clinician),
             (.screeningDecision, .list, .coordinator), (.screeningDecision, .list, .clinician): .grantedSites
        case (.imagingStudy, .create, .coordinator), (.imagingStudy, .create, .clinician),
             (.imagingStudy, .read, .coordinator), (.imagingStudy, .read, .clinician),
             (.imagingStudy, .list, .coordinator), (.imagingStudy, .list, .clinician): .grantedSites
        case (.procedure, .create, .clinician), (.procedure, .update, .clinician),
             (.procedure, .read, .coordinator), (.procedure, .read, .clinician),
             (.procedure, .list, .coordinator), (.procedure, .list, .clinician): .grantedSites
        case (.questionnaireResponse, .create, .coordinator), (.questionnaireResponse, .create, .clinician),
             (.questionnaireResponse, .read, .coordinator), (.questionnaireResponse, .read, .clinician),
             (.questionnaireResponse, .list, .coordinator), (.questionnaireResponse, .list, .clinician): .grantedSites
        case (.questionnaireResponse, .create, .patient), (.questionnaireResponse, .read, .patient),
             (.questionnaireResponse, .list, .patient): .ownRecord
        case (.timepoint, .create, .coordinator), (.timepoint, .create, .clinician),
             (.timepoint, .update, .coordinator), (.timepoint, .update, .clinician),
             (.timepoint, .read, .coordinator), (.timepoint, .read, .clinician),
             (.timepoint, .list, .coordinator), (.timepoint, .list, .clinician): .grantedSites
        case (.timepoint, .read, .patient), (.timepoint, .list, .patient): .ownRecord
        case (.outcomeEvent, .create, .coordinator), (.outcomeEvent, .create, .clinician),
             (.outcomeEvent, .read, .coordinator), (.outcomeEvent, .read, .clinician),
             (.outcomeEvent, .list, .coordinator), (.outcomeEvent, .list, .clinician): .grantedSites
        case (.invitation, .create, .coordinator), (.invitation, .create, .clinician),
             (.invitation, .update, .coordinator), (.invitation, .update, .clinician),
             (.invitation, .list, .coordinator), (.invitation, .list, .clinician): .grantedSites
        case (.outboxMessage, .create, .coordinator), (.outboxMessage, .create, .clinician): .grantedSites
        case (.outboxMessage, .list, .admin), (.outboxMessage, .update, .admin): .all
        case (.deidentified, .export, .researcher): .grantedSites
        default: .denied
        }
    }

    static func reason(_ role: Role, _ recordType: RecordType) -> String {
        switch role {
        case .researcher where recordType.isClinical:
            "researchers see de-identified registry data only, not identified patient records"
        case .admin where recordType.isClinical:
            "administrators have no access to clinical data"
        case .coordinator where recordType == .procedure || recordType == .screeningDecision:
            "only clinicians record procedures and sign or override screening decisions"
        case .patient:
            "patients may only read their own record"
        default:
            "not permitted for this role"
        }
    }
}

/// Kinds of record named in the audit log.
public enum RecordType: String, Sendable, Hashable, CaseIterable {
    case site, user, siteGrant = "site-grant", patient, episode, auditLog = "audit-log", export
    case bulkInsert = "bulk-insert"
    /// A signed-in browser session (sign-in and sign-out entries).
    case session
    /// A machine client's API token (created, revoked; record id = the token's id, never the token).
    case apiToken = "api-token"
    case screeningDecision = "screening-decision", imagingStudy = "imaging-study", procedure
    case questionnaireResponse = "questionnaire-response", timepoint = "follow-up-timepoint"
    case outcomeEvent = "outcome-event", invitation, outboxMessage = "outbox-message"
    /// The researchers' de-identified read model.
    case deidentified = "deidentified"

    /// Identified clinical data (a patient's chart and everything recorded in it).
    var isClinical: Bool {
        switch self {
        case .patient, .episode, .screeningDecision, .imagingStudy, .procedure, .questionnaireResponse, .timepoint,
             .outcomeEvent, .invitation: true
        default: false
        }
    }
}
