import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A small W3C WebDriver client for the browser tests: they drive Debian's headless chromium through chromedriver.
// Foundation only, so the test target needs no Selenium-like package.
//
// Not URLSession: FoundationNetworking in Swift 6.3.1 aborts on any response header without a space after the colon
// ("Failed writing header", NSURLErrorDomain -1), and chromedriver writes exactly those (`Content-Length:707`).
// Fixed upstream in swift-corelibs-foundation PR #5527, not in this toolchain; until then `LoopbackHTTP` below
// speaks the little HTTP/1.1 that chromedriver needs.

// MARK: - JSON

/// A JSON value as the WebDriver wire protocol carries it.
///
/// Not `Any` from JSONSerialization: `Any` is not Sendable, and on Linux `NSNumber` blurs `true` and `1`.
/// Named apart from `OssaJSON.JSONValue` so it never shadows that type in test files importing OssaJSON.
enum WebDriverJSON: Sendable, Equatable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([WebDriverJSON])
    case object([String: WebDriverJSON])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before Double: JSONDecoder refuses to read a number as Bool, so `1` stays a number.
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([WebDriverJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: WebDriverJSON].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        // Integral values as integers: chromedriver rejects `390.0` where the spec wants an integer (window rect).
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var number: Double? { if case .number(let value) = self { value } else { nil } }
    var int: Int? { number.map { Int($0) } }
    var array: [WebDriverJSON]? { if case .array(let value) = self { value } else { nil } }
    var object: [String: WebDriverJSON]? { if case .object(let value) = self { value } else { nil } }
    var isNull: Bool { self == .null }

    subscript(key: String) -> WebDriverJSON? { object?[key] }
    subscript(index: Int) -> WebDriverJSON? {
        guard let array, array.indices.contains(index) else { return nil }
        return array[index]
    }

    /// Compact JSON text, for messages.
    var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "<unencodable>"
    }
}

