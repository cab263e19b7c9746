import Foundation

/// None / mild / moderate / severe, for discomfort and swelling.
public enum DiaryLevel: String, Sendable, Hashable, Codable, CaseIterable {
    case none, mild, moderate, severe
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "level (none, mild, moderate, severe)") }
}

/// How much weight the patient put on the treated leg today.
public enum DiaryWeightBearing: String, Sendable, Hashable, Codable, CaseIterable {
    case full, partial, none
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "weight-bearing answer") }
}

/// Pain medicine taken today (more than one allowed; `none` stands alone).
///
/// Anti-inflammatories are asked for separately because programmes ask patients to avoid them for some weeks
/// after PRP/BMC; the clinic sees who took them.
public enum DiaryPainMedicine: String, Sendable, Hashable, Codable, CaseIterable {
    case none, paracetamol
    case antiInflammatory = "anti-inflammatory"
    case prescribedOpioid = "prescribed-opioid"
    case other
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "pain-medicine answer") }
}

/// Redness of the skin at the injection or harvest sites.
public enum DiaryRedness: String, Sendable, Hashable, Codable, CaseIterable {
    case none
    case aroundSite = "around-the-injection-site"
    case spreading
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "redness answer") }
}

/// One problem in a diary answer: the field id and a plain message for the patient.
public struct DiaryProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The form field id (`pain`, `temperature`, …) or `day`.
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// One day of the recovery diary (days 1–7 after the procedure), as the patient answered it.
///
/// The answers drive the red flags (`RecoveryDiaryProtocol.flags`), so every value is checked on the way in:
/// a decoded or read entry is always in range.
public struct DiaryEntry: Sendable, Hashable, Codable {
    /// Diary days.
    public static let days = 1...7
    /// Pain NRS range (0 = no pain, 10 = worst pain imaginable).
    public static let painRange = 0...10
    /// Plausible body temperatures in °C; anything else is a typing error.
    public static let temperatureRange = 34.0...43.0
    /// Longest free-text note, in characters.
    public static let noteMaxLength = 500

    public var day: Int
    /// Worst pain today, 0–10.
    public var pain: Int
    public var discomfort: DiaryLevel
    public var weightBearing: DiaryWeightBearing
    /// Used crutches or a stick today.
    public var crutches: Bool
    /// Medicines taken today, in the order of `DiaryPainMedicine.allCases`, without repeats.
    public var painMedicine: [DiaryPainMedicine]
    public var swelling: DiaryLevel
    public var redness: DiaryRedness
    /// Felt feverish or measured 38 °C or more.
    public var fever: Bool
    /// Measured temperature in °C, when the patient took it.
    public var temperature: Double?
    public var note: String?

    /// An entry as given; check it with `problems` (decoding and `read` do so).
    public init(day: Int, pain: Int, discomfort: DiaryLevel, weightBearing: DiaryWeightBearing, crutches: Bool,
                painMedicine: [DiaryPainMedicine], swelling: DiaryLevel, redness: DiaryRedness, fever: Bool,
                temperature: Double? = nil, note: String? = nil) {
        self.day = day
        self.pain = pain
        self.discomfort = discomfort
        self.weightBearing = weightBearing
        self.crutches = crutches
        self.painMedicine = DiaryPainMedicine.allCases.filter(Set(painMedicine).contains)
        self.swelling = swelling
        self.redness = redness
        self.fever = fever
        self.temperature = temperature
        self.note = note
    }

    /// Everything out of range, all at once (empty when the entry is valid).
    public var problems: [DiaryProblem] {
        var out: [DiaryProblem] = []
        if !Self.days.contains(day) { out.append(DiaryProblem(field: "day", message: "Day \(day) is not a recovery-diary day (1–7).")) }
        if !Self.painRange.contains(pain) { out.append(DiaryProblem(field: "pain", message: Self.painMessage)) }
        if painMedicine.isEmpty {
            out.append(DiaryProblem(field: "painMedicine", message: "Please choose at least one answer (or “None”)."))
        } else if painMedicine.contains(.none), painMedicine.count > 1 {
            out.append(DiaryProblem(field: "painMedicine", message: "“None” cannot be chosen together with a medicine."))
        }
        if let t = temperature, !(t.isFinite && Self.temperatureRange.contains(t)) {
            out.append(DiaryProblem(field: "temperature", message: Self.temperatureRangeMessage(t)))
        }
        if let note, note.count > Self.noteMaxLength {
            out.append(DiaryProblem(field: "note", message: "Please keep the note to \(Self.noteMaxLength) characters (this one has \(note.count))."))
        }
        return out
    }

    // MARK: Codable (the JSON API): decoded strictly, then checked

    private enum CodingKeys: String, CodingKey {
        case day, pain, discomfort, weightBearing, crutches, painMedicine, swelling, redness, fever, temperature, note
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(day: try c.decode(Int.self, forKey: .day),
                  pain: try c.decode(Int.self, forKey: .pain),
                  discomfort: try c.decode(DiaryLevel.self, forKey: .discomfort),
                  weightBearing: try c.decode(DiaryWeightBearing.self, forKey: .weightBearing),
                  crutches: try c.decode(Bool.self, forKey: .crutches),
                  painMedicine: try c.decode([DiaryPainMedicine].self, forKey: .painMedicine),
                  swelling: try c.decode(DiaryLevel.self, forKey: .swelling),
                  redness: try c.decode(DiaryRedness.self, forKey: .redness),
                  fever: try c.decode(Bool.self, forKey: .fever),
                  temperature: try c.decodeIfPresent(Double.self, forKey: .temperature),
                  note: try c.decodeIfPresent(String.self, forKey: .note))
        let found = problems.map {
            FieldValidationError(path: FieldPath.join(FieldPath.render(decoder.codingPath), $0.field), message: $0.message)
        }
        if let error = FieldValidationError(all: found) { throw error }
    }

