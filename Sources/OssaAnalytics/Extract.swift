import Foundation
import OssaCore

/// Why an episode's follow-up ends (see `ExtractEpisode.followUpDays`).
public enum FollowUpEnd: String, Sendable, Codable, Hashable {
    case death, withdrawal, lostToFollowUp = "lost-to-follow-up", lastRecord = "last-record"
}

/// One treatment episode as analytics sees it: the cohort attributes, the survival times and counts. Built by the
/// store (`AnalyticsRepository`) from the registry; identifying fields (`key`, `patientKey`) never leave the
/// server: outputs carry aggregates, and research ids where a row per episode is needed.
public struct ExtractEpisode: Sendable, Hashable {
    public var key: UUID
    public var patientKey: UUID
    public var siteID: UUID
    public var joint: Joint
    public var side: Side
    public var diagnosis: Diagnosis.Kind
    public var kellgrenLawrence: Int?
    public var ahlback: Int?
    public var tonnis: Int?
    /// Baseline BML burden (sum of size grades on the baseline MRI).
    public var bmlBurden: Int?
    /// Whole years at the index date (the first IO procedure; the first screening for an untreated episode).
    public var age: Int?
    public var sex: PatientSex?
    public var bmi: Double?
    /// Screened: the episode has a screening decision; its latest standing category.
    public var screened: Bool
    public var screeningCategory: ScreeningCategory?
    public var product: ProductMix?
    public var intraArticular: Bool
    /// The first IO procedure (time zero of the survival analysis); nil: not treated.
    public var firstProcedure: CalendarDate?
    public var treatmentYear: Int? { firstProcedure?.year }
    /// IO procedures in the episode (the denominator of per-procedure safety rates).
    public var ioProcedures: Int
    /// Days from the first IO procedure to the end of follow-up; nil when untreated.
    public var followUpDays: Int?
    public var followUpEnd: FollowUpEnd?
    /// Days to the first joint replacement on or before the end of follow-up (the event), else nil (censored).
    public var replacementDay: Int?
    /// Days to death when death ended follow-up (the competing risk).
    public var deathDay: Int?
    /// The patient's current research-use consent is `deny`: left out of researchers' views.
    public var researchUseDenied = false

    public init(key: UUID, patientKey: UUID, siteID: UUID, joint: Joint, side: Side, diagnosis: Diagnosis.Kind,
                kellgrenLawrence: Int? = nil, ahlback: Int? = nil, tonnis: Int? = nil, bmlBurden: Int? = nil, age: Int? = nil,
                sex: PatientSex? = nil, bmi: Double? = nil, screened: Bool = false, screeningCategory: ScreeningCategory? = nil,
                product: ProductMix? = nil, intraArticular: Bool = false, firstProcedure: CalendarDate? = nil, ioProcedures: Int = 0,
                followUpDays: Int? = nil, followUpEnd: FollowUpEnd? = nil, replacementDay: Int? = nil, deathDay: Int? = nil) {
        self.key = key
        self.patientKey = patientKey
        self.siteID = siteID
        self.joint = joint
        self.side = side
        self.diagnosis = diagnosis
        self.kellgrenLawrence = kellgrenLawrence
        self.ahlback = ahlback
        self.tonnis = tonnis
        self.bmlBurden = bmlBurden
        self.age = age
        self.sex = sex
        self.bmi = bmi
        self.screened = screened
        self.screeningCategory = screeningCategory
        self.product = product
        self.intraArticular = intraArticular
        self.firstProcedure = firstProcedure
        self.ioProcedures = ioProcedures
        self.followUpDays = followUpDays
        self.followUpEnd = followUpEnd
        self.replacementDay = replacementDay
        self.deathDay = deathDay
    }
}

/// The censoring rule of survival free of joint replacement, applied the same everywhere (page, API, report, CLI):
/// time runs from the episode's first IO procedure (episodes without one are left out); follow-up ends at the
/// earliest of death, withdrawal and loss to follow-up, or, without any of them, at the later of the last contact
/// date and the episode's latest dated record (procedure, questionnaire response, imaging study, outcome event);
/// the first joint replacement on or before the end of follow-up is the event, otherwise the episode is censored
/// at the end of follow-up.
public enum FollowUpRule {
    public struct Dates: Sendable {
        public var firstProcedure: CalendarDate?
        public var deaths: [CalendarDate]
        public var withdrawals: [CalendarDate]
        /// `lost-to-follow-up` events carry the last contact date.
        public var lostToFollowUp: [CalendarDate]
        public var replacements: [CalendarDate]
        public var lastContact: CalendarDate?
        /// Every dated record of the episode: procedures, questionnaire responses, imaging studies, outcome events.
        public var latestRecord: CalendarDate?

