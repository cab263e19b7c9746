import Foundation
import OssaCore

// The pieces every staff form is built from (GOV.UK Design System pattern): the submitted values kept as sent, the
// errors collected by field (all of them, never only the first), readers that turn text into domain values, and the
// field models the `_field` partial draws.
//
// Field names mirror the domain's JSON paths (`labs[platelets]` ↔ `labs.platelets`), so a problem the domain reports
// lands on the field that caused it.

/// The values of a submitted form, by field name, in the order sent (checkboxes repeat a name).
struct FormValues: Sendable {
    private(set) var values: [String: [String]] = [:]

    init() {}

    init(_ pairs: [(String, String)]) {
        for (name, value) in pairs {
            // `a[]` is the array spelling of `a`.
            let key = name.hasSuffix("[]") ? String(name.dropLast(2)) : name
            values[key, default: []].append(value)
        }
    }

    subscript(name: String) -> String { values[name]?.first ?? "" }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { values[name] != nil }

    mutating func set(_ name: String, _ value: String?) {
        if let value { values[name] = [value] } else { values[name] = nil }
    }

    mutating func set(_ name: String, all: [String]) { values[name] = all }

    /// Row indices present under `prefix` (`injections[3][volume]` → 3), in order.
    func rowIndices(_ prefix: String) -> [Int] {
        let start = prefix + "["
        return Set(values.keys.compactMap { key -> Int? in
            guard key.hasPrefix(start) else { return nil }
            return Int(key.dropFirst(start.count).prefix { $0 != "]" })
        }).sorted()
    }
}

/// Problems found in a submitted form, each by the field's name; listed in the summary in the form's order.
struct FormErrors: Sendable {
    private(set) var items: [(name: String, message: String)] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func add(_ name: String, _ message: String) {
        // One message per field: the first problem found is the one to fix.
        guard !items.contains(where: { $0.name == name }) else { return }
        items.append((name, message))
    }

    func message(_ name: String) -> String? { items.first { $0.name == name }?.message }

    /// The summary, linking each message to its field.
    var summary: ErrorSummary { ErrorSummary(items.map { .init(fieldID: FieldName.id($0.name), message: $0.message) }) }

    /// A domain problem (`mri.bml[2].count`), under the field it names.
    mutating func add(_ problem: FieldValidationError, label: (String) -> String? = { _ in nil }) {
        let name = FieldName.name(fromPath: problem.path)
        add(name, label(name).map { "\($0): \(problem.message)" } ?? problem.message)
    }
}

enum FieldName {
    /// The HTML id of a field name: `labs[platelets]` → `labs-platelets`.
    static func id(_ name: String) -> String {
        var id = ""
        for character in name {
            switch character {
            case "[": id += "-"
            case "]": continue
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_": id.append(character)
            default: id += "_"
            }
        }
        return id
    }

    /// A domain field path as a form field name: `mri.bml[2].count` → `mri[bml][2][count]`.
    static func name(fromPath path: String) -> String {
        var parts: [String] = []
        for segment in path.split(separator: ".") {
            var rest = segment[...]
            if let open = rest.firstIndex(of: "[") {
                parts.append(String(rest[..<open]))
                rest = rest[open...]
                while let o = rest.firstIndex(of: "["), let c = rest.firstIndex(of: "]") {
                    parts.append(String(rest[rest.index(after: o)..<c]))
                    rest = rest[rest.index(after: c)...]
                }
            } else {
                parts.append(String(rest))
            }
        }
        guard let first = parts.first else { return path }
        return parts.dropFirst().reduce(first) { "\($0)[\($1)]" }
    }
}

/// Reads text fields into typed values, collecting every problem by field. Empty means "not recorded" unless the
/// field is required.
struct FormReader {
    let values: FormValues
    var errors = FormErrors()

    init(_ values: FormValues) {
        self.values = values
    }

