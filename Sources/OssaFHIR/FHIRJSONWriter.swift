import Foundation

/// A streaming JSON encoder for the bulk paths (`$export`, `ossa export fhir`): it writes a value's `Encodable`
/// form straight into a byte buffer, keys in the order the type encodes them (declaration order for synthesized
/// conformances, so `resourceType` comes first), without the intermediate tree and key sort of Foundation's
/// `JSONEncoder` — measured at several times its speed on Ossa's resources. The output is compact JSON without
/// escaped slashes; numbers are written as `JSONEncoder` writes them (a whole Double without `.0`). Non-finite
/// numbers are refused, as FHIR and JSON refuse them. The exported resources have hand-written forms
/// (`FHIRJSONWritable`) that write the same bytes without going through `Encodable`.
public struct FHIRJSONWriter: Sendable {
    /// Whether the resources with a hand-written form (`FHIRJSONWritable`) are written by it; `false` writes every
    /// value through `Encodable` (the tests compare the two).
    let specialised: Bool

    public init() {
        specialised = true
    }

    init(specialised: Bool) {
        self.specialised = specialised
    }

    /// `value` as one line of JSON.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try append(value, to: &bytes)
        return bytes
    }

    /// Appends `value` as JSON to `bytes`.
    public func append<T: Encodable>(_ value: T, to bytes: inout [UInt8]) throws {
        let sink = JSONSink()
        swap(&sink.bytes, &bytes)
        defer { swap(&sink.bytes, &bytes) }
        // One dynamic cast a resource; below it the hand-written forms call each other statically.
        if specialised, let writable = value as? any FHIRJSONWritable {
            try writable.writeJSON(sink)
        } else {
            try sink.value(value)
        }
    }
}

/// The buffer and the stack of open containers; one per `append`, used by one thread.
final class JSONSink {
    var bytes: [UInt8] = []
    /// Per open container: whether it holds an element yet (the next one needs a comma), and its closing byte.
    var open: [(filled: Bool, close: UInt8)] = []

    func value<T: Encodable>(_ value: T) throws {
        switch value {
        case let string as String: self.string(string)
        case let int as Int: integer(int)
        case let double as Double: try number(double)
        case let bool as Bool: literal(bool ? "true" : "false")
        default:
            let depth = open.count, start = bytes.count
            try value.encode(to: JSONStreamEncoder(sink: self, depth: depth))
            while open.count > depth { closeLast() }
            // Encoded nothing at all (an empty custom `encode(to:)`): JSON needs a value here.
            if bytes.count == start { literal("{}") }
        }
    }

    /// Before an element of the container at `depth` (the encoder that owns it): closes any deeper containers a
    /// nested value left open, and writes the separating comma.
    func element(at depth: Int) {
        while open.count > depth + 1 { closeLast() }
        if open[depth].filled { bytes.append(UInt8(ascii: ",")) } else { open[depth].filled = true }
    }

    func openContainer(_ opening: UInt8, _ closing: UInt8) {
        bytes.append(opening)
        open.append((false, closing))
    }

    func closeLast() {
        bytes.append(open.removeLast().close)
    }

