import Foundation

/// Who may do what (PRODUCT.md §1). Site scoping is applied separately, inside each query.
///
/// | record        | operation            | patient     | coordinator | clinician | researcher | admin |
/// |---------------|----------------------|-------------|-------------|-----------|------------|-------|
/// | site          | create, update       | –           | –           | –         | –          | all   |
/// | site          | read, list           | –           | granted     | granted   | granted    | all   |
/// | user          | create, update, grant| –           | –           | –         | –          | all   |
/// | user          | read                 | self        | self        | self      | self       | all   |
/// | patient       | create, update       | –           | granted     | granted   | –          | –     |
/// | patient       | read (chart), list   | own record  | granted     | granted   | –          | –     |
/// | episode       | create               | –           | granted     | granted   | –          | –     |
/// | episode       | update (clinical)    | –           | –           | granted   | –          | –     |
/// | episode       | read, list           | own         | granted     | granted   | –          | –     |
///
/// Researchers get no identified data: the identified repositories refuse them (de-identified read models come
/// with the registry). Admins get no clinical data.
enum AccessPolicy {
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
        default: .denied
        }
    }

    static func reason(_ role: Role, _ recordType: RecordType) -> String {
        switch role {
        case .researcher where recordType == .patient || recordType == .episode:
            "researchers see de-identified registry data only, not identified patient records"
        case .admin where recordType == .patient || recordType == .episode:
            "administrators have no access to clinical data"
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
}