        public init(firstProcedure: CalendarDate?, deaths: [CalendarDate] = [], withdrawals: [CalendarDate] = [],
                    lostToFollowUp: [CalendarDate] = [], replacements: [CalendarDate] = [], lastContact: CalendarDate? = nil,
                    latestRecord: CalendarDate? = nil) {
            self.firstProcedure = firstProcedure
            self.deaths = deaths
            self.withdrawals = withdrawals
            self.lostToFollowUp = lostToFollowUp
            self.replacements = replacements
            self.lastContact = lastContact
            self.latestRecord = latestRecord
        }
    }

    public struct Result: Sendable, Equatable {
        public var followUpDays: Int
        public var end: FollowUpEnd
        public var replacementDay: Int?
        public var deathDay: Int?
    }

    /// nil when the episode has no IO procedure (left out of the survival analyses).
    public static func apply(_ d: Dates) -> Result? {
        guard let start = d.firstProcedure else { return nil }
        var ending: (CalendarDate, FollowUpEnd)?
        for (dates, reason) in [(d.deaths, FollowUpEnd.death), (d.withdrawals, .withdrawal), (d.lostToFollowUp, .lostToFollowUp)] {
            if let first = dates.min(), ending.map({ first < $0.0 }) ?? true { ending = (first, reason) }
        }
        let end: CalendarDate
        let reason: FollowUpEnd
        if let ending {
            (end, reason) = ending
        } else {
            end = [d.lastContact, d.latestRecord, start].compactMap { $0 }.max()!
            reason = .lastRecord
        }
        // A record dated before the first procedure cannot end follow-up before time zero.
        let days = max(0, start.days(to: end))
        let replacement = d.replacements.filter { $0 <= end }.min().map { max(0, start.days(to: $0)) }
        let death = reason == .death && replacement == nil ? days : nil
        return Result(followUpDays: days, end: reason, replacementDay: replacement, deathDay: death)
    }
}

/// A score of one questionnaire response at a protocol timepoint.
public struct ScoreKey: Sendable, Hashable, Comparable {
    public var instrument: String
    public var score: String
    public init(instrument: String, score: String) {
        self.instrument = instrument
        self.score = score
    }
    public static func < (a: ScoreKey, b: ScoreKey) -> Bool { (a.instrument, a.score) < (b.instrument, b.score) }
}

/// Baseline and latest follow-up BML size grades of one episode (both MRIs read; subregions absent from a study
/// are grade 0 there).
public struct ExtractBML: Sendable, Hashable {
    public var episode: Int32
    public var baseline: [BMLSubregion: Int]
    public var followUp: [BMLSubregion: Int]
    public init(episode: Int32, baseline: [BMLSubregion: Int], followUp: [BMLSubregion: Int]) {
        self.episode = episode
        self.baseline = baseline
        self.followUp = followUp
    }
}

/// One adverse event.
public struct ExtractAdverseEvent: Sendable, Hashable {
    public var episode: Int32
    public var severity: AdverseEventSeverity?
    public var relatedness: AdverseEventRelatedness?
    public init(episode: Int32, severity: AdverseEventSeverity?, relatedness: AdverseEventRelatedness?) {
        self.episode = episode
        self.severity = severity
        self.relatedness = relatedness
    }
}

/// A protocol timepoint of an episode, for the completion rate's denominator.
public struct ExtractTimepoint: Sendable, Hashable {
    public var episode: Int32
    public var timepoint: UInt8
    public var windowEnd: CalendarDate
    public var completed: Bool
    public init(episode: Int32, timepoint: UInt8, windowEnd: CalendarDate, completed: Bool) {
        self.episode = episode
        self.timepoint = timepoint
        self.windowEnd = windowEnd
        self.completed = completed
    }
}

