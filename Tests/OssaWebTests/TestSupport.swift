import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import NIOConcurrencyHelpers
import SQLKit
import Testing

// Engine selection is the store suite's (Tests/OssaStoreTests/TestSupport.swift): SQLite always, PostgreSQL as
// well when OSSA_TEST_POSTGRES_URL is set. Test targets cannot import each other, so it is repeated here.

enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static var available: [Engine] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["OSSA_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return url
    }

    var testDescription: String { rawValue }
}

/// Opens a fresh, migrated database (a temporary SQLite file, or a new PostgreSQL schema), runs `body`, removes it.
func withStore<T: Sendable>(_ engine: Engine, _ body: @Sendable (OssaStore) async throws -> T) async throws -> T {
    var logger = Logger(label: "ossa.web.test")
    logger.logLevel = .warning
    switch engine {
    case .sqlite:
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-web-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = try await OssaDatabase.open(.sqlite(path: dir.appendingPathComponent("ossa.sqlite").path), logger: logger)
        do {
            try await database.migrate()
            let result = try await body(OssaStore(database: database))
            await database.shutdown()
            return result
        } catch {
            await database.shutdown()
            throw error
        }
    case .postgres:
        let url = try #require(Engine.postgresURL)
        let schema = "w_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = try await OssaDatabase.open(.postgres(url: url), logger: logger, postgresConnections: 1)
        try await admin.sql().raw("CREATE SCHEMA \(ident: schema)").run()
        let database: OssaDatabase
        do {
            database = try await OssaDatabase.open(.postgres(url: url), logger: logger, postgresSearchPath: [schema], postgresConnections: 2)
        } catch {
            try? await admin.sql().raw("DROP SCHEMA \(ident: schema) CASCADE").run()
            await admin.shutdown()
            throw error
        }
        do {
            try await database.migrate()
            let result = try await body(OssaStore(database: database))
            await database.shutdown()
            try? await admin.sql().raw("DROP SCHEMA \(ident: schema) CASCADE").run()
            await admin.shutdown()
            return result
        } catch {
            await database.shutdown()
            try? await admin.sql().raw("DROP SCHEMA \(ident: schema) CASCADE").run()
            await admin.shutdown()
            throw error
        }
    }
}

/// A clock the test moves by hand (session expiry, throttling windows).
final class TestClock: Sendable {
    private let value: NIOLockedValueBox<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_795_000_000)) { value = NIOLockedValueBox(start) }
    var now: Date { value.withLockedValue { $0 } }
    func advance(_ seconds: TimeInterval) { value.withLockedValue { $0 = $0.addingTimeInterval(seconds) } }
}

/// Tokens `t0001`, `t0002`, … so that pages (CSRF fields) and ids are the same on every run.
final class TokenSequence: Sendable {
    private let counter = NIOLockedValueBox(0)
    func next() -> String {
        counter.withLockedValue { value in
            value += 1
            return "tok" + String(repeating: "0", count: max(0, 5 - String(value).count)) + String(value)
        }
    }
}

let testPassword = "correct horse battery"

/// Two sites; one user of each role (staff granted site A only) with `testPassword`; patients at both sites.
struct WebFixture: Sendable {
    let store: OssaStore
    let admin: ActingUser
    let siteA: SiteRecord
    let siteB: SiteRecord
    let patientA: PatientRecord
    let patientA2: PatientRecord
    let patientB: PatientRecord
    let episodeA: EpisodeRecord
    let episodeB: EpisodeRecord
    /// E-mail per role.
    let emails: [Role: String]
    let userIDs: [Role: UUID]

