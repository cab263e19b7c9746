import Foundation

/// The value of a named screening parameter, as rules see it.
public enum ParameterValue: Sendable, Hashable {
    case number(Double)
    case text(String)
    case flag(Bool)
    case date(CalendarDate)
    case list([String])

    /// How the value reads in a rule's reason text.
    public var display: String {
        switch self {
        case .number(let n): Self.formatNumber(n)
        case .text(let s): s
        case .flag(let b): b ? "yes" : "no"
        case .date(let d): d.iso
        case .list(let items): items.isEmpty ? "none" : items.joined(separator: ", ")
        }
    }

    static func formatNumber(_ n: Double) -> String {
        if n == n.rounded(), abs(n) < 1e12 { return String(Int(n)) }
        var s = String(format: "%.2f", n)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }
}

/// Type of a screening parameter; comparators are checked against it when a ruleset is loaded.
public enum ParameterType: String, Sendable, Codable {
    case number, text, flag, date, list
}

/// A parameter rules may refer to by name, e.g. `labs.platelets`.
public struct ScreeningParameter: Sendable, Hashable {
    public let name: String
    public let type: ParameterType
    public let description: String
    /// For text and list parameters: the values it can take (checked in `==` / `in` rules).
    public let allowedValues: [String]?
}

/// The catalogue of parameters and their extraction from a `ScreeningInput`.
///
/// This is the vocabulary of the ruleset language: rules name these parameters and nothing else,
/// so a clinic's ruleset is checked against this list when it is loaded. A parameter that the input
/// does not record is *missing*; every comparator except `missing` is false on a missing value.
public enum ScreeningParameters {
    private static func p(_ name: String, _ type: ParameterType, _ description: String, _ allowed: [String]? = nil) -> ScreeningParameter {
        ScreeningParameter(name: name, type: type, description: description, allowedValues: allowed)
    }

    private static func names<E: RawRepresentable & CaseIterable>(_: E.Type) -> [String] where E.RawValue == String {
        E.allCases.map(\.rawValue)
    }

