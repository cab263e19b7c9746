import Foundation
import OssaCore
import OssaDemo
import OssaStore

/// Fills a database with the synthetic demo registry and makes its accounts usable: `ossa demo` and
/// `ossa serve --demo` share this.
///
/// Every demo account gets the same published password, so a demo database must never hold real data and the demo
/// server listens on loopback unless told otherwise. A patient login is added for the first demo patient, so that
/// every role can sign in.
public enum DemoSetup {
    /// Where `ossa serve --demo` keeps its database unless one is given.
    public static let defaultPath = "./ossa-data/demo.sqlite"
    /// The password of every demo account (printed by the commands).
    public static let password = "ossa-demo-password"
    public static let adminEmail = "demo.admin@example.org"
    public static let patientEmail = "demo.patient@example.org"
    /// First day of the synthetic registry (fixed, so that a seed always gives the same registry).
    public static let defaultStartDate = "2021-06-01"

    public struct Login: Sendable, Hashable {
        public var role: String
        public var email: String
    }

    public struct Result: Sendable {
        /// The load's counts, or nil when the database already held the demo registry.
        public var summary: DemoLoadSummary?
        public var logins: [Login]
    }

    /// Loads `patients` patients of the registry for `seed` into an empty database, sets the demo password on every
    /// account and adds the patient login. `progress(done, total)` reports patients written.
    public static func load(store: OssaStore, patients: Int, seed: UInt64, startDate: CalendarDate,
                            bcryptCost: UInt8 = 10,
                            progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> Result {
        let registry = try DemoRegistry(seed: seed, startDate: startDate)
        let summary = try await store.demoLoader.load(registry, patients: patients, progress: progress)
        let admin = try await store.users.actingUser(summary.adminUserID, from: "cli")
        // One hash for the shared password: hashing it once per account would only cost time.
        let hash = try Accounts.hashPassword(password, cost: bcryptCost)
        for user in summary.loadedUsers {
            _ = try await store.users.update(admin, user.id, UserChanges(passwordHash: hash))
        }
        if patients > 0 {
            // The first generated patient's record, by the id the loader gave it (no chart read is needed).
            let first = DemoLoader.patientUUID(seed: seed, patientID: try registry.patient(0).patient.id)
            _ = try await store.users.create(admin, NewUser(email: patientEmail, displayName: "Demo patient", role: .patient,
                                                            passwordHash: hash, patientID: first))
        }
        return Result(summary: summary, logins: try await logins(store: store, admin: admin))
    }

    /// For `ossa serve --demo`: loads the registry into an empty database, or checks that a non-empty one is a demo
    /// database (it has the demo admin) and lists its logins.
    public static func prepare(store: OssaStore, patients: Int, seed: UInt64 = 2026,
                               progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> Result {
        if let credentials = try await store.sessions.credentials(email: adminEmail) {
            let admin = try await store.users.actingUser(credentials.userID, from: "cli")
            return Result(summary: nil, logins: try await logins(store: store, admin: admin))
        }
        do {
            return try await load(store: store, patients: patients, seed: seed,
                                  startDate: try CalendarDate(iso: defaultStartDate), progress: progress)
        } catch let error as DemoLoadError {
            throw DemoSetupError(message: "\(store.database.location) is not a demo database (\(error)); give --demo an empty database or none")
        }
    }

    /// Every enabled account, one line per account, by role then e-mail.
    static func logins(store: OssaStore, admin: ActingUser) async throws -> [Login] {
        let users = try await store.users.list(admin, PageRequest(limit: PageRequest.maximumLimit)).items
        let order: [Role] = [.clinician, .coordinator, .researcher, .admin, .patient]
        return users.filter { !$0.disabled }
            .sorted { (order.firstIndex(of: $0.role) ?? 9, $0.email) < (order.firstIndex(of: $1.role) ?? 9, $1.email) }
            .map { Login(role: $0.role.rawValue, email: $0.email) }
    }
}

public struct DemoSetupError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
