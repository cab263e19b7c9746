import Foundation

/// Whether `host` names this machine: `localhost`, 127.0.0.0/8 or ::1 (brackets allowed).
///
/// Plain text is acceptable only where nothing crosses a network: an `http://` SMS webhook and SMTP AUTH without
/// TLS are allowed to loopback hosts alone (a local relay or a test sink).
public func isLoopbackHost(_ host: String) -> Bool {
    let host = unbracketed(host).lowercased()
    if host == "localhost" || host.hasSuffix(".localhost") { return true }
    let quads = host.split(separator: ".", omittingEmptySubsequences: false)
    if quads.count == 4, quads.allSatisfy({ UInt8($0) != nil }) { return quads[0] == "127" }
    return ipv6Groups(host) == [0, 0, 0, 0, 0, 0, 0, 1]
}

/// The eight 16-bit groups of an IPv6 literal (with at most one `::`), or nil. Enough to recognise `::1` however it
/// is written; embedded IPv4 forms are not loopback for our purposes and come back nil.
private func ipv6Groups(_ text: String) -> [UInt16]? {
    guard text.contains(":") else { return nil }
    let halves = text.components(separatedBy: "::")
    guard halves.count <= 2 else { return nil }
    func groups(_ part: String) -> [UInt16]? {
        part.isEmpty ? [] : part.split(separator: ":", omittingEmptySubsequences: false).map { group in
            group.count <= 4 ? UInt16(group, radix: 16) : nil
        }.reduce(into: [UInt16]?([])) { result, value in
            if let value { result?.append(value) } else { result = nil }
        }
    }
    guard let head = groups(halves[0]) else { return nil }
    if halves.count == 1 { return head.count == 8 ? head : nil }
    guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
    return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
}
