import Foundation

/// A flat record of Ossa's (PRP or BMC preparation, a complication) as the parts of a complex extension: one part per
/// field, named by the field, a number as `valueDecimal` and text or a code as `valueString`. The record's own
/// `Codable` conformance does both directions, so an import checks the values exactly as the API does.
enum FHIRParts {
    static func encode<T: Encodable>(_ value: T) -> [FHIRExtension] {
        guard let data = try? JSONEncoder().encode(value),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return [] }
        return object.keys.sorted().compactMap { key in
            switch object[key] {
            case let text as String: FHIRExtension(url: key, valueString: text)
            case let number as NSNumber: FHIRExtension(url: key, valueDecimal: exactDouble(number))
            default: nil
            }
        }
    }

    /// The record from an extension's parts (`extension` of the JSON object at `path`); problems go to `reader`.
    static func decode<T: Decodable>(_ type: T.Type, _ parts: [(String, [String: Any])], at path: String, reader: inout FHIRReader) -> T? {
        // Written as JSON text by hand: JSONSerialization may shorten a number (57.300000000000004 to 57.3).
        var fields: [String: String] = [:]
        for (partPath, part) in parts {
            guard let name = part["url"] as? String else {
                reader.invalid("\(partPath).url", "is required")
                continue
            }
            if fields[name] != nil { reader.refused("\(partPath).url", "\(name) is given twice") }
            if let text = part["valueString"] as? String {
                fields[name] = jsonString(text)
            } else if let number = jsonNumber(part["valueDecimal"] ?? part["valueInteger"]), exactDouble(number).isFinite {
                fields[name] = "\(exactDouble(number))"
            } else {
                reader.invalid(partPath, "\(name) needs a valueString or valueDecimal")
            }
        }
        let data = Data(("{" + fields.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\($0.value)" }.joined(separator: ",") + "}").utf8)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            reader.refused(path, "\(key.stringValue) is required")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            reader.refused("\(path).\(context.codingPath.map(\.stringValue).joined(separator: "."))", "has the wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            reader.refused(field.isEmpty ? path : "\(path).\(field)", context.debugDescription)
        } catch {
            reader.refused(path, "\(error)")
        }
        return nil
    }
}

/// A JSON string literal.
func jsonString(_ text: String) -> String {
    String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
}

/// A JSON number's exact value: Foundation's parser may hold it as a decimal, whose `doubleValue` is not always the
/// nearest double (57.300000000000004 came back as 57.3); its text is.
func exactDouble(_ number: NSNumber) -> Double {
    Double(number.stringValue) ?? number.doubleValue
}

/// A JSON number that is not a boolean. (On Linux, Foundation reads `true` as an NSNumber and `0` and `1` as
/// NSNumbers that also cast to Bool, so `is Bool` cannot tell them apart; a JSON boolean's type code is `c`.)
func jsonNumber(_ value: Any?) -> NSNumber? {
    guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
    return number
}

/// A JSON boolean (`true`, `false`), not a number.
func jsonBoolean(_ value: Any?) -> Bool? {
    guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else { return nil }
    return number.boolValue
}
