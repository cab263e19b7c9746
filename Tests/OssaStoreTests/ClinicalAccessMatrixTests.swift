import Foundation
import OssaCore
@testable import OssaStore
import Testing

enum ClinicalOperation: String, CaseIterable, Sendable {
    case evaluateScreening, signScreening, readScreening, listScreening
    case createImaging, readImaging, listImaging
    case createProcedure, signProcedure, readProcedure, listProcedures
    case submitQuestionnaire, readQuestionnaire, listQuestionnaires
    case generateTimepoints, markTimepoint, readTimepoint, listTimepoints
    case createOutcome, readOutcome, listOutcomes
    case createInvitation, listInvitations

    var isList: Bool { rawValue.hasPrefix("list") }
}

/// role × clinical operation × own/other site → expected result (AccessPolicy's table for the clinical records).
func clinicalExpectation(_ role: Role, _ operation: ClinicalOperation, _ target: Target) -> Expected {
    let own = target == .ownSite
    let siteScoped: Expected = operation.isList ? .allowed : (own ? .allowed : .notFound)
    switch role {
    case .researcher, .admin:
        return .denied
    case .patient:
        switch operation {
        case .submitQuestionnaire, .readQuestionnaire, .readTimepoint, .listQuestionnaires, .listTimepoints: return siteScoped
        default: return .denied
        }
    case .coordinator:
        switch operation {
        case .signScreening, .createProcedure, .signProcedure: return .denied
        default: return siteScoped
        }
    case .clinician:
        return siteScoped
    }
}

@Suite("Access matrix: clinical records")
struct ClinicalAccessMatrixTests {
    @Test(arguments: Engine.available, Role.allCases)
    func matrix(engine: Engine, role: Role) async throws {
        try await withStore(engine) { store in
            let fixture = try await ClinicalFixture.make(store)
            let actor = try #require(fixture.base.actors[role])
            for operation in ClinicalOperation.allCases {
                for target in Target.allCases {
                    let expected = clinicalExpectation(role, operation, target)
                    let before = try await auditEntries(store).count
                    let outcome = await run(operation, target, actor: actor, fixture: fixture)
                    let after = try await auditEntries(store)
                    let label = "\(engine) \(role) \(operation) \(target)"
                    #expect(outcome.result == expected, "\(label): expected \(expected), got \(outcome.result) \(outcome.detail)")
                    switch expected {
                    case .allowed, .denied:
                        #expect(after.count == before + 1, "\(label): expected one audit entry, got \(after.count - before)")
                        if let last = after.last {
                            #expect(last.actorRole == role.rawValue, "\(label)")
                            #expect(last.outcome == (expected == .allowed ? "ok" : "denied"), "\(label)")
                        }
                    case .notFound:
                        #expect(after.count == before, "\(label): nothing should be audited")
                    }
                    if outcome.result == .allowed, operation.isList {
                        #expect(!outcome.siteIDs.isEmpty, "\(label): saw nothing")
                        #expect(outcome.siteIDs.allSatisfy { $0 == fixture.base.siteA.id }, "\(label): saw another site's records")
                    }
                }
            }
        }
    }

    struct Outcome {
        var result: Expected
        var detail = ""
        var siteIDs: [UUID] = []
    }