    func key(_ key: String) {
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    func literal(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    func integer<I: BinaryInteger>(_ value: I) {
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // Digits least significant first, then reversed in place (no buffer of its own).
        let start = bytes.count
        var magnitude = value.magnitude
        while magnitude > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        bytes[start...].reverse()
    }

    func number(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, EncodingError.Context(codingPath: [], debugDescription: "\(value) is not a JSON number"))
        }
        // A whole number without ".0", as JSONEncoder writes it (FHIR decimals compare by value).
        if value == value.rounded(), abs(value) < 1e15 {
            integer(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): literal("\\\"")
                case UInt8(ascii: "\\"): literal("\\\\")
                case 0x0A: literal("\\n")
                case 0x0D: literal("\\r")
                case 0x09: literal("\\t")
                case 0x08: literal("\\b")
                case 0x0C: literal("\\f")
                default:
                    literal("\\u00")
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// The `Encoder` handed to one value's `encode(to:)`; `depth` is the sink's container count when it started.
private struct JSONStreamEncoder: Encoder {
    let sink: JSONSink
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if sink.open.count == depth { sink.openContainer(UInt8(ascii: "{"), UInt8(ascii: "}")) }
        return KeyedEncodingContainer(KeyedStream<Key>(sink: sink, depth: depth))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if sink.open.count == depth { sink.openContainer(UInt8(ascii: "["), UInt8(ascii: "]")) }
        return UnkeyedStream(sink: sink, depth: depth)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleStream(sink: sink)
    }
}

private struct KeyedStream<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let sink: JSONSink
    let depth: Int
    var codingPath: [any CodingKey] { [] }

    private func key(_ key: Key) {
        sink.element(at: depth)
        sink.key(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws { self.key(key); sink.literal("null") }
    mutating func encode(_ value: Bool, forKey key: Key) throws { self.key(key); sink.literal(value ? "true" : "false") }
    mutating func encode(_ value: String, forKey key: Key) throws { self.key(key); sink.string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { self.key(key); try sink.number(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { self.key(key); try sink.number(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { self.key(key); sink.integer(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { self.key(key); try sink.value(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        self.key(key)
        sink.openContainer(UInt8(ascii: "{"), UInt8(ascii: "}"))
        return KeyedEncodingContainer(KeyedStream<NestedKey>(sink: sink, depth: sink.open.count - 1))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        self.key(key)
        sink.openContainer(UInt8(ascii: "["), UInt8(ascii: "]"))
        return UnkeyedStream(sink: sink, depth: sink.open.count - 1)
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        self.key(key)
        return JSONStreamEncoder(sink: sink, depth: sink.open.count)
    }
}

private struct UnkeyedStream: UnkeyedEncodingContainer {
    let sink: JSONSink
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    private(set) var count = 0

    init(sink: JSONSink, depth: Int) {
        self.sink = sink
        self.depth = depth
    }

    private mutating func next() {
        sink.element(at: depth)
        count += 1
    }

    mutating func encodeNil() throws { next(); sink.literal("null") }
    mutating func encode(_ value: Bool) throws { next(); sink.literal(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { next(); sink.string(value) }
    mutating func encode(_ value: Double) throws { next(); try sink.number(value) }
    mutating func encode(_ value: Float) throws { next(); try sink.number(Double(value)) }
    mutating func encode(_ value: Int) throws { next(); sink.integer(value) }
    mutating func encode(_ value: Int8) throws { next(); sink.integer(value) }
    mutating func encode(_ value: Int16) throws { next(); sink.integer(value) }
    mutating func encode(_ value: Int32) throws { next(); sink.integer(value) }
    mutating func encode(_ value: Int64) throws { next(); sink.integer(value) }
    mutating func encode(_ value: UInt) throws { next(); sink.integer(value) }
    mutating func encode(_ value: UInt8) throws { next(); sink.integer(value) }
    mutating func encode(_ value: UInt16) throws { next(); sink.integer(value) }
    mutating func encode(_ value: UInt32) throws { next(); sink.integer(value) }
    mutating func encode(_ value: UInt64) throws { next(); sink.integer(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { next(); try sink.value(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next()
        sink.openContainer(UInt8(ascii: "{"), UInt8(ascii: "}"))
        return KeyedEncodingContainer(KeyedStream<NestedKey>(sink: sink, depth: sink.open.count - 1))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        next()
        sink.openContainer(UInt8(ascii: "["), UInt8(ascii: "]"))
        return UnkeyedStream(sink: sink, depth: sink.open.count - 1)
    }

    mutating func superEncoder() -> any Encoder {
        next()
        return JSONStreamEncoder(sink: sink, depth: sink.open.count)
    }
}

private struct SingleStream: SingleValueEncodingContainer {
    let sink: JSONSink
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { sink.literal("null") }
    mutating func encode(_ value: Bool) throws { sink.literal(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { sink.string(value) }
    mutating func encode(_ value: Double) throws { try sink.number(value) }
    mutating func encode(_ value: Float) throws { try sink.number(Double(value)) }
    mutating func encode(_ value: Int) throws { sink.integer(value) }
    mutating func encode(_ value: Int8) throws { sink.integer(value) }
    mutating func encode(_ value: Int16) throws { sink.integer(value) }
    mutating func encode(_ value: Int32) throws { sink.integer(value) }
    mutating func encode(_ value: Int64) throws { sink.integer(value) }
    mutating func encode(_ value: UInt) throws { sink.integer(value) }
    mutating func encode(_ value: UInt8) throws { sink.integer(value) }
    mutating func encode(_ value: UInt16) throws { sink.integer(value) }
    mutating func encode(_ value: UInt32) throws { sink.integer(value) }
    mutating func encode(_ value: UInt64) throws { sink.integer(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try sink.value(value) }
}

extension UUID {
    /// The lowercase 8-4-4-4-12 form, written straight from the bytes (`lowercasedString`): the export writes several
    /// ids per resource, and Foundation formats each with snprintf and then lowercases a copy.
    var fhirID: String { lowercasedString }
}