    /// Every parameter, in documentation order.
    public static let catalogue: [ScreeningParameter] = [
        p("joint", .text, "treated joint", names(Joint.self)),
        p("side", .text, "left or right", names(Side.self)),
        p("age", .number, "age in years"),
        p("diagnosis.type", .text, "diagnosis category", names(Diagnosis.Kind.self)),
        p("diagnosis.summary", .text, "diagnosis with its grades as clinicians write them (for reason texts)"),
        p("diagnosis.kellgrenLawrence", .number, "Kellgren–Lawrence grade 0–4"),
        p("diagnosis.ahlback", .number, "Ahlbäck grade as a number 1–5 (I–V)"),
        p("diagnosis.tonnis", .number, "Tönnis grade 0–3"),
        p("diagnosis.arco", .text, "ARCO stage", ARCOStage.allCases.map(\.label)),
        p("diagnosis.koshino", .number, "Koshino stage 1–4"),
        p("diagnosis.monthsSinceInjury", .number, "whole months since the injury (bone bruise)"),
        p("mri.date", .date, "date of the most recent MRI"),
        p("mri.bml.present", .flag, "any BML of size grade ≥ 1"),
        p("mri.bml.maxGrade", .number, "largest MOAKS BML size grade"),
        p("mri.bml.burden", .number, "sum of BML size grades"),
        p("mri.bml.subregionsInvolved", .number, "subregions with size grade ≥ 1"),
        p("mri.bml.subregionsGrade2OrMore", .number, "subregions with size grade ≥ 2"),
        p("mri.bml.compartments", .list, "compartments with BML", names(Compartment.self)),
        p("mri.bml.subregions", .list, "subregions with BML", names(BMLSubregion.self)),
        p("mri.bml.boneTargets", .number, "distinct bone targets from BML at or above the planning grade"),
        p("mri.focalCartilageLesion", .flag, "a focal cartilage lesion is reported"),
        p("mri.insufficiencyFracture", .flag, "an insufficiency-fracture line is reported"),
        p("mri.avn", .flag, "an osteonecrotic lesion is reported"),
        p("mri.avn.collapse", .flag, "subchondral collapse of an osteonecrotic lesion"),
        p("mri.suspectedTumourOrInfection", .flag, "radiologist suspects tumour or osteomyelitis"),
        p("pain.concordance", .text, "pain location matches MRI lesions", names(PainConcordance.self)),
        p("pain.nrs", .number, "average pain 0–10"),
        p("treatments.tried", .list, "treatments tried", names(PriorTreatment.self)),
        p("treatments.failed", .list, "treatments tried that failed", names(PriorTreatment.self)),
        p("wishesToAvoidReplacement", .flag, "patient wishes to avoid or postpone joint replacement"),
        p("surgery.candidate", .flag, "patient is a candidate for joint replacement"),
        p("surgery.reasonNot", .text, "why the patient is not a surgical candidate"),
        p("activity.tegner", .number, "Tegner activity level 0–10"),
        p("activity.ucla", .number, "UCLA activity level 1–10"),
        p("bmi", .number, "body-mass index kg/m² (given or from height and weight)"),
        p("alignment.varusDegrees", .number, "varus deformity in degrees"),
        p("alignment.valgusDegrees", .number, "valgus deformity in degrees"),
        p("comorbidities", .list, "comorbidities", names(Comorbidity.self)),
        p("medications.anticoagulant", .flag, "takes an anticoagulant"),
        p("medications.antiplatelet", .flag, "takes an antiplatelet drug"),
        p("medications.immunosuppressant", .flag, "takes an immunosuppressant"),
        p("medications.nsaidCurrent", .flag, "takes NSAIDs regularly"),
        p("medications.nsaidLastDose", .date, "last NSAID dose"),
        p("medications.systemicSteroidLastDose", .date, "last systemic corticosteroid dose"),
        p("medications.iaSteroidLastDate", .date, "last intra-articular corticosteroid injection"),
        p("medications.iaHyaluronicAcidLastDate", .date, "last intra-articular hyaluronic acid injection"),
        p("labs.platelets", .number, "platelets ×10⁹/L"),
        p("labs.haemoglobin", .number, "haemoglobin g/dL"),
        p("labs.hba1c", .number, "HbA1c %"),
        p("labs.date", .date, "date of the labs"),
        p("infection.systemic", .flag, "systemic infection, sepsis or fever"),
        p("infection.localSkin", .flag, "skin lesion or infection at the injection or harvest site"),
        p("malignancy", .text, "malignancy", names(MalignancyType.self)),
        p("pregnantOrBreastfeeding", .flag, "pregnant or breastfeeding"),
        p("lastArthroscopyDate", .date, "last arthroscopy of the joint"),
        p("evaluationDate", .date, "date of the screening"),
    ]

    /// Catalogue by name.
    public static let byName: [String: ScreeningParameter] = Dictionary(uniqueKeysWithValues: catalogue.map { ($0.name, $0) })

