import Foundation

/// The delivery settings of `ossa serve`, checked once at start-up so that a typo stops the server with a message
/// naming the variable instead of failing every send later.
///
/// A channel without its setting is simply off: its messages wait in the outbox. Empty strings count as unset (an
/// exported but empty variable).
public struct MessagingConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// `OSSA_SMTP_URL`; nil: e-mail is not configured.
    public let smtp: SMTPServerConfiguration?
    /// `OSSA_MAIL_FROM`: the From header and the envelope sender. Present whenever `smtp` is.
    public let mailFrom: EmailAddress?
    /// `OSSA_SMS_WEBHOOK_URL`; nil: SMS is not configured.
    public let smsWebhookURL: URL?
    /// `OSSA_PUBLIC_URL` without a trailing slash: every link in a message starts with it. Present whenever a
    /// channel is configured.
    public let publicURL: URL?

    public var emailEnabled: Bool { smtp != nil }
    public var smsEnabled: Bool { smsWebhookURL != nil }

    public init(smtp: SMTPServerConfiguration?, mailFrom: EmailAddress?, smsWebhookURL: URL?, publicURL: URL?) {
        self.smtp = smtp
        self.mailFrom = mailFrom
        self.smsWebhookURL = smsWebhookURL
        self.publicURL = publicURL
    }

    /// Validates the four settings (the values of `OSSA_SMTP_URL`, `OSSA_MAIL_FROM`, `OSSA_SMS_WEBHOOK_URL`,
    /// `OSSA_PUBLIC_URL`); throws `MessagingConfigurationError` for the first one that is wrong.
    public static func parse(
        smtpURL: String?, mailFrom: String?, smsWebhookURL: String?, publicURL: String?
    ) throws(MessagingConfigurationError) -> Self {
        let smtp = try present(smtpURL).map { text throws(MessagingConfigurationError) in
            try SMTPServerConfiguration.parse(text, setting: "OSSA_SMTP_URL")
        }
        let from = try present(mailFrom).map { text throws(MessagingConfigurationError) in
            do throws(EmailAddress.ParseError) { return try EmailAddress(parsing: text) } catch {
                throw MessagingConfigurationError(setting: "OSSA_MAIL_FROM", problem: "\(error.reason) (expected a@b.c or Name <a@b.c>)")
            }
        }
        if smtp != nil, from == nil {
            throw MessagingConfigurationError(setting: "OSSA_MAIL_FROM", problem: "required when OSSA_SMTP_URL is set (a@b.c or Name <a@b.c>)")
        }
        let webhook = try present(smsWebhookURL).map(parseWebhookURL)
        let link = try present(publicURL).map(parsePublicURL)
        if link == nil, smtp != nil || webhook != nil {
            throw MessagingConfigurationError(setting: "OSSA_PUBLIC_URL",
                                              problem: "required when OSSA_SMTP_URL or OSSA_SMS_WEBHOOK_URL is set (the links in messages start with it)")
        }
        return Self(smtp: smtp, mailFrom: from, smsWebhookURL: webhook, publicURL: link)
    }

    /// One line per channel, passwords and webhook query strings masked.
    public var description: String {
        let email = smtp.map { "e-mail via \($0) from \(mailFrom.map(String.init(describing:)) ?? "?")" } ?? "e-mail off"
        let sms = smsWebhookURL.map { "SMS via \(maskedURL($0))" } ?? "SMS off"
        return "\(email); \(sms); links from \(publicURL?.absoluteString ?? "?")"
    }
}

private func present(_ value: String?) -> String? {
    guard let trimmed = value?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty else { return nil }
    return trimmed
}

/// https anywhere; http only to this machine (a local gateway or a test), since the body is patient data.
private func parseWebhookURL(_ text: String) throws(MessagingConfigurationError) -> URL {
    func fail(_ problem: String) -> MessagingConfigurationError { .init(setting: "OSSA_SMS_WEBHOOK_URL", problem: problem) }
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
          let url = components.url else { throw fail("not a URL (expected https://host/path)") }
    guard scheme == "https" || scheme == "http" else {
        throw fail("scheme must be https (got \"\(String(scheme.prefix(20)))\")")
    }
    guard let host = components.host, !host.isEmpty else { throw fail("a host is required (expected https://host/path)") }
    guard scheme == "https" || isLoopbackHost(host) else {
        throw fail("http:// is allowed only for localhost/127.0.0.1/::1; use https:// (the message text travels in the request)")
    }
    guard components.fragment == nil else { throw fail("a #fragment is not allowed") }
    if let port = components.port, !(1...65535).contains(port) { throw fail("port must be 1–65535 (got \(port))") }
    return url
}

/// An absolute http(s) URL to which paths such as `/q/<token>` are appended, so no query, fragment or user.
private func parsePublicURL(_ text: String) throws(MessagingConfigurationError) -> URL {
    func fail(_ problem: String) -> MessagingConfigurationError { .init(setting: "OSSA_PUBLIC_URL", problem: problem) }
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
        throw fail("not an absolute URL (expected https://host or https://host/prefix)")
    }
    guard scheme == "https" || scheme == "http" else {
        throw fail("scheme must be http or https (got \"\(String(scheme.prefix(20)))\")")
    }
    guard let host = components.host, !host.isEmpty else { throw fail("a host is required (expected https://host)") }
    guard components.query == nil else { throw fail("a ?query is not allowed (links are appended to this URL)") }
    guard components.fragment == nil else { throw fail("a #fragment is not allowed (links are appended to this URL)") }
    guard components.user == nil, components.password == nil else { throw fail("a user or password is not allowed") }
    if let port = components.port, !(1...65535).contains(port) { throw fail("port must be 1–65535 (got \(port))") }
    var trimmed = components
    while trimmed.path.hasSuffix("/") { trimmed.path.removeLast() }
    guard let url = trimmed.url else { throw fail("not an absolute URL (expected https://host)") }
    return url
}

/// Scheme, host and port only: gateways put secrets in the user info, the path or the query.
func maskedURL(_ url: URL) -> String {
    guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false), let scheme = components.scheme,
          let host = components.host else { return "<unprintable URL>" }
    let hidden = components.user != nil || !components.path.isEmpty || components.query != nil
    return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")" + (hidden ? "/…" : "")
}