extension WebDriverJSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    init(nilLiteral: ()) { self = .null }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .number(Double(value)) }
    init(floatLiteral value: Double) { self = .number(value) }
    init(stringLiteral value: String) { self = .string(value) }
    init(arrayLiteral elements: WebDriverJSON...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, WebDriverJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Errors

/// A failed WebDriver command: the W3C `error` code (e.g. "no such element"), its message, and which command it was.
struct WebDriverError: Error, CustomStringConvertible {
    /// The W3C error code, or a local one ("invalid response", "transport") when chromedriver's answer was unusable.
    let error: String
    let message: String
    /// Method and path, e.g. `POST /session/…/element`.
    let command: String
    /// The HTTP status chromedriver answered with, if it answered.
    let httpStatus: Int?

    init(error: String, message: String, command: String, httpStatus: Int? = nil) {
        self.error = error
        self.message = message
        self.command = command
        self.httpStatus = httpStatus
    }

    var description: String {
        "WebDriver \(command) failed: \(error)" + (httpStatus.map { " (HTTP \($0))" } ?? "") + ": \(message)"
    }
}

// MARK: - Session

/// One chromedriver session (one headless browser).
///
/// Sendable honestly: every stored property is an immutable `let` of a Sendable type; all state lives in the browser.
final class WebDriverSession: Sendable {
    /// The W3C session id.
    let id: String
    /// `<driverURL>/session/<id>`; command paths are appended to it.
    let sessionURL: URL

    // Keys for `sendKeysToActive` / `WebElement.sendKeys` (W3C "Keys" code points).
    static let tab = "\u{E004}"
    static let enter = "\u{E007}"
    static let space = " "
    static let escape = "\u{E00C}"
    static let backspace = "\u{E003}"
    static let arrowUp = "\u{E013}"
    static let arrowDown = "\u{E015}"
    static let arrowLeft = "\u{E012}"
    static let arrowRight = "\u{E014}"
    static let shift = "\u{E008}"
    /// Releases every held modifier (W3C NULL key).
    static let releaseModifiers = "\u{E000}"
    /// Shift+Tab: `sendKeysToActive` holds modifiers until the end of the string (or NULL), so this is
    /// keyDown Shift, keyDown Tab, keyUp Tab, keyUp Shift.
    static let shiftTab = "\u{E008}\u{E004}"

    /// The W3C key naming an element reference in JSON.
    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    /// Every command waits at most this long for chromedriver's answer.
    static let commandTimeout: TimeInterval = 30

    private init(id: String, sessionURL: URL) {
        self.id = id
        self.sessionURL = sessionURL
    }

    /// Starts headless chromium at `chromiumBinary` through the chromedriver listening at `driverURL`
    /// (e.g. `http://127.0.0.1:9515`) with a `width`×`height` window.
    static func start(driverURL: URL, chromiumBinary: String = "/usr/bin/chromium", width: Int, height: Int,
                      extraArguments: [String] = []) async throws -> WebDriverSession {
        let args: [WebDriverJSON] = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                     .string("--window-size=\(width),\(height)")] + extraArguments.map { .string($0) }
        let capabilities: WebDriverJSON = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": ["binary": .string(chromiumBinary), "args": .array(args)],
        ]]]
        var base = driverURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        guard let newSession = URL(string: base + "/session") else {
            throw WebDriverError(error: "invalid argument", message: "bad driver URL \(driverURL)", command: "POST /session")
        }
        let value = try await roundTrip("POST", newSession, body: capabilities)
        guard let id = value["sessionId"]?.string, let sessionURL = URL(string: base + "/session/" + id) else {
            throw WebDriverError(error: "invalid response", message: "no sessionId in \(value)", command: "POST /session")
        }
        let session = WebDriverSession(id: id, sessionURL: sessionURL)
        do {
            // The command timeouts inside the browser match ours, so a hung page or script fails as a WebDriver
            // error rather than as an opaque socket timeout.
            let ms = Int(commandTimeout * 1000)
            try await session.command("POST", "/timeouts", ["script": .number(Double(ms)), "pageLoad": .number(Double(ms)), "implicit": 0])
            try await session.setWindowSize(width: width, height: height)
        } catch {
            // Don't leave a browser running when the session is unusable.
            try? await session.quit()
            throw error
        }
        return session
    }

    // MARK: Navigation

    func navigate(to url: String) async throws {
        try await command("POST", "/url", ["url": .string(url)])
    }

    func currentURL() async throws -> String { try await stringCommand("GET", "/url") }
    func title() async throws -> String { try await stringCommand("GET", "/title") }
    func pageSource() async throws -> String { try await stringCommand("GET", "/source") }

    // MARK: Elements

    /// The first element matching `css`; throws "no such element" naming the selector when none does.
    func find(css: String) async throws -> WebElement {
        try await findElement(css: css, from: "")
    }

    /// Every element matching `css` (possibly none).
    func findAll(css: String) async throws -> [WebElement] {
        try await findElements(css: css, from: "")
    }

    /// The focused element (`document.activeElement`, or body).
    func activeElement() async throws -> WebElement {
        let value = try await command("GET", "/element/active")
        guard let element = WebElement(value, session: self) else {
            throw WebDriverError(error: "invalid response", message: "no element reference in \(value)", command: "GET /element/active")
        }
        return element
    }

    /// Types `text` as keyboard input to whatever has focus, through the Actions API, so Tab really moves focus
    /// the way a keyboard user's does (element send-keys would first focus the element it targets).
    ///
    /// Modifiers (Shift, Control, Alt, Meta) stay pressed until the string ends or NULL (`releaseModifiers`)
    /// comes, as in W3C element send-keys; every other key is pressed and released in turn.
    func sendKeysToActive(_ text: String) async throws {
        let modifiers: Set<String> = ["\u{E008}", "\u{E009}", "\u{E00A}", "\u{E03D}", "\u{E050}", "\u{E051}", "\u{E052}", "\u{E053}"]
        var held: [String] = []
        var steps: [WebDriverJSON] = []
        func release() {
            for key in held.reversed() { steps.append(["type": "keyUp", "value": .string(key)]) }
            held.removeAll()
        }
        // Unicode scalars, not Characters: a key is one code point, and Swift would merge "\r\n" into one Character.
        for scalar in text.unicodeScalars {
            let key = String(scalar)
            if key == Self.releaseModifiers { release(); continue }
            steps.append(["type": "keyDown", "value": .string(key)])
            if modifiers.contains(key) { held.append(key) } else { steps.append(["type": "keyUp", "value": .string(key)]) }
        }
        release()
        guard !steps.isEmpty else { return }
        try await command("POST", "/actions", ["actions": [["type": "key", "id": "keyboard", "actions": .array(steps)]]])
    }

    /// Chooses the option whose value is `value` in the `<select>` matching `css`, by clicking it as a user would
    /// (so `change` fires). Compares the `value` property, which falls back to the option's text when it has no
    /// value attribute.
    func select(css: String, value: String) async throws {
        let select = try await find(css: css)
        for option in try await select.findAll(css: "option") {
            guard try await option.property("value").string == value else { continue }
            try await option.click()
            return
        }
        throw WebDriverError(error: "no such element", message: "no <option> with value \"\(value)\" in \(css)",
                             command: "select(css: \(css), value: \(value))")
    }

    // MARK: Scripts

    /// Runs `js` as a function body (`arguments[i]` are `args`) and returns what it returns.
    /// Pass elements as `WebDriverJSON(element)`; returned elements convert back with `WebElement(_:session:)`.
    @discardableResult
    func executeScript(_ js: String, args: [WebDriverJSON] = []) async throws -> WebDriverJSON {
        try await command("POST", "/execute/sync", ["script": .string(js), "args": .array(args)])
    }

    /// Runs `js` as an async function body: it finishes by calling `arguments[arguments.length - 1](result)`.
    @discardableResult
    func executeAsyncScript(_ js: String, args: [WebDriverJSON] = []) async throws -> WebDriverJSON {
        try await command("POST", "/execute/async", ["script": .string(js), "args": .array(args)])
    }

    // MARK: Window

    /// Writes a PNG of the viewport to `path`.
    func screenshot(to path: String) async throws {
        let value = try await command("GET", "/screenshot")
        guard let base64 = value.string, let png = Data(base64Encoded: base64) else {
            throw WebDriverError(error: "invalid response", message: "screenshot is not base64", command: "GET /screenshot")
        }
        try png.write(to: URL(fileURLWithPath: path))
    }

    /// Sets the outer window size. Headless chromium still reserves room for browser UI, so the viewport
    /// (`innerWidth`×`innerHeight`) comes out smaller: 844 high gives 701. Use `setViewportSize` to fix the viewport.
    func setWindowSize(width: Int, height: Int) async throws {
        try await command("POST", "/window/rect", ["width": .number(Double(width)), "height": .number(Double(height))])
    }

    /// Resizes the window so the page's viewport is `width`×`height` CSS pixels (e.g. a 390×844 phone),
    /// by measuring what the window's frame takes and adding it back.
    func setViewportSize(width: Int, height: Int) async throws {
        try await setWindowSize(width: width, height: height)
        let inner = try await executeScript("return [window.innerWidth, window.innerHeight];")
        guard let innerWidth = inner[0]?.int, let innerHeight = inner[1]?.int else {
            throw WebDriverError(error: "invalid response", message: "viewport size \(inner)", command: "setViewportSize")
        }
        if innerWidth != width || innerHeight != height {
            try await setWindowSize(width: 2 * width - innerWidth, height: 2 * height - innerHeight)
        }
    }

    /// Ends the session and closes the browser.
    func quit() async throws {
        _ = try await Self.roundTrip("DELETE", sessionURL, body: nil)
    }

    // MARK: Wire

    /// Sends one command under this session (`path` starts with "/", or is empty) and returns its `value`.
    @discardableResult
    func command(_ method: String, _ path: String, _ body: WebDriverJSON? = nil) async throws -> WebDriverJSON {
        guard let url = URL(string: sessionURL.absoluteString + path) else {
            throw WebDriverError(error: "invalid argument", message: "bad command path \(path)", command: "\(method) \(path)")
        }
        // chromedriver wants a JSON body on every POST, even an empty one.
        return try await Self.roundTrip(method, url, body: method == "POST" ? (body ?? [:]) : body)
    }

    private func stringCommand(_ method: String, _ path: String) async throws -> String {
        let value = try await command(method, path)
        guard let string = value.string else {
            throw WebDriverError(error: "invalid response", message: "expected a string, got \(value)", command: "\(method) \(path)")
        }
        return string
    }

    /// Element search from the document (`scope` "") or from inside an element (`scope` "/element/<id>").
    fileprivate func findElement(css: String, from scope: String) async throws -> WebElement {
        let name = "\(scope.isEmpty ? "" : "\(scope) ")find(css: \(css))"
        let value: WebDriverJSON
        do {
            value = try await command("POST", scope + "/element", ["using": "css selector", "value": .string(css)])
        } catch let error as WebDriverError where error.error == "no such element" {
            // chromedriver's own message buries the selector in a stack of session info; say it plainly.
            throw WebDriverError(error: error.error, message: "no element matches CSS selector \"\(css)\"", command: name, httpStatus: error.httpStatus)
        }
        guard let element = WebElement(value, session: self) else {
            throw WebDriverError(error: "invalid response", message: "no element reference in \(value)", command: name)
        }
        return element
    }

    fileprivate func findElements(css: String, from scope: String) async throws -> [WebElement] {
        let value = try await command("POST", scope + "/elements", ["using": "css selector", "value": .string(css)])
        return (value.array ?? []).compactMap { WebElement($0, session: self) }
    }

    /// One HTTP exchange with chromedriver; returns the response's `value`, or throws its W3C error.
    private static func roundTrip(_ method: String, _ url: URL, body: WebDriverJSON?) async throws -> WebDriverJSON {
        let name = "\(method) \(url.path)"
        let requestBody = try body.map { try JSONEncoder().encode($0) }
        let data: Data, status: Int?
        do {
            (status, data) = try await LoopbackHTTP.exchange(method: method, url: url, body: requestBody, timeout: commandTimeout)
        } catch {
            throw WebDriverError(error: "transport", message: "\(error) (is chromedriver running at \(url.host ?? "?"):\(url.port ?? 0)?)", command: name)
        }
        guard let decoded = try? JSONDecoder().decode(WebDriverJSON.self, from: data), let value = decoded["value"] else {
            throw WebDriverError(error: "invalid response", message: String(decoding: data.prefix(500), as: UTF8.self),
                                 command: name, httpStatus: status)
        }
        if let code = value["error"]?.string {
            throw WebDriverError(error: code, message: value["message"]?.string ?? "", command: name, httpStatus: status)
        }
        if let status, !(200..<300).contains(status) {
            throw WebDriverError(error: "unknown error", message: "\(value)", command: name, httpStatus: status)
        }
        return value
    }
}

