import Foundation
import Testing
@testable import OssaCore

/// A UTC instant written by hand, `"2026-03-02 08:00"` (seconds optional: `"… 07:59:30"`).
private func utc(_ text: String) -> Date {
    let parts = text.split(separator: " ")
    let date = day(String(parts[0]))
    let hms = parts[1].split(separator: ":").map { Int($0)! }
    let seconds = date.dayNumber * 86_400 + hms[0] * 3600 + hms[1] * 60 + (hms.count > 2 ? hms[2] : 0)
    return Date(timeIntervalSince1970: TimeInterval(seconds))
}

private func zone(_ id: String) -> TimeZone {
    guard let tz = TimeZone(identifier: id) else { fatalError("no time zone \(id)") }
    return tz
}

private let madrid = zone("Europe/Madrid")
private let newYork = zone("America/New_York")

private func quiet(_ start: String, _ end: String) -> QuietHours {
    do { return try QuietHours(start: start, end: end) } catch { fatalError("\(error)") }
}

@Suite("Reminder plan and quiet hours")
struct ReminderPlanTests {
    let rules: ReminderRules = {
        do { return try ReminderRules.bundled() } catch { fatalError("reminder rules do not load: \(error)") }
    }()
    var planner: ReminderPlanner {
        do { return try ReminderPlanner(rules: rules) } catch { fatalError("\(error)") }
    }
    var defaultQuiet: QuietHours { rules.quietHours }

    /// `[(sequence, instant)]` for compact comparisons.
    func plan(_ open: String, _ close: String, now: String, in tz: TimeZone = madrid, quiet: QuietHours? = nil,
              invitedAt: String? = nil) -> [String] {
        planner.plan(windowOpen: day(open), windowClose: day(close), now: utc(now), timeZone: tz,
                     quietHours: quiet ?? defaultQuiet, invitedAt: invitedAt.map(utc))
            .map { "\($0.sequence)@\($0.sendAt.formatted(.iso8601))" }
    }

    // MARK: Rules

    @Test("the bundled rules decode and validate")
    func bundledRules() {
        #expect(rules.id == "ossa-default-reminders")
        #expect(rules.invitationAt == "09:00")
        #expect(rules.reminderOffsetsDays == [3, 7])
        #expect(rules.lastReminderDaysBeforeClose == 2)
        #expect(rules.sameDayReminderAt == "18:00")
        #expect(rules.quietHours.start == 20 * 60 && rules.quietHours.end == 9 * 60)
        #expect(rules.quietHours(site: nil) == rules.quietHours)
        #expect(rules.quietHours(site: quiet("22:00", "08:00")) == quiet("22:00", "08:00"))
    }

