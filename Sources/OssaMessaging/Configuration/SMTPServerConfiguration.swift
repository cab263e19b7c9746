import Foundation

/// Where and how to reach the SMTP server, as parsed from `OSSA_SMTP_URL`.
public struct SMTPServerConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// How the connection is protected.
    public enum Security: String, Sendable, Hashable {
        /// `smtps://`: TLS from the first byte (port 465).
        case implicitTLS
        /// `smtp://`: STARTTLS when the server offers it, plain text otherwise (credentials then only to loopback).
        case startTLSWhenOffered
        /// `smtp://…?starttls=required`: a server that does not offer STARTTLS gets nothing (a permanent failure).
        case startTLSRequired
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var credentials: SMTPCredentials?

    public init(host: String, port: Int, security: Security, credentials: SMTPCredentials? = nil) {
        self.host = host
        self.port = port
        self.security = security
        self.credentials = credentials
    }

    /// The URL again with the password masked, safe for logs and error messages.
    public var description: String {
        let scheme = security == .implicitTLS ? "smtps" : "smtp"
        let user = credentials.map { "\(percentEncodedUserInfo($0.username)):***@" } ?? ""
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "\(scheme)://\(user)\(host):\(port)" + (security == .startTLSRequired ? "?starttls=required" : "")
    }

    /// Parses `smtp://user:pass@host:port` / `smtps://…`. `setting` names the variable in error messages, which never
    /// quote the value (it holds a password).
    public static func parse(_ text: String, setting: String = "OSSA_SMTP_URL") throws(MessagingConfigurationError) -> Self {
        func fail(_ problem: String) -> MessagingConfigurationError { .init(setting: setting, problem: problem) }
        let shape = "expected smtp://user:pass@host:port or smtps://…"
        guard let url = URLComponents(string: text), let rawScheme = url.scheme else { throw fail("not a URL (\(shape))") }
        let scheme = rawScheme.lowercased()
        guard scheme == "smtp" || scheme == "smtps" else {
            throw fail("scheme must be smtp or smtps (got \"\(String(rawScheme.prefix(20)))\")")
        }
        guard let host = url.host.map(unbracketed), !host.isEmpty else { throw fail("a host is required (\(shape))") }
        guard url.path.isEmpty || url.path == "/" else { throw fail("a path is not allowed (\(shape))") }
        guard url.fragment == nil else { throw fail("a #fragment is not allowed") }

        var security: Security = scheme == "smtps" ? .implicitTLS : .startTLSWhenOffered
        for item in url.queryItems ?? [] {
            guard item.name == "starttls" else {
                throw fail("unknown query parameter \"\(String(item.name.prefix(30)))\" (only starttls=required is allowed)")
            }
            guard item.value == "required" else { throw fail("starttls can only be \"required\"") }
            guard scheme == "smtp" else { throw fail("starttls=required applies to smtp://; smtps:// is TLS from the start") }
            security = .startTLSRequired
        }

        let port = url.port ?? (scheme == "smtps" ? 465 : 587)
        guard (1...65535).contains(port) else { throw fail("port must be 1–65535 (got \(port))") }

        var credentials: SMTPCredentials?
        switch (url.user, url.password) {
        case (nil, nil): credentials = nil
        case (let user?, let password?) where !user.isEmpty: credentials = SMTPCredentials(username: user, password: password)
        case (let user?, nil) where !user.isEmpty: throw fail("a user name needs a password (smtp://user:pass@host)")
        default: throw fail("a password needs a user name (smtp://user:pass@host)")
        }
        return Self(host: host, port: port, security: security, credentials: credentials)
    }
}

/// A user name and password for AUTH PLAIN/LOGIN. The password never appears in `description`.
public struct SMTPCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "\(username):***" }
}

/// An error in one setting; `description` is `"SETTING: problem"` and never contains a password.
public struct MessagingConfigurationError: Error, Hashable, CustomStringConvertible {
    /// The environment variable, e.g. `OSSA_SMTP_URL`.
    public let setting: String
    public let problem: String

    public init(setting: String, problem: String) {
        self.setting = setting
        self.problem = problem
    }

    public var description: String { "\(setting): \(problem)" }
}

/// `[::1]` → `::1` (some URL parsers keep the brackets of an IPv6 host, NIO's resolver wants them gone).
func unbracketed(_ host: String) -> String {
    host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
}

func percentEncodedUserInfo(_ text: String) -> String {
    var allowed = CharacterSet.urlUserAllowed
    allowed.remove(charactersIn: ":@")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}