/// The registry as analytics reads it: episodes, then the scores, timepoints, MRI grades and adverse events that
/// point at them by index. Scores are held column-wise (millions of them on a large registry) and indexed once, when
/// the extract is made, by score and timepoint (`ScoreIndex`), so that each analysis reads only the scores it needs.
public struct RegistryExtract: Sendable {
    public let episodes: [ExtractEpisode]
    /// Site id → name.
    public let siteNames: [UUID: String]
    /// Protocol timepoint codes in protocol order (`baseline`, `week-6`, `month-3`, …); `timepoint` indexes it.
    public let timepointCodes: [String]
    /// The protocol timepoints' nominal offsets in days from the procedure (baseline 0).
    public let timepointDays: [Int]
    public let scoreKeys: [ScoreKey]
    public let scoreEpisode: [Int32]
    public let scoreKey: [UInt16]
    public let scoreTimepoint: [UInt8]
    public let scoreValue: [Double]
    public let timepoints: [ExtractTimepoint]
    public let bml: [ExtractBML]
    public let adverseEvents: [ExtractAdverseEvent]
    /// The day the extract was read (completion: windows closed before it).
    public let asOf: CalendarDate
    /// The scores by score and timepoint, and who was due at each timepoint.
    public let index: ScoreIndex
    /// Episode index → its patient's ordinal (0 ..< patientCount), so that per-patient counts need no set of UUIDs.
    let patientOrdinal: [Int32]
    let patientCount: Int

    public init(episodes: [ExtractEpisode], siteNames: [UUID: String], timepointCodes: [String], timepointDays: [Int],
                scoreKeys: [ScoreKey] = [], scoreEpisode: [Int32] = [], scoreKey: [UInt16] = [], scoreTimepoint: [UInt8] = [],
                scoreValue: [Double] = [], timepoints: [ExtractTimepoint] = [], bml: [ExtractBML] = [],
                adverseEvents: [ExtractAdverseEvent] = [], asOf: CalendarDate) {
        self.episodes = episodes
        self.siteNames = siteNames
        self.timepointCodes = timepointCodes
        self.timepointDays = timepointDays
        self.scoreKeys = scoreKeys
        self.scoreEpisode = scoreEpisode
        self.scoreKey = scoreKey
        self.scoreTimepoint = scoreTimepoint
        self.scoreValue = scoreValue
        self.timepoints = timepoints
        self.bml = bml
        self.adverseEvents = adverseEvents
        self.asOf = asOf
        index = ScoreIndex(episodes: episodes, keys: scoreKeys.count, timepoints: timepointCodes.count,
                           baseline: timepointCodes.firstIndex(of: "baseline"), scoreEpisode: scoreEpisode,
                           scoreKey: scoreKey, scoreTimepoint: scoreTimepoint, scoreValue: scoreValue, due: timepoints, asOf: asOf)
        var ordinals: [UUID: Int32] = [:]
        patientOrdinal = episodes.map { e in
            if let known = ordinals[e.patientKey] { return known }
            let next = Int32(ordinals.count)
            ordinals[e.patientKey] = next
            return next
        }
        patientCount = ordinals.count
    }

    public var scoreCount: Int { scoreValue.count }

    /// The same extract with every age above `limit` set to `limit` (researchers' views: over 89 as 90).
    public func cappingAges(at limit: Int) -> RegistryExtract {
        guard episodes.contains(where: { ($0.age ?? 0) > limit }) else { return self }
        var capped = episodes
        for i in capped.indices where (capped[i].age ?? 0) > limit { capped[i].age = limit }
        return RegistryExtract(episodes: capped, siteNames: siteNames, timepointCodes: timepointCodes, timepointDays: timepointDays,
                               scoreKeys: scoreKeys, scoreEpisode: scoreEpisode, scoreKey: scoreKey, scoreTimepoint: scoreTimepoint,
                               scoreValue: scoreValue, timepoints: timepoints, bml: bml, adverseEvents: adverseEvents, asOf: asOf)
    }
}

