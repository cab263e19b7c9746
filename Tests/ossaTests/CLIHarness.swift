import Foundation

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
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        let process = Process()
        process.executableURL = try binary
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.currentDirectoryURL = directory ?? packageRoot
        // Files, not pipes: a large output cannot fill a pipe buffer and stall the child.
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let outURL = tmp.appendingPathComponent("stdout"), errURL = tmp.appendingPathComponent("stderr")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Not `waitUntilExit`: it runs the current thread's run loop until Foundation's termination notice arrives,
        // and on a Swift concurrency thread that notice can be delivered elsewhere, leaving the test (and the
        // cooperative thread it holds) waiting for minutes. Polling `isRunning`, which Foundation's own monitor
        // updates, is bounded: a command still running after 5 minutes is killed and reported.
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                throw HarnessError(message: "ossa \(arguments.joined(separator: " ")) did not finish in 5 minutes")
            }
            usleep(2_000)
        }
        try out.close(); try err.close()
        return CLIResult(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        )
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