    static func make(_ store: OssaStore) async throws -> WebFixture {
        let adminRecord = try await Accounts.addFirstAdmin(store: store, email: "admin@example.org", displayName: "Ada Admin",
                                                           password: testPassword, cost: 4)
        let admin = try await store.users.actingUser(adminRecord.id, from: "cli")
        let siteA = try await store.sites.create(admin, code: "VIE-1", name: "Vienna Bone Clinic")
        let siteB = try await store.sites.create(admin, code: "GRZ-1", name: "Graz Joint Centre")
        let seederRecord = try await Accounts.addUser(store: store, actor: admin, email: "seed@example.org", displayName: "Seeder",
                                                      role: .clinician, password: nil, sites: [siteA.id, siteB.id], cost: 4)
        let seeder = try await store.users.actingUser(seederRecord.id, from: "cli")
        let patientA = try await store.patients.create(seeder, NewPatient(siteID: siteA.id, mrn: "A-1", familyName: "Müller",
                                                                          givenName: "Anna", birthDate: try CalendarDate(iso: "1961-04-03"), sex: .female))
        let patientA2 = try await store.patients.create(seeder, NewPatient(siteID: siteA.id, mrn: "A-2", familyName: "Novak",
                                                                           givenName: "Petr", birthDate: try CalendarDate(iso: "1955-11-20"), sex: .male))
        let patientB = try await store.patients.create(seeder, NewPatient(siteID: siteB.id, mrn: "B-1", familyName: "Rossi",
                                                                          givenName: "Marco", birthDate: try CalendarDate(iso: "1970-01-31")))
        let episodeA = try await store.episodes.create(seeder, NewEpisode(
            patientID: patientA.id, joint: .knee, side: .left,
            diagnosis: .osteoarthritis(OAGrading(kellgrenLawrence: .grade3, ahlback: .II))))
        let episodeB = try await store.episodes.create(seeder, NewEpisode(patientID: patientB.id, joint: .hip, side: .right,
                                                                          diagnosis: .boneMarrowEdemaSyndrome))
        var emails: [Role: String] = [.admin: "admin@example.org"]
        var ids: [Role: UUID] = [.admin: adminRecord.id]
        for role in [Role.coordinator, .clinician, .researcher] {
            let email = "\(role.rawValue)@example.org"
            let user = try await Accounts.addUser(store: store, actor: admin, email: email,
                                                  displayName: role.rawValue.capitalized + " User", role: role,
                                                  password: testPassword, sites: [siteA.id], cost: 4)
            emails[role] = email
            ids[role] = user.id
        }
        let patientUser = try await Accounts.addUser(store: store, actor: admin, email: "anna@example.org", displayName: "Anna Müller",
                                                     role: .patient, password: testPassword, patientID: patientA.id, cost: 4)
        emails[.patient] = "anna@example.org"
        ids[.patient] = patientUser.id
        return WebFixture(store: store, admin: admin, siteA: siteA, siteB: siteB, patientA: patientA, patientA2: patientA2,
                          patientB: patientB, episodeA: episodeA, episodeB: episodeB, emails: emails, userIDs: ids)
    }
}

/// The application under test with its fixture, clock and token sequence.
struct TestServer: Sendable {
    let fixture: WebFixture
    let clock: TestClock
    let tokens: TokenSequence
    let configuration: ServerConfiguration
    let environment: WebEnvironment
}

func testConfiguration(_ change: (inout ServerConfiguration) -> Void = { _ in }) -> ServerConfiguration {
    var configuration = ServerConfiguration(trustForwardedFor: true, bcryptCost: 4)
    change(&configuration)
    return configuration
}

/// Builds the store, the fixture and the application, and runs `body` with a router test client.
func withServer<T: Sendable>(_ engine: Engine = .sqlite, configuration: ServerConfiguration = testConfiguration(),
                             setup: TestingSetup = .router, logger: Logger? = nil,
                             _ body: @Sendable @escaping (TestServer, any TestClientProtocol) async throws -> T) async throws -> T {
    try await withStore(engine) { store in
        let fixture = try await WebFixture.make(store)
        let clock = TestClock()
        let tokens = TokenSequence()
        let requestIDs = RequestIDGenerator(prefix: "req")
        let environment = WebEnvironment(now: { clock.now }, makeToken: { tokens.next() }, makeRequestID: requestIDs.next)
        let logger = logger ?? {
            var logger = Logger(label: "ossa.web.test")
            logger.logLevel = .warning
            return logger
        }()
        let app = try await buildApplication(configuration: configuration, store: store, logger: logger, environment: environment)
        let server = TestServer(fixture: fixture, clock: clock, tokens: tokens, configuration: configuration, environment: environment)
        return try await app.test(setup) { client in try await body(server, client) }
    }
}