/// The extract's scores sorted by (score, timepoint, episode), one value per episode there (a repeat keeps the later
/// row), with each (score, timepoint)'s range; and, per timepoint, which episodes were due (window closed or
/// answered, alive and not yet replaced when it closed) and which answered anything.
public struct ScoreIndex: Sendable {
    let timepoints: Int
    /// Sorted by (key, timepoint, episode).
    let episode: [Int32]
    let value: [Double]
    /// `start[key * timepoints + t] ..< start[key * timepoints + t + 1]`.
    let start: [Int]
    /// [timepoint][episode]
    let due: [[Bool]]
    let answered: [[Bool]]
    /// Per score (same order as `value`): where the same episode's baseline value of that score is, or -1 (none, or
    /// this is the baseline). Paired once per extract, so outcome and responder tables need no join per request.
    let baselinePosition: [Int32]

    init(episodes: [ExtractEpisode], keys: Int, timepoints: Int, baseline: Int?, scoreEpisode: [Int32], scoreKey: [UInt16], scoreTimepoint: [UInt8],
         scoreValue: [Double], due timepointRows: [ExtractTimepoint], asOf: CalendarDate) {
        self.timepoints = timepoints
        let slots = keys * timepoints
        var count = [Int](repeating: 0, count: slots + 1)
        for k in 0..<scoreValue.count { count[Int(scoreKey[k]) * timepoints + Int(scoreTimepoint[k]) + 1] += 1 }
        for s in 0..<slots { count[s + 1] += count[s] }
        // Counting sort by slot (stable: rows keep their order), then each slot by episode (stable again).
        var order = [Int](repeating: 0, count: scoreValue.count)
        var next = count
        for k in 0..<scoreValue.count {
            let s = Int(scoreKey[k]) * timepoints + Int(scoreTimepoint[k])
            order[next[s]] = k
            next[s] += 1
        }
        var episodeOut: [Int32] = []
        var valueOut: [Double] = []
        episodeOut.reserveCapacity(scoreValue.count)
        valueOut.reserveCapacity(scoreValue.count)
        var start = [Int](repeating: 0, count: slots + 1)
        var answered = [[Bool]](repeating: [Bool](repeating: false, count: episodes.count), count: timepoints)
        for s in 0..<slots {
            start[s] = episodeOut.count
            var slot = Array(order[count[s]..<count[s + 1]])
            let sorted = slot.enumerated().sorted { a, b in
                let ea = scoreEpisode[a.element], eb = scoreEpisode[b.element]
                return ea != eb ? ea < eb : a.offset < b.offset
            }
            slot = sorted.map(\.element)
            let t = s % timepoints
            for (n, k) in slot.enumerated() {
                // A repeat at one timepoint: the later row wins.
                if n + 1 < slot.count, scoreEpisode[slot[n + 1]] == scoreEpisode[k] { continue }
                episodeOut.append(scoreEpisode[k])
                valueOut.append(scoreValue[k])
                answered[t][Int(scoreEpisode[k])] = true
            }
        }
        start[slots] = episodeOut.count
        episode = episodeOut
        value = valueOut
        self.start = start
        self.answered = answered
        var due = [[Bool]](repeating: [Bool](repeating: false, count: episodes.count), count: timepoints)
        for tp in timepointRows where Int(tp.timepoint) < timepoints {
            let e = episodes[Int(tp.episode)]
            guard let first = e.firstProcedure else { continue }
            let closeDay = first.days(to: tp.windowEnd)
            if let d = e.replacementDay, d <= closeDay { continue }
            if let d = e.deathDay, d <= closeDay { continue }
            if tp.completed || tp.windowEnd < asOf { due[Int(tp.timepoint)][Int(tp.episode)] = true }
        }
        self.due = due
        var paired = [Int32](repeating: -1, count: episodeOut.count)
        if let baseline {
            for key in 0..<keys {
                let b = start[key * timepoints + baseline]..<start[key * timepoints + baseline + 1]
                guard !b.isEmpty else { continue }
                for t in 0..<timepoints where t != baseline {
                    // Both ranges are sorted by episode: a merge.
                    var bp = b.lowerBound
                    for i in start[key * timepoints + t]..<start[key * timepoints + t + 1] {
                        let e = episodeOut[i]
                        while bp < b.upperBound, episodeOut[bp] < e { bp += 1 }
                        if bp < b.upperBound, episodeOut[bp] == e { paired[i] = Int32(bp) }
                    }
                }
            }
        }
        baselinePosition = paired
    }

    func range(_ key: Int, _ t: Int) -> Range<Int> {
        start[key * timepoints + t]..<start[key * timepoints + t + 1]
    }
}
