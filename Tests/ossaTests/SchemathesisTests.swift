import Foundation
import Testing

/// The API against its own OpenAPI document: schemathesis (PyPI) generates requests from the document — valid ones
/// that must be accepted, invalid ones that must be refused, wrong methods, stateful sequences — and checks every
/// answer against the document (`--checks all`). It must find 0 failures and 0 server errors.
///
/// Gated like the PostgreSQL suite: it runs when `OSSA_TEST_SCHEMATHESIS` names the schemathesis executable (or is
/// `1`, to take `schemathesis` from PATH); `.ci/run` installs the pinned version and sets it. Without the variable
/// the test says so and passes; with it, a missing tool is a failure, never a skip.
@Suite("OpenAPI conformance (schemathesis)", .serialized)
struct SchemathesisTests {
    static var setting: String? {
        guard let value = ProcessInfo.processInfo.environment["OSSA_TEST_SCHEMATHESIS"], !value.isEmpty else { return nil }
        return value
    }

    /// The executable: the given path, or `schemathesis` found on PATH.
    static func executable(_ setting: String) throws -> URL {
        if setting != "1" {
            guard FileManager.default.isExecutableFile(atPath: setting) else {
                throw CLI.HarnessError(message: "OSSA_TEST_SCHEMATHESIS=\(setting) is not an executable (pip install 'schemathesis==4.32.5')")
            }
            return URL(fileURLWithPath: setting)
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("schemathesis")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw CLI.HarnessError(message: "OSSA_TEST_SCHEMATHESIS=1 but no schemathesis on PATH (pip install 'schemathesis==4.32.5')")
    }

    @Test("schemathesis --checks all against a demo server finds 0 failures and 0 server errors, on the JSON API and on FHIR")
    func conformance() async throws {
        guard let setting = Self.setting else {
            print("schemathesis suite not run: set OSSA_TEST_SCHEMATHESIS to the schemathesis executable (or 1 for PATH); .ci/run does")
            return
        }
        let tool = try Self.executable(setting)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-schemathesis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = dir.appendingPathComponent("demo.sqlite").path

        let demo = try CLI.run(["demo", "--patients", "60", "--seed", "7", "--database", database])
        try #require(demo.status == 0, "ossa demo: \(demo.stderr)")
        let logins = ServerHarness.demoLogins(demo.stdout)
        let admin = try #require(logins["admin"]), clinician = try #require(logins["clinician"])
        let token = try CLI.run(["token", "create", "--database", database, "--user", clinician, "--name", "schemathesis", "--as", admin])
        try #require(token.status == 0, "ossa token create: \(token.stderr)")

        let server = try await ServerHarness.start(database: database, directory: dir)
        defer { server.kill() }
        let bearerToken = token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The JSON API, then the FHIR endpoints, each with its own document and settings.
        for (document, config) in [("openapi.json", "schemathesis.toml"), ("fhir-openapi.json", "fhir.toml")] {
            let output = dir.appendingPathComponent("schemathesis-\(document).txt")
            let pid = try CLI.spawn(["/usr/bin/env", "-C", CLI.packageRoot.path, tool.path,
                "--config-file", "Tests/schemathesis/\(config)",
                "run", "Sources/OssaWeb/Resources/\(document)", "--url", server.baseURL.absoluteString,
                "--checks", "all", "-H", "Authorization: Bearer \(bearerToken)",
                "--max-examples", "25", "--seed", "1", "--workers", "1", "--generation-database", "none", "--no-color",
            ], stdout: output, stderr: output)
            // Bounded: a run still going after 10 minutes is killed and fails the test.
            let deadline = Date().addingTimeInterval(600)
            var status: Int32 = 0
            var finished = false
            while !finished {
                if !CLI.isRunning(pid, status: &status) { finished = true; break }
                if Date() > deadline { kill(pid, SIGKILL); _ = waitpid(pid, &status, 0); break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            #expect(finished && exitCode == 0, "schemathesis found problems in \(document):\n\(text.suffix(6000))")
            #expect(text.contains("passed"), "no summary from schemathesis for \(document):\n\(text.suffix(2000))")
        }
    }
}
