import Foundation

/// Radiographic OA grading; any subset of the three systems may be recorded.
public struct OAGrading: Sendable, Hashable, Codable {
    public var kellgrenLawrence: KellgrenLawrenceGrade?
    /// Knee only.
    public var ahlback: AhlbackGrade?
    /// Hip only.
    public var tonnis: TonnisGrade?

    public init(kellgrenLawrence: KellgrenLawrenceGrade? = nil, ahlback: AhlbackGrade? = nil, tonnis: TonnisGrade? = nil) {
        self.kellgrenLawrence = kellgrenLawrence
        self.ahlback = ahlback
        self.tonnis = tonnis
    }
}

/// Osteonecrosis staging: ARCO (femoral head, 2019) or Koshino (knee).
public enum AVNStaging: Sendable, Hashable {
    case arco(ARCOStage)
    case koshino(KoshinoStage)

    /// Collapsed lesions (ARCO IIIB/IV, Koshino 3–4) are triaged to surgery (an imaging red flag).
    public var isCollapsed: Bool {
        switch self {
        case .arco(let stage): stage.isCollapsed
        case .koshino(let stage): stage.isCollapsed
        }
    }
}

/// The condition treated in an episode. BML in OA, insufficiency fracture (SIFK), bone bruise, bone marrow edema
/// syndrome and osteonecrosis are kept as separate categories.
///
/// JSON is a flat object with a `type` and only the fields that type allows, e.g.
/// `{"type": "osteoarthritis", "kellgrenLawrence": 3, "ahlback": "III"}` or
/// `{"type": "avascular-necrosis", "arco": "II"}`.
public enum Diagnosis: Sendable, Hashable, Codable {
    case osteoarthritis(OAGrading)
    /// BML without a more specific cause (e.g. painful BML in early OA).
    case boneMarrowLesion
    /// Subchondral insufficiency fracture (SIFK at the knee); Koshino stage when staged as SONK.
    case insufficiencyFracture(koshino: KoshinoStage?)
    /// Persistent post-traumatic bone bruise; time since injury by date or in whole months.
    case boneBruise(injuryDate: CalendarDate?, monthsSinceInjury: Int?)
    case avascularNecrosis(AVNStaging?)
    /// Primary bone marrow edema syndrome (transient osteoporosis).
    case boneMarrowEdemaSyndrome

