import Foundation
import OssaCore
import OssaStore

// The administration pages: accounts, sites, API tokens, screening rulesets, instrument wording and the audit log.
// Each page is a model built from one `ReadModels.admin…` read model; forms are `FormPage`s (`form.mustache`).

/// A table whose cells may hold a link or a one-button form (revoke, activate): the `_actionTable` partial.
struct ActionTable: Sendable {
    struct Hidden: Sendable {
        var name: String
        var value: String
    }

    /// A POST form of one button; the partial adds the CSRF token.
    struct Button: Sendable {
        var url: String
        var label: String
        /// The label with its row, for screen readers ("Revoke the token ci-export").
        var ariaLabel: String
        var fields: [Hidden]

        init(_ label: String, url: String, ariaLabel: String, fields: [Hidden] = []) {
            (self.label, self.url, self.ariaLabel, self.fields) = (label, url, ariaLabel, fields)
        }
    }

    struct Cell: Sendable {
        var text: String
        var link: TableModel.Link?
        var hasLink: Bool
        var button: Button?
        /// `tag` draws the text as a label.
        var isTag: Bool
        var cellClass: String?

        init(_ text: String, link: String? = nil, button: Button? = nil, tag: Bool = false, class cellClass: String? = nil) {
            self.text = text
            self.link = link.map { TableModel.Link(url: $0, text: text) }
            hasLink = link != nil
            self.button = button
            isTag = tag
            self.cellClass = cellClass
        }
    }

    struct Row: Sendable {
        var cells: [Cell]
    }

    var caption: String
    var captionHidden: Bool
    var headers: [String]
    var rows: [Row]
    var hasRows: Bool
    var emptyText: String?

    init(caption: String, headers: [String], rows: [[Cell]], captionHidden: Bool = true, emptyText: String? = nil) {
        self.caption = caption
        self.captionHidden = captionHidden
        self.headers = headers
        self.rows = rows.map(Row.init(cells:))
        hasRows = !rows.isEmpty
        self.emptyText = emptyText
    }
}

enum AdminDisplay {
    static func role(_ role: Role) -> String { role.rawValue.capitalizedFirst }

    static func date(_ date: Date?) -> String { date.map(Display.instant) ?? "–" }

    /// Offset paging links that keep the page's other query items.
    static func pagination(path: RoutePath, query: [URLQueryItem], offset: Int, pageSize: Int, shown: Int, total: Int,
                           noun: String) -> Pagination {
        func url(_ newOffset: Int) -> String {
            var components = URLComponents()
            components.path = path.template
            components.queryItems = query + [URLQueryItem(name: "offset", value: String(newOffset))]
            return components.string ?? path.template
        }
        let last = offset + shown
        let summary = total == 0 ? "No \(noun) found."
            : (shown == 0 ? "No \(noun) on this page; there are \(total)." : "Showing \(offset + 1)–\(last) of \(total) \(noun).")
        return Pagination(previousURL: offset > 0 ? url(max(0, offset - pageSize)) : nil,
                          nextURL: last < total ? url(offset + pageSize) : nil, summary: summary)
    }
}

/// GET / and GET /admin for administrators: what they manage. Model: `AdminHomePage`; view: `admin-home.mustache`;
/// read model: `ReadModels.adminViewer`.
struct AdminHomePage: Page {
    static let template = "admin-home"
    struct Section: Sendable {
        var title: String
        var url: String
        var description: String
    }

    var title = "Administration"
    var user: UserBar?
    var chrome = Chrome()
    var sections: [Section]

    init(user: UserBar) {
        self.user = user
        sections = [
            Section(title: "Users", url: Paths.Admin.users.template,
                    description: "Accounts, their roles and sites; add a user, disable an account, set a new password."),
            Section(title: "Sites", url: Paths.Admin.sites.template, description: "The clinic's sites; every clinical record belongs to one."),
            Section(title: "API tokens", url: Paths.Admin.tokens.template,
                    description: "Tokens of machine clients (shown once when created); revoke one that is no longer needed."),
            Section(title: "Screening rulesets", url: Paths.Admin.rulesets.template,
                    description: "The ruleset versions, and which one new screening evaluations use; upload a clinic's version."),
            Section(title: "Instruments", url: Paths.Admin.instruments.template,
                    description: "The questionnaires Ossa ships, and the wording the clinic holds under licence."),
            Section(title: "Audit log", url: Paths.Admin.audit.template,
                    description: "Who did what to which record, and when; verify that the log's hash chain is intact."),
        ]
    }
}

/// A list of records with links and row buttons, under a heading with actions (users, sites, API tokens, rulesets,
/// instruments). Model: `AdminListPage`; view: `admin-list.mustache`.
struct AdminListPage: Page {
    static let template = "admin-list"
    struct Search: Sendable {
        var action: String
        var field: FormField
    }

    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var intro: [String]
    var actions: [TableModel.Link]
    var hasActions: Bool
    var search: Search?
    var table: ActionTable
    var pagination: Pagination?
    var backURL = Paths.Admin.home.template

    static let pageSize = 50

    init(title: String, user: UserBar, intro: [String], actions: [TableModel.Link], search: Search?, table: ActionTable,
         pagination: Pagination?) {
        (self.title, self.user, self.intro, self.actions, self.search, self.table, self.pagination) =
            (title, user, intro, actions, search, table, pagination)
        hasActions = !actions.isEmpty
    }

    /// GET /admin/users (read model `ReadModels.adminUsers`).
    static func users(_ view: ReadModels.AdminUserList, user: UserBar, query: String?) -> AdminListPage {
        let codes = Dictionary(uniqueKeysWithValues: view.sites.map { ($0.id, $0.code) })
        let rows = view.users.items.map { u -> [ActionTable.Cell] in
            let sites = (view.grants[u.id] ?? []).compactMap { codes[$0] }.sorted()
            return [
                .init(u.displayName, link: Paths.Admin.user.url(u.id)), .init(u.email), .init(AdminDisplay.role(u.role)),
                .init(u.role == .patient ? "own record" : (sites.isEmpty ? "none" : sites.joined(separator: ", "))),
                .init(u.disabled ? "Disabled" : (u.hasPassword ? "Active" : "No password"), tag: true),
            ]
        }
        var values = FormValues()
        values.set("q", query)
        // No autocomplete attribute: axe-core 3.1 refuses `autocomplete=off` on a search box (autocomplete-valid).
        let field = FormField.input("q", "Name or e-mail", values, FormErrors(), type: "search")
        let page = view.users
        return AdminListPage(
            title: "Users", user: user, intro: ["Every account, with its role and the sites whose records it may see."],
            actions: [TableModel.Link(url: Paths.Admin.userNew.template, text: "Add a user")],
            search: Search(action: Paths.Admin.users.template, field: field),
            table: ActionTable(caption: "Users", headers: ["Name", "E-mail", "Role", "Sites", "Status"], rows: rows,
                               emptyText: "No users found."),
            pagination: AdminDisplay.pagination(path: Paths.Admin.users, query: query.map { [URLQueryItem(name: "q", value: $0)] } ?? [],
                                                offset: page.offset, pageSize: page.limit, shown: page.items.count, total: page.total,
                                                noun: "users"))
    }

