import Foundation
import OssaCore

/// One problem with a resource a client sent: where (a FHIRPath-style location, `Patient.name[0].family`) and what.
public struct FHIRInputIssue: Sendable, Equatable, CustomStringConvertible {
    public var expression: String
    public var message: String
    /// The JSON is not valid FHIR (a wrong type, an unknown element, a bad date): 400. Otherwise the resource is
    /// valid FHIR that Ossa cannot store as it is (a rule of the registry): 422.
    public var structural: Bool

    public init(expression: String, message: String, structural: Bool) {
        self.expression = expression
        self.message = message
        self.structural = structural
    }

    public var description: String { "\(expression): \(message)" }
}

/// Every problem found in a resource, not just the first.
public struct FHIRInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [FHIRInputIssue]

    public init(issues: [FHIRInputIssue]) {
        self.issues = issues
    }

    public var structural: Bool { issues.contains { $0.structural } }
    public var description: String { issues.map(\.description).joined(separator: "; ") }
}

/// Reads a resource's JSON object element by element, collecting every problem with its location.
struct FHIRReader {
    var issues: [FHIRInputIssue] = []

    mutating func invalid(_ path: String, _ message: String) { issues.append(FHIRInputIssue(expression: path, message: message, structural: true)) }
    mutating func refused(_ path: String, _ message: String) { issues.append(FHIRInputIssue(expression: path, message: message, structural: false)) }

    /// Refuses elements the resource type does not define (`_x` carries primitive extensions of `x`), and any
    /// `modifierExtension`: Ossa cannot know what such an extension changes, so it must not store the rest.
    mutating func only(_ object: [String: Any], _ elements: Set<String>, at path: String) {
        // The usual case, every element known, without sorting the keys (they are sorted for the problems' order).
        if object.keys.allSatisfy({ $0 != "modifierExtension" && elements.contains($0.hasPrefix("_") ? String($0.dropFirst()) : $0) }) { return }
        for key in object.keys.sorted() {
            let base = key.hasPrefix("_") ? String(key.dropFirst()) : key
            if key == "modifierExtension" {
                refused("\(path).modifierExtension", "modifier extensions are not supported: Ossa cannot store what they change")
            } else if !elements.contains(base) {
                invalid("\(path).\(key)", "is not an element of \(path.split(separator: ".").first.map(String.init) ?? path)")
            }
        }
    }

    mutating func string(_ object: [String: Any], _ key: String, at path: String) -> String? {
        guard let value = object[key] else { return nil }
        guard let text = value as? String else {
            invalid("\(path).\(key)", "must be a string")
            return nil
        }
        // FHIR strings are never empty and carry no leading or trailing whitespace that matters.
        let trimmed = text.trimmedWhitespace
        guard !trimmed.isEmpty else {
            invalid("\(path).\(key)", "must not be empty")
            return nil
        }
        return trimmed
    }

    mutating func object(_ object: [String: Any], _ key: String, at path: String) -> [String: Any]? {
        guard let value = object[key] else { return nil }
        guard let inner = value as? [String: Any] else {
            invalid("\(path).\(key)", "must be an object")
            return nil
        }
        return inner
    }

    /// An array of objects, each with its path (`Patient.name[0]`).
    mutating func objects(_ object: [String: Any], _ key: String, at path: String) -> [(String, [String: Any])] {
        guard let value = object[key] else { return [] }
        guard let items = value as? [Any], !items.isEmpty else {
            invalid("\(path).\(key)", "must be a non-empty array")
            return []
        }
        var out: [(String, [String: Any])] = []
        for (i, item) in items.enumerated() {
            guard let inner = item as? [String: Any] else {
                invalid("\(path).\(key)[\(i)]", "must be an object")
                continue
            }
            out.append(("\(path).\(key)[\(i)]", inner))
        }
        return out
    }

