import Foundation
import OssaCore

extension FHIRSystems {
    /// Ossa's imaging findings: `bml-size` (MOAKS BML size grade per subregion; no LOINC code exists for it),
    /// `bml-percent`, `bml-count`, `xray-grades` (the radiographic OA grades of one x-ray).
    public static var ossaFinding: String { ossaBase + "/finding" }
}

/// Imaging studies → Observations: one per MRI subregion read (MOAKS, Hunter 2011) and one per x-ray with its grades.
extension FHIRMapping {
    /// Which imaging Observation an id names: `<study>-bml.<subregion>` or `<study>-xray`.
    public enum ImagingObservation: Sendable, Equatable {
        case bml(study: UUID, subregion: BMLSubregion)
        case xray(study: UUID)

        public init?(id: String) {
            guard id.count > 37, let study = UUID(uuidString: String(id.prefix(36))), id.dropFirst(36).first == "-" else { return nil }
            let rest = String(id.dropFirst(37))
            if rest == "xray" {
                self = .xray(study: study)
            } else if rest.hasPrefix("bml."), let subregion = BMLSubregion(rawValue: String(rest.dropFirst(4))) {
                self = .bml(study: study, subregion: subregion)
            } else {
                return nil
            }
        }

        public var study: UUID {
            switch self {
            case .bml(let study, _), .xray(let study): study
            }
        }
    }

    static func findingCode(_ code: String, _ display: String) -> FHIRCodeableConcept {
        FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaFinding, code: code, display: display)], text: display)
    }

    static let imagingCategory = [FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.observationCategory, code: "imaging", display: "Imaging")])]

    /// The Observations of one study of an episode at `side`: a BML size grade per subregion read (with the %
    /// BML-vs-cyst grade and lesion count as components), or the x-ray's grades as components.
    public static func imagingObservations(_ study: ImagingStudyRecord, patientID: UUID, side: Side) -> [FHIRObservation] {
        let id = study.id.uuidString.lowercased()
        let subject = FHIRReference(reference: "Patient/\(patientID.uuidString.lowercased())")
        let meta = FHIRMeta.at(study.createdAt)
        var out: [FHIRObservation] = []
        for finding in study.mri?.bml ?? [] {
            let region = finding.subregion.rawValue
            let words = region.replacingOccurrences(of: "-", with: " ")
            var components: [FHIRObservation.Component] = []
            if let percent = finding.bmlPercent {
                components.append(.init(code: findingCode("bml-percent", "BML vs cyst, % of lesion (MOAKS grade)"), valueInteger: percent.rawValue))
            }
            if let count = finding.count {
                components.append(.init(code: findingCode("bml-count", "Number of BMLs in the subregion"), valueInteger: count))
            }
            out.append(FHIRObservation(
                id: "\(id)-bml.\(region)", meta: meta, status: "final", category: imagingCategory,
                code: findingCode("bml-size", "BML size grade (MOAKS)"), subject: subject, effectiveDateTime: study.date.iso,
                valueInteger: finding.size.rawValue,
                bodySite: FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaBodySite, code: region, display: words),
                                                       FHIRConditionCodes.laterality(side)], text: "\(side.rawValue) \(words)"),
                method: FHIRCodeableConcept(text: "MRI, MOAKS reading"),
                component: components.isEmpty ? nil : components))
        }
        if let xray = study.xray {
            var components: [FHIRObservation.Component] = []
            func grade(_ system: String, _ code: String, _ label: String) {
                components.append(.init(code: findingCode(code, "\(system) grade"),
                                        valueCodeableConcept: FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaGrade, code: "\(code):\(label)", display: "\(system) \(label)")],
                                                                                  text: "\(system) \(label)")))
            }
            if let kl = xray.kellgrenLawrence { grade("Kellgren–Lawrence", "kellgren-lawrence", kl.label) }
            if let a = xray.ahlback { grade("Ahlbäck", "ahlback", a.label) }
            if let t = xray.tonnis { grade("Tönnis", "tonnis", t.label) }
            if !components.isEmpty {
                out.append(FHIRObservation(
                    id: "\(id)-xray", meta: meta, status: "final", category: imagingCategory,
                    code: findingCode("xray-grades", "Radiographic osteoarthritis grades"), subject: subject, effectiveDateTime: study.date.iso,
                    method: FHIRCodeableConcept(text: "Plain radiograph"), component: components))
            }
        }
        return out
    }
}
