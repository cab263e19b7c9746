import Foundation
import Mustache
@testable import OssaWeb
import OssaCore
import Testing

/// Every page renders from its sample model into a whole document, every view has a sample, and a page whose
/// view is missing or broken fails loudly instead of answering 200 with an empty body.
@Suite("Page rendering")
struct PageRenderTests {
    @Test("every page renders from its sample model, and every view in Resources/templates has one")
    func everyPageRenders() async throws {
        let renderer = try await PageRenderer.load()
        var rendered: Set<String> = []
        for page in PageCatalog.samples {
            let html = try renderer.render(page)
            let template = type(of: page).template
            rendered.insert(template)
            #expect(html.hasPrefix("<!DOCTYPE html>"), "\(template)")
            #expect(html.contains("<title>\(page.title.replacingOccurrences(of: "'", with: "&#39;")) · Ossa</title>"), "\(template)")
            #expect(html.contains("<h1>"), "\(template) has a heading")
            // A clinic's message wording is shown with its placeholders (`{{link}}`…): those are text, not tags.
            let text = MessageTemplate.placeholders.reduce(html) { $0.replacingOccurrences(of: "{{\($1)}}", with: "") }
            #expect(!text.contains("{{") && !text.contains("}}"), "\(template) left a tag unrendered")
            if template == AnalyticsReportPage.template {
                // `ossa report` writes one self-contained file: the stylesheet inline, no link back to a server.
                #expect(html.contains("<style>") && !html.contains("<link rel=\"stylesheet\""), "\(template) is self-contained")
            } else {
                #expect(html.contains(renderer.staticURL("ossa.css")), "\(template) links the hashed stylesheet")
            }
            #expect(!html.contains("href=\"\"") && !html.contains("action=\"\""), "\(template) has an empty link")
        }
        let directory = try PageRenderer.resourceDirectory().appendingPathComponent("templates")
        let views = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".mustache") && !$0.hasPrefix("_") && $0 != "layout.mustache" }
            .map { String($0.dropLast(".mustache".count)) }
        #expect(Set(views) == rendered, "views without a sample: \(Set(views).subtracting(rendered).sorted())")
    }

    @Test("a refused form shows the error summary linking to the field, the inline error and the user's value")
    func refusedForm() async throws {
        let html = try await PageRenderer.load().render(PageCatalog.samples[1])
        #expect(html.contains("<title>Error: Sign in · Ossa</title>"))
        #expect(html.contains(##"<a href="#password">Enter your password</a>"##))
        #expect(html.contains(#"<p class="error-message" id="password-error"><span class="visually-hidden">Error:</span> Enter your password</p>"#))
        #expect(html.contains(#"aria-describedby="password-error""#))
        #expect(html.contains(#"value="someone@example.org""#))
    }

    struct Orphan: Page {
        static let template = "no-such-view"
        var title = "Orphan"
        var user: UserBar? = nil
        var chrome = Chrome()
    }

    struct Fragment: Page {
        static let template = "fragment"
        var title = "Fragment"
        var user: UserBar? = nil
        var chrome = Chrome()
    }

    @Test("a missing view or one that renders no whole document is an error, not an empty 200")
    func failsLoudly() async throws {
        let renderer = try await PageRenderer.load()
        #expect(throws: PageRenderer.PageRenderError.self) { _ = try renderer.render(Orphan()) }
        let library = MustacheLibrary(templates: ["fragment": try MustacheTemplate(string: "{{<missing-layout}}{{/missing-layout}}")])
        let broken = PageRenderer(library: library, staticFiles: [:], hashedNames: [:])
        #expect(throws: PageRenderer.PageRenderError.self) { _ = try broken.render(Fragment()) }
        // The error page itself never throws: it falls back to a minimal document.
        let response = broken.errorPage(Problem(.internalServerError), requestID: "r")
        #expect(response.status == .internalServerError)
    }

    @Test("static files: correct content types, a content-hashed URL cached forever, the plain name briefly")
    func staticFiles() async throws {
        let renderer = try await PageRenderer.load()
        let hashed = renderer.staticURL("ossa.css")
        #expect(hashed.range(of: #"^/static/ossa\.[0-9a-f]{12}\.css$"#, options: .regularExpression) != nil, "\(hashed)")
        let name = String(hashed.dropFirst("/static/".count))
        let response = try #require(renderer.staticFile(name))
        #expect(response.headers[.contentType] == "text/css; charset=utf-8")
        #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
        #expect(renderer.staticFile("ossa.css")?.headers[.cacheControl] == "public, max-age=300")
        #expect(PageRenderer.contentTypes["svg"] == "image/svg+xml")
        #expect(renderer.staticFile("../openapi.json") == nil)
    }

    /// Models that answer Mustache directly (`MustacheChildren.swift`) must answer exactly what reflection would: every
    /// stored property under its name, nil where it is nil — or a view would silently read a parent's value instead.
    @Test("every model that answers Mustache directly answers as reflection would, on every catalog sample")
    func mustacheChildrenMatchReflection() throws {
        var checked = Set<String>()
        func walk(_ value: Any, depth: Int = 0) {
            guard depth < 12 else { return }
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional {
                if let inner = mirror.children.first?.value { walk(inner, depth: depth + 1) }
                return
            }
            if let parent = value as? MustacheParent, mirror.displayStyle == .struct {
                checked.insert(String(describing: type(of: value)))
                for child in mirror.children {
                    guard let label = child.label else { continue }
                    let reflected = Mirror(reflecting: child.value)
                    let isNil = reflected.displayStyle == .optional && reflected.children.isEmpty
                    let answered = parent.child(named: label)
                    #expect((answered == nil) == isNil, "\(type(of: value)).\(label): answered \(String(describing: answered))")
                }
            }
            for child in mirror.children { walk(child.value, depth: depth + 1) }
        }
        for page in PageCatalog.samples { walk(page) }
        #expect(checked.isSuperset(of: ["EpisodePage", "WorklistPage", "TableModel", "Cell", "FormField", "UserBar", "Chrome"]), "\(checked.sorted())")
    }
}
