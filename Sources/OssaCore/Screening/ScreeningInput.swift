import Foundation

/// Agreement between where it hurts and where the MRI lesions are.
public enum PainConcordance: String, Sendable, Codable, CaseIterable {
    case concordant, partial, discordant, unknown
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "concordance") }
}

/// Treatments tried (and failed) before IO therapy.
public enum PriorTreatment: String, Sendable, Codable, CaseIterable {
    case exercise
    case physiotherapy
    case weightLoss = "weight-loss"
    case nsaid
    case iaSteroid = "ia-steroid"
    case hyaluronicAcid = "hyaluronic-acid"
    case iaPRP = "ia-prp"
    case bracing
    case other
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "treatment") }
}

/// Outcome of a tried treatment.
public enum TreatmentResponse: String, Sendable, Codable, CaseIterable {
    case failed, partial, helped
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "treatment response") }
}

/// One treatment tried, with how long.
public struct TreatmentTried: Sendable, Hashable, Codable {
    public var treatment: PriorTreatment
    public var durationWeeks: Double?
    public var response: TreatmentResponse?
    public init(treatment: PriorTreatment, durationWeeks: Double? = nil, response: TreatmentResponse? = nil) {
        self.treatment = treatment
        self.durationWeeks = durationWeeks
        self.response = response
    }
}

/// Whether the patient is a candidate for joint replacement, and if not why.
public struct SurgicalCandidacy: Sendable, Hashable, Codable {
    public var candidate: Bool
    /// e.g. "too young", "medical comorbidity", "declines surgery".
    public var reasonNot: String?
    public init(candidate: Bool, reasonNot: String? = nil) {
        self.candidate = candidate
        self.reasonNot = reasonNot
    }
}

/// Activity level: Tegner 0–10 (knee) and/or UCLA 1–10 (Tegner & Lysholm 1985; Zahiri et al. 1998).
public struct ActivityLevel: Sendable, Hashable, Codable {
    public var tegner: Int?
    public var ucla: Int?
    public init(tegner: Int? = nil, ucla: Int? = nil) {
        self.tegner = tegner
        self.ucla = ucla
    }
}

/// Comorbidities that screening rules look at.
public enum Comorbidity: String, Sendable, Codable, CaseIterable {
    case diabetes
    case inflammatoryArthritis = "inflammatory-arthritis"
    case autoimmuneDisease = "autoimmune-disease"
    case polyarticularDisease = "polyarticular-disease"
    case bleedingDisorder = "bleeding-disorder"
    case osteoporosis
    case pelvicRadiation = "pelvic-radiation"
    case cardiovascular
    case other
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "comorbidity") }
}

/// Current medications and the dates of injections that need a washout.
public struct Medications: Sendable, Hashable, Codable {
    /// Any oral anticoagulant (warfarin, DOAC) or heparin.
    public var anticoagulant: Bool?
    public var antiplatelet: Bool?
    public var immunosuppressant: Bool?
    /// Currently taking NSAIDs (regularly).
    public var nsaidCurrent: Bool?
    public var nsaidLastDose: CalendarDate?
    public var systemicSteroidLastDose: CalendarDate?
    public var iaSteroidLastDate: CalendarDate?
    public var iaHyaluronicAcidLastDate: CalendarDate?

    public init(anticoagulant: Bool? = nil, antiplatelet: Bool? = nil, immunosuppressant: Bool? = nil, nsaidCurrent: Bool? = nil,
                nsaidLastDose: CalendarDate? = nil, systemicSteroidLastDose: CalendarDate? = nil,
                iaSteroidLastDate: CalendarDate? = nil, iaHyaluronicAcidLastDate: CalendarDate? = nil) {
        self.anticoagulant = anticoagulant
        self.antiplatelet = antiplatelet
        self.immunosuppressant = immunosuppressant
        self.nsaidCurrent = nsaidCurrent
        self.nsaidLastDose = nsaidLastDose
        self.systemicSteroidLastDose = systemicSteroidLastDose
        self.iaSteroidLastDate = iaSteroidLastDate
        self.iaHyaluronicAcidLastDate = iaHyaluronicAcidLastDate
    }
}

/// Laboratory values in the units the rules use.
public struct Labs: Sendable, Hashable, Codable {
    /// Platelets ×10⁹/L (= ×1000/mm³).
    public var platelets: Double?
    /// Haemoglobin g/dL.
    public var haemoglobin: Double?
    /// HbA1c %.
    public var hba1c: Double?
    public var date: CalendarDate?
    public init(platelets: Double? = nil, haemoglobin: Double? = nil, hba1c: Double? = nil, date: CalendarDate? = nil) {
        self.platelets = platelets
        self.haemoglobin = haemoglobin
        self.hba1c = hba1c
        self.date = date
    }
}

