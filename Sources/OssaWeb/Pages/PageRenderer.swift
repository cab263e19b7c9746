import Crypto
import Foundation
import Hummingbird
import Logging
import Mustache
import NIOCore
import OssaCore
import OssaStore

/// Renders the Mustache templates shipped in `Resources/templates` (HTML-escaped by default) and serves the
/// files in `Resources/static`. Both are read once at start-up.
///
/// Rendering fails loudly: a missing view, or output that is not a whole document (a missing layout or partial),
/// is a `PageRenderError`, which `ProblemMiddleware` logs and answers with a 500 — never a 200 with an empty body.
struct PageRenderer: Sendable {
    let library: MustacheLibrary
    /// Served name → file. Each file is served under its plain name and under a name with its content hash
    /// (`ossa.3f9c2a1b7d4e.css`), which pages link to and browsers may cache forever.
    let staticFiles: [String: StaticFile]
    /// Plain name → hashed name.
    let hashedNames: [String: String]
    /// The HTML of the pages whose read model carries the store's write revision (`html(cachedAs:revision:_:)`).
    var renderedPages = RevisionedCache<RenderedPageKey, KeptHTML>(capacity: PageRenderer.defaultRenderedPageEntries)

    /// How many rendered pages are kept by default (`OSSA_PAGE_CACHE_ENTRIES` sets it in `ossa serve`).
    static let defaultRenderedPageEntries = 2_000

    struct StaticFile: Sendable {
        var contentType: String
        var bytes: [UInt8]
        var immutable: Bool
    }

    struct MissingResources: Error, CustomStringConvertible {
        let path: String
        var description: String { "the OssaWeb resources are missing (\(path))" }
    }

    enum PageRenderError: Error, CustomStringConvertible {
        case missingTemplate(String)
        case incomplete(String)

        var description: String {
            switch self {
            case .missingTemplate(let name): "no template \(name).mustache"
            case .incomplete(let name): "template \(name) rendered no complete document (a missing layout or partial?)"
            }
        }
    }

    /// Content types by extension; anything else is not served.
    static let contentTypes: [String: String] = [
        "css": "text/css; charset=utf-8", "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon",
        "js": "text/javascript; charset=utf-8", "json": "application/json", "woff2": "font/woff2", "txt": "text/plain; charset=utf-8",
    ]

    static func load(renderedPageEntries: Int = PageRenderer.defaultRenderedPageEntries) async throws -> PageRenderer {
        let base = try resourceDirectory()
        let library = try await MustacheLibrary(directory: base.appendingPathComponent("templates").path)
        var files: [String: StaticFile] = [:]
        var hashed: [String: String] = [:]
        let staticDirectory = base.appendingPathComponent("static")
        for name in try FileManager.default.contentsOfDirectory(atPath: staticDirectory.path).sorted() {
            let ext = (name as NSString).pathExtension.lowercased()
            guard let type = contentTypes[ext],
                  let data = FileManager.default.contents(atPath: staticDirectory.appendingPathComponent(name).path) else { continue }
            let bytes = Array(data)
            let digest = SHA256.hash(data: bytes).prefix(6).map { String(format: "%02x", $0) }.joined()
            let stem = (name as NSString).deletingPathExtension
            let hashedName = "\(stem).\(digest).\(ext)"
            files[name] = StaticFile(contentType: type, bytes: bytes, immutable: false)
            files[hashedName] = StaticFile(contentType: type, bytes: bytes, immutable: true)
            hashed[name] = hashedName
        }
        var renderer = PageRenderer(library: library, staticFiles: files, hashedNames: hashed)
        renderer.renderedPages = RevisionedCache(capacity: renderedPageEntries)
        return renderer
    }

