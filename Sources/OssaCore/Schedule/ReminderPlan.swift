import Foundation

// MARK: - Quiet hours

/// Hours of the site's local day in which no invitation or reminder is sent (e.g. 20:00–09:00).
///
/// Patients should not be woken by a questionnaire link, and "09:00" must mean 09:00 on the wall clock of the
/// site, also on the days the clocks change. `start` and `end` are minutes of the local day (0–1439); the quiet
/// range is `start` up to (not including) `end`, over midnight when `start > end`; `start == end` means no quiet
/// hours at all. Encoded as `{"start": "20:00", "end": "09:00"}`, the way sites store them.
public struct QuietHours: Sendable, Hashable, Codable, CustomStringConvertible {
    /// First quiet minute of the local day (0–1439).
    public let start: Int
    /// First minute after the quiet hours (0–1439).
    public let end: Int

    /// Quiet hours from minutes of the day; minutes outside 0–1439 are refused.
    public init(start: Int, end: Int) throws(FieldValidationError) {
        for (name, value) in [("start", start), ("end", end)] where !(0..<1440).contains(value) {
            throw FieldValidationError(path: name, message: "\(value) is not a minute of the day (0–1439)")
        }
        self.start = start
        self.end = end
    }

    /// Quiet hours from `"HH:MM"` texts, as sites store them (`"20:00"`, `"09:00"`).
    public init(start: String, end: String) throws(FieldValidationError) {
        guard let s = ClockText.minutes(start) else { throw FieldValidationError(path: "start", message: ClockText.problem(start)) }
        guard let e = ClockText.minutes(end) else { throw FieldValidationError(path: "end", message: ClockText.problem(end)) }
        try self.init(start: s, end: e)
    }

    private enum CodingKeys: String, CodingKey { case start, end }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read(_ key: CodingKeys) throws -> Int {
            let text = try c.decode(String.self, forKey: key)
            guard let value = ClockText.minutes(text) else {
                throw FieldValidationError(codingPath: c.codingPath + [key], message: ClockText.problem(text))
            }
            return value
        }
        start = try read(.start)
        end = try read(.end)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ClockText.text(start), forKey: .start)
        try c.encode(ClockText.text(end), forKey: .end)
    }

    /// `"20:00–09:00"`.
    public var description: String { "\(ClockText.text(start))–\(ClockText.text(end))" }

    /// The start and end as `HH:MM` (how sites store them).
    public var startText: String { ClockText.text(start) }
    public var endText: String { ClockText.text(end) }

    /// No quiet hours (`start == end`).
    public var isEmpty: Bool { start == end }

    /// Whether the local minute of the day `minute` (0–1439) is quiet.
    public func contains(minuteOfDay minute: Int) -> Bool {
        if start < end { return start <= minute && minute < end }
        if start > end { return minute >= start || minute < end }
        return false
    }

    /// Whether `instant` falls in the quiet hours of the site's local time.
    public func isQuiet(_ instant: Date, in timeZone: TimeZone) -> Bool {
        contains(minuteOfDay: SiteClock.local(instant, timeZone).minute)
    }

    /// `instant` itself when it may be sent, otherwise the instant the quiet hours end in `timeZone`'s local time.
    ///
    /// Works on the wall clock, not by adding hours: 07:00 on the morning the clocks go forward ends at 09:00
    /// local, which is one hour less away than on other days. A quiet end that the clock skips (e.g. 02:30 on the
    /// night of a spring-forward) ends the quiet hours at the jump; a repeated one (autumn) never moves back in time.
    public func nextAllowed(after instant: Date, in timeZone: TimeZone) -> Date {
        var t = instant
        // One step normally suffices; a second or third only in time zones with unusual transitions.
        for _ in 0..<4 {
            let local = SiteClock.local(t, timeZone)
            guard contains(minuteOfDay: local.minute) else { return t }
            let day = start > end && local.minute >= start ? local.day.adding(days: 1) : local.day
            t = SiteClock.firstInstant(day, minute: end, in: timeZone, notBefore: t)
        }
        return t
    }
}

// MARK: - Reminder rules

