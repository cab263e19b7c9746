import Foundation
import OssaCore

/// SplitMix64 (Steele, Lea & Flood 2014): used only to expand a seed into generator state and to
/// derive independent per-patient streams from `(seed, patient index)`.
public struct SplitMix64: Sendable, Hashable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// One-shot mix of a value (the SplitMix64 output function).
    public static func mix(_ value: UInt64) -> UInt64 {
        var s = SplitMix64(seed: value)
        return s.next()
    }
}

/// xoshiro256** (Blackman & Vigna 2018), the demo generator's random source.
///
/// Every draw goes through integer arithmetic and the IEEE basic operations (+ − × ÷ √), and the
/// transcendental functions are `DemoMath`'s own series, so one seed gives byte-identical output on
/// every platform and Swift version. Nothing here uses `Double.random`, the system generator, `hashValue`
/// or dictionary order.
public struct DemoRandom: Sendable, Hashable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }  // the all-zero state is the one fixed point
    }

    /// A generator with the given raw state (for reference-vector tests); the state must not be all zero.
    init(state: (UInt64, UInt64, UInt64, UInt64)) {
        (s0, s1, s2, s3) = state
    }

    /// An independent stream for one `(seed, stream, index)` triple: the same patient always gets the
    /// same stream, whatever chunk or thread generates it.
    public init(seed: UInt64, stream: UInt64, index: UInt64) {
        let a = SplitMix64.mix(seed ^ 0x6F73_7361_6465_6D6F)  // "ossademo"
        let b = SplitMix64.mix(a ^ (stream &* 0xD1B5_4A32_D192_ED03))
        self.init(seed: SplitMix64.mix(b ^ (index &* 0x9E37_79B9_7F4A_7C15)))
    }

    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// Uniform in the open interval (0, 1), 53-bit resolution.
    public mutating func uniform() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1.0p-53
    }

    /// Uniform in [lower, upper).
    public mutating func uniform(_ lower: Double, _ upper: Double) -> Double {
        lower + (upper - lower) * uniform()
    }

    /// Uniform integer in `range` (Lemire's unbiased multiply-shift with rejection).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) &+ 1
        if span == 0 { return Int(truncatingIfNeeded: next()) }  // full 64-bit range
        var m = next().multipliedFullWidth(by: span)
        if m.low < span {
            let threshold = (0 &- span) % span
            while m.low < threshold { m = next().multipliedFullWidth(by: span) }
        }
        return range.lowerBound + Int(m.high)
    }

    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    /// Standard normal by the polar (Marsaglia) form of the Box–Muller transform; the second variate
    /// is discarded so that every draw consumes a predictable amount of the stream.
    public mutating func standardNormal() -> Double {
        while true {
            let u = 2 * uniform() - 1, v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0, s < 1 { return u * (-2 * DemoMath.log(s) / s).squareRoot() }
        }
    }

    public mutating func normal(mean: Double, sd: Double) -> Double { mean + sd * standardNormal() }

    /// Normal, redrawn until inside `range` (truncated normal).
    public mutating func normal(mean: Double, sd: Double, in range: ClosedRange<Double>) -> Double {
        for _ in 0..<64 {
            let x = normal(mean: mean, sd: sd)
            if range.contains(x) { return x }
        }
        return min(max(mean, range.lowerBound), range.upperBound)
    }

    /// Exponential with the given rate (events per unit time).
    public mutating func exponential(rate: Double) -> Double { -DemoMath.log(uniform()) / rate }

    /// Weibull time with shape k and scale λ, hazard multiplied by `relativeHazard` (proportional hazards):
    /// S(t) = exp(−hr·(t/λ)^k) ⇒ t = λ·(E/hr)^(1/k), E ~ Exp(1).
    public mutating func weibull(shape: Double, scale: Double, relativeHazard: Double = 1) -> Double {
        let e = -DemoMath.log(uniform()) / relativeHazard
        return scale * DemoMath.pow(e, 1 / shape)
    }

    /// Index into `weights` chosen with probability proportional to its weight.
    public mutating func categorical(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var x = uniform() * total
        for (i, w) in weights.enumerated() {
            if x < w { return i }
            x -= w
        }
        return weights.count - 1
    }

    /// An element chosen with the weights of a `DemoWeighted` list.
    public mutating func pick<T>(_ options: [DemoWeighted<T>]) -> T {
        options[categorical(options.map(\.weight))].value
    }

    public mutating func element<T>(_ values: [T]) -> T { values[int(in: 0...(values.count - 1))] }
}

/// Platform-independent `log`, `exp` and `pow` built from IEEE basic operations only.
///
/// `Foundation.log` and friends come from the platform's libm, which may differ in the last bit between
/// glibc and Darwin; a one-ulp difference can flip a rounding and change the registry. These series are
/// accurate to a few ulps, which is ample for simulation, and identical everywhere.
public enum DemoMath {
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458

    /// Natural logarithm for x > 0 (x = m·2^e, m ∈ [1, 2); ln m = 2·atanh((m−1)/(m+1))).
    public static func log(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite, "DemoMath.log needs a positive finite argument")
        var m = x.significand
        var e = Double(x.exponent)
        if m > 1.414_213_562_373_095 { m /= 2; e += 1 }  // keep |s| small: m ∈ (0.707, 1.414]
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var term = s, sum = 0.0
        var k = 1.0
        while k < 60 {
            sum += term / k
            term *= s2
            k += 2
        }
        return 2 * sum + e * ln2
    }

    /// e^x (x = k·ln2 + r, |r| ≤ ln2/2, Taylor series for e^r, scaled by 2^k exactly).
    public static func exp(_ x: Double) -> Double {
        if x > 709 { return .infinity }
        if x < -745 { return 0 }
        let k = (x / ln2).rounded()
        let r = x - k * ln2
        var term = 1.0, sum = 1.0
        for n in 1...24 {
            term *= r / Double(n)
            sum += term
        }
        return sum * pow2(Int(k))
    }

    /// x^y for x > 0.
    public static func pow(_ x: Double, _ y: Double) -> Double {
        if x == 0 { return 0 }
        return exp(y * log(x))
    }

    /// 2^k, exactly, for the exponent range of Double (split in two steps for subnormal results).
    static func pow2(_ k: Int) -> Double {
        if k > 1023 { return .infinity }
        if k < -1022 { return Double(sign: .plus, exponent: -1022, significand: 1) * Double(sign: .plus, exponent: max(k + 1022, -60), significand: 1) }
        return Double(sign: .plus, exponent: k, significand: 1)
    }
}

/// One option of a weighted choice, as stored in the calibration file.
public struct DemoWeighted<T>: Sendable where T: Sendable {
    public var value: T
    public var weight: Double
    public init(_ value: T, _ weight: Double) {
        self.value = value
        self.weight = weight
    }
}
