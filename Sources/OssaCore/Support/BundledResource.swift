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
        guard let base = Bundle.module.resourceURL else { throw Missing(path: path) }
        let url = base.appendingPathComponent("Resources").appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw Missing(path: path) }
        return data
    }

    /// Lists the file names in `Resources/<directory>`, sorted.
    public static func files(in directory: String) throws -> [String] {
        guard let base = Bundle.module.resourceURL else { throw Missing(path: directory) }
        let url = base.appendingPathComponent("Resources").appendingPathComponent(directory)
        return try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }
}