    /// Extracts every recorded parameter from an input. `targetMinimumGrade` is the planning BML grade
    /// at which a subregion becomes a bone target (ruleset data).
    public static func extract(from input: ScreeningInput, targetMinimumGrade: Int) -> [String: ParameterValue] {
        var v: [String: ParameterValue] = [:]
        func num(_ name: String, _ value: Double?) { if let value { v[name] = .number(value) } }
        func int(_ name: String, _ value: Int?) { if let value { v[name] = .number(Double(value)) } }
        func flag(_ name: String, _ value: Bool?) { if let value { v[name] = .flag(value) } }
        func date(_ name: String, _ value: CalendarDate?) { if let value { v[name] = .date(value) } }

        v["joint"] = .text(input.joint.rawValue)
        v["side"] = .text(input.side.rawValue)
        v["evaluationDate"] = .date(input.evaluationDate)
        int("age", input.age)
        v["diagnosis.type"] = .text(input.diagnosis.kind.rawValue)
        v["diagnosis.summary"] = .text(input.diagnosis.summary)
        switch input.diagnosis {
        case .osteoarthritis(let g):
            int("diagnosis.kellgrenLawrence", g.kellgrenLawrence?.ordinal)
            int("diagnosis.ahlback", g.ahlback?.ordinal)
            int("diagnosis.tonnis", g.tonnis?.ordinal)
        case .insufficiencyFracture(let k):
            int("diagnosis.koshino", k?.ordinal)
        case .avascularNecrosis(.arco(let s)?):
            v["diagnosis.arco"] = .text(s.label)
        case .avascularNecrosis(.koshino(let s)?):
            int("diagnosis.koshino", s.ordinal)
        case .boneBruise:
            int("diagnosis.monthsSinceInjury", input.diagnosis.monthsSinceInjury(asOf: input.evaluationDate))
        default: break
        }

        if let mri = input.mri {
            let s = mri.bmlSummary
            date("mri.date", mri.date)
            flag("mri.bml.present", s.maxGrade >= 1)
            int("mri.bml.maxGrade", s.maxGrade)
            int("mri.bml.burden", s.burden)
            int("mri.bml.subregionsInvolved", s.subregionsInvolved)
            int("mri.bml.subregionsGrade2OrMore", s.subregionsGrade2OrMore)
            v["mri.bml.compartments"] = .list(s.compartments.map(\.rawValue))
            v["mri.bml.subregions"] = .list(mri.bml.filter { $0.size >= .small }.map(\.subregion).sorted().map(\.rawValue))
            int("mri.bml.boneTargets", Set(mri.bml.filter { $0.size.rawValue >= targetMinimumGrade }.map(\.subregion.boneTarget)).count)
            flag("mri.focalCartilageLesion", !(mri.focalCartilageLesions ?? []).isEmpty)
            flag("mri.insufficiencyFracture", mri.insufficiencyFracture != nil)
            flag("mri.avn", mri.avn != nil)
            if let avn = mri.avn { flag("mri.avn.collapse", avn.collapse ?? false) }
            flag("mri.suspectedTumourOrInfection", mri.suspectedTumourOrInfection ?? false)
        }
        if let c = input.painConcordance { v["pain.concordance"] = .text(c.rawValue) }
        num("pain.nrs", input.painNRS)
        if let tried = input.treatmentsTried {
            v["treatments.tried"] = .list(tried.map(\.treatment.rawValue))
            v["treatments.failed"] = .list(tried.filter { $0.response == .failed }.map(\.treatment.rawValue))
        }
        flag("wishesToAvoidReplacement", input.wishesToAvoidReplacement)
        if let s = input.surgicalCandidacy {
            flag("surgery.candidate", s.candidate)
            if let r = s.reasonNot { v["surgery.reasonNot"] = .text(r) }
        }
        int("activity.tegner", input.activity?.tegner)
        int("activity.ucla", input.activity?.ucla)
        num("bmi", input.effectiveBMI.map { ($0 * 10).rounded() / 10 })
        num("alignment.varusDegrees", input.alignment?.varusDegrees)
        num("alignment.valgusDegrees", input.alignment?.valgusDegrees)
        if let c = input.comorbidities { v["comorbidities"] = .list(c.map(\.rawValue)) }
        if let m = input.medications {
            flag("medications.anticoagulant", m.anticoagulant)
            flag("medications.antiplatelet", m.antiplatelet)
            flag("medications.immunosuppressant", m.immunosuppressant)
            flag("medications.nsaidCurrent", m.nsaidCurrent)
            date("medications.nsaidLastDose", m.nsaidLastDose)
            date("medications.systemicSteroidLastDose", m.systemicSteroidLastDose)
            date("medications.iaSteroidLastDate", m.iaSteroidLastDate)
            date("medications.iaHyaluronicAcidLastDate", m.iaHyaluronicAcidLastDate)
        }
        if let l = input.labs {
            num("labs.platelets", l.platelets)
            num("labs.haemoglobin", l.haemoglobin)
            num("labs.hba1c", l.hba1c)
            date("labs.date", l.date)
        }
        flag("infection.systemic", input.infection?.systemic)
        flag("infection.localSkin", input.infection?.localSkin)
        if let m = input.malignancy { v["malignancy"] = .text(m.rawValue) }
        flag("pregnantOrBreastfeeding", input.pregnantOrBreastfeeding)
        date("lastArthroscopyDate", input.lastArthroscopyDate)
        return v
    }
}
