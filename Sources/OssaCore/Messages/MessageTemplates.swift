import Foundation

/// What a template message is about: the personal link, or a reminder of it.
public enum MessageKind: String, Sendable, Hashable, Codable, CaseIterable {
    case invitation, reminder
}

/// One message template: subject (e-mail only), plain text and HTML (e-mail only) with `{{placeholder}}`s.
public struct MessageTemplate: Sendable, Hashable, Codable {
    public var kind: MessageKind
    public var channel: InvitationChannel
    public var subject: String?
    public var text: String
    public var html: String?

    public init(kind: MessageKind, channel: InvitationChannel, subject: String? = nil, text: String, html: String? = nil) {
        (self.kind, self.channel, self.subject, self.text, self.html) = (kind, channel, subject, text, html)
    }

    /// Every placeholder a template may use; anything else in `{{…}}` is refused when a template is saved.
    public static let placeholders = ["clinic", "timepoint", "link", "stopLink", "closes", "contact"]

    /// A template a clinic wrote: an unknown placeholder, an empty text, an e-mail without a subject or an SMS with an
    /// HTML part is an error naming the field.
    public func validate() throws(FieldValidationError) {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw FieldValidationError(path: "text", message: "is empty") }
        if !text.contains("{{link}}") { throw FieldValidationError(path: "text", message: "must contain {{link}}, the patient's personal link") }
        if channel == .email {
            if (subject ?? "").trimmingCharacters(in: .whitespaces).isEmpty { throw FieldValidationError(path: "subject", message: "is empty") }
            if let html, !html.contains("{{link}}") { throw FieldValidationError(path: "html", message: "must contain {{link}}") }
        } else {
            if subject != nil { throw FieldValidationError(path: "subject", message: "an SMS has no subject") }
            if html != nil { throw FieldValidationError(path: "html", message: "an SMS has no HTML part") }
        }
        for (path, value) in [("subject", subject), ("text", text), ("html", html)] {
            guard let value else { continue }
            for name in Self.names(in: value) where !Self.placeholders.contains(name) {
                throw FieldValidationError(path: path, message: "{{\(name)}} is not a placeholder (use \(Self.placeholders.map { "{{\($0)}}" }.joined(separator: ", ")))")
            }
        }
    }

    /// The filled-in message. Values are HTML-escaped in the HTML part; subjects lose line breaks.
    public func render(_ values: [String: String]) -> (subject: String?, text: String, html: String?) {
        func fill(_ template: String, escape: Bool) -> String {
            var result = ""
            var rest = template[...]
            while let open = rest.range(of: "{{") {
                result += rest[..<open.lowerBound]
                guard let close = rest[open.upperBound...].range(of: "}}") else { result += rest[open.lowerBound...]; rest = ""; break }
                let name = String(rest[open.upperBound..<close.lowerBound])
                let value = values[name] ?? ""
                result += escape ? Self.escapeHTML(value) : value
                rest = rest[close.upperBound...]
            }
            return result + rest
        }
        let subject = subject.map { fill($0, escape: false).replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        return (subject, fill(text, escape: false), html.map { fill($0, escape: true) })
    }

    static func names(in text: String) -> [String] {
        var names: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            names.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return names
    }

    static func escapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }
}

/// The bundled message templates (`Resources/messages/default.json`): one per kind and channel.
public struct MessageTemplateSet: Sendable, Hashable, Codable {
    public var id: String
    public var version: String
    public var notes: String?
    public var templates: [MessageTemplate]

    public static func bundled() throws -> MessageTemplateSet {
        let set = try StrictJSON.decode(MessageTemplateSet.self, from: BundledResource.data("messages/default.json"))
        for (index, template) in set.templates.enumerated() {
            do { try template.validate() } catch { throw FieldValidationError(path: "templates[\(index)].\(error.path)", message: error.message) }
        }
        for kind in MessageKind.allCases {
            for channel in InvitationChannel.allCases where set.template(kind, channel) == nil {
                throw FieldValidationError(path: "templates", message: "no \(kind.rawValue) template for \(channel.rawValue)")
            }
        }
        return set
    }

    public func template(_ kind: MessageKind, _ channel: InvitationChannel) -> MessageTemplate? {
        templates.first { $0.kind == kind && $0.channel == channel }
    }
}
