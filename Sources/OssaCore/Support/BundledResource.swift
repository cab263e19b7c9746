import Foundation

/// Reads the data files shipped inside OssaCore (instruments, responder tables, rulesets, protocols).
///
/// Clinical rules and instrument definitions are data, not code; this is the one place that knows
/// where the package keeps them.
public enum BundledResource {
    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "bundled resource '\(path)' is missing from the OssaCore bundle" }
    }

    /// Returns the bytes of `Resources/<path>`, e.g. `instruments/koos.json`.
    public static func data(_ path: String) throws -> Data {
        for url in candidates(path) {
            if let data = FileManager.default.contents(atPath: url.path) { return data }
        }
        throw Missing(path: path)
    }

    /// Lists the file names in `Resources/<directory>`, sorted.
    public static func files(in directory: String) throws -> [String] {
        for url in candidates(directory) {
            if let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) { return names.sorted() }
        }
        throw Missing(path: directory)
    }

    /// Where `Resources/<path>` may be. Linux Foundation treats a bundle holding a `Resources` folder
    /// as a versioned bundle, so its `resourceURL` already ends in `Resources`; macOS's does not.
    private static func candidates(_ path: String) -> [URL] {
        guard let base = Bundle.module.resourceURL else { return [] }
        return [
            base.appendingPathComponent(path),
            base.appendingPathComponent("Resources").appendingPathComponent(path),
        ]
    }
}