// MARK: - HTTP

/// Just enough HTTP/1.1 client for chromedriver on this machine: one request per connection (`Connection: close`),
/// a Content-Length (or read-to-EOF) body, no TLS, no redirects, no chunked encoding (chromedriver sends none).
enum LoopbackHTTP {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Sends one request and returns the status code and body. The blocking socket work runs on a Dispatch thread,
    /// not on the Swift concurrency pool, whose two threads (on this 2-core machine) other tests need.
    static func exchange(method: String, url: URL, body: Data?, timeout: TimeInterval) async throws -> (status: Int, body: Data) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try blockingExchange(method: method, url: url, body: body, timeout: timeout) })
            }
        }
    }

    private static func blockingExchange(method: String, url: URL, body: Data?, timeout: TimeInterval) throws -> (status: Int, body: Data) {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false), components.scheme == "http",
              var host = components.host, !host.isEmpty else {
            throw Failure(description: "only http://host:port URLs are supported, not \(url)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? 80
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }

        let socket = try openConnection(host: host, port: port, timeout: timeout)
        defer { close(socket) }

        // chromedriver checks Host against DNS rebinding, so it names the loopback address the caller used.
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(hostHeader)\r\nAccept: application/json\r\nConnection: close\r\n"
        if let body { head += "Content-Type: application/json; charset=utf-8\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        try writeAll(socket, Data(head.utf8) + (body ?? Data()))
        return try readResponse(socket)
    }

    /// A connected TCP socket with send and receive timeouts (so a hung chromedriver fails the command, not the run).
    private static func openConnection(host: String, port: Int, timeout: TimeInterval) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, list != nil else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var candidate = list
        while let info = candidate?.pointee {
            candidate = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            var limit = timeval(tv_sec: .init(timeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            #if canImport(Darwin)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            var result: Int32
            repeat { result = connect(fd, info.ai_addr, info.ai_addrlen) } while result != 0 && errno == EINTR
            if result == 0 { return fd }
            lastError = errno
            close(fd)
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(lastError)))")
    }

    private static func writeAll(_ fd: Int32, _ data: Data) throws {
        // MSG_NOSIGNAL: a peer that closed early must give an error, not a SIGPIPE that kills the test process.
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let sent = send(fd, base + offset, buffer.count - offset, flags)
                if sent > 0 { offset += sent; continue }
                if sent < 0 && errno == EINTR { continue }
                throw Failure(description: sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                    ? "timed out sending the request" : "send failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func readResponse(_ fd: Int32) throws -> (status: Int, body: Data) {
        var received = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var header: (status: Int, bodyStart: Int, length: Int?)?
        let separator = Data("\r\n\r\n".utf8)
        while true {
            if let header, let length = header.length, received.count - header.bodyStart >= length { break }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: errno == EAGAIN || errno == EWOULDBLOCK
                    ? "timed out waiting for the response" : "recv failed: \(String(cString: strerror(errno)))")
            }
            received.append(contentsOf: chunk[0..<count])
            if header == nil, let end = received.range(of: separator) {
                header = try parseHead(received[received.startIndex..<end.lowerBound], bodyStart: end.upperBound)
            }
        }
        guard let header else { throw Failure(description: "connection closed before a complete response header") }
        var body = received[header.bodyStart...]
        if let length = header.length {
            guard body.count >= length else { throw Failure(description: "response body cut short (\(body.count) of \(length) bytes)") }
            body = body.prefix(length)
        }
        return (header.status, Data(body))
    }

    /// Status line and headers; `Name:value` with or without the optional space, which is the whole point.
    private static func parseHead(_ head: Data, bodyStart: Int) throws -> (status: Int, bodyStart: Int, length: Int?) {
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else {
            throw Failure(description: "not an HTTP response: \(lines.first ?? "")")
        }
        var length: Int?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { length = Int(value) }
            if name == "transfer-encoding", value.lowercased() != "identity" {
                throw Failure(description: "Transfer-Encoding \(value) is not supported")
            }
        }
        return (status, bodyStart, length)
    }
}

