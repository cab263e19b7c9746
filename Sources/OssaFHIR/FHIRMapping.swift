import Foundation
import OssaCore

/// Code systems Ossa writes. The `ossa` ones are Ossa's own, documented in the README ("FHIR R4"): a code there
/// says exactly what the registry recorded, and standard codings sit beside it where a standard code says the same.
public enum FHIRSystems {
    public static let snomed = "http://snomed.info/sct"
    public static let icd10cm = "http://hl7.org/fhir/sid/icd-10-cm"
    public static let conditionCategory = "http://terminology.hl7.org/CodeSystem/condition-category"
    public static let conditionClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    public static let conditionVerification = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    public static let identifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
    /// Ossa's code systems: `<base>/diagnosis`, `<base>/body-site`, `<base>/grade`.
    public static let ossaBase = "https://ossa-registry.org/fhir/CodeSystem"
    public static var ossaDiagnosis: String { ossaBase + "/diagnosis" }
    public static var ossaBodySite: String { ossaBase + "/body-site" }
    public static var ossaGrade: String { ossaBase + "/grade" }
    public static var ossaProcedure: String { ossaBase + "/procedure" }
    public static var ossaProduct: String { ossaBase + "/product" }
    /// The `injection` extension (one per injection: target, product, volume, gauge, approach).
    public static let injectionExtension = "https://ossa-registry.org/fhir/StructureDefinition/injection"
    /// The `procedure-details` extension: setting, anaesthesia, guidance, fluoroscopy time, dose-area product, PRP and
    /// BMC preparation, complications with their severity, discharge instructions — so an export carries the whole
    /// procedure record and an import reproduces it.
    public static let procedureDetailsExtension = "https://ossa-registry.org/fhir/StructureDefinition/procedure-details"
    /// The `episode` extension of a QuestionnaireResponse: the episode's Condition the answers belong to (a patient may
    /// have a knee and a hip episode at once).
    public static let episodeExtension = "https://ossa-registry.org/fhir/StructureDefinition/episode"
    /// An imaging Observation's study timing: `baseline` or `follow-up` (valueCode).
    public static let imagingTimingExtension = "https://ossa-registry.org/fhir/StructureDefinition/imaging-timing"
    /// A bone bruise's months since the injury (when its day is not known), on the Condition.
    public static let monthsSinceInjuryExtension = "https://ossa-registry.org/fhir/StructureDefinition/months-since-injury"
    /// A site's medical record numbers: `<base>/site/<site id>/mrn` (one identifier system per site, as MRNs are).
    public static func mrn(site: UUID) -> String { "https://ossa-registry.org/fhir/NamingSystem/site/\(site.fhirID)/mrn" }
}

/// Standard codes for a diagnosis at a joint and side. Only codes whose meaning is exactly the registry's are
/// given (the others carry Ossa's own code alone, never a near miss):
/// - ICD-10-CM (CMS/NCHS FY2025 tabular list): M17.11 / M17.12 "Unilateral primary osteoarthritis, right / left
///   knee"; M16.11 / M16.12 "Unilateral primary osteoarthritis, right / left hip".
/// - SNOMED CT (International edition): 239873007 |Osteoarthritis of knee (disorder)|, 239872002 |Osteoarthritis of
///   hip (disorder)|; 49076000 |Knee joint structure| (DICOM CID 1006 uses it), 24136001 |Hip joint structure|; 24028007 |Right (qualifier
///   value)|, 7771000 |Left (qualifier value)|.
public enum FHIRConditionCodes {
    public static func standard(_ kind: Diagnosis.Kind, _ joint: Joint, _ side: Side) -> [FHIRCoding] {
        switch (kind, joint) {
        case (.osteoarthritis, .knee):
            [FHIRCoding(system: FHIRSystems.icd10cm, code: side == .right ? "M17.11" : "M17.12",
                        display: "Unilateral primary osteoarthritis, \(side.rawValue) knee"),
             FHIRCoding(system: FHIRSystems.snomed, code: "239873007", display: "Osteoarthritis of knee")]
        case (.osteoarthritis, .hip):
            [FHIRCoding(system: FHIRSystems.icd10cm, code: side == .right ? "M16.11" : "M16.12",
                        display: "Unilateral primary osteoarthritis, \(side.rawValue) hip"),
             FHIRCoding(system: FHIRSystems.snomed, code: "239872002", display: "Osteoarthritis of hip")]
        default: []
        }
    }