/// When invitations and reminders for a follow-up window are sent, as data (`Resources/protocols/reminders.json`).
///
/// The rules are versioned so that a message can say which rules planned it. Times are local `"HH:MM"` in the
/// site's time zone. Completion cancelling reminders, opt-outs per channel and re-planning after the procedure
/// date moves are the caller's business: the planner is a pure function that is simply called again.
public struct ReminderRules: Sendable, Hashable, Codable {
    public var id: String
    public var version: String
    public var title: String
    public var notes: String?
    /// Local time of the invitation on the day the window opens (`"09:00"`); a window already open is invited at once.
    public var invitationAt: String
    /// Local time of day of the day-offset reminders and of the last reminder before the close.
    public var reminderAt: String
    /// Reminders this many days after the invitation's local day (positive, ascending), e.g. `[3, 7]`.
    public var reminderOffsetsDays: [Int]
    /// A last reminder this many days before the window's last day (0 = on the last day); absent = none.
    public var lastReminderDaysBeforeClose: Int?
    /// Windows of at most this many days are "short" (default 1: a recovery-diary day).
    public var shortWindowMaxDays: Int?
    /// A short window gets, instead of the day-offset reminders, at most one reminder on the invitation's day at
    /// this local time (`"18:00"`); absent = short windows get no reminder.
    public var sameDayReminderAt: String?
    /// A reminder closer than this to the message before it is dropped (so a late invitation is not followed by a
    /// reminder within minutes); 0 only removes duplicates.
    public var minimumGapHours: Int
    /// Default quiet hours; a site may override them.
    public var quietHours: QuietHours

    /// The rules shipped with Ossa (`Resources/protocols/reminders.json`).
    public static func bundled() throws -> ReminderRules {
        try decode(from: BundledResource.data("protocols/reminders.json"))
    }

    /// Decodes and checks rules; errors name the path.
    public static func decode(from data: Data) throws(FieldValidationError) -> ReminderRules {
        let value = try StrictJSON.decode(ReminderRules.self, from: data)
        try value.validate()
        return value
    }

    /// Checks times (`HH:MM`), offsets (positive, strictly ascending) and the short-window rule.
    public func validate() throws(FieldValidationError) {
        if id.isEmpty { throw FieldValidationError(path: "id", message: "must not be empty") }
        if version.isEmpty { throw FieldValidationError(path: "version", message: "must not be empty") }
        let invitation = try Self.clock(invitationAt, "invitationAt")
        _ = try Self.clock(reminderAt, "reminderAt")
        for (i, offset) in reminderOffsetsDays.enumerated() {
            if offset <= 0 {
                throw FieldValidationError(path: "reminderOffsetsDays[\(i)]", message: "\(offset) must be a positive number of days")
            }
            if i > 0, offset <= reminderOffsetsDays[i - 1] {
                throw FieldValidationError(path: "reminderOffsetsDays[\(i)]",
                                           message: "\(offset) must be greater than the offset before it (\(reminderOffsetsDays[i - 1]))")
            }
        }
        if let n = lastReminderDaysBeforeClose, n < 0 {
            throw FieldValidationError(path: "lastReminderDaysBeforeClose", message: "\(n) must not be negative")
        }
        if let n = shortWindowMaxDays, n < 1 {
            throw FieldValidationError(path: "shortWindowMaxDays", message: "\(n) must be at least 1 day")
        }
        if let text = sameDayReminderAt {
            let same = try Self.clock(text, "sameDayReminderAt")
            if same <= invitation {
                throw FieldValidationError(path: "sameDayReminderAt", message: "\(text) must be later in the day than invitationAt (\(invitationAt))")
            }
        }
        if !(0...24).contains(minimumGapHours) {
            throw FieldValidationError(path: "minimumGapHours", message: "\(minimumGapHours) is not 0–24 hours")
        }
    }

    /// The quiet hours that apply at a site: its own when it has set them, otherwise the rules' default.
    public func quietHours(site: QuietHours?) -> QuietHours { site ?? quietHours }

    private static func clock(_ text: String, _ path: String) throws(FieldValidationError) -> Int {
        guard let minutes = ClockText.minutes(text) else { throw FieldValidationError(path: path, message: ClockText.problem(text)) }
        return minutes
    }
}

