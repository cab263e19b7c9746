import Foundation
import OssaCore

/// The latent state behind an episode's questionnaires: true subscale scores at baseline, the gain the
/// patient will make, and pain / global / activity levels. Answers are drawn around this state and then
/// scored by the real engine, so published effect sizes are reproduced on SCORED results.
struct DemoLatent {
    /// KOOS/HOOS subscale id → true baseline score (0–100, 100 = best).
    var baseline: [String: Double] = [:]
    /// Subscale id → true gain at full effect (time-course value 1).
    var gain: [String: Double] = [:]
    var responder: Bool
    var nrs0: Double
    var nrsGain: Double
    var pgaOffset: Double
    var tegner0: Int
    var tegnerPreInjury: Int
    var tegnerGain: Double
    var ucla0: Int
    var uclaGain: Double
    /// Personal log-odds shift of missing a visit.
    var missShift: Double

    static let subscales = ["pain", "symptoms", "adl", "sport", "qol"]

    init(_ g: inout DemoPatientBuilder, joint: Joint) throws {
        let j = joint == .hip ? "hip" : "knee"
        let instrument = joint == .hip ? "hoos" : "koos"
        let rho = try g.n("prom.baselineCorrelation")
        let z0 = g.rng.standardNormal()
        let resid = (1 - rho * rho).squareRoot()
        for s in Self.subscales {
            let mean = try g.n("\(j).\(instrument).\(s).baseline.mean")
            let sd = s == "pain" ? try g.n("\(j).\(instrument).pain.baseline.sd") : try g.n("\(j).\(instrument).other.baseline.sd")
            baseline[s] = min(100, max(0, mean + sd * (rho * z0 + resid * g.rng.standardNormal())))
        }
        responder = g.rng.bernoulli(try g.n("\(j).responderProbability"))
        let cls = responder ? "responder" : "nonResponder"
        let painGain = g.rng.normal(mean: try g.n("\(j).\(cls).painGain.mean"), sd: try g.n("\(j).\(cls).painGain.sd"))
        gain["pain"] = painGain
        let noise = try g.n("prom.gainCorrelationNoiseSd")
        for s in Self.subscales.dropFirst() {
            gain[s] = painGain * (try g.n("\(j).gainRatio.\(s)")) + g.rng.normal(mean: 0, sd: noise)
        }
        let link = try g.n("nrs.baselinePainLink")
        let nrsMean = try g.n("nrs.baseline.mean"), nrsSd = try g.n("nrs.baseline.sd")
        nrs0 = min(10, max(0, nrsMean - nrsSd * (link * z0 + (1 - link * link).squareRoot() * g.rng.standardNormal())))
        nrsGain = g.rng.normal(mean: try g.n("\(j).\(cls).nrsGain.mean"), sd: try g.n("nrs.gain.sd"))
        pgaOffset = g.rng.normal(mean: try g.n("pga.offset.mean"), sd: try g.n("pga.offset.sd"))
        let activitySd = try g.n("activity.sd")
        tegner0 = Int(min(10, max(0, g.rng.normal(mean: try g.n("tegner.baseline.mean"), sd: activitySd))).rounded())
        tegnerPreInjury = max(tegner0, Int(min(10, max(0, g.rng.normal(mean: try g.n("tegner.preInjury.mean"), sd: activitySd * 1.4))).rounded()))
        tegnerGain = responder ? try g.n("tegner.responderGain") : 0
        ucla0 = Int(min(10, max(1, g.rng.normal(mean: try g.n("ucla.baseline.mean"), sd: activitySd))).rounded())
        uclaGain = responder ? try g.n("ucla.responderGain") : 0
        missShift = g.rng.normal(mean: 0, sd: try g.n("missing.personalSd"))
    }
}

/// Generates the answers of every scheduled timepoint from the latent state.
struct DemoQuestionnaires {
    let registry: DemoRegistry
    let joint: Joint
    let latent: DemoLatent
    let index: CalendarDate

