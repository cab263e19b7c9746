// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Ossa",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ossa", targets: ["ossa"]),
        .library(name: "OssaCore", targets: ["OssaCore"]),
        .library(name: "OssaStats", targets: ["OssaStats"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/fluent-kit.git", from: "1.57.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/pointfreeco/swift-snapshot-testing.git", from: "1.19.7"),
    ],
    targets: [
        // Ordered JSON writer for the output formats scripts rely on (no dependencies).
        .target(name: "OssaJSON"),
        // Domain: no framework imports (Foundation only).
        .target(name: "OssaCore", dependencies: ["OssaJSON"], resources: [.copy("Resources")]),
        // Statistics: pure Swift, no I/O.
        .target(name: "OssaStats", dependencies: ["OssaJSON"]),
        // The deterministic synthetic registry (demo data calibrated to the published outcomes); Foundation only.
        .target(name: "OssaDemo", dependencies: ["OssaCore"], resources: [.copy("Resources")]),
        // The JSON writer's buffer is a class property, so every append paid a run-time exclusivity check (about 12 %
        // of `$export` in perf); in release builds the checks are compiled out for this module only. Debug builds,
        // and so the tests, keep them.
        .target(name: "OssaFHIR", dependencies: ["OssaCore"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // Registry analytics over an extract: cohorts, outcome tables, responders, survival, plots as SVG; no I/O.
        .target(name: "OssaAnalytics", dependencies: ["OssaCore", "OssaStats", "OssaJSON"], resources: [.copy("Resources")]),
        .target(name: "OssaStore", dependencies: [
            "OssaCore", "OssaDemo", "OssaAnalytics",
            .product(name: "FluentKit", package: "fluent-kit"),
            .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
            .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
            .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Message transport (issue #10): SMTP and the SMS webhook. No store or web imports, so it builds and tests alone.
        .target(name: "OssaMessaging", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(
            name: "OssaWeb",
            dependencies: [
                "OssaCore", "OssaDemo", "OssaStats", "OssaAnalytics", "OssaStore", "OssaFHIR", "OssaMessaging",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [.copy("Resources")]
        ),
        .executableTarget(
            name: "ossa",
            dependencies: [
                "OssaCore", "OssaDemo", "OssaStats", "OssaAnalytics", "OssaStore", "OssaWeb", "OssaMessaging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(name: "OssaCoreTests", dependencies: ["OssaCore"]),
        .testTarget(name: "OssaDemoTests", dependencies: ["OssaDemo", "OssaCore"]),
        .testTarget(name: "OssaStatsTests", dependencies: ["OssaStats"], exclude: ["Vectors"]),
        .testTarget(name: "OssaAnalyticsTests", dependencies: ["OssaAnalytics", "OssaCore", "OssaStats"], exclude: ["Vectors"]),
        .testTarget(name: "OssaStoreTests", dependencies: ["OssaStore", "OssaDemo"]),
        .testTarget(
            name: "OssaWebTests",
            dependencies: [
                "OssaWeb", "OssaStore", "OssaCore", "OssaDemo", "OssaMessaging", "OssaAnalytics", "OssaStats", "OssaFHIR",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SnapshotTesting", package: "swift-snapshot-testing"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["__Snapshots__", "Vectors"]
        ),
        .testTarget(name: "OssaMessagingTests", dependencies: [
            "OssaMessaging",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ossaTests", dependencies: [
            "ossa", "OssaStore", .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
