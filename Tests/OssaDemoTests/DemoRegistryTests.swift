import Foundation
import Testing
import OssaCore
@testable import OssaDemo

/// The demo generator: determinism, chunking, and every generated value passing the domain's own checks.
@Suite("Demo registry")
struct DemoRegistryTests {
    static let start = day("2021-01-04")

    static let sample: Result<(DemoRegistry, [DemoPatientRecord]), any Error> = Result {
        let registry = try DemoRegistry(seed: 42, startDate: start)
        return (registry, try registry.patients(0..<300))
    }

    @Test func sameSeedGivesIdenticalRegistry() throws {
        let a = try DemoRegistry(seed: 42, startDate: Self.start), b = try DemoRegistry(seed: 42, startDate: Self.start)
        let da = try DemoRegistry.digest(try a.patients(0..<50)), db = try DemoRegistry.digest(try b.patients(0..<50))
        #expect(da == db)
        #expect(a.users == b.users)
        let other = try DemoRegistry(seed: 43, startDate: Self.start)
        #expect(try DemoRegistry.digest(try other.patients(0..<50)) != da)
        #expect(other.users != a.users)
    }

    @Test func chunkedAndOutOfOrderGenerationEqualsOneRun() throws {
        let registry = try DemoRegistry(seed: 7, startDate: Self.start)
        let whole = try registry.patients(0..<60)
        let chunked = try registry.patients(0..<23) + registry.patients(23..<60)
        #expect(whole == chunked)
        let backwards = try (0..<60).reversed().map { try registry.patient($0) }.reversed()
        #expect(whole == Array(backwards))
        var streamed: [DemoPatientRecord] = []
        try registry.forEachPatient(in: 0..<60) { streamed.append($0) }
        #expect(streamed == whole)
    }

    @Test func generateReportsProgressPerPatient() throws {
        var seen: [Int] = []
        let snapshot = try DemoRegistry.generate(patients: 12, seed: 1, startDate: Self.start) { seen.append($0) }
        #expect(seen == Array(1...12))
        #expect(snapshot.patients.map(\.index) == Array(0..<12))
        #expect(snapshot.dataCutDate == day("2026-01-04"))
        #expect(throws: DemoError.self) { try DemoRegistry.generate(patients: -1, seed: 1, startDate: Self.start) }
    }

    @Test func sitesAndUsers() throws {
        let (registry, _) = try Self.sample.get()
        #expect((3...4).contains(registry.sites.count))
        #expect(Set(registry.sites.map(\.timeZone)).count == registry.sites.count)
        #expect(Set(registry.users.map(\.login)).count == registry.users.count)
        #expect(registry.users.allSatisfy { $0.email.hasSuffix("@example.org") && $0.login.hasPrefix("demo.") })
        for site in registry.sites {
            #expect(registry.users.filter { $0.role == .clinician && $0.siteIds == [site.id] }.count >= 1)
            #expect(registry.users.contains { $0.role == .coordinator && $0.siteIds == [site.id] })
        }
        #expect(registry.users.filter { $0.role == .researcher }.count >= 1)
        #expect(registry.users.filter { $0.role == .admin }.count == 1)
    }

    @Test func everyGeneratedValuePassesDomainValidation() throws {
        let (registry, records) = try Self.sample.get()
        let engine = try ScreeningEngine.withDefaultRuleset()
        let userIds = Set(registry.users.map(\.id))
        let siteIds = Set(registry.sites.map(\.id))
        var kinds = Set<Diagnosis.Kind>(), joints = Set<Joint>(), products = Set<InjectedProduct>(), followUpMRIs = 0
        for record in records {
            let p = record.patient
            #expect(p.email.hasSuffix("@example.org"))
            #expect(p.phone.hasPrefix("+1-555-01"))
            #expect(p.mrn.hasPrefix("DEMO-"))
            #expect(siteIds.contains(p.siteId))
            for ep in record.episodes {
                let e = ep.episode
                try e.validate()
                kinds.insert(e.diagnosis.kind)
                joints.insert(e.joint)
                #expect(e.patientId == p.id && e.siteId == p.siteId)
                // Each stored decision is what the real engine says for the stored input.
                #expect(!ep.screenings.isEmpty)
                for s in ep.screenings {
                    try s.decision.input.validate()
                    #expect(try engine.evaluate(s.decision.input) == s.decision)
                    #expect(userIds.contains(s.signedBy))
                    let age = DemoPatientBuilder.age(p.birthDate, at: s.signedOn)
                    #expect((18...100).contains(age))
                }
                #expect(zip(ep.screenings, ep.screenings.dropFirst()).allSatisfy { $0.signedOn < $1.signedOn })
                if e.procedures.isEmpty {
                    #expect(ep.schedule == nil && ep.responses.isEmpty)
                    continue
                }
                for procedure in e.procedures {
                    try procedure.validate()
                    #expect(userIds.contains(procedure.operator_))
                    products.formUnion(procedure.injections.map(\.product))
                    #expect(procedure.injections.contains { $0.target == .intraArticular })
                }
                #expect(e.imaging.count >= 1)
                followUpMRIs += e.imaging.filter { $0.date > e.indexDate! }.count
                let decision = ep.screenings[ep.screenings.count - 1].decision
                #expect([.recommended, .consider].contains(decision.category))
                #expect(decision.evaluationDate < e.indexDate!)
                try checkResponses(ep, registry: registry)
            }
        }
        #expect(kinds == Set(Diagnosis.Kind.allCases))
        #expect(joints == [.knee, .hip])
        #expect(products == [.prp, .bmc])
        #expect(followUpMRIs > 20)
        #expect(records.contains { $0.episodes.count == 2 })
    }