    public static func joint(_ joint: Joint) -> FHIRCoding? {
        switch joint {
        case .knee: FHIRCoding(system: FHIRSystems.snomed, code: "49076000", display: "Knee joint structure")
        case .hip: FHIRCoding(system: FHIRSystems.snomed, code: "24136001", display: "Hip joint structure")
        default: nil
        }
    }

    public static func laterality(_ side: Side) -> FHIRCoding {
        side == .right ? FHIRCoding(system: FHIRSystems.snomed, code: "24028007", display: "Right")
            : FHIRCoding(system: FHIRSystems.snomed, code: "7771000", display: "Left")
    }
}

/// OssaCore records → FHIR R4 resources.
public enum FHIRMapping {
    /// FHIR `instant`: UTC with milliseconds.
    public static func instant(_ date: Date?) -> String? {
        guard let date else { return nil }
        // Computed rather than formatted: an ISO8601DateFormatter costs an ICU formatter set-up per use, which was a
        // third of a bulk export's time. Same output: UTC, to the millisecond rounded as the formatter rounds.
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, millisecond) = floorDivision(milliseconds, 1000)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = civil(days: days)
        var text = ""
        text.reserveCapacity(24)
        func digits(_ value: Int64, _ width: Int) {
            let string = String(value)
            if string.count < width { text += String(repeating: "0", count: width - string.count) }
            text += string
        }
        digits(year, 4); text += "-"; digits(month, 2); text += "-"; digits(day, 2); text += "T"
        digits(secondOfDay / 3600, 2); text += ":"; digits(secondOfDay / 60 % 60, 2); text += ":"; digits(secondOfDay % 60, 2)
        text += "."; digits(millisecond, 3); text += "Z"
        return text
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    /// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01 (H. Hinnant's `civil_from_days`,
    /// https://howardhinnant.github.io/date_algorithms.html).
    private static func civil(days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public static func patient(_ p: PatientRecord, site: SiteRecord?) -> FHIRPatient {
        var telecom: [FHIRContactPoint] = []
        if let email = p.email, !email.isEmpty { telecom.append(FHIRContactPoint(system: "email", value: email)) }
        if let phone = p.phone, !phone.isEmpty { telecom.append(FHIRContactPoint(system: "phone", value: phone, use: "mobile")) }
        let mrn = p.mrn.flatMap { $0.isEmpty ? nil : $0 }.map {
            FHIRIdentifier(use: "usual", type: FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.identifierType, code: "MR", display: "Medical record number")]),
                           system: FHIRSystems.mrn(site: p.siteID), value: $0)
        }
        return FHIRPatient(id: p.id.fhirID, meta: FHIRMeta.at(p.updatedAt),
                           identifier: mrn.map { [$0] }, name: [FHIRHumanName(use: "official", family: p.familyName, given: [p.givenName])],
                           telecom: telecom.isEmpty ? nil : telecom, gender: p.sex?.rawValue, birthDate: p.birthDate.iso,
                           managingOrganization: site.map { FHIRReference(identifier: FHIRIdentifier(system: FHIRSystems.site, value: $0.code), display: $0.name) })
    }

    public static func condition(_ e: EpisodeRecord) -> FHIRCondition {
        let kind = e.diagnosis.kind
        let where_ = "\(e.side.rawValue) \(e.joint.rawValue)"
        let code = FHIRCodeableConcept(
            coding: [FHIRCoding(system: FHIRSystems.ossaDiagnosis, code: kind.rawValue, display: kind.rawValue.replacingOccurrences(of: "-", with: " "))]
                + FHIRConditionCodes.standard(kind, e.joint, e.side),
            text: "\(e.diagnosis.summary), \(where_)")
        let site = FHIRCodeableConcept(
            coding: [FHIRCoding(system: FHIRSystems.ossaBodySite, code: "\(e.joint.rawValue)-\(e.side.rawValue)", display: where_)]
                + [FHIRConditionCodes.joint(e.joint), FHIRConditionCodes.laterality(e.side)].compactMap { $0 },
            text: where_)
        let active = e.status == .open
        var injuryDay: CalendarDate?, injuryMonths: Int?
        if case .boneBruise(let day, let months) = e.diagnosis { (injuryDay, injuryMonths) = (day, months) }
        return FHIRCondition(
            id: e.id.fhirID, meta: FHIRMeta.at(e.updatedAt),
            extension: injuryMonths.map { [FHIRExtension(url: FHIRSystems.monthsSinceInjuryExtension, valueInteger: $0)] },
            clinicalStatus: FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.conditionClinical, code: active ? "active" : "inactive")]),
            verificationStatus: FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.conditionVerification, code: "confirmed")]),
            category: [FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.conditionCategory, code: "problem-list-item", display: "Problem List Item")])],
            code: code, bodySite: [site], subject: FHIRReference(reference: "Patient/\(e.patientID.fhirID)"),
            onsetDateTime: injuryDay?.iso, stage: stages(e.diagnosis), recordedDate: instant(e.createdAt))
    }

    /// A procedure of an episode of `patientID`. The code is Ossa's (`io-injection`, `intra-articular-injection`:
    /// no standard code says "subchondral PRP/BMC injection" exactly); each injection's target, product, volume,
    /// gauge and approach is an `injection` extension, the targets are `bodySite`s and the products `usedCode`s.
    public static func procedure(_ p: StoredProcedure, patientID: UUID) -> FHIRProcedure {
        let r = p.record
        func target(_ t: InjectionTarget) -> FHIRCodeableConcept {
            switch t {
            case .intraArticular:
                return FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaBodySite, code: "intra-articular", display: "joint space")], text: "intra-articular")
            case .bone(let bone, let subregion):
                let words = ([bone.rawValue] + (subregion.map { [$0.rawValue] } ?? [])).joined(separator: ", ").replacingOccurrences(of: "-", with: " ")
                return FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaBodySite, code: subregion.map { "\(bone.rawValue):\($0.rawValue)" } ?? bone.rawValue,
                                                        display: words)], text: words)
            }
        }
        func product(_ x: InjectedProduct) -> FHIRCodeableConcept {
            let display = x == .prp ? "platelet-rich plasma" : "bone marrow concentrate"
            return FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaProduct, code: x.rawValue, display: display)], text: display)
        }
        // Each distinct target and product once, in the order of the injections.
        var sites: [FHIRCodeableConcept] = [], products: [FHIRCodeableConcept] = []
        for injection in r.injections {
            let site = target(injection.target), used = product(injection.product)
            if !sites.contains(site) { sites.append(site) }
            if !products.contains(used) { products.append(used) }
        }
        let injections = r.injections.map { i -> FHIRExtension in
            var parts = [FHIRExtension(url: "target", valueCodeableConcept: target(i.target)),
                         FHIRExtension(url: "product", valueCode: i.product.rawValue),
                         FHIRExtension(url: "volume", valueQuantity: .millilitres(i.volumeMl))]
            if let gauge = i.gauge { parts.append(FHIRExtension(url: "gauge", valueInteger: gauge)) }
            if let approach = i.approach, !approach.isEmpty { parts.append(FHIRExtension(url: "approach", valueString: approach)) }
            return FHIRExtension(url: FHIRSystems.injectionExtension, extension: parts)
        }
        let code = p.kind == .io
            ? FHIRCoding(system: FHIRSystems.ossaProcedure, code: "io-injection", display: "Intraosseous (subchondral) injection")
            : FHIRCoding(system: FHIRSystems.ossaProcedure, code: "intra-articular-injection", display: "Intra-articular injection")
        var details = [FHIRExtension(url: "setting", valueCode: r.setting.rawValue), FHIRExtension(url: "anaesthesia", valueCode: r.anaesthesia.rawValue)]
        details += r.guidance.map { FHIRExtension(url: "guidance", valueCode: $0.rawValue) }
        if let seconds = r.fluoroscopySeconds { details.append(FHIRExtension(url: "fluoroscopySeconds", valueQuantity: .seconds(seconds))) }
        if let dap = r.doseAreaProduct { details.append(FHIRExtension(url: "doseAreaProduct", valueQuantity: .doseAreaProduct(dap))) }
        if let prp = r.prp { details.append(FHIRExtension(url: "prp", extension: FHIRParts.encode(prp))) }
        if let bmc = r.bmc { details.append(FHIRExtension(url: "bmc", extension: FHIRParts.encode(bmc))) }
        details += r.complications.map { FHIRExtension(url: "complication", extension: FHIRParts.encode($0)) }
        if let text = r.dischargeInstructions, !text.isEmpty { details.append(FHIRExtension(url: "dischargeInstructions", valueString: text)) }
        return FHIRProcedure(
            id: p.id.fhirID, meta: FHIRMeta.at(p.createdAt),
            extension: injections + [FHIRExtension(url: FHIRSystems.procedureDetailsExtension, extension: details)], status: "completed",
            code: FHIRCodeableConcept(coding: [code], text: code.display), subject: FHIRReference(reference: "Patient/\(patientID.fhirID)"),
            performedDateTime: r.date.iso,
            performer: r.operator_.isEmpty ? nil : [FHIRProcedurePerformer(actor: FHIRReference(display: r.operator_))],
            reasonReference: [FHIRReference(reference: "Condition/\(p.episodeID.fhirID)")],
            bodySite: sites.isEmpty ? nil : sites,
            complication: r.complications.isEmpty ? nil : r.complications.map { FHIRCodeableConcept(text: $0.description) },
            usedCode: products.isEmpty ? nil : products)
    }

    /// The grades recorded with the diagnosis, one stage each (Kellgren–Lawrence, Ahlbäck, Tönnis, Koshino, ARCO).
    static func stages(_ diagnosis: Diagnosis) -> [FHIRConditionStage]? {
        var out: [(String, String)] = []
        switch diagnosis {
        case .osteoarthritis(let g):
            if let kl = g.kellgrenLawrence { out.append(("Kellgren–Lawrence", kl.label)) }
            if let a = g.ahlback { out.append(("Ahlbäck", a.label)) }
            if let t = g.tonnis { out.append(("Tönnis", t.label)) }
        case .insufficiencyFracture(let k?), .avascularNecrosis(.koshino(let k)?):
            out.append(("Koshino", k.label))
        case .avascularNecrosis(.arco(let s)?):
            out.append(("ARCO", s.label))
        default: break
        }
        guard !out.isEmpty else { return nil }
        return out.map { system, label in
            let id = system.folding(options: .diacriticInsensitive, locale: nil).lowercased().replacingOccurrences(of: "–", with: "-")
            return FHIRConditionStage(summary: FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.ossaGrade, code: "\(id):\(label)", display: "\(system) \(label)")],
                                                                   text: "\(system) \(label)"),
                                      type: FHIRCodeableConcept(text: "\(system) grade"))
        }
    }
}

