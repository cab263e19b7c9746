import Foundation
import OssaCore
import OssaStats
import Testing
@testable import OssaAnalytics

// Registry analytics on small extracts built by hand: the censoring rule, the cohort filters and their query
// parameters, the flow diagram, Table 1, the groupings, the outcome and responder tables, small-cell suppression,
// BML change, safety, CSV, and the literature comparison. Every expected figure is worked by hand (in a comment)
// or comes from R (the call is named beside it).

// MARK: - Building extracts

private let siteA = UUID(uuidString: "0000000A-0000-0000-0000-00000000000A")!
private let siteB = UUID(uuidString: "0000000B-0000-0000-0000-00000000000B")!

private func day(_ iso: String) -> CalendarDate {
    try! CalendarDate(iso: iso)
}

/// One episode with every cohort attribute given or left out. `treated`: the first IO procedure (nil: untreated);
/// a treated episode's follow-up defaults to 365 days ending at its last record.
private func episode(site: UUID = siteA, patient: UUID = UUID(), joint: Joint = .knee, diagnosis: Diagnosis.Kind = .osteoarthritis,
                     kl: Int? = nil, ahlback: Int? = nil, tonnis: Int? = nil, bml: Int? = nil, age: Int? = nil, sex: PatientSex? = nil,
                     bmi: Double? = nil, screened: Bool = false, screening: ScreeningCategory? = nil, product: ProductMix? = nil,
                     intraArticular: Bool = false, treated: String? = "2020-01-10", procedures: Int = 1, followUp: Int? = nil,
                     end: FollowUpEnd? = nil, replacement: Int? = nil, death: Int? = nil) -> ExtractEpisode {
    let first = treated.map(day)
    return ExtractEpisode(key: UUID(), patientKey: patient, siteID: site, joint: joint, side: .left, diagnosis: diagnosis,
                          kellgrenLawrence: kl, ahlback: ahlback, tonnis: tonnis, bmlBurden: bml, age: age, sex: sex, bmi: bmi,
                          screened: screened || screening != nil, screeningCategory: screening, product: product,
                          intraArticular: intraArticular, firstProcedure: first, ioProcedures: first == nil ? 0 : procedures,
                          followUpDays: first == nil ? nil : (followUp ?? replacement ?? death ?? 365),
                          followUpEnd: first == nil ? nil : (end ?? (death != nil ? .death : .lastRecord)),
                          replacementDay: replacement, deathDay: death)
}

/// A `RegistryExtract` assembled episode by episode (indexes are the order of `add`).
private struct ExtractBuilder {
    /// The bundled protocol's timepoints without the daily diary, as `AnalyticsExtractReader` lists them.
    static let codes = ["baseline", "week-2", "week-6", "month-3", "month-6", "month-12", "month-24"]
    /// Nominal days: 0, 2 and 6 weeks, then 3, 6, 12 and 24 months (chosen here; the analyses only divide them by 30.4375).
    static let days = [0, 14, 42, 91, 182, 365, 730]

    var episodes: [ExtractEpisode] = []
    var siteNames: [UUID: String] = [siteA: "Site A", siteB: "Site B"]
    var scoreKeys: [ScoreKey] = []
    var scoreEpisode: [Int32] = []
    var scoreKey: [UInt16] = []
    var scoreTimepoint: [UInt8] = []
    var scoreValue: [Double] = []
    var timepoints: [ExtractTimepoint] = []
    var bml: [ExtractBML] = []
    var adverseEvents: [ExtractAdverseEvent] = []
    var asOf = day("2021-06-01")

    @discardableResult
    mutating func add(_ e: ExtractEpisode) -> Int32 {
        episodes.append(e)
        return Int32(episodes.count - 1)
    }

    mutating func score(_ e: Int32, _ instrument: String, _ score: String, at code: String, _ value: Double) {
        let key = ScoreKey(instrument: instrument, score: score)
        let k: Int
        if let known = scoreKeys.firstIndex(of: key) {
            k = known
        } else {
            scoreKeys.append(key)
            k = scoreKeys.count - 1
        }
        scoreEpisode.append(e)
        scoreKey.append(UInt16(k))
        scoreTimepoint.append(UInt8(Self.codes.firstIndex(of: code)!))
        scoreValue.append(value)
    }

    mutating func timepoint(_ e: Int32, _ code: String, windowEnd: String, completed: Bool) {
        timepoints.append(ExtractTimepoint(episode: e, timepoint: UInt8(Self.codes.firstIndex(of: code)!), windowEnd: day(windowEnd),
                                           completed: completed))
    }

    var extract: RegistryExtract {
        RegistryExtract(episodes: episodes, siteNames: siteNames, timepointCodes: Self.codes, timepointDays: Self.days,
                        scoreKeys: scoreKeys, scoreEpisode: scoreEpisode, scoreKey: scoreKey, scoreTimepoint: scoreTimepoint,
                        scoreValue: scoreValue, timepoints: timepoints, bml: bml, adverseEvents: adverseEvents, asOf: asOf)
    }
}

private func context(minimumCellCount: Int? = nil) throws -> AnalysisContext {
    try AnalysisContext.builtIn(followUp: try FollowUpProtocol.bundledDefault(), minimumCellCount: minimumCellCount)
}

private func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= tolerance * max(1, abs(b))
}