/// Infection status.
public struct InfectionStatus: Sendable, Hashable, Codable {
    /// Systemic infection, sepsis or fever.
    public var systemic: Bool?
    /// Skin lesion or infection at the injection or harvest site.
    public var localSkin: Bool?
    public init(systemic: Bool? = nil, localSkin: Bool? = nil) {
        self.systemic = systemic
        self.localSkin = localSkin
    }
}

/// Malignancy type relevant to IO access and PRP.
public enum MalignancyType: String, Sendable, Codable, CaseIterable {
    case none
    case bone
    case haematological
    case solidActive = "solid-active"
    case solidHistory = "solid-history"
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "malignancy type") }
}

/// Knee alignment from a long-leg film.
public struct Alignment: Sendable, Hashable, Codable {
    public var varusDegrees: Double?
    public var valgusDegrees: Double?
    public init(varusDegrees: Double? = nil, valgusDegrees: Double? = nil) {
        self.varusDegrees = varusDegrees
        self.valgusDegrees = valgusDegrees
    }
}

/// Everything the candidacy screen looks at: the JSON of `ossa screen --input`.
///
/// Only `evaluationDate`, `joint`, `side` and `diagnosis` are required; everything else may be
/// left out, and rules treat a missing value as "not recorded" (see `ScreeningParameters`).
/// Unknown keys are rejected so a misspelt field cannot silently disable a rule.
public struct ScreeningInput: Sendable, Hashable, Codable {
    public var evaluationDate: CalendarDate
    public var joint: Joint
    public var side: Side
    public var diagnosis: Diagnosis
    /// The most recent MRI of the joint.
    public var mri: MRIStudy?
    public var painConcordance: PainConcordance?
    /// Average pain, 0–10.
    public var painNRS: Double?
    public var treatmentsTried: [TreatmentTried]?
    public var wishesToAvoidReplacement: Bool?
    public var surgicalCandidacy: SurgicalCandidacy?
    public var age: Int?
    public var activity: ActivityLevel?
    public var heightCm: Double?
    public var weightKg: Double?
    /// Given directly, or computed from height and weight.
    public var bmi: Double?
    public var alignment: Alignment?
    public var comorbidities: [Comorbidity]?
    public var medications: Medications?
    public var labs: Labs?
    public var infection: InfectionStatus?
    public var malignancy: MalignancyType?
    public var pregnantOrBreastfeeding: Bool?
    public var lastArthroscopyDate: CalendarDate?

    public init(evaluationDate: CalendarDate, joint: Joint, side: Side, diagnosis: Diagnosis, mri: MRIStudy? = nil,
                painConcordance: PainConcordance? = nil, painNRS: Double? = nil, treatmentsTried: [TreatmentTried]? = nil,
                wishesToAvoidReplacement: Bool? = nil, surgicalCandidacy: SurgicalCandidacy? = nil, age: Int? = nil,
                activity: ActivityLevel? = nil, heightCm: Double? = nil, weightKg: Double? = nil, bmi: Double? = nil,
                alignment: Alignment? = nil, comorbidities: [Comorbidity]? = nil, medications: Medications? = nil, labs: Labs? = nil,
                infection: InfectionStatus? = nil, malignancy: MalignancyType? = nil, pregnantOrBreastfeeding: Bool? = nil,
                lastArthroscopyDate: CalendarDate? = nil) {
        self.evaluationDate = evaluationDate
        self.joint = joint
        self.side = side
        self.diagnosis = diagnosis
        self.mri = mri
        self.painConcordance = painConcordance
        self.painNRS = painNRS
        self.treatmentsTried = treatmentsTried
        self.wishesToAvoidReplacement = wishesToAvoidReplacement
        self.surgicalCandidacy = surgicalCandidacy
        self.age = age
        self.activity = activity
        self.heightCm = heightCm
        self.weightKg = weightKg
        self.bmi = bmi
        self.alignment = alignment
        self.comorbidities = comorbidities
        self.medications = medications
        self.labs = labs
        self.infection = infection
        self.malignancy = malignancy
        self.pregnantOrBreastfeeding = pregnantOrBreastfeeding
        self.lastArthroscopyDate = lastArthroscopyDate
    }

    private enum Key: String, CaseIterable {
        case evaluationDate, joint, side, diagnosis, mri, painConcordance, painNRS, treatmentsTried, wishesToAvoidReplacement
        case surgicalCandidacy, age, activity, heightCm, weightKg, bmi, alignment, comorbidities, medications, labs, infection
        case malignancy, pregnantOrBreastfeeding, lastArthroscopyDate
    }