    /// GET /admin/sites (read model `ReadModels.adminSites`).
    static func sites(_ view: ReadModels.AdminSiteList, user: UserBar) -> AdminListPage {
        let page = view.sites
        return AdminListPage(
            title: "Sites", user: user, intro: ["Every clinical record belongs to one site; staff see the records of the sites granted to them."],
            actions: [TableModel.Link(url: Paths.Admin.siteNew.template, text: "Add a site")], search: nil,
            table: ActionTable(caption: "Sites", headers: ["Code", "Name", "Created", "Messages"],
                               rows: page.items.map { [.init($0.code), .init($0.name), .init(AdminDisplay.date($0.createdAt)),
                                                       .init("Time zone, quiet hours, contact, wording", link: Paths.Admin.siteMessaging.url($0.id))] },
                               emptyText: "No sites yet."),
            pagination: AdminDisplay.pagination(path: Paths.Admin.sites, query: [], offset: page.offset, pageSize: page.limit,
                                                shown: page.items.count, total: page.total, noun: "sites"))
    }

    /// The token rows of the token list and of a user's page; `from` says where a revocation returns to.
    static func tokenTable(_ tokens: [APITokenRecord], users: [UUID: UserRecord], now: Date, showOwner: Bool, from: String) -> ActionTable {
        let rows = tokens.map { t -> [ActionTable.Cell] in
            let status: String
            if let revoked = t.revokedAt {
                status = "Revoked \(Display.instant(revoked))"
            } else if let expires = t.expiresAt, expires <= now {
                status = "Expired"
            } else {
                status = "Active"
            }
            let owner = users[t.userID]
            var cells: [ActionTable.Cell] = [.init(t.name)]
            if showOwner { cells.append(.init(owner.map { "\($0.displayName) (\($0.email))" } ?? t.userID.lowercasedID, link: Paths.Admin.user.url(t.userID))) }
            cells += [.init(AdminDisplay.date(t.createdAt)), .init(t.lastUsedAt.map(Display.instant) ?? "never"),
                      .init(t.expiresAt.map(Display.instant) ?? "never"), .init(status, tag: true)]
            cells.append(t.revokedAt == nil
                         ? .init("", button: .init("Revoke", url: Paths.Admin.tokenRevoke.url(t.id), ariaLabel: "Revoke the token \(t.name)",
                                                   fields: [.init(name: "from", value: from)]))
                         : .init(""))
            return cells
        }
        return ActionTable(caption: "API tokens", headers: ["Name"] + (showOwner ? ["User"] : []) + ["Created", "Last used", "Expires", "Status", "Action"],
                           rows: rows, emptyText: "No API tokens.")
    }

    /// GET /admin/tokens (read model `ReadModels.adminTokens`).
    static func tokens(_ view: ReadModels.AdminTokenList, user: UserBar, now: Date) -> AdminListPage {
        let page = view.tokens
        return AdminListPage(
            title: "API tokens", user: user,
            intro: ["A token acts as its user, with that user's role and sites. Only its hash is stored: it is shown once, when created."],
            actions: [TableModel.Link(url: Paths.Admin.tokenNew.template, text: "Create an API token")], search: nil,
            table: tokenTable(page.items, users: view.users, now: now, showOwner: true, from: "tokens"),
            pagination: AdminDisplay.pagination(path: Paths.Admin.tokens, query: [], offset: page.offset, pageSize: page.limit,
                                                shown: page.items.count, total: page.total, noun: "tokens"))
    }

    /// GET /admin/rulesets (read model `ReadModels.adminRulesets`): the bundled default first, then every upload.
    static func rulesets(_ view: ReadModels.AdminRulesetList, bundled: Ruleset, user: UserBar) -> AdminListPage {
        let bundledActive = !view.rulesets.contains(where: \.active)
        func status(active: Bool, id: String, label: String) -> ActionTable.Cell {
            active ? .init("Active", tag: true)
                : .init("", button: .init("Use for new evaluations", url: Paths.Admin.rulesetActivate.template,
                                          ariaLabel: "Use \(label) for new evaluations", fields: [.init(name: "ruleset", value: id)]))
        }
        let bundledLabel = "\(bundled.id) version \(bundled.version)"
        var rows: [[ActionTable.Cell]] = [[.init(bundled.id), .init(bundled.version), .init(bundled.title), .init("Shipped with Ossa"),
                                           status(active: bundledActive, id: "bundled", label: bundledLabel)]]
        rows += view.rulesets.map { r in
            [.init(r.rulesetID), .init(r.version, link: Paths.Admin.ruleset.url(r.id)), .init(r.title),
             .init("\(view.userNames[r.uploadedBy] ?? "–"), \(Display.instant(r.uploadedAt))"),
             status(active: r.active, id: r.id.lowercasedID, label: "\(r.rulesetID) version \(r.version)")]
        }
        return AdminListPage(
            title: "Screening rulesets", user: user,
            intro: ["New screening evaluations use the active version; each decision records the ruleset and version it was made with.",
                    "A clinic's ruleset has the schema of the bundled one, and its medical lead signs it off before it is used."],
            actions: [TableModel.Link(url: Paths.Admin.rulesetNew.template, text: "Upload a ruleset version")], search: nil,
            table: ActionTable(caption: "Ruleset versions", headers: ["Ruleset", "Version", "Title", "Uploaded", "Status"], rows: rows),
            pagination: nil)
    }

