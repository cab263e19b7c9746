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
    ],
    targets: [
        // Ordered JSON writer for the output formats scripts rely on (no dependencies).
        .target(name: "OssaJSON"),
        // Domain: no framework imports (Foundation only).
        .target(name: "OssaCore", dependencies: ["OssaJSON"], resources: [.copy("Resources")]),
        // Statistics: pure Swift, no I/O.
        .target(name: "OssaStats", dependencies: ["OssaJSON"]),
        .target(name: "OssaFHIR", dependencies: ["OssaCore"]),
        .target(name: "OssaStore", dependencies: [
            "OssaCore",
            .product(name: "FluentKit", package: "fluent-kit"),
            .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
            .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
            .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(name: "OssaWeb", dependencies: ["OssaCore", "OssaStats", "OssaStore", "OssaFHIR"]),
        .executableTarget(
            name: "ossa",
            dependencies: [
                "OssaCore", "OssaStats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "OssaCoreTests", dependencies: ["OssaCore"]),
        .testTarget(name: "OssaStatsTests", dependencies: ["OssaStats"], exclude: ["Vectors"]),
        .testTarget(name: "OssaStoreTests", dependencies: ["OssaStore"]),
        .testTarget(name: "ossaTests", dependencies: ["ossa"]),
    ],
    swiftLanguageModes: [.v6]
)
