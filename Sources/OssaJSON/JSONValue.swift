/// An ordered JSON tree and its writer.
///
/// Output formats that users' scripts rely on (`ossa score`, `ossa stats survival`) are written
/// with their keys in the documented order; Foundation's `JSONEncoder` does not keep key order on
/// Linux, so both OssaCore and OssaStats build a `JSONValue` and render it here.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case int(Int)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// How `rendered(_:)` lays out the text.
    public enum Style: Sendable {
        /// No spaces: `{"a":1,"b":[2,3]}`.
        case compact
        /// One line with a space after `:` and `,`: `{"a": 1, "b": [2, 3]}`.
        case singleLine
        /// Indented by two spaces; objects and arrays of scalars stay on one line.
        case pretty
    }

    /// The JSON text of this value.
    public func rendered(_ style: Style = .compact) -> String {
        var out = ""
        write(to: &out, style: style, indent: 0)
        return out
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.rendered() == rhs.rendered()
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private func write(to out: inout String, style: Style, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .number(let x): out += JSONValue.format(x)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            writeContainer(items.map { (nil as String?, $0) }, open: "[", close: "]", to: &out, style: style, indent: indent)
        case .object(let members):
            writeContainer(members.map { (Optional($0.0), $0.1) }, open: "{", close: "}", to: &out, style: style, indent: indent)
        }
    }

    private func writeContainer(_ members: [(String?, JSONValue)], open: String, close: String,
                                to out: inout String, style: Style, indent: Int) {
        if members.isEmpty { out += open + close; return }
        // Containers of scalars (e.g. Kaplan–Meier steps) stay on one line when pretty-printing.
        let multiline = style == .pretty && !members.allSatisfy { $0.1.isScalar }
        let spaced = style != .compact
        out += open
        for (i, (key, value)) in members.enumerated() {
            if i > 0 { out += spaced && !multiline ? ", " : "," }
            if multiline { out += "\n" + String(repeating: "  ", count: indent + 1) }
            if let key {
                JSONValue.writeString(key, to: &out)
                out += spaced ? ": " : ":"
            }
            value.write(to: &out, style: style, indent: indent + 1)
        }
        if multiline { out += "\n" + String(repeating: "  ", count: indent) }
        out += close
    }

    /// Shortest round-trip decimal; integral values without ".0" (as `JSONEncoder` writes them);
    /// NaN and ±∞ become null.
    public static func format(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
        return x.description
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

/// Lets a type whose JSON contract is built as a `JSONValue` conform to `Encodable` without a second,
/// hand-kept encoder: `encode(to:)` writes the same tree (non-finite numbers as `null`).
extension JSONValue: Encodable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .int(let i):
            var c = encoder.singleValueContainer()
            try c.encode(i)
        case .number(let x):
            var c = encoder.singleValueContainer()
            if x.isFinite { try c.encode(x) } else { try c.encodeNil() }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let members):
            var c = encoder.container(keyedBy: Key.self)
            for (key, value) in members { try c.encode(value, forKey: Key(key)) }
        }
    }
}
