import Foundation
import OssaCore

/// R4 Consent (issue #12): one consent decision of a patient. The standing decision of its kind is `active`; a
/// superseded one `inactive`. `scope`: treatment, research, or patient-privacy for registry follow-up (the use of
/// the patient's information); `provision.type` permit or deny; `policyRule` OPTIN / OPTOUT (v3 ActCode), which
/// R4's ppc-1 asks for when no policy document is named. Where the signed form is kept is the `sourceAttachment`'s
/// title.
public struct FHIRConsent: Codable, Sendable, Equatable {
    public struct Provision: Codable, Sendable, Equatable {
        public var type: String
    }
    public struct Attachment: Codable, Sendable, Equatable {
        public var title: String
    }

    public var resourceType = "Consent"
    public var id: String
    public var meta: FHIRMeta?
    public var status: String
    public var scope: FHIRCodeableConcept
    public var category: [FHIRCodeableConcept]
    public var patient: FHIRReference
    public var dateTime: String
    public var performer: [FHIRReference]
    public var sourceAttachment: Attachment?
    public var policyRule: FHIRCodeableConcept
    public var provision: Provision
}

extension FHIRSystems {
    public static let consentScope = "http://terminology.hl7.org/CodeSystem/consentscope"
    public static let actCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    public static let ossaConsentKind = "https://ossa-registry.org/fhir/CodeSystem/consent-kind"
}

extension FHIRMapping {
    /// `active`: whether the decision is the patient's standing one of its kind.
    public static func consent(_ c: ConsentRecord, active: Bool) -> FHIRConsent {
        let scope: (String, String) = switch c.kind {
        case .treatment: ("treatment", "Treatment")
        case .research: ("research", "Research")
        case .registry: ("patient-privacy", "Privacy Consent")
        }
        let patient = FHIRReference(reference: "Patient/\(c.patientID.fhirID)")
        return FHIRConsent(
            id: c.id.fhirID, meta: FHIRMeta.at(c.recordedAt), status: active ? "active" : "inactive",
            scope: FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.consentScope, code: scope.0, display: scope.1)]),
            category: [
                FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.loinc, code: "59284-0", display: "Patient Consent")]),
                FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaConsentKind, code: c.kind.rawValue, display: c.kind.label)]),
            ],
            patient: patient, dateTime: c.date.iso, performer: [patient],
            sourceAttachment: c.formReference.map { FHIRConsent.Attachment(title: $0) },
            policyRule: FHIRCodeableConcept(coding: [c.decision == .permit
                ? FHIRCoding(system: FHIRSystems.actCode, code: "OPTIN", display: "opt-in")
                : FHIRCoding(system: FHIRSystems.actCode, code: "OPTOUT", display: "opt-out")]),
            provision: FHIRConsent.Provision(type: c.decision.rawValue))
    }
}
