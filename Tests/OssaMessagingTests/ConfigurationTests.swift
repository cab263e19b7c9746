import Foundation
import Testing
@testable import OssaMessaging

@Suite("Messaging configuration (OSSA_SMTP_URL, OSSA_MAIL_FROM, OSSA_SMS_WEBHOOK_URL, OSSA_PUBLIC_URL)")
struct ConfigurationTests {
    let publicURL = "https://ossa.example"
    let from = "noreply@clinic.example"

    func smtp(_ url: String) throws(MessagingConfigurationError) -> SMTPServerConfiguration? {
        try MessagingConfiguration.parse(smtpURL: url, mailFrom: from, smsWebhookURL: nil, publicURL: publicURL).smtp
    }

    func error(smtpURL: String? = nil, mailFrom: String? = nil, sms: String? = nil, publicURL: String? = nil) -> String {
        do {
            let parsed = try MessagingConfiguration.parse(smtpURL: smtpURL, mailFrom: mailFrom, smsWebhookURL: sms, publicURL: publicURL)
            return "no error: \(parsed)"
        } catch {
            return error.description
        }
    }

    @Test("nothing set: both channels off, nothing required")
    func nothingSet() throws {
        let configuration = try MessagingConfiguration.parse(smtpURL: nil, mailFrom: nil, smsWebhookURL: nil, publicURL: nil)
        #expect(!configuration.emailEnabled && !configuration.smsEnabled)
        #expect(configuration.publicURL == nil)
        // Exported but empty variables count as unset.
        let empty = try MessagingConfiguration.parse(smtpURL: "", mailFrom: " ", smsWebhookURL: "", publicURL: "")
        #expect(empty == configuration)
        #expect(configuration.description == "e-mail off; SMS off; links from ?")
    }

    @Test("smtp:// defaults to port 587 and STARTTLS when offered; smtps:// to 465 and implicit TLS")
    func defaults() throws {
        #expect(try smtp("smtp://mail.example.com") == SMTPServerConfiguration(host: "mail.example.com", port: 587, security: .startTLSWhenOffered))
        #expect(try smtp("smtps://mail.example.com") == SMTPServerConfiguration(host: "mail.example.com", port: 465, security: .implicitTLS))
        #expect(try smtp("SMTP://Mail.Example.com:2525/")?.port == 2525)
        #expect(try smtp("smtp://relay:25?starttls=required")?.security == .startTLSRequired)
        #expect(try smtp("smtp://127.0.0.1:1025")?.host == "127.0.0.1")
        #expect(try smtp("smtp://[::1]:1025")?.host == "::1")
    }

    @Test("user and password are percent-decoded")
    func credentials() throws {
        let parsed = try #require(try smtp("smtp://clinic%40example.org:p%3Ass%40w%C3%B6rd%2F1@mail.example.com:587"))
        #expect(parsed.credentials == SMTPCredentials(username: "clinic@example.org", password: "p:ss@wörd/1"))
    }