/// What the FHIR endpoint supports, in one table: the CapabilityStatement is written from it and the routes check
/// search parameters against it, so the statement lists exactly what is served.
public enum FHIRCapabilities {
    public struct SearchParameter: Sendable {
        public var name: String
        public var type: String
        public var documentation: String
    }
    public struct Resource: Sendable {
        public var type: String
        public var interactions: [String]
        /// `If-None-Exist` on create (`identifier=` only).
        public var conditionalCreate = false
        public var searchParameters: [SearchParameter]

        public init(type: String, interactions: [String], conditionalCreate: Bool = false, searchParameters: [SearchParameter]) {
            self.type = type
            self.interactions = interactions
            self.conditionalCreate = conditionalCreate
            // A versioned resource's search takes `_lastUpdated` too.
            self.searchParameters = searchParameters + (interactions.contains("vread") ? [FHIRCapabilities.lastUpdated] : [])
        }
    }

    /// When the record last changed (`meta.lastUpdated`): taken by the searches of versioned resources.
    public static let lastUpdated = SearchParameter(name: "_lastUpdated", type: "date",
                                                    documentation: "When the record last changed: a day (`YYYY-MM-DD`, UTC) or an instant, after at most one prefix `eq`, `ge`, `gt`, `le`, `lt`.")