// MARK: - Elements

/// A reference to one element in a session's current page.
struct WebElement: Sendable {
    /// The W3C element id.
    let id: String
    let session: WebDriverSession

    init(id: String, session: WebDriverSession) {
        self.id = id
        self.session = session
    }

    /// The element a script or command returned, if `value` is an element reference.
    init?(_ value: WebDriverJSON, session: WebDriverSession) {
        guard let id = value[WebDriverSession.elementKey]?.string else { return nil }
        self.init(id: id, session: session)
    }

    private var path: String { "/element/\(id)" }

    func click() async throws { try await session.command("POST", path + "/click") }
    func clear() async throws { try await session.command("POST", path + "/clear") }

    /// Focuses the element and types `text` into it (keys such as `WebDriverSession.enter` allowed).
    func sendKeys(_ text: String) async throws {
        try await session.command("POST", path + "/value", ["text": .string(text)])
    }

    /// The rendered (visible) text.
    func text() async throws -> String { try await session.command("GET", path + "/text").string ?? "" }

    /// The HTML attribute, or nil when the element has none.
    func attribute(_ name: String) async throws -> String? {
        try await session.command("GET", path + "/attribute/" + Self.escape(name)).string
    }

    /// The DOM property (e.g. "value", "checked", "validity"), as JSON.
    func property(_ name: String) async throws -> WebDriverJSON {
        try await session.command("GET", path + "/property/" + Self.escape(name))
    }