// MARK: - Planner

/// One message the planner wants sent.
public struct PlannedMessage: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case invitation
        /// The n-th reminder (1, 2, …), counted over the whole plan, so a re-plan keeps the numbers stable.
        case reminder(Int)
    }

    public var kind: Kind
    public var sendAt: Date

    public init(kind: Kind, sendAt: Date) {
        self.kind = kind
        self.sendAt = sendAt
    }

    /// Place in the sequence as the outbox stores it: 0 = the invitation, 1… = reminders.
    public var sequence: Int {
        switch kind {
        case .invitation: 0
        case .reminder(let n): n
        }
    }

    public var description: String {
        let instant = sendAt.formatted(.iso8601)
        switch kind {
        case .invitation: return "invitation at \(instant)"
        case .reminder(let n): return "reminder \(n) at \(instant)"
        }
    }
}

/// Plans the invitation and reminders of one follow-up window for one channel.
///
/// Pure (no clock, no store): give it the window, the current instant and the site's time zone and quiet hours,
/// and it returns what to queue. Call it again when anything changes (procedure date moved, quiet hours edited,
/// a restart): the numbering is stable, so the caller can replace queued messages by sequence number.
public struct ReminderPlanner: Sendable {
    public let rules: ReminderRules
    private let invitationMinute: Int
    private let reminderMinute: Int
    private let sameDayMinute: Int?

    /// A planner for validated rules (invalid rules are refused here, not at planning time).
    public init(rules: ReminderRules) throws(FieldValidationError) {
        try rules.validate()
        self.rules = rules
        invitationMinute = ClockText.minutes(rules.invitationAt) ?? 0
        reminderMinute = ClockText.minutes(rules.reminderAt) ?? 0
        sameDayMinute = rules.sameDayReminderAt.flatMap(ClockText.minutes)
    }

    /// The instant the window closes: the start of the local day after `windowClose` (invitations expire then).
    public func windowEnd(_ windowClose: CalendarDate, timeZone: TimeZone) -> Date {
        SiteClock.firstInstant(windowClose.adding(days: 1), minute: 0, in: timeZone)
    }

    /// The instant the window opens: the start of `windowOpen`'s local day.
    public func windowStart(_ windowOpen: CalendarDate, timeZone: TimeZone) -> Date {
        SiteClock.firstInstant(windowOpen, minute: 0, in: timeZone)
    }

    /// The messages to queue for a window (`windowOpen`…`windowClose`, inclusive local days).
    ///
    /// - The invitation goes at `invitationAt` on the opening day, or at `now` when that is past (window already open).
    /// - Reminders at the day offsets after the invitation's local day and `lastReminderDaysBeforeClose` before the
    ///   last day, at `reminderAt`; a short window instead gets at most one same-day reminder at `sameDayReminderAt`.
    /// - Every instant is moved out of `quietHours` (site local time); anything at or after the window's end is
    ///   dropped, as is a reminder within `minimumGapHours` of the message before it.
    /// - Only instants at or after `now` are returned; nothing when the window has closed. Strictly increasing.
    ///
    /// `invitedAt`: when the invitation has already gone out, its instant; no new invitation is planned and the
    /// reminders count from it (a re-plan after the window moved keeps `nil` and invites afresh).
    public func plan(windowOpen: CalendarDate, windowClose: CalendarDate, now: Date, timeZone: TimeZone,
                     quietHours: QuietHours, invitedAt: Date? = nil) -> [PlannedMessage] {
        let end = windowEnd(windowClose, timeZone: timeZone)
        guard windowOpen <= windowClose, now < end else { return [] }
        var out: [PlannedMessage] = []

        let invitation: Date
        if let invitedAt {
            invitation = invitedAt
        } else {
            let scheduled = SiteClock.firstInstant(windowOpen, minute: invitationMinute, in: timeZone)
            let at = quietHours.nextAllowed(after: max(scheduled, now), in: timeZone)
            guard at < end else { return [] }
            out.append(PlannedMessage(kind: .invitation, sendAt: at))
            invitation = at
        }

        let invitationDay = SiteClock.local(invitation, timeZone).day
        var candidates: [Date] = []
        let windowDays = windowOpen.days(to: windowClose) + 1
        if windowDays <= (rules.shortWindowMaxDays ?? 1) {
            if let sameDayMinute {
                candidates.append(SiteClock.firstInstant(invitationDay, minute: sameDayMinute, in: timeZone))
            }
        } else {
            for offset in rules.reminderOffsetsDays {
                candidates.append(SiteClock.firstInstant(invitationDay.adding(days: offset), minute: reminderMinute, in: timeZone))
            }
            if let n = rules.lastReminderDaysBeforeClose {
                candidates.append(SiteClock.firstInstant(windowClose.adding(days: -n), minute: reminderMinute, in: timeZone))
            }
        }

        let gap = TimeInterval(rules.minimumGapHours * 3600)
        var previous = invitation
        var number = 0
        for at in candidates.map({ quietHours.nextAllowed(after: $0, in: timeZone) }).sorted() {
            guard at < end else { break }
            guard at > previous, at.timeIntervalSince(previous) >= gap else { continue }
            number += 1
            previous = at
            if at >= now { out.append(PlannedMessage(kind: .reminder(number), sendAt: at)) }
        }
        return out
    }
}