    /// GET /admin/instruments (read model `ReadModels.adminInstruments`).
    static func instruments(_ view: ReadModels.AdminInstrumentList, library: InstrumentLibrary, user: UserBar) -> AdminListPage {
        let rows = library.instruments.map { i -> [ActionTable.Cell] in
            let wording = view.wordings[i.id].map { w in
                "Clinic's wording (\(w.texts.count) of \(i.items.count) items, \(view.userNames[w.uploadedBy] ?? "–"), \(Display.instant(w.uploadedAt)))"
            } ?? "Shipped wording (\(i.wordingSource ?? "as shipped"))"
            return [.init(i.title, link: Paths.Admin.instrument.url(i.id)), .init(i.abbreviation), .init(String(i.items.count), class: "num"),
                    .init("\(i.scoring.algorithm) \(i.scoring.version)"), .init(wording)]
        }
        return AdminListPage(
            title: "Instruments", user: user,
            intro: ["The questionnaires Ossa ships. Scores use the answers' ordinal values only, so a clinic's licensed wording never changes a score."],
            actions: [], search: nil,
            table: ActionTable(caption: "Instruments", headers: ["Instrument", "Abbreviation", "Items", "Scoring", "Wording"], rows: rows),
            pagination: nil)
    }
}

/// GET /admin/users/:userID: the account, what it may see, its API tokens and what can be done to it.
/// Model: `AdminUserPage`; view: `admin-user.mustache`; read model: `ReadModels.adminUser`.
struct AdminUserPage: Page {
    static let template = "admin-user"
    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var facts: SummaryList
    var actions: [TableModel.Link]
    /// Shown for an enabled account other than the viewer's own.
    var canDisable: Bool
    var disableURL: String
    var tokens: ActionTable
    var backURL = Paths.Admin.users.template

    init(_ view: ReadModels.AdminUser, user: UserBar, viewerID: UUID, now: Date) {
        let u = view.user
        title = u.displayName
        self.user = user
        let sites = view.sites.filter { view.siteIDs.contains($0.id) }.map { "\($0.code) · \($0.name)" }
        facts = SummaryList([("Name", u.displayName), ("E-mail", u.email), ("Role", AdminDisplay.role(u.role)),
                             ("Sites", u.role == .patient ? "none (a patient login sees its own record)" : (sites.isEmpty ? "none" : sites.joined(separator: ", "))),
                             ("Status", u.disabled ? "Disabled: cannot sign in" : (u.hasPassword ? "Active" : "Active, no password set")),
                             ("Created", AdminDisplay.date(u.createdAt))])
        var actions: [TableModel.Link] = []
        if u.role != .patient { actions.append(TableModel.Link(url: Paths.Admin.userAccess.url(u.id), text: "Change role and sites")) }
        actions.append(TableModel.Link(url: Paths.Admin.userPassword.url(u.id), text: "Set a new password"))
        if !u.disabled {
            var components = URLComponents()
            components.path = Paths.Admin.tokenNew.template
            components.queryItems = [URLQueryItem(name: "user", value: u.id.lowercasedID)]
            actions.append(TableModel.Link(url: components.string ?? Paths.Admin.tokenNew.template, text: "Create an API token for this user"))
        }
        self.actions = actions
        canDisable = !u.disabled && u.id != viewerID
        disableURL = Paths.Admin.userDisable.url(u.id)
        tokens = AdminListPage.tokenTable(view.tokens, users: [u.id: u], now: now, showOwner: false, from: "user")
    }
}

/// POST /admin/tokens/new answered: the token, shown this once. Model: `AdminTokenCreatedPage`; view:
/// `admin-token-created.mustache`.
struct AdminTokenCreatedPage: Page {
    static let template = "admin-token-created"
    var title = "API token created"
    var user: UserBar?
    var chrome = Chrome()
    var token: String
    var facts: SummaryList
    var ownerURL: String
    var tokensURL = Paths.Admin.tokens.template

    init(token: String, record: APITokenRecord, owner: String, user: UserBar) {
        self.user = user
        self.token = token
        facts = SummaryList([("Name", record.name), ("Acts as", owner), ("Expires", record.expiresAt.map(Display.instant) ?? "never")])
        ownerURL = Paths.Admin.user.url(record.userID)
    }
}

/// GET /admin/rulesets/:rulesetID: an uploaded version and its rules. Model: `AdminRulesetPage`; view:
/// `admin-ruleset.mustache`; read model: `ReadModels.adminRuleset`.
struct AdminRulesetPage: Page {
    static let template = "admin-ruleset"
    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var description: String?
    var facts: SummaryList
    var rules: ActionTable
    var canActivate: Bool
    var activateURL = Paths.Admin.rulesetActivate.template
    var rulesetValue: String
    var backURL = Paths.Admin.rulesets.template

    init(_ view: ReadModels.AdminRuleset, user: UserBar) {
        let r = view.ruleset
        title = "\(r.title) (\(r.id) version \(r.version))"
        self.user = user
        description = r.description
        facts = SummaryList([("Ruleset", r.id), ("Version", r.version), ("Status", view.record.active ? "Active: new evaluations use it" : "Not in use"),
                             ("Uploaded", "\(view.uploadedByName ?? "–"), \(Display.instant(view.record.uploadedAt))"),
                             ("Rules", String(r.rules.count)), ("Evidence sources", String(r.evidence.count))])
        rules = ActionTable(caption: "Rules", headers: ["Rule", "Effect", "Severity", "Reason", "Evidence"], rows: r.rules.map { rule in
            [.init(rule.id), .init(rule.effect.rawValue, tag: true), .init(rule.severity.rawValue), .init(rule.reason),
             .init(rule.evidence.joined(separator: ", "))]
        }, captionHidden: false, emptyText: "No rules.")
        canActivate = !view.record.active
        rulesetValue = view.record.id.lowercasedID
    }
}

/// GET /admin/instruments/:instrumentID: items, answer options, scores, licence, and whose wording is in use.
/// Model: `AdminInstrumentPage`; view: `admin-instrument.mustache`; read model: `ReadModels.adminInstrument`.
struct AdminInstrumentPage: Page {
    static let template = "admin-instrument"
    var title: String
    var user: UserBar?
    var chrome = Chrome()
    var facts: SummaryList
    var wordingStatus: String
    var hasClinicWording: Bool
    var wordingURL: String
    var removeURL: String
    var items: ActionTable
    var scores: ActionTable
    var backURL = Paths.Admin.instruments.template

