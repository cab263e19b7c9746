/// Group labels mapped once to integer codes, labels in sorted order.
///
/// Sorting uses Swift's `String` ordering (Unicode scalar order, like R in the C
/// locale); numeric labels therefore sort as text ("10" before "2").
public struct GroupCoding: Sendable, Equatable {
    /// Distinct labels, sorted; `codes[i]` indexes this array.
    public let labels: [String]
    /// One code per subject, in input order.
    public let codes: [Int32]

    /// Maps string values to codes (one dictionary pass, done once per data set).
    public init(values: [String]) {
        var index: [String: Int32] = [:]
        var firstSeen: [String] = []
        var raw = [Int32](repeating: 0, count: values.count)
        for (i, v) in values.enumerated() {
            if let c = index[v] {
                raw[i] = c
            } else {
                let c = Int32(firstSeen.count)
                index[v] = c
                firstSeen.append(v)
                raw[i] = c
            }
        }
        self.init(uncheckedCodes: raw, labels: firstSeen)
    }

    /// Uses precomputed codes (e.g. from a generator). Labels need not be sorted:
    /// they are sorted here and the codes remapped. Throws if a code is out of range.
    public init(codes: [Int32], labels: [String]) throws {
        for (i, c) in codes.enumerated() where c < 0 || Int(c) >= labels.count {
            throw StatsError.invalidArgument("group code \(c) of subject \(i + 1) is outside 0..<\(labels.count)")
        }
        self.init(uncheckedCodes: codes, labels: labels)
    }

    private init(uncheckedCodes: [Int32], labels: [String]) {
        let order = labels.indices.sorted { labels[$0] < labels[$1] }
        var remap = [Int32](repeating: 0, count: labels.count)
        for (newCode, old) in order.enumerated() { remap[old] = Int32(newCode) }
        self.labels = order.map { labels[$0] }
        if order == Array(labels.indices) {
            self.codes = uncheckedCodes
        } else {
            self.codes = uncheckedCodes.map { remap[Int($0)] }
        }
    }
}

/// A named numeric covariate, one value per subject.
public struct Covariate: Sendable, Equatable {
    public let name: String
    public let values: [Double]
    public init(name: String, values: [Double]) {
        self.name = name
        self.values = values
    }
}

/// Right-censored survival data in input order: time, event indicator, optional
/// group and covariates.
public struct SurvivalDataset: Sendable {
    /// Follow-up times (finite, ≥ 0).
    public let time: [Double]
    /// `true` = event observed, `false` = right-censored.
    public let event: [Bool]
    /// Optional grouping (for per-group curves and the log-rank test).
    public let groups: GroupCoding?
    /// Covariates for the Cox model (may be empty).
    public let covariates: [Covariate]

    /// Number of subjects.
    public var count: Int { time.count }

    /// Validates lengths and values.
    public init(time: [Double], event: [Bool], groups: GroupCoding? = nil, covariates: [Covariate] = []) throws {
        guard time.count == event.count else {
            throw StatsError.lengthMismatch("\(time.count) times but \(event.count) event indicators")
        }
        if let g = groups, g.codes.count != time.count {
            throw StatsError.lengthMismatch("\(time.count) times but \(g.codes.count) group codes")
        }
        for c in covariates where c.values.count != time.count {
            throw StatsError.lengthMismatch("\(time.count) times but \(c.values.count) values of '\(c.name)'")
        }
        for (i, t) in time.enumerated() where !(t >= 0) || !t.isFinite {
            throw StatsError.invalidTime(index: i, value: t)
        }
        for c in covariates {
            for (i, v) in c.values.enumerated() where !v.isFinite {
                throw StatsError.invalidCovariate(name: c.name, index: i, value: v)
            }
        }
        self.time = time
        self.event = event
        self.groups = groups
        self.covariates = covariates
    }

    /// Convenience: group values given as strings (mapped to codes once).
    public init(time: [Double], event: [Bool], groupValues: [String]?, covariates: [Covariate] = []) throws {
        try self.init(time: time, event: event, groups: groupValues.map { GroupCoding(values: $0) },
                      covariates: covariates)
    }
}

/// A data set sorted once by time, shared by Kaplan–Meier (overall and per group),
/// the log-rank test and the Cox model. All columns are contiguous and in
/// ascending time order.
public struct PreparedSurvivalData: Sendable {
    /// Number of subjects.
    public let count: Int
    /// Sorted times.
    public let time: [Double]
    /// Event indicators (1 = event) in sorted order.
    public let event: [UInt8]
    /// Group codes in sorted order (empty when there is no grouping).
    public let group: [Int32]
    /// Group labels, sorted (empty when there is no grouping).
    public let groupLabels: [String]
    /// Covariate names (Cox terms).
    public let covariateNames: [String]
    /// Covariates row-major in sorted order: `covariates[i * covariateNames.count + j]`.
    public let covariates: [Double]
    /// Original (input) index of each sorted position.
    public let originalIndex: [Int32]

    /// Whether a grouping is present.
    public var hasGroups: Bool { !groupLabels.isEmpty }

