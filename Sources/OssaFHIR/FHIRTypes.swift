import Foundation

// The FHIR R4 (4.0.1) subset Ossa writes, as plain Codable values: wire types only, never persistence types.
// Optional fields are left out of the JSON when nil (FHIR forbids `null` and empty arrays), which is what the
// synthesized `encodeIfPresent` does; arrays that may be empty are optional for the same reason.

public struct FHIRCoding: Codable, Sendable, Equatable {
    public var system: String?
    public var code: String?
    public var display: String?

    public init(system: String?, code: String?, display: String? = nil) {
        self.system = system
        self.code = code
        self.display = display
    }
}

public struct FHIRCodeableConcept: Codable, Sendable, Equatable {
    public var coding: [FHIRCoding]?
    public var text: String?

    public init(coding: [FHIRCoding]? = nil, text: String? = nil) {
        self.coding = coding?.isEmpty == true ? nil : coding
        self.text = text
    }
}

public struct FHIRReference: Codable, Sendable, Equatable {
    public var reference: String?
    public var identifier: FHIRIdentifier?
    public var display: String?

    public init(reference: String? = nil, identifier: FHIRIdentifier? = nil, display: String? = nil) {
        self.reference = reference
        self.identifier = identifier
        self.display = display
    }
}

public struct FHIRIdentifier: Codable, Sendable, Equatable {
    public var use: String?
    public var type: FHIRCodeableConcept?
    public var system: String?
    public var value: String?

    public init(use: String? = nil, type: FHIRCodeableConcept? = nil, system: String?, value: String?) {
        self.use = use
        self.type = type
        self.system = system
        self.value = value
    }
}

public struct FHIRHumanName: Codable, Sendable, Equatable {
    public var use: String?
    public var family: String?
    public var given: [String]?

    public init(use: String? = nil, family: String?, given: [String]?) {
        self.use = use
        self.family = family
        self.given = given?.isEmpty == true ? nil : given
    }
}

public struct FHIRContactPoint: Codable, Sendable, Equatable {
    public var system: String
    public var value: String
    public var use: String?

    public init(system: String, value: String, use: String? = nil) {
        self.system = system
        self.value = value
        self.use = use
    }
}

public struct FHIRMeta: Codable, Sendable, Equatable {
    /// The record's version: the millisecond of its last change (Ossa keeps the current version of a record only,
    /// so the version is when it last changed; it changes with every change).
    public var versionId: String?
    public var lastUpdated: String?

    public init(versionId: String? = nil, lastUpdated: String?) {
        self.versionId = versionId
        self.lastUpdated = lastUpdated
    }

    /// The meta of a record last changed at `date`: `lastUpdated` and the `versionId` that goes with it.
    public static func at(_ date: Date?) -> FHIRMeta? {
        guard let date else { return nil }
        // Both to the millisecond, truncated (a formatter would round .1236 up to .124, after the change itself).
        let millisecond = Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
        return FHIRMeta(versionId: versionID(date), lastUpdated: FHIRMapping.instant(millisecond))
    }

    public static func versionID(_ date: Date) -> String {
        String(milliseconds(date))
    }

    /// The millisecond of `date`. Half a microsecond is added first: a stored instant (whole microseconds) may come
    /// back from a double a hair below its value, and must not fall into the millisecond before.
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000 + 0.0005).rounded(.down))
    }
}

/// A resource with a version (`meta.versionId`): its reads carry an `ETag` and answer `If-None-Match` and vread.
public protocol FHIRVersioned {
    var meta: FHIRMeta? { get }
}

extension FHIRPatient: FHIRVersioned {}
extension FHIRCondition: FHIRVersioned {}
extension FHIRProcedure: FHIRVersioned {}
extension FHIRQuestionnaireResponse: FHIRVersioned {}
extension FHIRObservation: FHIRVersioned {}
extension FHIRConsent: FHIRVersioned {}

/// R4 Patient (the elements Ossa holds).
public struct FHIRPatient: Codable, Sendable, Equatable {
    public var resourceType = "Patient"
    public var id: String
    public var meta: FHIRMeta?
    public var identifier: [FHIRIdentifier]?
    public var name: [FHIRHumanName]
    public var telecom: [FHIRContactPoint]?
    public var gender: String?
    public var birthDate: String
    public var managingOrganization: FHIRReference?
}

public struct FHIRConditionStage: Codable, Sendable, Equatable {
    public var summary: FHIRCodeableConcept?
    public var type: FHIRCodeableConcept?
}

