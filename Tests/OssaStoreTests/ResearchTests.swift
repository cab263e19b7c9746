import Foundation
import OssaCore
@testable import OssaStore
import Testing

@Suite("De-identified research read model")
struct ResearchTests {
    @Test(arguments: Engine.available)
    func researchersSeeTheirSitesWithoutIdentifiers(engine: Engine) async throws {
        try await withStore(engine) { store in
            let c = try await ClinicalFixture.make(store)
            let researcher = try #require(c.base.actors[.researcher])
            let before = try await auditEntries(store).count
            let page = try await store.research.episodes(researcher, ResearchFilter(), PageRequest(limit: 100))
            // Site A only: episode A and the spare episode of patient A2.
            #expect(Set(page.items.map(\.studyKey)) == [c.base.episodeA.id, c.spareEpisodes[0].id])
            #expect(page.items.allSatisfy { $0.siteID == c.base.siteA.id })
            let entries = try await auditEntries(store).dropFirst(before)
            #expect(entries.map(\.action) == ["export"] && entries.first?.recordType == "deidentified")

            let row = try #require(page.items.first { $0.studyKey == c.base.episodeA.id })
            // Its ids are random UUIDs, which may spell "A-1" (…7053F9A-14DB…): they are blanked before the search.
            let text = String(describing: row).replacing(/[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/, with: "<id>")
            for identifier in ["Müller", "Anna", "A-1", "1961", "anna@example.org"] { #expect(!text.contains(identifier), "\(identifier) leaked") }
            // Born 1961-04-03, first IO procedure 2026-03-10: 64 years old.
            #expect(row.ageBand == "60-69" && row.sex == .female && row.treated && row.treatmentYear == 2026)
            #expect(row.joint == .knee && row.side == .left && row.diagnosis == "bone-marrow-lesion")
            #expect(row.screeningCategory == .recommended)
            // Baseline MRI of the knee example: grades 2 and 1.
            #expect(row.baselineBMLBurden == 3 && row.baselineBMLMaxGrade == 2)
            #expect(row.products == [.bmc, .prp] && row.intraArticular && row.procedures == 1 && row.questionnaireResponses == 1)
            #expect(row.jointReplacementDay == nil && row.deathDay == nil)
            let today = CalendarDate(utc: Date())
            #expect(row.lastFollowUpDay == date("2026-03-10").days(to: max(today, date("2026-03-12"))))
            let spare = try #require(page.items.first { $0.studyKey == c.spareEpisodes[0].id })
            #expect(!spare.treated && spare.ageBand == nil && spare.products.isEmpty)

            #expect(try await store.research.episodes(researcher, ResearchFilter(treatedOnly: true)).items.map(\.studyKey) == [c.base.episodeA.id])
            #expect(try await store.research.episodes(researcher, ResearchFilter(joint: .hip)).items.isEmpty)
            // The staff may read their own sites' de-identified rows too (issue #12: their de-identified exports);
            // administrators and patients never.
            for role in [Role.admin, .patient] {
                await #expect(throws: AccessDenied.self) { _ = try await store.research.episodes(try #require(c.base.actors[role])) }
            }
        }
    }
}