    @Test("the password never shows in descriptions")
    func masked() throws {
        let configuration = try MessagingConfiguration.parse(
            smtpURL: "smtp://ossa:s3cret-pass@mail.example.com?starttls=required", mailFrom: "Ossa <noreply@clinic.example>",
            smsWebhookURL: "https://bot:hook-secret@sms.example/send?key=api-secret", publicURL: "https://ossa.example/")
        let text = configuration.description
        for secret in ["s3cret-pass", "hook-secret", "api-secret"] { #expect(!text.contains(secret), "\(text)") }
        #expect(text.contains("smtp://ossa:***@mail.example.com:587?starttls=required"), "\(text)")
        // The webhook shows its scheme and host only: a gateway's secret can sit in the path as well.
        #expect(text.contains("SMS via https://sms.example/…"), "\(text)")
        #expect(!text.contains("/send"), "\(text)")
        #expect(configuration.smtp?.credentials?.description == "ossa:***")
        #expect(String(describing: configuration.smtp) .contains("***"))
    }

    @Test("bad OSSA_SMTP_URL values are refused with the setting named and the password kept out",
          arguments: [
              ("http://mail.example.com", #"OSSA_SMTP_URL: scheme must be smtp or smtps (got "http")"#),
              ("mail.example.com:587", "OSSA_SMTP_URL: "),
              ("smtp://", "OSSA_SMTP_URL: a host is required"),
              ("smtp://user:topsecret@:25", "OSSA_SMTP_URL: a host is required"),
              ("smtp://mail.example.com:0", "OSSA_SMTP_URL: port must be 1–65535 (got 0)"),
              ("smtp://mail.example.com:70000", "OSSA_SMTP_URL: "),
              ("smtp://mail.example.com?tls=yes", #"OSSA_SMTP_URL: unknown query parameter "tls""#),
              ("smtp://mail.example.com?starttls=optional", #"OSSA_SMTP_URL: starttls can only be "required""#),
              ("smtps://mail.example.com?starttls=required", "OSSA_SMTP_URL: starttls=required applies to smtp://"),
              ("smtp://mail.example.com/inbox", "OSSA_SMTP_URL: a path is not allowed"),
              ("smtp://mail.example.com#x", "OSSA_SMTP_URL: a #fragment is not allowed"),
              ("smtp://user@mail.example.com", "OSSA_SMTP_URL: a user name needs a password"),
              ("smtp://:topsecret@mail.example.com", "OSSA_SMTP_URL: a password needs a user name"),
              ("smtp://user:topsecret@mail.example.com?x=topsecret", #"OSSA_SMTP_URL: unknown query parameter "x""#),
              ("not a url at all topsecret", "OSSA_SMTP_URL: "),
          ])
    func badSMTPURL(_ value: String, _ expected: String) {
        let message = error(smtpURL: value, mailFrom: from, publicURL: publicURL)
        #expect(message.hasPrefix(expected), "\(message)")
        #expect(!message.contains("no error"), "\(message)")
        #expect(!message.contains("topsecret"), "\(message)")
    }

    @Test("OSSA_MAIL_FROM is required with SMTP and must be an address; Name <a@b.c> is accepted")
    func mailFrom() throws {
        #expect(error(smtpURL: "smtp://mail.example.com", publicURL: publicURL).hasPrefix("OSSA_MAIL_FROM: required when OSSA_SMTP_URL is set"))
        #expect(error(smtpURL: "smtp://mail.example.com", mailFrom: "clinic", publicURL: publicURL).hasPrefix("OSSA_MAIL_FROM: not an e-mail address"))
        #expect(error(smtpURL: "smtp://mail.example.com", mailFrom: "a@b..c", publicURL: publicURL).hasPrefix("OSSA_MAIL_FROM: the domain"))
        let named = try MessagingConfiguration.parse(smtpURL: "smtp://mail.example.com", mailFrom: "Ossa Clinic <noreply@clinic.example>",
                                                     smsWebhookURL: nil, publicURL: publicURL)
        #expect(named.mailFrom == (try EmailAddress(address: "noreply@clinic.example", displayName: "Ossa Clinic")))
        let quoted = try MessagingConfiguration.parse(smtpURL: nil, mailFrom: #""Knee Clinic, Site A" <a@b.c>"#, smsWebhookURL: nil, publicURL: nil)
        #expect(quoted.mailFrom?.displayName == "Knee Clinic, Site A")
    }

    @Test("OSSA_SMS_WEBHOOK_URL: https, or http to a loopback host only")
    func webhook() throws {
        func parse(_ url: String) throws -> URL? {
            try MessagingConfiguration.parse(smtpURL: nil, mailFrom: nil, smsWebhookURL: url, publicURL: publicURL).smsWebhookURL
        }
        #expect(try parse("https://sms.example/v1/send")?.absoluteString == "https://sms.example/v1/send")
        for local in ["http://127.0.0.1:8080/sms", "http://localhost/sms", "http://[::1]:9000/sms", "http://127.1.2.3/x"] {
            #expect(try parse(local) != nil, "\(local)")
        }
        #expect(error(sms: "http://sms.example/send", publicURL: publicURL).hasPrefix("OSSA_SMS_WEBHOOK_URL: http:// is allowed only for localhost"))
        #expect(error(sms: "ftp://sms.example/send", publicURL: publicURL) == #"OSSA_SMS_WEBHOOK_URL: scheme must be https (got "ftp")"#)
        #expect(error(sms: "https:///send", publicURL: publicURL).hasPrefix("OSSA_SMS_WEBHOOK_URL: "))
        #expect(error(sms: "https://sms.example/send#x", publicURL: publicURL).hasPrefix("OSSA_SMS_WEBHOOK_URL: a #fragment"))
        #expect(error(sms: "https://sms.example/send").hasPrefix("OSSA_PUBLIC_URL: required when"))
    }

    @Test("OSSA_PUBLIC_URL: absolute http(s) without query or fragment, required when a channel is configured")
    func publicURLRules() throws {
        func parse(_ url: String) throws -> URL? {
            try MessagingConfiguration.parse(smtpURL: nil, mailFrom: nil, smsWebhookURL: nil, publicURL: url).publicURL
        }
        #expect(try parse("https://ossa.example/")?.absoluteString == "https://ossa.example")
        #expect(try parse("http://127.0.0.1:8080/clinic/")?.absoluteString == "http://127.0.0.1:8080/clinic")
        #expect(error(smtpURL: "smtp://mail.example.com", mailFrom: from) ==
            "OSSA_PUBLIC_URL: required when OSSA_SMTP_URL or OSSA_SMS_WEBHOOK_URL is set (the links in messages start with it)")
        for (bad, expected) in [
            ("ossa.example", "OSSA_PUBLIC_URL: "), ("/q/", "OSSA_PUBLIC_URL: "),
            ("ftp://ossa.example", #"OSSA_PUBLIC_URL: scheme must be http or https (got "ftp")"#),
            ("https://ossa.example/?a=1", "OSSA_PUBLIC_URL: a ?query is not allowed"),
            ("https://ossa.example/#top", "OSSA_PUBLIC_URL: a #fragment is not allowed"),
            ("https://me:pw@ossa.example", "OSSA_PUBLIC_URL: a user or password is not allowed"),
        ] {
            let message = error(publicURL: bad)
            #expect(message.hasPrefix(expected) && !message.contains("no error"), "\(bad): \(message)")
        }
    }

    @Test("loopback hosts", arguments: [
        ("localhost", true), ("LOCALHOST", true), ("127.0.0.1", true), ("127.9.8.7", true), ("::1", true), ("[::1]", true),
        ("0:0:0:0:0:0:0:1", true), ("0000::0001", true), ("mail.example.com", false), ("128.0.0.1", false), ("::2", false),
        ("10.0.0.1", false), ("localhost.example.com", false), ("1::1", false), ("", false),
    ])
    func loopback(_ host: String, _ expected: Bool) {
        #expect(isLoopbackHost(host) == expected)
    }
}