    init(_ view: ReadModels.AdminInstrument, instrument i: InstrumentDefinition, user: UserBar) {
        title = i.title
        self.user = user
        let clinic = view.wording?.texts ?? [:]
        facts = SummaryList([("Id", i.id), ("Abbreviation", i.abbreviation), ("Scoring", "\(i.scoring.algorithm) \(i.scoring.version)"),
                             ("Direction", i.directionNote ?? i.direction.rawValue.replacingOccurrences(of: "-", with: " ")),
                             ("Recall period", i.recallPeriod ?? "–"), ("LOINC panel", i.loincPanel ?? "–"), ("Licence", i.licence),
                             ("Shipped wording", i.wordingSource ?? "–")])
        if let wording = view.wording {
            wordingStatus = "The clinic's wording is in use for \(wording.texts.count) of \(i.items.count) items (uploaded by \(view.uploadedByName ?? "–") on \(Display.instant(wording.uploadedAt))); the other items keep the shipped wording."
        } else {
            wordingStatus = "The shipped wording is in use (\(i.wordingSource ?? "as shipped"))."
        }
        hasClinicWording = view.wording != nil
        wordingURL = Paths.Admin.instrumentWording.url(i.id)
        removeURL = Paths.Admin.instrumentWordingRemove.url(i.id)
        items = ActionTable(caption: "Items", headers: ["Code", "Wording in use", "Answers"], rows: i.items.map { item in
            let options = i.options(for: item).map { "\($0.value) \($0.label)" }.joined(separator: "; ")
            let text = clinic[item.code].map { "\($0) (clinic's wording)" } ?? item.text
            return [.init(item.code), .init(text), .init(options.isEmpty ? item.itemType.rawValue : options)]
        }, captionHidden: false)
        scores = ActionTable(caption: "Scores", headers: ["Score", "Method", "Items", "Minimum answered", "LOINC"], rows: i.scores.map { s in
            [.init(s.label), .init(s.method.rawValue), .init(s.items.joined(separator: " ")), .init(String(s.minimumAnswered), class: "num"),
             .init(s.loinc ?? "–")]
        }, captionHidden: false, emptyText: "This form records events and has no score.")
    }
}

/// GET /admin/audit: the audit log, newest first, filtered by a GET form and paged. Model: `AdminAuditPage`; view:
/// `admin-audit.mustache`; read model: `ReadModels.adminAuditLog`.
struct AdminAuditPage: Page {
    static let template = "admin-audit"
    var title = "Audit log"
    var user: UserBar?
    var chrome = Chrome()
    var errors: ErrorSummary
    var filterURL = Paths.Admin.audit.template
    var filters: [FormField]
    var table: ActionTable
    var pagination: Pagination
    var verifyURL = Paths.Admin.auditVerify.template

    static let pageSize = 50

    /// The filter's query names, in the form's order.
    static let filterNames = ["user", "recordType", "recordID", "action", "outcome", "from", "to"]

    init(_ view: ReadModels.AdminAuditLog, values: FormValues, errors: FormErrors, user: UserBar) {
        self.user = user
        title = errors.isEmpty ? "Audit log" : "Error: Audit log"
        self.errors = errors.summary
        filters = [
            FormField.select("user", "User", values, errors,
                             options: view.users.map { ($0.id.lowercasedID, "\($0.displayName) (\($0.email))") }, blank: "Anyone"),
            FormField.select("recordType", "Record type", values, errors, options: RecordType.allCases.map { ($0.rawValue, $0.rawValue) },
                             blank: "Any"),
            FormField.input("recordID", "Record id", values, errors, hint: "Exactly as the log shows it", width: "20", autocomplete: "off"),
            FormField.select("action", "Action", values, errors, options: AuditAction.allCases.map { ($0.rawValue, $0.rawValue) }, blank: "Any"),
            FormField.select("outcome", "Outcome", values, errors, options: [("ok", "carried out"), ("denied", "refused")], blank: "Any"),
            FormField.date("from", "From", values, errors, hint: "Year-month-day (UTC)"),
            FormField.date("to", "To", values, errors, hint: "Year-month-day (UTC), inclusive"),
        ]
        let names = view.actorNames
        table = ActionTable(caption: "Audit entries", headers: ["#", "When (UTC)", "User", "Role", "Action", "Outcome", "Record", "From"],
                            rows: view.entries.items.map { e in
                                let who = e.actorUserID.map { names[$0] ?? $0 } ?? "–"
                                return [.init(String(e.sequence), class: "num"), .init(Display.instant(e.date)), .init(who), .init(e.actorRole),
                                        .init(e.action), .init(e.outcome == "ok" ? "carried out" : "refused", tag: e.outcome != "ok"),
                                        .init(e.recordType + (e.recordID.map { " \($0)" } ?? "")), .init(e.fromAddress ?? "–")]
                            }, emptyText: errors.isEmpty ? "No entries match." : "Correct the filters to see entries.")
        let query = Self.filterNames.compactMap { name -> URLQueryItem? in
            let value = values[name]
            return value.isEmpty ? nil : URLQueryItem(name: name, value: value)
        }
        let page = view.entries
        pagination = AdminDisplay.pagination(path: Paths.Admin.audit, query: query, offset: page.offset, pageSize: page.limit,
                                             shown: page.items.count, total: page.total, noun: "entries")
    }

    /// The filter as the store takes it, or the form's errors (each by its field).
    static func filter(_ values: FormValues) -> (ReadModels.AuditFilter, FormErrors) {
        var reader = FormReader(values)
        var filter = ReadModels.AuditFilter()
        if let text = reader.text("user", "User") {
            if let id = UUID(uuidString: text) { filter.userID = id } else { reader.errors.add("user", "Select the user from the list") }
        }
        filter.recordType = reader.choice(RecordType.self, "recordType", "Record type")
        filter.recordID = reader.text("recordID", "Record id", max: 200)
        filter.action = reader.choice(AuditAction.self, "action", "Action")
        filter.outcome = reader.choice(AuditOutcome.self, "outcome", "Outcome")
        filter.from = reader.date("from", "From")
        filter.to = reader.date("to", "To")
        if let from = filter.from, let to = filter.to, to < from {
            reader.errors.add("to", "To must be the same day as From or later")
            filter.to = nil
        }
        return (filter, reader.errors)
    }
}

/// GET /admin/audit/verify: the result of checking the audit log's hash chain. Model: `AdminAuditVerifyPage`; view:
/// `admin-audit-verify.mustache`; read model: `ReadModels.adminAuditVerification`.
struct AdminAuditVerifyPage: Page {
    static let template = "admin-audit-verify"
    var title = "Audit chain verification"
    var user: UserBar?
    var chrome = Chrome()
    var intact: Bool
    var summary: String
    var facts: SummaryList
    var auditURL = Paths.Admin.audit.template

