import NIOSSL

/// A test CA and two server certificates it signed (EC P-256, valid until 2126), generated once with openssl:
/// `localhost` (SAN localhost, 127.0.0.1, ::1) and `other` (SAN other.example only, for the host-name mismatch).
/// Test material only; nothing trusts this CA outside these tests.
enum TestCertificates {
    static let caPEM = """
    -----BEGIN CERTIFICATE-----
    MIIBljCCATugAwIBAgIUIePA9gpwUGIL96Uuew55dIBAudMwCgYIKoZIzj0EAwIw
    FzEVMBMGA1UEAwwMT3NzYSBUZXN0IENBMCAXDTI2MTIwMTE5MTYwNloYDzIxMjYx
    MTA3MTkxNjA2WjAXMRUwEwYDVQQDDAxPc3NhIFRlc3QgQ0EwWTATBgcqhkjOPQIB
    BggqhkjOPQMBBwNCAATGm23U1JQ4WjEIaP0RgOLikNxuri3ifwtY8/v9/CmCiEph
    L+N+JvDQ+uw8gDDm3Uj6Vk/pIAficYuqrMx4cwCxo2MwYTAdBgNVHQ4EFgQUThPq
    5R2v9TPZPh2t1agb+PuuUHkwHwYDVR0jBBgwFoAUThPq5R2v9TPZPh2t1agb+Puu
    UHkwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwID
    SQAwRgIhAOwI7rk8XHzLniqiMDTo/xzgUyviOwxY4d6THnT3aivUAiEAhNjRcqdP
    OKj7bQKbemXJjzszsYNoIgb0yLXwoRcFqFk=
    -----END CERTIFICATE-----
    """

    static let localhostPEM = """
    -----BEGIN CERTIFICATE-----
    MIIBzzCCAXSgAwIBAgIUJtkpkofenkZdbGZPh8XQ+U4YFuwwCgYIKoZIzj0EAwIw
    FzEVMBMGA1UEAwwMT3NzYSBUZXN0IENBMCAXDTI2MTIwMTE5MTYwNloYDzIxMjYx
    MTA3MTkxNjA2WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggq
    hkjOPQMBBwNCAASU70Wf3o4iQz0TDfAMJr4x8GNgn6BwtHo0EIzaV11dMYJzOE1v
    uCMhPC/SJJQ/yWsRf08UBvSLBcq0eUBjCv5Ho4GeMIGbMCwGA1UdEQQlMCOCCWxv
    Y2FsaG9zdIcEfwAAAYcQAAAAAAAAAAAAAAAAAAAAATAJBgNVHRMEAjAAMAsGA1Ud
    DwQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUKv0+NTlv7FEM
    eUnlsyYIG0ANyOEwHwYDVR0jBBgwFoAUThPq5R2v9TPZPh2t1agb+PuuUHkwCgYI
    KoZIzj0EAwIDSQAwRgIhAOsyB4kNI477SffhZ4tqDlWC57NCNq8rWGXUZDPEnzcZ
    AiEA2p93Fm9BX6iLbBHvJkaGAUJf3skuHh1qkfZyc2XmgSk=
    -----END CERTIFICATE-----
    """

    static let otherPEM = """
    -----BEGIN CERTIFICATE-----
    MIIBtjCCAVygAwIBAgIUJtkpkofenkZdbGZPh8XQ+U4YFu0wCgYIKoZIzj0EAwIw
    FzEVMBMGA1UEAwwMT3NzYSBUZXN0IENBMCAXDTI2MTIwMTE5MTYwNloYDzIxMjYx
    MTA3MTkxNjA2WjAQMQ4wDAYDVQQDDAVvdGhlcjBZMBMGByqGSM49AgEGCCqGSM49
    AwEHA0IABPBybsz4QqN7WIs6z5WS7lsaXCw2Zh1ym2SMf9DgcRkJPHMOlTze8YXq
    JXQFsUKY6gUkUGnUJ7LPDv4MVGGF6d+jgYowgYcwGAYDVR0RBBEwD4INb3RoZXIu
    ZXhhbXBsZTAJBgNVHRMEAjAAMAsGA1UdDwQEAwIHgDATBgNVHSUEDDAKBggrBgEF
    BQcDATAdBgNVHQ4EFgQUq0uG6fpBlCGnxl5qYPyrd2Wmy+cwHwYDVR0jBBgwFoAU
    ThPq5R2v9TPZPh2t1agb+PuuUHkwCgYIKoZIzj0EAwIDSAAwRQIhAJL9bfVERglQ
    n4Mdt4F51LRvqcni+pWJcLn8IiE3CjZzAiAmvDm3n5p9ul98ye3dufN6GQQvUtAO
    e/Swd3LHiftGCA==
    -----END CERTIFICATE-----
    """

    static let localhostKeyPEM = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmVKlVjJLbS3uV6sb
    CNpOo0nBgNN8N8rIkVHdMRXSKwChRANCAASU70Wf3o4iQz0TDfAMJr4x8GNgn6Bw
    tHo0EIzaV11dMYJzOE1vuCMhPC/SJJQ/yWsRf08UBvSLBcq0eUBjCv5H
    -----END PRIVATE KEY-----
    """

    static let otherKeyPEM = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJ0/OpLjtlEBlWMgz
    t9R8Bm85SJ5gov/93gWTmHNQT0WhRANCAATwcm7M+EKje1iLOs+Vku5bGlwsNmYd
    cptkjH/Q4HEZCTxzDpU83vGF6iV0BbFCmOoFJFBp1Ceyzw7+DFRhhenf
    -----END PRIVATE KEY-----
    """

    static var ca: NIOSSLCertificate { get throws { try NIOSSLCertificate(bytes: Array(caPEM.utf8), format: .pem) } }

    /// A server TLS context presenting `localhost` (or `other`).
    static func serverContext(other: Bool = false) throws -> NIOSSLContext {
        let certificate = try NIOSSLCertificate(bytes: Array((other ? otherPEM : localhostPEM).utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array((other ? otherKeyPEM : localhostKeyPEM).utf8), format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)],
                                                                         privateKey: .privateKey(key)))
    }
}
