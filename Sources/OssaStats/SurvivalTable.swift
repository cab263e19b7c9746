/// Counts of events and censorings at each distinct time, per group: everything Kaplan–Meier and the
/// log-rank test need. Neither estimator looks at individual subjects, only at these counts in time
/// order, so building the table is the whole cost of an analysis.
///
/// For whole-number times (registry follow-up in days) the table is a histogram built in one pass
/// over the input columns, with no sort and no per-subject copies; otherwise it is read off the
/// time-sorted `PreparedSurvivalData`. Both paths give the same counts, so the estimators compute
/// bit-identical results either way (tested in `SurvivalTableTests`).
public struct SurvivalTable: Sendable {
    /// Distinct times, ascending.
    public let time: [Double]
    /// Number of groups (1 when the data have no grouping).
    public let groupCount: Int
    /// Group labels, sorted (empty when there is no grouping).
    public let groupLabels: [String]
    /// Events at `time[t]` in group `g`: `events[t * groupCount + g]`.
    public let events: [Int32]
    /// Censorings at `time[t]` in group `g`: `censored[t * groupCount + g]`.
    public let censored: [Int32]
    /// Subjects per group.
    public let subjects: [Int]

    /// Total number of subjects.
    public var count: Int { subjects.reduce(0, +) }
    /// Whether a grouping is present.
    public var hasGroups: Bool { !groupLabels.isEmpty }

    /// Tabulates a data set: a histogram for whole-number times, else one sort.
    public init(_ data: SurvivalDataset) {
        let k = max(data.groups?.labels.count ?? 0, 1)
        // The histogram pays off while it has no more counters than ~2 per subject.
        if data.count < Int(Int32.max), let maxKey = wholeNumberMaximum(data.time),
           (maxKey + 1) * k <= 2 * data.count + 65_536 {
            self.init(histogramOf: data, maxKey: maxKey)
        } else {
            self.init(PreparedSurvivalData(data))
        }
    }

    /// Tabulates data that are already sorted by time.
    public init(_ data: PreparedSurvivalData) {
        let k = max(data.groupLabels.count, 1)
        var times: [Double] = []
        var events: [Int32] = []
        var censored: [Int32] = []
        var subjects = [Int](repeating: 0, count: k)
        data.time.withUnsafeBufferPointer { time in
            data.event.withUnsafeBufferPointer { event in
                data.group.withUnsafeBufferPointer { group in
                    let grouped = !group.isEmpty
                    var i = 0
                    let n = time.count
                    while i < n {
                        let t = time[i]
                        let row = events.count
                        times.append(t)
                        events.append(contentsOf: repeatElement(0, count: k))
                        censored.append(contentsOf: repeatElement(0, count: k))
                        while i < n && time[i] == t {
                            let g = grouped ? Int(group[i]) : 0
                            subjects[g] += 1
                            if event[i] != 0 { events[row + g] += 1 } else { censored[row + g] += 1 }
                            i += 1
                        }
                    }
                }
            }
        }
        self.time = times
        self.groupCount = k
        self.groupLabels = data.groupLabels
        self.events = events
        self.censored = censored
        self.subjects = subjects
    }

    /// One pass over the unsorted columns into per-day, per-group counters, then the days that
    /// occur are kept in order.
    init(histogramOf data: SurvivalDataset, maxKey: Int) {
        let k = max(data.groups?.labels.count ?? 0, 1)
        let slots = (maxKey + 1) * k
        // Counter per (day, group): exits (events + censorings) and events.
        var exits = [Int32](repeating: 0, count: slots)
        var deaths = [Int32](repeating: 0, count: slots)
        let codes = data.groups?.codes ?? []
        data.time.withUnsafeBufferPointer { t in
            data.event.withUnsafeBufferPointer { ev in
                exits.withUnsafeMutableBufferPointer { x in
                    deaths.withUnsafeMutableBufferPointer { d in
                        if codes.isEmpty {
                            for i in 0..<t.count {
                                let slot = Int(t[i])
                                x[slot] &+= 1
                                d[slot] &+= ev[i] ? 1 : 0
                            }
                        } else {
                            codes.withUnsafeBufferPointer { g in
                                for i in 0..<t.count {
                                    let slot = Int(t[i]) * k + Int(g[i])
                                    x[slot] &+= 1
                                    d[slot] &+= ev[i] ? 1 : 0
                                }
                            }
                        }
                    }
                }
            }
        }
        var times: [Double] = []
        var events: [Int32] = []
        var censored: [Int32] = []
        var subjects = [Int](repeating: 0, count: k)
        for day in 0...maxKey {
            let base = day * k
            var any: Int32 = 0
            for g in 0..<k { any |= exits[base + g] }
            guard any != 0 else { continue }
            times.append(Double(day))
            for g in 0..<k {
                let x = exits[base + g], d = deaths[base + g]
                events.append(d)
                censored.append(x - d)
                subjects[g] += Int(x)
            }
        }
        self.time = times
        self.groupCount = k
        self.groupLabels = data.groups?.labels ?? []
        self.events = events
        self.censored = censored
        self.subjects = subjects
    }
}