/// R4 Condition: the diagnosis treated in one episode (one joint, one side).
public struct FHIRCondition: Codable, Sendable, Equatable {
    public var resourceType = "Condition"
    public var id: String
    public var meta: FHIRMeta?
    public var `extension`: [FHIRExtension]?
    public var clinicalStatus: FHIRCodeableConcept
    public var verificationStatus: FHIRCodeableConcept
    public var category: [FHIRCodeableConcept]
    public var code: FHIRCodeableConcept
    public var bodySite: [FHIRCodeableConcept]
    public var subject: FHIRReference
    /// A bone bruise's day of injury.
    public var onsetDateTime: String?
    public var stage: [FHIRConditionStage]?
    public var recordedDate: String?
}

/// R4 OperationOutcome: every FHIR error, each problem with where it is.
public struct FHIROperationOutcome: Codable, Sendable, Equatable {
    public struct Issue: Codable, Sendable, Equatable {
        public var severity: String
        public var code: String
        public var diagnostics: String?
        /// FHIRPath-style locations (`Patient.birthDate`, or a query parameter's name, `http.name` as FHIR writes it).
        public var expression: [String]?

        public init(severity: String = "error", code: String, diagnostics: String?, expression: [String]? = nil) {
            self.severity = severity
            self.code = code
            self.diagnostics = diagnostics
            self.expression = expression?.isEmpty == true ? nil : expression
        }
    }

    public var resourceType = "OperationOutcome"
    public var issue: [Issue]

    public init(issue: [Issue]) {
        self.issue = issue
    }
}

public struct FHIRQuantity: Codable, Sendable, Equatable {
    public var value: Double
    public var unit: String
    public var system: String?
    public var code: String?

    public init(value: Double, unit: String, system: String? = nil, code: String? = nil) {
        self.value = value
        self.unit = unit
        self.system = system
        self.code = code
    }

    /// A questionnaire score: UCUM's `{score}` (a dimensionless annotation), as the HL7 PCO IG writes it.
    public static func score(_ value: Double) -> FHIRQuantity {
        FHIRQuantity(value: value, unit: "{score}", system: "http://unitsofmeasure.org", code: "{score}")
    }

    /// Millilitres, coded in UCUM.
    public static func millilitres(_ value: Double) -> FHIRQuantity {
        FHIRQuantity(value: value, unit: "mL", system: "http://unitsofmeasure.org", code: "mL")
    }

    /// Seconds (fluoroscopy time), coded in UCUM.
    public static func seconds(_ value: Double) -> FHIRQuantity {
        FHIRQuantity(value: value, unit: "s", system: "http://unitsofmeasure.org", code: "s")
    }

    /// A dose-area product in mGy·cm², coded in UCUM.
    public static func doseAreaProduct(_ value: Double) -> FHIRQuantity {
        FHIRQuantity(value: value, unit: "mGy.cm2", system: "http://unitsofmeasure.org", code: "mGy.cm2")
    }
}

/// An extension: simple (`url` + one `value[x]`) or complex (`url` + nested extensions).
public struct FHIRExtension: Codable, Sendable, Equatable {
    public var url: String
    public var valueCode: String?
    public var valueString: String?
    public var valueInteger: Int?
    public var valueDecimal: Double?
    public var valueQuantity: FHIRQuantity?
    public var valueCodeableConcept: FHIRCodeableConcept?
    public var valueReference: FHIRReference?
    public var `extension`: [FHIRExtension]?

    public init(url: String, valueCode: String? = nil, valueString: String? = nil, valueInteger: Int? = nil, valueDecimal: Double? = nil,
                valueQuantity: FHIRQuantity? = nil, valueCodeableConcept: FHIRCodeableConcept? = nil, valueReference: FHIRReference? = nil,
                extension parts: [FHIRExtension]? = nil) {
        self.url = url
        self.valueReference = valueReference
        self.valueCode = valueCode
        self.valueString = valueString
        self.valueInteger = valueInteger
        self.valueDecimal = valueDecimal
        self.valueQuantity = valueQuantity
        self.valueCodeableConcept = valueCodeableConcept
        self.`extension` = parts
    }
}

public struct FHIRProcedurePerformer: Codable, Sendable, Equatable {
    public var actor: FHIRReference
}

