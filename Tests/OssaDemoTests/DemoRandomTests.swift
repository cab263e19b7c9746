import Foundation
import Testing
import OssaCore
@testable import OssaDemo

/// The demo generator's random source and distributions: reference vectors and moments.
@Suite("Demo random source")
struct DemoRandomTests {
    @Test func splitMix64MatchesReferenceVector() {
        // Reference outputs of Vigna's splitmix64.c for seed 1234567 (as used by rand_xoshiro's tests).
        var s = SplitMix64(seed: 1_234_567)
        let expected: [UInt64] = [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                                  4_593_380_528_125_082_431, 16_408_922_859_458_223_821]
        #expect((0..<5).map { _ in s.next() } == expected)
    }

    @Test func xoshiro256StarStarMatchesReferenceVector() {
        // xoshiro256** from state (1, 2, 3, 4): reference outputs of Blackman & Vigna's xoshiro256starstar.c.
        var r = DemoRandom(state: (1, 2, 3, 4))
        let expected: [UInt64] = [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240, 1_216_172_134_540_287_360,
                                  607_988_272_756_665_600, 16_172_922_978_634_559_625, 8_476_171_486_693_032_832,
                                  10_595_114_339_597_558_777, 2_904_607_092_377_533_576]
        #expect((0..<10).map { _ in r.next() } == expected)
    }

    @Test func streamsDependOnSeedStreamAndIndexOnly() {
        var a = DemoRandom(seed: 7, stream: 2, index: 41), b = DemoRandom(seed: 7, stream: 2, index: 41)
        var c = DemoRandom(seed: 7, stream: 2, index: 42), d = DemoRandom(seed: 8, stream: 2, index: 41)
        let xa = (0..<4).map { _ in a.next() }
        #expect(xa == (0..<4).map { _ in b.next() })
        #expect(xa != (0..<4).map { _ in c.next() })
        #expect(xa != (0..<4).map { _ in d.next() })
    }

    @Test func ownLogExpPowAgreeWithLibm() {
        var r = DemoRandom(seed: 99)
        for _ in 0..<2_000 {
            let x = DemoMath.exp(r.uniform(-30, 30))
            #expect(abs(DemoMath.log(x) - Foundation.log(x)) <= 1e-13 * max(1, abs(Foundation.log(x))))
            let y = r.uniform(-40, 40)
            #expect(abs(DemoMath.exp(y) - Foundation.exp(y)) <= 1e-13 * Foundation.exp(y))
        }
        #expect(DemoMath.log(1) == 0)
        #expect(abs(DemoMath.pow(2, 10) - 1024) < 1e-9)
        #expect(abs(DemoMath.log(1e-300) - Foundation.log(1e-300)) < 1e-11)
    }

    @Test func distributionMoments() {
        var r = DemoRandom(seed: 2026)
        let n = 100_000
        let normals = (0..<n).map { _ in r.normal(mean: 3, sd: 2) }
        let mean = normals.reduce(0, +) / Double(n)
        let sd = (normals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)).squareRoot()
        #expect(abs(mean - 3) < 0.03)
        #expect(abs(sd - 2) < 0.03)
        let exps = (0..<n).map { _ in r.exponential(rate: 0.5) }
        #expect(abs(exps.reduce(0, +) / Double(n) - 2) < 0.05)
        // Weibull(k = 0.6, λ = 10): median λ·(ln 2)^(1/k) = 5.427.
        let weibulls = (0..<n).map { _ in r.weibull(shape: 0.6, scale: 10) }.sorted()
        #expect(abs(weibulls[n / 2] - 10 * Foundation.pow(Foundation.log(2), 1 / 0.6)) < 0.15)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[r.int(in: 0...5)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 400 })
        let picks = (0..<n).map { _ in r.categorical([0.75, 0.25]) }
        #expect(abs(Double(picks.filter { $0 == 0 }.count) / Double(n) - 0.75) < 0.01)
        let u = (0..<n).map { _ in r.uniform() }
        #expect(u.allSatisfy { $0 > 0 && $0 < 1 })
    }
}
