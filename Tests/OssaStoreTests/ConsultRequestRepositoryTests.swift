import Foundation
import OssaCore
@testable import OssaStore
import SQLKit
import Testing

/// Consult requests from the public self-screen: the anonymous submission with its rate limit, the staff's scoped and
/// audited list, read, close, and the all-or-nothing conversion into a patient and an episode.
@Suite("Consult requests: public submission, rate limit, scoped staff access, all-or-nothing conversion")
struct ConsultRequestRepositoryTests {
    static let screener = try! SelfScreener.bundled()
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// A typical candidate: a left knee, bone marrow edema on an MRI of the last 6 months, physiotherapy tried.
    static var candidate: SelfScreenAnswers {
        SelfScreenAnswers(joint: .knee, side: .left, kneeAreas: [.inside], mri: .withinSixMonths, mriFindings: [.boneMarrowEdema],
                          treatments: [.exercisePhysiotherapy], avoidReplacement: .yes, surgeonAdvice: .neverAsked, ageBand: .from40To64,
                          heightCm: 170, weightKg: 78)
    }

    static func request(site: UUID?, name: String = "Anna Maria Huber", email: String? = "anna@example.org", phone: String? = nil,
                        answers: SelfScreenAnswers = candidate) -> NewConsultRequest {
        NewConsultRequest(siteID: site, name: name, email: email, phone: phone, consent: true, answers: answers,
                          result: screener.evaluate(answers, today: CalendarDate(utc: now)))
    }

    static func submit(_ store: OssaStore, _ new: NewConsultRequest, address: String = "203.0.113.9", at: Date = now) async throws -> UUID {
        guard case .stored(let id) = try await store.consultRequests.submit(new, address: address, now: at) else {
            Issue.record("the request was not stored")
            return UUID()
        }
        return id
    }

    static func conversion(site: UUID, birth: String = "1961-04-03", mrn: String? = nil,
                           diagnosis: Diagnosis = .boneMarrowLesion) -> ConsultConversion {
        ConsultConversion(patient: NewPatient(siteID: site, mrn: mrn, familyName: "Huber", givenName: "Anna Maria", birthDate: date(birth),
                                              email: "anna@example.org"),
                          joint: .knee, side: .left, diagnosis: diagnosis)
    }

