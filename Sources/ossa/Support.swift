import ArgumentParser
import Foundation

/// Output format shared by the commands that print a result.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case json, text
}

/// An error the command line reports as `Error: <message>` with a non-zero exit status.
struct CommandLineError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Reads a whole input file, turning "no such file" into a message that names the option.
func readInput(_ path: String, option: String) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw CommandLineError(message: "\(option) \(path): no such file")
    }
    guard !isDirectory.boolValue else {
        throw CommandLineError(message: "\(option) \(path): is a directory, not a file")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandLineError(message: "\(option) \(path): cannot be read")
    }
    return data
}

/// Writes `text` to standard output, ending it with exactly one newline.
func emit(_ text: String) {
    print(text.hasSuffix("\n") ? String(text.dropLast()) : text)
}

/// Prefixes an error from a library with the file it came from, keeping its own message.
func inFile(_ path: String, _ body: () throws -> Void) throws {
    do { try body() } catch let error as CommandLineError {
        throw error
    } catch {
        throw CommandLineError(message: "\(path): \(error)")
    }
}