/// Collects log records (message and metadata rendered as text) for assertions about what is logged.
final class LogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    var all: [String] { lines.withLockedValue { $0 } }

    func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "ossa.web.capture") { _ in Handler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLockedValue { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(rendered)")
        }
    }
}

// MARK: Requests

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
    /// `Set-Cookie` values.
    var setCookies: [String] { headers[values: .setCookie] }
    func cookie(named name: String) -> String? {
        for header in setCookies {
            let first = header.split(separator: ";").first ?? ""
            let parts = first.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, parts[0] == name { return String(parts[1]) }
        }
        return nil
    }
}

/// A signed-in browser: the session cookie and its CSRF token.
struct BrowserSession: Sendable {
    var cookie: String
    var csrf: String
    var cookieName: String = "ossa_session"

    var headers: HTTPFields { [.cookie: "\(cookieName)=\(cookie)"] }
}

func formBody(_ fields: [(String, String)]) -> ByteBuffer {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    let text = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    return ByteBuffer(string: text)
}

func jsonBody(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

/// GET /login (for the form's double-submit token), then POST the credentials.
func postLogin(_ client: any TestClientProtocol, email: String, password: String, address: String = "198.51.100.1",
               loginCookieName: String = "ossa_login") async throws -> TestResponse {
    let form = try await client.execute(uri: "/login", method: .get)
    let token = try #require(form.cookie(named: loginCookieName))
    var headers = formHeaders
    headers[.cookie] = "\(loginCookieName)=\(token)"
    headers[.init("X-Forwarded-For")!] = address
    return try await client.execute(uri: "/login", method: .post, headers: headers,
                                    body: formBody([("_csrf", token), ("email", email), ("password", password)]))
}

/// Signs in and fetches the CSRF token from /api/v1/me.
func signIn(_ client: any TestClientProtocol, _ email: String, password: String = testPassword,
            address: String = "198.51.100.1") async throws -> BrowserSession {
    let response = try await postLogin(client, email: email, password: password, address: address)
    #expect(response.status == .seeOther, "sign-in of \(email) failed: \(response.status)")
    let cookie = try #require(response.cookie(named: "ossa_session"))
    let me = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.cookie: "ossa_session=\(cookie)"])
    let csrf = try #require(me.json["csrfToken"] as? String)
    return BrowserSession(cookie: cookie, csrf: csrf)
}

/// Creates an API token for the signed-in user and returns it.
func apiToken(_ client: any TestClientProtocol, _ session: BrowserSession, name: String = "test") async throws -> String {
    var headers = session.headers
    headers[.contentType] = "application/json"
    headers[.init("X-CSRF-Token")!] = session.csrf
    let response = try await client.execute(uri: "/api/v1/tokens", method: .post, headers: headers,
                                            body: jsonBody(#"{"name": "\#(name)"}"#))
    #expect(response.status == .created)
    return try #require(response.json["token"] as? String)
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

/// A signed-in browser's form post (with its CSRF token) and page view.
func postForm(_ client: any TestClientProtocol, _ session: BrowserSession, _ uri: String, _ fields: [(String, String)]) async throws -> TestResponse {
    var headers = session.headers
    headers[.contentType] = "application/x-www-form-urlencoded"
    return try await client.execute(uri: uri, method: .post, headers: headers, body: formBody([("_csrf", session.csrf)] + fields))
}

func getPage(_ client: any TestClientProtocol, _ session: BrowserSession, _ uri: String) async throws -> TestResponse {
    try await client.execute(uri: uri, method: .get, headers: session.headers)
}

/// A refused form's error summary: its messages, in order.
func errorSummary(_ html: String) -> [String] {
    guard let start = html.range(of: "<div class=\"error-summary\""), let end = html[start.upperBound...].range(of: "</ul>") else { return [] }
    return html[start.upperBound..<end.lowerBound].components(separatedBy: "<li><a href=\"#").dropFirst().map { item in
        String(item.split(separator: ">", maxSplits: 1).last?.split(separator: "<").first ?? "")
    }
}