    /// Parameters every search takes (paging).
    public static let common: [SearchParameter] = [
        SearchParameter(name: "_count", type: "number", documentation: "Results per page, 1–100 (default 50)."),
        SearchParameter(name: "_offset", type: "number", documentation: "Results to skip (the paging links carry it)."),
    ]

    public static let resources: [Resource] = [
        Resource(type: "Patient", interactions: ["read", "vread", "search-type", "create"], conditionalCreate: true, searchParameters: [
            SearchParameter(name: "name", type: "string", documentation: "Family or given name, or a part of it (case-insensitive)."),
            SearchParameter(name: "identifier", type: "token", documentation: "Medical record number (`value` or `system|value`)."),
        ]),
        Resource(type: "Condition", interactions: ["read", "vread", "search-type", "create"], searchParameters: [
            SearchParameter(name: "patient", type: "reference", documentation: "The patient (`Patient/<id>` or `<id>`)."),
            SearchParameter(name: "code", type: "token", documentation: "`code` or `system|code` of any coding: Ossa's diagnosis (e.g. `osteoarthritis`), ICD-10-CM (`M17.11`) or SNOMED CT; needs `patient`."),
        ]),
        Resource(type: "Procedure", interactions: ["read", "vread", "search-type", "create"], searchParameters: [
            SearchParameter(name: "patient", type: "reference", documentation: "The patient (`Patient/<id>` or `<id>`); required."),
            SearchParameter(name: "date", type: "date", documentation: "The day performed: `YYYY-MM-DD`, or with one prefix `eq`, `ge`, `gt`, `le`, `lt`."),
        ]),
        Resource(type: "Observation", interactions: ["read", "vread", "search-type"], searchParameters: [
            SearchParameter(name: "patient", type: "reference", documentation: "The patient (`Patient/<id>` or `<id>`); required."),
            SearchParameter(name: "code", type: "token", documentation: "`code` or `system|code`: a score's LOINC code (e.g. `http://loinc.org|72102-7`) or Ossa's (`<instrument>:<score>`, e.g. `koos:pain`), or an imaging finding's (`bml-size`, `xray-grades`)."),
            SearchParameter(name: "category", type: "token", documentation: "`survey` (questionnaire scores) or `imaging` (MRI and x-ray findings), or `system|code`."),
            SearchParameter(name: "date", type: "date", documentation: "The day of the response (UTC) or of the study: `YYYY-MM-DD`, or with one prefix `eq`, `ge`, `gt`, `le`, `lt`."),
        ]),
        Resource(type: "Questionnaire", interactions: ["read", "search-type"], searchParameters: [
            SearchParameter(name: "url", type: "uri", documentation: "The canonical URL, exactly (optionally with `|version`)."),
        ]),
        Resource(type: "QuestionnaireResponse", interactions: ["read", "vread", "search-type", "create"], searchParameters: [
            SearchParameter(name: "patient", type: "reference", documentation: "The patient (`Patient/<id>` or `<id>`); required."),
            SearchParameter(name: "questionnaire", type: "reference", documentation: "The Questionnaire: its canonical URL (optionally with `|version`), `Questionnaire/<id>` or `<id>`."),
            SearchParameter(name: "authored", type: "date", documentation: "The day the response was completed (UTC): `YYYY-MM-DD`, or with one prefix `eq`, `ge`, `gt`, `le`, `lt`."),
        ]),
        Resource(type: "Consent", interactions: ["read", "vread", "search-type"], searchParameters: [
            SearchParameter(name: "patient", type: "reference", documentation: "The patient (`Patient/<id>` or `<id>`); required."),
        ]),
        // Read-only, admins only: the audit log in sequence order (`_offset` n starts after entry n).
        Resource(type: "AuditEvent", interactions: ["read", "search-type"], searchParameters: []),
    ]

