import Foundation
import OssaCore

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
/// | export (FHIR) | export                | –           | granted     | granted   | –          | –     |
/// | API token     | create, read, revoke  | own         | own         | own       | own        | all   |
/// | audit log     | read                  | –           | –           | –         | –          | all   |
/// | ruleset       | create, update        | –           | –           | –         | –          | all   |
/// | ruleset       | read, list            | –           | –           | –         | –          | all   |
/// | instr. wording| create, update, delete| –           | –           | –         | –          | all   |
/// | instr. wording| read, list            | –           | –           | –         | –          | all   |
/// | consult req.  | read, list, update    | –           | granted¹    | granted¹  | –          | –     |
/// | analytics     | export (view, download)| –          | granted     | granted   | granted²   | –     |
/// | saved cohort  | create, read, list    | –           | all         | all       | all        | –     |
///
/// ¹ A consult request from the public self-screen belongs to its preferred site; one with no preferred site is
///   seen by the coordinators and clinicians of every site (someone has to triage it), and the site it is converted
///   at must be one of the converting user's. The public creates requests without an acting user
///   (`ConsultRequestRepository.submit`); converting one also needs the rights to create the patient and episode.
/// ² Researchers' analytics are de-identified and their small cells suppressed (`AnalyticsRepository`).
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
/// - Screening rulesets (uploaded versions, which one is active) and a clinic's licensed instrument wording are
///   managed by admins. The active ruleset and the wording are configuration that every evaluation and questionnaire
///   uses, so `RulesetRepository.active()` and `InstrumentWordingRepository.get(_:)` serve them without an acting
///   user; these rows govern managing and listing them.
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

    /// One row of the table: for these actions on this record type, each listed role's scope (others: denied).
    struct Rule: Sendable {
        var recordType: RecordType
        var actions: [AuditAction]
        var scopes: [Role: Scope]
    }

    private static let staff: [Role: Scope] = [.coordinator: .grantedSites, .clinician: .grantedSites]
    private static let clinicians: [Role: Scope] = [.clinician: .grantedSites]
    private static let staffAndOwnPatient: [Role: Scope] = [.coordinator: .grantedSites, .clinician: .grantedSites, .patient: .ownRecord]
    private static let admin: [Role: Scope] = [.admin: .all]

    /// The whole policy, the table above as data. `scope(_:_:_:)` reads it; nothing else decides who may do what.
    static let rules: [Rule] = [
        Rule(recordType: .site, actions: [.create, .update], scopes: admin),
        Rule(recordType: .site, actions: [.read, .list],
             scopes: [.admin: .all, .coordinator: .grantedSites, .clinician: .grantedSites, .researcher: .grantedSites]),
        Rule(recordType: .user, actions: AuditAction.allCases.filter { $0 != .read }, scopes: admin),
        Rule(recordType: .user, actions: [.read],
             scopes: [.admin: .all, .patient: .ownRecord, .coordinator: .ownRecord, .clinician: .ownRecord, .researcher: .ownRecord]),
        Rule(recordType: .siteGrant, actions: AuditAction.allCases, scopes: admin),
        // A user manages their own API tokens; an admin anyone's.
        Rule(recordType: .apiToken, actions: [.create, .read, .list, .revoke],
             scopes: [.admin: .all, .patient: .ownRecord, .coordinator: .ownRecord, .clinician: .ownRecord, .researcher: .ownRecord]),
        // Reading the audit log (itself audited).
        Rule(recordType: .auditLog, actions: [.read], scopes: admin),
        // Screening ruleset versions and instrument wording (administration pages).
        Rule(recordType: .ruleset, actions: [.create, .update, .read, .list], scopes: admin),
        Rule(recordType: .instrumentWording, actions: [.create, .update, .delete, .read, .list], scopes: admin),
        Rule(recordType: .patient, actions: [.create, .update], scopes: staff),
        Rule(recordType: .patient, actions: [.read, .list], scopes: staffAndOwnPatient),
        Rule(recordType: .episode, actions: [.create], scopes: staff),
        Rule(recordType: .episode, actions: [.update], scopes: clinicians),
        Rule(recordType: .episode, actions: [.read, .list], scopes: staffAndOwnPatient),
        Rule(recordType: .screeningDecision, actions: [.create, .read, .list], scopes: staff),
        Rule(recordType: .screeningDecision, actions: [.update], scopes: clinicians),
        Rule(recordType: .imagingStudy, actions: [.create, .read, .list], scopes: staff),
        Rule(recordType: .procedure, actions: [.create, .update], scopes: clinicians),
        Rule(recordType: .procedure, actions: [.read, .list], scopes: staff),
        // The injection plan, adjunct sessions and addenda to signed procedure records: clinicians write, staff read.
        Rule(recordType: .procedurePlan, actions: [.create, .update], scopes: clinicians),
        Rule(recordType: .procedurePlan, actions: [.read, .list], scopes: staff),
        Rule(recordType: .adjunctSession, actions: [.create], scopes: clinicians),
        Rule(recordType: .adjunctSession, actions: [.read, .list], scopes: staff),
        Rule(recordType: .procedureAddendum, actions: [.create], scopes: clinicians),
        Rule(recordType: .procedureAddendum, actions: [.read, .list], scopes: staff),
        Rule(recordType: .questionnaireResponse, actions: [.create, .read, .list], scopes: staffAndOwnPatient),
        Rule(recordType: .timepoint, actions: [.create, .update], scopes: staff),
        Rule(recordType: .timepoint, actions: [.read, .list], scopes: staffAndOwnPatient),
        Rule(recordType: .outcomeEvent, actions: [.create, .read, .list], scopes: staff),
        Rule(recordType: .invitation, actions: [.create, .update, .list], scopes: staff),
        Rule(recordType: .outboxMessage, actions: [.create], scopes: staff),
        // The outbox: staff see their sites' messages (worklist, API); the administrator sees all and retries (CLI).
        Rule(recordType: .outboxMessage, actions: [.list], scopes: [.admin: .all, .coordinator: .grantedSites, .clinician: .grantedSites]),
        Rule(recordType: .outboxMessage, actions: [.update], scopes: admin),
        // Consents: recorded and read by the staff of the patient's site.
        Rule(recordType: .consent, actions: [.create, .read, .list], scopes: staff),
        // De-identified exports: researchers, and the staff for their own sites' research.
        Rule(recordType: .deidentified, actions: [.export], scopes: analyticsUsers),
        // FHIR Bulk Data export of identified records: the staff of the sites, never researchers (they have the
        // de-identified export) or administrators (no clinical data).
        Rule(recordType: .export, actions: [.export], scopes: staff),
        // Consult requests from the public self-screen: staff of the preferred site (any site's staff when none).
        Rule(recordType: .consultRequest, actions: [.list, .read, .update], scopes: staff),
        // Red flags (recovery diary, locked links): raised by the patient's answers, seen and resolved by staff.
        Rule(recordType: .redFlag, actions: [.list, .read, .update], scopes: staff),
        Rule(recordType: .diaryEntry, actions: [.list, .read], scopes: staffAndOwnPatient),
        // Registry analytics: staff on their sites' episodes, researchers de-identified with small cells suppressed.
        Rule(recordType: .analytics, actions: [.export], scopes: analyticsUsers),
        // Saved cohorts are shared definitions (no patient data): every analytics user sees and saves them.
        Rule(recordType: .cohort, actions: [.create, .list, .read], scopes: [.coordinator: .all, .clinician: .all, .researcher: .all]),
    ]

    private static let analyticsUsers: [Role: Scope] = [.coordinator: .grantedSites, .clinician: .grantedSites, .researcher: .grantedSites]

    private struct Key: Hashable {
        var recordType: RecordType
        var action: AuditAction
        var role: Role
    }

    private static let table: [Key: Scope] = {
        var table: [Key: Scope] = [:]
        for rule in rules {
            for action in rule.actions {
                for (role, scope) in rule.scopes {
                    // A key listed twice would make the table depend on order: refuse it at start-up.
                    precondition(table.updateValue(scope, forKey: Key(recordType: rule.recordType, action: action, role: role)) == nil,
                                 "AccessPolicy lists \(role) \(action) \(rule.recordType) twice")
                }
            }
        }
        return table
    }()

    static func scope(_ role: Role, _ action: AuditAction, _ recordType: RecordType) -> Scope {
        table[Key(recordType: recordType, action: action, role: role)] ?? .denied
    }

    static func reason(_ role: Role, _ recordType: RecordType) -> String {
        switch role {
        case .researcher where recordType.isClinical:
            "researchers see de-identified registry data only, not identified patient records"
        case .admin where recordType.isClinical:
            "administrators have no access to clinical data"
        case .coordinator where [.procedure, .screeningDecision, .procedurePlan, .adjunctSession, .procedureAddendum].contains(recordType):
            "only clinicians plan and record procedures and sign or override screening decisions"
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
    /// An uploaded screening ruleset version (record id: its row id; the bundled default: `bundled:<id>@<version>`).
    case ruleset
    /// A clinic's licensed wording of an instrument (record id: the instrument's id).
    case instrumentWording = "instrument-wording"
    /// An episode's injection plan, an adjunct session, a correction to a signed procedure record.
    case procedurePlan = "procedure-plan", adjunctSession = "adjunct-session", procedureAddendum = "procedure-addendum"
    case redFlag = "red-flag", diaryEntry = "diary-entry"
    /// A request for a consult from the public self-screen (name, contact, the anonymous answers).
    case consultRequest = "consult-request"
    /// Registry analytics (aggregates of a cohort; every view and download is audited as an export).
    case analytics
    /// A saved cohort definition (filters and grouping; no patient data).
    case cohort
    /// A patient's consent decision.
    case consent

    /// Identified clinical data (a patient's chart and everything recorded in it).
    var isClinical: Bool {
        switch self {
        case .patient, .episode, .screeningDecision, .imagingStudy, .procedure, .questionnaireResponse, .timepoint,
             .outcomeEvent, .invitation, .procedurePlan, .adjunctSession, .procedureAddendum, .redFlag, .diaryEntry,
             .consultRequest, .consent: true
        default: false
        }
    }
}