    mutating func strings(_ object: [String: Any], _ key: String, at path: String) -> [String] {
        guard let value = object[key] else { return [] }
        guard let items = value as? [Any], !items.isEmpty else {
            invalid("\(path).\(key)", "must be a non-empty array")
            return []
        }
        return items.enumerated().compactMap { i, item in
            guard let text = item as? String, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                invalid("\(path).\(key)[\(i)]", "must be a non-empty string")
                return nil
            }
            return text.trimmingCharacters(in: .whitespaces)
        }
    }

    /// A FHIR `date` Ossa can store: a whole day (`YYYY-MM-DD`; FHIR also allows `YYYY` and `YYYY-MM`).
    mutating func day(_ object: [String: Any], _ key: String, at path: String) -> CalendarDate? {
        guard let text = string(object, key, at: path) else { return nil }
        if text.count == 4 || text.count == 7, text.allSatisfy({ $0.isNumber || $0 == "-" }) {
            refused("\(path).\(key)", "\"\(text)\" is a partial date; Ossa needs the whole day (YYYY-MM-DD)")
            return nil
        }
        do {
            return try CalendarDate(iso: text)
        } catch {
            invalid("\(path).\(key)", error.message)
            return nil
        }
    }

    /// The resource's JSON object, its type checked.
    static func resource(_ data: Data, type: String) throws(FHIRInputError) -> [String: Any] {
        guard let object = FHIRJSONParser.object(data) else {
            throw FHIRInputError(issues: [FHIRInputIssue(expression: type, message: "the body is not a JSON object", structural: true)])
        }
        guard let kind = object["resourceType"] as? String else {
            throw FHIRInputError(issues: [FHIRInputIssue(expression: "resourceType", message: "is missing", structural: true)])
        }
        guard kind == type else {
            throw FHIRInputError(issues: [FHIRInputIssue(expression: "resourceType", message: "is \(kind); this endpoint takes a \(type)", structural: true)])
        }
        return object
    }
}

/// A Patient as a client sends it (`POST /fhir/Patient`, a Bundle entry), read into what Ossa stores.
public struct FHIRPatientInput: Sendable, Equatable {
    /// The medical record number: the identifier whose system is a site's MRN system (`FHIRSystems.mrn(site:)`), else
    /// the one typed `MR`, else the only identifier given.
    public var mrn: String?
    /// The site whose MRN system the identifier names, when it does.
    public var mrnSite: UUID?
    /// The site named in `managingOrganization`: its code (`identifier`, system `FHIRSystems.site`) or its id
    /// (`reference` `Organization/<site id>`).
    public var siteCode: String?
    public var siteID: UUID?
    public var familyName: String
    public var givenName: String
    public var birthDate: CalendarDate
    public var sex: PatientSex?
    public var email: String?
    public var phone: String?

