import Foundation

/// Writes a ZIP archive (PKWARE APPNOTE 6.3.x) of files, stored without compression: every unzip tool, REDCap
/// users' spreadsheet programs and Python's `zipfile` read it, and no compression library is needed. Names are
/// UTF-8 (general-purpose flag bit 11). Each file is read twice (its CRC-32 first, then copied), a chunk at a time,
/// so memory stays bounded. Without ZIP64, an archive holds files and a total below 4 GiB; a larger export is refused
/// (`ossa export` writes plain files without that limit).
enum ZipArchive {
    struct TooLarge: Error, CustomStringConvertible {
        var description: String { "the export is larger than a ZIP archive without ZIP64 holds (4 GiB); use ossa export, which writes plain files" }
    }

    /// Archives `files` (path inside the archive → file on disk) into `archive`, in the order given.
    static func write(_ files: [(name: String, url: URL)], to archive: URL, modified: Date = Date()) throws {
        guard FileManager.default.createFile(atPath: archive.path, contents: nil) else { throw ResearchExportError.cannotWrite(archive.path) }
        let out = try FileHandle(forWritingTo: archive)
        defer { try? out.close() }
        let (time, date) = dosDateTime(modified)
        var central = Data()
        var offset: UInt64 = 0
        for file in files {
            let (crc, size) = try checksum(file.url)
            guard size < 0xFFFF_FFFF, offset < 0xFFFF_FFFF else { throw TooLarge() }
            let name = Data(file.name.utf8)
            var local = Data()
            local.append(le32: 0x0403_4b50)
            local.append(le16: 20)            // version needed: 2.0
            local.append(le16: 0x0800)        // UTF-8 names
            local.append(le16: 0)             // stored
            local.append(le16: time)
            local.append(le16: date)
            local.append(le32: crc)
            local.append(le32: UInt32(size))  // compressed size = size (stored)
            local.append(le32: UInt32(size))
            local.append(le16: UInt16(name.count))
            local.append(le16: 0)             // no extra field
            local.append(name)
            try out.write(contentsOf: local)
            try copy(file.url, to: out)

            central.append(le32: 0x0201_4b50)
            central.append(le16: 0x0314)      // made by: UNIX, 2.0
            central.append(le16: 20)
            central.append(le16: 0x0800)
            central.append(le16: 0)
            central.append(le16: time)
            central.append(le16: date)
            central.append(le32: crc)
            central.append(le32: UInt32(size))
            central.append(le32: UInt32(size))
            central.append(le16: UInt16(name.count))
            central.append(le16: 0)           // extra
            central.append(le16: 0)           // comment
            central.append(le16: 0)           // disk
            central.append(le16: 0)           // internal attributes
            central.append(le32: 0o100644 << 16) // external: a regular file, rw-r--r--
            central.append(le32: UInt32(offset))
            central.append(name)
            offset += UInt64(local.count) + size
        }
        guard offset + UInt64(central.count) < 0xFFFF_FFFF, files.count < 0xFFFF else { throw TooLarge() }
        var end = Data()
        end.append(le32: 0x0605_4b50)
        end.append(le16: 0)
        end.append(le16: 0)
        end.append(le16: UInt16(files.count))
        end.append(le16: UInt16(files.count))
        end.append(le32: UInt32(central.count))
        end.append(le32: UInt32(offset))
        end.append(le16: 0)
        try out.write(contentsOf: central)
        try out.write(contentsOf: end)
        try out.synchronize()
    }

    /// Every regular file under `directory`, by its path relative to it, sorted.
    static func files(under directory: URL) throws -> [(name: String, url: URL)] {
        let base = directory.standardizedFileURL.path
        var found: [(String, URL)] = []
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            let path = url.standardizedFileURL.path
            found.append((String(path.dropFirst(base.count + 1)), url))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    static func checksum(_ url: URL) throws -> (UInt32, UInt64) {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var crc = CRC32()
        var size: UInt64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            crc.update(chunk)
            size += UInt64(chunk.count)
        }
        return (crc.value, size)
    }

    private static func copy(_ url: URL, to out: FileHandle) throws {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { try out.write(contentsOf: chunk) }
    }

    /// MS-DOS time and date (local fields of UTC: an archive has no time zone).
    static func dosDateTime(_ date: Date) -> (UInt16, UInt16) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        let day = UInt16(max((c.year ?? 1980) - 1980, 0) << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
        return (time, day)
    }
}

/// CRC-32 as ZIP uses it (ISO 3309 / ITU-T V.42: polynomial 0xEDB88320 reflected, initial and final XOR 0xFFFFFFFF).
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    private var state: UInt32 = 0xFFFF_FFFF

    mutating func update(_ data: Data) {
        var c = state
        for byte in data { c = Self.table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        state = c
    }

    var value: UInt32 { state ^ 0xFFFF_FFFF }
}

private extension Data {
    mutating func append(le16 value: UInt16) { append(contentsOf: [UInt8(value & 0xFF), UInt8(value >> 8)]) }
    mutating func append(le32 value: UInt32) {
        append(contentsOf: [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)])
    }
}