/// R4 Procedure: one IO (or intra-articular) procedure, each injection an `injection` extension.
public struct FHIRProcedure: Codable, Sendable, Equatable {
    public var resourceType = "Procedure"
    public var id: String
    public var meta: FHIRMeta?
    public var `extension`: [FHIRExtension]?
    public var status: String
    public var code: FHIRCodeableConcept
    public var subject: FHIRReference
    public var performedDateTime: String
    public var performer: [FHIRProcedurePerformer]?
    /// The episode's Condition the procedure treats.
    public var reasonReference: [FHIRReference]?
    public var bodySite: [FHIRCodeableConcept]?
    /// Intra-procedure complications, as recorded (text; each one's severity in the details extension).
    public var complication: [FHIRCodeableConcept]?
    public var usedCode: [FHIRCodeableConcept]?
}

/// R4 Questionnaire: one instrument definition (SDC-style: stable `linkId`s, answer options with `ordinalValue`).
public struct FHIRQuestionnaire: Codable, Sendable, Equatable {
    public struct EnableWhen: Codable, Sendable, Equatable {
        public var question: String
        public var `operator`: String
        public var answerCoding: FHIRCoding
    }
    public struct AnswerOption: Codable, Sendable, Equatable {
        /// The R4 core `ordinalValue` extension: the value scoring uses (never the label).
        public var `extension`: [FHIRExtension]?
        public var valueCoding: FHIRCoding
    }
    public struct Item: Codable, Sendable, Equatable {
        public var linkId: String
        public var code: [FHIRCoding]?
        public var text: String
        public var type: String
        public var enableWhen: [EnableWhen]?
        public var answerOption: [AnswerOption]?
    }

    public var resourceType = "Questionnaire"
    public var id: String
    public var url: String
    public var version: String
    public var name: String
    public var title: String
    public var status: String
    public var subjectType: [String]
    public var code: [FHIRCoding]?
    public var description: String?
    public var copyright: String?
    public var item: [Item]
}

/// R4 QuestionnaireResponse: one stored response, each answered item with its coded answer.
public struct FHIRQuestionnaireResponse: Codable, Sendable, Equatable {
    public struct Answer: Codable, Sendable, Equatable {
        public var valueCoding: FHIRCoding
    }
    public struct Item: Codable, Sendable, Equatable {
        public var linkId: String
        public var text: String?
        public var answer: [Answer]?
    }

    public var resourceType = "QuestionnaireResponse"
    public var id: String
    public var meta: FHIRMeta?
    public var `extension`: [FHIRExtension]?
    /// Canonical `url|version` of the Questionnaire.
    public var questionnaire: String
    public var status: String
    public var subject: FHIRReference
    public var encounter: FHIRReference?
    public var authored: String
    public var source: FHIRReference?
    public var item: [Item]?
}

/// R4 Observation: a questionnaire score (category `survey`, `derivedFrom` its response).
public struct FHIRObservation: Codable, Sendable, Equatable {
    public var resourceType = "Observation"
    public var id: String
    public var meta: FHIRMeta?
    /// Ossa's on an imaging finding: the episode (a Condition) and the study's timing.
    public var `extension`: [FHIRExtension]?
    public var status: String
    public var category: [FHIRCodeableConcept]
    public var code: FHIRCodeableConcept
    public var subject: FHIRReference
    public var effectiveDateTime: String?
    public var valueQuantity: FHIRQuantity?
    public var valueInteger: Int?
    public var valueCodeableConcept: FHIRCodeableConcept?
    public var bodySite: FHIRCodeableConcept?
    public var method: FHIRCodeableConcept?
    public var derivedFrom: [FHIRReference]?
    public var component: [Component]?

    public struct Component: Codable, Sendable, Equatable {
        public var code: FHIRCodeableConcept
        public var valueQuantity: FHIRQuantity?
        public var valueInteger: Int?
        public var valueBoolean: Bool?
        public var valueCodeableConcept: FHIRCodeableConcept?

        public init(code: FHIRCodeableConcept, valueQuantity: FHIRQuantity? = nil, valueInteger: Int? = nil, valueBoolean: Bool? = nil,
                    valueCodeableConcept: FHIRCodeableConcept? = nil) {
            self.code = code
            self.valueQuantity = valueQuantity
            self.valueInteger = valueInteger
            self.valueBoolean = valueBoolean
            self.valueCodeableConcept = valueCodeableConcept
        }
    }
}

