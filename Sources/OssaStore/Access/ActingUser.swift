import Foundation
import OssaCore


/// Who is acting: passed to every repository call.
///
/// Named `ActingUser` rather than `Actor` because `Actor` is the Swift concurrency protocol every `actor` type
/// conforms to; shadowing it would make `Actor` ambiguous in every file that imports OssaStore.
///
/// The store trusts these fields: build the value from the session (`UserRepository.actingUser(_:from:)` loads
/// role, site grants and patient link from the database), never from request input.
public struct ActingUser: Sendable, Hashable {
    public var userID: UUID
    public var role: Role
    /// Sites whose records this user may see (staff roles). Ignored for the patient role.
    public var siteIDs: Set<UUID>
    /// For the patient role: the patient record this login belongs to.
    public var patientID: UUID?
    /// Where the request came from (client IP address, or e.g. `cli` / `system`), for the audit log.
    public var address: String?

    public init(userID: UUID, role: Role, siteIDs: Set<UUID> = [], patientID: UUID? = nil, address: String? = nil) {
        self.userID = userID
        self.role = role
        self.siteIDs = siteIDs
        self.patientID = patientID
        self.address = address
    }

    /// Granted sites in a stable order, for `IN (…)` filters.
    var siteIDList: [UUID] { siteIDs.sorted { $0.uuidString < $1.uuidString } }
}

/// The acting user may not do this. Raised before anything is read or written; the refusal itself is audited.
public struct AccessDenied: Error, Sendable, Equatable, CustomStringConvertible {
    public let role: Role
    public let action: AuditAction
    public let recordType: RecordType
    public let reason: String

    public var description: String { "\(role.rawValue) may not \(action.rawValue) \(recordType.rawValue): \(reason)" }
}
