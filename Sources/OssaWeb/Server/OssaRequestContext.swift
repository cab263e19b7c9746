import Foundation
import Hummingbird
import NIOCore
import OssaStore

/// How the current request proved who it is.
enum AuthMethod: Sendable {
    /// Browser session cookie; unsafe methods must carry the session's CSRF token.
    case session(SessionRecord, cookieToken: String)
    /// `Authorization: Bearer` API token; exempt from CSRF (browsers never send it on their own).
    case apiToken(APITokenRecord)
}

/// The authenticated caller: the store's acting user plus how they signed in.
struct Authentication: Sendable {
    var user: ActingUser
    var method: AuthMethod

    var csrfToken: String? {
        if case .session(let session, _) = method { session.csrfToken } else { nil }
    }
}

/// Per-request state: Hummingbird's core storage, the client address, the request id and the caller.
struct OssaRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Socket peer; replaced by the forwarded address when the configuration trusts the proxy.
    var clientAddress: String?
    var requestID: String = ""
    var auth: Authentication?
    /// Set from `ServerConfiguration.maxBodySize` by the first middleware.
    var maxUploadSize: Int = 1 << 20

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The authenticated user, or a 401 (the auth middleware makes this unreachable on protected routes).
    func requireUser() throws -> ActingUser {
        guard let auth else { throw HTTPError(.unauthorized) }
        return auth.user
    }
}
