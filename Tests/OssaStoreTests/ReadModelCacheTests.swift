import Foundation
import Synchronization
import OssaCore
@testable import OssaStore
import Testing

/// Page read models answered again between writes (`OssaDatabase.cachedAuditedRead`): never a stale page, never
/// another user's page, and every view audited as before.
@Suite("Read model cache: a page read again before the next write")
struct ReadModelCacheTests {
    @Test("a page read again before any write costs one statement and is audited again, from the new address")
    func repeatedViewsAreAudited() async throws {
        try await ReadModelTests().withCountedStore(cacheEntries: 100) { store, counter in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let first = try await counter.statements { _ = try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id) }
            let before = try await auditEntries(store).count
            var again = clinician
            again.address = "10.9.9.9"
            var view: ReadModels.EpisodePage?
            let second = try await counter.statements { view = try await store.readModels.episodePage(again, episodeID: f.episodeA.id) }
            #expect(view?.episode.id == f.episodeA.id && view?.patient.id == f.patientA.id)
            // The revision probe, then the audit batch (its statements on the writer are counted too).
            #expect(second < first, "statements: \(first) read, \(second) again")
            let entries = try await auditEntries(store).dropFirst(before)
            #expect(entries.first?.recordType == "episode" && entries.first?.action == "read")
            #expect(entries.first?.recordID == f.episodeA.id.lowerString)
            #expect(entries.count >= 2 && entries.allSatisfy { $0.actorUserID == clinician.userID.lowerString && $0.fromAddress == "10.9.9.9" })
            // After a write the kept page fails the append's revision check and is read afresh: the new status, and
            // the view audited once, not twice.
            _ = try await store.episodes.update(f.seeder, f.episodeA.id, EpisodeChanges(status: .closed))
            let beforeFresh = try await auditEntries(store).count
            #expect(try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id).episode.status == .closed)
            let fresh = try await auditEntries(store).dropFirst(beforeFresh)
            #expect(fresh.filter { $0.recordType == "episode" && $0.action == "read" }.count == 1)
            #expect(fresh.filter { $0.recordType == "patient" && $0.action == "read" }.count == 1)
        }
    }

    @Test("every write shows on the next view: episode page, patient list and worklist", arguments: Engine.available)
    func writesShowAtOnce(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let day = try CalendarDate(iso: "2026-03-11")
            #expect(try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id).episode.status == .open)
            #expect(try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id).imagingStudies.isEmpty)
            _ = try await store.episodes.update(f.seeder, f.episodeA.id, EpisodeChanges(status: .closed))
            #expect(try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id).episode.status == .closed)
            let input = try exampleScreeningInput("knee-bml-recommended")
            _ = try await store.imaging.create(f.seeder, NewImagingStudy(episodeID: f.episodeA.id, timing: .baseline, mri: input.mri!))
            #expect(try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id).imagingStudies.count == 1)

            let search = PageRequest(limit: 25, search: "Zed")
            #expect(try await store.readModels.patientList(clinician, search, site: nil).patients.total == 0)
            #expect(try await store.readModels.patientList(clinician, search, site: nil).patients.total == 0)
            _ = try await store.patients.create(f.seeder, NewPatient(siteID: f.siteA.id, mrn: "A-9", familyName: "Zedler",
                                                                     givenName: "Eva", birthDate: date("1950-05-05")))
            #expect(try await store.readModels.patientList(clinician, search, site: nil).patients.items.map(\.familyName) == ["Zedler"])

            #expect(try await store.readModels.worklist(clinician, today: day).decisionsAwaitingSignature.total == 0)
            _ = try await store.screening.evaluate(f.seeder, episodeID: f.episodeA.id, input)
            #expect(try await store.readModels.worklist(clinician, today: day).decisionsAwaitingSignature.total == 1)
            // The worklist of another day is read for that day.
            #expect(try await store.readModels.worklist(clinician, today: day.adding(days: 1)).today == day.adding(days: 1))
        }
    }

    @Test("a write by another process on the same SQLite file shows on the next view")
    func anotherProcessesWrite() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ossa.sqlite").path
        let server = try await OssaDatabase.open(.sqlite(path: path))
        let other = try await OssaDatabase.open(.sqlite(path: path))
        do {
            try await server.migrate()
            let store = OssaStore(database: server)
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let search = PageRequest(limit: 25, search: "Import")
            #expect(try await store.readModels.patientList(clinician, search, site: nil).patients.total == 0)
            #expect(try await store.readModels.patientList(clinician, search, site: nil).patients.total == 0)
            // `ossa import` beside `ossa serve`: its own connection, its own cache.
            _ = try await OssaStore(database: other).patients.create(f.seeder, NewPatient(
                siteID: f.siteA.id, mrn: "A-7", familyName: "Imported", givenName: "Ida", birthDate: date("1949-09-09")))
            #expect(try await store.readModels.patientList(clinician, search, site: nil).patients.total == 1)
        } catch {
            await other.shutdown()
            await server.shutdown()
            throw error
        }
        await other.shutdown()
        await server.shutdown()
    }

    @Test("another user, or the same user after a site grant is revoked, never gets a page kept for someone else")
    func keptPerUserAndGrants() async throws {
        try await withStore(.sqlite) { store in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            _ = try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id)
            // A clinician of site B only.
            let record = try await store.users.create(f.admin, NewUser(email: "b@example.org", displayName: "B", role: .clinician))
            try await store.users.grantSite(f.admin, user: record.id, site: f.siteB.id)
            let siteB = try await store.users.actingUser(record.id, from: nil)
            await #expect(throws: StoreError.notFound(recordType: "episode", id: f.episodeA.id.lowerString)) {
                _ = try await store.readModels.episodePage(siteB, episodeID: f.episodeA.id)
            }
            #expect(try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id).viewer.displayName == "clinician")
            try await store.users.revokeSite(f.admin, user: clinician.userID, site: f.siteA.id)
            let revoked = try await store.users.actingUser(clinician.userID, from: nil)
            await #expect(throws: StoreError.notFound(recordType: "episode", id: f.episodeA.id.lowerString)) {
                _ = try await store.readModels.episodePage(revoked, episodeID: f.episodeA.id)
            }
            // A renamed user sees their new name in the page's user bar.
            _ = try await store.users.update(f.admin, siteB.userID, UserChanges(displayName: "Dr B"))
            #expect(try await store.readModels.episodePage(siteB, episodeID: f.episodeB.id).viewer.displayName == "Dr B")
        }
    }

    @Test("the write revision moves with every write carried out, not with reads or refused writes", arguments: Engine.available)
    func revisionMoves(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            func revision() async throws -> Int64 {
                try await store.database.transaction { db in try await OssaDatabase.writeRevision(on: db.sqlDatabase()) }
            }
            let start = try await revision()
            #expect(start > 0)
            let clinician = try #require(f.actors[.clinician])
            _ = try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id)
            let researcher = try #require(f.actors[.researcher])
            await #expect(throws: AccessDenied.self) {
                _ = try await store.patients.create(researcher, NewPatient(siteID: f.siteA.id, mrn: "R-1", familyName: "No",
                                                                           givenName: "One", birthDate: date("1960-01-01")))
            }
            #expect(try await revision() == start, "a read and a refused write change nothing")
            _ = try await store.episodes.update(f.seeder, f.episodeA.id, EpisodeChanges(status: .closed))
            #expect(try await revision() > start)
        }
    }

    @Test("the cache keeps at most its capacity, hands out only the newest revision and drops older ones")
    func bounded() {
        let cache = RevisionedCache<Int, String>(capacity: 8)
        for key in 0..<20 { cache.store(key, revision: 5, "v\(key)") }
        #expect(cache.count <= 8)
        #expect(cache.value(19, revision: 5) == "v19")
        #expect(cache.value(19, revision: 6) == nil, "a newer revision is a miss")
        cache.store(1, revision: 6, "new")
        #expect(cache.count == 1, "entries of older revisions are dropped")
        cache.store(2, revision: 5, "late")
        #expect(cache.value(2, revision: 5) == nil, "a read older than the newest revision is not kept")
        #expect(cache.value(1, revision: 6) == "new")
        cache.observe(7)
        #expect(cache.count == 0 && cache.newest == 7, "a newer revision seen elsewhere drops what is kept")
        let off = RevisionedCache<Int, String>(capacity: 0)
        off.store(1, revision: 1, "x")
        #expect(off.value(1, revision: 1) == nil)
    }

    @Test("views of one page that is not kept, all at once, read it once; each view is answered and audited")
    func concurrentMissesReadOnce() async throws {
        try await ReadModelTests().withCountedStore(cacheEntries: 100) { store, counter in
            let f = try await Fixture.make(store)
            let clinician = try #require(f.actors[.clinician])
            let before = try await auditEntries(store).count
            let views = 12
            let ids = try await withThrowingTaskGroup(of: UUID.self) { group in
                for _ in 0..<views {
                    group.addTask { try await store.readModels.episodePage(clinician, episodeID: f.episodeA.id).episode.id }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(ids.count == views && ids.allSatisfy { $0 == f.episodeA.id })
            let reads = try await auditEntries(store).dropFirst(before).filter { $0.recordType == "episode" && $0.action == "read" }
            #expect(reads.count == views, "every view is audited, whether it read the page or was handed it")
            #expect(store.database.readFlights.count == 0)
        }
    }

    @Test("one read per key at a time: the others wait for it and are handed nil, also when it fails")
    func flights() async throws {
        let flights = ReadFlights<Int>()
        final class Calls: Sendable { let count = Mutex(0) }
        let calls = Calls()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let results = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                try await flights.lead(1) {
                    calls.count.withLock { $0 += 1 }
                    for await _ in gate { break }
                    return 42
                }
            }
            // The first read is under way before the others ask.
            while calls.count.withLock({ $0 }) == 0 { await Task.yield() }
            for _ in 0..<5 {
                group.addTask { try await flights.lead(1) { calls.count.withLock { $0 += 1 }; return 7 } }
            }
            while flights.waiters(1) < 5 { await Task.yield() }
            // Another key is not held up.
            #expect(try await flights.lead(2) { 3 } == 3)
            open.yield()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(calls.count.withLock { $0 } == 1)
        #expect(results.compactMap { $0 } == [42] && results.count == 6)
        #expect(flights.count == 0)
        struct Failed: Error {}
        await #expect(throws: Failed.self) { _ = try await flights.lead(1) { () async throws -> Int in throw Failed() } }
        #expect(flights.count == 0)
        let after = try await flights.lead(1) { 5 }
        #expect(after == 5, "a failed read leaves the key free")
    }
}