    /// Reads every field on its own, so that a body with several problems reports them all at once (as
    /// `FieldValidationError.more`): unknown fields, missing required ones, values of the wrong kind, and the range
    /// checks that need no other field (age, pain, height, labs…).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        var problems: [FieldValidationError] = []
        for key in c.allKeys where Key(rawValue: key.stringValue) == nil {
            problems.append(FieldValidationError(codingPath: decoder.codingPath + [key], message: "unknown field \"\(key.stringValue)\""))
        }
        func field<T: Decodable>(_ type: T.Type, _ key: Key, required: Bool = false) -> T? {
            let codingKey = AnyCodingKey(stringValue: key.rawValue)
            do {
                if required, !c.contains(codingKey) {
                    problems.append(FieldValidationError(codingPath: decoder.codingPath + [codingKey], message: "is required but missing"))
                    return nil
                }
                let value = try c.decodeIfPresent(T.self, forKey: codingKey)
                if required, value == nil {
                    problems.append(FieldValidationError(codingPath: decoder.codingPath + [codingKey], message: "is required; it must not be null"))
                }
                return value
            } catch {
                problems.append(FieldValidationError.from(error))
                return nil
            }
        }
        let evaluationDate = field(CalendarDate.self, .evaluationDate, required: true)
        let joint = field(Joint.self, .joint, required: true)
        let side = field(Side.self, .side, required: true)
        let diagnosis = field(Diagnosis.self, .diagnosis, required: true)
        let input = ScreeningInput(
            // Placeholders stand in for required fields that failed; the input is only returned when none did.
            evaluationDate: evaluationDate ?? CalendarDate(dayNumber: 0), joint: joint ?? .knee, side: side ?? .left,
            diagnosis: diagnosis ?? .boneMarrowLesion, mri: field(MRIStudy.self, .mri),
            painConcordance: field(PainConcordance.self, .painConcordance), painNRS: field(Double.self, .painNRS),
            treatmentsTried: field([TreatmentTried].self, .treatmentsTried), wishesToAvoidReplacement: field(Bool.self, .wishesToAvoidReplacement),
            surgicalCandidacy: field(SurgicalCandidacy.self, .surgicalCandidacy), age: field(Int.self, .age),
            activity: field(ActivityLevel.self, .activity), heightCm: field(Double.self, .heightCm), weightKg: field(Double.self, .weightKg),
            bmi: field(Double.self, .bmi), alignment: field(Alignment.self, .alignment), comorbidities: field([Comorbidity].self, .comorbidities),
            medications: field(Medications.self, .medications), labs: field(Labs.self, .labs), infection: field(InfectionStatus.self, .infection),
            malignancy: field(MalignancyType.self, .malignancy), pregnantOrBreastfeeding: field(Bool.self, .pregnantOrBreastfeeding),
            lastArthroscopyDate: field(CalendarDate.self, .lastArthroscopyDate))
        guard problems.isEmpty else {
            // The checks that need no other field are worth reporting too (`age: -3` beside a missing date).
            let prefix = FieldPath.render(decoder.codingPath)
            let reported = Set(problems.map(\.path))
            for problem in input.fieldProblems() {
                let path = prefix.isEmpty ? problem.path : FieldPath.join(prefix, problem.path)
                if !reported.contains(path) { problems.append(FieldValidationError(path: path, message: problem.message)) }
            }
            throw FieldValidationError(all: problems)!
        }
        self = input
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        func put<T: Encodable>(_ value: T?, _ key: Key) throws { try c.encodeIfPresent(value, forKey: AnyCodingKey(stringValue: key.rawValue)) }
        try put(evaluationDate, .evaluationDate); try put(joint, .joint); try put(side, .side); try put(diagnosis, .diagnosis)
        try put(mri, .mri); try put(painConcordance, .painConcordance); try put(painNRS, .painNRS); try put(treatmentsTried, .treatmentsTried)
        try put(wishesToAvoidReplacement, .wishesToAvoidReplacement); try put(surgicalCandidacy, .surgicalCandidacy); try put(age, .age)
        try put(activity, .activity); try put(heightCm, .heightCm); try put(weightKg, .weightKg); try put(bmi, .bmi)
        try put(alignment, .alignment); try put(comorbidities, .comorbidities); try put(medications, .medications); try put(labs, .labs)
        try put(infection, .infection); try put(malignancy, .malignancy); try put(pregnantOrBreastfeeding, .pregnantOrBreastfeeding)
        try put(lastArthroscopyDate, .lastArthroscopyDate)
    }

    /// Decodes and validates a screening input; errors name the field (`labs.platelets: …`).
    public static func decode(from data: Data) throws(FieldValidationError) -> ScreeningInput {
        let input = try StrictJSON.decode(ScreeningInput.self, from: data)
        try input.validate()
        return input
    }

    /// BMI given, or computed from height and weight (kg/m²).
    public var effectiveBMI: Double? {
        if let bmi { return bmi }
        guard let h = heightCm, let w = weightKg, h > 0 else { return nil }
        let metres = h / 100
        return w / (metres * metres)
    }

    /// Rejects impossible values and dates after the evaluation date, naming the field (the first problem).
    public func validate() throws(FieldValidationError) {
        if let first = problems().first { throw first }
    }

    /// Every impossible value and every date after the evaluation date, each naming its field, so that a form can
    /// list them all at once.
    public func problems() -> [FieldValidationError] {
        var found: [FieldValidationError] = []
        func check(_ body: () throws -> Void) {
            do { try body() } catch let error as FieldValidationError { found.append(error) } catch {
                found.append(FieldValidationError(path: "", message: "\(error)"))
            }
        }
        check { try diagnosis.validate(joint: joint, at: "diagnosis") }
        check {
            if case .boneBruise(let injury, _) = diagnosis, let injury, injury > evaluationDate {
                throw FieldValidationError(path: "diagnosis.injuryDate", message: "\(injury) is after the evaluation date \(evaluationDate)")
            }
        }
        if let mri {
            check { try mri.validate(joint: joint, at: "mri") }
            check { try notAfterEvaluation(mri.date, "mri.date") }
        }
        found += fieldProblems()
        if let m = medications {
            check { try notAfterEvaluation(m.nsaidLastDose, "medications.nsaidLastDose") }
            check { try notAfterEvaluation(m.systemicSteroidLastDose, "medications.systemicSteroidLastDose") }
            check { try notAfterEvaluation(m.iaSteroidLastDate, "medications.iaSteroidLastDate") }
            check { try notAfterEvaluation(m.iaHyaluronicAcidLastDate, "medications.iaHyaluronicAcidLastDate") }
        }
        if let date = labs?.date { check { try notAfterEvaluation(date, "labs.date") } }
        check { try notAfterEvaluation(lastArthroscopyDate, "lastArthroscopyDate") }
        return found
    }

    /// The checks of single values that need no other field (plausible ranges).
    func fieldProblems() -> [FieldValidationError] {
        var found: [FieldValidationError] = []
        func check(_ body: () throws -> Void) {
            do { try body() } catch let error as FieldValidationError { found.append(error) } catch {
                found.append(FieldValidationError(path: "", message: "\(error)"))
            }
        }
        check { try PlausibleRanges.painNRS.check(painNRS, at: "painNRS") }
        for (i, t) in (treatmentsTried ?? []).enumerated() {
            check { try PlausibleRanges.treatmentWeeks.check(t.durationWeeks, at: FieldPath.join(FieldPath.index("treatmentsTried", i), "durationWeeks")) }
        }
        check { try PlausibleRanges.ageYears.check(age, at: "age") }
        check {
            if let t = activity?.tegner, !(0...10).contains(t) {
                throw FieldValidationError(path: "activity.tegner", message: "\(t) is not a Tegner level (0–10)")
            }
        }
        check {
            if let u = activity?.ucla, !(1...10).contains(u) {
                throw FieldValidationError(path: "activity.ucla", message: "\(u) is not a UCLA activity level (1–10)")
            }
        }
        check { try PlausibleRanges.heightCm.check(heightCm, at: "heightCm") }
        check { try PlausibleRanges.weightKg.check(weightKg, at: "weightKg") }
        check { try PlausibleRanges.bmi.check(bmi, at: "bmi") }
        if bmi == nil, let computed = effectiveBMI, found.allSatisfy({ $0.path != "heightCm" && $0.path != "weightKg" }) {
            check { try PlausibleRanges.bmi.check(computed, at: "weightKg") }
        }
        check { try PlausibleRanges.alignmentDegrees.check(alignment?.varusDegrees, at: "alignment.varusDegrees") }
        check { try PlausibleRanges.alignmentDegrees.check(alignment?.valgusDegrees, at: "alignment.valgusDegrees") }
        if let labs {
            check { try PlausibleRanges.platelets.check(labs.platelets, at: "labs.platelets") }
            check { try PlausibleRanges.haemoglobin.check(labs.haemoglobin, at: "labs.haemoglobin") }
            check { try PlausibleRanges.hba1c.check(labs.hba1c, at: "labs.hba1c") }
        }
        return found
    }

    private func notAfterEvaluation(_ date: CalendarDate?, _ path: String) throws(FieldValidationError) {
        if let date, date > evaluationDate {
            throw FieldValidationError(path: path, message: "\(date) is after the evaluation date \(evaluationDate)")
        }
    }
}