    // MARK: Reading a submitted web form

    /// Reads a submitted diary form (`field id → values`, as an HTML form posts them) for diary `day`.
    ///
    /// Collects every problem at once (missing answers, several answers where one is asked, unknown option values,
    /// numbers out of range) so the page can mark all of them; the entry is nil exactly when there are problems.
    /// Keys that are not diary fields (a CSRF token, the submit button) are ignored. Temperatures may use a
    /// decimal comma (`37,8`).
    public static func read(_ form: [String: [String]], day: Int) -> (DiaryEntry?, [DiaryProblem]) {
        var problems: [DiaryProblem] = []
        if !days.contains(day) { problems.append(DiaryProblem(field: "day", message: "Day \(day) is not a recovery-diary day (1–7).")) }

        /// The trimmed non-empty values given for `field`.
        func values(_ field: String) -> [String] {
            (form[field] ?? []).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        }
        /// The one value of a single-answer field; nil (with a problem when required) otherwise.
        func single(_ field: String, required: Bool) -> String? {
            let given = values(field)
            if given.isEmpty {
                if required { problems.append(DiaryProblem(field: field, message: "Please answer this question.")) }
                return nil
            }
            if Set(given).count > 1 {
                problems.append(DiaryProblem(field: field, message: "Please give only one answer."))
                return nil
            }
            return given[0]
        }
        func option<E: RawRepresentable & CaseIterable>(_ field: String, _: E.Type) -> E? where E.RawValue == String {
            guard let raw = single(field, required: true) else { return nil }
            guard let value = E(rawValue: raw) else {
                problems.append(DiaryProblem(field: field, message: Self.unknownOption(raw)))
                return nil
            }
            return value
        }
        func yesNo(_ field: String) -> Bool? {
            guard let raw = single(field, required: true) else { return nil }
            switch raw {
            case "yes": return true
            case "no": return false
            default:
                problems.append(DiaryProblem(field: field, message: Self.unknownOption(raw)))
                return nil
            }
        }

        var pain: Int?
        if let raw = single("pain", required: true) {
            if let n = Int(raw), painRange.contains(n) { pain = n } else { problems.append(DiaryProblem(field: "pain", message: painMessage)) }
        }
        let discomfort = option("discomfort", DiaryLevel.self)
        let weightBearing = option("weightBearing", DiaryWeightBearing.self)
        let crutches = yesNo("crutches")

        var medicine: [DiaryPainMedicine]?
        let medicineGiven = values("painMedicine")
        if medicineGiven.isEmpty {
            problems.append(DiaryProblem(field: "painMedicine", message: "Please choose at least one answer (or “None”)."))
        } else {
            var known: [DiaryPainMedicine] = []
            let before = problems.count
            for raw in medicineGiven {
                if let m = DiaryPainMedicine(rawValue: raw) {
                    known.append(m)
                } else {
                    problems.append(DiaryProblem(field: "painMedicine", message: unknownOption(raw)))
                }
            }
            if known.contains(.none), Set(known).count > 1 {
                problems.append(DiaryProblem(field: "painMedicine", message: "“None” cannot be chosen together with a medicine."))
            }
            if problems.count == before { medicine = known }
        }

        let swelling = option("swelling", DiaryLevel.self)
        let redness = option("redness", DiaryRedness.self)
        let fever = yesNo("fever")

        var temperature: Double?
        if let raw = single("temperature", required: false) {
            let normalised = raw.replacingOccurrences(of: ",", with: ".")
            if let t = Double(normalised), t.isFinite, normalised.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
                if temperatureRange.contains(t) {
                    temperature = t
                } else {
                    problems.append(DiaryProblem(field: "temperature", message: temperatureRangeMessage(t)))
                }
            } else {
                problems.append(DiaryProblem(field: "temperature", message: "Please give your temperature in °C as a number, for example 37.5."))
            }
        }

        var note: String?
        if let text = single("note", required: false) {
            if text.count > noteMaxLength {
                problems.append(DiaryProblem(field: "note", message: "Please keep the note to \(noteMaxLength) characters (this one has \(text.count))."))
            } else {
                note = text
            }
        }

        guard problems.isEmpty, let pain, let discomfort, let weightBearing, let crutches, let medicine,
              let swelling, let redness, let fever else { return (nil, problems) }
        let entry = DiaryEntry(day: day, pain: pain, discomfort: discomfort, weightBearing: weightBearing, crutches: crutches,
                               painMedicine: medicine, swelling: swelling, redness: redness, fever: fever,
                               temperature: temperature, note: note)
        return (entry, entry.problems)
    }

    // MARK: Messages

    static let painMessage = "Please give a whole number from 0 (no pain) to 10 (worst pain imaginable)."

    static func unknownOption(_ raw: String) -> String { "“\(raw)” is not one of the answers to this question." }

    static func temperatureRangeMessage(_ t: Double) -> String {
        "A temperature of \(t) °C is outside 34.0–43.0 °C; please check the number."
    }
}