    init(_ result: AuditVerification, user: UserBar) {
        self.user = user
        switch result {
        case .intact(let count, let lastHash):
            intact = true
            summary = "The audit log is intact: every entry links to the one before it and matches its hash, and the anchor names the last entry."
            facts = SummaryList([("Entries", String(count)), ("Last hash", lastHash)])
        case .broken(let sequence, let reason):
            intact = false
            summary = "The audit log is broken at entry \(sequence): \(reason). Entries may have been edited, removed or added outside Ossa; keep the database as it is and report it."
            facts = SummaryList([("First broken entry", String(sequence)), ("Reason", reason.description)])
        }
    }
}

/// The administration forms (`form.mustache`). Passwords are never sent back in a re-rendered form.
enum AdminForms {
    /// Roles an administrator gives on these pages; patient logins belong to a patient record and are made there.
    static let staffRoles: [Role] = [.coordinator, .clinician, .researcher, .admin]

    static func roleOptions(_ roles: [Role]) -> [(String, String)] {
        roles.map { role -> (String, String) in
            switch role {
            case .coordinator: (role.rawValue, "Coordinator: intake, scheduling, questionnaires, worklists")
            case .clinician: (role.rawValue, "Clinician: everything clinical; signs decisions and procedures")
            case .researcher: (role.rawValue, "Researcher: de-identified registry data only")
            case .admin: (role.rawValue, "Administrator: users, sites, rulesets, audit log; no clinical data")
            case .patient: (role.rawValue, "Patient: their own record")
            }
        }
    }

    static func siteOptions(_ sites: [SiteRecord]) -> [(String, String)] {
        sites.map { ($0.id.lowercasedID, "\($0.code) · \($0.name)") }
    }

    static func password(_ name: String, _ label: String, _ errors: FormErrors, hint: String) -> FormField {
        var field = FormField.input(name, label, FormValues(), errors, type: "password", hint: hint, width: "20", autocomplete: "new-password")
        field.value = ""
        return field
    }

    static let passwordHint = "At least \(Accounts.minimumPasswordLength) characters. Give it to the user in person or by telephone, never by e-mail."

