/// What became of one message handed to a transport: the delivery worker retries `.transient` with backoff and
/// gives up on `.permanent` at once.
///
/// The strings are short and meant for `outbox_messages.last_error`: a step, a code and at most a trimmed piece of
/// the server's text with e-mail addresses removed. They never carry a recipient, a subject or a body.
public enum DeliveryResult: Sendable, Hashable, CustomStringConvertible {
    /// The server accepted responsibility for the message (SMTP 250 after DATA, HTTP 2xx).
    case sent
    /// Worth trying again later: the network, a timeout, TLS, a 4xx reply, a session-level refusal.
    case transient(String)
    /// Trying again would give the same answer for this message: 5xx to RCPT/DATA, a 4xx from the webhook.
    case permanent(String)
    /// The channel cannot deliver anything now, whatever the message: a setting or the server's policy (STARTTLS
    /// required but not offered, credentials without TLS, the sender refused at MAIL FROM, a webhook that answers
    /// 3xx, 401, 403, 404 or 405). The worker holds the channel's messages back without using up their attempts,
    /// instead of failing every message of the outbox one after another.
    case unavailable(String)

    public var description: String {
        switch self {
        case .sent: "sent"
        case .transient(let reason): "transient: \(reason)"
        case .permanent(let reason): "permanent: \(reason)"
        case .unavailable(let reason): "unavailable: \(reason)"
        }
    }

    /// The outcome's name alone, for logs (which carry no server text).
    public var outcome: String {
        switch self {
        case .sent: "sent"
        case .transient: "transient"
        case .permanent: "permanent"
        case .unavailable: "unavailable"
        }
    }
}

/// Server text fit for storage: servers like to quote the recipient back ("<jane@example.org>: user unknown"), so
/// every word with an `@` is replaced, control characters go, and the result is cut to `limit` characters.
func redactedServerText(_ text: String, limit: Int = 100) -> String {
    let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { word in
        word.contains("@") ? "[address]" : String(word)
    }
    let cleaned = String(words.joined(separator: " ").unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
    return cleaned.count <= limit ? cleaned : String(cleaned.prefix(limit - 1)) + "…"
}