    @Test(arguments: Engine.available)
    func aPublicRequestIsStoredWithItsAnswersAndAuditedAsAnonymous(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            #expect(try await store.consultRequests.publicSites().map(\.name) == ["Site A", "Site B"])
            let before = try await auditEntries(store).count
            let id = try await Self.submit(store, Self.request(site: f.siteA.id))
            let coordinator = try #require(f.actors[.coordinator])
            let record = try await store.consultRequests.get(coordinator, id)
            #expect(record.name == "Anna Maria Huber" && record.email == "anna@example.org" && record.siteID == f.siteA.id && record.consent)
            #expect(record.answers == Self.candidate && record.status == .new)
            #expect(record.outcome == .consultWorthwhile)
            #expect(record.result.rulesetID == "ossa-default" && record.result.definitionID == "ossa-self-screen")
            #expect(!record.result.definitionVersion.isEmpty && !record.result.rulesetVersion.isEmpty)

            // Only a hash of the address is stored, and the audit entry names no user and no address.
            let row = try #require(try await store.database.sql().select().column("address_hash").from("consult_requests").first())
            let hash = try row.decode(column: "address_hash", as: String?.self)
            #expect(hash?.count == 64 && hash?.contains("203.0.113") == false)
            let entries = try await auditEntries(store).dropFirst(before)
            let created = try #require(entries.first)
            #expect(created.action == "create" && created.recordType == "consult-request" && created.recordID == id.lowerString)
            #expect(created.actorUserID == nil && created.actorRole == "anonymous" && created.fromAddress == nil)
            // The read is audited too.
            #expect(entries.contains { $0.action == "read" && $0.recordID == id.lowerString && $0.actorUserID == coordinator.userID.lowerString })
        }
    }

    @Test(arguments: Engine.available)
    func theFieldsAreCheckedAsThePageChecksThem(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            func refused(_ new: NewConsultRequest, _ field: String) async {
                await #expect {
                    _ = try await store.consultRequests.submit(new, address: "203.0.113.9", now: Self.now)
                } throws: { error in
                    guard case StoreError.invalid(let named, _) = error else { return false }
                    return named == field
                }
            }
            await refused(Self.request(site: f.siteA.id, name: "  "), "name")
            await refused(Self.request(site: f.siteA.id, email: nil, phone: nil), "email")
            await refused(Self.request(site: f.siteA.id, email: "anna@"), "email")
            await refused(Self.request(site: f.siteA.id, email: nil, phone: "12"), "phone")
            await refused(Self.request(site: UUID()), "siteID")
            var noConsent = Self.request(site: f.siteA.id)
            noConsent.consent = false
            await refused(noConsent, "consent")
            #expect(try await count("consult_requests", in: store) == 0)
            // A phone alone is enough.
            _ = try await Self.submit(store, Self.request(site: nil, email: nil, phone: "+43 (660) 555-0199"))
            #expect(ConsultContact.isEmail("a.b@example.org") && !ConsultContact.isEmail("a b@example.org") && !ConsultContact.isEmail("a@b"))
            #expect(ConsultContact.isPhone("0660 5550199") && !ConsultContact.isPhone("call me") && !ConsultContact.isPhone("1234567890123456"))
        }
    }

    @Test(arguments: Engine.available)
    func anAddressMaySendFiveRequestsAnHour(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            for minute in 0..<5 {
                _ = try await Self.submit(store, Self.request(site: f.siteA.id), at: Self.now.addingTimeInterval(Double(minute) * 60))
            }
            let sixth = try await store.consultRequests.submit(Self.request(site: f.siteA.id), address: "203.0.113.9", now: Self.now.addingTimeInterval(600))
            #expect(sixth == .rateLimited)
            // Another address is not held back; an hour after the first, the first address may send again.
            _ = try await Self.submit(store, Self.request(site: f.siteA.id), address: "198.51.100.4", at: Self.now.addingTimeInterval(600))
            _ = try await Self.submit(store, Self.request(site: f.siteA.id), at: Self.now.addingTimeInterval(3601))
            #expect(try await count("consult_requests", in: store) == 7)
            // The hashes are cleared once the window has passed: none is kept longer than the limit needs.
            try await store.consultRequests.purgeAddressHashes(now: Self.now.addingTimeInterval(3600 + 300))
            let kept = try await store.database.sql().select().column("address_hash").from("consult_requests")
                .where("address_hash", .isNot, SQLLiteral.null).all()
            #expect(kept.count == 2)
        }
    }

    @Test(arguments: Engine.available)
    func staffSeeTheirSitesRequestsAndThoseWithNoPreferredSite(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let atA = try await Self.submit(store, Self.request(site: f.siteA.id), at: Self.now)
            let atB = try await Self.submit(store, Self.request(site: f.siteB.id, name: "Bea B"), at: Self.now.addingTimeInterval(60))
            let anywhere = try await Self.submit(store, Self.request(site: nil, name: "No Preference"), at: Self.now.addingTimeInterval(120))
            let coordinator = try #require(f.actors[.coordinator])
            let clinician = try #require(f.actors[.clinician])
            for staff in [coordinator, clinician] {
                let page = try await store.consultRequests.list(staff)
                #expect(page.items.map(\.id) == [anywhere, atA] && page.total == 2, "newest first, site B's left out")
                await #expect(throws: StoreError.notFound(recordType: "consult request", id: atB.lowerString)) {
                    _ = try await store.consultRequests.get(staff, atB)
                }
            }
            #expect(try await store.consultRequests.list(f.seeder, site: f.siteB.id).items.map(\.id) == [atB])
            #expect(try await store.consultRequests.list(f.seeder, status: .converted).total == 0)
            for role in [Role.researcher, .admin, .patient] {
                let actor = try #require(f.actors[role])
                await #expect(throws: AccessDenied.self) { _ = try await store.consultRequests.list(actor) }
                await #expect(throws: AccessDenied.self) { _ = try await store.consultRequests.get(actor, atA) }
            }
            // The worklist lists the open ones with their count, under the same scope.
            let worklist = try await store.readModels.worklist(coordinator, today: CalendarDate(utc: Self.now))
            #expect(worklist.consultRequests.total == 2 && worklist.consultRequests.items.map(\.id) == [anywhere, atA])
            _ = try await store.consultRequests.close(coordinator, anywhere, reason: "duplicate of an earlier request", now: Self.now)
            #expect(try await store.readModels.worklist(coordinator, today: CalendarDate(utc: Self.now)).consultRequests.items.map(\.id) == [atA])
            let closed = try await store.consultRequests.get(coordinator, anywhere)
            #expect(closed.status == .closed && closed.closeReason == "duplicate of an earlier request" && closed.handledBy == coordinator.userID)
            await #expect(throws: StoreError.self) { _ = try await store.consultRequests.close(coordinator, anywhere, reason: "again") }
            await #expect(throws: StoreError.self) { _ = try await store.consultRequests.close(coordinator, atA, reason: " ") }
        }
    }

    @Test(arguments: Engine.available)
    func convertingCreatesThePatientAndEpisodeAllOrNothing(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let id = try await Self.submit(store, Self.request(site: f.siteA.id))
            let coordinator = try #require(f.actors[.coordinator])
            let patients = try await count("patients", in: store), episodes = try await count("episodes", in: store)
            let audit = try await auditEntries(store).count

            func unchanged() async throws {
                #expect(try await count("patients", in: store) == patients)
                #expect(try await count("episodes", in: store) == episodes)
                #expect(try await store.consultRequests.get(coordinator, id).status == .new)
                let written = try await auditEntries(store).dropFirst(audit)
                #expect(!written.contains { $0.outcome == "ok" && ($0.action == "create" || $0.action == "update") }, "no create or update audited")
            }
            // A birth date in the future: refused before anything is written.
            await #expect(throws: StoreError.invalid(field: "birthDate", message: "is in the future")) {
                _ = try await store.consultRequests.convert(coordinator, id, Self.conversion(site: f.siteA.id, birth: "2027-01-01"), now: Self.now)
            }
            try await unchanged()
            // A grade that does not fit the joint is found by the episode, after the patient was inserted: rolled back.
            await #expect(throws: StoreError.self) {
                _ = try await store.consultRequests.convert(coordinator, id, Self.conversion(site: f.siteA.id, diagnosis: .osteoarthritis(OAGrading(tonnis: .grade1))),
                                                            now: Self.now)
            }
            try await unchanged()
            // An MRN already used at the site.
            await #expect(throws: StoreError.self) {
                _ = try await store.consultRequests.convert(coordinator, id, Self.conversion(site: f.siteA.id, mrn: f.patientA.mrn), now: Self.now)
            }
            try await unchanged()
            // Not at a site the coordinator holds no grant for.
            await #expect(throws: AccessDenied.self) {
                _ = try await store.consultRequests.convert(coordinator, id, Self.conversion(site: f.siteB.id), now: Self.now)
            }
            try await unchanged()

            let converted = try await store.consultRequests.convert(coordinator, id, Self.conversion(site: f.siteA.id), now: Self.now)
            #expect(converted.patient.familyName == "Huber" && converted.patient.givenName == "Anna Maria" && converted.patient.siteID == f.siteA.id)
            #expect(converted.patient.birthDate == date("1961-04-03") && converted.patient.email == "anna@example.org")
            #expect(converted.episode.patientID == converted.patient.id && converted.episode.joint == .knee && converted.episode.side == .left)
            #expect(converted.episode.diagnosis == .boneMarrowLesion && converted.episode.siteID == f.siteA.id)
            let stored = try await store.consultRequests.get(coordinator, id)
            #expect(stored.status == .converted && stored.patientID == converted.patient.id && stored.episodeID == converted.episode.id)
            #expect(stored.handledBy == coordinator.userID && stored.handledAt != nil)
            let written = try await auditEntries(store).dropFirst(audit)
            #expect(written.contains { $0.action == "create" && $0.recordType == "patient" && $0.recordID == converted.patient.id.lowerString })
            #expect(written.contains { $0.action == "create" && $0.recordType == "episode" && $0.recordID == converted.episode.id.lowerString })
            #expect(written.contains { $0.action == "update" && $0.recordType == "consult-request" && $0.recordID == id.lowerString })
            // Once only.
            await #expect(throws: StoreError.conflict("this consult request has already been turned into a patient")) {
                _ = try await store.consultRequests.convert(coordinator, id, Self.conversion(site: f.siteA.id), now: Self.now)
            }
            #expect(try await count("patients", in: store) == patients + 1)
        }
    }

    @Test(arguments: Engine.available)
    func anotherSitesCoordinatorCannotConvertOrClose(engine: Engine) async throws {
        try await withStore(engine) { store in
            let f = try await Fixture.make(store)
            let atB = try await Self.submit(store, Self.request(site: f.siteB.id))
            let coordinator = try #require(f.actors[.coordinator])
            await #expect(throws: StoreError.notFound(recordType: "consult request", id: atB.lowerString)) {
                _ = try await store.consultRequests.convert(coordinator, atB, Self.conversion(site: f.siteA.id), now: Self.now)
            }
            await #expect(throws: StoreError.notFound(recordType: "consult request", id: atB.lowerString)) {
                _ = try await store.consultRequests.close(coordinator, atB, reason: "not ours")
            }
            let researcher = try #require(f.actors[.researcher])
            await #expect(throws: AccessDenied.self) {
                _ = try await store.consultRequests.convert(researcher, atB, Self.conversion(site: f.siteA.id), now: Self.now)
            }
            #expect(try await store.consultRequests.get(f.seeder, atB).status == .new)
        }
    }
}
