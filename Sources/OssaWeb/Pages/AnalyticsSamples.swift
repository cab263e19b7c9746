import Foundation
import OssaAnalytics
import OssaCore
import OssaStore

/// A small deterministic registry extract for the analytics page's catalog samples and snapshots: 60 knee and hip
/// episodes at two sites with KOOS/HOOS scores over the protocol's timepoints, replacements, deaths, follow-up MRIs
/// and adverse events, from a fixed linear congruential sequence (no clock, no randomness).
enum AnalyticsSamples {
    static let siteA = PageFixtures.site.id
    static let siteB = UUID(uuidString: "00000000-0000-0000-0000-0000000000b2")!
    static let readAt = Date(timeIntervalSince1970: 1_789_000_000)

    static var extract: RegistryExtract {
        var seed: UInt64 = 20_261_202
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        let followUp = try! FollowUpProtocol.bundledDefault()
        let points = followUp.timepoints.filter { $0.repeatDaily == nil }
        let origin = try! CalendarDate(year: 2000, month: 1, day: 1)
        let codes = points.map(\.id)
        let days = points.map { origin.days(to: $0.offset.apply(to: origin)) }
        var episodes: [ExtractEpisode] = []
        var scoreKeys: [ScoreKey] = []
        var scoreEpisode: [Int32] = [], scoreKey: [UInt16] = [], scoreTimepoint: [UInt8] = [], scoreValue: [Double] = []
        var timepoints: [ExtractTimepoint] = []
        var bml: [ExtractBML] = []
        var adverse: [ExtractAdverseEvent] = []
        func key(_ instrument: String, _ score: String) -> UInt16 {
            let k = ScoreKey(instrument: instrument, score: score)
            if let i = scoreKeys.firstIndex(of: k) { return UInt16(i) }
            scoreKeys.append(k)
            return UInt16(scoreKeys.count - 1)
        }
        let asOf = try! CalendarDate(year: 2026, month: 9, day: 15)
        for i in 0..<60 {
            let joint: Joint = i % 3 == 0 ? .hip : .knee
            let start = try! CalendarDate(year: 2021 + next(4), month: 1 + next(12), day: 1 + next(28))
            let followUpDays = min(start.days(to: asOf), 200 + next(1600))
            let replaced = next(5) == 0 ? next(max(1, followUpDays)) : nil
            let died = replaced == nil && next(12) == 0 ? followUpDays : nil
            let product: ProductMix = [.prp, .prp, .bmc, .both][next(4)]
            var e = ExtractEpisode(key: UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", 9000 + i))!,
                                   patientKey: UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", 8000 + i))!,
                                   siteID: i % 4 == 0 ? siteB : siteA, joint: joint, side: i % 2 == 0 ? .left : .right, diagnosis: i % 5 == 0 ? .boneMarrowLesion : .osteoarthritis,
                                   kellgrenLawrence: joint == .knee ? 2 + next(3) : nil, tonnis: joint == .hip ? 1 + next(3) : nil, bmlBurden: next(9),
                                   age: 45 + next(35), sex: next(2) == 0 ? .female : .male, bmi: 21 + Double(next(140)) / 10, screened: true,
                                   screeningCategory: [.recommended, .recommended, .consider][next(3)], product: product, intraArticular: next(2) == 0,
                                   firstProcedure: start, ioProcedures: 1 + next(2))
            e.followUpDays = replaced ?? followUpDays
            e.followUpEnd = died != nil ? .death : .lastRecord
            e.replacementDay = replaced
            e.deathDay = died
            e.followUpDays = followUpDays
            let index = Int32(episodes.count)
            episodes.append(e)
            let instrument = joint == .knee ? "koos" : "hoos"
            let base = 35 + Double(next(30))
            for t in codes.indices where days[t] <= followUpDays {
                timepoints.append(ExtractTimepoint(episode: index, timepoint: UInt8(t), windowEnd: start.adding(days: days[t] + 14), completed: true))
                guard next(5) > 0 else { continue }
                let gain = t == 0 ? 0 : min(30, Double(t) * 4 + Double(next(12)) - 4)
                for (s, score) in ["pain", "adl", "qol"].enumerated() {
                    scoreEpisode.append(index)
                    scoreKey.append(key(instrument, score))
                    scoreTimepoint.append(UInt8(t))
                    scoreValue.append(min(100, max(0, base + gain + Double(s * 3))))
                }
            }
            if next(3) == 0 {
                let regions: [BMLSubregion] = joint == .knee ? [.femurCentralMedial, .tibiaCentralMedial, .femurCentralLateral] : [.femoralHeadSuperior]
                var before: [BMLSubregion: Int] = [:], after: [BMLSubregion: Int] = [:]
                for region in regions where next(2) == 0 {
                    before[region] = 1 + next(3)
                    after[region] = max(0, before[region]! - next(3) + 1)
                }
                bml.append(ExtractBML(episode: index, baseline: before, followUp: after))
            }
            if next(4) == 0 {
                adverse.append(ExtractAdverseEvent(episode: index, severity: [.mild, .mild, .moderate][next(3)], relatedness: [.possible, .unlikely][next(2)]))
            }
        }
        return RegistryExtract(episodes: episodes, siteNames: [siteA: PageFixtures.site.name, siteB: "Graz"], timepointCodes: codes, timepointDays: days,
                               scoreKeys: scoreKeys, scoreEpisode: scoreEpisode, scoreKey: scoreKey, scoreTimepoint: scoreTimepoint, scoreValue: scoreValue,
                               timepoints: timepoints, bml: bml, adverseEvents: adverse, asOf: asOf)
    }

    static func page(researcher: Bool = false, grouped: Bool = true) -> AnalyticsPage {
        let extract = extract
        let scoped = ScopedExtract(extract: extract, viewer: AnalyticsViewer(role: researcher ? .researcher : .clinician, siteIDs: [siteA, siteB],
                                                                            minimumCellCount: researcher ? 5 : nil),
                                   revision: 1, readAt: readAt)
        var context = try! AnalysisContext.builtIn(followUp: try! FollowUpProtocol.bundledDefault())
        context.minimumCellCount = scoped.viewer.minimumCellCount
        let definition = CohortDefinition(group: grouped ? .product : .none, covariates: [.age, .bmi])
        let report = try! AnalyticsReport(extract, definition, context, literature: try! LiteratureFile.builtIn())
        let query = CohortQuery.items(definition).map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        return AnalyticsPage(report, extract: scoped, context: context, user: PageCatalog.sampleUser, values: FormValues(CohortQuery.items(definition).map { ($0.name, $0.value) }),
                             query: query, saved: [], savedID: nil)
    }

    static var refused: AnalyticsPage {
        var values = FormValues()
        values.set("klMin", "3")
        values.set("klMax", "2")
        var errors = FormErrors()
        errors.add("klMax", "Kellgren–Lawrence to: the range ends (2) before it starts (3)")
        return AnalyticsPage(user: PageCatalog.sampleUser, values: values, errors: errors, sites: [(siteA, PageFixtures.site.name), (siteB, "Graz")], saved: [])
    }
}