    /// GET /admin/users/new.
    static func newUser(user: UserBar, sites: [SiteRecord], values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Add a user", user: user, action: Paths.Admin.userNew.template, values: values, errors: errors, sections: [
            FormSection("Account", id: "account", fields: [
                FormField.input("displayName", "Name", values, errors, hint: "As shown in the interface and the audit log", autocomplete: "off"),
                FormField.input("email", "E-mail address", values, errors, hint: "The user signs in with it", inputmode: "email", autocomplete: "off"),
                FormField.choices("role", "Role", values, errors, options: roleOptions(staffRoles),
                                  hint: "Patient logins are made for a patient record, not here"),
            ]),
            FormSection("Sites", id: "sites", fields: [
                FormField.choices("sites", "Sites whose records the user may see", values, errors, options: siteOptions(sites), multiple: true,
                                  hint: sites.isEmpty ? "There are no sites yet; add one first" : "Administrators and researchers need none"),
            ]),
            FormSection("Password", id: "password", fields: [password("password", "Initial password", errors, hint: passwordHint)]),
        ], buttons: [FormButton("Add user")], cancelURL: Paths.Admin.users.template)
    }

    /// GET /admin/users/:userID/access.
    static func access(user: UserBar, view: ReadModels.AdminUser, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Change role and sites", user: user, caption: "\(view.user.displayName) (\(view.user.email))",
                 action: Paths.Admin.userAccess.url(view.user.id), values: values, errors: errors, sections: [
            FormSection("Access", id: "access", fields: [
                FormField.choices("role", "Role", values, errors, options: roleOptions(staffRoles)),
                FormField.choices("sites", "Sites whose records the user may see", values, errors, options: siteOptions(view.sites), multiple: true,
                                  hint: "The change applies to the user's next request"),
            ]),
        ], buttons: [FormButton("Save changes")], cancelURL: Paths.Admin.user.url(view.user.id))
    }

    static func accessValues(_ view: ReadModels.AdminUser) -> FormValues {
        var values = FormValues()
        values.set("role", view.user.role.rawValue)
        values.set("sites", all: view.sites.filter { view.siteIDs.contains($0.id) }.map { $0.id.lowercasedID })
        return values
    }

    /// GET /admin/users/:userID/password.
    static func password(user: UserBar, target: UserRecord, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Set a new password", user: user, caption: "\(target.displayName) (\(target.email))",
                 intro: ["The user's sessions end at once: whoever knew the old password is signed out."],
                 action: Paths.Admin.userPassword.url(target.id), values: values, errors: errors, sections: [
            FormSection("Password", id: "password", fields: [password("password", "New password", errors, hint: passwordHint)]),
        ], buttons: [FormButton("Set password")], cancelURL: Paths.Admin.user.url(target.id))
    }

    /// GET /admin/sites/new.
    static func newSite(user: UserBar, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Add a site", user: user, action: Paths.Admin.siteNew.template, values: values, errors: errors, sections: [
            FormSection("Site", id: "site", fields: [
                FormField.input("code", "Code", values, errors, hint: "Short and unique, for example VIE-1", width: "10", autocomplete: "off"),
                FormField.input("name", "Name", values, errors, autocomplete: "off"),
            ]),
        ], buttons: [FormButton("Add site")], cancelURL: Paths.Admin.sites.template)
    }

    /// GET /admin/tokens/new.
    static func newToken(user: UserBar, users: [UserRecord], values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Create an API token", user: user,
                 intro: ["The token acts as the user you choose, with that user's role and sites. It is shown once, on the next page."],
                 action: Paths.Admin.tokenNew.template, values: values, errors: errors, sections: [
            FormSection("Token", id: "token", fields: [
                FormField.select("user", "User", values, errors, options: users.map { ($0.id.lowercasedID, "\($0.displayName) (\($0.email))") },
                                 blank: "Select a user"),
                FormField.input("name", "Name", values, errors, hint: "What the token is for, for example the client's name", autocomplete: "off"),
                FormField.number("days", "Expires after (days)", values, errors, hint: "Leave empty for a token that does not expire", decimal: false),
            ]),
        ], buttons: [FormButton("Create token")], cancelURL: Paths.Admin.tokens.template)
    }

    /// GET /admin/rulesets/new.
    static func newRuleset(user: UserBar, values: FormValues, errors: FormErrors) -> FormPage {
        FormPage(title: "Upload a ruleset version", user: user,
                 intro: ["Paste the ruleset's JSON (the schema of Sources/OssaCore/Resources/rulesets/default.json). It is checked before it is stored; every problem is named by its path."],
                 action: Paths.Admin.rulesetNew.template, values: values, errors: errors, sections: [
            FormSection("Ruleset", id: "ruleset", fields: [
                FormField.textarea("json", "Ruleset JSON", values, errors, hint: "A new id or version number: an uploaded version never changes"),
                FormField.choices("activate", "When it is stored", values, errors, options: [("yes", "Use it for new screening evaluations at once")],
                                  multiple: true),
            ]),
        ], buttons: [FormButton("Upload ruleset")], cancelURL: Paths.Admin.rulesets.template)
    }

    /// GET /admin/instruments/:instrumentID/wording. Every problem of the posted JSON is listed in the summary (each
    /// linking to the box), and inline under it.
    static func wording(user: UserBar, instrument: InstrumentDefinition, values: FormValues, errors: FormErrors) -> FormPage {
        let problems = errors.items.filter { $0.name == "json" || $0.name.hasPrefix("json@") }.map(\.message)
        var inline = FormErrors()
        if !problems.isEmpty { inline.add("json", problems.joined(separator: "; ")) }
        let codes = instrument.items.map(\.code).joined(separator: ", ")
        var page = FormPage(title: "Upload the clinic's wording", user: user, caption: instrument.title,
                            intro: ["A JSON object of item code → text, for example {\"\(instrument.items.first?.code ?? "P1")\": \"…\"}. Give the items whose wording the clinic holds under licence; the others keep the shipped wording. Uploading replaces the clinic's earlier wording of this instrument.",
                                    "Item codes: \(codes)."],
                            action: Paths.Admin.instrumentWording.url(instrument.id), values: values, errors: errors, sections: [
            FormSection("Wording", id: "wording", fields: [FormField.textarea("json", "Wording JSON", values, inline)]),
        ], buttons: [FormButton("Upload wording")], cancelURL: Paths.Admin.instrument.url(instrument.id))
        page.errors = ErrorSummary(problems.map { ErrorSummary.Item(fieldID: FieldName.id("json"), message: $0) })
        return page
    }

    /// The clinic's stored wording as the form shows it: one item per line, in the instrument's order.
    static func wordingJSON(_ texts: [String: String], instrument: InstrumentDefinition) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func quoted(_ text: String) -> String { (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\"" }
        let order = instrument.items.map(\.code).filter { texts[$0] != nil } + texts.keys.filter { instrument.item($0) == nil }.sorted()
        guard !order.isEmpty else { return "" }
        return "{\n" + order.map { "  \(quoted($0)): \(quoted(texts[$0] ?? ""))" }.joined(separator: ",\n") + "\n}"
    }

    /// Reads the posted wording and checks every item against the instrument, collecting each problem (`json`,
    /// `json@2`, … so that none is dropped).
    static func readWording(_ values: FormValues, instrument: InstrumentDefinition) -> ([String: String]?, FormErrors) {
        var errors = FormErrors()
        let text = values["json"].trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            errors.add("json", "Enter the wording as a JSON object, for example {\"P1\": \"…\"}")
            return (nil, errors)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            errors.add("json", "The wording must be a JSON object of item code to text, for example {\"P1\": \"…\"}")
            return (nil, errors)
        }
        var texts: [String: String] = [:]
        var problems: [String] = []
        for code in object.keys.sorted() {
            guard let value = object[code] as? String else {
                problems.append("\(code): must be text")
                continue
            }
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty {
                problems.append("\(code): must not be empty")
            } else if trimmed.count > InstrumentWordingRepository.maximumTextLength {
                problems.append("\(code): must be \(InstrumentWordingRepository.maximumTextLength) characters or fewer")
            } else {
                do {
                    _ = try instrument.replacingWording([code: trimmed])
                    texts[code] = trimmed
                } catch {
                    problems.append(error.path.isEmpty ? error.message : "\(error.path): \(error.message)")
                }
            }
        }
        if object.isEmpty { problems.append("Give the wording of at least one item") }
        for (index, problem) in problems.enumerated() { errors.add(index == 0 ? "json" : "json@\(index + 1)", problem) }
        return (problems.isEmpty ? texts : nil, errors)
    }

    /// A ruleset problem from the store (`ruleset.rules[3].when.all[0].op`) as the box's message, naming the path.
    static func rulesetProblem(field: String, message: String) -> String {
        let path = field == "ruleset" ? "" : (field.hasPrefix("ruleset.") ? String(field.dropFirst("ruleset.".count)) : field)
        return path.isEmpty ? message.capitalizedFirst : "\(path): \(message)"
    }
}

/// Samples of the administration pages for `PageCatalog` (fixed ids and dates, so that they render the same bytes).
enum AdminPageSamples {
    static let user = UserBar(displayName: "Ada Admin", role: "admin", csrfToken: "sample-csrf", seesPatients: false, seesAdmin: true)
    static let viewer = ReadModels.Viewer(displayName: "Ada Admin", role: .admin)
    static let at = Date(timeIntervalSince1970: 1_770_000_000)

