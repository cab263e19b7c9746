import Foundation

extension InstrumentDefinition {
    /// Decodes and validates a definition from JSON (a built-in file or a clinic-supplied one such as
    /// WOMAC). Unknown keys are rejected so a misspelt field (`"minimumAnswerd"`) cannot silently
    /// change scoring; every error names the offending field, e.g. `scores[1].items[3]`.
    public static func decode(from data: Data) throws(FieldValidationError) -> InstrumentDefinition {
        let definition = try StrictJSON.decode(InstrumentDefinition.self, from: data)
        try definition.validate()
        return definition
    }

    /// Checks the internal consistency of the definition; throws the first problem found.
    public func validate() throws(FieldValidationError) {
        guard schemaVersion == Self.supportedSchemaVersion else {
            throw FieldValidationError(path: "schemaVersion",
                                       message: "unsupported schema version \(schemaVersion) (this build reads \(Self.supportedSchemaVersion))")
        }
        try Self.requireIdentifier(id, path: "id")
        if title.trimmingCharacters(in: .whitespaces).isEmpty {
            throw FieldValidationError(path: "title", message: "must not be empty")
        }
        if scoring.version.isEmpty {
            throw FieldValidationError(path: "scoring.version", message: "must not be empty")
        }
        if let panel = loincPanel { try LOINCCode.require(panel, path: "loincPanel") }
        for (name, options) in responseSets ?? [:] {
            try Self.validate(options: options, path: "responseSets.\(name)")
        }
        try validateItems()
        try validateScores()
        try validateOmeractOarsi()
    }

