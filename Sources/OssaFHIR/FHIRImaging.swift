import Foundation
import OssaCore

extension FHIRSystems {
    /// Ossa's imaging findings: `bml-size` (MOAKS BML size grade per subregion; no LOINC code exists for it),
    /// `bml-percent`, `bml-count`, `mri-reading` (an MRI's other findings, with the `insufficiency-fracture…`,
    /// `avn…` and `suspected-tumour-or-infection` components), `focal-cartilage-lesion` (`cartilage-lesion-area`,
    /// `cartilage-lesion-depth` with `depth:<depth>` codes), `xray-grades` (the radiographic OA grades of one x-ray).
    public static var ossaFinding: String { ossaBase + "/finding" }
}

/// Imaging studies → Observations: one per MRI subregion read (MOAKS, Hunter 2011) and one per x-ray with its grades.
extension FHIRMapping {
    /// Which imaging Observation an id names: `<study>-bml.<subregion>`, `<study>-xray`, `<study>-mri` (the MRI's
    /// other findings) or `<study>-cartilage.<n>` (its n-th focal cartilage lesion, from 1).
    public enum ImagingObservation: Sendable, Equatable {
        case bml(study: UUID, subregion: BMLSubregion)
        case xray(study: UUID)
        case mri(study: UUID)
        case cartilage(study: UUID, number: Int)

        public init?(id: String) {
            guard id.count > 37, let study = UUID(uuidString: String(id.prefix(36))), id.dropFirst(36).first == "-" else { return nil }
            let rest = String(id.dropFirst(37))
            if rest == "xray" {
                self = .xray(study: study)
            } else if rest == "mri" {
                self = .mri(study: study)
            } else if rest.hasPrefix("bml."), let subregion = BMLSubregion(rawValue: String(rest.dropFirst(4))) {
                self = .bml(study: study, subregion: subregion)
            } else if rest.hasPrefix("cartilage."), let n = Int(rest.dropFirst(10)), n >= 1, String(n) == rest.dropFirst(10) {
                self = .cartilage(study: study, number: n)
            } else {
                return nil
            }
        }

        public var study: UUID {
            switch self {
            case .bml(let study, _), .xray(let study), .mri(let study), .cartilage(let study, _): study
            }
        }
    }

