import Foundation

/// A transaction or batch Bundle as a client sends it (`POST /fhir`, `ossa import`): each entry read on its own, so
/// a transaction can name every bad entry and a batch can answer each one.
public struct FHIRBundleInput: Sendable {
    public enum Kind: String, Sendable {
        case transaction, batch
    }

    /// What an entry asks for: a create (POST) of a resource type Ossa takes.
    public enum Item: Sendable, Equatable {
        case patient(FHIRPatientInput, ifNoneExist: String?)
        case condition(FHIRConditionInput)
        case procedure(FHIRProcedureInput)
        case questionnaireResponse(FHIRQuestionnaireResponseInput)
        case consent(FHIRConsentInput)
        /// An imaging finding: with the input's other findings of its study, one imaging study.
        case imaging(FHIRImagingInput)
        /// An Observation that is not an imaging finding (a score: computed again from its response, never imported).
        case derivedObservation

        /// The resource type the entry creates.
        public var resourceType: String {
            switch self {
            case .patient: "Patient"
            case .condition: "Condition"
            case .procedure: "Procedure"
            case .questionnaireResponse: "QuestionnaireResponse"
            case .consent: "Consent"
            case .imaging, .derivedObservation: "Observation"
            }
        }
    }

    public struct Entry: Sendable {
        /// The entry's place in its input (the Bundle's entries, the file's lines), from 0.
        public var index: Int
        /// Where the entry is, for its problems: `Bundle.entry[3]`, `line 4`.
        public var path: String
        /// Where its resource is: `Bundle.entry[3].resource`, `line 4: Patient`.
        public var resourcePath: String
        /// `fullUrl` as given (`urn:uuid:…` for a resource the Bundle creates).
        public var fullUrl: String?
        /// The resource's own `id` as sent (another system's id: `Patient/<id>` references in the same input name it).
        public var sourceID: String?
        public var item: Result<Item, FHIRInputError>
    }

    public var kind: Kind
    public var entries: [Entry]

    public init(kind: Kind, entries: [Entry]) {
        self.kind = kind
        self.entries = entries
    }

    /// The types an entry may create, with the interaction each takes.
    public static let creatable = ["Patient", "Condition", "Procedure", "QuestionnaireResponse", "Observation", "Consent"]
    static var creatableList: String { creatable.dropLast().joined(separator: ", ") + " and " + creatable.last! }

    static let bundleElements: Set<String> = ["resourceType", "id", "meta", "implicitRules", "language", "identifier", "type", "timestamp",
                                              "total", "link", "entry", "signature"]
    static let entryElements: Set<String> = ["link", "fullUrl", "resource", "search", "request", "response", "extension", "modifierExtension", "id"]
    static let requestElements: Set<String> = ["method", "url", "ifNoneMatch", "ifModifiedSince", "ifMatch", "ifNoneExist", "extension", "modifierExtension", "id"]

    /// The Bundle, or the problems that keep it from being read at all (not a Bundle, not a transaction or batch).
    public static func decode(_ data: Data) throws(FHIRInputError) -> FHIRBundleInput {
        try parse(try FHIRReader.resource(data, type: "Bundle"))
    }

    public static func parse(_ object: [String: Any]) throws(FHIRInputError) -> FHIRBundleInput {
        var r = FHIRReader()
        r.only(object, bundleElements, at: "Bundle")
        let type = r.string(object, "type", at: "Bundle")
        let kind = type.flatMap(Kind.init(rawValue:))
        if let type, kind == nil {
            r.refused("Bundle.type", "is \(type); Ossa takes transaction and batch Bundles")
        } else if object["type"] == nil {
            r.invalid("Bundle.type", "is required")
        }
        var items: [(String, [String: Any])] = []
        if object["entry"] != nil { items = r.objects(object, "entry", at: "Bundle") }
        guard r.issues.isEmpty, let kind else { throw FHIRInputError(issues: r.issues) }

        let entries = items.enumerated().map { index, pair -> Entry in
            let (path, entry) = pair
            var e = FHIRReader()
            e.only(entry, entryElements, at: path)
            let fullUrl = e.string(entry, "fullUrl", at: path)
            let request = e.object(entry, "request", at: path)
            let resource = e.object(entry, "resource", at: path)
            if request == nil { e.invalid("\(path).request", "is required in a \(kind.rawValue) (method and url)") }
            if resource == nil { e.refused("\(path).resource", "is required: Ossa's entries create resources") }
            var ifNoneExist: String?
            var url: String?
            if let request {
                let at = "\(path).request"
                e.only(request, requestElements, at: at)
                let method = e.string(request, "method", at: at)
                if let method, method != "POST" {
                    e.refused("\(path).request.method", "is \(method); Ossa takes create entries (POST)")
                }
                url = e.string(request, "url", at: at)
                ifNoneExist = e.string(request, "ifNoneExist", at: at)
            }
            let type = resource?["resourceType"] as? String
            if resource != nil {
                if let type {
                    if !creatable.contains(type) {
                        e.refused("\(path).resource.resourceType", "is \(type); Ossa creates \(creatableList) from a Bundle")
                    } else if let url, url != type {
                        e.refused("\(path).request.url", "is \(url); a create of this \(type) posts to \(type)")
                    }
                    if ifNoneExist != nil, type != "Patient" {
                        e.refused("\(path).request.ifNoneExist", "conditional create is taken for Patient only")
                    }
                } else {
                    e.invalid("\(path).resource.resourceType", "is missing")
                }
            }
            let resourcePath = "\(path).resource"
            guard e.issues.isEmpty, let resource, let type else {
                return Entry(index: index, path: path, resourcePath: resourcePath, fullUrl: fullUrl, sourceID: nil, item: .failure(FHIRInputError(issues: e.issues)))
            }
            return FHIRBundleInput.entry(index: index, path: path, resourcePath: resourcePath, fullUrl: fullUrl, type: type, resource: resource, ifNoneExist: ifNoneExist)
        }
        return FHIRBundleInput(kind: kind, entries: entries)
    }

