import Foundation

/// R4 AuditEvent, shaped after IHE Basic Audit Log Patterns (BALP): one entry of Ossa's hash-chained audit log.
public struct FHIRAuditEvent: Codable, Sendable, Equatable {
    public struct Network: Codable, Sendable, Equatable {
        public var address: String
        /// `2`: IP address (R4 network-type).
        public var type: String
    }
    public struct Agent: Codable, Sendable, Equatable {
        public var type: FHIRCodeableConcept?
        public var role: [FHIRCodeableConcept]?
        public var who: FHIRReference?
        public var requestor: Bool
        public var network: Network?
    }
    public struct Source: Codable, Sendable, Equatable {
        public var observer: FHIRReference
    }
    public struct Entity: Codable, Sendable, Equatable {
        public var what: FHIRReference
        public var type: FHIRCoding?
    }

    public var resourceType = "AuditEvent"
    public var id: String
    public var `extension`: [FHIRExtension]?
    public var type: FHIRCoding
    public var subtype: [FHIRCoding]?
    public var action: String?
    public var recorded: String
    public var outcome: String
    public var outcomeDesc: String?
    public var agent: [Agent]
    public var source: Source
    public var entity: [Entity]?
}

extension FHIRSystems {
    public static let dicom = "http://dicom.nema.org/resources/ontology/DCM"
    public static let auditEventType = "http://terminology.hl7.org/CodeSystem/audit-event-type"
    public static let restfulInteraction = "http://hl7.org/fhir/restful-interaction"
    public static let auditEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
    /// Ossa's audit actions (`create`, `read`, `list`, `update`, `delete`, `export`, `grant`, `revoke`, `sign-in`,
    /// `sign-out`) and record types (`patient`, `procedure`, …), beside the standard codes.
    public static var ossaAuditAction: String { ossaBase + "/audit-action" }
    public static var ossaRecordType: String { ossaBase + "/record-type" }
    public static var ossaRole: String { ossaBase + "/role" }
    /// The user accounts: an agent's identifier (the account's id).
    public static let ossaUser = "https://ossa-registry.org/fhir/NamingSystem/user"
    /// The entry's place in the hash chain: `sequence`, `hash`, `previousHash` (SHA-256, hex).
    public static let auditChainExtension = "https://ossa-registry.org/fhir/StructureDefinition/audit-chain"
}

/// One audit-log entry as plain values (OssaFHIR does not see the store).
public struct AuditRecord: Sendable, Hashable {
    public var sequence: Int64
    public var recorded: Date
    public var actorUserID: String?
    public var actorRole: String
    public var action: String
    public var outcome: String
    public var recordType: String
    public var recordID: String?
    public var fromAddress: String?
    public var hash: String
    public var previousHash: String

    public init(sequence: Int64, recorded: Date, actorUserID: String?, actorRole: String, action: String, outcome: String, recordType: String,
                recordID: String?, fromAddress: String?, hash: String, previousHash: String) {
        (self.sequence, self.recorded, self.actorUserID, self.actorRole, self.action) = (sequence, recorded, actorUserID, actorRole, action)
        (self.outcome, self.recordType, self.recordID, self.fromAddress, self.hash, self.previousHash) = (outcome, recordType, recordID, fromAddress, hash, previousHash)
    }
}

extension FHIRMapping {
    /// The FHIR resource type a record type is served as, where it is one.
    static let servedTypes = ["patient": "Patient", "episode": "Condition", "procedure": "Procedure",
                              "questionnaire-response": "QuestionnaireResponse"]

    /// An audit-log entry as a BALP-shaped AuditEvent: type `rest` with the RESTful interaction as subtype for
    /// record access (DICOM 110114 User Authentication for sign-in and sign-out, 110106 Export for exports), the
    /// user as the requesting agent with their role and address, the record as the entity, and the entry's hash-chain
    /// links as an extension.
    public static func auditEvent(_ r: AuditRecord) -> FHIRAuditEvent {
        let ossa = FHIRCoding(system: FHIRSystems.ossaAuditAction, code: r.action)
        let type: FHIRCoding, interaction: String?, action: String
        switch r.action {
        case "sign-in", "sign-out":
            (type, interaction, action) = (FHIRCoding(system: FHIRSystems.dicom, code: "110114", display: "User Authentication"), nil, "E")
        case "export":
            (type, interaction, action) = (FHIRCoding(system: FHIRSystems.dicom, code: "110106", display: "Export"), nil, "R")
        default:
            let (i, a): (String?, String) = switch r.action {
            case "create": ("create", "C")
            case "read": ("read", "R")
            case "list": ("search-type", "E")
            case "update", "grant", "revoke": ("update", "U")
            case "delete": ("delete", "D")
            default: (nil, "E")
            }
            (type, interaction, action) = (FHIRCoding(system: FHIRSystems.auditEventType, code: "rest", display: "RESTful Operation"), i, a)
        }
        let subtype = [interaction.map { FHIRCoding(system: FHIRSystems.restfulInteraction, code: $0) }, ossa].compactMap { $0 }
        let isAddress = r.fromAddress.map { a in a.contains(":") || (a.split(separator: ".").count == 4 && a.allSatisfy { $0.isNumber || $0 == "." }) } ?? false
        let agent = FHIRAuditEvent.Agent(
            type: nil,
            role: [FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaRole, code: r.actorRole)], text: r.actorRole)],
            who: r.actorUserID.map { FHIRReference(identifier: FHIRIdentifier(system: FHIRSystems.ossaUser, value: $0)) }
                ?? FHIRReference(display: r.fromAddress.map { "Ossa (\($0))" } ?? "Ossa"),
            requestor: r.actorUserID != nil,
            network: isAddress ? r.fromAddress.map { FHIRAuditEvent.Network(address: $0, type: "2") } : nil)
        var entities: [FHIRAuditEvent.Entity] = []
        if let id = r.recordID, !id.isEmpty {
            let what = servedTypes[r.recordType].map { FHIRReference(reference: "\($0)/\(id)") }
                ?? FHIRReference(identifier: FHIRIdentifier(system: FHIRSystems.ossaRecordType + "/" + r.recordType, value: id))
            entities.append(FHIRAuditEvent.Entity(what: what, type: FHIRCoding(system: FHIRSystems.auditEntityType, code: r.recordType == "patient" ? "1" : "2",
                                                                             display: r.recordType == "patient" ? "Person" : "System Object")))
        } else {
            entities.append(FHIRAuditEvent.Entity(what: FHIRReference(display: r.recordType), type: FHIRCoding(system: FHIRSystems.ossaRecordType, code: r.recordType)))
        }
        return FHIRAuditEvent(
            id: String(r.sequence),
            extension: [FHIRExtension(url: FHIRSystems.auditChainExtension, extension: [
                FHIRExtension(url: "sequence", valueString: String(r.sequence)),
                FHIRExtension(url: "hash", valueString: r.hash),
                FHIRExtension(url: "previousHash", valueString: r.previousHash),
            ])],
            type: type, subtype: subtype, action: action, recorded: instant(r.recorded) ?? "",
            outcome: r.outcome == "ok" ? "0" : "4", outcomeDesc: r.outcome == "ok" ? nil : r.outcome,
            agent: [agent], source: FHIRAuditEvent.Source(observer: FHIRReference(display: "Ossa")), entity: entities)
    }
}
