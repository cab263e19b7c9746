import Foundation

/// Where the procedure is done.
public enum ProcedureSetting: String, Sendable, Codable, CaseIterable {
    case office
    case surgeryCentre = "surgery-centre"
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "setting") }
}

/// Anaesthesia for the procedure.
public enum Anaesthesia: String, Sendable, Codable, CaseIterable {
    case local
    case localWithNitrous = "local-nitrous"
    case twilightSedation = "twilight-sedation"
    case general
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "anaesthesia") }
}

/// Imaging guidance.
public enum Guidance: String, Sendable, Codable, CaseIterable {
    case fluoroscopy, ultrasound
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "guidance") }
}

/// Leukocyte content of PRP.
public enum LeukocyteContent: String, Sendable, Codable, CaseIterable {
    case rich = "leukocyte-rich"
    case poor = "leukocyte-poor"
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "leukocyte content") }
}

/// PRP activation.
public enum PRPActivation: String, Sendable, Codable, CaseIterable {
    case none
    case calciumChloride = "calcium-chloride"
    case thrombin
    case other
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "activation") }
}

/// Platelet-rich plasma characterisation (system, volumes, platelet and leukocyte content, activation).
public struct PRPDetails: Sendable, Hashable, Codable {
    public var system: String?
    public var bloodDrawnMl: Double?
    public var finalVolumeMl: Double?
    /// Platelets ×10⁹/L in the product.
    public var plateletConcentration: Double?
    /// Platelet concentration over whole blood.
    public var foldOverWholeBlood: Double?
    public var leukocytes: LeukocyteContent?
    public var activation: PRPActivation?

    public init(system: String? = nil, bloodDrawnMl: Double? = nil, finalVolumeMl: Double? = nil, plateletConcentration: Double? = nil,
                foldOverWholeBlood: Double? = nil, leukocytes: LeukocyteContent? = nil, activation: PRPActivation? = nil) {
        self.system = system
        self.bloodDrawnMl = bloodDrawnMl
        self.finalVolumeMl = finalVolumeMl
        self.plateletConcentration = plateletConcentration
        self.foldOverWholeBlood = foldOverWholeBlood
        self.leukocytes = leukocytes
        self.activation = activation
    }

    func validate(at path: String) throws(FieldValidationError) {
        try PlausibleRanges.bloodDrawnMl.check(bloodDrawnMl, at: FieldPath.join(path, "bloodDrawnMl"))
        try PlausibleRanges.prpFinalVolumeMl.check(finalVolumeMl, at: FieldPath.join(path, "finalVolumeMl"))
        try PlausibleRanges.plateletConcentration.check(plateletConcentration, at: FieldPath.join(path, "plateletConcentration"))
        try PlausibleRanges.plateletFold.check(foldOverWholeBlood, at: FieldPath.join(path, "foldOverWholeBlood"))
        if let drawn = bloodDrawnMl, let final = finalVolumeMl, final > drawn {
            throw FieldValidationError(path: FieldPath.join(path, "finalVolumeMl"), message: "\(PlausibleRange.format(final)) mL is more than the \(PlausibleRange.format(drawn)) mL of blood drawn")
        }
    }
}

/// Bone marrow harvest site.
public enum HarvestSite: String, Sendable, Codable, CaseIterable {
    case posteriorIliacCrest = "posterior-iliac-crest"
    case anteriorIliacCrest = "anterior-iliac-crest"
    case proximalTibia = "proximal-tibia"
    case distalFemur = "distal-femur"
    case calcaneus
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "harvest site") }
}

/// Bone marrow concentrate characterisation (harvest, volumes, nucleated cells, CFU-F as in Hernigou 2018).
public struct BMCDetails: Sendable, Hashable, Codable {
    public var harvestSite: HarvestSite
    public var aspirateVolumeMl: Double?
    public var concentrateVolumeMl: Double?
    /// Nucleated cells ×10⁶ per mL of concentrate.
    public var nucleatedCellsPerMl: Double?
    /// Colony-forming units (fibroblast) per mL, when measured.
    public var cfuFPerMl: Double?

    public init(harvestSite: HarvestSite, aspirateVolumeMl: Double? = nil, concentrateVolumeMl: Double? = nil,
                nucleatedCellsPerMl: Double? = nil, cfuFPerMl: Double? = nil) {
        self.harvestSite = harvestSite
        self.aspirateVolumeMl = aspirateVolumeMl
        self.concentrateVolumeMl = concentrateVolumeMl
        self.nucleatedCellsPerMl = nucleatedCellsPerMl
        self.cfuFPerMl = cfuFPerMl
    }