    /// Stable code used in JSON and by screening rules (`diagnosis.type`).
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case osteoarthritis
        case boneMarrowLesion = "bone-marrow-lesion"
        case insufficiencyFracture = "insufficiency-fracture"
        case boneBruise = "bone-bruise"
        case avascularNecrosis = "avascular-necrosis"
        case boneMarrowEdemaSyndrome = "bone-marrow-edema-syndrome"
    }

    public var kind: Kind {
        switch self {
        case .osteoarthritis: .osteoarthritis
        case .boneMarrowLesion: .boneMarrowLesion
        case .insufficiencyFracture: .insufficiencyFracture
        case .boneBruise: .boneBruise
        case .avascularNecrosis: .avascularNecrosis
        case .boneMarrowEdemaSyndrome: .boneMarrowEdemaSyndrome
        }
    }

    /// Human-readable diagnosis with grades, e.g. "osteoarthritis (KL 3, Ahlbäck III)".
    public var summary: String {
        let name = kind.rawValue.replacingOccurrences(of: "-", with: " ")
        var grades: [String] = []
        switch self {
        case .osteoarthritis(let g):
            if let kl = g.kellgrenLawrence { grades.append("KL \(kl.label)") }
            if let a = g.ahlback { grades.append("Ahlbäck \(a.label)") }
            if let t = g.tonnis { grades.append("Tönnis \(t.label)") }
        case .insufficiencyFracture(let k?), .avascularNecrosis(.koshino(let k)?):
            grades.append("Koshino \(k.label)")
        case .avascularNecrosis(.arco(let a)?):
            grades.append("ARCO \(a.label)")
        case .boneBruise(let date, let months):
            if let date { grades.append("injured \(date)") } else if let months { grades.append("\(months) months since injury") }
        default: break
        }
        return grades.isEmpty ? name : "\(name) (\(grades.joined(separator: ", ")))"
    }

    /// Months since injury for a bone bruise, from the injury date when given.
    public func monthsSinceInjury(asOf date: CalendarDate) -> Int? {
        guard case .boneBruise(let injury, let months) = self else { return nil }
        if let injury {
            var whole = (date.year - injury.year) * 12 + (date.month - injury.month)
            if injury.adding(months: whole) > date { whole -= 1 }
            return max(0, whole)
        }
        return months
    }

    /// Upper limit for a typed "months since injury": beyond 50 years it is a typing error.
    public static let plausibleMonthsSinceInjury = 0...600

    private enum Field: String, CaseIterable {
        case type, kellgrenLawrence, ahlback, tonnis, arco, koshino, injuryDate, monthsSinceInjury
    }

    private static func allowed(for kind: Kind) -> Set<Field> {
        switch kind {
        case .osteoarthritis: [.type, .kellgrenLawrence, .ahlback, .tonnis]
        case .boneMarrowLesion, .boneMarrowEdemaSyndrome: [.type]
        case .insufficiencyFracture: [.type, .koshino]
        case .boneBruise: [.type, .injuryDate, .monthsSinceInjury]
        case .avascularNecrosis: [.type, .arco, .koshino]
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        func key(_ f: Field) -> AnyCodingKey { AnyCodingKey(stringValue: f.rawValue) }
        guard c.contains(key(.type)) else {
            throw FieldValidationError(codingPath: decoder.codingPath + [key(.type)], message: "is required but missing (one of \(Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")))")
        }
        let kind: Kind = try decodeNamedCase(from: try c.superDecoder(forKey: key(.type)), what: "diagnosis type")
        let allowed = Self.allowed(for: kind)
        for present in c.allKeys {
            guard let field = Field(rawValue: present.stringValue) else {
                throw FieldValidationError(codingPath: decoder.codingPath + [present], message: "unknown field \"\(present.stringValue)\"")
            }
            if !allowed.contains(field) {
                throw FieldValidationError(codingPath: decoder.codingPath + [present], message: "does not apply to diagnosis type \"\(kind.rawValue)\"")
            }
        }
        switch kind {
        case .osteoarthritis:
            self = .osteoarthritis(OAGrading(
                kellgrenLawrence: try c.decodeIfPresent(KellgrenLawrenceGrade.self, forKey: key(.kellgrenLawrence)),
                ahlback: try c.decodeIfPresent(AhlbackGrade.self, forKey: key(.ahlback)),
                tonnis: try c.decodeIfPresent(TonnisGrade.self, forKey: key(.tonnis))))
        case .boneMarrowLesion: self = .boneMarrowLesion
        case .boneMarrowEdemaSyndrome: self = .boneMarrowEdemaSyndrome
        case .insufficiencyFracture:
            self = .insufficiencyFracture(koshino: try c.decodeIfPresent(KoshinoStage.self, forKey: key(.koshino)))
        case .boneBruise:
            let months = try c.decodeIfPresent(Int.self, forKey: key(.monthsSinceInjury))
            if let months, !Self.plausibleMonthsSinceInjury.contains(months) {
                throw FieldValidationError(codingPath: decoder.codingPath + [key(.monthsSinceInjury)],
                                           message: "\(months) is outside the plausible range 0–600 months")
            }
            self = .boneBruise(injuryDate: try c.decodeIfPresent(CalendarDate.self, forKey: key(.injuryDate)), monthsSinceInjury: months)
        case .avascularNecrosis:
            let arco = try c.decodeIfPresent(ARCOStage.self, forKey: key(.arco))
            let koshino = try c.decodeIfPresent(KoshinoStage.self, forKey: key(.koshino))
            if arco != nil, koshino != nil {
                throw FieldValidationError(codingPath: decoder.codingPath + [key(.koshino)], message: "give either an ARCO or a Koshino stage, not both")
            }
            self = .avascularNecrosis(arco.map(AVNStaging.arco) ?? koshino.map(AVNStaging.koshino))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        func key(_ f: Field) -> AnyCodingKey { AnyCodingKey(stringValue: f.rawValue) }
        try c.encode(kind.rawValue, forKey: key(.type))
        switch self {
        case .osteoarthritis(let g):
            try c.encodeIfPresent(g.kellgrenLawrence, forKey: key(.kellgrenLawrence))
            try c.encodeIfPresent(g.ahlback, forKey: key(.ahlback))
            try c.encodeIfPresent(g.tonnis, forKey: key(.tonnis))
        case .insufficiencyFracture(let k):
            try c.encodeIfPresent(k, forKey: key(.koshino))
        case .boneBruise(let date, let months):
            try c.encodeIfPresent(date, forKey: key(.injuryDate))
            try c.encodeIfPresent(months, forKey: key(.monthsSinceInjury))
        case .avascularNecrosis(let staging):
            switch staging {
            case .arco(let s): try c.encode(s, forKey: key(.arco))
            case .koshino(let s): try c.encode(s, forKey: key(.koshino))
            case nil: break
            }
        case .boneMarrowLesion, .boneMarrowEdemaSyndrome: break
        }
    }

    /// Checks grading systems against the joint (Ahlbäck is a knee scale, Tönnis and ARCO hip scales).
    public func validate(joint: Joint, at path: String) throws(FieldValidationError) {
        switch self {
        case .osteoarthritis(let g):
            if g.ahlback != nil, joint != .knee {
                throw FieldValidationError(path: FieldPath.join(path, "ahlback"), message: "Ahlbäck grading is for the knee, not the \(joint.rawValue)")
            }
            if g.tonnis != nil, joint != .hip {
                throw FieldValidationError(path: FieldPath.join(path, "tonnis"), message: "Tönnis grading is for the hip, not the \(joint.rawValue)")
            }
        case .avascularNecrosis(.koshino?), .insufficiencyFracture(koshino: .some):
            if joint != .knee {
                throw FieldValidationError(path: FieldPath.join(path, "koshino"), message: "Koshino staging is for the knee, not the \(joint.rawValue)")
            }
        default: break
        }
    }
}
