import ArgumentParser
import Foundation
import Logging
import OssaCore
import OssaMessaging
import OssaStore
import OssaWeb
import Prometheus

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Ossa web server (pages and the /api/v1 JSON API).",
        discussion: """
            Settings come from flags, then the environment: --database / OSSA_DATABASE_URL, --host / OSSA_HOST, \
            --port / OSSA_PORT, --behind-tls / OSSA_BEHIND_TLS, --trust-forwarded-for / OSSA_TRUST_FORWARDED_FOR. \
            Migrations are applied at start. SIGTERM or SIGINT stops it gracefully: requests in flight finish, \
            then the database is closed.

            --demo uses ./ossa-data/demo.sqlite (unless a database is given), fills it with a 500-patient \
            synthetic registry on first start and prints the demo logins.
            """
    )

    @OptionGroup var databaseOptions: DatabaseOptions
    @Option(help: "Interface to listen on (default: $OSSA_HOST, else 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (default: $OSSA_PORT, else 8080).") var port: String?
    @Flag(name: .customLong("behind-tls"), help: "Clients reach Ossa over HTTPS (Secure cookies, HSTS).")
    var behindTLS = false
    @Flag(name: .customLong("trust-forwarded-for"), help: "Take the client address from X-Forwarded-For (only behind a proxy that sets it).")
    var trustForwardedFor = false
    @Flag(help: "Serve a synthetic demo registry (created on first start).") var demo = false
    @Option(name: .customLong("demo-patients"), help: "Patients in a new demo registry.") var demoPatients = 500

    func run() async throws {
        OssaServer.runConcurrencyOnEventLoops()
        let logger = try makeLogger()
        var database = databaseOptions
        if demo && database.database == nil && ProcessInfo.processInfo.environment["OSSA_DATABASE_URL"] == nil {
            database.database = DemoSetup.defaultPath
        }
        let settings = Settings(flags: [
            "ossa.host": host, "ossa.port": port,
            "ossa.behind.tls": behindTLS ? "true" : nil,
            "ossa.trust.forwarded.for": trustForwardedFor ? "true" : nil,
        ])
        var configuration = ServerConfiguration()
        configuration.host = settings.string("ossa.host") ?? configuration.host
        configuration.port = try settings.int("ossa.port", default: configuration.port, in: 0...65_535)
        configuration.behindTLS = try settings.bool("ossa.behind.tls", default: false)
        configuration.trustForwardedFor = try settings.bool("ossa.trust.forwarded.for", default: false)
        configuration.analyticsMinimumCellCount = try settings.int("ossa.analytics.min.cell", default: configuration.analyticsMinimumCellCount, in: 1...1000)
        configuration.analyticsMaxStaleness = TimeInterval(try settings.int("ossa.analytics.max.staleness", default: 300, in: 0...86_400))
        configuration.exportFileBytes = try settings.int("ossa.export.file.bytes", default: configuration.exportFileBytes, in: 4096...(1 << 32))
        configuration.exportDirectory = settings.string("ossa.export.dir")
        configuration.pageCacheEntries = try settings.int("ossa.page.cache.entries", default: configuration.pageCacheEntries, in: 0...100_000)
        configuration.literature = try settings.literatureFile()
        // Checked before anything is opened: a malformed delivery setting stops the server at start, naming it.
        let messaging: MessagingConfiguration
        do {
            messaging = try MessagingConfiguration.parse(smtpURL: settings.string("ossa.smtp.url"), mailFrom: settings.string("ossa.mail.from"),
                                                         smsWebhookURL: settings.string("ossa.sms.webhook.url"),
                                                         publicURL: settings.string("ossa.public.url"))
        } catch {
            throw CommandLineError(message: "\(error)")
        }
        configuration.publicURL = messaging.publicURL?.absoluteString
        // How long a claimed message stays with this server before another may send it (after a crash, say).
        let lease = try settings.int("ossa.delivery.lease.seconds", default: 300, in: 5...3600)
        let email = try messaging.smtp.map { try SMTPClient(server: $0, heloName: messaging.publicURL?.host) }

        let store = try await openStore(database, create: true, pageCacheEntries: configuration.pageCacheEntries, logger: logger)
        var logins: [DemoSetup.Login] = []
        do {
            if demo {
                let bar = ProgressBar(label: "demo patients", total: demoPatients)
                let result = try await DemoSetup.prepare(store: store, patients: demoPatients,
                                                         progress: { done, _ in bar.update(done) })
                if result.summary != nil { bar.finish() }
                logins = result.logins
            }
        } catch {
            await store.database.shutdown()
            throw error
        }

        // Demo without a mail server or SMS gateway: messages are printed instead (the registry is synthetic).
        let console = demo && email == nil && messaging.smsWebhookURL == nil ? ConsoleTransport() : nil
        configuration.deliveryConfigured = email != nil || messaging.smsWebhookURL != nil || console != nil
        let registry = PrometheusCollectorRegistry()
        OssaServer.bootstrapMetrics(registry)
        let environment = WebEnvironment(metrics: registry)
        let application = try await buildApplication(configuration: configuration, store: store, logger: logger,
                                                     environment: environment)
        let url = "http://\(configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host):\(configuration.port)/"
        print("Ossa is serving \(store.database.location) on \(url)")
        if demo {
            printDemoLogins(logins)
            if !["127.0.0.1", "localhost", "::1"].contains(configuration.host) {
                print("Warning: the demo accounts share a published password; do not expose this server.")
            }
        }
        if console != nil {
            print("Messages: no OSSA_SMTP_URL or OSSA_SMS_WEBHOOK_URL; demo messages are printed here instead of sent")
        } else {
            print("Messages: \(messaging)")
        }
        // Links are written into messages when they are queued: without the address patients use, none are planned
        // (a link to this server's own address would be queued and later sent as it is). The demo prints its own.
        let plans = messaging.publicURL != nil || console != nil
        if !plans {
            print("Invitations are not planned: set OSSA_PUBLIC_URL (where patients reach Ossa) to send questionnaire links")
        } else if messaging.publicURL == nil {
            print("Links in messages start with \(url) (set OSSA_PUBLIC_URL to the address patients use)")
        }
        fflush(nil)  // all streams: the URL and logins must show before the server blocks
        let composition = try MessageComposition(baseURL: configuration.linkBase)
        let planning = PlanningService(planner: try InvitationPlanner(database: store.database, rules: try ReminderRules.bundled()),
                                       composition: composition, logger: logger)
        // Made last: it owns an HTTP client that must be shut down, which nothing before `run` could do on an error.
        let sms = messaging.smsWebhookURL.map { SMSWebhookClient(url: $0) }
        let mailFrom = try messaging.mailFrom ?? console.map { _ in try EmailAddress(parsing: "Ossa demo <noreply@ossa.invalid>") }
        let delivery = DeliveryService(worker: DeliveryWorker(store: store, mailFrom: mailFrom, email: email ?? console, sms: sms ?? console,
                                                              messageDomain: messaging.publicURL?.host ?? "ossa.invalid", lease: TimeInterval(lease),
                                                              logger: logger))
        do {
            try await OssaServer.run(application, store: store, configuration: configuration, logger: logger, services: plans ? [planning, delivery] : [delivery])
        } catch {
            try? await sms?.shutdown()
            throw error
        }
        try? await sms?.shutdown()
    }
}