    public static func resource(_ type: String) -> Resource? { resources.first { $0.type == type } }

    /// The CapabilityStatement as JSON (`software.version`, `implementation.url` from the server).
    public static func statement(version: String, baseURL: String, date: String) -> [String: Any] {
        [
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": date,
            "kind": "instance",
            "software": ["name": "Ossa", "version": version],
            "implementation": ["description": "Ossa intraosseous regenerative therapy registry", "url": baseURL],
            "fhirVersion": OssaFHIR.fhirVersion,
            "format": ["application/fhir+json", "json"],
            "rest": [[
                "mode": "server",
                "security": ["description": "An Ossa API token (Authorization: Bearer) or a signed-in session; every read is limited to the caller's sites and audited."],
                // POST [base] with a Bundle: a transaction (all or nothing) or a batch (each entry on its own).
                "interaction": [["code": "transaction"], ["code": "batch"]],
                "resource": resources.map { r -> [String: Any] in
                    var entry: [String: Any] = [
                        "type": r.type,
                        "interaction": r.interactions.map { ["code": $0] },
                        "versioning": r.interactions.contains("vread") ? "versioned" : "no-version",
                        "readHistory": false,
                        "searchParam": (r.searchParameters + common).map { ["name": $0.name, "type": $0.type, "documentation": $0.documentation] },
                    ]
                    if r.conditionalCreate { entry["conditionalCreate"] = true }
                    return entry
                },
            ]],
        ]
    }
}
