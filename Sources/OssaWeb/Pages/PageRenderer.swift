import Foundation
import Hummingbird
import Mustache
import NIOCore
import OssaStore

/// Renders the Mustache templates shipped in `Resources/templates` (HTML-escaped by default) and serves the
/// files in `Resources/static`. Both are read once at start-up.
struct PageRenderer: Sendable {
    let library: MustacheLibrary
    /// File name → (content type, bytes).
    let staticFiles: [String: (contentType: String, bytes: [UInt8])]

    struct MissingResources: Error, CustomStringConvertible {
        let path: String
        var description: String { "the OssaWeb resources are missing (\(path))" }
    }

    static func load() async throws -> PageRenderer {
        let base = try resourceDirectory()
        let library = try await MustacheLibrary(directory: base.appendingPathComponent("templates").path)
        var files: [String: (contentType: String, bytes: [UInt8])] = [:]
        let staticDirectory = base.appendingPathComponent("static")
        for name in try FileManager.default.contentsOfDirectory(atPath: staticDirectory.path) {
            guard let data = FileManager.default.contents(atPath: staticDirectory.appendingPathComponent(name).path) else { continue }
            let type = name.hasSuffix(".css") ? "text/css; charset=utf-8" : name.hasSuffix(".json") ? "application/json" : "application/octet-stream"
            files[name] = (contentType: type, bytes: Array(data))
        }
        return PageRenderer(library: library, staticFiles: files)
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

    func render(_ model: Any, template: String) -> String {
        library.render(model, withTemplate: template) ?? ""
    }

    func html(_ model: Any, template: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: render(model, template: template))))
    }

    func errorPage(_ problem: Problem, requestID: String, user: UserBar? = nil) -> Response {
        let model = ErrorPage(title: problem.title, heading: problem.title,
                              detail: problem.status.code >= 500 ? "Something went wrong on our side." : (problem.detail ?? ""),
                              status: problem.status.code, requestID: requestID, user: user)
        return html(model, template: "error", status: problem.status, headers: problem.headers)
    }

    func staticFile(_ name: String) -> Response? {
        guard let file = staticFiles[name] else { return nil }
        return Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: "public, max-age=3600"],
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

    init(displayName: String, role: String, csrfToken: String, seesPatients: Bool) {
        self.displayName = displayName
        self.role = role
        self.csrfToken = csrfToken
        self.seesPatients = seesPatients
    }

    init(_ viewer: ReadModels.Viewer, csrfToken: String) {
        self.init(displayName: viewer.displayName, role: viewer.role.rawValue, csrfToken: csrfToken,
                  seesPatients: AccessPolicy.allows(viewer.role, .list, .patient))
    }
}

struct ErrorPage: Sendable {
    var title: String
    var heading: String
    var detail: String
    var status: Int
    var requestID: String
    var user: UserBar?
}