    @Test("malformed rules name the path")
    func ruleErrors() throws {
        let base = String(decoding: try BundledResource.data("protocols/reminders.json"), as: UTF8.self)
        func message(_ from: String, _ to: String) -> String? {
            #expect(base.contains(from), "fixture text \(from) not in reminders.json")
            do { _ = try ReminderRules.decode(from: Data(base.replacingOccurrences(of: from, with: to).utf8)); return nil } catch {
                return error.description
            }
        }
        #expect(message(#""reminderOffsetsDays": [3, 7]"#, #""reminderOffsetsDays": [3, 3]"#)
                == "reminderOffsetsDays[1]: 3 must be greater than the offset before it (3)")
        #expect(message(#""reminderOffsetsDays": [3, 7]"#, #""reminderOffsetsDays": [7, 3]"#)
                == "reminderOffsetsDays[1]: 3 must be greater than the offset before it (7)")
        #expect(message(#""reminderOffsetsDays": [3, 7]"#, #""reminderOffsetsDays": [0, 7]"#)
                == "reminderOffsetsDays[0]: 0 must be a positive number of days")
        #expect(message(#""invitationAt": "09:00""#, #""invitationAt": "9:00""#)
                == #"invitationAt: "9:00" is not a time of day in the form HH:MM (00:00–23:59)"#)
        #expect(message(#""reminderAt": "09:00""#, #""reminderAt": "24:00""#)
                == #"reminderAt: "24:00" is not a time of day in the form HH:MM (00:00–23:59)"#)
        #expect(message(#""start": "20:00""#, #""start": "20h""#)
                == #"quietHours.start: "20h" is not a time of day in the form HH:MM (00:00–23:59)"#)
        #expect(message(#""sameDayReminderAt": "18:00""#, #""sameDayReminderAt": "08:30""#)
                == "sameDayReminderAt: 08:30 must be later in the day than invitationAt (09:00)")
        #expect(message(#""minimumGapHours": 3"#, #""minimumGapHours": 30"#) == "minimumGapHours: 30 is not 0–24 hours")
        #expect(message(#""minimumGapHours": 3"#, #""minimumGapHours": 3, "sendOnSundays": false"#)
                == #"sendOnSundays: unknown field "sendOnSundays""#)
        #expect(message(#""invitationAt": "09:00","#, "") == "invitationAt: is required but missing")
    }

    // MARK: Quiet hours

    @Test("quiet hours over midnight: start is quiet, end is not")
    func quietContains() {
        let q = quiet("20:00", "09:00")
        #expect(!q.contains(minuteOfDay: 19 * 60 + 59))
        #expect(q.contains(minuteOfDay: 20 * 60))
        #expect(q.contains(minuteOfDay: 0))
        #expect(q.contains(minuteOfDay: 8 * 60 + 59))
        #expect(!q.contains(minuteOfDay: 9 * 60))
        let midday = quiet("12:00", "14:00")
        #expect(!midday.contains(minuteOfDay: 11 * 60 + 59) && midday.contains(minuteOfDay: 12 * 60) && !midday.contains(minuteOfDay: 14 * 60))
        let none = quiet("00:00", "00:00")
        #expect(none.isEmpty && !none.contains(minuteOfDay: 0) && !none.contains(minuteOfDay: 23 * 60))
        #expect(q.description == "20:00–09:00")
    }

    @Test("an instant in quiet hours moves to their end in site local time (Madrid, CET = UTC+1)")
    func nextAllowedMadrid() {
        let q = quiet("20:00", "09:00")
        // 22:30 CET on 5 March → 09:00 CET on 6 March = 08:00Z.
        #expect(q.nextAllowed(after: utc("2026-03-05 21:30"), in: madrid) == utc("2026-03-06 08:00"))
        // 00:30 CET on 6 March (23:30Z on the 5th) → 09:00 CET the same local day.
        #expect(q.nextAllowed(after: utc("2026-03-05 23:30"), in: madrid) == utc("2026-03-06 08:00"))
        // 08:59:30 CET is still quiet; 09:00 CET is not.
        #expect(q.nextAllowed(after: utc("2026-03-06 07:59:30"), in: madrid) == utc("2026-03-06 08:00"))
        #expect(q.nextAllowed(after: utc("2026-03-06 08:00"), in: madrid) == utc("2026-03-06 08:00"))
        // 13:00 CET is allowed: unchanged.
        #expect(q.nextAllowed(after: utc("2026-03-05 12:00"), in: madrid) == utc("2026-03-05 12:00"))
        // No quiet hours: unchanged.
        #expect(quiet("00:00", "00:00").nextAllowed(after: utc("2026-03-05 23:30"), in: madrid) == utc("2026-03-05 23:30"))
    }

    @Test("quiet hours across the DST changes in Europe/Madrid (29 March and 25 October 2026)")
    func nextAllowedMadridDST() {
        let q = quiet("20:00", "09:00")
        // Clocks go 02:00 CET → 03:00 CEST at 01:00Z on 29 March. 07:00 CEST (05:00Z) ends at 09:00 CEST = 07:00Z.
        #expect(q.nextAllowed(after: utc("2026-03-29 05:00"), in: madrid) == utc("2026-03-29 07:00"))
        // 21:30 CET on the 28th (20:30Z) → 09:00 CEST on the 29th = 07:00Z, 10.5 hours later, not 11.5.
        #expect(q.nextAllowed(after: utc("2026-03-28 20:30"), in: madrid) == utc("2026-03-29 07:00"))
        // Clocks go 03:00 CEST → 02:00 CET at 01:00Z on 25 October. 21:30 CEST on the 24th (19:30Z) → 09:00 CET = 08:00Z.
        #expect(q.nextAllowed(after: utc("2026-10-24 19:30"), in: madrid) == utc("2026-10-25 08:00"))
        // 02:30 CET, after the change (01:30Z) → 09:00 CET = 08:00Z.
        #expect(q.nextAllowed(after: utc("2026-10-25 01:30"), in: madrid) == utc("2026-10-25 08:00"))
        // 09:00 on the day after: CET again (08:00Z).
        #expect(q.nextAllowed(after: utc("2026-10-25 21:00"), in: madrid) == utc("2026-10-26 08:00"))
    }

    @Test("a quiet end skipped or repeated by DST (America/New_York, 8 March and 1 November 2026)")
    func nextAllowedNewYorkDST() {
        // 8 March: 02:00 EST (07:00Z) jumps to 03:00 EDT, so 02:30 never happens; quiet hours end at the jump.
        let q1 = quiet("22:00", "02:30")
        #expect(q1.nextAllowed(after: utc("2026-03-08 06:30"), in: newYork) == utc("2026-03-08 07:00"))   // 01:30 EST
        // 1 November: 02:00 EDT (06:00Z) goes back to 01:00 EST, so 01:00–02:00 happens twice.
        let q2 = quiet("22:00", "01:30")
        #expect(q2.nextAllowed(after: utc("2026-11-01 05:10"), in: newYork) == utc("2026-11-01 05:30"))   // 01:10 EDT → 01:30 EDT
        #expect(q2.nextAllowed(after: utc("2026-11-01 06:10"), in: newYork) == utc("2026-11-01 06:30"))   // 01:10 EST → 01:30 EST, never back
        // An ordinary evening in New York (EST = UTC−5): 23:00 on 2 March (04:00Z on the 3rd) → 09:00 EST = 14:00Z.
        #expect(quiet("20:00", "09:00").nextAllowed(after: utc("2026-03-03 04:00"), in: newYork) == utc("2026-03-03 14:00"))
    }

    @Test("quiet hours: parsing, codable form and errors")
    func quietHoursCoding() throws {
        let q = quiet("20:00", "09:00")
        let json = String(decoding: try StrictJSON.encode(q), as: UTF8.self)
        #expect(json.contains(#""start" : "20:00""#) && json.contains(#""end" : "09:00""#))
        #expect(try StrictJSON.decode(QuietHours.self, from: Data(#"{"start":"20:00","end":"09:00"}"#.utf8)) == q)
        func message(_ start: String, _ end: String) -> String? {
            do { _ = try QuietHours(start: start, end: end); return nil } catch { return error.description }
        }
        #expect(message("20:00", "9:00") == #"end: "9:00" is not a time of day in the form HH:MM (00:00–23:59)"#)
        #expect(message("", "09:00") == #"start: "" is not a time of day in the form HH:MM (00:00–23:59)"#)
        #expect(message("23:60", "09:00") == #"start: "23:60" is not a time of day in the form HH:MM (00:00–23:59)"#)
        #expect(throws: FieldValidationError.self) { try QuietHours(start: 1440, end: 0) }
    }

    // MARK: Window end

    @Test("the window closes at the start of the next local day")
    func windowEnd() {
        #expect(planner.windowEnd(day("2026-03-02"), timeZone: madrid) == utc("2026-03-02 23:00"))   // 3 March 00:00 CET
        #expect(planner.windowEnd(day("2026-03-28"), timeZone: madrid) == utc("2026-03-28 23:00"))   // 29 March 00:00 CET (before the change)
        #expect(planner.windowEnd(day("2026-03-29"), timeZone: madrid) == utc("2026-03-29 22:00"))   // 30 March 00:00 CEST
        #expect(planner.windowEnd(day("2026-11-01"), timeZone: newYork) == utc("2026-11-02 05:00"))  // 2 November 00:00 EST
        #expect(planner.windowStart(day("2026-03-02"), timeZone: madrid) == utc("2026-03-01 23:00"))
    }

    // MARK: Plans

    @Test("window opening later: invitation at 09:00 site time, reminders 3 and 7 days later and 2 days before the close")
    func futureWindow() {
        // Window 2 … 12 March 2026 in Madrid (CET, UTC+1): 09:00 CET = 08:00Z.
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-02-20 10:00") == [
            "0@2026-03-02T08:00:00Z",   // invitation, 2 March 09:00 CET
            "1@2026-03-05T08:00:00Z",   // +3 days
            "2@2026-03-09T08:00:00Z",   // +7 days
            "3@2026-03-10T08:00:00Z",   // 12 March − 2 days
        ])
    }

    @Test("a window across the spring DST change keeps 09:00 local time")
    func windowAcrossDST() {
        // Window 27 March … 6 April 2026; clocks change on 29 March (CET UTC+1 → CEST UTC+2).
        #expect(plan("2026-03-27", "2026-04-06", now: "2026-03-20 12:00") == [
            "0@2026-03-27T08:00:00Z",   // 09:00 CET
            "1@2026-03-30T07:00:00Z",   // 09:00 CEST
            "2@2026-04-03T07:00:00Z",
            "3@2026-04-04T07:00:00Z",   // 6 April − 2 days
        ])
    }

    @Test("a one-day diary window: the invitation in the morning and at most one reminder that evening")
    func oneDayWindow() {
        // Diary day on 3 March 2026 (CET): 09:00 = 08:00Z, 18:00 = 17:00Z; the window ends at 23:00Z.
        #expect(plan("2026-03-03", "2026-03-03", now: "2026-03-02 12:00") == ["0@2026-03-03T08:00:00Z", "1@2026-03-03T17:00:00Z"])
        // Already open at 13:00 CET: invitation now, the evening reminder five hours later.
        #expect(plan("2026-03-03", "2026-03-03", now: "2026-03-03 12:00") == ["0@2026-03-03T12:00:00Z", "1@2026-03-03T17:00:00Z"])
        // At 17:00 CET the 18:00 reminder would follow within the 3-hour gap: invitation only.
        #expect(plan("2026-03-03", "2026-03-03", now: "2026-03-03 16:00") == ["0@2026-03-03T16:00:00Z"])
        // At 20:30 CET (quiet) the invitation would move to 09:00 the next day, after the window: nothing.
        #expect(plan("2026-03-03", "2026-03-03", now: "2026-03-03 19:30") == [])
        // A site whose quiet hours start at 17:00 gets no evening reminder (it would move past the window).
        #expect(plan("2026-03-03", "2026-03-03", now: "2026-03-02 12:00", quiet: quiet("17:00", "08:00"))
                == ["0@2026-03-03T08:00:00Z"])
    }

    @Test("window already open: the invitation goes now and the reminders count from today")
    func alreadyOpen() {
        // Window 2 … 12 March; now 5 March 11:17 CET (10:17Z).
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-03-05 10:17") == [
            "0@2026-03-05T10:17:00Z",
            "1@2026-03-08T08:00:00Z",   // 5 + 3
            "2@2026-03-10T08:00:00Z",   // 12 − 2
            "3@2026-03-12T08:00:00Z",   // 5 + 7, the last day
        ])
    }

    @Test("window already open during quiet hours over midnight: the invitation waits for 09:00")
    func alreadyOpenAtNight() {
        // 22:30 CET on 5 March → 09:00 CET on 6 March; 6 + 7 = 13 March is after the window and is dropped.
        let expected = ["0@2026-03-06T08:00:00Z", "1@2026-03-09T08:00:00Z", "2@2026-03-10T08:00:00Z"]
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-03-05 21:30") == expected)
        // 00:30 CET on 6 March (23:30Z on the 5th): the same.
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-03-05 23:30") == expected)
    }

    @Test("reminders that would fall after the window closes are dropped")
    func remindersPastWindow() {
        // Window 2 … 6 March: +3 = 5 March, +7 = 9 March (dropped), 6 − 2 = 4 March.
        #expect(plan("2026-03-02", "2026-03-06", now: "2026-02-27 09:00") == [
            "0@2026-03-02T08:00:00Z", "1@2026-03-04T08:00:00Z", "2@2026-03-05T08:00:00Z",
        ])
    }

    @Test("a closed window plans nothing")
    func closedWindow() {
        // The window 2 … 12 March ends at 13 March 00:00 CET = 12 March 23:00Z.
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-03-12 23:00") == [])
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-04-01 10:00") == [])
        // One minute before the end is 23:59 CET, in quiet hours: the invitation could only go after the close.
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-03-12 22:59") == [])
        // Without quiet hours it goes at once, and no reminder fits.
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-03-12 22:59", quiet: quiet("00:00", "00:00")) == ["0@2026-03-12T22:59:00Z"])
        // A window whose close is before its opening plans nothing.
        #expect(plan("2026-03-12", "2026-03-02", now: "2026-02-01 10:00") == [])
    }

    @Test("a site's own quiet hours move the 09:00 messages to 10:00")
    func siteQuietHours() {
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-02-20 10:00", quiet: quiet("22:00", "10:00")) == [
            "0@2026-03-02T09:00:00Z", "1@2026-03-05T09:00:00Z", "2@2026-03-09T09:00:00Z", "3@2026-03-10T09:00:00Z",
        ])
    }

    @Test("a re-plan after the invitation went out keeps the reminder numbers and drops the past ones")
    func replanAfterInvitation() {
        // Invited 2 March 09:00 CET; now 6 March 13:00 CET: reminder 1 (5 March) is past.
        #expect(plan("2026-03-02", "2026-03-12", now: "2026-03-06 12:00", invitedAt: "2026-03-02 08:00")
                == ["2@2026-03-09T08:00:00Z", "3@2026-03-10T08:00:00Z"])
    }

    @Test("a reminder on the same instant as another is planned once")
    func duplicatesRemoved() throws {
        // Offsets 3 and 8 with a close 10 days after the opening: 8 days after = 2 days before the close.
        let json = #"{"id":"t","version":"1","title":"t","invitationAt":"09:00","reminderAt":"09:00","reminderOffsetsDays":[3,8],"lastReminderDaysBeforeClose":2,"minimumGapHours":0,"quietHours":{"start":"20:00","end":"09:00"}}"#
        let p = try ReminderPlanner(rules: try ReminderRules.decode(from: Data(json.utf8)))
        let out = p.plan(windowOpen: day("2026-03-02"), windowClose: day("2026-03-12"), now: utc("2026-02-01 00:00"),
                         timeZone: madrid, quietHours: quiet("20:00", "09:00"))
        #expect(out.map(\.sendAt) == [utc("2026-03-02 08:00"), utc("2026-03-05 08:00"), utc("2026-03-10 08:00")])
        #expect(out.map(\.kind) == [.invitation, .reminder(1), .reminder(2)])
    }

    @Test("every plan: at or after now, out of quiet hours, before the window end, strictly increasing")
    func invariants() {
        let sites: [(TimeZone, QuietHours)] = [(madrid, quiet("20:00", "09:00")), (newYork, quiet("21:00", "08:30")),
                                               (madrid, quiet("13:00", "15:00")), (newYork, quiet("00:00", "00:00"))]
        let windows = [("2026-03-03", "2026-03-03"), ("2026-03-25", "2026-04-08"), ("2026-10-20", "2026-11-03"), ("2026-02-01", "2026-02-04")]
        for (tz, q) in sites {
            for (open, close) in windows {
                let end = planner.windowEnd(day(close), timeZone: tz)
                var now = utc("\(day(open).adding(days: -2).iso) 00:00")
                while now < end.addingTimeInterval(86_400) {
                    let out = planner.plan(windowOpen: day(open), windowClose: day(close), now: now, timeZone: tz, quietHours: q)
                    for m in out {
                        #expect(m.sendAt >= now && m.sendAt < end && !q.isQuiet(m.sendAt, in: tz), "\(m) for \(open)…\(close) at \(now)")
                    }
                    #expect(zip(out, out.dropFirst()).allSatisfy { $0.sendAt < $1.sendAt })
                    if now >= end { #expect(out.isEmpty) }
                    now = now.addingTimeInterval(5 * 3600 + 17 * 60)
                }
            }
        }
    }
}
