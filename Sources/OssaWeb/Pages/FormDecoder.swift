import Foundation

/// Decodes an `application/x-www-form-urlencoded` body into a `Decodable` form struct.
///
/// Names follow the conventions browsers and Rails-style forms use:
/// - `email=…` a field; `sex=female` into an enum through its own `Decodable`;
/// - `comorbidity=a&comorbidity=b` or `comorbidity[]=a&…` repeated keys into an array (checkboxes);
/// - `labs[platelets]=…` a nested struct;
/// - `injections[0][volume]=…&injections[2][volume]=…` indexed rows into an array of structs, in index order
///   (gaps allowed, so a removed row leaves the others in place).
///
/// A field sent twice where the form takes one value is refused (it is never "the last one wins"); so is a row
/// index that is not a small whole number. An empty text box decodes as `nil` for an optional field and as `""`
/// for a `String`; `Bool` takes a checkbox's `on` (and `true`/`1`/`yes`; absent is `false` only if the
/// struct gives a default). Keys the struct does not name are ignored (`_csrf`, the submit button).
struct FormDecoder {
    /// A field the form could not take, by its name as the form writes it (`injections[2][volume]`).
    struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
        var field: String
        var message: String
        var description: String { "\(field): \(message)" }
    }

    static let maximumRows = 200

    func decode<T: Decodable>(_ type: T.Type, from pairs: [(String, String)]) throws -> T {
        let root = Node.map([:])
        for (name, value) in pairs {
            try root.insert(path: try Self.path(name), value: value, name: name)
        }
        do {
            return try T(from: NodeDecoder(node: root, codingPath: []))
        } catch let error as FieldError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw FieldError(field: Self.name(context.codingPath + [key]), message: "is required")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
                let DecodingError.dataCorrupted(context) {
            throw FieldError(field: Self.name(context.codingPath), message: context.debugDescription)
        }
    }

    /// `a[b][2]` → `["a", "b", "2"]`; `a[]` → `["a", ""]`.
    static func path(_ name: String) throws -> [String] {
        guard let open = name.firstIndex(of: "[") else { return [name] }
        var parts = [String(name[..<open])]
        var rest = name[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw FieldError(field: name, message: "is not a valid field name")
            }
            parts.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        guard !parts[0].isEmpty else { throw FieldError(field: name, message: "is not a valid field name") }
        return parts
    }

    /// The form's own spelling of a coding path: `injections[2][volume]`.
    static func name(_ path: [any CodingKey]) -> String {
        guard let first = path.first else { return "" }
        return path.dropFirst().reduce(first.intValue.map(String.init) ?? first.stringValue) { name, key in
            "\(name)[\(key.intValue.map(String.init) ?? key.stringValue)]"
        }
    }

    /// The parsed form: values (one or more, for repeated keys) or nested fields.
    final class Node {
        enum Kind { case values([String]), map([String: Node]) }
        var kind: Kind

        init(_ kind: Kind) { self.kind = kind }
        static func map(_ children: [String: Node]) -> Node { Node(.map(children)) }

        func insert(path: [String], value: String, name: String) throws {
            guard case .map(var children) = kind else {
                throw FieldError(field: name, message: "mixes a value and nested fields")
            }
            let key = path[0]
            if path.count == 1 || (path.count == 2 && path[1].isEmpty) {
                switch children[key]?.kind {
                case nil: children[key] = Node(.values([value]))
                case .values(let values)?: children[key] = Node(.values(values + [value]))
                case .map?: throw FieldError(field: name, message: "mixes a value and nested fields")
                }
            } else {
                let child = children[key] ?? .map([:])
                if case .values = child.kind { throw FieldError(field: name, message: "mixes a value and nested fields") }
                children[key] = child
                kind = .map(children)
                try child.insert(path: Array(path.dropFirst()), value: value, name: name)
                return
            }
            kind = .map(children)
        }
    }

    struct IndexKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(_ index: Int) { stringValue = String(index); intValue = index }
        init?(stringValue: String) { self.stringValue = stringValue; intValue = Int(stringValue) }
        init?(intValue: Int) { self.init(intValue) }
    }

    struct NodeDecoder: Decoder {
        let node: Node?
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            switch node?.kind {
            case .map(let children)?: return KeyedDecodingContainer(Keyed<Key>(children: children, codingPath: codingPath))
            case nil: return KeyedDecodingContainer(Keyed<Key>(children: [:], codingPath: codingPath))
            case .values?: throw FieldError(field: FormDecoder.name(codingPath), message: "is a value, not a group of fields")
            }
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            switch node?.kind {
            case nil: return Unkeyed(items: [], codingPath: codingPath)
            case .values(let values)?: return Unkeyed(items: values.map { Node(.values([$0])) }, codingPath: codingPath)
            case .map(let children)?:
                // Indexed rows: every key a small whole number, taken in index order.
                var rows: [(Int, Node)] = []
                for (key, child) in children {
                    guard let index = Int(key), (0..<FormDecoder.maximumRows).contains(index) else {
                        throw FieldError(field: FormDecoder.name(codingPath + [IndexKey(stringValue: key)!]),
                                         message: "is not a row number 0–\(FormDecoder.maximumRows - 1)")
                    }
                    rows.append((index, child))
                }
                return Unkeyed(items: rows.sorted { $0.0 < $1.0 }.map(\.1), codingPath: codingPath, indices: rows.sorted { $0.0 < $1.0 }.map(\.0))
            }
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer {
            Single(node: node, codingPath: codingPath)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let children: [String: Node]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { children.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { children[key.stringValue] != nil }

        func decodeNil(forKey key: Key) throws -> Bool {
            guard let node = children[key.stringValue] else { return true }
            if case .values(let values) = node.kind, values.count == 1, values[0].trimmingCharacters(in: .whitespaces).isEmpty {
                return true
            }
            return false
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let node = children[key.stringValue]
            // An absent text field is an empty string, as browsers send for an empty text box.
            if node == nil, T.self == String.self { return "" as! T }
            if node == nil, T.self == Bool.self { return false as! T }
            return try T(from: NodeDecoder(node: node, codingPath: codingPath + [key]))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try NodeDecoder(node: children[key.stringValue], codingPath: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try NodeDecoder(node: children[key.stringValue], codingPath: codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { NodeDecoder(node: .map(children), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { NodeDecoder(node: children[key.stringValue], codingPath: codingPath + [key]) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [Node]
        let codingPath: [any CodingKey]
        var indices: [Int]? = nil
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        init(items: [Node], codingPath: [any CodingKey], indices: [Int]? = nil) {
            self.items = items
            self.codingPath = codingPath
            self.indices = indices
        }

        private var key: IndexKey { IndexKey(indices?[currentIndex] ?? currentIndex) }

        mutating func decodeNil() throws -> Bool { false }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            guard !isAtEnd else { throw FieldError(field: FormDecoder.name(codingPath), message: "has too few values") }
            let value = try T(from: NodeDecoder(node: items[currentIndex], codingPath: codingPath + [key]))
            currentIndex += 1
            return value
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let container = try NodeDecoder(node: items[currentIndex], codingPath: codingPath + [key]).container(keyedBy: type)
            currentIndex += 1
            return container
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let container = try NodeDecoder(node: items[currentIndex], codingPath: codingPath + [key]).unkeyedContainer()
            currentIndex += 1
            return container
        }

        mutating func superDecoder() throws -> any Decoder {
            let decoder = NodeDecoder(node: items[currentIndex], codingPath: codingPath + [key])
            currentIndex += 1
            return decoder
        }
    }

    struct Single: SingleValueDecodingContainer {
        let node: Node?
        let codingPath: [any CodingKey]
        var field: String { FormDecoder.name(codingPath) }

        /// The one value of a scalar field; twice is an error, not "the last one wins".
        func text() throws -> String {
            switch node?.kind {
            case .values(let values)? where values.count == 1: return values[0]
            case .values?: throw FieldError(field: field, message: "was sent more than once")
            case .map?: throw FieldError(field: field, message: "is a group of fields, not a value")
            case nil: throw FieldError(field: field, message: "is required")
            }
        }

        func decodeNil() -> Bool {
            guard let text = try? text() else { return node == nil }
            return text.trimmingCharacters(in: .whitespaces).isEmpty
        }

        func decode(_ type: String.Type) throws -> String { try text() }

        func decode(_ type: Bool.Type) throws -> Bool {
            switch try text().lowercased() {
            case "on", "true", "1", "yes": return true
            case "off", "false", "0", "no", "": return false
            case let other: throw FieldError(field: field, message: "\"\(other)\" is not yes or no")
            }
        }

        func number<N: LosslessStringConvertible>(_ kind: String) throws -> N {
            let text = try text().trimmingCharacters(in: .whitespaces)
            guard let value = N(text) else { throw FieldError(field: field, message: "\"\(text)\" is not \(kind)") }
            return value
        }

        func decode(_ type: Double.Type) throws -> Double {
            let value: Double = try number("a number")
            guard value.isFinite else { throw FieldError(field: field, message: "is not a finite number") }
            return value
        }
        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
        func decode(_ type: Int.Type) throws -> Int { try number("a whole number") }
        func decode(_ type: Int8.Type) throws -> Int8 { try number("a whole number") }
        func decode(_ type: Int16.Type) throws -> Int16 { try number("a whole number") }
        func decode(_ type: Int32.Type) throws -> Int32 { try number("a whole number") }
        func decode(_ type: Int64.Type) throws -> Int64 { try number("a whole number") }
        func decode(_ type: UInt.Type) throws -> UInt { try number("a whole number") }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try number("a whole number") }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try number("a whole number") }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try number("a whole number") }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try number("a whole number") }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: NodeDecoder(node: node, codingPath: codingPath)) }
    }
}