/// One resource of a Bundle entry (the types Ossa serves).
public enum FHIRResource: Codable, Sendable, Equatable {
    case patient(FHIRPatient)
    case condition(FHIRCondition)
    case procedure(FHIRProcedure)
    case questionnaire(FHIRQuestionnaire)
    case questionnaireResponse(FHIRQuestionnaireResponse)
    case observation(FHIRObservation)
    case auditEvent(FHIRAuditEvent)
    case consent(FHIRConsent)
    case operationOutcome(FHIROperationOutcome)

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .patient(let r): try r.encode(to: encoder)
        case .condition(let r): try r.encode(to: encoder)
        case .procedure(let r): try r.encode(to: encoder)
        case .questionnaire(let r): try r.encode(to: encoder)
        case .questionnaireResponse(let r): try r.encode(to: encoder)
        case .observation(let r): try r.encode(to: encoder)
        case .auditEvent(let r): try r.encode(to: encoder)
        case .consent(let r): try r.encode(to: encoder)
        case .operationOutcome(let r): try r.encode(to: encoder)
        }
    }

    public init(from decoder: any Decoder) throws {
        struct Kind: Decodable { var resourceType: String }
        switch try Kind(from: decoder).resourceType {
        case "Patient": self = .patient(try FHIRPatient(from: decoder))
        case "Condition": self = .condition(try FHIRCondition(from: decoder))
        case "Procedure": self = .procedure(try FHIRProcedure(from: decoder))
        case "Questionnaire": self = .questionnaire(try FHIRQuestionnaire(from: decoder))
        case "QuestionnaireResponse": self = .questionnaireResponse(try FHIRQuestionnaireResponse(from: decoder))
        case "Observation": self = .observation(try FHIRObservation(from: decoder))
        case "AuditEvent": self = .auditEvent(try FHIRAuditEvent(from: decoder))
        case "Consent": self = .consent(try FHIRConsent(from: decoder))
        case "OperationOutcome": self = .operationOutcome(try FHIROperationOutcome(from: decoder))
        case let other:
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "resource type \(other) is not supported"))
        }
    }

    public var typeAndID: String? {
        switch self {
        case .patient(let r): "Patient/\(r.id)"
        case .condition(let r): "Condition/\(r.id)"
        case .procedure(let r): "Procedure/\(r.id)"
        case .questionnaire(let r): "Questionnaire/\(r.id)"
        case .questionnaireResponse(let r): "QuestionnaireResponse/\(r.id)"
        case .observation(let r): "Observation/\(r.id)"
        case .auditEvent(let r): "AuditEvent/\(r.id)"
        case .consent(let r): "Consent/\(r.id)"
        case .operationOutcome: nil
        }
    }
}

/// R4 Bundle of type `searchset`: a page of search results with its paging links.
public struct FHIRBundle: Codable, Sendable, Equatable {
    public struct Link: Codable, Sendable, Equatable {
        public var relation: String
        public var url: String
    }
    public struct Search: Codable, Sendable, Equatable {
        public var mode: String
    }
    /// A transaction's or batch's answer for one entry.
    public struct EntryResponse: Codable, Sendable, Equatable {
        public var status: String
        public var location: String?
        public var outcome: FHIRResource?

        public init(status: String, location: String? = nil, outcome: FHIRResource? = nil) {
            self.status = status
            self.location = location
            self.outcome = outcome
        }
    }
    public struct Entry: Codable, Sendable, Equatable {
        public var fullUrl: String?
        public var resource: FHIRResource?
        public var search: Search?
        public var response: EntryResponse?

        public init(fullUrl: String? = nil, resource: FHIRResource? = nil, search: Search? = nil, response: EntryResponse? = nil) {
            self.fullUrl = fullUrl
            self.resource = resource
            self.search = search
            self.response = response
        }
    }

    public var resourceType = "Bundle"
    public var type: String
    public var total: Int?
    public var link: [Link]?
    public var entry: [Entry]?

    public init(type: String, total: Int? = nil, link: [Link]? = nil, entry: [Entry]? = nil) {
        self.type = type
        self.total = total
        self.link = link
        self.entry = entry?.isEmpty == true ? nil : entry
    }

    /// A search result page: `total` matches, the entries of this page, and `self` / `next` / `previous` links.
    public static func searchset(total: Int, entries: [FHIRResource], base: String, selfURL: String, nextURL: String?,
                                 previousURL: String?) -> FHIRBundle {
        var links = [Link(relation: "self", url: selfURL)]
        if let nextURL { links.append(Link(relation: "next", url: nextURL)) }
        if let previousURL { links.append(Link(relation: "previous", url: previousURL)) }
        return FHIRBundle(type: "searchset", total: total, link: links,
                          entry: entries.isEmpty ? nil : entries.map { r in
                              Entry(fullUrl: r.typeAndID.map { base + "/" + $0 }, resource: r, search: Search(mode: "match"))
                          })
    }
}
