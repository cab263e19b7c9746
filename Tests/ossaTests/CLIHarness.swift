import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What one run of the `ossa` executable printed and returned.
struct CLIResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs the built `ossa` executable as a user would, so the tests cover argument parsing,
/// exit codes and exactly what is printed.
enum CLI {
    /// The repository root, found from this file's location.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The folder the test runner was built into; `swift test` builds `ossa` into the same folder.
    static var binary: URL {
        get throws {
            var candidates: [URL] = []
            if let exe = Bundle.main.executableURL {
                candidates.append(exe.deletingLastPathComponent().appendingPathComponent("ossa"))
                // macOS: .../debug/OssaPackageTests.xctest/Contents/MacOS/OssaPackageTests
                candidates.append(exe.deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("ossa"))
            }
            candidates.append(packageRoot.appendingPathComponent(".build/debug/ossa"))
            for url in candidates where FileManager.default.isExecutableFile(atPath: url.path) {
                return url
            }
            throw HarnessError(message: "ossa executable not found; looked in \(candidates.map(\.path))")
        }
    }

    struct HarnessError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// Runs `ossa` with `arguments` in `directory` (the repository root by default).
    ///
    /// Started with posix_spawn and reaped with waitpid, not Foundation's `Process`: a full parallel test run, with
    /// other suites launching servers through `Process` at the same time, once hung for 16 minutes in
    /// `waitUntilExit` and once crashed (SIGSEGV) while polling `isRunning`. A command still running after
    /// 5 minutes is killed and reported.
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        let executable = try binary.path
        // Files, not pipes: a large output cannot fill a pipe buffer and stall the child.
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let outURL = tmp.appendingPathComponent("stdout"), errURL = tmp.appendingPathComponent("stderr")
        // `env -C DIR VAR=value… ossa …`: the working directory and extra variables without touching this process's.
        let argv = ["/usr/bin/env", "-C", (directory ?? packageRoot).path] + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + [executable] + arguments
        let pid = try spawn(argv, stdout: outURL, stderr: errURL)
        let deadline = Date().addingTimeInterval(300)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1 && errno != EINTR { throw HarnessError(message: "waitpid failed: \(errno)") }
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw HarnessError(message: "ossa \(arguments.joined(separator: " ")) did not finish in 5 minutes")
            }
            usleep(2_000)
        }
        // Exit status as `Process.terminationStatus` gives it: the exit code, or the signal for a killed child.
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : status & 0x7f
        return CLIResult(
            status: exitCode,
            stdout: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
        )
    }

    /// Starts `argv` (a full path first) with standard input from /dev/null and output to files; returns its pid.
    /// Every child of the test target starts here, never through Foundation's `Process`, whose concurrent use from
    /// parallel tests hung and crashed the test process.
    static func spawn(_ argv: [String], stdout: URL, stderr: URL) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr.path, O_WRONLY | O_CREAT | (stderr == stdout ? O_APPEND : O_TRUNC), 0o600)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard spawned == 0 else { throw HarnessError(message: "cannot start \(argv[0]) (posix_spawn: \(spawned))") }
        return pid
    }

    /// Whether a spawned child still runs; reaps it (and records its exit status) once it has ended.
    static func isRunning(_ pid: pid_t, status: inout Int32) -> Bool {
        let reaped = waitpid(pid, &status, WNOHANG)
        return reaped == 0
    }

    /// Writes `contents` to a fresh temporary file and returns its path.
    static func temporaryFile(_ contents: String, name: String = "input") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-cli-in-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        return url.path
    }

    /// Parses stdout as a JSON object.
    static func json(_ result: CLIResult) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw HarnessError(message: "stdout is not a JSON object: \(result.stdout.prefix(200))")
        }
        return object
    }
}
