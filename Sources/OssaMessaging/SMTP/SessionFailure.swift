import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// The point of the conversation a reply or an error belongs to; it prefixes result texts ("RCPT 550 …").
enum SMTPStep: String, Sendable {
    case connect, greeting = "greeting", ehlo = "EHLO", helo = "HELO", startTLS = "STARTTLS", auth = "AUTH"
    case mail = "MAIL", rcpt = "RCPT", data = "DATA", rset = "RSET", quit = "QUIT"
}

/// Something that ends the whole SMTP session: the message in flight and every one after it get `result`.
struct SessionFailure: Error {
    let result: DeliveryResult
    let step: SMTPStep
    /// The reply code when the server said no, for logs.
    let code: Int?
    /// The server is still in the conversation, so say QUIT before closing.
    let quitPolitely: Bool

    /// A refusal of the session itself (greeting, EHLO, STARTTLS, AUTH, RSET, or 421 at any point): transient even
    /// for 5xx, because it says nothing about the message — it may go through once the server or the settings are
    /// fixed, and the worker's retry limit still ends the attempts.
    static func refused(_ step: SMTPStep, _ reply: SMTPReply) -> SessionFailure {
        SessionFailure(result: .transient("\(step.rawValue) \(reply.code) \(reply.shortText)"), step: step, code: reply.code,
                       quitPolitely: reply.code != 421)
    }

    /// A policy the server cannot satisfy (STARTTLS required, credentials without TLS): the channel is unavailable
    /// until the setting or the server changes; nothing was sent.
    static func policy(_ step: SMTPStep, _ reason: String) -> SessionFailure {
        SessionFailure(result: .unavailable(reason), step: step, code: nil, quitPolitely: true)
    }

    /// A network, TLS or protocol error, or a timeout: transient; the connection is unusable.
    static func broken(_ step: SMTPStep, _ error: any Error) -> SessionFailure {
        if let failure = error as? SessionFailure { return failure }
        return SessionFailure(result: .transient("\(step.rawValue): \(describe(error))"), step: step, code: nil, quitPolitely: false)
    }

    static func timedOut(_ step: SMTPStep, after timeout: Duration) -> SessionFailure {
        SessionFailure(result: .transient("\(step.rawValue): no reply within \(timeout.formattedSeconds)"), step: step,
                       code: nil, quitPolitely: false)
    }

    static func closedByServer(_ step: SMTPStep) -> SessionFailure {
        SessionFailure(result: .transient("\(step.rawValue): connection closed by the server"), step: step, code: nil,
                       quitPolitely: false)
    }
}

/// A short, data-free description of a transport error; the raw descriptions of NIO and BoringSSL errors are long
/// and cryptic, so the common cases are named.
private func describe(_ error: any Error) -> String {
    switch error {
    case let error as NIOConnectionError:
        if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil {
            return "DNS lookup of the host failed"
        }
        return error.connectionErrors.first.map { describe($0.error) } ?? "could not connect"
    case let error as IOError:
        return String(cString: strerror(error.errnoCode)).lowercased()
    case ChannelError.connectTimeout:
        return "connect timed out"
    case let error as SMTPProtocolError:
        return error.description
    case let error as NIOSSLExtraError where error == .failedToValidateHostname:
        return "TLS certificate does not match the host name"
    default:
        break
    }
    let text = String(describing: error)
    if text.contains("CERTIFICATE_VERIFY_FAILED") { return "TLS certificate not trusted" }
    if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
        return "TLS failed (\(text.prefix(80)))"
    }
    return String(text.prefix(100))
}

extension Duration {
    /// `30 s`, `0.25 s`.
    var formattedSeconds: String {
        let (seconds, attoseconds) = components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