    /// One resource posted on its own (`POST /fhir/Procedure`): read as a Bundle entry would be, located at its type.
    public static func single(_ data: Data, type: String) throws(FHIRInputError) -> (Entry, Item) {
        let object = try FHIRReader.resource(data, type: type)
        let entry = Self.entry(index: 0, path: type, resourcePath: type, fullUrl: nil, type: type, resource: object, ifNoneExist: nil)
        switch entry.item {
        case .success(let item): return (entry, item)
        case .failure(let error): throw error
        }
    }

    static func entry(index: Int, path: String, resourcePath: String, fullUrl: String?, type: String, resource: [String: Any],
                      ifNoneExist: String?) -> Entry {
        let sourceID = (resource["id"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        do throws(FHIRInputError) {
            let item: Item
            switch type {
            case "Patient": item = .patient(try FHIRPatientInput.parse(resource, at: resourcePath), ifNoneExist: ifNoneExist)
            case "Condition": item = .condition(try FHIRConditionInput.parse(resource, at: resourcePath))
            case "Procedure": item = .procedure(try FHIRProcedureInput.parse(resource, at: resourcePath))
            case "Consent": item = .consent(try FHIRConsentInput.parse(resource, at: resourcePath))
            case "Observation":
                switch try FHIRObservationInput.parse(resource, at: resourcePath) {
                case .imaging(let input): item = .imaging(input)
                case .derived: item = .derivedObservation
                }
            default: item = .questionnaireResponse(try FHIRQuestionnaireResponseInput.parse(resource, at: resourcePath))
            }
            return Entry(index: index, path: path, resourcePath: resourcePath, fullUrl: fullUrl, sourceID: sourceID, item: .success(item))
        } catch {
            return Entry(index: index, path: path, resourcePath: resourcePath, fullUrl: fullUrl, sourceID: sourceID, item: .failure(error))
        }
    }

    /// NDJSON (one resource per line, as Bulk Data writes it), read as one transaction of creates: each line a
    /// resource of a creatable type, located by its line number (`line 4: Patient.birthDate`). Blank lines are skipped.
    /// `source` (a file name) starts each location when given (`Patient.ndjson line 4`).
    public static func ndjson(_ data: Data, source: String? = nil) -> FHIRBundleInput {
        var entries: [Entry] = []
        for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let number = n + 1
            let text = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
            guard !text.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) else { continue }
            let path = (source.map { "\($0) " } ?? "") + "line \(number)"
            func failed(_ message: String, structural: Bool = true) -> Entry {
                Entry(index: n, path: path, resourcePath: path, fullUrl: nil, sourceID: nil,
                      item: .failure(FHIRInputError(issues: [FHIRInputIssue(expression: path, message: message, structural: structural)])))
            }
            guard let object = FHIRJSONParser.object(Data(text)) else {
                entries.append(failed("is not a JSON object (NDJSON holds one resource per line)"))
                continue
            }
            guard let type = object["resourceType"] as? String else {
                entries.append(failed("has no resourceType"))
                continue
            }
            guard creatable.contains(type) else {
                entries.append(failed("is a \(type); Ossa imports \(creatableList) resources", structural: false))
                continue
            }
            entries.append(entry(index: n, path: path, resourcePath: "\(path): \(type)", fullUrl: nil, type: type, resource: object, ifNoneExist: nil))
        }
        return FHIRBundleInput(kind: .transaction, entries: entries)
    }
}
