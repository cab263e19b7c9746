import Foundation

/// An e-mail address as Ossa sends to it: an ASCII `local@domain` (dot-atom on both sides) with an optional display
/// name, which may be any text and is encoded for the header when it is not plain ASCII.
///
/// Deliberately narrower than RFC 5322 (no quoted local parts, address literals, comments or SMTPUTF8): these are the
/// addresses clinics and patients use, and everything accepted here is safe in an SMTP command and a header.
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    /// Why a string is not an address. The reason never repeats the input, which may be a patient's address.
    public struct ParseError: Error, Hashable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The `local@domain` part, used in `MAIL FROM:<…>` / `RCPT TO:<…>`.
    public let address: String
    /// The human part of `Name <a@b.c>`, without quotes.
    public let displayName: String?

    /// Validates `address` (`local@domain`) and `displayName` separately.
    public init(address: String, displayName: String? = nil) throws(ParseError) {
        try Self.validate(addrSpec: address)
        if let displayName {
            guard !displayName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw ParseError(reason: "the display name contains a control character")
            }
        }
        self.address = address
        let name = displayName?.trimmingCharacters(in: .whitespaces)
        self.displayName = (name?.isEmpty ?? true) ? nil : name
    }

    /// Parses `a@b.c`, `Name <a@b.c>` or `"Name, Title" <a@b.c>`.
    public init(parsing text: String) throws(ParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.lastIndex(of: "<") else {
            try self.init(address: trimmed)
            return
        }
        guard trimmed.hasSuffix(">") else { throw ParseError(reason: "text after the closing > of the address") }
        let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
        var name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
            name = String(name.dropFirst().dropLast())
                .replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
        }
        try self.init(address: address, displayName: name)
    }

    /// `Name <a@b.c>` or `a@b.c`, as typed (not header-encoded; `MIMEMessage` does that).
    public var description: String {
        displayName.map { "\($0) <\(address)>" } ?? address
    }

    private static func validate(addrSpec: String) throws(ParseError) {
        guard addrSpec.allSatisfy(\.isASCII) else {
            throw ParseError(reason: "only ASCII addresses are supported (write the domain in punycode)")
        }
        guard let at = addrSpec.lastIndex(of: "@") else { throw ParseError(reason: "not an e-mail address (no @)") }
        let local = addrSpec[..<at], domain = addrSpec[addrSpec.index(after: at)...]
        guard !local.isEmpty, local.utf8.count <= 64 else { throw ParseError(reason: "the part before @ is empty or too long") }
        guard local.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ atom in
            !atom.isEmpty && atom.unicodeScalars.allSatisfy(isAtext)
        }) else { throw ParseError(reason: "the part before @ has a character or dot that is not allowed") }
        guard !domain.isEmpty, domain.utf8.count <= 253 else { throw ParseError(reason: "the domain is empty or too long") }
        guard domain.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDomainLabel) else {
            throw ParseError(reason: "the domain is not a host name")
        }
    }
}

/// RFC 5322 `atext`: letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
func isAtext(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar {
    case "a"..."z", "A"..."Z", "0"..."9": true
    default: "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(scalar)
    }
}

/// A DNS label: 1–63 letters, digits and inner hyphens.
func isDomainLabel(_ label: Substring) -> Bool {
    guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
    return label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
}
