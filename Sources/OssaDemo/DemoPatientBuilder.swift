import Foundation
import OssaCore

/// Builds one patient from its own random stream. All clinical numbers come from the calibration.
struct DemoPatientBuilder {
    let registry: DemoRegistry
    let index: Int
    var rng: DemoRandom
    let cal: DemoCalibration

    static let daysPerMonth = 30.4375
    static let daysPerYear = 365.25

    init(registry: DemoRegistry, index: Int) {
        self.registry = registry
        self.index = index
        rng = DemoRandom(seed: registry.seed, stream: 2, index: UInt64(index))
        cal = registry.calibration
    }

    func n(_ id: String) throws -> Double { try cal.number(id) }

    mutating func uniformDays(_ lo: Double, _ hi: Double) -> Int { rng.int(in: Int(lo)...Int(hi)) }

    /// Patient-level exits, as dates (nil = not before the data cut).
    struct Exits {
        var death: CalendarDate?
        var withdrawal: CalendarDate?
        var lost: CalendarDate?
        /// The earliest exit.
        var exit: CalendarDate? { [death, withdrawal, lost].compactMap { $0 }.min() }
    }

    mutating func build() throws -> DemoPatientRecord {
        let people = cal.people
        let site = registry.sites[rng.categorical(registry.sites.map(\.weight))]
        let accrualDays = try n("registry.accrualMonths") * Self.daysPerMonth
        let firstScreening = registry.startDate.adding(days: Int(rng.uniform() * accrualDays))

        // Joint and diagnosis of the first episode decide the age distribution.
        let joint: Joint = rng.pick(try cal.weighted("joint") { Joint(rawValue: $0) })
        let side: Side = rng.pick(try cal.weighted("side") { Side(rawValue: $0) })
        let kind: Diagnosis.Kind = rng.pick(try cal.weighted("diagnosis.\(joint.rawValue)") { Diagnosis.Kind(rawValue: $0) })
        let ageKey = switch kind {
        case .osteoarthritis: "osteoarthritis"
        case .avascularNecrosis: "avascularNecrosis"
        case .boneBruise: "boneBruise"
        default: "other"
        }
        let age = rng.normal(mean: try n("age.\(ageKey).mean"), sd: try n("age.\(ageKey).sd"), in: try n("age.min")...(try n("age.max")))
        let birthDate = firstScreening.adding(days: -Int(age * Self.daysPerYear))
        let sex: DemoSex = rng.bernoulli(try n("patient.femaleProbability")) ? .female : .male
        let given = sex == .female ? rng.element(people.femaleGivenNames) : rng.element(people.maleGivenNames)
        let family = rng.element(people.familyNames)
        let pid = "pt-" + Self.pad(index, 7)
        let patient = DemoPatient(
            id: pid, mrn: "DEMO-" + Self.pad(index, 7), givenName: given, familyName: family, sex: sex, birthDate: birthDate,
            email: "\(given.lowercased()).\(family.lowercased()).\(index)@example.org",
            phone: "+1-555-01" + Self.pad(index % 100, 2), siteId: site.id)

        // Patient-level exits from the first screening: death (Gompertz), withdrawal, loss to follow-up.
        var exits = Exits()
        let b = DemoMath.ln2 / (try n("death.gompertzDoublingYears"))
        let h0 = try n("death.gompertzRateAt65") * DemoMath.exp(b * (age - 65))
        let e = rng.exponential(rate: 1)
        let deathYears = DemoMath.log(1 + e * b / h0) / b
        let withdrawalYears = rng.exponential(rate: try n("withdrawal.annualRate"))
        let lostYears = rng.exponential(rate: try n("lostToFollowUp.annualRate"))
        func date(_ years: Double) -> CalendarDate? {
            let d = firstScreening.adding(days: Int(years * Self.daysPerYear))
            return d < registry.dataCutDate ? d : nil
        }
        let times = [("death", deathYears), ("withdrawal", withdrawalYears), ("lost", lostYears)]
        if let first = times.min(by: { $0.1 < $1.1 }), let d = date(first.1) {
            switch first.0 {
            case "death": exits.death = d
            case "withdrawal": exits.withdrawal = d
            default: exits.lost = d
            }
        }

        var episodes: [DemoEpisode] = []
        var ep = DemoEpisodeBuilder(patient: patient, site: site, sex: sex, joint: joint, side: side, kind: kind,
                                    screeningDate: firstScreening, episodeId: "ep-" + Self.pad(index, 7) + "-1", exits: exits)
        episodes.append(try ep.build(&self))

        if rng.bernoulli(try n("episode.secondEpisodeProbability")) {
            let base = episodes[0].episode.indexDate ?? firstScreening
            let second = base.adding(days: uniformDays(try n("episode.secondEpisodeMinDelayDays"), try n("episode.secondEpisodeMaxDelayDays")))
            let joint2: Joint = rng.bernoulli(0.7) ? joint : (joint == .knee ? .hip : .knee)
            let side2: Side = joint2 == joint ? (side == .left ? .right : .left) : rng.pick(try cal.weighted("side") { Side(rawValue: $0) })
            let kind2: Diagnosis.Kind = rng.pick(try cal.weighted("diagnosis.\(joint2.rawValue)") { Diagnosis.Kind(rawValue: $0) })
            if second < registry.dataCutDate.adding(days: -60), exits.exit.map({ second < $0 }) ?? true {
                var ep2 = DemoEpisodeBuilder(patient: patient, site: site, sex: sex, joint: joint2, side: side2, kind: kind2,
                                             screeningDate: second, episodeId: "ep-" + Self.pad(index, 7) + "-2", exits: exits)
                episodes.append(try ep2.build(&self))
            }
        }
        return DemoPatientRecord(index: index, patient: patient, episodes: episodes)
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Whole years from `birth` to `date`.
    static func age(_ birth: CalendarDate, at date: CalendarDate) -> Int {
        var years = date.year - birth.year
        if (date.month, date.day) < (birth.month, birth.day) { years -= 1 }
        return years
    }
}

/// Rounds to a step (0.5 mL, 0.1 s …) using exact arithmetic.
func demoRound(_ x: Double, step: Double) -> Double { (x / step).rounded() * step }
