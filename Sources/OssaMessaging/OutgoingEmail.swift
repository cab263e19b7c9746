/// One e-mail as the outbox hands it to the transport. Validated on creation, so rendering and sending cannot fail
/// on its content and no field can smuggle a header or an SMTP command in.
public struct OutgoingEmail: Sendable, Hashable {
    /// Why a message cannot be built; never quotes the offending content.
    public struct InvalidMessage: Error, Hashable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// `id-left@id-right` without angle brackets (e.g. `"<uuid>@<public host>"`), fixed at enqueue: the same on
    /// every retry, so a recipient's mail system can drop a duplicate sent after a lost `250`.
    public let messageID: String
    public let from: EmailAddress
    public let to: EmailAddress
    /// Free text; line breaks become spaces, non-ASCII is RFC 2047 encoded.
    public let subject: String
    public let textBody: String
    /// When present the message is multipart/alternative (text first, HTML preferred by capable readers).
    public let htmlBody: String?
    /// Further headers, e.g. `List-Unsubscribe`, in order. ASCII, and not one that the renderer writes itself.
    public let headers: [MessageHeader]

    public init(messageID: String, from: EmailAddress, to: EmailAddress, subject: String, textBody: String,
                htmlBody: String? = nil, headers: [MessageHeader] = []) throws(InvalidMessage) {
        try Self.validate(messageID: messageID)
        for header in headers { try Self.validate(header) }
        self.messageID = messageID
        self.from = from
        self.to = to
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.headers = headers
    }

    /// Headers `MIMEMessage` writes; a duplicate would make the message ambiguous (and `Bcc` would leak).
    static let reservedHeaders: Set<String> = [
        "from", "to", "cc", "bcc", "sender", "subject", "date", "message-id", "mime-version", "auto-submitted",
        "content-type", "content-transfer-encoding",
    ]

    private static func validate(messageID: String) throws(InvalidMessage) {
        let sides = messageID.split(separator: "@", omittingEmptySubsequences: false)
        let dotAtom = { (side: Substring) in
            side.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0.unicodeScalars.allSatisfy(isAtext) }
        }
        guard sides.count == 2, dotAtom(sides[0]), dotAtom(sides[1]), messageID.utf8.count <= 250 else {
            throw InvalidMessage(reason: "Message-ID must be id@host (dot-atoms, no angle brackets)")
        }
    }

    private static func validate(_ header: MessageHeader) throws(InvalidMessage) {
        guard !header.name.isEmpty, header.name.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) && $0 != ":" }) else {
            throw InvalidMessage(reason: "a header name must be printable ASCII without a colon")
        }
        guard !reservedHeaders.contains(header.name.lowercased()) else {
            throw InvalidMessage(reason: "header \(header.name) is written by the renderer")
        }
        guard header.value.unicodeScalars.allSatisfy({ (0x20...0x7E).contains($0.value) || $0 == "\t" }),
              header.value.utf8.count <= 900 else {
            throw InvalidMessage(reason: "header \(header.name): the value must be printable ASCII on one line, at most 900 characters")
        }
    }
}

/// One extra header line of an `OutgoingEmail`.
public struct MessageHeader: Sendable, Hashable {
    public let name: String
    public let value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