    /// Runs the schedule: returns the completed questionnaires and the ids of missed timepoints.
    /// `stop`: the first of exit, joint replacement and data cut; `exit`: death, withdrawal or loss to follow-up.
    mutating func run(_ g: inout DemoPatientBuilder, schedule: FollowUpSchedule, stop: CalendarDate, exit: CalendarDate?,
                      replacement: CalendarDate?, events: [OutcomeEvent]) throws -> ([DemoResponse], [String]) {
        let dataCut = registry.dataCutDate
        let curve = try g.cal.curve("response.timecourse")
        let visitNoise = try g.n("prom.visitNoiseSd")
        let nrsNoise = try g.n("nrs.visitNoiseSd")
        var responses: [DemoResponse] = []
        var missed: [String] = []
        var lastEventsReport = index
        var replacementReported = false

        for tp in schedule.timepoints {
            let isDiary = tp.id.hasPrefix("diary")
            let baseId = isDiary ? "diary" : tp.id
            let pMiss = isDiary ? try g.n("missing.diaryDayProbability") : try g.n("missing.timepoint.\(baseId)")
            let logit = DemoMath.log(pMiss / (1 - pMiss)) + latent.missShift
            let misses = g.rng.uniform() < 1 / (1 + DemoMath.exp(-logit))
            let completed = completionDate(&g, tp)
            // After a joint replacement only the events form is answered, once.
            if let replacement, completed >= replacement {
                if !replacementReported, !misses, tp.instruments.contains("events"), completed <= dataCut, exit.map({ completed < $0 }) ?? true {
                    responses.append(eventsResponse(tp.id, completed, since: lastEventsReport, events: events))
                    replacementReported = true
                }
                continue
            }
            let followedThroughWindow = tp.windowClose < stop && tp.windowClose <= dataCut
            if misses || completed >= stop || completed > dataCut {
                if followedThroughWindow { missed.append(tp.id) }
                continue
            }
            let day = Double(index.days(to: completed))
            let f = tp.id == "baseline" ? 0 : curve.value(atDay: day)
            var state: [String: Double] = [:]
            for s in DemoLatent.subscales {
                let base = latent.baseline[s] ?? 50
                state[s] = min(100, max(0, base + f * (latent.gain[s] ?? 0) + g.rng.normal(mean: 0, sd: visitNoise)))
            }
            var flare = 0.0
            if isDiary {
                let d = index.days(to: completed)
                flare = d == 1 ? try g.n("nrs.flare.day1") : d == 2 ? try g.n("nrs.flare.day2") : d == 3 ? try g.n("nrs.flare.day3") : 0
            }
            let nrsTrue = latent.nrs0 - f * latent.nrsGain + flare + g.rng.normal(mean: 0, sd: nrsNoise)
            let nrs = Int(min(10, max(0, nrsTrue)).rounded())
            let pga = Int(min(10, max(0, latent.nrs0 - f * latent.nrsGain * (try g.n("pga.gainFraction")) + latent.pgaOffset + g.rng.normal(mean: 0, sd: nrsNoise))).rounded())

            var fullForm: [DemoAnswer]?
            var any = false
            for id in tp.instruments {
                guard let def = registry.library.instrument(id: id) else { throw DemoError.generated("protocol names unknown instrument '\(id)'") }
                if g.rng.bernoulli(try g.n("missing.instrumentSkipProbability")) { continue }
                let answers: [DemoAnswer]
                switch id {
                case "koos", "hoos":
                    answers = try subscaleAnswers(&g, def, state: state)
                    fullForm = answers
                case "koos-jr", "hoos-jr":
                    if let full = fullForm {
                        let codes = def.items.map(\.code)
                        answers = codes.map { code in DemoAnswer(item: code, value: full.first { $0.item == code }?.value ?? nil) }
                    } else {
                        answers = try jrAnswers(&g, def, state: state)
                    }
                case "nrs-pain": answers = [DemoAnswer(item: "pain", value: nrs)]
                case "pga": answers = [DemoAnswer(item: "global", value: pga)]
                case "tegner":
                    let current = Int(min(10, max(0, Double(latent.tegner0) + f * latent.tegnerGain)).rounded())
                    answers = [DemoAnswer(item: "current", value: current), DemoAnswer(item: "preInjury", value: latent.tegnerPreInjury)]
                case "ucla":
                    answers = [DemoAnswer(item: "activity", value: Int(min(10, max(1, Double(latent.ucla0) + f * latent.uclaGain)).rounded()))]
                case "events":
                    responses.append(eventsResponse(tp.id, completed, since: lastEventsReport, events: events))
                    lastEventsReport = completed
                    any = true
                    continue
                default:
                    continue
                }
                responses.append(DemoResponse(timepoint: tp.id, instrument: id, completedOn: completed, answers: answers))
                any = true
            }
            if !any, followedThroughWindow { missed.append(tp.id) }
        }
        return (responses, missed)
    }

    /// A completion day inside the window, mostly near the target.
    private func completionDate(_ g: inout DemoPatientBuilder, _ tp: ScheduledTimepoint) -> CalendarDate {
        if tp.id == "baseline" { return max(tp.windowOpen, tp.targetDate.adding(days: -g.rng.int(in: 0...14))) }
        let early = min(tp.targetDate.days(to: tp.windowOpen) * -1, 7)
        let late = min(tp.targetDate.days(to: tp.windowClose), 21)
        let d = tp.targetDate.adding(days: g.rng.int(in: -early...late))
        return min(tp.windowClose, max(tp.windowOpen, d))
    }

