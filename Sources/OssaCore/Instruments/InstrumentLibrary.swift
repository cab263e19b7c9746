import Foundation

/// The instruments available for scoring: the built-in set shipped in `Resources/instruments`, plus any
/// clinic-supplied definitions added with `adding(_:)`.
public struct InstrumentLibrary: Sendable {
    /// Error raised when looking up or adding instruments.
    public enum LookupError: Error, Sendable, Equatable, CustomStringConvertible {
        /// No instrument has this id; `available` lists the ids that exist.
        case unknownInstrument(id: String, available: [String])
        /// Two definitions share an id.
        case duplicateInstrument(id: String)

        public var description: String {
            switch self {
            case let .unknownInstrument(id, available):
                return "unknown instrument '\(id)' (available: \(available.joined(separator: ", ")))"
            case let .duplicateInstrument(id):
                return "an instrument with id '\(id)' is already in the library"
            }
        }
    }

    /// Ids of the built-in instruments in display order.
    public static let builtInIDs = ["koos", "hoos", "koos-jr", "hoos-jr", "nrs-pain", "pga", "tegner", "ucla", "events"]

    /// Instruments in display order.
    public let instruments: [InstrumentDefinition]

    /// A library of the given definitions; ids must be unique.
    public init(instruments: [InstrumentDefinition]) throws(LookupError) {
        var seen = Set<String>()
        for definition in instruments where !seen.insert(definition.id).inserted {
            throw .duplicateInstrument(id: definition.id)
        }
        self.instruments = instruments
    }

    /// The built-in instruments, decoded and validated once per process and then shared.
    public static func builtIn() throws -> InstrumentLibrary {
        try cachedBuiltIn.get()
    }

    // A `static let` is initialised once, lazily and thread-safely; it is immutable afterwards.
    private static let cachedBuiltIn: Result<InstrumentLibrary, any Error> = Result { try loadBuiltIn() }

    private static func loadBuiltIn() throws -> InstrumentLibrary {
        var definitions: [InstrumentDefinition] = []
        for id in builtInIDs {
            let path = "instruments/\(id).json"
            let data = try BundledResource.data(path)
            let definition: InstrumentDefinition
            do {
                definition = try InstrumentDefinition.decode(from: data)
            } catch {
                throw FieldValidationError(path: error.path, message: "\(error.message) (in \(path))")
            }
            guard definition.id == id else {
                throw FieldValidationError(path: "id", message: "'\(definition.id)' does not match file name \(path)")
            }
            definitions.append(definition)
        }
        return try InstrumentLibrary(instruments: definitions)
    }

    /// Ids in display order.
    public var ids: [String] { instruments.map(\.id) }

    /// The instrument with `id`, or `nil`.
    public func instrument(id: String) -> InstrumentDefinition? {
        instruments.first { $0.id == id }
    }

    /// The instrument with `id`; throws an error listing the available ids otherwise.
    public func require(id: String) throws(LookupError) -> InstrumentDefinition {
        guard let definition = instrument(id: id) else { throw .unknownInstrument(id: id, available: ids) }
        return definition
    }

    /// A library that also holds `definition` (e.g. a clinic-supplied WOMAC).
    public func adding(_ definition: InstrumentDefinition) throws(LookupError) -> InstrumentLibrary {
        try InstrumentLibrary(instruments: instruments + [definition])
    }
}