    func validate(at path: String) throws(FieldValidationError) {
        try PlausibleRanges.aspirateVolumeMl.check(aspirateVolumeMl, at: FieldPath.join(path, "aspirateVolumeMl"))
        try PlausibleRanges.concentrateVolumeMl.check(concentrateVolumeMl, at: FieldPath.join(path, "concentrateVolumeMl"))
        try PlausibleRanges.nucleatedCellsPerMl.check(nucleatedCellsPerMl, at: FieldPath.join(path, "nucleatedCellsPerMl"))
        try PlausibleRanges.cfuFPerMl.check(cfuFPerMl, at: FieldPath.join(path, "cfuFPerMl"))
        if let a = aspirateVolumeMl, let c = concentrateVolumeMl, c > a {
            throw FieldValidationError(path: FieldPath.join(path, "concentrateVolumeMl"), message: "\(PlausibleRange.format(c)) mL is more than the \(PlausibleRange.format(a)) mL aspirated")
        }
    }
}

/// Injected product.
public enum InjectedProduct: String, Sendable, Codable, CaseIterable {
    case prp, bmc
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "product") }
}

/// Where one injection went: a bone (with the MOAKS subregion when known) or the joint space.
public enum InjectionTarget: Sendable, Hashable, Codable {
    case bone(BoneTarget, subregion: BMLSubregion?)
    case intraArticular

    private enum CodingKeys: String, CodingKey { case kind, bone, subregion }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "intra-articular":
            if c.contains(.bone) || c.contains(.subregion) {
                throw FieldValidationError(codingPath: c.codingPath + [CodingKeys.bone], message: "an intra-articular target has no bone")
            }
            self = .intraArticular
        case "bone":
            self = .bone(try c.decode(BoneTarget.self, forKey: .bone), subregion: try c.decodeIfPresent(BMLSubregion.self, forKey: .subregion))
        default:
            throw FieldValidationError(codingPath: c.codingPath + [CodingKeys.kind], message: "\"\(kind)\" is not a target kind (\"bone\" or \"intra-articular\")")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .intraArticular: try c.encode("intra-articular", forKey: .kind)
        case .bone(let bone, let sub):
            try c.encode("bone", forKey: .kind)
            try c.encode(bone, forKey: .bone)
            try c.encodeIfPresent(sub, forKey: .subregion)
        }
    }
}

/// One injection in a procedure.
public struct Injection: Sendable, Hashable, Codable {
    public var target: InjectionTarget
    public var product: InjectedProduct
    /// Free text, e.g. "anteromedial", "lateral patellar".
    public var approach: String?
    /// Needle or trocar gauge.
    public var gauge: Int?
    public var volumeMl: Double

    public init(target: InjectionTarget, product: InjectedProduct, approach: String? = nil, gauge: Int? = nil, volumeMl: Double) {
        self.target = target
        self.product = product
        self.approach = approach
        self.gauge = gauge
        self.volumeMl = volumeMl
    }
}

/// Severity of an adverse event or complication (CTCAE-style grades 1–5).
/// How likely an adverse event was caused by the procedure (WHO-UMC causality categories, simplified).
public enum AdverseEventRelatedness: String, Sendable, Codable, CaseIterable {
    case unrelated, unlikely, possible, probable, definite
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "relatedness") }
}

public enum AdverseEventSeverity: String, Sendable, Codable, CaseIterable, Comparable {
    case mild, moderate, severe
    case lifeThreatening = "life-threatening"
    case fatal
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "severity") }
    public static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// Intra-procedure complication.
public struct Complication: Sendable, Hashable, Codable {
    public var description: String
    public var severity: AdverseEventSeverity
    public init(description: String, severity: AdverseEventSeverity) {
        self.description = description
        self.severity = severity
    }
}

/// A clinician's signature on a record.
public struct Signature: Sendable, Hashable, Codable {
    public var signedBy: String
    public var date: CalendarDate
    public init(signedBy: String, date: CalendarDate) {
        self.signedBy = signedBy
        self.date = date
    }
}

/// The planned IO procedure, derived from screening targets.
public struct ProcedurePlan: Sendable, Hashable, Codable {
    public var setting: ProcedureSetting
    public var anaesthesia: Anaesthesia
    public var product: [InjectedProduct]
    public var injections: [Injection]
    public init(setting: ProcedureSetting, anaesthesia: Anaesthesia, product: [InjectedProduct], injections: [Injection]) {
        self.setting = setting
        self.anaesthesia = anaesthesia
        self.product = product
        self.injections = injections
    }
}