    /// Responses: known instrument, valid answers, scorable forms score without error, inside the
    /// timepoint's window, before the last contact; missed timepoints have no response.
    func checkResponses(_ ep: DemoEpisode, registry: DemoRegistry) throws {
        let library = try InstrumentLibrary.builtIn()
        guard let schedule = ep.schedule, let lastContact = ep.episode.lastContactDate else {
            Issue.record("treated episode without schedule or last contact")
            return
        }
        #expect(schedule.indexDate == ep.episode.indexDate)
        for r in ep.responses {
            let def = try library.require(id: r.instrument)
            try def.validate(answers: r.answerMap)
            if def.isScorable { _ = try def.score(r.answerMap) }
            guard let tp = schedule[r.timepoint] else {
                Issue.record("response at unknown timepoint \(r.timepoint)")
                continue
            }
            #expect(tp.instruments.contains(r.instrument))
            #expect(tp.isOpen(on: r.completedOn), "\(r.timepoint) \(r.completedOn) outside \(tp.windowOpen)–\(tp.windowClose)")
            #expect(r.completedOn <= lastContact)
            #expect(r.completedOn <= registry.dataCutDate)
            #expect(!ep.missedTimepoints.contains(r.timepoint))
        }
        #expect(zip(ep.responses, ep.responses.dropFirst()).allSatisfy { $0.completedOn <= $1.completedOn })
    }

    @Test func answersAreItemLevelAndComplete() throws {
        let (_, records) = try Self.sample.get()
        let library = try InstrumentLibrary.builtIn()
        var kneeForms = 0, hipForms = 0
        for ep in records.flatMap(\.episodes) {
            for r in ep.responses where r.instrument == "koos" || r.instrument == "hoos" {
                let def = try library.require(id: r.instrument)
                #expect(r.answers.map(\.item) == def.items.map(\.code))  // every item, in questionnaire order
                #expect(r.instrument == (ep.episode.joint == .knee ? "koos" : "hoos"))
                if r.instrument == "koos" { kneeForms += 1 } else { hipForms += 1 }
            }
            // KOOS JR answered with the KOOS of the same visit repeats its answers.
            for jr in ep.responses where jr.instrument == "koos-jr" {
                guard let full = ep.responses.first(where: { $0.instrument == "koos" && $0.timepoint == jr.timepoint }) else { continue }
                let map = full.answerMap
                #expect(jr.answers.allSatisfy { map[$0.item] == .some($0.value) })
            }
        }
        #expect(kneeForms > 0 && hipForms > 0)
    }

    @Test func outcomesAreConsistent() throws {
        let (registry, records) = try Self.sample.get()
        var replacements = 0, deaths = 0
        for ep in records.flatMap(\.episodes) where ep.truth.treated {
            let outcomes = ep.episode.outcomes
            #expect(zip(outcomes, outcomes.dropFirst()).allSatisfy { $0.date <= $1.date })
            let replaced = outcomes.compactMap { if case .jointReplacement(let kind, let d) = $0 { (kind, d) } else { nil } }
            #expect(replaced.count <= 1)
            if let (kind, date) = replaced.first {
                replacements += 1
                #expect(kind == (ep.episode.joint == .hip ? .tha : kind == .uka ? .uka : .tka))
                // No questionnaire other than the events form after the replacement.
                #expect(ep.responses.filter { $0.completedOn >= date }.allSatisfy { $0.instrument == "events" })
            }
            if outcomes.contains(where: { if case .death = $0 { true } else { false } }) { deaths += 1 }
            #expect(ep.episode.lastContactDate! <= registry.dataCutDate)
        }
        #expect(replacements > 5)
        #expect(deaths >= 0)
    }
}

func day(_ iso: String) -> CalendarDate {
    try! CalendarDate(iso: iso)
}
