import Foundation
import OssaCore
@testable import OssaStore
import Testing

/// Check-then-write operations that a parallel burst must not be able to slip past.
@Suite("Concurrent check-then-write")
struct ConcurrencyTests {
    @Test("a parallel burst of sign-in attempts gets exactly the account's limit through", arguments: Engine.available)
    func throttleBurst(engine: Engine) async throws {
        try await withStore(engine) { store in
            let policy = LoginThrottlePolicy(maxFailuresPerAccount: 5, maxFailuresPerAddress: 100)
            let now = Date()
            let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for attempt in 0..<20 {
                    group.addTask {
                        switch try await store.loginThrottle.begin(email: "burst@example.org", address: "198.51.100.\(attempt)",
                                                                   now: now, policy: policy) {
                        case .allowed: true
                        case .throttled: false
                        }
                    }
                }
                var count = 0
                for try await passed in group where passed { count += 1 }
                return count
            }
            #expect(allowed == 5)
            // A successful attempt no longer counts, and clears the account's earlier failures.
            let later = now.addingTimeInterval(16 * 60)
            guard case .allowed(let attempt) = try await store.loginThrottle.begin(
                email: "burst@example.org", address: nil, now: later, policy: policy) else {
                Issue.record("the window has passed; the attempt must be allowed")
                return
            }
            try await store.loginThrottle.succeeded(attempt)
            for _ in 0..<5 {
                guard case .allowed = try await store.loginThrottle.begin(email: "burst@example.org", address: nil, now: later,
                                                                          policy: policy) else {
                    Issue.record("failures were cleared by the successful sign-in")
                    return
                }
            }
            guard case .throttled = try await store.loginThrottle.begin(email: "burst@example.org", address: nil, now: later,
                                                                        policy: policy) else {
                Issue.record("the sixth failure in the window must be throttled")
                return
            }
        }
    }

    @Test("two concurrent first-admin calls create one administrator", arguments: Engine.available)
    func firstAdminRace(engine: Engine) async throws {
        try await withStore(engine) { store in
            let created = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        (try? await store.users.createFirstAdmin(email: "admin\(index)@example.org", displayName: "Admin \(index)")) != nil
                    }
                }
                var count = 0
                for await ok in group where ok { count += 1 }
                return count
            }
            #expect(created == 1)
            let users = try await count("users", in: store)
            #expect(users == 1)
        }
    }
}