    static func findingCode(_ code: String, _ display: String) -> FHIRCodeableConcept {
        FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaFinding, code: code, display: display)], text: display)
    }

    static let imagingCategory = [FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.observationCategory, code: "imaging", display: "Imaging")])]

    /// The Observations of one study of an episode at `side`, each naming the episode (the `episode` extension) and
    /// the study's timing (`imaging-timing`): for an MRI, a BML size grade per subregion read (with the % BML-vs-cyst
    /// grade and lesion count as components), its other findings (`mri-reading`: insufficiency fracture, AVN,
    /// suspected tumour or infection; always written, so a reading without lesions is carried too) and each focal
    /// cartilage lesion; for an x-ray, its grades as components.
    public static func imagingObservations(_ study: ImagingStudyRecord, patientID: UUID, side: Side) -> [FHIRObservation] {
        let id = study.id.fhirID
        let subject = FHIRReference(reference: "Patient/\(patientID.fhirID)")
        let meta = FHIRMeta.at(study.createdAt)
        let extensions = [FHIRExtension(url: FHIRSystems.episodeExtension, valueReference: FHIRReference(reference: "Condition/\(study.episodeID.fhirID)")),
                          FHIRExtension(url: FHIRSystems.imagingTimingExtension, valueCode: study.timing.rawValue)]
        func site(_ subregion: BMLSubregion) -> FHIRCodeableConcept {
            let words = subregion.rawValue.replacingOccurrences(of: "-", with: " ")
            return FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaBodySite, code: subregion.rawValue, display: words),
                                                FHIRConditionCodes.laterality(side)], text: "\(side.rawValue) \(words)")
        }
        func millimetres(_ value: Double) -> FHIRQuantity { FHIRQuantity(value: value, unit: "mm", system: "http://unitsofmeasure.org", code: "mm") }
        var out: [FHIRObservation] = []
        if let mri = study.mri {
            for finding in mri.bml {
                var components: [FHIRObservation.Component] = []
                if let percent = finding.bmlPercent {
                    components.append(.init(code: findingCode("bml-percent", "BML vs cyst, % of lesion (MOAKS grade)"), valueInteger: percent.rawValue))
                }
                if let count = finding.count {
                    components.append(.init(code: findingCode("bml-count", "Number of BMLs in the subregion"), valueInteger: count))
                }
                out.append(FHIRObservation(
                    id: "\(id)-bml.\(finding.subregion.rawValue)", meta: meta, extension: extensions, status: "final", category: imagingCategory,
                    code: findingCode("bml-size", "BML size grade (MOAKS)"), subject: subject, effectiveDateTime: study.date.iso,
                    valueInteger: finding.size.rawValue, bodySite: site(finding.subregion), method: FHIRCodeableConcept(text: "MRI, MOAKS reading"),
                    component: components.isEmpty ? nil : components))
            }
            var other: [FHIRObservation.Component] = []
            func region(_ code: String, _ display: String, _ subregion: BMLSubregion?) {
                guard let subregion else { return }
                other.append(.init(code: findingCode(code, display), valueCodeableConcept: FHIRCodeableConcept(
                    coding: [FHIRCoding(system: FHIRSystems.ossaBodySite, code: subregion.rawValue, display: subregion.rawValue.replacingOccurrences(of: "-", with: " "))])))
            }
            if let line = mri.insufficiencyFracture {
                other.append(.init(code: findingCode("insufficiency-fracture", "Subchondral insufficiency fracture line"), valueBoolean: true))
                region("insufficiency-fracture-subregion", "Subregion of the fracture line", line.subregion)
                if let length = line.lengthMm { other.append(.init(code: findingCode("insufficiency-fracture-length", "Length of the fracture line"), valueQuantity: millimetres(length))) }
            }
            if let avn = mri.avn {
                other.append(.init(code: findingCode("avn", "Osteonecrotic lesion"), valueBoolean: true))
                region("avn-subregion", "Subregion of the osteonecrotic lesion", avn.subregion)
                if let collapse = avn.collapse { other.append(.init(code: findingCode("avn-collapse", "Subchondral collapse"), valueBoolean: collapse)) }
                if let depression = avn.depressionMm {
                    other.append(.init(code: findingCode("avn-depression", "Articular surface depression"), valueQuantity: millimetres(depression)))
                }
            }
            if let suspicion = mri.suspectedTumourOrInfection {
                other.append(.init(code: findingCode("suspected-tumour-or-infection", "Suspected tumour or osteomyelitis"), valueBoolean: suspicion))
            }
            out.append(FHIRObservation(
                id: "\(id)-mri", meta: meta, extension: extensions, status: "final", category: imagingCategory,
                code: findingCode("mri-reading", "MRI reading: findings besides the BML grades"), subject: subject, effectiveDateTime: study.date.iso,
                method: FHIRCodeableConcept(text: "MRI, MOAKS reading"), component: other.isEmpty ? nil : other))
            for (n, lesion) in (mri.focalCartilageLesions ?? []).enumerated() {
                var components: [FHIRObservation.Component] = []
                if let area = lesion.areaCm2 {
                    components.append(.init(code: findingCode("cartilage-lesion-area", "Area of the lesion"),
                                            valueQuantity: FHIRQuantity(value: area, unit: "cm2", system: "http://unitsofmeasure.org", code: "cm2")))
                }
                if let depth = lesion.depth {
                    components.append(.init(code: findingCode("cartilage-lesion-depth", "Depth of the lesion"), valueCodeableConcept: FHIRCodeableConcept(
                        coding: [FHIRCoding(system: FHIRSystems.ossaFinding, code: "depth:\(depth.rawValue)", display: depth.rawValue.replacingOccurrences(of: "-", with: " "))])))
                }
                out.append(FHIRObservation(
                    id: "\(id)-cartilage.\(n + 1)", meta: meta, extension: extensions, status: "final", category: imagingCategory,
                    code: findingCode("focal-cartilage-lesion", "Focal cartilage lesion"), subject: subject, effectiveDateTime: study.date.iso,
                    bodySite: lesion.subregion.map(site), method: FHIRCodeableConcept(text: "MRI, MOAKS reading"),
                    component: components.isEmpty ? nil : components))
            }
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
            out.append(FHIRObservation(
                id: "\(id)-xray", meta: meta, extension: extensions, status: "final", category: imagingCategory,
                code: findingCode("xray-grades", "Radiographic osteoarthritis grades"), subject: subject, effectiveDateTime: study.date.iso,
                method: FHIRCodeableConcept(text: "Plain radiograph"), component: components.isEmpty ? nil : components))
        }
        return out
    }
}

