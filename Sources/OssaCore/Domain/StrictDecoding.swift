import Foundation

/// JSON decoding that rejects unknown keys and reports every problem as a `FieldValidationError`.
///
/// Hand-written screening inputs and clinic rulesets are the main users: a misspelt key
/// (`"nsaidLastdose"`) must not be silently ignored, because the rule that needed it would then
/// quietly not fire. `JSONDecoder` ignores unknown keys, so this wraps the decoder and checks every
/// keyed container against the type's own `CodingKeys` (synthesised `CodingKeys` return `nil` from
/// `init(stringValue:)` for names they do not know).
public enum StrictJSON {
    /// Decodes `T` from JSON bytes; unknown keys and bad values raise a path-naming error.
    ///
    /// `wire`: the stricter reading for the JSON API, whose OpenAPI document is exact: `null` is refused for an
    /// optional field ("leave the field out"; a type that allows it reads it itself, see `decodeNullable`), and
    /// grades take only their documented form (integers for numeric scales, exact labels for Ahlbäck and ARCO).
    /// Hand-written files (`ossa screen`, rulesets) keep the lenient reading.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, wire: Bool = false) throws(FieldValidationError) -> T {
        do {
            let decoder = JSONDecoder()
            if wire { decoder.userInfo[.ossaWire] = true }
            let envelope = try decoder.decode(StrictEnvelope<T>.self, from: data)
            return envelope.value
        } catch {
            throw FieldValidationError.from(error)
        }
    }

    /// Encodes with sorted keys and pretty printing, so stored decisions diff cleanly.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

extension CodingUserInfoKey {
    /// Set by `StrictJSON.decode(_:from:wire: true)`.
    static let ossaWire = CodingUserInfoKey(rawValue: "ossa.wire")!
}

extension Decoder {
    /// Whether this is the JSON API's strict reading (`StrictJSON.decode(_:from:wire:)`).
    public var isWire: Bool { userInfo[.ossaWire] as? Bool == true }
}

extension KeyedDecodingContainer {
    /// An optional field that the contract declares nullable: absent and `null` both read as nil, also on the wire.
    public func decodeNullable<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decode(type, forKey: key)
    }
}

private struct StrictEnvelope<T: Decodable>: Decodable {
    let value: T
    init(from decoder: any Decoder) throws {
        value = try T(from: StrictDecoder(base: decoder))
    }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
}

private struct StrictDecoder: Decoder {
    let base: any Decoder
    var codingPath: [any CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let probe = try base.container(keyedBy: AnyCodingKey.self)
        for key in probe.allKeys where Key(stringValue: key.stringValue) == nil {
            throw FieldValidationError(codingPath: codingPath + [key], message: "unknown field \"\(key.stringValue)\"")
        }
        return KeyedDecodingContainer(StrictKeyed(base: try base.container(keyedBy: Key.self), refusesNull: base.isWire))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        StrictUnkeyed(base: try base.unkeyedContainer())
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        try base.singleValueContainer()
    }
}

private struct StrictKeyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    var base: KeyedDecodingContainer<Key>
    /// The wire reading: an optional field sent as `null` is refused (see `StrictJSON.decode(_:from:wire:)`).
    var refusesNull = false

    /// nil when the key is absent; an error for `null` on the wire; otherwise decodes.
    private func present<T>(_ key: Key, _ decode: () throws -> T) throws -> T? {
        guard base.contains(key) else { return nil }
        if try base.decodeNil(forKey: key) {
            if refusesNull { throw FieldValidationError(codingPath: codingPath + [key], message: "must not be null; leave the field out") }
            return nil
        }
        return try decode()
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try present(key) { try base.decode(type, forKey: key) } }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try present(key) { try T(from: StrictDecoder(base: try base.superDecoder(forKey: key))) }
    }
    var codingPath: [any CodingKey] { base.codingPath }
    var allKeys: [Key] { base.allKeys }
    func contains(_ key: Key) -> Bool { base.contains(key) }
    func decodeNil(forKey key: Key) throws -> Bool { try base.decodeNil(forKey: key) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try base.decode(type, forKey: key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try base.decode(type, forKey: key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try base.decode(type, forKey: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try base.decode(type, forKey: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try base.decode(type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try base.decode(type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try base.decode(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try base.decode(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try base.decode(type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try base.decode(type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try base.decode(type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try base.decode(type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try base.decode(type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try base.decode(type, forKey: key) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        // A super-decoder over a missing key would read as null; report it as missing instead.
        guard base.contains(key) else {
            throw FieldValidationError(codingPath: codingPath + [key], message: "is required but missing")
        }
        return try T(from: StrictDecoder(base: try base.superDecoder(forKey: key)))
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try StrictDecoder(base: try base.superDecoder(forKey: key)).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        StrictUnkeyed(base: try base.nestedUnkeyedContainer(forKey: key))
    }
    func superDecoder() throws -> any Decoder { StrictDecoder(base: try base.superDecoder()) }
    func superDecoder(forKey key: Key) throws -> any Decoder { StrictDecoder(base: try base.superDecoder(forKey: key)) }
}

private struct StrictUnkeyed: UnkeyedDecodingContainer {
    var base: any UnkeyedDecodingContainer
    var codingPath: [any CodingKey] { base.codingPath }
    var count: Int? { base.count }
    var isAtEnd: Bool { base.isAtEnd }
    var currentIndex: Int { base.currentIndex }
    mutating func decodeNil() throws -> Bool { try base.decodeNil() }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try base.decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try base.decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try base.decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try base.decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try base.decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try base.decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try base.decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try base.decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try base.decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try base.decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try base.decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try base.decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try base.decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try base.decode(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: StrictDecoder(base: try base.superDecoder()))
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try StrictDecoder(base: try base.superDecoder()).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        StrictUnkeyed(base: try base.nestedUnkeyedContainer())
    }
    mutating func superDecoder() throws -> any Decoder { StrictDecoder(base: try base.superDecoder()) }
}