    private func validateItems() throws(FieldValidationError) {
        if items.isEmpty { throw FieldValidationError(path: "items", message: "must list at least one item") }
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            let path = "items[\(index)]"
            if item.code.isEmpty { throw FieldValidationError(path: "\(path).code", message: "must not be empty") }
            guard seen.insert(item.code).inserted else {
                throw FieldValidationError(path: "\(path).code", message: "duplicate item code '\(item.code)'")
            }
            switch item.itemType {
            case .choice:
                if item.options != nil, item.responseSet != nil {
                    throw FieldValidationError(path: path, message: "give either \"options\" or \"responseSet\", not both")
                }
                if let name = item.responseSet, responseSets?[name] == nil {
                    throw FieldValidationError(path: "\(path).responseSet", message: "no response set named '\(name)'")
                }
                if let inline = item.options {
                    try Self.validate(options: inline, path: "\(path).options")
                }
                if options(for: item).isEmpty {
                    throw FieldValidationError(path: path, message: "choice item '\(item.code)' has no answer options")
                }
            case .date, .text:
                if item.options != nil || item.responseSet != nil {
                    throw FieldValidationError(path: path, message: "\(item.itemType.rawValue) item '\(item.code)' cannot have answer options")
                }
            }
        }
        for (index, item) in items.enumerated() {
            guard let condition = item.enableWhen else { continue }
            guard let controller = self.item(condition.item), controller.itemType == .choice else {
                throw FieldValidationError(path: "items[\(index)].enableWhen.item", message: "'\(condition.item)' is not a choice item of this instrument")
            }
            if !options(for: controller).contains(where: { $0.value == condition.equals }) {
                throw FieldValidationError(path: "items[\(index)].enableWhen.equals",
                                           message: "\(condition.equals) is not an answer value of item '\(condition.item)'")
            }
        }
    }

    private func validateScores() throws(FieldValidationError) {
        var seen = Set<String>()
        for (index, score) in scores.enumerated() {
            let path = "scores[\(index)]"
            try Self.requireIdentifier(score.id, path: "\(path).id")
            guard seen.insert(score.id).inserted else {
                throw FieldValidationError(path: "\(path).id", message: "duplicate score id '\(score.id)'")
            }
            if score.items.isEmpty { throw FieldValidationError(path: "\(path).items", message: "must list at least one item") }
            var maxRaw = 0
            var scoreItems = Set<String>()
            for (itemIndex, code) in score.items.enumerated() {
                guard let item = item(code) else {
                    throw FieldValidationError(path: "\(path).items[\(itemIndex)]", message: "unknown item code '\(code)'")
                }
                guard item.itemType == .choice else {
                    throw FieldValidationError(path: "\(path).items[\(itemIndex)]", message: "item '\(code)' is a \(item.itemType.rawValue) item and cannot be scored")
                }
                guard scoreItems.insert(code).inserted else {
                    throw FieldValidationError(path: "\(path).items[\(itemIndex)]", message: "item '\(code)' is listed twice")
                }
                maxRaw += options(for: item).map(\.value).max() ?? 0
            }
            if score.minimumAnswered < 1 || score.minimumAnswered > score.items.count {
                throw FieldValidationError(path: "\(path).minimumAnswered",
                                           message: "must be between 1 and the number of items (\(score.items.count))")
            }
            if let loinc = score.loinc { try LOINCCode.require(loinc, path: "\(path).loinc") }
            switch score.method {
            case .mean, .sum:
                if score.table != nil { throw FieldValidationError(path: "\(path).table", message: "only method \"table\" takes a table") }
            case .item:
                if score.items.count != 1 { throw FieldValidationError(path: "\(path).items", message: "method \"item\" takes exactly one item") }
                if score.table != nil { throw FieldValidationError(path: "\(path).table", message: "only method \"table\" takes a table") }
            case .table:
                // The published tables are defined on the complete raw sum only.
                if score.minimumAnswered != score.items.count {
                    throw FieldValidationError(path: "\(path).minimumAnswered", message: "method \"table\" requires every item (\(score.items.count))")
                }
                if score.transform != nil { throw FieldValidationError(path: "\(path).transform", message: "method \"table\" takes no transform") }
                guard let table = score.table else {
                    throw FieldValidationError(path: "\(path).table", message: "is required for method \"table\"")
                }
                let raws = table.map(\.raw)
                if raws != Array(0...maxRaw) {
                    throw FieldValidationError(path: "\(path).table",
                                               message: "must have one row per raw sum 0…\(maxRaw) in order (found \(raws.count) rows)")
                }
                if let bad = table.firstIndex(where: { !$0.score.isFinite }) {
                    throw FieldValidationError(path: "\(path).table[\(bad)].score", message: "must be a finite number")
                }
            }
        }
    }

    private func validateOmeractOarsi() throws(FieldValidationError) {
        for (index, mapping) in (omeractOarsi ?? []).enumerated() where score(id: mapping.score) == nil {
            throw FieldValidationError(path: "omeractOarsi[\(index)].score", message: "no score named '\(mapping.score)'")
        }
    }

    private static func validate(options: [AnswerOption], path: String) throws(FieldValidationError) {
        if options.isEmpty { throw FieldValidationError(path: path, message: "must list at least one option") }
        var values = Set<Int>()
        for (index, option) in options.enumerated() where !values.insert(option.value).inserted {
            throw FieldValidationError(path: "\(path)[\(index)].value", message: "duplicate answer value \(option.value)")
        }
    }

    private static func requireIdentifier(_ value: String, path: String) throws(FieldValidationError) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_"))
        if value.isEmpty || value.unicodeScalars.contains(where: { !allowed.contains($0) }) {
            throw FieldValidationError(path: path, message: "'\(value)' must be non-empty letters, digits, '-' or '_'")
        }
    }
}

/// LOINC code syntax and Mod-10 check digit, so a mistyped code in a data file is caught on load
/// (several public projects mislabel these codes; the LOINC table at loinc.org is the source of truth).
public enum LOINCCode {
    /// True when `code` has the form `digits-checkdigit` and the check digit is right.
    public static func isValid(_ code: String) -> Bool {
        let parts = code.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...7).contains(parts[0].count), parts[1].count == 1,
              parts[0].allSatisfy(\.isASCII), parts[0].allSatisfy(\.isNumber),
              let check = Int(parts[1]) else { return false }
        // Luhn / LOINC Mod 10: double every other digit from the right, starting with the rightmost.
        var sum = 0
        for (offset, char) in parts[0].reversed().enumerated() {
            guard let digit = char.wholeNumberValue else { return false }
            if offset.isMultiple(of: 2) {
                let doubled = digit * 2
                sum += doubled / 10 + doubled % 10
            } else {
                sum += digit
            }
        }
        return (10 - sum % 10) % 10 == check
    }

    static func require(_ code: String, path: String) throws(FieldValidationError) {
        if !isValid(code) {
            throw FieldValidationError(path: path, message: "'\(code)' is not a valid LOINC code (format or check digit)")
        }
    }
}