/// The record of an IO procedure: setting, anaesthesia, guidance, product, per-site injections, signature.
public struct ProcedureRecord: Sendable, Hashable, Codable {
    public var date: CalendarDate
    public var setting: ProcedureSetting
    public var anaesthesia: Anaesthesia
    public var guidance: [Guidance]
    public var fluoroscopySeconds: Double?
    /// Dose-area product, mGy·cm².
    public var doseAreaProduct: Double?
    public var prp: PRPDetails?
    public var bmc: BMCDetails?
    public var injections: [Injection]
    public var complications: [Complication]
    public var dischargeInstructions: String?
    public var operator_: String
    public var signature: Signature?

    private enum CodingKeys: String, CodingKey {
        case date, setting, anaesthesia, guidance, fluoroscopySeconds, doseAreaProduct, prp, bmc, injections,
             complications, dischargeInstructions, signature
        case operator_ = "operator"
    }

    public init(date: CalendarDate, setting: ProcedureSetting, anaesthesia: Anaesthesia, guidance: [Guidance],
                fluoroscopySeconds: Double? = nil, doseAreaProduct: Double? = nil, prp: PRPDetails? = nil, bmc: BMCDetails? = nil,
                injections: [Injection], complications: [Complication] = [], dischargeInstructions: String? = nil,
                operator_: String, signature: Signature? = nil) {
        self.date = date
        self.setting = setting
        self.anaesthesia = anaesthesia
        self.guidance = guidance
        self.fluoroscopySeconds = fluoroscopySeconds
        self.doseAreaProduct = doseAreaProduct
        self.prp = prp
        self.bmc = bmc
        self.injections = injections
        self.complications = complications
        self.dischargeInstructions = dischargeInstructions
        self.operator_ = operator_
        self.signature = signature
    }

    /// Rejects impossible values, naming the field path (e.g. `injections[1].volumeMl`).
    public func validate(at path: String = "") throws(FieldValidationError) {
        try PlausibleRanges.fluoroscopySeconds.check(fluoroscopySeconds, at: FieldPath.join(path, "fluoroscopySeconds"))
        try PlausibleRanges.doseAreaProduct.check(doseAreaProduct, at: FieldPath.join(path, "doseAreaProduct"))
        if (fluoroscopySeconds != nil || doseAreaProduct != nil), !guidance.contains(.fluoroscopy) {
            throw FieldValidationError(path: FieldPath.join(path, "fluoroscopySeconds"), message: "fluoroscopy time recorded but guidance does not include fluoroscopy")
        }
        try prp?.validate(at: FieldPath.join(path, "prp"))
        try bmc?.validate(at: FieldPath.join(path, "bmc"))
        if injections.isEmpty {
            throw FieldValidationError(path: FieldPath.join(path, "injections"), message: "a procedure needs at least one injection")
        }
        for (i, injection) in injections.enumerated() {
            let here = FieldPath.index(FieldPath.join(path, "injections"), i)
            try PlausibleRanges.injectionVolumeMl.check(injection.volumeMl, at: FieldPath.join(here, "volumeMl"))
            try PlausibleRanges.gaugeG.check(injection.gauge, at: FieldPath.join(here, "gauge"))
            if injection.product == .prp, prp == nil {
                throw FieldValidationError(path: FieldPath.join(here, "product"), message: "PRP injected but no PRP details recorded")
            }
            if injection.product == .bmc, bmc == nil {
                throw FieldValidationError(path: FieldPath.join(here, "product"), message: "BMC injected but no BMC details recorded")
            }
        }
        if let final = prp?.finalVolumeMl {
            let used = injections.filter { $0.product == .prp }.reduce(0) { $0 + $1.volumeMl }
            if used > final + 1e-9 {
                throw FieldValidationError(path: FieldPath.join(path, "injections"), message: "\(PlausibleRange.format(used)) mL of PRP injected but only \(PlausibleRange.format(final)) mL prepared")
            }
        }
        if operator_.trimmingCharacters(in: .whitespaces).isEmpty {
            throw FieldValidationError(path: FieldPath.join(path, "operator"), message: "is required")
        }
        if let signature, signature.date < date {
            throw FieldValidationError(path: FieldPath.join(path, "signature.date"), message: "\(signature.date) is before the procedure date \(date)")
        }
    }
}
