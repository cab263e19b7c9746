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
    ],
    targets: [
        // Ordered JSON writer for the output formats scripts rely on (no dependencies).
        .target(name: "OssaJSON"),
        // Domain: no framework imports (Foundation only).
        .target(name: "OssaCore", dependencies: ["OssaJSON"], resources: [.copy("Resources")]),
        // Statistics: pure Swift, no I/O.
        .target(name: "OssaStats", dependencies: ["OssaJSON"]),
        .target(name: "OssaFHIR", dependencies: ["OssaCore"]),
        .target(name: "OssaStore", dependencies: ["OssaCore"]),
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
        .testTarget(name: "ossaTests", dependencies: ["ossa"]),
    ],
    swiftLanguageModes: [.v6]
)
