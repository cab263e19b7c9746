import Foundation

/// A span of time in a protocol: days, weeks or calendar months (one of them).
///
/// Months are **calendar months** (index 2026-01-31 + 1 month = 2026-02-28, clamped to the month's
/// end), because that is what clinicians and patients mean by "the 3-month visit"; days and weeks
/// are exact.
public struct ProtocolSpan: Sendable, Hashable, Codable {
    public var days: Int?
    public var weeks: Int?
    public var months: Int?

    public init(days: Int? = nil, weeks: Int? = nil, months: Int? = nil) {
        self.days = days
        self.weeks = weeks
        self.months = months
    }

    /// `date` moved forward (sign +1) or back (sign −1) by this span.
    public func apply(to date: CalendarDate, sign: Int = 1) -> CalendarDate {
        if let months { return date.adding(months: sign * months) }
        return date.adding(days: sign * ((days ?? 0) + 7 * (weeks ?? 0)))
    }

    func validate(at path: String, allowNegative: Bool) throws(FieldValidationError) {
        let given = [days, weeks, months].compactMap { $0 }
        guard given.count == 1 else {
            throw FieldValidationError(path: path, message: "give exactly one of days, weeks or months")
        }
        if !allowNegative, given[0] < 0 {
            throw FieldValidationError(path: path, message: "\(given[0]) must not be negative")
        }
    }
}

/// One timepoint (or a daily series) in a follow-up protocol.
public struct ProtocolTimepoint: Sendable, Hashable, Codable {
    public var id: String
    public var label: String
    /// Target relative to the index procedure (negative = before).
    public var offset: ProtocolSpan
    /// Window opens this long before the target.
    public var windowBefore: ProtocolSpan
    /// Window closes this long after the target.
    public var windowAfter: ProtocolSpan
    /// Instruments for every joint.
    public var instruments: [String]
    /// Extra instruments per joint (e.g. KOOS for the knee, HOOS for the hip).
    public var instrumentsByJoint: [String: [String]]?
    /// Expands into N daily timepoints `<id>-d1` … `<id>-dN` starting at `offset` (recovery diary).
    public var repeatDaily: Int?
}

/// A follow-up protocol as data: timepoints relative to the first IO procedure, each with a window.
public struct FollowUpProtocol: Sendable, Hashable, Codable {
    public var id: String
    public var version: String
    public var title: String
    public var notes: String?
    public var timepoints: [ProtocolTimepoint]

    /// The protocol shipped with Ossa (`Resources/protocols/default.json`).
    public static func bundledDefault() throws -> FollowUpProtocol {
        try decode(from: BundledResource.data("protocols/default.json"))
    }

    /// Decodes and checks a protocol; errors name the path.
    public static func decode(from data: Data) throws(FieldValidationError) -> FollowUpProtocol {
        let value = try StrictJSON.decode(FollowUpProtocol.self, from: data)
        try value.validate()
        return value
    }

    public func validate() throws(FieldValidationError) {
        var ids = Set<String>()
        for (i, tp) in timepoints.enumerated() {
            let path = "timepoints[\(i)]"
            if !ids.insert(tp.id).inserted { throw FieldValidationError(path: "\(path).id", message: "\"\(tp.id)\" is used twice") }
            try tp.offset.validate(at: "\(path).offset", allowNegative: true)
            try tp.windowBefore.validate(at: "\(path).windowBefore", allowNegative: false)
            try tp.windowAfter.validate(at: "\(path).windowAfter", allowNegative: false)
            for key in (tp.instrumentsByJoint ?? [:]).keys where Joint(rawValue: key) == nil {
                throw FieldValidationError(path: "\(path).instrumentsByJoint.\(key)", message: "\"\(key)\" is not a joint")
            }
            if let n = tp.repeatDaily, !(1...366).contains(n) {
                throw FieldValidationError(path: "\(path).repeatDaily", message: "\(n) is not 1–366 days")
            }
        }
    }

    /// The window of the timepoint `code` (a timepoint's id, or `<id>-dN` of a daily series) when it is due on `due`,
    /// as `schedule` would give it; nil for a code this protocol does not have (an import's own due dates keep their
    /// windows).
    public func window(code: String, due: CalendarDate) -> (open: CalendarDate, close: CalendarDate)? {
        for tp in timepoints {
            if tp.repeatDaily == nil ? code == tp.id : code.hasPrefix("\(tp.id)-d") && Int(code.dropFirst(tp.id.count + 2)).map({ (1...(tp.repeatDaily ?? 0)).contains($0) }) == true {
                return (tp.windowBefore.apply(to: due, sign: -1), tp.windowAfter.apply(to: due))
            }
        }
        return nil
    }

    /// The schedule for an episode whose first IO procedure is on `indexDate`.
    public func schedule(indexDate: CalendarDate, joint: Joint) -> FollowUpSchedule {
        var out: [ScheduledTimepoint] = []
        for tp in timepoints {
            let instruments = tp.instruments + (tp.instrumentsByJoint?[joint.rawValue] ?? [])
            let base = tp.offset.apply(to: indexDate)
            let repeats = tp.repeatDaily ?? 1
            for n in 0..<repeats {
                let target = base.adding(days: n)
                let id = tp.repeatDaily == nil ? tp.id : "\(tp.id)-d\(n + 1)"
                let label = tp.repeatDaily == nil ? tp.label : "\(tp.label), day \(n + 1)"
                out.append(ScheduledTimepoint(id: id, label: label, targetDate: target,
                                              windowOpen: tp.windowBefore.apply(to: target, sign: -1),
                                              windowClose: tp.windowAfter.apply(to: target),
                                              instruments: instruments))
            }
        }
        return FollowUpSchedule(protocolId: id, protocolVersion: version, indexDate: indexDate, joint: joint, timepoints: out)
    }
}

/// A dated timepoint for one episode.
public struct ScheduledTimepoint: Sendable, Hashable, Codable {
    public var id: String
    public var label: String
    public var targetDate: CalendarDate
    /// First day answers are accepted (inclusive).
    public var windowOpen: CalendarDate
    /// Last day answers are accepted (inclusive); invitations expire after it.
    public var windowClose: CalendarDate
    public var instruments: [String]

    /// Whether `date` falls inside the window.
    public func isOpen(on date: CalendarDate) -> Bool { windowOpen <= date && date <= windowClose }
}

/// Follow-up schedule of one episode.
public struct FollowUpSchedule: Sendable, Hashable, Codable {
    public var protocolId: String
    public var protocolVersion: String
    public var indexDate: CalendarDate
    public var joint: Joint
    public var timepoints: [ScheduledTimepoint]

    public subscript(id: String) -> ScheduledTimepoint? { timepoints.first { $0.id == id } }
}
