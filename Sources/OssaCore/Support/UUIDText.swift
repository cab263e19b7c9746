import Foundation

extension UUID {
    /// `lowercasedString`: how Ossa writes ids (FHIR ids, audit record ids, URLs).
    public var lowercasedString: String { text(Self.lowerDigits) }

    /// `uuidString` (upper case, as SQLite columns hold a UUID), without the C formatter `uuidString` goes through:
    /// an import of thousands of records writes several ids for each.
    public var uppercasedString: String { text(Self.upperDigits) }

    private static let lowerDigits: [UInt8] = Array("0123456789abcdef".utf8)
    private static let upperDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    private func text(_ digits: [UInt8]) -> String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var i = 0
                for (n, byte) in bytes.enumerated() {
                    if n == 4 || n == 6 || n == 8 || n == 10 {
                        out[i] = UInt8(ascii: "-")
                        i += 1
                    }
                    out[i] = digits[Int(byte >> 4)]
                    out[i + 1] = digits[Int(byte & 0x0F)]
                    i += 2
                }
                return i
            }
        }
    }
}