    /// Linux Foundation treats a bundle holding a `Resources` folder as versioned, so `resourceURL` may already
    /// end in `Resources` (see OssaCore's BundledResource).
    static func resourceDirectory() throws -> URL {
        guard let base = Bundle.module.resourceURL else { throw MissingResources(path: "bundle") }
        for candidate in [base, base.appendingPathComponent("Resources")]
        where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("templates").path) {
            return candidate
        }
        throw MissingResources(path: base.path)
    }

    /// Bytes of a file in `Resources/<path>` (the OpenAPI document).
    static func resource(_ path: String) throws -> Data {
        let url = try resourceDirectory().appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw MissingResources(path: path) }
        return data
    }

    /// The URL of a static file, with its content hash.
    func staticURL(_ name: String) -> String {
        Paths.staticFile.url(hashedNames[name] ?? name)
    }

    /// The page as a complete HTML document.
    func render<P: Page>(_ page: P) throws -> String {
        var page = page
        page.chrome.stylesheetURL = staticURL("ossa.css")
        guard let html = library.render(page, withTemplate: P.template) else { throw PageRenderError.missingTemplate(P.template) }
        guard html.contains("<html"), html.contains("</html>"), html.contains("<main") else { throw PageRenderError.incomplete(P.template) }
        return html
    }

    /// A part of a page rendered on its own, for a page that caches it and sets it in unescaped (the analytics
    /// results): `template` is a partial of the page's view, so the page renders the same either way.
    func fragment(_ model: Any, template: String) throws -> String {
        guard let html = library.render(model, withTemplate: template) else { throw PageRenderError.missingTemplate(template) }
        return html
    }

    func html<P: Page>(_ page: P, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try render(page))))
    }

    /// A page built from a read model read at the store's write `revision`: the HTML rendered for the same key at
    /// the same revision is answered again (Mustache was a sixth of a page view's CPU); `build` runs otherwise.
    ///
    /// Only after the store has answered the read (its access rules applied, the view audited) with that
    /// revision: the cache saves rendering, never the read. The key holds everything else the page shows (the
    /// user, their role and sites, the day). The session's CSRF token is not in it: `build` gets a placeholder,
    /// which each answer replaces with its own session's token, so one user's sessions share one copy.
    func html<P: Page>(cachedAs key: RenderedPageKey, revision: Int64, csrfToken: String,
                       _ build: (_ csrfToken: String) throws -> P) throws -> Response {
        let parts: KeptHTML
        if let cached = renderedPages.value(key, revision: revision) {
            parts = cached
        } else {
            parts = KeptHTML(try render(try build(Self.csrfPlaceholder)), placeholder: Self.csrfPlaceholder)
            renderedPages.store(key, revision: revision, parts)
        }
        // Session tokens are base64url (`WebEnvironment.randomToken`), which HTML-escaping leaves as it is.
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: parts.filled(with: csrfToken)))
    }

    /// Stands for the session's CSRF token in a kept page's HTML (`html(cachedAs:revision:csrfToken:_:)`).
    static let csrfPlaceholder = "ossa-csrf-token-of-this-session-3f9b27c1"

    /// The error page; if even that cannot be rendered, a minimal document (this is the last resort of
    /// `ProblemMiddleware`, so it must not throw).
    func errorPage(_ problem: Problem, requestID: String, user: UserBar? = nil) -> Response {
        let model = ErrorPage(title: problem.title, heading: problem.title,
                              detail: problem.status.code >= 500 ? "Something went wrong on our side." : (problem.detail ?? ""),
                              status: problem.status.code, requestID: requestID, user: user)
        var headers = problem.headers
        headers[.contentType] = "text/html; charset=utf-8"
        let body = (try? render(model)) ?? "<!DOCTYPE html><html lang=\"en\"><title>Error</title><main><h1>Error \(problem.status.code)</h1></main></html>"
        return Response(status: problem.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func staticFile(_ name: String) -> Response? {
        guard let file = staticFiles[name] else { return nil }
        let cache = file.immutable ? "public, max-age=31536000, immutable" : "public, max-age=300"
        return Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: cache],
                        body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}

/// The signed-in user as the layout shows them (name, role, and the CSRF token of the sign-out form).
struct UserBar: Sendable {
    var displayName: String
    var role: String
    var csrfToken: String
    /// Roles with access to identified patient records get the patient list in the navigation.
    var seesPatients: Bool
    /// Roles that manage accounts get the administration pages in the navigation.
    var seesAdmin: Bool
    /// Staff with a worklist (it is their start page) and who may register patients.
    var seesWorklist: Bool
    var registersPatients: Bool
    /// Roles that may view registry analytics (staff on their sites, researchers de-identified).
    var seesAnalytics: Bool
    /// Roles that may export research files (identified for the staff, de-identified for researchers).
    var seesExports: Bool
    /// Whether the navigation has any link (Mustache reads stored properties only).
    var hasNav: Bool

    init(displayName: String, role: String, csrfToken: String, seesPatients: Bool, seesAdmin: Bool = false,
         seesWorklist: Bool = false, registersPatients: Bool = false, seesAnalytics: Bool = false, seesExports: Bool = false) {
        self.displayName = displayName
        self.role = role
        self.csrfToken = csrfToken
        self.seesPatients = seesPatients
        self.seesAdmin = seesAdmin
        self.seesWorklist = seesWorklist
        self.registersPatients = registersPatients
        self.seesAnalytics = seesAnalytics
        self.seesExports = seesExports
        hasNav = seesPatients || seesAdmin || seesWorklist || seesAnalytics || seesExports
    }

    /// The navigation comes from what the role may do (the access policy), never from a list of roles.
    init(_ viewer: ReadModels.Viewer, csrfToken: String) {
        self.init(displayName: viewer.displayName, role: viewer.role.rawValue, csrfToken: csrfToken,
                  seesPatients: AccessPolicy.allows(viewer.role, .list, .patient),
                  seesAdmin: AccessPolicy.allows(viewer.role, .create, .user),
                  seesWorklist: AccessPolicy.allows(viewer.role, .list, .screeningDecision),
                  registersPatients: AccessPolicy.allows(viewer.role, .create, .patient),
                  seesAnalytics: AccessPolicy.allows(viewer.role, .export, .analytics),
                  seesExports: AccessPolicy.allows(viewer.role, .export, .export) || AccessPolicy.allows(viewer.role, .export, .deidentified))
    }
}

/// Model: `ErrorPage`; view: `error.mustache`.
struct ErrorPage: Page {
    static let template = "error"
    var title: String
    var heading: String
    var detail: String
    var status: Int
    var requestID: String
    var user: UserBar?
    var chrome = Chrome()
}

/// What a cached page's HTML depends on besides its read model's revision (`PageRenderer.html(cachedAs:revision:_:)`).
struct RenderedPageKey: Hashable, Sendable {
    var page: String
    var actor: ActingUser
    var today: String
    var parameters: [String]

    init(page: String, actor: ActingUser, today: CalendarDate, parameters: [String] = []) {
        var actor = actor
        actor.address = nil
        (self.page, self.actor, self.today, self.parameters) = (page, actor, today.iso, parameters)
    }
}

/// A kept page's HTML cut at each placeholder of the CSRF token, so that an answer is a few copies of bytes
/// (`String.replacingOccurrences` over a whole page on every answer halved the page rate).
struct KeptHTML: Sendable {
    var parts: [[UInt8]]

    init(_ html: String, placeholder: String) {
        let bytes = Array(html.utf8)
        let needle = Array(placeholder.utf8)
        var parts: [[UInt8]] = []
        var start = 0
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) {
                parts.append(Array(bytes[start..<index]))
                index += needle.count
                start = index
            } else {
                index += 1
            }
        }
        parts.append(Array(bytes[start...]))
        self.parts = parts
    }

    func filled(with token: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(parts.reduce(0) { $0 + $1.count } + (parts.count - 1) * token.utf8.count)
        for (index, part) in parts.enumerated() {
            if index > 0 { buffer.writeString(token) }
            buffer.writeBytes(part)
        }
        return buffer
    }
}
