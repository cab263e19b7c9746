import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import OssaCore
@testable import OssaStore
@testable import OssaWeb
import Testing

/// The acceptance check for `ossa serve --demo`: the demo registry is loaded, every printed login signs in
/// with the demo password, and each role sees exactly what it should.
@Suite("Demo registry: every role signs in and sees what it should")
struct DemoRolesTests {
    @Test(arguments: Engine.available)
    func everyDemoLogin(engine: Engine) async throws {
        try await withStore(engine) { store in
            let result = try await DemoSetup.load(store: store, patients: 24, seed: 7,
                                                  startDate: try CalendarDate(iso: DemoSetup.defaultStartDate), bcryptCost: 4)
            #expect(Set(result.logins.map(\.role)) == ["clinician", "coordinator", "researcher", "admin", "patient"])
            var logger = Logger(label: "ossa.web.test")
            logger.logLevel = .warning
            let app = try await buildApplication(configuration: testConfiguration(), store: store, logger: logger)
            try await app.test(.router) { client in
                // The total each staff member sees: their sites' patients only.
                var staffTotals: [String: Int] = [:]
                for login in result.logins {
                    let session = try await signIn(client, login.email, password: DemoSetup.password)
                    let patients = try await client.execute(uri: "/api/v1/patients?limit=500", method: .get, headers: session.headers)
                    let page = try await client.execute(uri: "/patients", method: .get, headers: session.headers)
                    switch login.role {
                    case "clinician", "coordinator":
                        #expect(patients.status == .ok, "\(login.email)")
                        #expect(page.status == .ok)
                        let items = patients.json["items"] as? [[String: Any]] ?? []
                        let sites = Set(items.compactMap { $0["siteId"] as? String })
                        #expect(sites.count == 1, "\(login.email) sees one site's patients")
                        staffTotals[login.email] = patients.json["total"] as? Int
                    case "patient":
                        #expect(patients.status == .ok)
                        #expect(patients.json["total"] as? Int == 1, "a patient sees their own record only")
                        #expect(page.status == .ok)
                        #expect(page.text.contains("My record"))
                    default:  // researcher, admin: no identified data
                        #expect(patients.status == .forbidden, "\(login.email)")
                        #expect(page.status == .forbidden)
                    }
                }
                // Every patient is seen by some site's staff, and no one sees them all.
                #expect(staffTotals.values.allSatisfy { $0 > 0 && $0 < 24 })
            }
        }
    }
}