// MARK: - Local wall-clock arithmetic

/// `"HH:MM"` texts (two digits each, 00:00–23:59) as minutes of the day.
private enum ClockText {
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let h = Int(parts[0]), let m = Int(parts[1]), (0...23).contains(h), (0...59).contains(m) else { return nil }
        return h * 60 + m
    }

    static func problem(_ text: String) -> String { "\"\(text)\" is not a time of day in the form HH:MM (00:00–23:59)" }

    static func text(_ minutes: Int) -> String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0\(h)" : "\(h)") + ":" + (m < 10 ? "0\(m)" : "\(m)")
    }
}

/// Converts between instants and a time zone's wall clock without `Calendar`, so that skipped and repeated
/// local times (DST) are handled by explicit rules rather than by platform defaults.
private enum SiteClock {
    /// The local day and minute of the day (seconds dropped) of `instant`.
    static func local(_ instant: Date, _ timeZone: TimeZone) -> (day: CalendarDate, minute: Int) {
        let wall = (instant.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: instant))).rounded(.down)
        let dayNumber = Int((wall / 86_400).rounded(.down))
        let secondOfDay = Int(wall) - dayNumber * 86_400
        return (CalendarDate(dayNumber: dayNumber), secondOfDay / 60)
    }

    /// The first instant, not before `notBefore`, at which the local clock shows `minute` on `day`.
    ///
    /// A local time that occurs twice (autumn) gives its first occurrence not before `notBefore`; one the clock
    /// skips (spring) gives the instant of the jump, the first moment the local clock is past it.
    static func firstInstant(_ day: CalendarDate, minute: Int, in timeZone: TimeZone, notBefore: Date? = nil) -> Date {
        let wall = Double(day.dayNumber) * 86_400 + Double(minute) * 60
        func offset(_ t: Double) -> Int { timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: t)) }
        // The offsets in force around that wall time (a day either side covers any offset before and after a change).
        let offsets = Set([offset(wall - 86_400), offset(wall), offset(wall + 86_400)])
        let occurrences = offsets.map { wall - Double($0) }.filter { Double(offset($0)) == wall - $0 }.sorted()
        if let first = occurrences.first(where: { notBefore == nil || $0 >= notBefore!.timeIntervalSince1970 }) ?? occurrences.last {
            return Date(timeIntervalSince1970: first)
        }
        // Skipped: find the jump between the offset before and after by bisection (whole seconds).
        let before = offset(wall - 86_400), after = offset(wall + 86_400)
        var lo = wall - Double(max(before, after)), hi = wall - Double(min(before, after))
        while hi - lo > 1 {
            let mid = ((lo + hi) / 2).rounded(.down)
            if offset(mid) == before { lo = mid } else { hi = mid }
        }
        return Date(timeIntervalSince1970: hi)
    }
}