    private func trimmed(_ name: String) -> String {
        values[name].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    mutating func text(_ name: String, _ label: String, required: Bool = false, max: Int = 200) -> String? {
        let text = trimmed(name)
        if text.isEmpty {
            if required { errors.add(name, "Enter \(label.lowercasedFirst)") }
            return nil
        }
        if text.count > max {
            errors.add(name, "\(label) must be \(max) characters or fewer")
            return nil
        }
        return text
    }

    mutating func date(_ name: String, _ label: String, required: Bool = false, notAfter latest: CalendarDate? = nil) -> CalendarDate? {
        let text = trimmed(name)
        if text.isEmpty {
            if required { errors.add(name, "Enter \(label.lowercasedFirst)") }
            return nil
        }
        guard let date = try? CalendarDate(iso: text) else {
            errors.add(name, "\(label) must be a real date, for example 2026-03-27")
            return nil
        }
        if let latest, date > latest {
            errors.add(name, "\(label) must be today or in the past")
            return nil
        }
        return date
    }

    mutating func int(_ name: String, _ label: String, _ range: ClosedRange<Int>, required: Bool = false, unit: String = "") -> Int? {
        let text = trimmed(name)
        if text.isEmpty {
            if required { errors.add(name, "Enter \(label.lowercasedFirst)") }
            return nil
        }
        guard let value = Int(text) else {
            errors.add(name, "\(label) must be a whole number")
            return nil
        }
        guard range.contains(value) else {
            errors.add(name, "\(label) must be between \(range.lowerBound) and \(range.upperBound)\(unit)")
            return nil
        }
        return value
    }

    mutating func double(_ name: String, _ label: String, _ range: ClosedRange<Double>, required: Bool = false, unit: String = "") -> Double? {
        let text = trimmed(name).replacingOccurrences(of: ",", with: ".")
        if text.isEmpty {
            if required { errors.add(name, "Enter \(label.lowercasedFirst)") }
            return nil
        }
        guard let value = Double(text), value.isFinite else {
            errors.add(name, "\(label) must be a number")
            return nil
        }
        guard range.contains(value) else {
            errors.add(name, "\(label) must be between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound))\(unit)")
            return nil
        }
        return value
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ type: E.Type, _ name: String, _ label: String,
                                                             required: Bool = false) -> E? where E.RawValue == String {
        let text = trimmed(name)
        if text.isEmpty {
            if required { errors.add(name, "Select \(label.lowercasedFirst)") }
            return nil
        }
        guard let value = E(rawValue: text) else {
            errors.add(name, "Select \(label.lowercasedFirst) from the list")
            return nil
        }
        return value
    }

    mutating func choices<E: RawRepresentable & CaseIterable>(_ type: E.Type, _ name: String, _ label: String) -> [E] where E.RawValue == String {
        var result: [E] = []
        for text in values.all(name) where !text.isEmpty {
            guard let value = E(rawValue: text) else {
                errors.add(name, "Select \(label.lowercasedFirst) from the list")
                return []
            }
            if !result.contains(where: { $0.rawValue == value.rawValue }) { result.append(value) }
        }
        return result
    }

    /// A yes / no / not recorded question (radios `yes`, `no`, or nothing).
    mutating func yesNo(_ name: String, _ label: String, required: Bool = false) -> Bool? {
        switch trimmed(name) {
        case "yes": return true
        case "no": return false
        case "":
            if required { errors.add(name, "Select whether \(label.lowercasedFirst)") }
            return nil
        default:
            errors.add(name, "Select yes or no")
            return nil
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension String {
    var lowercasedFirst: String {
        guard let first else { return self }
        // Keep acronyms (MRI, BMI, HbA1c) as written.
        if count > 1, self[index(after: startIndex)].isUppercase { return self }
        return first.lowercased() + dropFirst()
    }
}

/// A choice in a select, a radio group or a checkbox group.
struct FieldOption: Sendable {
    var id: String
    var value: String
    var label: String
    var selected: Bool
    var hint: String?
}

extension FormField {
    /// A field whose value and error come from the submitted form.
    static func input(_ name: String, _ label: String, _ values: FormValues, _ errors: FormErrors, type: String = "text",
                      hint: String? = nil, width: String? = nil, inputmode: String? = nil, autocomplete: String? = nil,
                      required: Bool = false, labelHidden: Bool = false) -> FormField {
        var field = FormField(id: FieldName.id(name), name: name, label: label, type: type, value: values[name], hint: hint,
                              error: errors.message(name), autocomplete: autocomplete, inputmode: inputmode, required: required)
        field.widthClass = width.map { "width-\($0)" }
        field.labelHidden = labelHidden
        return field
    }

    static func date(_ name: String, _ label: String, _ values: FormValues, _ errors: FormErrors, hint: String? = "Year-month-day, for example 2026-03-27",
                     required: Bool = false) -> FormField {
        // A text box with the ISO form, not `type=date`: the browser's date control shows the day in the locale's
        // order (mm/dd/yyyy here, dd/mm/yyyy there), which is how clinics swap day and month.
        input(name, label, values, errors, hint: hint, width: "10", autocomplete: "off", required: required)
    }

    static func number(_ name: String, _ label: String, _ values: FormValues, _ errors: FormErrors, hint: String? = nil,
                       decimal: Bool = true, labelHidden: Bool = false) -> FormField {
        input(name, label, values, errors, hint: hint, width: "5", inputmode: decimal ? "decimal" : "numeric", labelHidden: labelHidden)
    }

    static func textarea(_ name: String, _ label: String, _ values: FormValues, _ errors: FormErrors, hint: String? = nil) -> FormField {
        var field = input(name, label, values, errors, hint: hint)
        field.kind(.textarea)
        return field
    }

    static func select(_ name: String, _ label: String, _ values: FormValues, _ errors: FormErrors, options: [(String, String)],
                       blank: String? = "Not recorded", hint: String? = nil, labelHidden: Bool = false) -> FormField {
        var field = input(name, label, values, errors, hint: hint, labelHidden: labelHidden)
        let chosen = values[name]
        field.options = (blank.map { [("", $0)] } ?? []).map { FieldOption(id: "", value: $0.0, label: $0.1, selected: chosen.isEmpty, hint: nil) }
            + options.map { FieldOption(id: "", value: $0.0, label: $0.1, selected: $0.0 == chosen, hint: nil) }
        field.kind(.select)
        return field
    }

    /// Radios (one choice) or checkboxes (any number), in a fieldset whose legend is the label.
    static func choices(_ name: String, _ label: String, _ values: FormValues, _ errors: FormErrors, options: [(String, String)],
                        multiple: Bool = false, hint: String? = nil, inline: Bool = false) -> FormField {
        var field = input(name, label, values, errors, hint: hint)
        let chosen = Set(multiple ? values.all(name) : [values[name]])
        field.options = options.enumerated().map { index, option in
            FieldOption(id: "\(FieldName.id(name))-\(index)", value: option.0, label: option.1, selected: chosen.contains(option.0), hint: nil)
        }
        field.kind(multiple ? .checkboxes : .radios)
        field.inline = inline
        return field
    }

    static func yesNo(_ name: String, _ label: String, _ values: FormValues, _ errors: FormErrors, hint: String? = nil) -> FormField {
        choices(name, label, values, errors, options: [("yes", "Yes"), ("no", "No"), ("", "Not recorded")], hint: hint, inline: true)
    }

    static func hidden(_ name: String, _ value: String) -> FormField {
        var field = FormField(id: FieldName.id(name), name: name, label: "", type: "hidden", value: value)
        field.isHidden = true
        field.isInput = false
        return field
    }
}

/// A fieldset of a form: a legend, optional hint, and fields or a grid of fields.
struct FormSection: Sendable {
    var id: String
    var legend: String
    var hint: String?
    var fields: [FormField]
    var grid: FormGrid?
    var hasGrid: Bool
    /// Buttons inside the section (add a row).
    var buttons: [FormButton]

    init(_ legend: String, id: String? = nil, hint: String? = nil, fields: [FormField] = [], grid: FormGrid? = nil, buttons: [FormButton] = []) {
        self.id = id ?? FieldName.id(legend.lowercased().replacingOccurrences(of: " ", with: "-"))
        self.legend = legend
        self.hint = hint
        self.fields = fields
        self.grid = grid
        hasGrid = grid != nil
        self.buttons = buttons
    }
}

/// A table of fields (MRI subregions × findings, injection rows): each cell a field whose label is visually hidden
/// but read out with its row and column.
struct FormGrid: Sendable {
    struct Row: Sendable {
        var header: String
        var cells: [FormField]
        var button: FormButton?
    }

    var caption: String
    var headers: [String]
    var rows: [Row]
}

/// A submit button; `name`/`value` say which action (add a row, remove one, save).
struct FormButton: Sendable {
    var label: String
    var name: String?
    var value: String?
    var secondary: Bool
    /// When the visible label needs its row to make sense ("Remove" → "Remove injection 2").
    var ariaLabel: String?

    init(_ label: String, name: String? = nil, value: String? = nil, secondary: Bool = false, ariaLabel: String? = nil) {
        (self.label, self.name, self.value, self.secondary, self.ariaLabel) = (label, name, value, secondary, ariaLabel)
    }
}

/// Every staff form: title, error summary, sections, buttons; posted to `action` with the CSRF token and a one-time
/// submission key (double submission opens the first result instead of writing twice). View: `form.mustache`.
struct FormPage: Page {
    static let template = "form"
    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var heading: String
    var caption: String?
    var intro: [String]
    var action: String
    var errors: ErrorSummary
    var hidden: [FormField]
    var sections: [FormSection]
    var buttons: [FormButton]
    var cancelURL: String?
    /// The CSRF token of a public form (no signed-in user): the link session's, or the double-submit cookie's.
    var publicCSRF = ""

    init(title: String, user: UserBar?, caption: String? = nil, intro: [String] = [], action: String, values: FormValues, errors: FormErrors,
         sections: [FormSection], buttons: [FormButton], cancelURL: String?, hidden: [FormField] = []) {
        // GOV.UK pattern: a refused form says so in the document title too.
        self.title = errors.isEmpty ? title : "Error: \(title)"
        self.heading = title
        self.user = user
        self.caption = caption
        self.intro = intro
        self.action = action
        self.errors = errors.summary
        let key = values[FormPage.submissionKey].isEmpty ? UUID().lowercasedString : values[FormPage.submissionKey]
        self.hidden = [FormField.hidden(FormPage.submissionKey, key)] + hidden
        self.sections = sections
        self.buttons = buttons
        self.cancelURL = cancelURL
    }

    /// The hidden field carrying the one-time submission key.
    static let submissionKey = "_submission"
}
