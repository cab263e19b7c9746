import Foundation

/// A plausibility bound for a recorded number, with the reason it was chosen.
///
/// These are typing-error guards, not clinical limits: a value outside is impossible or almost
/// certainly a slip (mL typed as µL, a gauge typed as a length). Clinical thresholds live in rulesets.
public struct PlausibleRange: Sendable, Hashable {
    public let range: ClosedRange<Double>
    public let unit: String
    public let reason: String

    public init(_ range: ClosedRange<Double>, unit: String, reason: String) {
        self.range = range
        self.unit = unit
        self.reason = reason
    }

    /// Throws a path-naming error when `value` is outside the range (or not finite).
    public func check(_ value: Double, at path: String) throws(FieldValidationError) {
        guard value.isFinite, range.contains(value) else {
            throw FieldValidationError(path: path, message: "\(Self.format(value)) \(unit) is outside the plausible range \(Self.format(range.lowerBound))–\(Self.format(range.upperBound)) \(unit) (\(reason))")
        }
    }

    public func check(_ value: Double?, at path: String) throws(FieldValidationError) {
        if let value { try check(value, at: path) }
    }

    public func check(_ value: Int?, at path: String) throws(FieldValidationError) {
        if let value { try check(Double(value), at: path) }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// Named plausibility bounds for procedure and screening records.
public enum PlausibleRanges {
    /// Needles and trocars: 8 G bone-access trocars (BMC harvest) to 30 G skin needles.
    public static let gaugeG = PlausibleRange(8...30, unit: "G", reason: "bone trocars are 8–13 G, injection needles up to 30 G")
    /// Volume per injection site: published IO sites take 2–10 mL, IA 3–8 mL (Sánchez 2014); 30 mL allows lavage-style IA.
    public static let injectionVolumeMl = PlausibleRange(0.1...30, unit: "mL", reason: "per-site volumes are 2–10 mL in the published IO technique")
    /// Whole blood drawn for PRP: commercial systems use 8–120 mL; 240 mL is a safe ceiling.
    public static let bloodDrawnMl = PlausibleRange(1...240, unit: "mL", reason: "PRP systems draw 8–120 mL")
    /// Final PRP volume cannot meaningfully exceed 120 mL.
    public static let prpFinalVolumeMl = PlausibleRange(0.5...120, unit: "mL", reason: "final PRP volume is a fraction of the blood drawn")
    /// Platelet concentration ×10⁹/L: whole blood is 150–450; PRP up to ~10× that.
    public static let plateletConcentration = PlausibleRange(10...10_000, unit: "×10⁹/L", reason: "PRP is up to ~10× whole-blood platelets")
    /// Fold over whole blood: 0.5 (platelet-poor) to 15×.
    public static let plateletFold = PlausibleRange(0.1...15, unit: "×", reason: "PRP systems concentrate 1–9×")
    /// Bone marrow aspirate: Hernigou harvested larger volumes; 500 mL is beyond any protocol.
    public static let aspirateVolumeMl = PlausibleRange(1...500, unit: "mL", reason: "iliac crest aspirates are 30–240 mL")
    /// BMC volume: 40 mL in Hernigou 2020 (Int Orthop).
    public static let concentrateVolumeMl = PlausibleRange(0.5...100, unit: "mL", reason: "published BMC volumes are 3–40 mL")
    /// Nucleated cells ×10⁶/mL in concentrate.
    public static let nucleatedCellsPerMl = PlausibleRange(0...1_000, unit: "×10⁶/mL", reason: "BMC holds tens of millions of nucleated cells per mL")
    /// CFU-F per mL: Hernigou 2018 (Int Orthop 42:2563–2571) 3,420–9,830.
    public static let cfuFPerMl = PlausibleRange(0...1_000_000, unit: "CFU-F/mL", reason: "published BMC holds thousands of CFU-F per mL")
    /// Fluoroscopy time: IO knee cases take seconds to a few minutes; an hour is a slip.
    public static let fluoroscopySeconds = PlausibleRange(0...3_600, unit: "s", reason: "IO cases need seconds to minutes of screening")
    /// Dose-area product in mGy·cm².
    public static let doseAreaProduct = PlausibleRange(0...100_000, unit: "mGy·cm²", reason: "extremity fluoroscopy DAP is far below 100 Gy·cm²")
    /// Focused/radial ESWT energy flux density: published 0.04–0.55 mJ/mm² (ESWT knee and bone-edema protocols); devices reach ~1.2.
    public static let energyFluxDensity = PlausibleRange(0.001...1.5, unit: "mJ/mm²", reason: "ESWT devices deliver up to ~1.2 mJ/mm²")
    /// Pulses per ESWT session: 1,000–4,000 in published protocols.
    public static let shockwavePulses = PlausibleRange(1...10_000, unit: "pulses", reason: "sessions use 1,000–4,000 pulses")
    /// Pulse frequency in Hz.
    public static let shockwaveFrequencyHz = PlausibleRange(0.1...25, unit: "Hz", reason: "ESWT devices fire 1–22 Hz")
    /// ESWT sessions in one course: 1–6 in published protocols.
    public static let shockwaveSessions = PlausibleRange(1...20, unit: "sessions", reason: "courses are 1–6 sessions")
    /// Age in years.
    public static let ageYears = PlausibleRange(0...120, unit: "years", reason: "human lifespan")
    /// Height in cm.
    public static let heightCm = PlausibleRange(50...250, unit: "cm", reason: "adult height")
    /// Weight in kg.
    public static let weightKg = PlausibleRange(20...350, unit: "kg", reason: "adult weight")
    /// BMI in kg/m².
    public static let bmi = PlausibleRange(10...90, unit: "kg/m²", reason: "survivable BMI")
    /// Platelets ×10⁹/L.
    public static let platelets = PlausibleRange(1...2_000, unit: "×10⁹/L", reason: "reference 150–450; a value typed per mm³ would be 1000× larger")
    /// Haemoglobin g/dL.
    public static let haemoglobin = PlausibleRange(2...25, unit: "g/dL", reason: "reference 12–17; a value typed in g/L would be 10× larger")
    /// HbA1c %.
    public static let hba1c = PlausibleRange(3...20, unit: "%", reason: "a value typed in mmol/mol would be about 10× larger")
    /// Knee alignment in degrees.
    public static let alignmentDegrees = PlausibleRange(0...45, unit: "°", reason: "deformities beyond 45° are not measured this way")
    /// Pain on a 0–10 scale.
    public static let painNRS = PlausibleRange(0...10, unit: "points", reason: "NRS is 0–10")
    /// Treatment duration in weeks.
    public static let treatmentWeeks = PlausibleRange(0...2_600, unit: "weeks", reason: "at most 50 years")
}