    /// Every element R4 defines on Patient (those Ossa does not store are accepted and not kept).
    static let elements: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
        "identifier", "active", "name", "telecom", "gender", "birthDate", "deceasedBoolean", "deceasedDateTime", "address",
        "maritalStatus", "multipleBirthBoolean", "multipleBirthInteger", "photo", "contact", "communication",
        "generalPractitioner", "managingOrganization", "link",
    ]

    public static func decode(_ data: Data) throws(FHIRInputError) -> FHIRPatientInput {
        try parse(try FHIRReader.resource(data, type: "Patient"))
    }

    /// Reads a Patient object (located at `path`: `Patient`, or `Bundle.entry[2].resource`).
    public static func parse(_ object: [String: Any], at path: String = "Patient") throws(FHIRInputError) -> FHIRPatientInput {
        var r = FHIRReader()
        r.only(object, elements, at: path)

        // Identifiers: the MRN.
        var mrn: (value: String, site: UUID?)?
        var typedMR: String?, only: String?
        let identifiers = r.objects(object, "identifier", at: path)
        for (here, identifier) in identifiers {
            let system = r.string(identifier, "system", at: here)
            guard let value = r.string(identifier, "value", at: here) else { continue }
            if let system, let site = FHIRSystems.site(ofMRNSystem: system) {
                if mrn != nil { r.refused(here, "a second MRN of an Ossa site; a patient has one record per site") }
                mrn = (value, site)
            }
            let codes = (r.object(identifier, "type", at: here)?["coding"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            if codes.contains("MR") { typedMR = typedMR ?? value }
            if identifiers.count == 1 { only = value }
        }
        let chosenMRN = mrn?.value ?? typedMR ?? only
        if let chosenMRN, chosenMRN.count > 64 { r.refused("\(path).identifier", "the MRN is longer than 64 characters") }

        // Name: the official one, else the first.
        let names = r.objects(object, "name", at: path)
        let chosen = names.first { ($0.1["use"] as? String) == "official" } ?? names.first
        var family: String?, given: String?
        if let (here, name) = chosen {
            family = r.string(name, "family", at: here)
            let givens = r.strings(name, "given", at: here)
            given = givens.isEmpty ? nil : givens.joined(separator: " ")
            if family == nil, name["family"] == nil { r.refused("\(here).family", "is required: Ossa files a patient under the family name") }
            if given == nil, name["given"] == nil { r.refused("\(here).given", "is required: Ossa needs a given name") }
        } else if object["name"] == nil {
            r.refused("\(path).name", "is required: Ossa needs the family and given name")
        }

        var sex: PatientSex?
        if let gender = r.string(object, "gender", at: path) {
            sex = PatientSex(rawValue: gender)
            if sex == nil { r.invalid("\(path).gender", "\"\(gender)\" is not one of male, female, other, unknown") }
        }
        let birthDate = r.day(object, "birthDate", at: path)
        if object["birthDate"] == nil { r.refused("\(path).birthDate", "is required: Ossa needs the date of birth") }

        var email: String?, phone: String?
        for (here, contact) in r.objects(object, "telecom", at: path) {
            let system = r.string(contact, "system", at: here)
            let value = r.string(contact, "value", at: here)
            if system == "email", email == nil { email = value }
            if system == "phone" || system == "sms", phone == nil { phone = value }
        }

        var siteCode: String?, siteID: UUID?
        if let organization = r.object(object, "managingOrganization", at: path) {
            let here = "\(path).managingOrganization"
            if let reference = r.string(organization, "reference", at: here) {
                if reference.hasPrefix("Organization/"), let id = UUID(uuidString: String(reference.dropFirst("Organization/".count))) {
                    siteID = id
                } else {
                    r.refused("\(here).reference", "\"\(reference)\" is not an Ossa site (Organization/<site id>)")
                }
            }
            if let identifier = r.object(organization, "identifier", at: here) {
                let system = r.string(identifier, "system", at: "\(here).identifier")
                if system != FHIRSystems.site {
                    r.refused("\(here).identifier.system", "must be \(FHIRSystems.site) (the value is the site's code)")
                }
                siteCode = r.string(identifier, "value", at: "\(here).identifier")
            }
        }

        guard r.issues.isEmpty, let familyName = family, let givenName = given, let birthDate else {
            throw FHIRInputError(issues: r.issues.isEmpty ? [FHIRInputIssue(expression: path, message: "is incomplete", structural: false)] : r.issues)
        }
        return FHIRPatientInput(mrn: chosenMRN, mrnSite: mrn?.site, siteCode: siteCode, siteID: siteID, familyName: familyName,
                                givenName: givenName, birthDate: birthDate, sex: sex, email: email, phone: phone)
    }
}

extension FHIRSystems {
    /// Sites by their code (`managingOrganization.identifier`).
    public static let site = "https://ossa-registry.org/fhir/NamingSystem/site"

    /// The site of an MRN system written by `mrn(site:)`.
    public static func site(ofMRNSystem system: String) -> UUID? {
        let prefix = site + "/", suffix = "/mrn"
        guard system.hasPrefix(prefix), system.hasSuffix(suffix) else { return nil }
        return UUID(uuidString: String(system.dropFirst(prefix.count).dropLast(suffix.count)))
    }
}

/// A Condition as a client sends it, read into an episode to open: the patient, the joint and side, the diagnosis
/// with its grades. The codes Ossa reads are the ones it writes (`FHIRMapping.condition`): Ossa's own, and the
/// ICD-10-CM and SNOMED CT codes that mean exactly one of its diagnoses at a joint.
public struct FHIRConditionInput: Sendable, Equatable {
    /// `subject.reference` as given: `Patient/<id>`, or a bundle's `urn:uuid:…`.
    public var subject: String
    public var joint: Joint
    public var side: Side
    public var diagnosis: Diagnosis

    static let elements: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
        "identifier", "clinicalStatus", "verificationStatus", "category", "severity", "code", "bodySite", "subject", "encounter",
        "onsetDateTime", "onsetAge", "onsetPeriod", "onsetRange", "onsetString", "abatementDateTime", "abatementAge",
        "abatementPeriod", "abatementRange", "abatementString", "recordedDate", "recorder", "asserter", "stage", "evidence", "note",
    ]

    public static func decode(_ data: Data) throws(FHIRInputError) -> FHIRConditionInput {
        try parse(try FHIRReader.resource(data, type: "Condition"))
    }

    static func codings(_ concept: [String: Any]?) -> [(system: String, code: String)] {
        (concept?["coding"] as? [[String: Any]] ?? []).compactMap { c in
            guard let system = c["system"] as? String, let code = c["code"] as? String else { return nil }
            return (system, code)
        }
    }

    public static func parse(_ object: [String: Any], at path: String = "Condition") throws(FHIRInputError) -> FHIRConditionInput {
        var r = FHIRReader()
        r.only(object, elements, at: path)

        var subject: String?
        if let reference = r.object(object, "subject", at: path) {
            subject = r.string(reference, "reference", at: "\(path).subject")
            if subject == nil, reference["reference"] == nil { r.refused("\(path).subject.reference", "is required: the patient (Patient/<id>)") }
        } else {
            r.invalid("\(path).subject", "is required (Condition.subject, 1..1)")
        }

        // What the codes say: a diagnosis kind, and perhaps a joint and side.
        var kind: Diagnosis.Kind?, joint: Joint?, side: Side?
        var conflicts: [String] = []
        func learn<T: Equatable>(_ value: T, into slot: inout T?, _ element: String) {
            if let known = slot, known != value { conflicts.append(element) } else { slot = value }
        }
        let code = r.object(object, "code", at: path)
        for (system, value) in codings(code) {
            switch (system, value) {
            case (FHIRSystems.ossaDiagnosis, _):
                if let k = Diagnosis.Kind(rawValue: value) { learn(k, into: &kind, "\(path).code") }
            case (FHIRSystems.icd10cm, "M17.11"), (FHIRSystems.icd10cm, "M17.12"), (FHIRSystems.icd10cm, "M16.11"), (FHIRSystems.icd10cm, "M16.12"):
                learn(.osteoarthritis, into: &kind, "\(path).code")
                learn(value.hasPrefix("M17") ? Joint.knee : .hip, into: &joint, "\(path).code")
                learn(value.hasSuffix("1") ? Side.right : .left, into: &side, "\(path).code")
            case (FHIRSystems.snomed, "239873007"), (FHIRSystems.snomed, "239872002"):
                learn(.osteoarthritis, into: &kind, "\(path).code")
                learn(value == "239873007" ? Joint.knee : .hip, into: &joint, "\(path).code")
            default: break
            }
        }
        for (here, site) in r.objects(object, "bodySite", at: path) {
            for (system, value) in codings(site) {
                switch (system, value) {
                case (FHIRSystems.ossaBodySite, _):
                    let parts = value.split(separator: "-").map(String.init)
                    if parts.count == 2, let j = Joint(rawValue: parts[0]), let s = Side(rawValue: parts[1]) {
                        learn(j, into: &joint, here)
                        learn(s, into: &side, here)
                    }
                case (FHIRSystems.snomed, "49076000"): learn(Joint.knee, into: &joint, here)
                case (FHIRSystems.snomed, "24136001"): learn(Joint.hip, into: &joint, here)
                case (FHIRSystems.snomed, "24028007"): learn(Side.right, into: &side, here)
                case (FHIRSystems.snomed, "7771000"): learn(Side.left, into: &side, here)
                default: break
                }
            }
        }
        for element in conflicts { r.refused(element, "its codes disagree with the Condition's other codes on the diagnosis, joint or side") }
        if kind == nil {
            r.refused("\(path).code", "no diagnosis Ossa records: give Ossa's code (\(FHIRSystems.ossaDiagnosis): "
                      + Diagnosis.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                      + ") or ICD-10-CM M17.11, M17.12, M16.11, M16.12 or SNOMED CT 239873007, 239872002")
        }
        if joint == nil || side == nil {
            r.refused("\(path).bodySite", "give the joint and side: Ossa's body-site code (knee-left) or SNOMED CT 49076000 / 24136001 with 24028007 / 7771000")
        }

        // Grades, from the stages Ossa writes (`kellgren-lawrence:3`, `ahlback:II`, `tonnis:2`, `koshino:2`, `arco:IIIA`).
        var grades: [String: String] = [:]
        for (here, stage) in r.objects(object, "stage", at: path) {
            for (system, value) in codings(r.object(stage, "summary", at: here)) where system == FHIRSystems.ossaGrade {
                let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, ["kellgren-lawrence", "ahlback", "tonnis", "koshino", "arco"].contains(parts[0]) else {
                    r.refused("\(here).summary", "\"\(value)\" is not one of Ossa's grades (kellgren-lawrence:N, ahlback:N, tonnis:N, koshino:N, arco:N)")
                    continue
                }
                if grades[parts[0]] != nil { r.refused("\(here).summary", "a second \(parts[0]) grade") }
                grades[parts[0]] = parts[1]
            }
        }
        var diagnosis: Diagnosis?
        if let kind {
            do {
                diagnosis = try Self.diagnosis(kind, grades)
            } catch {
                r.refused("\(path).stage", error.message)
            }
        }
        // A bone bruise's injury: its day as `onsetDateTime`, the months since it as Ossa's extension.
        let onset = object["onsetDateTime"] != nil ? dayOfDateTime(&r, object, "onsetDateTime", at: path) : nil
        var months: Int?
        for (extPath, ext) in r.objects(object, "extension", at: path) where ext["url"] as? String == FHIRSystems.monthsSinceInjuryExtension {
            guard let n = jsonNumber(ext["valueInteger"]), n.doubleValue == n.doubleValue.rounded() else {
                r.invalid("\(extPath).valueInteger", "must be an integer")
                continue
            }
            months = n.intValue
        }
        if case .boneBruise = diagnosis {
            diagnosis = .boneBruise(injuryDate: onset, monthsSinceInjury: months)
        } else if months != nil {
            r.refused("\(path).extension", "months since injury belong to a bone bruise")
        }
        guard r.issues.isEmpty, let subject, let joint, let side, let diagnosis else {
            throw FHIRInputError(issues: r.issues.isEmpty ? [FHIRInputIssue(expression: path, message: "is incomplete", structural: false)] : r.issues)
        }
        return FHIRConditionInput(subject: subject, joint: joint, side: side, diagnosis: diagnosis)
    }

    static func diagnosis(_ kind: Diagnosis.Kind, _ grades: [String: String]) throws(FieldValidationError) -> Diagnosis {
        func allow(_ names: Set<String>) throws(FieldValidationError) {
            if let other = grades.keys.sorted().first(where: { !names.contains($0) }) {
                throw FieldValidationError(path: "stage", message: "a \(kind.rawValue.replacingOccurrences(of: "-", with: " ")) takes no \(other) grade")
            }
        }
        switch kind {
        case .osteoarthritis:
            try allow(["kellgren-lawrence", "ahlback", "tonnis"])
            return .osteoarthritis(OAGrading(kellgrenLawrence: try grades["kellgren-lawrence"].map { g throws(FieldValidationError) in try KellgrenLawrenceGrade.parse(g, field: "stage") },
                                             ahlback: try grades["ahlback"].map { g throws(FieldValidationError) in try AhlbackGrade.parse(g, field: "stage") },
                                             tonnis: try grades["tonnis"].map { g throws(FieldValidationError) in try TonnisGrade.parse(g, field: "stage") }))
        case .insufficiencyFracture:
            try allow(["koshino"])
            return .insufficiencyFracture(koshino: try grades["koshino"].map { g throws(FieldValidationError) in try KoshinoStage.parse(g, field: "stage") })
        case .avascularNecrosis:
            try allow(["arco", "koshino"])
            if grades.count > 1 { throw FieldValidationError(path: "stage", message: "give one staging, ARCO or Koshino") }
            if let arco = grades["arco"] { return .avascularNecrosis(.arco(try ARCOStage.parse(arco, field: "stage"))) }
            if let koshino = grades["koshino"] { return .avascularNecrosis(.koshino(try KoshinoStage.parse(koshino, field: "stage"))) }
            return .avascularNecrosis(nil)
        case .boneMarrowLesion:
            try allow([])
            return .boneMarrowLesion
        case .boneBruise:
            try allow([])
            return .boneBruise(injuryDate: nil, monthsSinceInjury: nil)
        case .boneMarrowEdemaSyndrome:
            try allow([])
            return .boneMarrowEdemaSyndrome
        }
    }
}