    func run(_ operation: ClinicalOperation, _ target: Target, actor: ActingUser, fixture c: ClinicalFixture) async -> Outcome {
        let i = target == .ownSite ? 0 : 1
        let f = c.base
        let store = c.store
        let episode = i == 0 ? f.episodeA : f.episodeB
        let site = i == 0 ? f.siteA.id : f.siteB.id
        func check(_ siteID: UUID) -> Outcome { Outcome(result: siteID == site ? .allowed : .notFound, detail: "wrong site") }
        do {
            switch operation {
            case .evaluateScreening:
                let input = try exampleScreeningInput(i == 0 ? "knee-bml-recommended" : "hip-avn-collapse-refer")
                return check(try await store.screening.evaluate(actor, episodeID: episode.id, input).siteID)
            case .signScreening: return check(try await store.screening.sign(actor, c.screening[i]).siteID)
            case .readScreening: return check(try await store.screening.get(actor, c.screening[i]).siteID)
            case .listScreening: return Outcome(result: .allowed, siteIDs: try await store.screening.list(actor).items.map(\.siteID))
            case .createImaging:
                let mri = MRIStudy(date: date("2026-09-01"), bml: [])
                return check(try await store.imaging.create(actor, NewImagingStudy(episodeID: episode.id, timing: .followUp, mri: mri)).siteID)
            case .readImaging: return check(try await store.imaging.get(actor, c.imaging[i]).siteID)
            case .listImaging: return Outcome(result: .allowed, siteIDs: try await store.imaging.list(actor).items.map(\.siteID))
            case .createProcedure:
                let record = i == 0 ? kneeProcedure(on: "2026-06-01") : hipProcedure(on: "2026-06-01")
                return check(try await store.procedures.create(actor, NewProcedure(episodeID: episode.id, record: record)).siteID)
            case .signProcedure: return check(try await store.procedures.sign(actor, c.procedures[i]).siteID)
            case .readProcedure: return check(try await store.procedures.get(actor, c.procedures[i]).siteID)
            case .listProcedures: return Outcome(result: .allowed, siteIDs: try await store.procedures.list(actor).items.map(\.siteID))
            case .submitQuestionnaire:
                return check(try await store.questionnaires.submit(actor, episodeID: episode.id, instrumentID: "nrs-pain", answers: ["pain": 4]).siteID)
            case .readQuestionnaire: return check(try await store.questionnaires.get(actor, c.responses[i]).siteID)
            case .listQuestionnaires: return Outcome(result: .allowed, siteIDs: try await store.questionnaires.list(actor).items.map(\.siteID))
            case .generateTimepoints:
                let schedule = try await store.timepoints.generate(actor, episodeID: c.spareEpisodes[i].id, indexDate: date("2026-05-05"))
                return check(schedule.first?.siteID ?? UUID())
            case .markTimepoint:
                let timepoint = c.timepoints[i].first { $0.code == "month-24" }!
                return check(try await store.timepoints.mark(actor, timepoint.id, .missed).siteID)
            case .readTimepoint: return check(try await store.timepoints.get(actor, c.timepoints[i][0].id).siteID)
            case .listTimepoints: return Outcome(result: .allowed, siteIDs: try await store.timepoints.list(actor).items.map(\.siteID))
            case .createOutcome:
                let event = OutcomeEvent.jointReplacement(kind: i == 0 ? .tka : .tha, date: date("2026-11-01"))
                return check(try await store.outcomes.create(actor, episodeID: episode.id, event).siteID)
            case .readOutcome: return check(try await store.outcomes.get(actor, c.outcomes[i]).siteID)
            case .listOutcomes: return Outcome(result: .allowed, siteIDs: try await store.outcomes.list(actor).items.map(\.siteID))
            case .createInvitation:
                let timepoint = c.timepoints[i].first { $0.code == "month-12" }!
                let issued = try await store.invitations.create(actor, timepointID: timepoint.id, channel: .email,
                                                                now: date("2027-03-01").startOfDayUTC)
                return Outcome(result: issued.invitation.timepointID == timepoint.id ? .allowed : .notFound)
            case .listInvitations:
                // Invitation records carry no site; their site scoping is checked in ClinicalRepositoryTests.
                _ = try await store.invitations.list(actor)
                return Outcome(result: .allowed, siteIDs: [f.siteA.id])
            }
        } catch is AccessDenied {
            return Outcome(result: .denied)
        } catch let error as StoreError {
            if case .notFound = error { return Outcome(result: .notFound) }
            return Outcome(result: .denied, detail: "unexpected \(error)")
        } catch {
            return Outcome(result: .denied, detail: "unexpected \(error)")
        }
    }
}