    static var named: [(String, any Page)] {
        let id = PageFixtures.id
        let sites = [SiteRecord(id: id(1), code: "VIE-1", name: "Vienna", createdAt: at), SiteRecord(id: id(2), code: "GRZ-1", name: "Graz", createdAt: at)]
        let admin = UserRecord(id: id(900), email: "ada@example.org", displayName: "Ada Admin", role: .admin, hasPassword: true, createdAt: at)
        let clinician = UserRecord(id: id(901), email: "clara@example.org", displayName: "Dr Clara Sample", role: .clinician, hasPassword: true, createdAt: at)
        let retired = UserRecord(id: id(902), email: "old@example.org", displayName: "Otto Old", role: .coordinator, hasPassword: true, disabled: true, createdAt: at)
        let users = [admin, clinician, retired]
        let tokens = [
            APITokenRecord(id: id(950), userID: clinician.id, name: "registry-export", createdBy: admin.id, createdAt: at, lastUsedAt: at.addingTimeInterval(3600)),
            APITokenRecord(id: id(951), userID: retired.id, name: "old-script", createdBy: admin.id, createdAt: at, revokedAt: at.addingTimeInterval(86_400)),
        ]
        let userView = ReadModels.AdminUser(viewer: viewer, user: clinician, siteIDs: [id(1)], sites: sites, tokens: [tokens[0]])
        let library = try! InstrumentLibrary.builtIn()
        let koos = library.instrument(id: "koos")!
        let wording = InstrumentWordingRecord(instrumentID: "koos", texts: ["P1": "Licensed wording of P1", "P2": "Licensed wording of P2"],
                                              uploadedBy: admin.id, uploadedAt: at)
        let bundled = try! Ruleset.bundledDefault()
        var clinicRuleset = bundled
        clinicRuleset.id = "vie-clinic"
        clinicRuleset.version = "2026-03"
        clinicRuleset.title = "Vienna clinic pathway"
        let rulesetRecord = RulesetRecord(id: id(960), rulesetID: "vie-clinic", version: "2026-03", title: "Vienna clinic pathway",
                                          uploadedBy: admin.id, uploadedAt: at, active: true)
        var refusedRuleset = FormErrors()
        refusedRuleset.add("json", AdminForms.rulesetProblem(field: "ruleset.rules[3].when.all[0].op", message: "unknown comparator \"≈\""))
        var rulesetValues = FormValues()
        rulesetValues.set("json", #"{"id": "vie-clinic", "version": "2026-04", "rules": [ … ]}"#)
        var wordingValues = FormValues()
        wordingValues.set("json", #"{"P1": "Licensed P1", "X9": "?", "P2": ""}"#)
        let wordingErrors = AdminForms.readWording(wordingValues, instrument: koos).1
        var refusedUser = FormErrors()
        refusedUser.add("email", "There is already a user with this e-mail address")
        refusedUser.add("password", "The password must be at least \(Accounts.minimumPasswordLength) characters")
        var userValues = FormValues()
        userValues.set("displayName", "Dr New")
        userValues.set("email", "clara@example.org")
        userValues.set("role", "clinician")
        userValues.set("sites", all: [id(1).lowercasedID])
        let entries = [
            AuditEntry(sequence: 12, atMicroseconds: 1_770_000_500_000_000, actorUserID: admin.id.lowercasedID, actorRole: "admin", action: "read",
                       outcome: "ok", recordType: "audit-log", recordID: nil, fromAddress: "198.51.100.1", previousHash: String(repeating: "b", count: 64),
                       hash: String(repeating: "c", count: 64)),
            AuditEntry(sequence: 11, atMicroseconds: 1_770_000_400_000_000, actorUserID: clinician.id.lowercasedID, actorRole: "clinician",
                       action: "list", outcome: "denied", recordType: "user", recordID: nil, fromAddress: "198.51.100.7",
                       previousHash: String(repeating: "a", count: 64), hash: String(repeating: "b", count: 64)),
        ]
        let auditView = ReadModels.AdminAuditLog(viewer: viewer, entries: StorePage(entries, total: 120, limit: 50, offset: 50),
                                                 actorNames: [admin.id.lowercasedID: admin.displayName, clinician.id.lowercasedID: clinician.displayName],
                                                 users: users)
        var auditValues = FormValues()
        auditValues.set("recordType", "user")
        auditValues.set("from", "2026-02-30")
        let (_, auditErrors) = AdminAuditPage.filter(auditValues)
        return [
            ("admin-home", AdminHomePage(user: user)),
            ("admin-users", AdminListPage.users(ReadModels.AdminUserList(viewer: viewer, users: StorePage(users, total: 3, limit: 50, offset: 0),
                                                                         grants: [clinician.id: [id(1)], retired.id: [id(1), id(2)]], sites: sites),
                                                user: user, query: nil)),
            ("admin-user", AdminUserPage(userView, user: user, viewerID: admin.id, now: at)),
            ("admin-user-new", AdminForms.newUser(user: user, sites: sites, values: FormValues(), errors: FormErrors())),
            ("admin-user-new-refused", AdminForms.newUser(user: user, sites: sites, values: userValues, errors: refusedUser)),
            ("admin-user-access", AdminForms.access(user: user, view: userView, values: AdminForms.accessValues(userView), errors: FormErrors())),
            ("admin-user-password", AdminForms.password(user: user, target: clinician, values: FormValues(), errors: FormErrors())),
            ("admin-sites", AdminListPage.sites(ReadModels.AdminSiteList(viewer: viewer, sites: StorePage(sites, total: 2, limit: 50, offset: 0)), user: user)),
            ("admin-site-new", AdminForms.newSite(user: user, values: FormValues(), errors: FormErrors())),
            ("admin-site-messaging", SiteMessagingForm.page(user: user, site: PageFixtures.site,
                                                            values: SiteMessagingForm.values(SiteMessagingSettings(timeZone: "Europe/Vienna", contactPhone: "+43 1 555 0100")),
                                                            errors: FormErrors())),
            ("admin-tokens", AdminListPage.tokens(ReadModels.AdminTokenList(viewer: viewer, tokens: StorePage(tokens, total: 2, limit: 50, offset: 0),
                                                                            users: Dictionary(uniqueKeysWithValues: users.map { ($0.id, $0) })),
                                                  user: user, now: at)),
            ("admin-token-new", AdminForms.newToken(user: user, users: [admin, clinician], values: FormValues(), errors: FormErrors())),
            ("admin-token-created", AdminTokenCreatedPage(token: "ossa_sample-token-shown-once", record: tokens[0],
                                                          owner: "Dr Clara Sample (clara@example.org)", user: user)),
            ("admin-rulesets", AdminListPage.rulesets(ReadModels.AdminRulesetList(viewer: viewer, rulesets: [rulesetRecord], userNames: [admin.id: admin.displayName]),
                                                      bundled: bundled, user: user)),
            ("admin-ruleset", AdminRulesetPage(ReadModels.AdminRuleset(viewer: viewer, record: rulesetRecord, ruleset: clinicRuleset,
                                                                       uploadedByName: admin.displayName), user: user)),
            ("admin-ruleset-new-refused", AdminForms.newRuleset(user: user, values: rulesetValues, errors: refusedRuleset)),
            ("admin-instruments", AdminListPage.instruments(ReadModels.AdminInstrumentList(viewer: viewer, wordings: ["koos": wording],
                                                                                           userNames: [admin.id: admin.displayName]),
                                                            library: library, user: user)),
            ("admin-instrument", AdminInstrumentPage(ReadModels.AdminInstrument(viewer: viewer, wording: wording, uploadedByName: admin.displayName),
                                                     instrument: koos, user: user)),
            ("admin-wording-refused", AdminForms.wording(user: user, instrument: koos, values: wordingValues, errors: wordingErrors)),
            ("admin-audit", AdminAuditPage(auditView, values: FormValues(), errors: FormErrors(), user: user)),
            ("admin-audit-refused", AdminAuditPage(auditView, values: auditValues, errors: auditErrors, user: user)),
            ("admin-audit-verify", AdminAuditVerifyPage(.intact(count: 12, lastHash: String(repeating: "c", count: 64)), user: user)),
            ("admin-audit-verify-broken", AdminAuditVerifyPage(.broken(sequence: 7, reason: .hashMismatch), user: user)),
        ]
    }
}

/// A site's messaging settings: time zone, quiet hours, the contact patients are given, and the clinic's own
/// wording of each message (subject, plain text and HTML with placeholders), prefilled with what is used today.
enum SiteMessagingForm {
    static let keys: [(MessageKind, InvitationChannel, String)] = [
        (.invitation, .email, "Invitation by e-mail"), (.reminder, .email, "Reminder by e-mail"),
        (.invitation, .sms, "Invitation by SMS"), (.reminder, .sms, "Reminder by SMS"),
    ]

    static func key(_ kind: MessageKind, _ channel: InvitationChannel) -> String { "\(kind.rawValue)-\(channel.rawValue)" }

    static func values(_ settings: SiteMessagingSettings) -> FormValues {
        var values = FormValues()
        values.set("timeZone", settings.timeZone)
        values.set("quietStart", settings.quietHours?.startText)
        values.set("quietEnd", settings.quietHours?.endText)
        values.set("contactPhone", settings.contactPhone)
        values.set("contactEmail", settings.contactEmail)
        let bundled = try? MessageTemplateSet.bundled()
        for (kind, channel, _) in keys {
            let key = key(kind, channel)
            let own = settings.templates.first { $0.kind == kind && $0.channel == channel }
            let template = own ?? bundled?.template(kind, channel)
            if own != nil { values.set("templates[\(key)][own]", "yes") }
            values.set("templates[\(key)][subject]", template?.subject)
            values.set("templates[\(key)][text]", template?.text)
            values.set("templates[\(key)][html]", template?.html)
        }
        return values
    }

    static func read(_ reader: inout FormReader) -> SiteMessagingSettings? {
        let zone = reader.text("timeZone", "Time zone", max: 64)
        let start = reader.text("quietStart", "Quiet hours from", max: 5), end = reader.text("quietEnd", "Quiet hours until", max: 5)
        var quiet: QuietHours?
        switch (start, end) {
        case (nil, nil): break
        case (let start?, let end?):
            do { quiet = try QuietHours(start: start, end: end) } catch { reader.errors.add("quietStart", "Quiet hours: \(error.message)") }
        default: reader.errors.add("quietStart", "Give both ends of the quiet hours, or neither (the rules' 20:00–09:00)")
        }
        let phone = reader.text("contactPhone", "Contact telephone", max: 40)
        let email = reader.text("contactEmail", "Contact e-mail", max: 254)
        var templates: [MessageTemplate] = []
        for (kind, channel, label) in keys {
            let key = key(kind, channel)
            guard reader.values["templates[\(key)][own]"] == "yes" else { continue }
            let subject = channel == .email ? reader.text("templates[\(key)][subject]", "\(label): subject", max: 200) : nil
            let text = reader.text("templates[\(key)][text]", "\(label): text", required: true, max: 5_000) ?? ""
            let html = channel == .email ? reader.text("templates[\(key)][html]", "\(label): HTML", max: 20_000) : nil
            let template = MessageTemplate(kind: kind, channel: channel, subject: subject, text: text, html: html)
            do { try template.validate() } catch { reader.errors.add("templates[\(key)][\(error.path)]", "\(label): \(error.message)") }
            templates.append(template)
        }
        guard reader.errors.isEmpty else { return nil }
        return SiteMessagingSettings(timeZone: zone, quietHours: quiet, contactPhone: phone, contactEmail: email, templates: templates)
    }

    static func page(user: UserBar, site: SiteRecord, values: FormValues, errors: FormErrors) -> FormPage {
        var sections = [
            FormSection("Time and contact", id: "site", fields: [
                FormField.input("timeZone", "Time zone", values, errors, hint: "Its IANA name, for example Europe/Vienna; empty means UTC. Windows open, and quiet hours apply, in this time zone.",
                                width: "20", autocomplete: "off"),
                FormField.input("quietStart", "Quiet hours from", values, errors, hint: "HH:MM; empty for the rules' 20:00–09:00", width: "5", autocomplete: "off"),
                FormField.input("quietEnd", "Quiet hours until", values, errors, hint: "HH:MM; the same as the start for no quiet hours", width: "5", autocomplete: "off"),
                FormField.input("contactPhone", "Contact telephone", values, errors, hint: "Given to patients on their pages and in messages", width: "20", autocomplete: "off"),
                FormField.input("contactEmail", "Contact e-mail", values, errors, width: "20", inputmode: "email", autocomplete: "off"),
            ]),
        ]
        let placeholders = MessageTemplate.placeholders.map { "{{\($0)}}" }.joined(separator: ", ")
        for (kind, channel, label) in keys {
            let key = key(kind, channel)
            var fields = [FormField.choices("templates[\(key)][own]", "Wording", values, errors,
                                            options: [("yes", "Use the clinic's own wording below (unticked: Ossa's, shown below)")], multiple: true)]
            if channel == .email { fields.append(FormField.input("templates[\(key)][subject]", "Subject", values, errors, autocomplete: "off")) }
            fields.append(FormField.textarea("templates[\(key)][text]", "Text", values, errors, hint: "Placeholders: \(placeholders). It must contain {{link}}."))
            if channel == .email { fields.append(FormField.textarea("templates[\(key)][html]", "HTML (optional)", values, errors)) }
            sections.append(FormSection(label, id: key, hint: "Never put the patient's name, birth date or diagnosis in a message: others may read it.", fields: fields))
        }
        return FormPage(title: "Messages from \(site.name)", user: user, action: Paths.Admin.siteMessaging.url(site.id), values: values, errors: errors,
                        sections: sections, buttons: [FormButton("Save")], cancelURL: Paths.Admin.sites.template)
    }
}