/// An Observation as a client sends it: an imaging finding of a study (read as Ossa writes them, `imagingObservations`),
/// or anything else — a score, which Ossa computes again from its QuestionnaireResponse and does not import.
public enum FHIRObservationInput: Sendable, Equatable {
    case imaging(FHIRImagingInput)
    /// Not an imaging finding of Ossa's (its code is not one of `FHIRSystems.ossaFinding`'s imaging codes).
    case derived

    static let elements: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
        "identifier", "basedOn", "partOf", "status", "category", "code", "subject", "focus", "encounter", "effectiveDateTime",
        "effectivePeriod", "effectiveInstant", "issued", "performer", "valueQuantity", "valueCodeableConcept", "valueString",
        "valueBoolean", "valueInteger", "valueRange", "valueRatio", "valueSampledData", "valueTime", "valueDateTime",
        "valuePeriod", "dataAbsentReason", "interpretation", "note", "bodySite", "method", "specimen", "device",
        "referenceRange", "hasMember", "derivedFrom", "component",
    ]
    static let imagingCodes: Set<String> = ["bml-size", "mri-reading", "focal-cartilage-lesion", "xray-grades"]

    public static func parse(_ object: [String: Any], at path: String = "Observation") throws(FHIRInputError) -> FHIRObservationInput {
        var r = FHIRReader()
        let code = FHIRConditionInput.codings(object["code"] as? [String: Any]).first { $0.system == FHIRSystems.ossaFinding && imagingCodes.contains($0.code) }?.code
        guard let code else { return .derived }
        r.only(object, elements, at: path)
        switch r.string(object, "status", at: path) {
        case "final"?, "amended"?, "corrected"?: break
        case let other?: r.refused("\(path).status", "is \(other); Ossa stores final readings")
        case nil: if object["status"] == nil { r.invalid("\(path).status", "is required") }
        }
        let subject = referenceText(&r, object, "subject", at: path, required: "is required (the patient)")
        var condition: String?, timing: ImagingTiming?
        for (extPath, ext) in r.objects(object, "extension", at: path) {
            switch ext["url"] as? String {
            case FHIRSystems.episodeExtension?:
                condition = episodeExtension(&r, ext, at: extPath)
            case FHIRSystems.imagingTimingExtension?:
                if let text = r.string(ext, "valueCode", at: extPath) {
                    timing = ImagingTiming(rawValue: text)
                    if timing == nil { r.refused("\(extPath).valueCode", "\"\(text)\" is not one of \(ImagingTiming.allCases.map(\.rawValue).joined(separator: ", "))") }
                }
            default: continue
            }
        }
        if condition == nil, !r.issues.contains(where: { $0.expression.hasPrefix("\(path).extension") }) {
            r.refused("\(path).extension", "Ossa files an imaging finding under an episode: add the \(FHIRSystems.episodeExtension) extension naming the episode's Condition")
        }
        if timing == nil, !r.issues.contains(where: { $0.expression.hasPrefix("\(path).extension") }) {
            r.refused("\(path).extension", "give the study's timing: the \(FHIRSystems.imagingTimingExtension) extension (baseline or follow-up)")
        }
        let date: CalendarDate?
        if object["effectiveDateTime"] != nil { date = dayOfDateTime(&r, object, "effectiveDateTime", at: path) } else {
            date = nil
            r.refused("\(path).effectiveDateTime", "is required (the day of the study)")
        }
        func subregion(_ concept: [String: Any]?, at where_: String) -> BMLSubregion? {
            guard let text = FHIRConditionInput.codings(concept).first(where: { $0.system == FHIRSystems.ossaBodySite })?.code else {
                r.refused(where_, "names no subregion of \(FHIRSystems.ossaBodySite)")
                return nil
            }
            guard let region = BMLSubregion(rawValue: text) else {
                r.refused(where_, "\"\(text)\" is not a BML subregion (\(BMLSubregion.allCases.map(\.rawValue).joined(separator: ", ")))")
                return nil
            }
            return region
        }
        func integer(_ object: [String: Any], at where_: String) -> Int? {
            guard let number = jsonNumber(object["valueInteger"]), number.doubleValue == number.doubleValue.rounded() else {
                r.invalid("\(where_).valueInteger", "is required (an integer)")
                return nil
            }
            return number.intValue
        }
        func grade<T: GradingScale>(_ type: T.Type, _ value: Int?, at where_: String) -> T? {
            guard let value else { return nil }
            do { return try T.from(value) } catch { r.invalid("\(where_).valueInteger", error.message); return nil }
        }
        func boolean(_ part: [String: Any], at where_: String) -> Bool? {
            guard let value = jsonBoolean(part["valueBoolean"]) else { r.invalid("\(where_).valueBoolean", "is required (true or false)"); return nil }
            return value
        }
        func quantity(_ part: [String: Any], unit: String, at where_: String) -> Double? {
            let q = r.object(part, "valueQuantity", at: where_)
            guard let value = (q?["value"] as? NSNumber).map(exactDouble) else { r.invalid("\(where_).valueQuantity.value", "is required"); return nil }
            if let given = q?["code"] as? String ?? q?["unit"] as? String, given != unit { r.refused("\(where_).valueQuantity", "is in \(given); Ossa records it in \(unit)") }
            return value
        }
        let components = r.objects(object, "component", at: path).map { ($0.0, $0.1, FHIRConditionInput.codings($0.1["code"] as? [String: Any]).first { $0.system == FHIRSystems.ossaFinding }?.code) }
        func unknown(_ where_: String, _ allowed: [String]) { r.refused("\(where_).code", "is not a component of this finding (\(allowed.joined(separator: ", ")))") }
        let finding: FHIRImagingInput.Finding?
        switch code {
        case "bml-size":
            let region = subregion(object["bodySite"] as? [String: Any], at: "\(path).bodySite")
            let size = grade(BMLSizeGrade.self, integer(object, at: path), at: path)
            var percent: BMLPercentGrade?, count: Int?
            for (where_, part, partCode) in components {
                switch partCode {
                case "bml-percent": percent = grade(BMLPercentGrade.self, integer(part, at: where_), at: where_)
                case "bml-count": count = integer(part, at: where_)
                default: unknown(where_, ["bml-percent", "bml-count"])
                }
            }
            finding = region.flatMap { region in size.map { .bml(BMLFinding(subregion: region, size: $0, bmlPercent: percent, count: count)) } }
        case "mri-reading":
            var fracture: InsufficiencyFractureLine?, avn: AVNLesion?, suspected: Bool?
            for (where_, part, partCode) in components {
                switch partCode {
                case "insufficiency-fracture": if boolean(part, at: where_) == true { fracture = fracture ?? InsufficiencyFractureLine() }
                case "insufficiency-fracture-subregion":
                    fracture = fracture ?? InsufficiencyFractureLine()
                    fracture?.subregion = subregion(part["valueCodeableConcept"] as? [String: Any], at: "\(where_).valueCodeableConcept")
                case "insufficiency-fracture-length":
                    fracture = fracture ?? InsufficiencyFractureLine()
                    fracture?.lengthMm = quantity(part, unit: "mm", at: where_)
                case "avn": if boolean(part, at: where_) == true { avn = avn ?? AVNLesion() }
                case "avn-subregion":
                    avn = avn ?? AVNLesion()
                    avn?.subregion = subregion(part["valueCodeableConcept"] as? [String: Any], at: "\(where_).valueCodeableConcept")
                case "avn-collapse":
                    avn = avn ?? AVNLesion()
                    avn?.collapse = boolean(part, at: where_)
                case "avn-depression":
                    avn = avn ?? AVNLesion()
                    avn?.depressionMm = quantity(part, unit: "mm", at: where_)
                case "suspected-tumour-or-infection": suspected = boolean(part, at: where_)
                default: unknown(where_, ["insufficiency-fracture", "insufficiency-fracture-subregion", "insufficiency-fracture-length", "avn",
                                          "avn-subregion", "avn-collapse", "avn-depression", "suspected-tumour-or-infection"])
                }
            }
            finding = .mriReading(insufficiencyFracture: fracture, avn: avn, suspectedTumourOrInfection: suspected)
        case "focal-cartilage-lesion":
            var lesion = FocalCartilageLesion()
            if let site = object["bodySite"] as? [String: Any] { lesion.subregion = subregion(site, at: "\(path).bodySite") }
            for (where_, part, partCode) in components {
                switch partCode {
                case "cartilage-lesion-area": lesion.areaCm2 = quantity(part, unit: "cm2", at: where_)
                case "cartilage-lesion-depth":
                    let text = FHIRConditionInput.codings(part["valueCodeableConcept"] as? [String: Any]).first { $0.system == FHIRSystems.ossaFinding }?.code ?? ""
                    lesion.depth = text.hasPrefix("depth:") ? CartilageLesionDepth(rawValue: String(text.dropFirst(6))) : nil
                    if lesion.depth == nil {
                        r.refused("\(where_).valueCodeableConcept", "names no depth (\(CartilageLesionDepth.allCases.map { "depth:\($0.rawValue)" }.joined(separator: ", ")))")
                    }
                default: unknown(where_, ["cartilage-lesion-area", "cartilage-lesion-depth"])
                }
            }
            finding = .cartilage(lesion)
        default:
            var grades = XRayGrades()
            for (where_, part, partCode) in components {
                let text = FHIRConditionInput.codings(part["valueCodeableConcept"] as? [String: Any]).first { $0.system == FHIRSystems.ossaGrade }?.code ?? ""
                let label = text.split(separator: ":", maxSplits: 1).last.map(String.init) ?? ""
                func read<T: GradingScale>(_ type: T.Type) -> T? {
                    do { return try T.parse(label) } catch { r.refused("\(where_).valueCodeableConcept", error.message); return nil }
                }
                switch partCode {
                case "kellgren-lawrence": grades.kellgrenLawrence = read(KellgrenLawrenceGrade.self)
                case "ahlback": grades.ahlback = read(AhlbackGrade.self)
                case "tonnis": grades.tonnis = read(TonnisGrade.self)
                default: unknown(where_, ["kellgren-lawrence", "ahlback", "tonnis"])
                }
            }
            finding = .xray(grades)
        }
        guard r.issues.isEmpty, let subject, let condition, let timing, let date, let finding else { throw FHIRInputError(issues: r.issues) }
        let id = (object["id"] as? String).flatMap(FHIRMapping.ImagingObservation.init(id:))
        return .imaging(FHIRImagingInput(subject: subject, condition: condition, timing: timing, date: date, study: id?.study, finding: finding))
    }
}

/// One imaging finding of a study: the study is made of the findings of an input that share its id (Ossa's
/// Observation ids start with the study's) or, for another system's, its episode, day, modality and timing.
public struct FHIRImagingInput: Sendable, Equatable {
    public enum Finding: Sendable, Equatable {
        case bml(BMLFinding)
        case mriReading(insufficiencyFracture: InsufficiencyFractureLine?, avn: AVNLesion?, suspectedTumourOrInfection: Bool?)
        case cartilage(FocalCartilageLesion)
        case xray(XRayGrades)

        public var modality: ImagingModality {
            if case .xray = self { .xray } else { .mri }
        }
    }

    public var subject: String
    public var condition: String
    public var timing: ImagingTiming
    public var date: CalendarDate
    /// The study's id at the source (from an Ossa Observation id).
    public var study: UUID?
    public var finding: Finding

    /// Which findings make one study.
    public var studyKey: String {
        study.map { "study:\($0)" } ?? "\(condition)|\(finding.modality.rawValue)|\(timing.rawValue)|\(date.iso)"
    }
}
