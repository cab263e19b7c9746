import Foundation
import OssaCore

/// Reads the demo generator's data files (`Resources/demo/…`: calibration with its sources, synthetic names),
/// shipped in this target's own bundle.
enum DemoResources {
    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "bundled resource '\(path)' is missing from the OssaDemo bundle" }
    }

    /// The bytes of `Resources/<path>`. Linux Foundation treats a bundle holding a `Resources` folder as versioned,
    /// so its `resourceURL` may already end in `Resources`.
    static func data(_ path: String) throws -> Data {
        guard let base = Bundle.module.resourceURL else { throw Missing(path: path) }
        for url in [base.appendingPathComponent(path), base.appendingPathComponent("Resources").appendingPathComponent(path)] {
            if let data = FileManager.default.contents(atPath: url.path) { return data }
        }
        throw Missing(path: path)
    }
}
