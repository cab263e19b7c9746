import Foundation
import Hummingbird
import NIOCore
import OssaCore
import OssaStore

/// The research exports as one ZIP download, for the exports page and `GET /api/v1/exports/{kind}`: the same files
/// as `ossa export`, written into a fresh directory under the export root, archived, streamed, then deleted.
struct ResearchDownload: Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case csvWide = "csv-wide", csvLong = "csv-long", deidentified

        var label: String {
            switch self {
            case .csvWide: "REDCap: wide CSV, one row per episode and timepoint, with the data dictionary and the project's events"
            case .csvLong: "Statistics: long CSV, one row per answer and per score, with the episodes and a codebook"
            case .deidentified: "Research: both, de-identified by HIPAA Safe Harbor, with a report of what was removed"
            }
        }

        /// Whether `role` may make this export (the access policy's export rules).
        func allowed(for role: Role) -> Bool {
            self == .deidentified ? AccessPolicy.allows(role, .export, .deidentified) : AccessPolicy.allows(role, .export, .export)
        }
    }

    let store: OssaStore
    let library: InstrumentLibrary
    let followUp: FollowUpProtocol
    let root: URL

    init(store: OssaStore, library: InstrumentLibrary, root: URL) throws {
        (self.store, self.library, self.root) = (store, library, root)
        followUp = try FollowUpProtocol.bundledDefault()
    }

    /// Runs the export and answers with the archive (`ossa-<kind>-<day>.zip`). `what` names the request in the audit log.
    func response(_ kind: Kind, actor: ActingUser, sites: Set<UUID>?, since: Date?, what: String, today: CalendarDate) async throws -> Response {
        let work = root.appendingPathComponent("ossa-download-\(UUID().lowercasedString)")
        let files = work.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        do {
            let export = ResearchExport(store: store, library: library, protocol: followUp)
            switch kind {
            case .csvWide: _ = try await export.wide(actor, into: files, sites: sites, since: since, what: what)
            case .csvLong: _ = try await export.long(actor, into: files, sites: sites, since: since, what: what)
            case .deidentified:
                let key = try await store.secrets.secret(InstallationSecrets.researchIDKey)
                _ = try await export.deidentified(actor, into: files, key: key, sites: sites, since: since, what: what)
            }
            let archive = work.appendingPathComponent("export.zip")
            try ZipArchive.write(try ZipArchive.files(under: files), to: archive)
            try? FileManager.default.removeItem(at: files)
            let size = try FileManager.default.attributesOfItem(atPath: archive.path)[.size] as? Int ?? 0
            let handle = try FileHandle(forReadingFrom: archive)
            let body = ResponseBody { writer in
                defer {
                    try? handle.close()
                    try? FileManager.default.removeItem(at: work)
                }
                while let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [
                .contentType: "application/zip", .contentLength: String(size), .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"ossa-\(kind.rawValue)-\(today.iso).zip\"",
            ], body: body)
        } catch {
            try? FileManager.default.removeItem(at: work)
            throw error
        }
    }

    /// The sites named by their codes (case-insensitive), which must be among `mine`; nil when none is named (all
    /// of the user's). Unknown codes are returned in `unknown`.
    static func sites(_ codes: [String], mine: [SiteRecord]) -> (sites: Set<UUID>?, unknown: [String]) {
        guard !codes.isEmpty else { return (nil, []) }
        var found: Set<UUID> = [], unknown: [String] = []
        for code in codes {
            if let site = mine.first(where: { $0.code.lowercased() == code.lowercased() }) { found.insert(site.id) } else { unknown.append(code) }
        }
        return (found, unknown)
    }
}
