import Foundation

/// A CSV file written a row at a time (RFC 4180: comma-separated, CRLF line ends, a field quoted when it holds a
/// comma, a quote or a line break, quotes doubled; UTF-8 without a byte-order mark), buffered so that memory stays
/// bounded however many rows are written.
struct CSVFile {
    let url: URL
    private let handle: FileHandle
    private var buffer = Data()
    private(set) var rows = 0

    init(_ url: URL, header: [String]) throws {
        self.url = url
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw ResearchExportError.cannotWrite(url.path)
        }
        handle = try FileHandle(forWritingTo: url)
        try write(header)
        rows = 0
    }

    static func field(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    mutating func write(_ row: [String]) throws {
        buffer.append(contentsOf: row.map(Self.field).joined(separator: ",").utf8)
        buffer.append(contentsOf: [13, 10])
        rows += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    private mutating func flush() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes; returns the rows written (the header not counted).
    mutating func close() throws -> Int {
        try flush()
        try handle.synchronize()
        try handle.close()
        return rows
    }
}

/// Reads RFC 4180 CSV (for the tests and for `ossa import` of the wide CSV): rows of fields, quotes undone.
public enum CSVReader {
    public static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, afterQuote = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar?
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; afterQuote = true; pending = next }
                    } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
                continue
            }
            switch c {
            case "\"" where field.isEmpty && !afterQuote: quoted = true
            case ",": row.append(field); field = ""; afterQuote = false
            case "\r": continue
            case "\n": row.append(field); rows.append(row); row = []; field = ""; afterQuote = false
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
