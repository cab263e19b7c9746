import Foundation
import Hummingbird
import HummingbirdBcrypt
import NIOPosix
import OssaStore

/// Sign-in, sessions, API tokens and CSRF checks: the one place that turns credentials into an `ActingUser`.
struct Auth: Sendable {
    let store: OssaStore
    let configuration: ServerConfiguration
    let environment: WebEnvironment
    /// A bcrypt hash of a random string at the configured cost, verified against for unknown accounts.
    let dummyHash: String

    init(store: OssaStore, configuration: ServerConfiguration, environment: WebEnvironment) {
        self.store = store
        self.configuration = configuration
        self.environment = environment
        dummyHash = Bcrypt.hash(WebEnvironment.randomToken(), cost: configuration.bcryptCost)
    }

    // MARK: Authenticating requests

    func authenticate(_ request: Request, context: OssaRequestContext) async throws -> Authentication? {
        if let header = request.headers[.authorization] {
            // A bearer token that does not check out is a 401 even when a cookie is present: the client chose it.
            guard let token = Self.bearer(header),
                  let (record, user) = try await store.apiTokens.authenticate(token: token, now: environment.now(),
                                                                             address: context.clientAddress) else {
                throw Problem(.unauthorized, detail: "the API token is unknown, revoked or expired",
                              headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
            }
            return Authentication(user: user, method: .apiToken(record))
        }
        guard let cookie = request.cookies[configuration.sessionCookieName]?.value, !cookie.isEmpty,
              let (session, user) = try await store.sessions.authenticate(
                  token: cookie, now: environment.now(), idleTimeout: configuration.sessionIdleTimeout,
                  address: context.clientAddress) else { return nil }
        return Authentication(user: user, method: .session(session, cookieToken: cookie))
    }

    static func bearer(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    // MARK: Signing in and out

    enum LoginOutcome: Sendable {
        case success(cookie: Cookie, session: SessionRecord)
        case failed
        /// Too many failures; retry after this many seconds.
        case throttled(retryAfter: Int)
    }

    /// Checks the password (bcrypt) under the throttle. Unknown accounts cost the same bcrypt work as known ones,
    /// so response time does not reveal which e-mail addresses have accounts.
    func login(email: String, password: String, address: String?) async throws -> LoginOutcome {
        let now = environment.now()
        // The attempt is counted before the password is checked, under a lock: a parallel burst cannot all pass.
        let attempt: LoginThrottle.Attempt
        switch try await store.loginThrottle.begin(email: email, address: address, now: now, policy: configuration.loginThrottle) {
        case .throttled(let wait): return .throttled(retryAfter: wait)
        case .allowed(let allowed): attempt = allowed
        }
        let credentials = try await store.sessions.credentials(email: email)
        let hash = credentials?.passwordHash ?? dummyHash
        // bcrypt takes a quarter of a second at cost 12: run it on NIO's blocking pool, not on the few
        // cooperative threads that serve every other request.
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        guard matches, let credentials, credentials.passwordHash != nil, !credentials.disabled else {
            return .failed
        }
        try await store.loginThrottle.succeeded(attempt)
        let token = environment.makeToken()
        let session = try await store.sessions.create(
            userID: credentials.userID, token: token, csrfToken: environment.makeToken(), address: address, now: now,
            expiresAt: now.addingTimeInterval(configuration.sessionAbsoluteTimeout))
        return .success(cookie: sessionCookie(token), session: session)
    }

    func logout(_ authentication: Authentication?) async throws {
        if case .session(_, let token)? = authentication?.method {
            try await store.sessions.delete(token: token, address: authentication?.user.address)
        }
    }

    // MARK: Cookies

    func sessionCookie(_ token: String) -> Cookie {
        Cookie(name: configuration.sessionCookieName, value: token, maxAge: Int(configuration.sessionAbsoluteTimeout),
               path: "/", secure: configuration.behindTLS, httpOnly: true, sameSite: .lax)
    }

    func expiredSessionCookie() -> Cookie {
        Cookie(name: configuration.sessionCookieName, value: "", maxAge: 0, path: "/", secure: configuration.behindTLS,
               httpOnly: true, sameSite: .lax)
    }

    /// The login form's double-submit CSRF cookie (there is no session yet to hold a synchronizer token).
    func loginCookie(_ token: String) -> Cookie {
        Cookie(name: configuration.loginCookieName, value: token, maxAge: 60 * 60, path: "/", secure: configuration.behindTLS,
               httpOnly: true, sameSite: .strict)
    }

    // MARK: CSRF

    /// Compares without an early exit, so timing does not reveal how much of a token matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