    /// Whether a checkbox, radio button or option is selected.
    func isSelected() async throws -> Bool { try await session.command("GET", path + "/selected").bool ?? false }
    func isEnabled() async throws -> Bool { try await session.command("GET", path + "/enabled").bool ?? false }
    func isDisplayed() async throws -> Bool { try await session.command("GET", path + "/displayed").bool ?? false }
    func tagName() async throws -> String { try await session.command("GET", path + "/name").string ?? "" }

    /// Where the element is drawn and how big, in CSS pixels (W3C "Get Element Rect").
    func rect() async throws -> (x: Double, y: Double, width: Double, height: Double) {
        let value = try await session.command("GET", path + "/rect")
        guard let x = value["x"]?.number, let y = value["y"]?.number, let width = value["width"]?.number, let height = value["height"]?.number else {
            throw WebDriverError(error: "invalid response", message: "element rect \(value)", command: "GET \(path)/rect")
        }
        return (x, y, width, height)
    }

    /// The first descendant matching `css`.
    func find(css: String) async throws -> WebElement { try await session.findElement(css: css, from: path) }
    /// Every descendant matching `css`.
    func findAll(css: String) async throws -> [WebElement] { try await session.findElements(css: css, from: path) }

    private static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}

extension WebDriverJSON {
    /// An element reference, for script arguments.
    init(_ element: WebElement) { self = .object([WebDriverSession.elementKey: .string(element.id)]) }
}

// MARK: - axe-core

/// One axe-core rule the page breaks.
struct AxeViolation: Sendable, CustomStringConvertible {
    /// The rule id, e.g. "color-contrast".
    let id: String
    /// "minor", "moderate", "serious" or "critical".
    let impact: String
    let help: String
    let helpURL: String
    /// One CSS selector per offending node (frames joined with " >>> ").
    let nodes: [String]

