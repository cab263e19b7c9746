import Foundation
import Synchronization

/// A bounded map from a key to a value read at one write revision of the store (`OssaDatabase.writeRevision`): a
/// value is handed out only while the revision it was read at is still the newest, so no write is ever hidden.
///
/// Why: SQLite drops every reader's page cache (and its memory map) whenever any connection commits, and every page
/// view commits its audit entry; a page's read model was therefore read from scratch each time, about 9 ms of CPU.
/// Between two clinical writes nothing a page shows can change, so the model read once is still the answer.
///
/// Used by the store for page read models (`OssaDatabase.cachedAuditedRead`) and by the web layer for the HTML
/// rendered from them. The least recently used entries go first when it is full; entries of an older revision
/// are dropped as soon as a newer revision is stored.
public final class RevisionedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var revision: Int64
        var value: Value
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0
        /// The newest revision stored; entries older than it can never be handed out again.
        var newest: Int64 = .min
    }

    private let state = Mutex(State())
    /// At most this many entries; 0 turns the cache off.
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The value stored for `key` at exactly `revision`, if any.
    public func value(_ key: Key, revision: Int64) -> Value? {
        guard capacity > 0 else { return nil }
        return state.withLock { state in
            guard var entry = state.entries[key], entry.revision == revision else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.value
        }
    }

    /// The value stored for `key` and the revision it was read at, whatever that is (the caller checks it).
    public func entry(_ key: Key) -> (revision: Int64, value: Value)? {
        guard capacity > 0 else { return nil }
        return state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return (entry.revision, entry.value)
        }
    }

    /// The newest revision seen (stored or observed); `.min` before any.
    public var newest: Int64 { state.withLock { $0.newest } }

    /// Learns that the store has reached `revision` (read by someone else): older entries are dropped at once.
    public func observe(_ revision: Int64) {
        guard capacity > 0 else { return }
        state.withLock { state in
            if revision > state.newest {
                state.newest = revision
                state.entries = state.entries.filter { $0.value.revision >= revision }
            }
        }
    }

    public func store(_ key: Key, revision: Int64, _ value: Value) {
        guard capacity > 0 else { return }
        state.withLock { state in
            if revision > state.newest {
                state.newest = revision
                state.entries = state.entries.filter { $0.value.revision >= revision }
            } else if revision < state.newest {
                return  // read before a write another request has already seen: never current again
            }
            state.clock += 1
            state.entries[key] = Entry(revision: revision, value: value, lastUse: state.clock)
            if state.entries.count > capacity {
                // Drop the least recently used quarter at once, so that a full cache sorts rarely.
                let drop = state.entries.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(max(1, capacity / 4))
                for (key, _) in drop { state.entries[key] = nil }
            }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}