    /// Sorts the data set by time: a counting sort for whole-number times (days), which scatters
    /// every column in the same pass, or one radix sort of the time keys otherwise.
    public init(_ data: SurvivalDataset) {
        let n = data.count
        self.count = n
        self.groupLabels = data.groups?.labels ?? []
        let order: [Int32]
        if let maxKey = wholeNumberMaximum(data.time) {
            var time = [Double](), event = [UInt8](), group = [Int32]()
            order = countingSortScatter(data, maxKey: maxKey, time: &time, event: &event, group: &group)
            self.time = time
            self.event = event
            self.group = group
        } else {
            order = radixSortIndices(data.time)
            self.time = order.map { data.time[Int($0)] }
            self.event = data.event.withUnsafeBufferPointer { ev in order.map { ev[Int($0)] ? 1 : 0 } }
            self.group = data.groups.map { g in g.codes.withUnsafeBufferPointer { c in order.map { c[Int($0)] } } } ?? []
        }
        self.originalIndex = order
        let p = data.covariates.count
        self.covariateNames = data.covariates.map(\.name)
        var x = [Double](repeating: 0, count: n * p)
        if p > 0 {
            x.withUnsafeMutableBufferPointer { out in
                for (j, c) in data.covariates.enumerated() {
                    c.values.withUnsafeBufferPointer { col in
                        for (pos, i) in order.enumerated() { out[pos * p + j] = col[Int(i)] }
                    }
                }
            }
        }
        self.covariates = x
    }
}

/// The largest time when every time is a whole number of at most `4n + 65,536` (registry
/// follow-up in days), so that a counting sort applies; nil otherwise.
func wholeNumberMaximum(_ values: [Double]) -> Int? {
    let limit = Double(4 * values.count + 65_536)
    var maxKey = 0.0
    for x in values {
        guard x >= 0, x <= limit, x == x.rounded(.down) else { return nil }
        maxKey = max(maxKey, x)
    }
    return Int(maxKey)
}

/// Stable counting sort on whole-number times: one pass counts, one pass scatters time, event and
/// group straight to their sorted positions (no separate gathers). Returns the original index of
/// each sorted position.
func countingSortScatter(_ data: SurvivalDataset, maxKey: Int,
                         time: inout [Double], event: inout [UInt8], group: inout [Int32]) -> [Int32] {
    let n = data.count
    var offsets = [Int](repeating: 0, count: maxKey + 2)
    data.time.withUnsafeBufferPointer { t in
        offsets.withUnsafeMutableBufferPointer { off in
            for x in t { off[Int(x) + 1] += 1 }
            for k in 1..<off.count { off[k] += off[k - 1] }
        }
    }
    let codes = data.groups?.codes ?? []
    let grouped = !codes.isEmpty
    var sortedTime = [Double](repeating: 0, count: n)
    var sortedEvent = [UInt8](repeating: 0, count: n)
    var sortedGroup = [Int32](repeating: 0, count: grouped ? n : 0)
    var order = [Int32](repeating: 0, count: n)
    data.time.withUnsafeBufferPointer { t in
    data.event.withUnsafeBufferPointer { ev in
    codes.withUnsafeBufferPointer { g in
    offsets.withUnsafeMutableBufferPointer { off in
    sortedTime.withUnsafeMutableBufferPointer { st in
    sortedEvent.withUnsafeMutableBufferPointer { se in
    sortedGroup.withUnsafeMutableBufferPointer { sg in
    order.withUnsafeMutableBufferPointer { o in
        for i in 0..<n {
            let k = Int(t[i])
            let pos = off[k]
            off[k] = pos + 1
            o[pos] = Int32(truncatingIfNeeded: i)
            st[pos] = t[i]
            se[pos] = ev[i] ? 1 : 0
            if grouped { sg[pos] = g[i] }
        }
    }}}}}}}}
    time = sortedTime
    event = sortedEvent
    group = sortedGroup
    return order
}

/// Indices that sort non-negative finite times ascending. LSD radix sort on the
/// IEEE bit patterns (monotone for non-negative doubles), 11-bit digits, skipping
/// digits on which all keys agree (integer-valued times need only ~3 passes).
func radixSortIndices(_ values: [Double]) -> [Int32] {
    let n = values.count
    var keys = values.map { ($0 + 0.0).bitPattern }   // + 0.0 turns −0 into +0
    var idx = [Int32](unsafeUninitializedCapacity: n) { buf, count in
        for i in 0..<n { buf[i] = Int32(i) }
        count = n
    }
    if n < 2 { return idx }
    let radixBits = 11
    let buckets = 1 << radixBits
    let passes = (64 + radixBits - 1) / radixBits
    var hist = [Int](repeating: 0, count: buckets * passes)
    keys.withUnsafeBufferPointer { k in
        hist.withUnsafeMutableBufferPointer { h in
            for key in k {
                var v = key
                for p in 0..<passes {
                    h[p * buckets + Int(v & UInt64(buckets - 1))] += 1
                    v >>= UInt64(radixBits)
                }
            }
        }
    }
    var keys2 = [UInt64](repeating: 0, count: n)
    var idx2 = [Int32](repeating: 0, count: n)
    var offsets = [Int](repeating: 0, count: buckets)
    for p in 0..<passes {
        let shift = UInt64(p * radixBits)
        // Skip a digit that is identical for every key.
        var trivial = false
        for b in 0..<buckets where hist[p * buckets + b] == n { trivial = true; break }
        if trivial { continue }
        var sum = 0
        for b in 0..<buckets {
            offsets[b] = sum
            sum += hist[p * buckets + b]
        }
        keys.withUnsafeBufferPointer { src in
            idx.withUnsafeBufferPointer { srcIdx in
                keys2.withUnsafeMutableBufferPointer { dst in
                    idx2.withUnsafeMutableBufferPointer { dstIdx in
                        offsets.withUnsafeMutableBufferPointer { off in
                            for i in 0..<n {
                                let key = src[i]
                                let b = Int((key >> shift) & UInt64(buckets - 1))
                                let o = off[b]
                                dst[o] = key
                                dstIdx[o] = srcIdx[i]
                                off[b] = o + 1
                            }
                        }
                    }
                }
            }
        }
        swap(&keys, &keys2)
        swap(&idx, &idx2)
    }
    return idx
}
