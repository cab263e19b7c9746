import Foundation

/// A strict JSON parser (RFC 8259) for what clients send: a resource, a Bundle, an NDJSON line.
///
/// It gives the values `JSONSerialization` gives, so the readers of `FHIRInput.swift` work on either: objects as
/// `[String: Any]`, arrays as `[Any]`, strings as `String`, numbers and booleans as `NSNumber` (a boolean's type code
/// `c`, an integer's a whole number), null as `NSNull`; a repeated key keeps its last value. It exists because
/// `JSONSerialization` on Linux builds a tree of its own first and bridges every value afterwards, which was a third
/// of an import's reading time (`Benchmarks/exchange`). Refused: invalid UTF-8, unescaped control characters, lone
/// surrogates, leading zeros, trailing commas, anything after the value, and nesting deeper than `maximumDepth`
/// (so a hostile body cannot exhaust the stack).
public enum FHIRJSONParser {
    public static let maximumDepth = 512

    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// Byte offset in the input where the text stopped being JSON.
        public var offset: Int
        public var reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// The JSON value of `data`.
    public static func value(_ data: Data) throws(Failure) -> Any {
        let result: Result<Any, Failure> = data.withUnsafeBytes { raw in
            var reader = Reader(bytes: raw.bindMemory(to: UInt8.self))
            do throws(Failure) {
                reader.skipWhitespace()
                let value = try reader.parseValue(depth: 0)
                reader.skipWhitespace()
                if reader.position != reader.bytes.count { throw reader.failure("unexpected text after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The JSON object of `data`, or nil when it is not one (or not JSON).
    public static func object(_ data: Data) -> [String: Any]? {
        (try? value(data)) as? [String: Any]
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        func failure(_ reason: String) -> Failure {
            Failure(offset: position, reason: reason)
        }

        @inline(__always)
        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(Failure) -> Any {
            guard position < bytes.count else { throw failure("unexpected end of the text") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return try parseString()
            case UInt8(ascii: "t"):
                try literal("true")
                return NSNumber(value: true)
            case UInt8(ascii: "f"):
                try literal("false")
                return NSNumber(value: false)
            case UInt8(ascii: "n"):
                try literal("null")
                return NSNull()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw failure("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) throws(Failure) {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count else { throw failure("unexpected end of the text") }
            let expected = word.utf8Start
            for i in 0..<count where bytes[position + i] != expected[i] { throw failure("unexpected character") }
            position += count
        }

        mutating func parseObject(depth: Int) throws(Failure) -> [String: Any] {
            guard depth <= FHIRJSONParser.maximumDepth else { throw failure("nested deeper than \(FHIRJSONParser.maximumDepth)") }
            position += 1
            var object: [String: Any] = [:]
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return object
            }
            while true {
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a member name") }
                let key = try parseString()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':'") }
                position += 1
                skipWhitespace()
                object[key] = try parseValue(depth: depth)
                skipWhitespace()
                guard position < bytes.count else { throw failure("unexpected end of the text") }
                switch bytes[position] {
                case UInt8(ascii: ","):
                    position += 1
                    skipWhitespace()
                case UInt8(ascii: "}"):
                    position += 1
                    return object
                default: throw failure("expected ',' or '}'")
                }
            }
        }

        mutating func parseArray(depth: Int) throws(Failure) -> [Any] {
            guard depth <= FHIRJSONParser.maximumDepth else { throw failure("nested deeper than \(FHIRJSONParser.maximumDepth)") }
            position += 1
            var array: [Any] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return array
            }
            while true {
                array.append(try parseValue(depth: depth))
                skipWhitespace()
                guard position < bytes.count else { throw failure("unexpected end of the text") }
                switch bytes[position] {
                case UInt8(ascii: ","):
                    position += 1
                    skipWhitespace()
                case UInt8(ascii: "]"):
                    position += 1
                    return array
                default: throw failure("expected ',' or ']'")
                }
            }
        }

        /// A string at `position` (its opening quote); the common case, without escapes, is one validated copy.
        mutating func parseString() throws(Failure) -> String {
            position += 1
            let start = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self) else {
                        throw Failure(offset: start, reason: "invalid UTF-8 in a string")
                    }
                    position += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { return try parseEscapedString(from: start) }
                if byte < 0x20 { throw failure("unescaped control character in a string") }
                position += 1
            }
            throw failure("unterminated string")
        }

        mutating func parseEscapedString(from start: Int) throws(Failure) -> String {
            var utf8: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: utf8, as: UTF8.self) else {
                        throw Failure(offset: start, reason: "invalid UTF-8 in a string")
                    }
                    position += 1
                    return text
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { throw failure("unterminated string") }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hexQuad()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                                throw failure("a lone surrogate in a \\u escape")
                            }
                            position += 2
                            let low = try hexQuad()
                            guard (0xDC00...0xDFFF).contains(low) else { throw failure("a lone surrogate in a \\u escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw failure("a lone surrogate in a \\u escape")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw failure("an invalid \\u escape") }
                        utf8.append(contentsOf: UTF8.encode(unicode)!)
                    default:
                        throw Failure(offset: position - 1, reason: "an invalid escape")
                    }
                default:
                    if byte < 0x20 { throw failure("unescaped control character in a string") }
                    utf8.append(byte)
                    position += 1
                }
            }
            throw failure("unterminated string")
        }

        mutating func hexQuad() throws(Failure) -> UInt32 {
            guard position + 4 <= bytes.count else { throw failure("unexpected end of the text") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("an invalid \\u escape")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`: an integer that fits `Int` as one, anything else as
        /// the nearest `Double`.
        mutating func parseNumber() throws(Failure) -> NSNumber {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw failure("a number needs a digit") }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
                if position < bytes.count, isDigit(bytes[position]) { throw failure("a number must not start with 0") }
            } else {
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            var integral = true
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                integral = false
                position += 1
                guard position < bytes.count, isDigit(bytes[position]) else { throw failure("a digit must follow the decimal point") }
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                integral = false
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                guard position < bytes.count, isDigit(bytes[position]) else { throw failure("a digit must follow the exponent") }
                while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            if integral, let whole = Int(text) { return NSNumber(value: whole) }
            guard let double = Double(text), double.isFinite else { throw Failure(offset: start, reason: "a number out of range") }
            return NSNumber(value: double)
        }

        @inline(__always)
        func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }
    }
}
