import Foundation
import OssaCore

/// The synthetic demo registry (`ossa demo --patients N [--seed S]`).
///
/// Pure and deterministic: a registry is a function of `(seed, startDate, calibration)`, and patient
/// `i` is a function of those and `i` alone (its own random stream), so patients can be generated in
/// any order, in chunks or in parallel (`DemoRegistry` is `Sendable`) and always come out the same.
///
/// Timeline: patients are first screened during the accrual period (calibration
/// `registry.accrualMonths`) from `startDate`; the data cut is `startDate + registry.spanMonths`
/// (5 years by default), so follow-up runs from 2 to 5 years. The CLI typically passes a start date
/// five years before today so that the data cut is today.
public struct DemoRegistry: Sendable {
    public let seed: UInt64
    public let startDate: CalendarDate
    public let dataCutDate: CalendarDate
    public let calibration: DemoCalibration
    public let sites: [DemoSite]
    public let users: [DemoUser]
    let engine: ScreeningEngine
    let followUp: FollowUpProtocol
    let library: InstrumentLibrary
    /// Instrument id → item code → subscale score id, for the KOOS and HOOS forms.
    let subscaleOfItem: [String: [String: String]]

    /// Loads the bundled ruleset, follow-up protocol, instruments and (unless given) calibration.
    public init(seed: UInt64, startDate: CalendarDate, calibration: DemoCalibration? = nil) throws {
        self.seed = seed
        self.startDate = startDate
        let calibration = try calibration ?? DemoCalibration.bundled()
        self.calibration = calibration
        dataCutDate = startDate.adding(months: Int(try calibration.number("registry.spanMonths")))
        engine = try ScreeningEngine.withDefaultRuleset()
        followUp = try FollowUpProtocol.bundledDefault()
        library = try InstrumentLibrary.builtIn()
        var subscales: [String: [String: String]] = [:]
        for id in ["koos", "hoos"] {
            let def = try library.require(id: id)
            subscales[id] = Dictionary(def.scores.flatMap { s in s.items.map { ($0, s.id) } }, uniquingKeysWith: { a, _ in a })
        }
        subscaleOfItem = subscales
        sites = calibration.people.sites.map {
            DemoSite(id: $0.id, name: $0.name, city: $0.city, timeZone: $0.timeZone, weight: $0.weight, prpSystem: $0.prpSystem,
                     leukocytes: $0.leukocytes, activation: $0.activation, alwaysSurgeryCentre: $0.alwaysSurgeryCentre)
        }
        users = Self.makeUsers(seed: seed, calibration: calibration)
    }

    /// Generates patients `0..<patients` into one value (fine for thousands; stream larger registries
    /// with `forEachPatient(in:_:)`).
    public static func generate(patients: Int, seed: UInt64, startDate: CalendarDate,
                                progress: ((Int) -> Void)? = nil) throws -> DemoRegistrySnapshot {
        guard patients >= 0 else { throw DemoError.invalidArgument("the number of patients must not be negative (got \(patients))") }
        let registry = try DemoRegistry(seed: seed, startDate: startDate)
        return DemoRegistrySnapshot(seed: seed, startDate: startDate, dataCutDate: registry.dataCutDate, sites: registry.sites,
                                    users: registry.users, patients: try registry.patients(0..<patients, progress: progress))
    }

    /// Patient `index` (≥ 0), self-contained.
    public func patient(_ index: Int) throws -> DemoPatientRecord {
        guard index >= 0 else { throw DemoError.invalidArgument("patient index must not be negative (got \(index))") }
        var builder = DemoPatientBuilder(registry: self, index: index)
        return try builder.build()
    }

    /// Patients in `range`; `progress` is called after each with the number done so far in this call.
    public func patients(_ range: Range<Int>, progress: ((Int) -> Void)? = nil) throws -> [DemoPatientRecord] {
        var out: [DemoPatientRecord] = []
        out.reserveCapacity(range.count)
        try forEachPatient(in: range) { record in
            out.append(record)
            progress?(out.count)
        }
        return out
    }

    /// Streams patients in `range` one at a time, so a large registry never sits in memory.
    public func forEachPatient(in range: Range<Int>, _ body: (DemoPatientRecord) throws -> Void) throws {
        for index in range { try body(try patient(index)) }
    }

    // MARK: Staff

    static func makeUsers(seed: UInt64, calibration: DemoCalibration) -> [DemoUser] {
        var rng = DemoRandom(seed: seed, stream: 1, index: 0)
        let people = calibration.people
        func staffName() -> String { "\(rng.element(people.staffGivenNames)) \(rng.element(people.staffFamilyNames))" }
        func user(_ id: String, _ login: String, _ role: DemoRole, _ sites: [String]) -> DemoUser {
            DemoUser(id: id, login: login, displayName: staffName(), email: "\(login)@example.org", role: role, siteIds: sites)
        }
        var users: [DemoUser] = []
        for site in people.sites {
            for n in 1...2 {
                users.append(user("user-\(site.code)-clinician\(n)", "demo.clinician\(n).\(site.code)", .clinician, [site.id]))
            }
            users.append(user("user-\(site.code)-coordinator", "demo.coordinator.\(site.code)", .coordinator, [site.id]))
        }
        let all = people.sites.map(\.id)
        users.append(user("user-researcher1", "demo.researcher1", .researcher, all))
        users.append(user("user-researcher2", "demo.researcher2", .researcher, all))
        users.append(user("user-admin", "demo.admin", .admin, []))
        return users
    }

    /// Clinicians of a site, in a stable order.
    func clinicians(of siteId: String) -> [DemoUser] {
        users.filter { $0.role == .clinician && $0.siteIds == [siteId] }
    }

    // MARK: Digest

    /// FNV-1a 64-bit hash of bytes (for comparing generated registries in tests and logs).
    public static func fnv1a64(_ data: Data) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// JSON of records with sorted keys, and its FNV-1a digest.
    public static func digest(_ records: [DemoPatientRecord]) throws -> UInt64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return fnv1a64(try encoder.encode(records))
    }
}