    var description: String { "[\(impact)] \(id): \(help) — \(nodes.joined(separator: ", "))" }
}

extension WebDriverSession {
    /// Runs axe-core (`axeSource` is axe.min.js) on the current page and returns every violation;
    /// callers pick the impacts they fail on.
    func runAxe(axeSource: String) async throws -> [AxeViolation] {
        // Injected as a script body: axe.min.js assigns `window.axe` itself.
        try await executeScript(axeSource + "\n;return typeof window.axe;")
        // Reduced in the page to the fields we keep: the full result holds DOM snippets and is large.
        let script = """
            var done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ['violations']}, function (err, results) {
              if (err) { done({error: String(err && err.message || err)}); return; }
              done({violations: results.violations.map(function (v) {
                return {id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl || '',
                        nodes: v.nodes.map(function (n) {
                          return [].concat(n.target).map(function (t) { return Array.isArray(t) ? t.join(' ') : String(t); }).join(' >>> ');
                        })};
              })});
            });
            """
        let result = try await executeAsyncScript(script)
        if let error = result["error"]?.string {
            throw WebDriverError(error: "javascript error", message: "axe.run: \(error)", command: "runAxe")
        }
        guard let violations = result["violations"]?.array else {
            throw WebDriverError(error: "invalid response", message: "axe.run returned \(result)", command: "runAxe")
        }
        return violations.map { v in
            AxeViolation(id: v["id"]?.string ?? "", impact: v["impact"]?.string ?? "", help: v["help"]?.string ?? "",
                         helpURL: v["helpUrl"]?.string ?? "", nodes: (v["nodes"]?.array ?? []).compactMap(\.string))
        }
    }
}

/// Finds axe-core's axe.min.js: `OSSA_TEST_AXE_JS`, else the copy PyPI's axe-selenium-python ships
/// (`pip install axe-selenium-python`) — PyPI is a registry the machines reach, npm is not.
enum AxeCore {
    struct NotFound: Error, CustomStringConvertible { let description: String }

    /// Where the pip package keeps the script, relative to its package folder.
    static let relativePath = "node_modules/axe-core/axe.min.js"

    /// The path of axe.min.js.
    static func path() throws -> String {
        if let path = ProcessInfo.processInfo.environment["OSSA_TEST_AXE_JS"], !path.isEmpty {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw NotFound(description: "OSSA_TEST_AXE_JS=\(path) is not a readable file")
            }
            return path
        }
        let output: String
        do {
            output = try spawnAndCapture(["python3", "-c",
                "import axe_selenium_python, os; print(os.path.dirname(axe_selenium_python.__file__))"])
        } catch {
            throw NotFound(description: "axe.min.js not found: set OSSA_TEST_AXE_JS or `pip install axe-selenium-python` (\(error))")
        }
        let directory = output.trimmingCharacters(in: .whitespacesAndNewlines)
        let path = (directory as NSString).appendingPathComponent(relativePath)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw NotFound(description: "axe-selenium-python at \(directory) has no \(relativePath)")
        }
        return path
    }

    /// The text of axe.min.js.
    static func source() throws -> String {
        try String(contentsOfFile: path(), encoding: .utf8)
    }

    /// Runs `argv` (looked up on PATH) and returns its standard output; throws if it cannot start or exits non-zero.
    ///
    /// posix_spawn, not Foundation's `Process`, which has hung and crashed this test target under parallel tests.
    /// Output goes to a temporary file rather than a pipe, so nothing can stall on a full pipe buffer.
    static func spawnAndCapture(_ argv: [String]) throws -> String {
        precondition(!argv.isEmpty, "spawnAndCapture needs a program")
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("ossa-spawn-\(UUID().uuidString).out")
        let errURL = outURL.deletingPathExtension().appendingPathExtension("err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // The environment from ProcessInfo rather than the C global `environ`, which strict concurrency flags.
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in cArgs + cEnv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
        guard spawned == 0 else {
            throw NotFound(description: "cannot start \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw NotFound(description: "waitpid(\(argv[0])) failed: errno \(errno)") }
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import (they are macros).
        let exited = (status & 0x7f) == 0, code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
            throw NotFound(description: "\(argv.joined(separator: " ")) " + (exited ? "exited \(code)" : "died of signal \(status & 0x7f)")
                + ": \(stderr.trimmingCharacters(in: .whitespacesAndNewlines).suffix(500))")
        }
        return String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
    }
}
