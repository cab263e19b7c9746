// swift-tools-version: 6.1
// The survival benchmark's Swift side. `bash Benchmarks/run` builds it in release mode.
import PackageDescription

let package = Package(
    name: "OssaBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Ossa", path: "..")],
    targets: [
        .executableTarget(
            name: "ossa-bench",
            dependencies: [.product(name: "OssaStats", package: "Ossa")],
            path: "Sources/ossa-bench"
        ),
    ],
    swiftLanguageModes: [.v6]
)
