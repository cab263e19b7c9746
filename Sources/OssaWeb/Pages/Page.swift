import Foundation

/// A server-rendered page: a model whose stored properties the Mustache view reads, and the view's name.
///
/// Adding a page: a `struct XPage: Page` in `Pages/` (its fields are what the view shows; flags that sections test
/// are stored, not computed, because Mustache reads stored properties only), `Resources/templates/<template>.mustache`
/// extending the layout (`{{<layout}}{{$content}}…{{/content}}{{/layout}}`) and using the shared partials
/// (`_field`, `_errorSummary`, `_summaryList`, `_table`, `_pagination`, `_pageLinks`, `_button`), a route in `PageRoutes` whose
/// data comes from one OssaStore read model, and a sample in `PageCatalog.samples` so that `PageRenderTests`
/// renders it.
protocol Page: Sendable {
    /// The Mustache view, `Resources/templates/<template>.mustache`.
    static var template: String { get }
    /// The document title (the layout adds " · Ossa").
    var title: String { get }
    /// The signed-in user's bar; nil on public pages.
    var user: UserBar? { get }
    /// What the layout needs from outside the page (URLs of the stylesheet and of the navigation); set by
    /// `PageRenderer` just before rendering.
    var chrome: Chrome { get set }
}

/// The layout's links, built from the route table and the static files' content hashes, never written in a view.
struct Chrome: Sendable {
    var stylesheetURL = ""
    var homeURL = Paths.home.template
    var patientsURL = Paths.patients.template
    var newPatientURL = Paths.patientNew.template
    var adminURL = Paths.Admin.home.template
    var analyticsURL = Paths.analytics.template
    var exportsURL = Paths.exports.template
    var logoutURL = Paths.logout.template
    var loginURL = Paths.login.template
    /// A page for patients or the public (the questionnaire link, the self-screen): the bar shows the clinic's name,
    /// not Ossa's staff navigation, and the page gets the large touch targets (`main.portal`).
    var isPublic = false
    var publicName = ""

    init() {}

    /// The chrome of a public page headed with `name` (the clinic's, or "Ossa").
    static func publicPage(_ name: String) -> Chrome {
        var chrome = Chrome()
        chrome.isPublic = true
        chrome.publicName = name
        return chrome
    }
}

/// One field of a form as the `_field` partial draws it: label, optional hint, inline error and the user's value.
struct FormField: Sendable {
    var id: String
    var name: String
    var label: String
    var type = "text"
    var value = ""
    var hint: String?
    var error: String?
    var autocomplete: String?
    /// The on-screen keyboard (`email`, `numeric`) where the type stays `text` (`type=email` with
    /// `autocomplete=username` is refused by axe-core's autocomplete-valid rule).
    var inputmode: String?
    var required = false
    /// `aria-describedby`: the hint and the error, when present.
    var describedBy: String?
    /// What the `_field` partial draws (stored flags: Mustache reads stored properties only).
    var isInput = true
    var isSelect = false
    var isTextarea = false
    var isRadios = false
    var isCheckboxes = false
    var isHidden = false
    /// Radios or checkboxes, drawn in a fieldset with the label as its legend.
    var isGroup = false
    var choiceType = "radio"
    var inline = false
    var options: [FieldOption] = []
    /// `width-5`, `width-10`: how many characters the box is sized for.
    var widthClass: String?
    /// In a grid the column and row say what the field is; the label is still there for screen readers.
    var labelHidden = false

    enum Kind { case input, select, textarea, radios, checkboxes }

    mutating func kind(_ kind: Kind) {
        isInput = kind == .input
        isSelect = kind == .select
        isTextarea = kind == .textarea
        isRadios = kind == .radios
        isCheckboxes = kind == .checkboxes
        isGroup = isRadios || isCheckboxes
        choiceType = isCheckboxes ? "checkbox" : "radio"
    }

    init(id: String, name: String? = nil, label: String, type: String = "text", value: String = "", hint: String? = nil,
         error: String? = nil, autocomplete: String? = nil, inputmode: String? = nil, required: Bool = false) {
        self.id = id
        self.name = name ?? id
        self.label = label
        self.type = type
        self.value = value
        self.hint = hint
        self.error = error
        self.autocomplete = autocomplete
        self.inputmode = inputmode
        self.required = required
        let described = [hint.map { _ in "\(id)-hint" }, error.map { _ in "\(id)-error" }].compactMap { $0 }
        describedBy = described.isEmpty ? nil : described.joined(separator: " ")
    }
}

/// The error summary at the top of a refused form (GOV.UK Design System pattern): each message links to its field.
struct ErrorSummary: Sendable {
    struct Item: Sendable {
        var fieldID: String
        var message: String
    }

    var items: [Item]
    var hasErrors: Bool

    init(_ items: [Item] = []) {
        self.items = items
        hasErrors = !items.isEmpty
    }
}

/// Key–value rows (`_summaryList` partial).
struct SummaryList: Sendable {
    struct Row: Sendable {
        var key: String
        var value: String
    }

    var rows: [Row]

    init(_ rows: [(String, String)]) {
        self.rows = rows.map { Row(key: $0.0, value: $0.1) }
    }
}

/// A table (`_table` partial, reading the page's `table`): column headers and rows of cells, each cell text and/or links.
struct TableModel: Sendable {
    struct Link: Sendable { var url: String; var text: String }
    struct Cell: Sendable {
        var text: String
        var links: [Link]
        var hasLinks: Bool
        /// `num` (right-aligned figures), `status-…`.
        var cellClass: String?
        init(_ text: String, links: [Link] = [], class cellClass: String? = nil) {
            self.text = text
            self.links = links
            hasLinks = !links.isEmpty
            self.cellClass = cellClass
        }
        static func link(_ text: String, _ url: String) -> Cell { Cell(text, links: [Link(url: url, text: text)]) }
    }
    struct Row: Sendable {
        var cells: [Cell]
        init(cells: [Cell]) { self.cells = cells }
        init(_ cells: Cell...) { self.cells = cells }
    }

    var caption: String
    var captionHidden: Bool
    var headers: [String]
    var rows: [Row]
    var hasRows: Bool
    /// Said instead of the table when there are no rows.
    var emptyText: String?

    init(caption: String, headers: [String], rows: [Row], captionHidden: Bool = true, emptyText: String? = nil) {
        self.caption = caption
        self.captionHidden = captionHidden
        self.headers = headers
        self.rows = rows
        hasRows = !rows.isEmpty
        self.emptyText = emptyText
    }
}

/// The count line (`_pagination`) and previous / next links (`_pageLinks`), reading the page's `pagination`.
struct Pagination: Sendable {
    var previousURL: String?
    var nextURL: String?
    var summary: String
}