/// `a=1&b=2` as query items.
private func query(_ text: String) -> [(name: String, value: String)] {
    text.split(separator: "&").map { pair in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
}

private func parseError(_ text: String) -> FieldValidationError? {
    do {
        _ = try CohortQuery.parse(query(text))
        return nil
    } catch {
        return error
    }
}

@Suite("Analyses")
struct AnalysesTests {
    // MARK: - FollowUpRule

    @Test("A replacement after death: censored at death with deathDay set, no event")
    func replacementAfterDeath() throws {
        let r = try #require(FollowUpRule.apply(.init(firstProcedure: day("2020-01-10"), deaths: [day("2020-06-01")],
                                                      replacements: [day("2020-09-01")], lastContact: day("2020-12-01"),
                                                      latestRecord: day("2020-09-01"))))
        // R: as.Date("2020-06-01") - as.Date("2020-01-10") = 143 days.
        #expect(r.end == .death)
        #expect(r.followUpDays == 143)
        #expect(r.deathDay == 143)
        #expect(r.replacementDay == nil)
    }

    @Test("A withdrawal ends follow-up even when later records and contacts exist")
    func withdrawalThenLaterRecords() throws {
        let r = try #require(FollowUpRule.apply(.init(firstProcedure: day("2020-01-10"), withdrawals: [day("2020-03-01")],
                                                      replacements: [day("2020-07-10")], lastContact: day("2021-02-01"),
                                                      latestRecord: day("2021-03-15"))))
        // R: as.Date("2020-03-01") - as.Date("2020-01-10") = 51 days; the replacement after the withdrawal is not seen.
        #expect(r.end == .withdrawal)
        #expect(r.followUpDays == 51)
        #expect(r.replacementDay == nil)
        #expect(r.deathDay == nil)
    }

    @Test("No IO procedure: no follow-up at all (left out of survival)")
    func noProcedure() {
        #expect(FollowUpRule.apply(.init(firstProcedure: nil, deaths: [day("2020-06-01")], replacements: [day("2020-03-01")],
                                         lastContact: day("2020-12-01"), latestRecord: day("2021-01-01"))) == nil)
    }

    @Test("No ending event: the later of the last contact and the latest record")
    func noEndingEvent() throws {
        let start = day("2020-01-10")
        // R: as.Date("2021-02-01") - as.Date("2020-01-10") = 388; as.Date("2021-03-15") - as.Date("2020-01-10") = 430.
        let contactLater = try #require(FollowUpRule.apply(.init(firstProcedure: start, lastContact: day("2021-02-01"),
                                                                 latestRecord: day("2020-08-10"))))
        #expect(contactLater.end == .lastRecord)
        #expect(contactLater.followUpDays == 388)
        let recordLater = try #require(FollowUpRule.apply(.init(firstProcedure: start, lastContact: day("2020-08-10"),
                                                                latestRecord: day("2021-02-01"))))
        #expect(recordLater.end == .lastRecord)
        #expect(recordLater.followUpDays == 388)
        let noContact = try #require(FollowUpRule.apply(.init(firstProcedure: start, latestRecord: day("2021-03-15"))))
        #expect(noContact.followUpDays == 430)
        // Nothing after the procedure: follow-up of 0 days.
        let nothing = try #require(FollowUpRule.apply(.init(firstProcedure: start)))
        #expect(nothing.followUpDays == 0)
        #expect(nothing.end == .lastRecord)
        #expect(nothing.replacementDay == nil && nothing.deathDay == nil)
    }

    @Test("Lost to follow-up ends follow-up at its last contact date")
    func lostToFollowUp() throws {
        let r = try #require(FollowUpRule.apply(.init(firstProcedure: day("2020-01-10"), lostToFollowUp: [day("2020-08-10")],
                                                      lastContact: day("2020-08-10"), latestRecord: day("2021-03-15"))))
        // R: as.Date("2020-08-10") - as.Date("2020-01-10") = 213 days.
        #expect(r.end == .lostToFollowUp)
        #expect(r.followUpDays == 213)
        #expect(r.replacementDay == nil && r.deathDay == nil)
    }

    @Test("A replacement on the very day follow-up ends is the event; a day later it is not")
    func replacementOnTheLastDay() throws {
        let start = day("2020-01-10")
        // R: as.Date("2020-05-10") - as.Date("2020-01-10") = 121 days.
        let sameDay = try #require(FollowUpRule.apply(.init(firstProcedure: start, withdrawals: [day("2020-05-10")],
                                                            replacements: [day("2020-05-10")])))
        #expect(sameDay.end == .withdrawal)
        #expect(sameDay.followUpDays == 121)
        #expect(sameDay.replacementDay == 121)
        // Replaced and died the same day: the replacement is the event, so death is not the competing risk.
        let deathSameDay = try #require(FollowUpRule.apply(.init(firstProcedure: start, deaths: [day("2020-05-10")],
                                                                 replacements: [day("2020-05-10")])))
        #expect(deathSameDay.replacementDay == 121)
        #expect(deathSameDay.deathDay == nil)
        let dayLater = try #require(FollowUpRule.apply(.init(firstProcedure: start, withdrawals: [day("2020-05-10")],
                                                             replacements: [day("2020-05-11")])))
        #expect(dayLater.replacementDay == nil)
        #expect(dayLater.followUpDays == 121)
    }

    @Test("Two replacements: the first is the event")
    func twoReplacements() throws {
        let r = try #require(FollowUpRule.apply(.init(firstProcedure: day("2020-01-10"),
                                                      replacements: [day("2021-01-10"), day("2020-07-10")],
                                                      latestRecord: day("2021-01-10"))))
        // R: as.Date("2020-07-10") - as.Date("2020-01-10") = 182; as.Date("2021-01-10") - as.Date("2020-01-10") = 366.
        #expect(r.replacementDay == 182)
        #expect(r.followUpDays == 366)
        #expect(r.end == .lastRecord)
    }

    @Test("The earliest of death, withdrawal and loss ends follow-up")
    func earliestEndingEvent() throws {
        let r = try #require(FollowUpRule.apply(.init(firstProcedure: day("2020-01-10"), deaths: [day("2020-06-01")],
                                                      withdrawals: [day("2020-04-01")], lostToFollowUp: [day("2020-08-10")])))
        // R: as.Date("2020-04-01") - as.Date("2020-01-10") = 82 days; death came later, so it is not the competing risk.
        #expect(r.end == .withdrawal)
        #expect(r.followUpDays == 82)
        #expect(r.deathDay == nil)
    }

    // MARK: - CohortFilter

    @Test("Each filter keeps the episodes it names; a bounded range leaves out missing values")
    func filters() {
        let a = episode(site: siteA, joint: .knee, diagnosis: .osteoarthritis, kl: 3, ahlback: 2, bml: 4, age: 62, sex: .female,
                        bmi: 27.5, screening: .recommended, product: .prp, intraArticular: true, treated: "2021-03-01")
        let b = episode(site: siteB, joint: .hip, diagnosis: .avascularNecrosis, tonnis: 1, bml: 0, age: 45, sex: .male, bmi: 31,
                        screening: .consider, product: .bmc, treated: "2019-05-05")
        // Nothing recorded, untreated.
        let c = episode(site: siteA, joint: .knee, diagnosis: .boneMarrowLesion, treated: nil)
        let all = [a, b, c]
        func kept(_ f: CohortFilter) -> [UUID] { all.filter(f.matches).map(\.key) }

        #expect(kept(CohortFilter()) == [a.key, b.key, c.key])
        #expect(kept(CohortFilter(site: [siteA])) == [a.key, c.key])
        #expect(kept(CohortFilter(joint: [.hip])) == [b.key])
        #expect(kept(CohortFilter(diagnosis: [.osteoarthritis, .avascularNecrosis])) == [a.key, b.key])
        #expect(kept(CohortFilter(product: [.prp])) == [a.key])
        #expect(kept(CohortFilter(product: [.bmc, .both])) == [b.key])
        #expect(kept(CohortFilter(intraArticular: true)) == [a.key])
        #expect(kept(CohortFilter(intraArticular: false)) == [b.key, c.key])
        #expect(kept(CohortFilter(kellgrenLawrence: .init(min: 3))) == [a.key])
        // KL 0 and up still needs a grade: the episodes without one are not "KL 0–4".
        #expect(kept(CohortFilter(kellgrenLawrence: .init(min: 0))) == [a.key])
        #expect(kept(CohortFilter(kellgrenLawrence: .init(max: 2))).isEmpty)
        #expect(kept(CohortFilter(ahlback: .init(min: 2, max: 2))) == [a.key])
        #expect(kept(CohortFilter(tonnis: .init(max: 1))) == [b.key])
        #expect(kept(CohortFilter(bmlBurden: .init(max: 0))) == [b.key])
        #expect(kept(CohortFilter(bmlBurden: .init(min: 0))) == [a.key, b.key])
        #expect(kept(CohortFilter(age: .init(min: 50, max: 70))) == [a.key])
        #expect(kept(CohortFilter(age: .init(min: 40))) == [a.key, b.key])
        #expect(kept(CohortFilter(sex: [.male])) == [b.key])
        #expect(kept(CohortFilter(sex: [.female, .male, .other, .unknown])) == [a.key, b.key])
        #expect(kept(CohortFilter(bmi: .init(min: 30))) == [b.key])
        // Inclusive ends.
        #expect(kept(CohortFilter(bmi: .init(max: 27.5))) == [a.key])
        #expect(kept(CohortFilter(year: .init(min: 2020))) == [a.key])
        #expect(kept(CohortFilter(year: .init(max: 2019))) == [b.key])
        #expect(kept(CohortFilter(screening: [.recommended])) == [a.key])
        #expect(kept(CohortFilter(screening: [.recommended, .consider, .notNow, .refer])) == [a.key, b.key])
        // Filters combine with AND.
        #expect(kept(CohortFilter(site: [siteA], joint: [.knee], kellgrenLawrence: .init(min: 3))) == [a.key])
        #expect(kept(CohortFilter(site: [siteB], joint: [.knee])).isEmpty)
    }

    // MARK: - CohortQuery

    @Test("Query errors name the parameter", arguments: [
        ("joint=elbow", "joint"),
        ("group=height", "group"),
        ("ageMin=50&ageMin=60", "ageMin"),
        ("group=sex&group=joint", "group"),
        ("intraArticular=true&intraArticular=false", "intraArticular"),
        ("klmin=3", "klmin"),
        ("kneeOnly=true", "kneeOnly"),
        ("klMin=three", "klMin"),
        ("klMax=5", "klMax"),
        ("bmiMin=heavy", "bmiMin"),
        ("tonnisMax=4", "tonnisMax"),
        ("ageMax=131", "ageMax"),
        ("intraArticular=yes", "intraArticular"),
        ("site=not-a-site", "site"),
        ("sex=f", "sex"),
        ("covariate=height", "covariate"),
        // Years are given as yearFrom / yearTo, so their errors must name those parameters.
        ("yearFrom=1800", "yearFrom"),
        ("yearTo=2300", "yearTo"),
    ])
    func queryErrors(text: String, path: String) throws {
        let e = try #require(parseError(text), "\(text) was accepted")
        #expect(e.path == path, "\(text): \(e)")
    }

    @Test("The page refuses a range that ends before it starts, naming its upper end; the API lets it match nothing", arguments: [
        ("klMin=3&klMax=2", "klMax"),
        ("ahlbackMin=4&ahlbackMax=2", "ahlbackMax"),
        ("bmiMin=35&bmiMax=30", "bmiMax"),
        ("ageMin=70&ageMax=60", "ageMax"),
        ("bmlBurdenMin=5&bmlBurdenMax=1", "bmlBurdenMax"),
        ("yearFrom=2022&yearTo=2020", "yearTo"),
    ])
    func reversedRanges(text: String, path: String) throws {
        do {
            _ = try CohortQuery.parse(query(text), orderedRanges: true)
            Issue.record("\(text) was accepted by the page's reading")
        } catch {
            #expect(error.path == path, "\(text): \(error)")
        }
        // The API's reading (AnalyticsAPI: "the API lets it match nothing").
        let definition = try CohortQuery.parse(query(text))
        let everything = episode(kl: 3, ahlback: 3, bml: 3, age: 65, bmi: 32, treated: "2021-01-01")
        #expect(!definition.filter.matches(everything), "\(text)")
    }

    @Test("Empty values are 'not set' and ignored names are skipped")
    func queryEmptyAndIgnored() throws {
        let d = try CohortQuery.parse(query("joint=&klMin=&group=&format=csv"), ignoring: ["format"])
        #expect(d == CohortDefinition())
        let repeated = try CohortQuery.parse(query("joint=knee&joint=knee&joint=hip&covariate=age&covariate=age"))
        #expect(repeated.filter.joint == [.knee, .hip])
        #expect(repeated.covariates == [.age])
    }

    @Test("items() round-trips through parse")
    func queryRoundTrip() throws {
        let definition = CohortDefinition(
            filter: CohortFilter(site: [siteA, siteB], joint: [.knee, .hip], diagnosis: [.osteoarthritis, .boneBruise],
                                 product: [.prp, .both], intraArticular: false, kellgrenLawrence: .init(min: 2, max: 4),
                                 ahlback: .init(min: 1, max: 3), tonnis: .init(max: 2), bmlBurden: .init(min: 1),
                                 age: .init(min: 40, max: 80), sex: [.female, .other], bmi: .init(min: 18.5, max: 30),
                                 year: .init(min: 2019, max: 2024), screening: [.recommended, .notNow]),
            group: .bmi, covariates: [.age, .bmc])
        let items = CohortQuery.items(definition)
        #expect(try CohortQuery.parse(items) == definition)
        let pairs = items.map { "\($0.name)=\($0.value)" }
        #expect(pairs.contains("bmiMin=18.5") && pairs.contains("bmiMax=30"))
        #expect(pairs.contains("yearFrom=2019") && pairs.contains("yearTo=2024"))
        #expect(pairs.contains("site=\(siteA.uuidString.lowercased())"))
        #expect(pairs.contains("group=bmi") && pairs.contains("screening=not-now"))
        // Every name it writes is one parse reads.
        #expect(items.allSatisfy { CohortQuery.names.contains($0.name) })
        // The empty definition has no items; the name is never written.
        #expect(CohortQuery.items(CohortDefinition(name: "Mine")).isEmpty)
        #expect(try CohortQuery.parse(CohortQuery.items(CohortDefinition(group: .sex))) == CohortDefinition(group: .sex))
    }

    @Test("A cohort file is strict JSON: unknown keys are refused, values are validated")
    func cohortFileIsStrict() throws {
        let good = try CohortDefinition.decode(from: Data("""
            {"name": "Knee OA", "filter": {"joint": ["knee"], "kellgrenLawrence": {"min": 2}}, "group": "sex", "covariates": ["age"]}
            """.utf8))
        #expect(good == CohortDefinition(name: "Knee OA", filter: CohortFilter(joint: [.knee], kellgrenLawrence: .init(min: 2)),
                                         group: .sex, covariates: [.age]))
        // Leaving everything out is the whole registry.
        #expect(try CohortDefinition.decode(from: Data("{}".utf8)) == CohortDefinition())
        for text in [#"{"filters": {}}"#, #"{"filter": {"knee": true}}"#, #"{"filter": {"age": {"from": 40}}}"#,
                     #"{"filter": {"joint": ["knee"]}, "grouping": "sex"}"#] {
            #expect(throws: (any Error).self, "\(text)") { _ = try CohortDefinition.decode(from: Data(text.utf8)) }
        }
        do {
            _ = try CohortDefinition.decode(from: Data(#"{"filter": {"jointt": ["knee"]}}"#.utf8))
            Issue.record("a misspelt filter was accepted")
        } catch let error as FieldValidationError {
            #expect(error.path.contains("jointt"), "\(error)")
        }
        // Validated after decoding; a problem is named by its place in the file.
        do {
            _ = try CohortDefinition.decode(from: Data(#"{"filter": {"kellgrenLawrence": {"min": 7}}}"#.utf8))
            Issue.record("KL 7 was accepted")
        } catch let error as FieldValidationError {
            #expect(error.path == "filter.kellgrenLawrence.min")
        }
        do {
            _ = try CohortDefinition.decode(from: Data(#"{"covariates": ["age", "age"]}"#.utf8))
            Issue.record("a covariate listed twice was accepted")
        } catch let error as FieldValidationError {
            #expect(error.path == "covariates")
        }
        #expect(throws: FieldValidationError.self) { _ = try CohortDefinition.decode(from: Data(#"{"name": "  "}"#.utf8)) }
    }

    // MARK: - Flow

    @Test("Flow: matching, screened, recommended, treated, then treated episodes with a questionnaire per timepoint")
    func flowCounts() throws {
        var b = ExtractBuilder()
        let e0 = b.add(episode(screening: .recommended))
        let e1 = b.add(episode(screening: .recommended))
        let e2 = b.add(episode(screening: .consider))
        b.add(episode())  // treated, never screened, no questionnaire
        let e4 = b.add(episode(screening: .recommended, treated: nil))
        b.add(episode(screening: .refer, treated: nil))
        let hip = b.add(episode(joint: .hip, screening: .recommended))
        b.score(e0, "koos", "pain", at: "baseline", 40)
        b.score(e0, "nrs-pain", "score", at: "baseline", 6)  // two scores, one episode
        b.score(e1, "koos", "pain", at: "baseline", 45)
        b.score(e2, "koos", "pain", at: "baseline", 50)
        b.score(e4, "koos", "pain", at: "baseline", 30)  // untreated: not counted
        b.score(hip, "hoos", "pain", at: "baseline", 30)  // outside the filter
        b.score(e0, "koos", "pain", at: "month-3", 60)
        b.score(e2, "koos", "pain", at: "month-3", 62)
        let report = try AnalyticsReport(b.extract, CohortDefinition(filter: CohortFilter(joint: [.knee])), try context())
        let counts = Dictionary(uniqueKeysWithValues: report.flow.steps.map { ($0.id, $0.count.value) })
        // By hand: 6 knee episodes; 5 screened (e0, e1, e2, e4, and the referred one); 3 recommended (e0, e1, e4);
        // 4 treated (e0–e3); baseline questionnaires from e0, e1, e2; month 3 from e0 and e2.
        #expect(report.flow.steps.map(\.id) == ["matching", "screened", "recommended", "treated"] + ExtractBuilder.codes)
        #expect(counts["matching"] == 6)
        #expect(counts["screened"] == 5)
        #expect(counts["recommended"] == 3)
        #expect(counts["treated"] == 4)
        #expect(counts["baseline"] == 3)
        #expect(counts["week-2"] == 0)
        #expect(counts["month-3"] == 2)
        #expect(counts["month-24"] == 0)
        #expect(report.flow.steps.first { $0.id == "baseline" }?.label == "With a baseline questionnaire")
        #expect(report.flow.steps.first { $0.id == "month-3" }?.label == "With a 3 months questionnaire")
        #expect(report.flow.steps.allSatisfy { !$0.count.suppressed })
    }

    // MARK: - Table 1

    @Test("Table 1: means ± SD and category percentages, overall and per group")
    func baselineTable() throws {
        var b = ExtractBuilder()
        let k1 = b.add(episode(joint: .knee, kl: 3, age: 50, sex: .female, bmi: 25))
        let k2 = b.add(episode(joint: .knee, kl: 4, age: 60, sex: .male, bmi: 30))
        b.add(episode(joint: .knee, age: 70, sex: .female))
        b.add(episode(joint: .hip))
        b.add(episode(joint: .knee, age: 99, sex: .female, bmi: 40, treated: nil))  // untreated: not in Table 1
        b.score(k1, "koos", "pain", at: "baseline", 40)
        b.score(k2, "koos", "pain", at: "baseline", 50)
        let report = try AnalyticsReport(b.extract, CohortDefinition(group: .joint), try context())
        let table = report.baseline
        #expect(table.columns == ["All", "Knee", "Hip"])
        #expect(table.n.map(\.value) == [4, 3, 1])

        let age = try #require(table.variables.first { $0.id == "age" }?.means)
        // R: mean(c(50, 60, 70)) = 60, sd(c(50, 60, 70)) = 10.
        #expect(age[0].n.value == 3)
        #expect(close(age[0].mean, 60))
        #expect(close(age[0].sd, 10))
        #expect(close(age[1].mean, 60) && close(age[1].sd, 10))
        #expect(age[2].n.value == 0 && age[2].mean == nil)
        let bmi = try #require(table.variables.first { $0.id == "bmi" }?.means)
        // R: mean(c(25, 30)) = 27.5, sd(c(25, 30)) = 3.53553390593274.
        #expect(bmi[0].n.value == 2)
        #expect(close(bmi[0].mean, 27.5))
        #expect(close(bmi[0].sd, 3.53553390593274, 1e-12))

        func categories(_ id: String) throws -> [String: BaselineTable.Category] {
            let list = try #require(table.variables.first { $0.id == id }?.categories)
            // "Not recorded", when present, comes last.
            if let i = list.firstIndex(where: { $0.label == "Not recorded" }) { #expect(i == list.count - 1, "\(id)") }
            return Dictionary(uniqueKeysWithValues: list.map { ($0.label, $0) })
        }
        let sex = try categories("sex")
        // By hand, All: female 2/4 = 50 %, male 1/4 = 25 %, not recorded (the hip) 1/4 = 25 %;
        // Knee: 2/3, 1/3, 0; Hip: 0, 0, 1/1.
        let female = try #require(sex["female"]), male = try #require(sex["male"]), noSex = try #require(sex["Not recorded"])
        #expect(female.counts.map(\.value) == [2, 2, 0])
        #expect(close(female.percents[0], 50) && close(female.percents[1], 200.0 / 3) && close(female.percents[2], 0))
        #expect(male.counts.map(\.value) == [1, 1, 0])
        #expect(close(male.percents[0], 25) && close(male.percents[1], 100.0 / 3))
        #expect(noSex.counts.map(\.value) == [1, 0, 1])
        #expect(close(noSex.percents[0], 25) && close(noSex.percents[1], 0) && close(noSex.percents[2], 100))
        // Nobody is "other" or "unknown": such a row, if listed, holds zeros.
        for label in ["other", "unknown"] { #expect(sex[label].map { $0.counts.allSatisfy { $0.value == 0 } } ?? true) }

        let kl = try categories("kellgrenLawrence")
        // By hand: KL 3 1/4 = 25 %, KL 4 1/4 = 25 %, not recorded 2/4 = 50 % (Knee: 1/3, 1/3, 1/3).
        #expect(close(kl["KL 3"]?.percents[0], 25) && close(kl["KL 4"]?.percents[0], 25) && close(kl["Not recorded"]?.percents[0], 50))
        #expect(close(kl["KL 3"]?.percents[1], 100.0 / 3) && close(kl["Not recorded"]?.percents[2], 100))
        let joint = try categories("joint")
        // No joint is ever missing, so there is no "Not recorded" row.
        #expect(joint["Not recorded"] == nil)
        #expect(close(joint["knee"]?.percents[0], 75) && close(joint["hip"]?.percents[0], 25))
        #expect(close(joint["knee"]?.percents[1], 100) && close(joint["hip"]?.percents[2], 100))

        let pain = try #require(table.variables.first { $0.id == "baseline:koos:pain" })
        #expect(pain.label == "Baseline KOOS pain")
        // By hand: (40 + 50) / 2 = 45 (both knees); none at the hip.
        #expect(close(pain.means?[0].mean, 45) && close(pain.means?[1].mean, 45))
        #expect(pain.means?[2].n.value == 0)
    }

    // MARK: - Grouping

    @Test("Groups come in their natural order with 'Not recorded' last; untreated episodes are in none")
    func groupingLabelsAndOrder() throws {
        func labels(_ group: CohortGrouping, _ episodes: [ExtractEpisode], siteNames: [UUID: String]? = nil) -> [String] {
            var b = ExtractBuilder()
            for e in episodes { b.add(e) }
            if let siteNames { b.siteNames = siteNames }
            return Cohort(b.extract, CohortDefinition(group: group)).groups.map(\.label)
        }
        let untreated = episode(kl: 1, bml: 20, age: 75, sex: .other, bmi: 40, screening: .notNow, product: .bmc, treated: nil)
        #expect(labels(.none, [episode(), episode()]) == ["All"])
        #expect(labels(.age, [episode(age: 45), episode(age: 55), episode(age: 85), episode(), episode(age: 65), episode(age: 50), untreated])
                == ["Under 50", "50–59", "60–69", "80 and over", "Not recorded"])
        #expect(labels(.bmlBurden, [episode(bml: 7), episode(bml: 0), episode(), episode(bml: 4), episode(bml: 3), untreated])
                == ["BML burden 0", "BML burden 1–3", "BML burden 4–6", "BML burden ≥ 7", "Not recorded"])
        #expect(labels(.bmi, [episode(), episode(bmi: 35), episode(bmi: 29.95), episode(bmi: 24.99), episode(bmi: 30), episode(bmi: 25)])
                == ["BMI < 25", "BMI 25–29.9", "BMI 30–34.9", "BMI ≥ 35", "Not recorded"])
        #expect(labels(.kellgrenLawrence, [episode(kl: 4), episode(), episode(kl: 2), untreated]) == ["KL 2", "KL 4", "Not recorded"])
        #expect(labels(.ahlback, [episode(ahlback: 3), episode(ahlback: 1)]) == ["Ahlbäck I", "Ahlbäck III"])
        #expect(labels(.tonnis, [episode(joint: .hip, tonnis: 2), episode(joint: .hip, tonnis: 0)]) == ["Tönnis 0", "Tönnis 2"])
        #expect(labels(.product, [episode(product: .both), episode(), episode(product: .prp), episode(product: .bmc)])
                == ["PRP", "BMC", "PRP and BMC", "Not recorded"])
        #expect(labels(.site, [episode(site: siteA), episode(site: siteB)], siteNames: [siteA: "Zurich", siteB: "Basel"]) == ["Basel", "Zurich"])
        #expect(labels(.sex, [episode(sex: .male), episode(), episode(sex: .female), untreated]) == ["Female", "Male", "Not recorded"])
        #expect(labels(.year, [episode(treated: "2021-05-01"), episode(treated: "2019-02-01"), untreated]) == ["2019", "2021"])
        #expect(labels(.intraArticular, [episode(), episode(intraArticular: true)]) == ["With intra-articular", "IO only"])
        #expect(labels(.screening, [episode(screening: .refer), episode(), episode(screening: .recommended), episode(screening: .notNow)])
                == ["Recommended", "Not Now", "Refer", "Not recorded"])
        #expect(labels(.joint, [episode(joint: .hip), episode(joint: .knee)]) == ["Knee", "Hip"])
        #expect(labels(.diagnosis, [episode(diagnosis: .boneMarrowLesion), episode(diagnosis: .osteoarthritis)])
                == ["Osteoarthritis", "Bone Marrow Lesion"])

        // Members and groupOf: the two 50–59 episodes together, the untreated one outside every group.
        var b = ExtractBuilder()
        let x = b.add(episode(age: 55)), y = b.add(episode(age: 50)), z = b.add(untreated), w = b.add(episode(age: 30))
        let cohort = Cohort(b.extract, CohortDefinition(group: .age))
        #expect(cohort.matching == [x, y, z, w])
        #expect(cohort.treated == [x, y, w])
        #expect(cohort.groups.map(\.label) == ["Under 50", "50–59"])
        #expect(cohort.groups[1].members == [x, y])
        #expect(cohort.groupOf == [1, 1, -1, 0])
    }

    // MARK: - Outcomes

    /// KOOS pain at baseline and 6 months for six knees, plus the episodes that must stay out of the completion
    /// rate's denominator. Procedures on 2020-01-10; the 6-month window closes on 2020-08-21 (day 224).
    private func outcomeExtract() -> ExtractBuilder {
        var b = ExtractBuilder()
        b.asOf = day("2021-01-15")
        let baseline: [Double] = [40, 45, 50, 38, 60, 52]
        let month6: [Double] = [55, 50, 72, 45, 70, 50]
        for i in 0..<6 {
            let e = b.add(episode(followUp: 500))
            b.score(e, "koos", "pain", at: "baseline", baseline[i])
            if i == 0 { b.score(e, "koos", "pain", at: "month-6", 30) }  // a first response, repeated below
            b.score(e, "koos", "pain", at: "month-6", month6[i])
            b.timepoint(e, "month-6", windowEnd: "2020-08-21", completed: true)
        }
        // Due and not answered.
        let missed = b.add(episode(followUp: 500))
        b.score(missed, "koos", "pain", at: "baseline", 47)
        b.timepoint(missed, "month-6", windowEnd: "2020-08-21", completed: false)
        // Died (day 100) and replaced (day 150) before the window closed: not due.
        let dead = b.add(episode(death: 100))
        b.timepoint(dead, "month-6", windowEnd: "2020-08-21", completed: false)
        let replaced = b.add(episode(followUp: 500, replacement: 150))
        b.timepoint(replaced, "month-6", windowEnd: "2020-08-21", completed: false)
        // The window is still open on asOf.
        let open = b.add(episode(treated: "2020-07-01", followUp: 190))
        b.timepoint(open, "month-6", windowEnd: "2021-02-11", completed: false)
        // A hip: the protocol asks the HOOS there, not the KOOS.
        let hip = b.add(episode(joint: .hip, followUp: 500))
        b.timepoint(hip, "month-6", windowEnd: "2020-08-21", completed: false)
        // Died on day 400, after the window closed: was due.
        let diedLater = b.add(episode(death: 400))
        b.timepoint(diedLater, "month-6", windowEnd: "2020-08-21", completed: false)
        return b
    }

    @Test("Outcome table: mean and CI, paired change and completion against R")
    func outcomeTable() throws {
        let report = try AnalyticsReport(outcomeExtract().extract, CohortDefinition(), try context())
        let row = try #require(report.outcomes.rows.first { $0.instrument == "koos" && $0.score == "pain" })
        #expect(row.higherIsBetter)
        #expect(row.range == [0, 100])
        #expect(row.series.map(\.group) == ["All"])
        let cells = row.series[0].cells
        #expect(cells.map(\.timepoint) == ["baseline", "month-6"])
        let m6 = try #require(cells.last)
        #expect(close(m6.months, 182 / 30.4375))
        // The repeat at 6 months keeps one value (the later, 55): six values.
        #expect(m6.score.n.value == 6)
        // R: t.test(c(55, 50, 72, 45, 70, 50))$conf.int = 45.1269910817713 68.8730089182287; mean 57, sd 11.3137084989848.
        #expect(close(m6.score.mean, 57))
        #expect(close(m6.score.sd, 11.3137084989848, 1e-12))
        #expect(close(m6.score.lower, 45.1269910817713, 1e-12))
        #expect(close(m6.score.upper, 68.8730089182287, 1e-12))
        // R: t.test(c(55, 50, 72, 45, 70, 50), c(40, 45, 50, 38, 60, 52), paired = TRUE): mean difference 9.5,
        // conf.int 0.776418297865433 18.223581702134567.
        let change = try #require(m6.change)
        #expect(change.n.value == 6)
        #expect(close(change.mean, 9.5))
        #expect(close(change.lower, 0.776418297865433, 1e-12))
        #expect(close(change.upper, 18.223581702134567, 1e-12))
        // Completion by hand: due = the six who answered, the one who missed, and the one who died after the window
        // (8); not due: died or replaced before it closed, window still open, hip (no KOOS asked). 6 / 8.
        // R: binom.test(6, 8)$conf.int = 0.349144205587176 0.968145973750056.
        #expect(m6.completion.count.value == 6)
        #expect(m6.completion.total.value == 8)
        #expect(close(m6.completion.proportion, 0.75))
        #expect(close(m6.completion.lower, 0.349144205587176, 1e-9))
        #expect(close(m6.completion.upper, 0.968145973750056, 1e-9))
        // Baseline: seven values; R: t.test(c(40, 45, 50, 38, 60, 52, 47))$conf.int = 40.5106027673042 54.3465400898387.
        let base = try #require(cells.first)
        #expect(base.change == nil)
        #expect(base.score.n.value == 7)
        #expect(close(base.score.mean, 47.4285714285714, 1e-12))
        #expect(close(base.score.lower, 40.5106027673042, 1e-12))
        #expect(close(base.score.upper, 54.3465400898387, 1e-12))
    }

    @Test("Responders: KOOS pain MCII (10 points and 20 %) with Clopper–Pearson CIs against R")
    func responderRates() throws {
        let report = try AnalyticsReport(outcomeExtract().extract, CohortDefinition(), try context())
        let points = try #require(report.responders.rows.first { $0.id == "koos-pain-mcii-roos-2003" })
        #expect(points.kind == "mcii")
        #expect(points.label == "KOOS pain MCII (10 points)")
        let cell = try #require(points.series.first?.cells.first { $0.timepoint == "month-6" })
        // By hand: changes 15, 5, 22, 7, 10, −2; at least 10 points: 15, 22 and 10 → 3 of 6.
        // R: binom.test(3, 6)$conf.int = 0.118117248757025 0.881882751242975.
        #expect(cell.rate.count.value == 3)
        #expect(cell.rate.total.value == 6)
        #expect(close(cell.rate.proportion, 0.5))
        #expect(close(cell.rate.lower, 0.118117248757025, 1e-9))
        #expect(close(cell.rate.upper, 0.881882751242975, 1e-9))
        // By hand, relative: 15/40 = 37.5 %, 5/45 = 11 %, 22/50 = 44 %, 7/38 = 18 %, 10/60 = 17 %, −2/52 → 2 of 6 reach 20 %.
        // R: binom.test(2, 6)$conf.int = 0.0432718682927417 0.7772219044964879.
        let percent = try #require(report.responders.rows.first { $0.id == "koos-pain-mcii-relative-20" })
        let relative = try #require(percent.series.first?.cells.first { $0.timepoint == "month-6" })
        #expect(relative.rate.count.value == 2 && relative.rate.total.value == 6)
        #expect(close(relative.rate.lower, 0.0432718682927417, 1e-9))
        #expect(close(relative.rate.upper, 0.7772219044964879, 1e-9))
    }

    @Test("OMERACT-OARSI 2004 worked by hand")
    func omeractOarsi() throws {
        var b = ExtractBuilder()
        func patient(pain: (Double, Double?), adl: (Double, Double?), pga: (Double, Double)?) {
            let e = b.add(episode())
            b.score(e, "koos", "pain", at: "baseline", pain.0)
            b.score(e, "koos", "adl", at: "baseline", adl.0)
            if let f = pain.1 { b.score(e, "koos", "pain", at: "month-6", f) }
            if let f = adl.1 { b.score(e, "koos", "adl", at: "month-6", f) }
            if let pga {
                b.score(e, "pga", "score", at: "baseline", pga.0)
                b.score(e, "pga", "score", at: "month-6", pga.1)
            }
        }
        // Domains on 0–100, higher = worse: KOOS as 100 − score, PGA × 10.
        // 1: pain 60 → 30 (−30 points, −50 %): high improvement (≥ 50 % and ≥ 20) → responder.
        patient(pain: (40, 70), adl: (50, 52), pga: nil)
        // 2: pain 50 → 38 (12 points, 24 %) improved; function 50 → 45 (5) not; global 60 → 40 (20, 33 %) improved:
        //    2 of 3 → responder.
        patient(pain: (50, 62), adl: (50, 55), pga: (6, 4))
        // 3: the same without a global: only pain improved → not a responder.
        patient(pain: (50, 62), adl: (50, 55), pga: nil)
        // 4: pain 50 → 45 (5) not; function 50 → 30 (20, 40 %) improved but not high (< 50 %); global unchanged →
        //    1 of 3 → not a responder.
        patient(pain: (50, 55), adl: (50, 70), pga: (5, 5))
        // 5: no follow-up: not evaluable.
        patient(pain: (50, nil), adl: (50, nil), pga: nil)
        let report = try AnalyticsReport(b.extract, CohortDefinition(), try context())
        let row = try #require(report.responders.rows.first { $0.id == "omeract-oarsi-2004" })
        #expect(row.kind == "omeract-oarsi")
        let cell = try #require(row.series.first?.cells.first { $0.timepoint == "month-6" })
        // 2 of 4; R: binom.test(2, 4)$conf.int = 0.067585986488543 0.932414013511457.
        #expect(cell.rate.count.value == 2)
        #expect(cell.rate.total.value == 4)
        #expect(close(cell.rate.lower, 0.067585986488543, 1e-9))
        #expect(close(cell.rate.upper, 0.932414013511457, 1e-9))
    }

    // MARK: - Suppression

    @Test("Researchers: small counts, proportions and means are suppressed")
    func suppressionOfCellsAndFigures() throws {
        let k = try context(minimumCellCount: 5)
        #expect(Count(4, k).suppressed && Count(4, k).value == nil)
        #expect(Count(4, k).text(k) == "<5")
        #expect(!Count(5, k).suppressed && Count(5, k).value == 5)
        // A proportion over fewer than five is hidden; so is one whose numerator is small (it could be worked back).
        let overFour = ProportionCI(3, of: 4, k)
        #expect(overFour.total.suppressed && overFour.proportion == nil && overFour.lower == nil && overFour.upper == nil)
        let smallCount = ProportionCI(2, of: 10, k)
        #expect(smallCount.count.suppressed && smallCount.total.value == 10 && smallCount.proportion == nil)
        let shown = ProportionCI(6, of: 10, k)
        #expect(close(shown.proportion, 0.6))
        // Staff see everything.
        let staff = try context()
        #expect(!Count(1, staff).suppressed && close(ProportionCI(1, of: 2, staff).proportion, 0.5))

        var b = ExtractBuilder()
        for i in 0..<6 {
            let e = b.add(episode(joint: .knee, age: i < 4 ? 60 + i : nil, sex: .female, bmi: 25 + Double(i), screened: i < 3))
            if i < 4 { b.score(e, "koos", "pain", at: "month-6", 60) }
        }
        for _ in 0..<3 { b.add(episode(joint: .hip, sex: .male, bmi: 30)) }
        let report = try AnalyticsReport(b.extract, CohortDefinition(group: .joint), k)
        let flow = Dictionary(uniqueKeysWithValues: report.flow.steps.map { ($0.id, $0.count) })
        #expect(flow["treated"]?.value == 9)
        #expect(flow["screened"]?.suppressed == true && flow["screened"]?.value == nil)
        #expect(flow["month-6"]?.suppressed == true)
        // Table 1: four ages → no mean; six BMIs in "All" shown; the hip column (3) suppressed.
        #expect(report.baseline.n.map(\.value) == [9, 6, nil])
        let age = try #require(report.baseline.variables.first { $0.id == "age" }?.means?[0])
        #expect(age.n.suppressed && age.mean == nil && age.sd == nil)
        let bmi = try #require(report.baseline.variables.first { $0.id == "bmi" }?.means)
        #expect(bmi[0].n.value == 9 && bmi[0].mean != nil)
        #expect(bmi[2].n.suppressed && bmi[2].mean == nil)
        let sex = try #require(report.baseline.variables.first { $0.id == "sex" }?.categories)
        // female 6 of 9 shown; male 3 of 9 suppressed, with no percent.
        let female = try #require(sex.first { $0.label == "female" }), male = try #require(sex.first { $0.label == "male" })
        #expect(female.counts[0].value == 6 && close(female.percents[0], 600.0 / 9))
        #expect(male.counts[0].suppressed && male.counts[0].value == nil && male.percents[0] == nil)
        // Four KOOS scores at 6 months: no mean and no CI.
        let cell = try #require(report.outcomes.rows.first?.series.first?.cells.first { $0.timepoint == "month-6" })
        #expect(cell.score.n.suppressed && cell.score.mean == nil && cell.score.lower == nil && cell.score.upper == nil)
    }

    @Test("Researchers: KM steps with fewer than five at risk are dropped; groups under five are left out")
    func suppressionOfSurvival() throws {
        var b = ExtractBuilder()
        // Knees: times 10–60 with replacements at 20 and 50 (at risk 6, 5, 4, 3, 2, 1).
        for (t, event) in [(10, false), (20, true), (30, false), (40, false), (50, true), (60, false)] {
            b.add(episode(joint: .knee, followUp: t, replacement: event ? t : nil))
        }
        for t in [15, 25, 35] { b.add(episode(joint: .hip, followUp: t, replacement: t)) }
        let extract = b.extract
        let definition = CohortDefinition(group: .joint)

        let staff = try SurvivalSection(extract, Cohort(extract, definition), try context())
        #expect(staff.subjects == 9 && staff.events == 5)
        #expect(staff.curves.map(\.group) == [nil, "Hip", "Knee"])
        #expect(staff.curves[0].steps.count == 9)

        let researcher = try SurvivalSection(extract, Cohort(extract, definition), try context(minimumCellCount: 5))
        // The three hips are left out altogether (also from the overall curve).
        #expect(researcher.subjects == 6 && researcher.events == 2)
        #expect(researcher.curves.map(\.group) == [nil, "Knee"])
        #expect(researcher.truncatedBelow == 5)
        for curve in researcher.curves {
            // At risk 6 at day 10 and 5 at day 20; later steps have fewer than five.
            #expect(curve.steps.map(\.time) == [10, 20])
            #expect(curve.steps.allSatisfy { $0.atRisk >= 5 })
            #expect(curve.subjects == 6)
        }
        // The JSON contract carries the cut curves too.
        #expect(researcher.report.kaplanMeier.allSatisfy { $0.steps.allSatisfy { $0.atRisk >= 5 } })
        // By hand: censored at 10 (6 at risk), then 1 of 5 replaced at 20: S(20) = 4/5.
        #expect(close(researcher.curves[0].steps.last?.survival, 0.8))
    }

    // MARK: - BML and safety

    @Test("BML change per subregion and the burden before and after")
    func bmlSection() throws {
        var b = ExtractBuilder()
        let a = b.add(episode()), c = b.add(episode()), d = b.add(episode())
        let hip = b.add(episode(joint: .hip))
        let untreated = b.add(episode(treated: nil))
        b.bml = [
            // a: TCM 2 → 1 (improved), FCM 1 → absent = 0 (improved); burden 3 → 1.
            ExtractBML(episode: a, baseline: [.tibiaCentralMedial: 2, .femurCentralMedial: 1], followUp: [.tibiaCentralMedial: 1]),
            // c: TCM 3 → 3 (unchanged), FCM absent → 2 (worse); burden 3 → 5.
            ExtractBML(episode: c, baseline: [.tibiaCentralMedial: 3], followUp: [.tibiaCentralMedial: 3, .femurCentralMedial: 2]),
            // d: TCM 1 → 2 (worse); patella 0 on both (no lesion: not counted); burden 1 → 2.
            ExtractBML(episode: d, baseline: [.tibiaCentralMedial: 1, .patellaMedial: 0], followUp: [.tibiaCentralMedial: 2, .patellaMedial: 0]),
            // Outside the cohort (hip under a knee filter; untreated).
            ExtractBML(episode: hip, baseline: [.femoralHeadSuperior: 3], followUp: [:]),
            ExtractBML(episode: untreated, baseline: [.tibiaCentralMedial: 3], followUp: [:]),
        ]
        let report = try AnalyticsReport(b.extract, CohortDefinition(filter: CohortFilter(joint: [.knee])), try context())
        let bml = report.bml
        #expect(bml.pairs.value == 3)
        // MOAKS order: femur-central-medial before tibia-central-medial; the patella (no lesion) is absent.
        #expect(bml.subregions.map(\.id) == ["femur-central-medial", "tibia-central-medial"])
        let fcm = bml.subregions[0], tcm = bml.subregions[1]
        #expect(fcm.joint == "knee")
        // FCM: changes −1, +2 → mean 0.5; improved 1/2, unchanged 0/2, worse 1/2.
        #expect(fcm.n.value == 2 && close(fcm.meanChange, 0.5))
        #expect(fcm.improved.count.value == 1 && fcm.unchanged.count.value == 0 && fcm.worse.count.value == 1)
        // R: binom.test(1, 2)$conf.int = 0.0125791170934251 0.9874208829065749; binom.test(0, 2)$conf.int = 0 0.841886116991581.
        #expect(close(fcm.improved.lower, 0.0125791170934251, 1e-9) && close(fcm.improved.upper, 0.9874208829065749, 1e-9))
        #expect(close(fcm.unchanged.lower, 0) && close(fcm.unchanged.upper, 0.841886116991581, 1e-9))
        // TCM: changes −1, 0, +1 → mean 0; 1/3 each. R: binom.test(1, 3)$conf.int = 0.00840375865961264 0.90570067594975390.
        #expect(tcm.n.value == 3 && close(tcm.meanChange, 0))
        for share in [tcm.improved, tcm.unchanged, tcm.worse] {
            #expect(share.count.value == 1 && close(share.proportion, 1.0 / 3))
            #expect(close(share.lower, 0.00840375865961264, 1e-9) && close(share.upper, 0.90570067594975390, 1e-9))
        }
        // Burden before 3, 3, 1; after 1, 5, 2; change −2, 2, 1.
        // R: mean 7/3, sd(c(3, 3, 1)) = 1.15470053837925, t.test(c(3, 3, 1))$conf.int = −0.535101819832974 5.201768486499642.
        #expect(close(bml.burdenBefore.mean, 7.0 / 3) && close(bml.burdenBefore.sd, 1.15470053837925, 1e-12))
        #expect(close(bml.burdenBefore.lower, -0.535101819832974, 1e-12) && close(bml.burdenBefore.upper, 5.201768486499642, 1e-12))
        // R: t.test(c(1, 5, 2))$conf.int = −2.50447834587560 7.83781167920893.
        #expect(close(bml.burdenAfter.mean, 8.0 / 3))
        #expect(close(bml.burdenAfter.lower, -2.50447834587560, 1e-12) && close(bml.burdenAfter.upper, 7.83781167920893, 1e-12))
        // R: t.test(c(-2, 2, 1))$conf.int = −4.83781167920893 5.50447834587560; sd 2.08166599946613.
        #expect(close(bml.burdenChange.mean, 1.0 / 3) && close(bml.burdenChange.sd, 2.08166599946613, 1e-12))
        #expect(close(bml.burdenChange.lower, -4.83781167920893, 1e-12) && close(bml.burdenChange.upper, 5.50447834587560, 1e-12))
    }

    @Test("Safety per procedure and per patient with Clopper–Pearson CIs against R")
    func safetySection() throws {
        var b = ExtractBuilder()
        let p1 = UUID(), p2 = UUID(), p3 = UUID()
        let e1 = b.add(episode(patient: p1, procedures: 2))
        let e2 = b.add(episode(patient: p1, joint: .hip, procedures: 1))
        b.add(episode(patient: p2, procedures: 1))
        let e4 = b.add(episode(patient: p3, procedures: 2))
        let untreated = b.add(episode(patient: UUID(), treated: nil))
        b.adverseEvents = [
            ExtractAdverseEvent(episode: e1, severity: .mild, relatedness: .possible),
            ExtractAdverseEvent(episode: e1, severity: .moderate, relatedness: .unrelated),
            ExtractAdverseEvent(episode: e2, severity: .severe, relatedness: .probable),
            ExtractAdverseEvent(episode: e4, severity: .mild, relatedness: nil),
            ExtractAdverseEvent(episode: untreated, severity: .fatal, relatedness: .definite),  // not in the cohort
        ]
        let safety = try AnalyticsReport(b.extract, CohortDefinition(), try context()).safety
        // By hand: 2 + 1 + 1 + 2 = 6 procedures; 3 patients (p1 has two episodes).
        #expect(safety.procedures.value == 6)
        #expect(safety.patients.value == 3)
        func check(_ row: SafetySection.Row, events: Int, perProcedure: (Double, Double), patients: Int, perPatient: (Double, Double),
                   sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(row.events.value == events, "\(row.id)", sourceLocation: sourceLocation)
            #expect(row.perProcedure.count.value == events && row.perProcedure.total.value == 6, "\(row.id)", sourceLocation: sourceLocation)
            #expect(close(row.perProcedure.lower, perProcedure.0, 1e-9) && close(row.perProcedure.upper, perProcedure.1, 1e-9),
                    "\(row.id)", sourceLocation: sourceLocation)
            #expect(row.perPatient.count.value == patients && row.perPatient.total.value == 3, "\(row.id)", sourceLocation: sourceLocation)
            #expect(close(row.perPatient.lower, perPatient.0, 1e-9) && close(row.perPatient.upper, perPatient.1, 1e-9),
                    "\(row.id)", sourceLocation: sourceLocation)
        }
        // R: binom.test(4, 6) 0.222778095503512 0.956728131707258; binom.test(2, 3) 0.0942993240502461 0.9915962413403874.
        check(safety.all, events: 4, perProcedure: (0.222778095503512, 0.956728131707258), patients: 2,
              perPatient: (0.0942993240502461, 0.9915962413403874))
        #expect(close(safety.all.perProcedure.proportion, 4.0 / 6) && close(safety.all.perPatient.proportion, 2.0 / 3))
        let severity = Dictionary(uniqueKeysWithValues: safety.bySeverity.map { ($0.id, $0) })
        // Mild: e1 and e4 → 2/6, patients p1 and p3 → 2/3. R: binom.test(2, 6) 0.0432718682927417 0.7772219044964879.
        check(try #require(severity["mild"]), events: 2, perProcedure: (0.0432718682927417, 0.7772219044964879), patients: 2,
              perPatient: (0.0942993240502461, 0.9915962413403874))
        // Moderate and severe: 1/6, 1/3. R: binom.test(1, 6) 0.00421074451448947 0.64123457899767478;
        // binom.test(1, 3) 0.00840375865961264 0.90570067594975390.
        for id in ["moderate", "severe"] {
            check(try #require(severity[id]), events: 1, perProcedure: (0.00421074451448947, 0.64123457899767478), patients: 1,
                  perPatient: (0.00840375865961264, 0.90570067594975390))
        }
        // Fatal: the only fatal event is on an untreated episode. R: binom.test(0, 6) 0 0.4592581264399; binom.test(0, 3) 0 0.707598226178713.
        check(try #require(severity["fatal"]), events: 0, perProcedure: (0, 0.4592581264399), patients: 0,
              perPatient: (0, 0.707598226178713))
        #expect(severity["severity-not-recorded"]?.events.value == 0)
        // Related (possible, probable, definite): e1 possible, e2 probable → 2/6; both p1 → 1/3.
        check(safety.related, events: 2, perProcedure: (0.0432718682927417, 0.7772219044964879), patients: 1,
              perPatient: (0.00840375865961264, 0.90570067594975390))
        let relatedness = Dictionary(uniqueKeysWithValues: safety.byRelatedness.map { ($0.id, $0) })
        #expect(relatedness["relatedness-not-recorded"]?.events.value == 1)
        #expect(relatedness["definite"]?.events.value == 0)
        #expect(relatedness["unrelated"]?.perPatient.count.value == 1)
    }

    // MARK: - CSV

    @Test("CSV: RFC 4180 quoting, CRLF lines, suppressed cells empty")
    func csv() throws {
        var b = ExtractBuilder()
        b.siteNames = [siteA: "Clinic, North", siteB: "St \"Mary\""]
        for i in 0..<6 { b.add(episode(site: siteA, age: 60 + i)) }
        for i in 0..<2 { b.add(episode(site: siteB, age: 50 + i, screened: true)) }
        let report = try AnalyticsReport(b.extract, CohortDefinition(group: .site), try context(minimumCellCount: 5))

        let flow = AnalyticsCSV.csv(.flow, report)
        #expect(flow.hasSuffix("\r\n"))
        let lines = flow.components(separatedBy: "\r\n").dropLast()
        #expect(lines.allSatisfy { !$0.contains("\n") && !$0.contains("\r") })
        #expect(lines.first == "step,label,count,suppressed")
        #expect(lines.contains("treated,Treated (first IO procedure),8,false"))
        // Two screened: suppressed, so the count cell is empty.
        #expect(lines.contains("screened,Screened,,true"))

        let baseline = AnalyticsCSV.csv(.baseline, report).components(separatedBy: "\r\n")
        // Six ages 60–65: mean 62.5 (R: sd(60:65) = 1.87082869338697).
        #expect(baseline.contains { $0.hasPrefix("Age (years),,\"Clinic, North\",6,62.5,1.870828693386") && $0.hasSuffix(",,,false") })
        // Two in the other site: no n, no mean, no SD; the name's quotes doubled.
        #expect(baseline.contains("Age (years),,\"St \"\"Mary\"\"\",,,,,,true"))

        let safety = AnalyticsCSV.csv(.safety, report).components(separatedBy: "\r\n")
        #expect(safety.contains { $0.hasPrefix("related,\"Possibly, probably or definitely related\",") })
        #expect(AnalyticsCSV.field("plain") == "plain")
        #expect(AnalyticsCSV.field("a,b") == "\"a,b\"")
        #expect(AnalyticsCSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(AnalyticsCSV.field("two\nlines") == "\"two\nlines\"")
    }

    // MARK: - Literature

    @Test("A study population maps to the cohort with its joint, diagnoses, grade range, product mix and IA")
    func literaturePopulationCohort() {
        typealias P = PublishedStudy.Population
        let knee = LiteratureComparison.definition(P(joint: .knee, diagnoses: [.osteoarthritis, .boneMarrowLesion],
                                                     grade: .init(system: .kellgrenLawrence, min: 2, max: 4), products: [.prp],
                                                     intraArticular: true, description: "knee OA"))
        #expect(knee == CohortDefinition(filter: CohortFilter(joint: [.knee], diagnosis: [.osteoarthritis, .boneMarrowLesion],
                                                              product: [.prp], intraArticular: true,
                                                              kellgrenLawrence: .init(min: 2, max: 4))))
        let ahlback = LiteratureComparison.definition(P(joint: .knee, diagnoses: [.osteoarthritis], grade: .init(system: .ahlback, min: 1, max: 3),
                                                        products: [.bmc, .prp], intraArticular: false, description: ""))
        #expect(ahlback.filter.ahlback == .init(min: 1, max: 3))
        #expect(ahlback.filter.kellgrenLawrence.isOpen && ahlback.filter.tonnis.isOpen)
        #expect(ahlback.filter.product == [.both])
        #expect(ahlback.filter.intraArticular == false)
        let hip = LiteratureComparison.definition(P(joint: .hip, diagnoses: [.avascularNecrosis], grade: .init(system: .tonnis, min: 0, max: 1),
                                                    products: [.bmc], description: ""))
        #expect(hip == CohortDefinition(filter: CohortFilter(joint: [.hip], diagnosis: [.avascularNecrosis], product: [.bmc],
                                                             tonnis: .init(min: 0, max: 1))))
        // No products and no grade given: those filters stay open; IA nil: either.
        let open = LiteratureComparison.definition(P(joint: .knee, diagnoses: [.boneBruise], products: [], description: ""))
        #expect(open == CohortDefinition(filter: CohortFilter(joint: [.knee], diagnosis: [.boneBruise])))
    }

    @Test("Survival free of replacement at 12 months is the KM estimate at 12 × 30.4375 days; a month the protocol lacks gives a note")
    func literatureSurvivalAndMissingTimepoint() throws {
        var b = ExtractBuilder()
        // The study's population: knee OA, KL 3, PRP with IA. Replacements at days 362 and 366, everyone else censored.
        for (t, event) in [(100, false), (362, true), (366, true), (400, false), (500, false), (600, false), (700, false),
                           (800, false), (900, false), (1000, false)] {
            b.add(episode(diagnosis: .osteoarthritis, kl: 3, product: .prp, intraArticular: true, followUp: t, replacement: event ? t : nil))
        }
        // Outside the population (each would lower the estimate if it were counted).
        b.add(episode(joint: .hip, diagnosis: .osteoarthritis, kl: 3, product: .prp, intraArticular: true, followUp: 50, replacement: 50))
        b.add(episode(diagnosis: .osteoarthritis, kl: 3, product: .bmc, intraArticular: true, followUp: 30, replacement: 30))
        b.add(episode(diagnosis: .osteoarthritis, kl: 1, product: .prp, intraArticular: true, followUp: 40, replacement: 40))
        b.add(episode(diagnosis: .osteoarthritis, kl: 3, product: .prp, intraArticular: false, followUp: 45, replacement: 45))
        b.add(episode(diagnosis: .boneMarrowLesion, kl: 3, product: .prp, intraArticular: true, followUp: 46, replacement: 46))
        let population = PublishedStudy.Population(joint: .knee, diagnoses: [.osteoarthritis],
                                                   grade: .init(system: .kellgrenLawrence, min: 2, max: 4), products: [.prp],
                                                   intraArticular: true, description: "knee OA, KL 2–4, IO + IA PRP")
        let study = PublishedStudy(
            id: "test-knee", label: "Test 2020", citation: "Test A. A test study. J Test 2020;1:1", evidence: .verified,
            design: "case series", population: population, n: 30,
            outcomes: [
                PublishedOutcome(id: "survival-12m", kind: .survivalFreeOfReplacement, months: 12, estimate: 0.9, unit: .proportion,
                                 evidence: .verified),
                PublishedOutcome(id: "koos-pain-change-9m", kind: .promChange, instrument: "koos", score: "pain", months: 9,
                                 estimate: 15, unit: .points, evidence: .verified),
            ])
        let comparison = try LiteratureComparison(LiteratureFile(studies: [study]), b.extract, CohortDefinition(), try context())
        #expect(comparison.rows.count == 2)
        let survival = try #require(comparison.rows.first { $0.outcome == "survival-12m" })
        #expect(survival.cohortQuery == "joint=knee&diagnosis=osteoarthritis&product=prp&intraArticular=true&klMin=2&klMax=4")
        let clinic = try #require(survival.clinic)
        // Day 365.25 lies after the replacement at day 362 and before the one at 366 (at 12 × 30 = 360 it would be 1).
        // R: library(survival); t <- c(100, 362, 366, 400, 500, 600, 700, 800, 900, 1000); e <- c(0, 1, 1, 0, 0, 0, 0, 0, 0, 0)
        //    summary(survfit(Surv(t, e) ~ 1, conf.type = "log-log"), times = 365.25): surv 0.888888888888889,
        //    lower 0.432965090225806, upper 0.983564028525579.
        #expect(close(clinic.estimate, 0.888888888888889, 1e-12))
        #expect(close(clinic.lower, 0.432965090225806, 1e-9))
        #expect(close(clinic.upper, 0.983564028525579, 1e-9))
        #expect(clinic.n.value == 10)
        #expect(survival.note == nil)
        #expect(survival.published.estimate == 0.9 && survival.published.n.value == 30)

        let missing = try #require(comparison.rows.first { $0.outcome == "koos-pain-change-9m" })
        #expect(missing.clinic == nil)
        #expect(missing.note == "the protocol has no timepoint at 9 months")
    }
}
