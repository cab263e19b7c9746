import Foundation

/// Where the database lives: an embedded SQLite file (the default) or a PostgreSQL server.
///
/// Parsed from one string, as given to `--database-url`:
/// - `postgres://user:pass@host:port/db` or `postgresql://…` (query items such as `?sslmode=disable` pass through);
/// - anything without a URL scheme is a SQLite file path (`~` is not expanded; relative paths are relative to the
///   working directory); `sqlite:PATH` / `sqlite://PATH` are accepted as explicit spellings;
/// - an empty string or `nil` means the default, `./ossa-data/ossa.sqlite`.
/// Any other scheme (`mysql://`, `http://`, …) or a malformed PostgreSQL URL is rejected with a `DatabaseLocationError`.
public enum DatabaseLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    public static let defaultSQLitePath = "./ossa-data/ossa.sqlite"
    public static let `default` = DatabaseLocation.sqlite(path: defaultSQLitePath)

    public init(parsing text: String?) throws(DatabaseLocationError) {
        let trimmed = (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            self = .default
            return
        }
        let lower = trimmed.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            guard let components = URLComponents(string: trimmed) else {
                throw DatabaseLocationError(input: trimmed, reason: "is not a valid URL")
            }
            guard let host = components.host, !host.isEmpty else {
                throw DatabaseLocationError(input: trimmed, reason: "names no host (expected postgres://user:password@host:port/database)")
            }
            guard let user = components.user, !user.isEmpty else {
                throw DatabaseLocationError(input: trimmed, reason: "names no user (expected postgres://user:password@host:port/database)")
            }
            let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            guard !database.isEmpty, !database.contains("/") else {
                throw DatabaseLocationError(input: trimmed, reason: "names no database (expected postgres://user:password@host:port/database)")
            }
            self = .postgres(url: trimmed)
            return
        }
        if lower.hasPrefix("sqlite://") {
            self = try Self.sqlitePath(String(trimmed.dropFirst("sqlite://".count)), input: trimmed)
            return
        }
        if lower.hasPrefix("sqlite:") {
            self = try Self.sqlitePath(String(trimmed.dropFirst("sqlite:".count)), input: trimmed)
            return
        }
        if let schemeEnd = trimmed.range(of: "://") {
            let scheme = trimmed[..<schemeEnd.lowerBound]
            throw DatabaseLocationError(input: trimmed, reason: "uses the unsupported scheme \"\(scheme)\" (use a SQLite file path or a postgres:// URL)")
        }
        self = try Self.sqlitePath(trimmed, input: trimmed)
    }

    private static func sqlitePath(_ path: String, input: String) throws(DatabaseLocationError) -> DatabaseLocation {
        guard !path.isEmpty else { throw DatabaseLocationError(input: input, reason: "names no file") }
        guard !path.hasSuffix("/") else { throw DatabaseLocationError(input: input, reason: "is a directory, not a SQLite file") }
        guard !path.contains("\0") else { throw DatabaseLocationError(input: input, reason: "contains a NUL byte") }
        return .sqlite(path: path)
    }

    /// The location with any password replaced by `***`, for logs and messages.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url): return redactingPassword(url)
        }
    }
}

/// A database location that cannot be used, with the reason.
public struct DatabaseLocationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let input: String
    public let reason: String

    public var description: String {
        "database location \"\(redactingPassword(input))\" \(reason)"
    }
}

/// `scheme://user:***@host/…` for any URL with a password; other text unchanged. Never echo a password.
func redactingPassword(_ text: String) -> String {
    guard text.contains("://"), text.contains("@") else { return text }
    guard var components = URLComponents(string: text) else { return "(unparseable URL, not shown)" }
    if components.password != nil { components.password = "***" }
    return components.string ?? "(unparseable URL, not shown)"
}
