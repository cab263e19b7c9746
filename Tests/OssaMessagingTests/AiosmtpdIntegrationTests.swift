import Foundation
import Testing
@testable import OssaMessaging

/// SMTPClient against a real SMTP implementation: aiosmtpd (PyPI) via Tests/smtp/smtp_sink.py, writing a Maildir.
///
/// Gated like the repository's other external-tool suites: it runs when `OSSA_TEST_AIOSMTPD` names a python3 that
/// has `aiosmtpd==1.4.6` installed (or is `1`, to take `python3` from PATH); `.ci/run` sets it. Without the variable
/// the test says so and passes; with it, a missing interpreter or module is a failure, never a skip.
@Suite("SMTP against aiosmtpd", .serialized)
struct AiosmtpdIntegrationTests {
    struct HarnessError: Error, CustomStringConvertible { let description: String }

    static var setting: String? {
        guard let value = ProcessInfo.processInfo.environment["OSSA_TEST_AIOSMTPD"], !value.isEmpty else { return nil }
        return value
    }

    /// The interpreter: the given path, or `python3` on PATH.
    static func python(_ setting: String) throws -> URL {
        if setting != "1" {
            guard FileManager.default.isExecutableFile(atPath: setting) else {
                throw HarnessError(description: "OSSA_TEST_AIOSMTPD=\(setting) is not an executable (a python3 with `pip install 'aiosmtpd==1.4.6'`)")
            }
            return URL(fileURLWithPath: setting)
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("python3")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw HarnessError(description: "OSSA_TEST_AIOSMTPD=1 but no python3 on PATH")
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("two messages over one connection arrive in the Maildir with their Message-ID, subject and body")
    func deliversToMaildir() async throws {
        guard let setting = Self.setting else {
            print("aiosmtpd suite not run: set OSSA_TEST_AIOSMTPD to a python3 with aiosmtpd==1.4.6 (or 1 for python3 on PATH); .ci/run does")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-aiosmtpd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let maildir = directory.appendingPathComponent("Maildir")
        let sink = try await Sink.start(python: try Self.python(setting), maildir: maildir, output: directory.appendingPathComponent("sink.txt"))
        do {
            try await deliver(port: sink.port, maildir: maildir)
            await sink.stop()
        } catch {
            await sink.stop()
            throw error
        }
    }

    func deliver(port: Int, maildir: URL) async throws {

        let client = try SMTPClient(server: SMTPServerConfiguration(host: "127.0.0.1", port: port, security: .startTLSWhenOffered),
                                    heloName: "ossa.test", logger: CapturedLogs().logger)
        let emails = try [
            Fixture.email(id: "first-\(UUID().uuidString.lowercased())@ossa.test", to: "jane@example.org",
                          subject: "Ihr Fragebogen für das Knie", text: "Grüße!\n.a line with a dot\nhttps://ossa.test/q/first"),
            Fixture.email(id: "second-\(UUID().uuidString.lowercased())@ossa.test", to: "john@example.org",
                          subject: "Your 6-month questionnaire", text: "Hello\nhttps://ossa.test/q/second", html: "<p>Hello</p>"),
        ]
        let results = await client.send(emails)
        #expect(results == [.sent, .sent])

        let files = try FileManager.default.contentsOfDirectory(at: maildir.appendingPathComponent("new"), includingPropertiesForKeys: nil)
        let stored = try files.map { try String(contentsOf: $0, encoding: .utf8) }
        #expect(stored.count == 2)
        for email in emails {
            let message = try #require(stored.first { Decode.headers($0)["message-id"] == "<\(email.messageID)>" }, "\(email.messageID) not in the Maildir")
            let headers = Decode.headers(message)
            #expect(headers["x-sink-mail-from"] == "noreply@clinic.example")
            #expect(headers["x-sink-rcpt-to"] == email.to.address)
            #expect(Decode.encodedWords(headers["subject"] ?? "") == email.subject)
            let body = Decode.quotedPrintable(message.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n"))
            #expect(body.contains(email.textBody.replacingOccurrences(of: "\n", with: "\r\n")), "\(body)")
        }
    }

    /// The sink process: started with `--port 0`, ready when it prints `ready <port>`.
    struct Sink {
        let process: Process
        let port: Int

        static func start(python: URL, maildir: URL, output: URL) async throws -> Sink {
            guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
                throw HarnessError(description: "cannot create \(output.path)")
            }
            let handle = try FileHandle(forWritingTo: output)
            let process = Process()
            process.executableURL = python
            process.arguments = [packageRoot.appendingPathComponent("Tests/smtp/smtp_sink.py").path, "--port", "0", "--maildir", maildir.path]
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            // Generous: on CI's two cores a python3 importing aiosmtpd while hundreds of tests start has taken over 20 s.
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ready ") }), let port = Int(line.dropFirst(6)) {
                    return Sink(process: process, port: port)
                }
                if !process.isRunning { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            await Sink(process: process, port: 0).stop()
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            throw HarnessError(description: "smtp_sink.py did not get ready (is aiosmtpd==1.4.6 installed?):\n\(text.suffix(2000))")
        }

        /// SIGTERM, then SIGKILL if it is still there after 5 s; polls instead of `waitUntilExit()`, which would
        /// block a thread of the concurrency pool.
        func stop() async {
            guard process.isRunning else { return }
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            // Until it has exited: Foundation's `Process` must not be released while its child still runs.
            while process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        }
    }
}
