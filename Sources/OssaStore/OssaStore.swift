import OssaCore
/// OssaStore: persistence for Ossa (role- and site-scoped access, hash-chained audit, SQLite or PostgreSQL).
///
/// Layout:
/// - `Database/`: `DatabaseLocation` (SQLite path or `postgres://` URL) and `OssaDatabase`, which owns the event
///   loop group, the thread pool and Fluent's `Databases`, applies the SQLite pragmas and runs migrations.
/// - `Migrations/`: numbered, append-only schema migrations (`M0001_…`); a shipped migration is never edited.
/// - `Models/`: Fluent models. They are persistence types only; repositories return the `…Record` value types.
/// - `Access/`: the acting user (`ActingUser`), roles and the access rules every repository call applies.
/// - `Audit/`: the hash-chained, append-only audit log, its anchor (the head kept in `audit_anchor`, and optionally
///   in a file) and its verifier, which also reports entries removed from the end.
/// - `Demo/`: `DemoLoader`, which writes OssaDemo's synthetic registry through chunked bulk inserts.
/// - `Database/Backup.swift`: SQLite backup (`VACUUM INTO`) and checked restore.
/// - `Repositories/`: sites, users, patients, episodes, screening decisions, imaging, procedures, questionnaire
///   responses, follow-up timepoints, outcome events, invitations, the outbox, and the researchers' de-identified
///   read model. Every call takes the acting user, filters by the
///   user's site grants inside the SQL query, and appends its audit entry in the same transaction as the write.
///
/// `OssaStore` bundles one database with its repositories.
public struct OssaStore: Sendable {
    public let database: OssaDatabase
    public var sites: SiteRepository { SiteRepository(database: database) }
    public var users: UserRepository { UserRepository(database: database) }
    public var patients: PatientRepository { PatientRepository(database: database) }
    public var episodes: EpisodeRepository { EpisodeRepository(database: database) }
    public var audit: AuditLog { AuditLog(database: database) }
    public var screening: ScreeningRepository { ScreeningRepository(database: database) }
    public var imaging: ImagingRepository { ImagingRepository(database: database) }
    public var procedures: ProcedureRepository { ProcedureRepository(database: database) }
    public var questionnaires: QuestionnaireRepository { QuestionnaireRepository(database: database) }
    public var timepoints: TimepointRepository { TimepointRepository(database: database) }
    public var outcomes: OutcomeEventRepository { OutcomeEventRepository(database: database) }
    public var invitations: InvitationRepository { InvitationRepository(database: database) }
    public var outbox: OutboxRepository { OutboxRepository(database: database) }
    public var links: LinkRepository { LinkRepository(database: database) }
    public var consultRequests: ConsultRequestRepository { ConsultRequestRepository(database: database) }
    public var redFlags: RedFlagRepository { RedFlagRepository(database: database) }
    public var demoLoader: DemoLoader { DemoLoader(database: database) }
    public var research: ResearchRepository { ResearchRepository(database: database) }
    public var savedCohorts: SavedCohortRepository { SavedCohortRepository(database: database) }
    /// Several creates in one transaction (FHIR transaction Bundles, imports).
    public var batch: RecordBatchRepository { RecordBatchRepository(database: database) }
    /// Identified records in keyset pages, for FHIR Bulk Data `$export`.
    public var export: ExportRepository { ExportRepository(database: database) }
    public var secrets: InstallationSecrets { InstallationSecrets(database: database) }
    /// Registry analytics over the protocol's timepoints (the bundled protocol unless given).
    public func analytics(protocol followUp: FollowUpProtocol? = nil) throws -> AnalyticsRepository {
        AnalyticsRepository(database: database, followUp: try followUp ?? FollowUpProtocol.bundledDefault())
    }

    public init(database: OssaDatabase) {
        self.database = database
    }
}

/// Errors raised by the store other than access refusals (those are `AccessDenied`).
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No such record among those the acting user may see (records of other sites are reported the same way,
    /// so that their existence is not revealed).
    case notFound(recordType: String, id: String)
    /// A value the store will not save; `field` names it.
    case invalid(field: String, message: String)
    /// A uniqueness rule would be broken (e.g. a second user with the same e-mail).
    case conflict(String)
    /// A value that is valid on its own but conflicts with the stored records it refers to (the episode's joint, the
    /// date of its first IO procedure, a cancelled timepoint): 409 with the field named.
    case conflictingField(field: String, message: String)
    /// A stored value is outside its closed set (or otherwise unreadable): the database holds data this build cannot
    /// read. A server fault, never read back as some default.
    case unreadable(field: String, value: String)

    public var description: String {
        switch self {
        case .notFound(let type, let id): "no \(type) \(id)"
        case .invalid(let field, let message): "\(field): \(message)"
        case .conflict(let message): message
        case .conflictingField(let field, let message): "\(field): \(message)"
        case .unreadable(let field, let value): "stored \(field) \"\(value)\" is outside its set of values; the database holds data this build cannot read"
        }
    }
}

/// A stored closed-set value as its enum, or `StoreError.unreadable` naming the field and the value.
func storedValue<Value: RawRepresentable<String>>(_ type: Value.Type, _ text: String, field: String) throws -> Value {
    guard let value = Value(rawValue: text) else { throw StoreError.unreadable(field: field, value: text) }
    return value
}

/// `storedValue` for an optional column: nil stays nil.
func storedValue<Value: RawRepresentable<String>>(_ type: Value.Type, _ text: String?, field: String) throws -> Value? {
    try text.map { try storedValue(type, $0, field: field) }
}
