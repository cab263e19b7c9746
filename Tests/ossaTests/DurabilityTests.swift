import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OssaStore
import Logging
import Testing

/// `ossa serve` on SQLite, killed with SIGKILL while questionnaire submissions stream in: every submission the
/// server acknowledged (201) must be there after a restart, and the file must pass `PRAGMA integrity_check`.
@Suite("Durability (kill -9)", .serialized)
struct DurabilityTests {
    @Test("Acknowledged submissions survive SIGKILL; the database stays intact")
    func acknowledgedWritesSurviveKill() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-durability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = dir.appendingPathComponent("ossa.sqlite").path

        let demo = try CLI.run(["demo", "--patients", "12", "--seed", "5", "--database", database])
        #expect(demo.status == 0, "ossa demo: \(demo.stderr)")
        let logins = ServerHarness.demoLogins(demo.stdout)
        let admin = try #require(logins["admin"], "demo output lists an admin login:\n\(demo.stdout)")
        let coordinator = try #require(logins["coordinator"])
        let tokenRun = try CLI.run(["token", "create", "--database", database, "--user", coordinator,
                                    "--name", "durability-test", "--as", admin])
        #expect(tokenRun.status == 0, "ossa token create: \(tokenRun.stderr)")
        let token = tokenRun.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let first = try await ServerHarness.start(database: database, directory: dir)
        let client = APIClient(base: first.baseURL, token: token)
        let episodes = try await client.episodeIDs()
        try #require(!episodes.isEmpty)

        // Stream submissions from several concurrent clients; kill the server once enough have been acknowledged,
        // with requests still in flight.
        let acknowledged = AcknowledgedIDs()
        let killAfter = 150
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var i = worker
                    while true {
                        let episode = episodes[i % episodes.count]
                        i += 8
                        guard let id = try? await client.submitPain(episode: episode, value: i % 11) else { return }
                        await acknowledged.add(id)
                    }
                }
            }
            group.addTask {
                // (Bounded wait: if submissions fail, the expectations below say so instead of hanging.)
                for _ in 0..<12_000 where await acknowledged.count < killAfter {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                first.kill()
            }
        }
        let ids = await acknowledged.ids
        #expect(ids.count >= killAfter)

        let server = try await ServerHarness.start(database: database, directory: dir)
        defer { server.kill() }
        let after = APIClient(base: server.baseURL, token: token)
        var missing: [String] = []
        for id in ids where try await after.status(of: "/api/v1/questionnaire-responses/\(id)") != 200 {
            missing.append(id)
        }
        #expect(missing.isEmpty, "acknowledged but missing after kill -9: \(missing.prefix(5))")
        server.kill()

        // The file itself is sound.
        let store = try await OssaDatabase.open(.sqlite(path: database), logger: Logger(label: "test"))
        let rows = try await store.sql().raw("PRAGMA integrity_check").all()
        await store.shutdown()
        let verdict = try rows.first?.decode(column: "integrity_check", as: String.self)
        #expect(verdict == "ok")
    }
}

/// Thread-safe list of acknowledged submission ids.
actor AcknowledgedIDs {
    private(set) var ids: [String] = []
    var count: Int { ids.count }
    func add(_ id: String) { ids.append(id) }
}

/// One `ossa serve` child process on a free loopback port.
struct ServerHarness {
    let pid: pid_t
    let baseURL: URL
    /// Where the server's standard output and error go.
    var log: URL? = nil

    /// `role → e-mail` from the "Demo logins" block printed by `ossa demo` and `ossa serve --demo`.
    static func demoLogins(_ output: String) -> [String: String] {
        var logins: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2, fields[1].contains("@") else { continue }
            logins[String(fields[0])] = logins[String(fields[0])] ?? String(fields[1])
        }
        return logins
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw CLI.HarnessError(message: "cannot bind a loopback socket") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts `ossa serve` on `database` and waits until it answers `/healthz`; `environment` adds settings
    /// (`OSSA_SMTP_URL`, …) for the child only. Its output goes to `serve-<port>.log` in `directory`.
    static func start(database: String, directory: URL, environment: [String: String] = [:]) async throws -> ServerHarness {
        let port = try freePort()
        let log = directory.appendingPathComponent("serve-\(port).log")
        // `env -C` sets the working directory of the child only; `VAR=value` pairs its environment.
        let settings = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let pid = try CLI.spawn(["/usr/bin/env", "-C", directory.path] + settings + [try CLI.binary.path, "serve", "--database", database,
                                 "--port", String(port)], stdout: log, stderr: log)
        let server = ServerHarness(pid: pid, baseURL: URL(string: "http://127.0.0.1:\(port)")!, log: log)
        let client = APIClient(base: server.baseURL, token: nil)
        var status: Int32 = 0
        for _ in 0..<600 {
            if (try? await client.status(of: "/healthz")) == 200 { return server }
            guard CLI.isRunning(pid, status: &status) else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        server.kill()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw CLI.HarnessError(message: "ossa serve did not become healthy:\n\(output.suffix(2000))")
    }

    /// SIGKILL: no chance to flush or close anything. Waits (at most 10 s) until the kernel has reaped it.
    func kill() {
        Foundation.kill(pid, SIGKILL)
        var status: Int32 = 0
        for _ in 0..<1000 {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped == -1 && errno == ECHILD) { return }
            usleep(10_000)
        }
    }
}

/// A minimal JSON API client over URLSession.
struct APIClient: Sendable {
    let base: URL
    let token: String?

    private func request(_ path: String, method: String = "GET", body: Data? = nil) -> URLRequest {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        return request
    }

    func status(of path: String) async throws -> Int {
        let (_, response) = try await URLSession.shared.data(for: request(path))
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    func json(_ path: String) async throws -> [String: Any] {
        let (data, response) = try await URLSession.shared.data(for: request(path))
        guard (response as? HTTPURLResponse)?.statusCode == 200,
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLI.HarnessError(message: "GET \(path): \(String(decoding: data, as: UTF8.self).prefix(300))")
        }
        return object
    }

    /// Episodes of the first patients the caller can see.
    func episodeIDs() async throws -> [String] {
        let patients = try await json("/api/v1/patients?limit=10")["items"] as? [[String: Any]] ?? []
        var ids: [String] = []
        for patient in patients {
            guard let id = patient["id"] as? String else { continue }
            let episodes = try await json("/api/v1/patients/\(id)/episodes")["items"] as? [[String: Any]] ?? []
            ids += episodes.compactMap { $0["id"] as? String }
        }
        return ids
    }

    /// Submits a pain NRS answer; returns the new response's id once the server has acknowledged it (201).
    func submitPain(episode: String, value: Int) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["instrument": "nrs-pain", "answers": ["pain": value]])
        let (data, response) = try await URLSession.shared.data(
            for: request("/api/v1/episodes/\(episode)/questionnaire-responses", method: "POST", body: body))
        guard (response as? HTTPURLResponse)?.statusCode == 201,
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let id = object["id"] as? String else {
            throw CLI.HarnessError(message: "submission not acknowledged: \(String(decoding: data, as: UTF8.self).prefix(300))")
        }
        return id
    }
}
