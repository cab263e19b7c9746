import Foundation

/// Shockwave device type: focused (electromagnetic, piezoelectric, electrohydraulic) or radial.
public enum ShockwaveDevice: String, Sendable, Codable, CaseIterable {
    case focusedElectromagnetic = "focused-electromagnetic"
    case focusedPiezoelectric = "focused-piezoelectric"
    case focusedElectrohydraulic = "focused-electrohydraulic"
    case radial
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "shockwave device") }
}

/// A course of focal shockwave therapy for bone edema (Gao 2015; Sansone 2017; Kang 2018).
public struct ShockwaveCourse: Sendable, Hashable, Codable {
    public var device: ShockwaveDevice
    /// Energy flux density, mJ/mm².
    public var energyFluxDensity: Double
    public var pulsesPerSession: Int
    public var frequencyHz: Double?
    /// Session dates, in order.
    public var sessionDates: [CalendarDate]

    public init(device: ShockwaveDevice, energyFluxDensity: Double, pulsesPerSession: Int, frequencyHz: Double? = nil, sessionDates: [CalendarDate]) {
        self.device = device
        self.energyFluxDensity = energyFluxDensity
        self.pulsesPerSession = pulsesPerSession
        self.frequencyHz = frequencyHz
        self.sessionDates = sessionDates
    }

    public func validate(at path: String) throws(FieldValidationError) {
        try PlausibleRanges.energyFluxDensity.check(energyFluxDensity, at: FieldPath.join(path, "energyFluxDensity"))
        try PlausibleRanges.shockwavePulses.check(Double(pulsesPerSession), at: FieldPath.join(path, "pulsesPerSession"))
        try PlausibleRanges.shockwaveFrequencyHz.check(frequencyHz, at: FieldPath.join(path, "frequencyHz"))
        try PlausibleRanges.shockwaveSessions.check(Double(sessionDates.count), at: FieldPath.join(path, "sessionDates"))
        try checkOrdered(sessionDates, at: FieldPath.join(path, "sessionDates"))
    }
}

/// An adjunct session in the course.
public enum AdjunctSession: Sendable, Hashable, Codable {
    case intraArticular(date: CalendarDate, product: InjectedProduct, volumeMl: Double)
    case shockwave(ShockwaveCourse)

    public func validate(at path: String) throws(FieldValidationError) {
        switch self {
        case .intraArticular(_, _, let volume):
            try PlausibleRanges.injectionVolumeMl.check(volume, at: FieldPath.join(path, "volumeMl"))
        case .shockwave(let course):
            try course.validate(at: FieldPath.join(path, "shockwave"))
        }
    }

    public var firstDate: CalendarDate? {
        switch self {
        case .intraArticular(let date, _, _): date
        case .shockwave(let course): course.sessionDates.first
        }
    }
}

/// Kind of joint replacement.
public enum ReplacementKind: String, Sendable, Codable, CaseIterable {
    case tka = "TKA", uka = "UKA", tha = "THA", other
    public init(from decoder: any Decoder) throws { self = try decodeNamedCase(from: decoder, what: "joint replacement") }
}

/// Events after treatment: joint replacement, other surgery, repeat IO, adverse events.
public enum OutcomeEvent: Sendable, Hashable, Codable {
    case jointReplacement(kind: ReplacementKind, date: CalendarDate)
    case otherSurgery(description: String, date: CalendarDate)
    case repeatIO(date: CalendarDate)
    case adverseEvent(description: String, severity: AdverseEventSeverity, date: CalendarDate)
    case death(date: CalendarDate)
    case withdrawal(date: CalendarDate)
    case lostToFollowUp(lastContact: CalendarDate)

    public var date: CalendarDate {
        switch self {
        case .jointReplacement(_, let d), .otherSurgery(_, let d), .repeatIO(let d), .adverseEvent(_, _, let d),
             .death(let d), .withdrawal(let d), .lostToFollowUp(let d): d
        }
    }
}

/// One patient × one joint × one course of treatment (screening, imaging, procedures, follow-up, outcome events).
public struct TreatmentEpisode: Sendable, Hashable, Codable {
    public var id: String
    public var patientId: String
    public var siteId: String
    public var joint: Joint
    public var side: Side
    public var diagnosis: Diagnosis
    public var imaging: [MRIStudy]
    public var plan: ProcedurePlan?
    public var procedures: [ProcedureRecord]
    public var adjuncts: [AdjunctSession]
    public var outcomes: [OutcomeEvent]
    /// Last date the patient was known to be followed (censoring for survival analysis).
    public var lastContactDate: CalendarDate?

    public init(id: String, patientId: String, siteId: String, joint: Joint, side: Side, diagnosis: Diagnosis,
                imaging: [MRIStudy] = [], plan: ProcedurePlan? = nil, procedures: [ProcedureRecord] = [],
                adjuncts: [AdjunctSession] = [], outcomes: [OutcomeEvent] = [], lastContactDate: CalendarDate? = nil) {
        self.id = id
        self.patientId = patientId
        self.siteId = siteId
        self.joint = joint
        self.side = side
        self.diagnosis = diagnosis
        self.imaging = imaging
        self.plan = plan
        self.procedures = procedures
        self.adjuncts = adjuncts
        self.outcomes = outcomes
        self.lastContactDate = lastContactDate
    }

    /// Time zero for follow-up and survival: the first IO procedure.
    public var indexDate: CalendarDate? { procedures.map(\.date).min() }

    /// Rejects impossible values and dates in the wrong order, naming the field path.
    public func validate() throws(FieldValidationError) {
        try diagnosis.validate(joint: joint, at: "diagnosis")
        for (i, study) in imaging.enumerated() {
            try study.validate(joint: joint, at: FieldPath.index("imaging", i))
        }
        try checkOrdered(imaging.map(\.date), at: "imaging", what: "MRI studies")
        for (i, procedure) in procedures.enumerated() {
            try procedure.validate(at: FieldPath.index("procedures", i))
        }
        try checkOrdered(procedures.map(\.date), at: "procedures", what: "procedures")
        for (i, adjunct) in adjuncts.enumerated() {
            try adjunct.validate(at: FieldPath.index("adjuncts", i))
        }
        if let index = indexDate {
            for (i, event) in outcomes.enumerated() where event.date < index {
                throw FieldValidationError(path: FieldPath.join(FieldPath.index("outcomes", i), "date"),
                                           message: "\(event.date) is before the first IO procedure on \(index)")
            }
            if let last = lastContactDate, last < index {
                throw FieldValidationError(path: "lastContactDate", message: "\(last) is before the first IO procedure on \(index)")
            }
        }
        if let death = outcomes.first(where: { if case .death = $0 { true } else { false } })?.date {
            for (i, event) in outcomes.enumerated() where event.date > death {
                throw FieldValidationError(path: FieldPath.join(FieldPath.index("outcomes", i), "date"), message: "\(event.date) is after death on \(death)")
            }
            if let last = lastContactDate, last > death {
                throw FieldValidationError(path: "lastContactDate", message: "\(last) is after death on \(death)")
            }
        }
    }
}

/// Throws when `dates` are not in non-decreasing order, naming the first out-of-order element.
func checkOrdered(_ dates: [CalendarDate], at path: String, what: String = "dates") throws(FieldValidationError) {
    for i in dates.indices.dropFirst() where dates[i] < dates[i - 1] {
        throw FieldValidationError(path: FieldPath.index(path, i), message: "\(dates[i]) is before \(dates[i - 1]); \(what) must be in date order")
    }
}
