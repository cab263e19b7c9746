import Foundation

/// A calendar day (proleptic Gregorian), with no time of day and no time zone.
///
/// Clinical dates — procedure day, last NSAID dose, MRI date, follow-up windows — are days, not
/// instants; modelling them as `Date` invites off-by-one errors across time zones. Encoded as
/// ISO-8601 `"YYYY-MM-DD"`.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Years accepted by the clinical domain; anything outside is a typing error, not a patient date.
    public static let plausibleYears = 1900...2200

    /// Creates a date, rejecting impossible days (e.g. 2026-02-30).
    public init(year: Int, month: Int, day: Int) throws(FieldValidationError) {
        guard Self.plausibleYears.contains(year) else {
            throw FieldValidationError(path: "", message: "year \(year) is outside \(Self.plausibleYears.lowerBound)–\(Self.plausibleYears.upperBound)")
        }
        guard (1...12).contains(month) else {
            throw FieldValidationError(path: "", message: "month \(month) is not 1–12")
        }
        let last = Self.daysInMonth(year: year, month: month)
        guard (1...last).contains(day) else {
            throw FieldValidationError(path: "", message: "day \(day) is not in \(year)-\(Self.pad(month, 2)) (1–\(last))")
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `"YYYY-MM-DD"` strictly (no times, no other separators).
    public init(iso text: String) throws(FieldValidationError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else {
            throw FieldValidationError(path: "", message: "\"\(text)\" is not a date in the form YYYY-MM-DD")
        }
        do {
            try self.init(year: y, month: m, day: d)
        } catch {
            throw FieldValidationError(path: "", message: "\"\(text)\" is not a real date (\(error.message))")
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(iso: text)
        } catch {
            throw FieldValidationError(codingPath: decoder.codingPath, message: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso)
    }

    /// `"YYYY-MM-DD"`.
    public var iso: String { "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))" }
    public var description: String { iso }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    // MARK: Arithmetic

    /// Days since 1970-01-01 (negative before).
    public var dayNumber: Int { Self.daysFromCivil(year, month, day) }

    /// The date `dayNumber` days after 1970-01-01.
    public init(dayNumber: Int) {
        let (y, m, d) = Self.civilFromDays(dayNumber)
        year = y
        month = m
        day = d
    }

    /// This date plus `days` (may be negative).
    /// The UTC calendar day of an instant.
    public init(utc instant: Date) {
        self.init(dayNumber: Int((instant.timeIntervalSince1970 / 86_400).rounded(.down)))
    }

    /// 00:00 UTC on this day.
    public var startOfDayUTC: Date { Date(timeIntervalSince1970: Double(dayNumber) * 86_400) }

    public func adding(days: Int) -> CalendarDate { CalendarDate(dayNumber: dayNumber + days) }

    /// This date plus whole calendar months; the day is clamped to the end of a shorter month
    /// (2026-01-31 + 1 month = 2026-02-28), which is what clinicians mean by "one month later".
    public func adding(months: Int) -> CalendarDate {
        let zeroBased = year * 12 + (month - 1) + months
        let y = zeroBased >= 0 ? zeroBased / 12 : (zeroBased - 11) / 12
        let m = zeroBased - y * 12 + 1
        let d = min(day, Self.daysInMonth(year: y, month: m))
        return CalendarDate(unchecked: y, m, d)
    }

    /// Signed number of days from `self` to `other` (positive when `other` is later).
    public func days(to other: CalendarDate) -> Int { other.dayNumber - dayNumber }

    /// Days between two dates, `to - from`.
    public static func daysBetween(_ from: CalendarDate, _ to: CalendarDate) -> Int { from.days(to: to) }

    public static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // MARK: Private

    private init(unchecked y: Int, _ m: Int, _ d: Int) {
        year = y
        month = m
        day = d
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    // Howard Hinnant's days_from_civil / civil_from_days: exact integer algorithms, no calendars or zones.
    private static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
