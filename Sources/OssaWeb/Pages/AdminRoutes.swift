import Foundation
import Hummingbird
import NIOPosix
import OssaCore
import OssaStore

/// The administration pages: users, sites, API tokens, screening rulesets, instrument wording and the audit log.
/// Each GET is one read model (`ReadModels.admin…`, which refuses every role but admin); each POST decodes its form,
/// collects every problem at once and either writes (one store call) and redirects, or renders the form again with
/// the user's values and the errors (422), through `PageHandling`. Routes never check roles: the store does.
struct AdminRoutes: Sendable {
    let store: OssaStore
    let pages: PageRenderer
    let handling: PageHandling
    let configuration: ServerConfiguration
    let environment: WebEnvironment
    let library: InstrumentLibrary
    let bundled: Ruleset

    init(store: OssaStore, pages: PageRenderer, configuration: ServerConfiguration, environment: WebEnvironment) throws {
        self.store = store
        self.pages = pages
        handling = PageHandling(store: store, pages: pages)
        self.configuration = configuration
        self.environment = environment
        library = try InstrumentLibrary.builtIn()
        bundled = try Ruleset.bundledDefault()
    }

    func register(on group: RouterGroup<OssaRequestContext>) {
        group.on(.get, Paths.Admin.home, use: home)
        group.on(.get, Paths.Admin.users, use: users)
        group.on(.get, Paths.Admin.userNew, use: newUser)
        group.on(.post, Paths.Admin.userNew, use: createUser)
        group.on(.get, Paths.Admin.user, use: user)
        group.on(.get, Paths.Admin.userAccess, use: editAccess)
        group.on(.post, Paths.Admin.userAccess, use: updateAccess)
        group.on(.get, Paths.Admin.userPassword, use: newPassword)
        group.on(.post, Paths.Admin.userPassword, use: setPassword)
        group.on(.post, Paths.Admin.userDisable, use: disableUser)
        group.on(.get, Paths.Admin.sites, use: sites)
        group.on(.get, Paths.Admin.siteNew, use: newSite)
        group.on(.post, Paths.Admin.siteNew, use: createSite)
        group.on(.get, Paths.Admin.siteMessaging, use: siteMessaging)
        group.on(.post, Paths.Admin.siteMessaging, use: saveSiteMessaging)
        group.on(.get, Paths.Admin.tokens, use: tokens)
        group.on(.get, Paths.Admin.tokenNew, use: newToken)
        group.on(.post, Paths.Admin.tokenNew, use: createToken)
        group.on(.post, Paths.Admin.tokenRevoke, use: revokeToken)
        group.on(.get, Paths.Admin.rulesets, use: rulesets)
        group.on(.get, Paths.Admin.rulesetNew, use: newRuleset)
        group.on(.post, Paths.Admin.rulesetNew, use: uploadRuleset)
        group.on(.get, Paths.Admin.ruleset, use: ruleset)
        group.on(.post, Paths.Admin.rulesetActivate, use: activateRuleset)
        group.on(.get, Paths.Admin.instruments, use: instruments)
        group.on(.get, Paths.Admin.instrument, use: instrument)
        group.on(.get, Paths.Admin.instrumentWording, use: newWording)
        group.on(.post, Paths.Admin.instrumentWording, use: uploadWording)
        group.on(.post, Paths.Admin.instrumentWordingRemove, use: removeWording)
        group.on(.get, Paths.Admin.audit, use: audit)
        group.on(.get, Paths.Admin.auditVerify, use: verifyAudit)
    }

    func bar(_ viewer: ReadModels.Viewer, _ context: OssaRequestContext) -> UserBar { handling.bar(viewer, context) }

    func offset(_ request: Request) throws -> Int {
        try QueryParameters(request: request, emptyIsAbsent: true).int("offset", default: 0, range: 0...1_000_000)
    }

    // MARK: Start page

