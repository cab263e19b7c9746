import Foundation
import Testing
@testable import OssaCore

@Suite("Follow-up schedule")
struct ScheduleTests {
    let proto: FollowUpProtocol = {
        do { return try FollowUpProtocol.bundledDefault() } catch { fatalError("default protocol does not load: \(error)") }
    }()

    @Test("timepoints of the Ossa follow-up protocol are all present")
    func timepoints() {
        let s = proto.schedule(indexDate: day("2026-01-31"), joint: .knee)
        #expect(s.timepoints.map(\.id) == ["baseline", "diary-d1", "diary-d2", "diary-d3", "diary-d4", "diary-d5", "diary-d6", "diary-d7",
                                           "week-2", "week-6", "month-3", "month-6", "month-12", "month-24"])
    }

    @Test("dates for index 2026-01-31, computed by hand")
    func handComputed() throws {
        let s = proto.schedule(indexDate: day("2026-01-31"), joint: .knee)
        func check(_ id: String, _ target: String, _ open: String, _ close: String) throws {
            let tp = try #require(s[id])
            #expect(tp.targetDate == day(target), "\(id) target")
            #expect(tp.windowOpen == day(open), "\(id) open")
            #expect(tp.windowClose == day(close), "\(id) close")
        }
        try check("baseline", "2026-01-31", "2026-01-01", "2026-01-31")    // 30 days before
        try check("diary-d1", "2026-02-01", "2026-02-01", "2026-02-01")
        try check("diary-d7", "2026-02-07", "2026-02-07", "2026-02-07")
        try check("week-2", "2026-02-14", "2026-02-11", "2026-02-21")
        try check("week-6", "2026-03-14", "2026-03-07", "2026-03-28")      // Jan 31 + 42 days
        try check("month-3", "2026-04-30", "2026-04-16", "2026-05-28")     // Apr has 30 days: clamped
        try check("month-6", "2026-07-31", "2026-07-03", "2026-09-11")
        try check("month-12", "2027-01-31", "2026-12-31", "2027-03-31")
        try check("month-24", "2028-01-31", "2027-11-30", "2028-04-30")
    }

    @Test("one calendar month after 2026-01-31 is 2026-02-28")
    func oneMonth() throws {
        let json = #"{"id":"m","version":"1","title":"t","timepoints":[{"id":"m1","label":"1 month","offset":{"months":1},"windowBefore":{"days":7},"windowAfter":{"days":7},"instruments":[]}]}"#
        let p = try FollowUpProtocol.decode(from: Data(json.utf8))
        let tp = try #require(p.schedule(indexDate: day("2026-01-31"), joint: .hip)["m1"])
        #expect(tp.targetDate == day("2026-02-28"))
        #expect(tp.windowOpen == day("2026-02-21"))
        #expect(tp.windowClose == day("2026-03-07"))
        #expect(tp.isOpen(on: day("2026-03-07")) && !tp.isOpen(on: day("2026-03-08")))
    }

    @Test("windows do not overlap and instruments follow the joint")
    func windowsAndInstruments() throws {
        for index in ["2026-01-31", "2026-02-28", "2024-02-29", "2026-06-15"] {
            let s = proto.schedule(indexDate: day(index), joint: .hip)
            for (a, b) in zip(s.timepoints, s.timepoints.dropFirst()) {
                #expect(a.windowClose < b.windowOpen, "\(a.id) overlaps \(b.id) for index \(index)")
                #expect(a.windowOpen <= a.targetDate && a.targetDate <= a.windowClose)
            }
        }
        let knee = proto.schedule(indexDate: day("2026-01-31"), joint: .knee)
        let hip = proto.schedule(indexDate: day("2026-01-31"), joint: .hip)
        #expect(try #require(knee["month-12"]).instruments.contains("koos"))
        #expect(try #require(hip["month-12"]).instruments.contains("hoos"))
        #expect(!(try #require(hip["month-12"]).instruments.contains("koos")))
        #expect(try #require(knee["diary-d3"]).instruments == ["nrs-pain"])
    }

    @Test("protocol errors name the path")
    func protocolErrors() {
        func message(_ json: String) -> String? {
            do { _ = try FollowUpProtocol.decode(from: Data(json.utf8)); return nil } catch { return error.description }
        }
        let head = #""id":"m","version":"1","title":"t""#
        #expect(message(#"{\#(head),"timepoints":[{"id":"a","label":"A","offset":{"days":1,"months":1},"windowBefore":{"days":0},"windowAfter":{"days":0},"instruments":[]}]}"#)
                == "timepoints[0].offset: give exactly one of days, weeks or months")
        #expect(message(#"{\#(head),"timepoints":[{"id":"a","label":"A","offset":{"days":1},"windowBefore":{"days":-2},"windowAfter":{"days":0},"instruments":[]}]}"#)
                == "timepoints[0].windowBefore: -2 must not be negative")
        #expect(message(#"{\#(head),"timepoints":[{"id":"a","label":"A","offset":{"days":1},"windowBefore":{"days":0},"windowAfter":{"days":0},"instruments":[],"colour":1}]}"#)
                == #"timepoints[0].colour: unknown field "colour""#)
    }
}