    /// Item answers of a KOOS/HOOS form, with skipped items, blank sections and abandoned forms.
    private func subscaleAnswers(_ g: inout DemoPatientBuilder, _ def: InstrumentDefinition, state: [String: Double]) throws -> [DemoAnswer] {
        let itemNoise = try g.n("prom.itemNoiseSd")
        let skip = try g.n("missing.itemSkipProbability")
        let sectionSkip = try g.n("missing.sectionSkipProbability")
        var blank: [String: Bool] = [:]
        var level: [String: Double] = [:]
        for score in def.scores {
            blank[score.id] = g.rng.bernoulli(sectionSkip)
            level[score.id] = (100 - (state[score.id] ?? 50)) / 25
        }
        // Questionnaire order; each item is drawn around the state of its subscale.
        var answers: [DemoAnswer] = []
        answers.reserveCapacity(def.items.count)
        for item in def.items {
            let subscale = registry.subscaleOfItem[def.id]?[item.code] ?? "pain"
            let value = Self.itemValue(&g, level: level[subscale] ?? 2, noise: itemNoise)
            answers.append(DemoAnswer(item: item.code, value: (blank[subscale] ?? false) || g.rng.bernoulli(skip) ? nil : value))
        }
        if g.rng.bernoulli(try g.n("missing.abandonProbability")) {
            let cut = g.rng.int(in: (answers.count / 3)...(answers.count - 1))
            for i in cut..<answers.count { answers[i].value = nil }
        }
        return answers
    }

    /// JR items drawn from the parent form's subscale state (KOOS JR items keep their KOOS codes).
    private func jrAnswers(_ g: inout DemoPatientBuilder, _ def: InstrumentDefinition, state: [String: Double]) throws -> [DemoAnswer] {
        let parentId = def.id == "koos-jr" ? "koos" : "hoos"
        guard let parent = registry.library.instrument(id: parentId) else { throw DemoError.generated("no \(parentId) instrument") }
        let itemNoise = try g.n("prom.itemNoiseSd")
        let skip = try g.n("missing.itemSkipProbability")
        return def.items.map { item in
            let subscale = registry.subscaleOfItem[parent.id]?[item.code] ?? "pain"
            let value = Self.itemValue(&g, level: (100 - (state[subscale] ?? 50)) / 25, noise: itemNoise)
            return DemoAnswer(item: item.code, value: g.rng.bernoulli(skip) ? nil : value)
        }
    }

    static func itemValue(_ g: inout DemoPatientBuilder, level: Double, noise: Double) -> Int {
        Int(min(4, max(0, (level + g.rng.normal(mean: 0, sd: noise)).rounded())))
    }

    /// The standing events form for the interval `(since, completed]` (choice items only: date and text
    /// items are left out because answers hold ordinals; the outcome events carry the dates).
    private func eventsResponse(_ timepoint: String, _ completed: CalendarDate, since: CalendarDate, events: [OutcomeEvent]) -> DemoResponse {
        let window = events.filter { $0.date > since && $0.date <= completed }
        var replacement: Int?
        var injection = false, surgery = false
        var severity: Int?
        for e in window {
            switch e {
            case .jointReplacement(let kind, _): replacement = kind == .tha ? 3 : (kind == .uka ? 2 : 1)
            case .repeatIO: injection = true
            case .otherSurgery: surgery = true
            case .adverseEvent(_, let s, _): severity = max(severity ?? 0, s == .mild ? 1 : (s == .moderate ? 2 : 3))
            default: break
            }
        }
        let admitted = replacement != nil || surgery || (severity ?? 0) >= 3
        let answers = [
            DemoAnswer(item: "jointReplacement", value: replacement == nil ? 0 : 1),
            DemoAnswer(item: "jointReplacementType", value: replacement),
            DemoAnswer(item: "otherSurgery", value: surgery ? 1 : 0),
            DemoAnswer(item: "newInjection", value: injection ? 1 : 0),
            DemoAnswer(item: "newInjectionType", value: injection ? 3 : nil),
            DemoAnswer(item: "adverseEvent", value: severity == nil ? 0 : 1),
            DemoAnswer(item: "adverseEventSeverity", value: severity),
            DemoAnswer(item: "hospitalAdmission", value: admitted ? 1 : 0),
        ]
        return DemoResponse(timepoint: timepoint, instrument: "events", completedOn: completed, answers: answers)
    }
}