    @Sendable func home(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let viewer = try await store.readModels.adminViewer(actor, .create, .user)
            return try pages.html(AdminHomePage(user: bar(viewer, context)))
        }
    }

    // MARK: Users

    @Sendable func users(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let search = QueryParameters(request: request, emptyIsAbsent: true).string("q").map { String($0.prefix(200)) }
            let view = try await store.readModels.adminUsers(actor, PageRequest(limit: AdminListPage.pageSize, offset: try offset(request),
                                                                                search: search))
            return try pages.html(AdminListPage.users(view, user: bar(view.viewer, context), query: search))
        }
    }

    @Sendable func newUser(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let form = try await store.readModels.adminUserForm(actor)
            var values = FormValues()
            values.set("role", Role.clinician.rawValue)
            if form.sites.count == 1 { values.set("sites", all: [form.sites[0].id.lowercasedID]) }
            return try pages.html(AdminForms.newUser(user: bar(form.viewer, context), sites: form.sites, values: values, errors: FormErrors()))
        }
    }

    @Sendable func createUser(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.form(request, context) { actor, values in
            var reader = FormReader(values)
            let name = reader.text("displayName", "Name", required: true, max: 200)
            let email = reader.text("email", "E-mail address", required: true, max: 254)
            if let email, !Self.looksLikeEmail(email) { reader.errors.add("email", "Enter an e-mail address like name@example.org") }
            let role = reader.choice(Role.self, "role", "Role", required: true)
            if role == .patient { reader.errors.add("role", "Patient logins are made for a patient record; choose a staff role") }
            let sites = Self.sites(&reader)
            let password = Self.password(&reader)
            guard reader.errors.isEmpty, let name, let email, let role, let password else { return .refused(reader.errors) }
            let hash = try await hashPassword(password)
            do {
                let created = try await store.users.create(actor, NewUser(email: email, displayName: name, role: role, passwordHash: hash),
                                                           sites: sites)
                return .done(Paths.Admin.user.url(created.id))
            } catch StoreError.conflict {
                reader.errors.add("email", "There is already a user with this e-mail address")
            } catch StoreError.notFound(let type, _) where type == "site" {
                reader.errors.add("sites", "A selected site no longer exists; select the sites again")
            } catch let error as StoreError where PageHandling.isFieldError(error) {
                return .refused(Self.errors(error))
            }
            return .refused(reader.errors)
        } render: { actor, values, errors in
            let form = try await store.readModels.adminUserForm(actor)
            return AdminForms.newUser(user: bar(form.viewer, context), sites: form.sites, values: values, errors: errors)
        }
    }

    @Sendable func user(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminUser(actor, userID: try context.uuidParameter("userID"))
            return try pages.html(AdminUserPage(view, user: bar(view.viewer, context), viewerID: actor.userID, now: environment.now()))
        }
    }

    @Sendable func editAccess(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminUser(actor, userID: try context.uuidParameter("userID"))
            return try pages.html(AdminForms.access(user: bar(view.viewer, context), view: view, values: AdminForms.accessValues(view),
                                                    errors: FormErrors()))
        }
    }

    @Sendable func updateAccess(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("userID")
        return try await handling.form(request, context) { actor, values in
            var reader = FormReader(values)
            let role = reader.choice(Role.self, "role", "Role", required: true)
            let sites = Self.sites(&reader)
            guard reader.errors.isEmpty, let role else { return .refused(reader.errors) }
            do {
                _ = try await store.users.setRoleAndSites(actor, id, role: role, sites: Set(sites))
                return .done(Paths.Admin.user.url(id))
            } catch StoreError.notFound(let type, _) where type == "site" {
                reader.errors.add("sites", "A selected site no longer exists; select the sites again")
                return .refused(reader.errors)
            } catch let error as StoreError where PageHandling.isFieldError(error) {
                return .refused(Self.errors(error))
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.adminUser(actor, userID: id)
            return AdminForms.access(user: bar(view.viewer, context), view: view, values: values, errors: errors)
        }
    }

    @Sendable func newPassword(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminUser(actor, userID: try context.uuidParameter("userID"))
            return try pages.html(AdminForms.password(user: bar(view.viewer, context), target: view.user, values: FormValues(), errors: FormErrors()))
        }
    }

    @Sendable func setPassword(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("userID")
        return try await handling.form(request, context) { actor, values in
            var reader = FormReader(values)
            guard let password = Self.password(&reader), reader.errors.isEmpty else { return .refused(reader.errors) }
            try await store.users.setPassword(actor, id, passwordHash: try await hashPassword(password))
            return .done(Paths.Admin.user.url(id))
        } render: { actor, values, errors in
            let view = try await store.readModels.adminUser(actor, userID: id)
            return AdminForms.password(user: bar(view.viewer, context), target: view.user, values: values, errors: errors)
        }
    }

    @Sendable func disableUser(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("userID")
        return try await handling.post(request, context) { actor, _ in
            // Not a role check: no account may lock itself out (the store lets an admin disable any account).
            guard id != actor.userID else {
                throw Problem(.conflict, detail: "you cannot disable your own account; another administrator can")
            }
            try await store.users.disable(actor, id, now: environment.now())
            return Paths.Admin.user.url(id)
        }
    }

    // MARK: Sites

    @Sendable func sites(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminSites(actor, PageRequest(limit: AdminListPage.pageSize, offset: try offset(request)))
            return try pages.html(AdminListPage.sites(view, user: bar(view.viewer, context)))
        }
    }

    @Sendable func newSite(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let viewer = try await store.readModels.adminViewer(actor, .create, .site)
            return try pages.html(AdminForms.newSite(user: bar(viewer, context), values: FormValues(), errors: FormErrors()))
        }
    }

    @Sendable func createSite(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.form(request, context) { actor, values in
            var reader = FormReader(values)
            let code = reader.text("code", "Code", required: true, max: 32)
            let name = reader.text("name", "Name", required: true, max: 200)
            guard reader.errors.isEmpty, let code, let name else { return .refused(reader.errors) }
            do {
                _ = try await store.sites.create(actor, code: code, name: name)
                return .done(Paths.Admin.sites.template)
            } catch StoreError.conflict {
                reader.errors.add("code", "There is already a site with the code \(code)")
                return .refused(reader.errors)
            } catch let error as StoreError where PageHandling.isFieldError(error) {
                return .refused(Self.errors(error))
            }
        } render: { actor, values, errors in
            let viewer = try await store.readModels.adminViewer(actor, .create, .site)
            return AdminForms.newSite(user: bar(viewer, context), values: values, errors: errors)
        }
    }

    @Sendable func siteMessaging(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let id = try context.uuidParameter("siteID")
            let viewer = try await store.readModels.adminViewer(actor, .update, .site)
            let site = try await store.sites.get(actor, id)
            let settings = try await store.sites.messaging(actor, id)
            return try pages.html(SiteMessagingForm.page(user: bar(viewer, context), site: site, values: SiteMessagingForm.values(settings),
                                                         errors: FormErrors()))
        }
    }

    @Sendable func saveSiteMessaging(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("siteID")
        return try await handling.form(request, context) { actor, values in
            var reader = FormReader(values)
            let settings = SiteMessagingForm.read(&reader)
            guard reader.errors.isEmpty, let settings else { return .refused(reader.errors) }
            do {
                try await store.sites.updateMessaging(actor, id, settings)
                return .done(Paths.Admin.sites.template)
            } catch let error as StoreError where PageHandling.isFieldError(error) {
                return .refused(Self.errors(error))
            }
        } render: { actor, values, errors in
            let viewer = try await store.readModels.adminViewer(actor, .update, .site)
            return SiteMessagingForm.page(user: bar(viewer, context), site: try await store.sites.get(actor, id), values: values, errors: errors)
        }
    }

    // MARK: API tokens

    @Sendable func tokens(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminTokens(actor, PageRequest(limit: AdminListPage.pageSize, offset: try offset(request)))
            return try pages.html(AdminListPage.tokens(view, user: bar(view.viewer, context), now: environment.now()))
        }
    }

    @Sendable func newToken(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let owner = try QueryParameters(request: request, emptyIsAbsent: true).uuid("user")
        return try await handling.page(context) { actor in
            let form = try await store.readModels.adminTokenForm(actor)
            var values = FormValues()
            values.set("user", owner?.lowercasedID)
            return try pages.html(AdminForms.newToken(user: bar(form.viewer, context), users: form.users, values: values, errors: FormErrors()))
        }
    }

    @Sendable func createToken(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.form(request, context) { actor, values in
            var reader = FormReader(values)
            var owner: UUID?
            if values["user"].isEmpty {
                reader.errors.add("user", "Select the user the token acts as")
            } else if let id = UUID(uuidString: values["user"]) {
                owner = id
            } else {
                reader.errors.add("user", "Select the user from the list")
            }
            let name = reader.text("name", "Name", required: true, max: 100)
            let days = reader.int("days", "Days until it expires", 1...3650)
            guard reader.errors.isEmpty, let owner, let name else { return .refused(reader.errors) }
            let token = "ossa_" + environment.makeToken()
            let now = environment.now()
            do {
                let record = try await store.apiTokens.createAsAdministrator(actor, user: owner, name: name, token: token, now: now,
                                                                            expiresAt: days.map { now.addingTimeInterval(Double($0) * 86_400) })
                let view = try await store.readModels.adminUser(actor, userID: owner)
                return .shown(AdminTokenCreatedPage(token: token, record: record, owner: "\(view.user.displayName) (\(view.user.email))",
                                                    user: bar(view.viewer, context)),
                              resultURL: Paths.Admin.tokens.template)
            } catch StoreError.notFound {
                reader.errors.add("user", "Select the user from the list")
            } catch StoreError.invalid(let field, let message) where field == "user" {
                reader.errors.add("user", message.capitalizedFirst)
            } catch let error as StoreError where PageHandling.isFieldError(error) {
                return .refused(Self.errors(error))
            }
            return .refused(reader.errors)
        } render: { actor, values, errors in
            let form = try await store.readModels.adminTokenForm(actor)
            return AdminForms.newToken(user: bar(form.viewer, context), users: form.users, values: values, errors: errors)
        }
    }

    @Sendable func revokeToken(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let id = try context.uuidParameter("tokenID")
        return try await handling.post(request, context) { actor, values in
            let record = try await store.apiTokens.revokeAsAdministrator(actor, id, now: environment.now())
            return values["from"] == "user" ? Paths.Admin.user.url(record.userID) : Paths.Admin.tokens.template
        }
    }

    // MARK: Rulesets

    @Sendable func rulesets(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminRulesets(actor)
            return try pages.html(AdminListPage.rulesets(view, bundled: bundled, user: bar(view.viewer, context)))
        }
    }

    @Sendable func ruleset(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminRuleset(actor, rulesetID: try context.uuidParameter("rulesetID"))
            return try pages.html(AdminRulesetPage(view, user: bar(view.viewer, context)))
        }
    }

    @Sendable func newRuleset(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let viewer = try await store.readModels.adminViewer(actor, .create, .ruleset)
            return try pages.html(AdminForms.newRuleset(user: bar(viewer, context), values: FormValues(), errors: FormErrors()))
        }
    }

    @Sendable func uploadRuleset(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.form(request, context) { actor, values in
            var errors = FormErrors()
            let json = values["json"]
            guard !json.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                errors.add("json", "Paste the ruleset's JSON")
                return .refused(errors)
            }
            do {
                _ = try await store.rulesets.upload(actor, json: json, now: environment.now(), activate: values.all("activate").contains("yes"))
                return .done(Paths.Admin.rulesets.template)
            } catch StoreError.invalid(let field, let message), StoreError.conflictingField(let field, let message) {
                errors.add("json", AdminForms.rulesetProblem(field: field, message: message))
            } catch StoreError.conflict(let message) {
                errors.add("json", message.capitalizedFirst)
            }
            return .refused(errors)
        } render: { actor, values, errors in
            let viewer = try await store.readModels.adminViewer(actor, .create, .ruleset)
            return AdminForms.newRuleset(user: bar(viewer, context), values: values, errors: errors)
        }
    }

    @Sendable func activateRuleset(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.post(request, context) { actor, values in
            let choice = values["ruleset"]
            if choice == "bundled" {
                try await store.rulesets.activate(actor, nil)
            } else if let id = UUID(uuidString: choice) {
                try await store.rulesets.activate(actor, id)
            } else {
                throw Problem.badParameter("ruleset", "\"\(choice)\" is neither a ruleset version's id nor \"bundled\"")
            }
            return Paths.Admin.rulesets.template
        }
    }

    // MARK: Instruments

    func definition(_ context: OssaRequestContext) throws -> InstrumentDefinition {
        let id = context.parameters.get("instrumentID") ?? ""
        guard let instrument = library.instrument(id: id) else { throw Problem(.notFound, detail: "no instrument \(id)") }
        return instrument
    }

    @Sendable func instruments(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminInstruments(actor)
            return try pages.html(AdminListPage.instruments(view, library: library, user: bar(view.viewer, context)))
        }
    }

    @Sendable func instrument(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let instrument = try definition(context)
            let view = try await store.readModels.adminInstrument(actor, instrumentID: instrument.id)
            return try pages.html(AdminInstrumentPage(view, instrument: instrument, user: bar(view.viewer, context)))
        }
    }

    @Sendable func newWording(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let instrument = try definition(context)
            let view = try await store.readModels.adminInstrument(actor, instrumentID: instrument.id)
            var values = FormValues()
            values.set("json", view.wording.map { AdminForms.wordingJSON($0.texts, instrument: instrument) })
            return try pages.html(AdminForms.wording(user: bar(view.viewer, context), instrument: instrument, values: values, errors: FormErrors()))
        }
    }

    @Sendable func uploadWording(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let instrument = try definition(context)
        return try await handling.form(request, context) { actor, values in
            let (texts, errors) = AdminForms.readWording(values, instrument: instrument)
            guard let texts, errors.isEmpty else { return .refused(errors) }
            do {
                _ = try await store.instrumentWordings.upload(actor, instrumentID: instrument.id, texts: texts, now: environment.now())
                return .done(Paths.Admin.instrument.url(instrument.id))
            } catch StoreError.invalid(let field, let message) {
                var errors = FormErrors()
                errors.add("json", field.hasPrefix("texts.") ? "\(field.dropFirst("texts.".count)): \(message)" : message.capitalizedFirst)
                return .refused(errors)
            }
        } render: { actor, values, errors in
            let view = try await store.readModels.adminInstrument(actor, instrumentID: instrument.id)
            return AdminForms.wording(user: bar(view.viewer, context), instrument: instrument, values: values, errors: errors)
        }
    }

    @Sendable func removeWording(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let instrument = try definition(context)
        return try await handling.post(request, context) { actor, _ in
            try await store.instrumentWordings.remove(actor, instrumentID: instrument.id)
            return Paths.Admin.instrument.url(instrument.id)
        }
    }

    // MARK: Audit log

    @Sendable func audit(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let values = FormValues(Forms.pairs(request.uri.query ?? ""))
            let (filter, errors) = AdminAuditPage.filter(values)
            let offset = try offset(request)
            let view = try await store.readModels.adminAuditLog(actor, filter, limit: AdminAuditPage.pageSize, offset: offset)
            return try pages.html(AdminAuditPage(view, values: values, errors: errors, user: bar(view.viewer, context)),
                                  status: errors.isEmpty ? .ok : .unprocessableContent)
        }
    }

    @Sendable func verifyAudit(_ request: Request, context: OssaRequestContext) async throws -> Response {
        try await handling.page(context) { actor in
            let view = try await store.readModels.adminAuditVerification(actor)
            return try pages.html(AdminAuditVerifyPage(view.result, user: bar(view.viewer, context)))
        }
    }

    // MARK: Reading the forms

    static func looksLikeEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !text.contains(where: \.isWhitespace)
    }

    /// The checked sites (`sites`), each a site's id.
    static func sites(_ reader: inout FormReader) -> [UUID] {
        var ids: [UUID] = []
        for text in reader.values.all("sites") where !text.isEmpty {
            guard let id = UUID(uuidString: text) else {
                reader.errors.add("sites", "Select sites from the list")
                return []
            }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// The password as typed (never trimmed), checked against `Accounts`' rules.
    static func password(_ reader: inout FormReader) -> String? {
        let password = reader.values["password"]
        if password.isEmpty {
            reader.errors.add("password", "Enter a password")
        } else if password.count < Accounts.minimumPasswordLength {
            reader.errors.add("password", "The password must be at least \(Accounts.minimumPasswordLength) characters")
        } else if password.utf8.count > Accounts.maximumPasswordBytes {
            reader.errors.add("password", "The password must be at most \(Accounts.maximumPasswordBytes) bytes (bcrypt ignores the rest)")
        } else {
            return password
        }
        return nil
    }

    /// bcrypt at the configured cost, off the event loops (as sign-in verifies).
    func hashPassword(_ password: String) async throws -> String {
        let cost = configuration.bcryptCost
        return try await NIOThreadPool.singleton.runIfActive { try Accounts.hashPassword(password, cost: cost) }
    }

    /// A store refusal naming a field, under the form's field of that name.
    static func errors(_ error: StoreError) -> FormErrors {
        var errors = FormErrors()
        switch error {
        case .invalid(let field, let message), .conflictingField(let field, let message):
            errors.add(FieldName.name(fromPath: field), message.capitalizedFirst)
        default:
            errors.add("", "\(error)")
        }
        return errors
    }
}
