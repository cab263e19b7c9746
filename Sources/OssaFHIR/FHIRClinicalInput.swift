import Foundation
import OssaCore

/// A reference as a resource names another: `Patient/<id>`, `Condition/<id>`, or a Bundle's `urn:uuid:…`.
func referenceText(_ reader: inout FHIRReader, _ object: [String: Any], _ key: String, at path: String, required message: String) -> String? {
    guard let reference = reader.object(object, key, at: path) else {
        if object[key] == nil { reader.refused("\(path).\(key)", message) }
        return nil
    }
    guard let text = reader.string(reference, "reference", at: "\(path).\(key)") else {
        if reference["reference"] == nil { reader.refused("\(path).\(key).reference", message) }
        return nil
    }
    return text
}

/// A day from a FHIR `dateTime` (`2026-03-04` or `2026-03-04T09:30:00+01:00`): the day as written.
func dayOfDateTime(_ reader: inout FHIRReader, _ object: [String: Any], _ key: String, at path: String) -> CalendarDate? {
    guard let text = reader.string(object, key, at: path) else { return nil }
    let day = text.count > 10 && text.dropFirst(10).first == "T" ? String(text.prefix(10)) : text
    do {
        return try CalendarDate(iso: day)
    } catch {
        reader.invalid("\(path).\(key)", "\"\(text)\" is not a FHIR dateTime with a whole day (\(error.message))")
        return nil
    }
}

/// An instant from a FHIR `dateTime` with a time and zone (`2026-03-04T09:30:00.000Z`).
func instantOfDateTime(_ reader: inout FHIRReader, _ object: [String: Any], _ key: String, at path: String) -> Date? {
    guard let text = reader.string(object, key, at: path) else { return nil }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime]
    if let date = formatter.date(from: text) { return date }
    reader.invalid("\(path).\(key)", "\"\(text)\" is not a dateTime with a time and zone (2026-03-04T09:30:00Z)")
    return nil
}

/// A Procedure as a client sends it (a Bundle entry, an NDJSON line): an IO or intra-articular injection session of an
/// episode, read into Ossa's procedure record. Its episode is `reasonReference` (the episode's Condition); the
/// injections are `injection` extensions and the rest of the record the `procedure-details` extension, as Ossa writes
/// them (FHIRMapping.procedure).
public struct FHIRProcedureInput: Sendable, Equatable {
    public var subject: String
    /// The episode: `Condition/<id>` or the fullUrl of a Condition of the same input.
    public var condition: String
    public var kind: ProcedureKind
    public var record: ProcedureRecord

    static let elements: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
        "identifier", "instantiatesCanonical", "instantiatesUri", "basedOn", "partOf", "status", "statusReason", "category",
        "code", "subject", "encounter", "performedDateTime", "performedPeriod", "performedString", "performedAge",
        "performedRange", "recorder", "asserter", "performer", "location", "reasonCode", "reasonReference", "bodySite",
        "outcome", "report", "complication", "complicationDetail", "followUp", "note", "focalDevice", "usedReference", "usedCode",
    ]

    public static func parse(_ object: [String: Any], at path: String = "Procedure") throws(FHIRInputError) -> FHIRProcedureInput {
        var r = FHIRReader()
        r.only(object, elements, at: path)
        switch r.string(object, "status", at: path) {
        case "completed"?: break
        case let other?: r.refused("\(path).status", "is \(other); Ossa records procedures that were done (completed)")
        case nil: if object["status"] == nil { r.invalid("\(path).status", "is required") }
        }
        var kind: ProcedureKind?
        if let code = r.object(object, "code", at: path) {
            let codes = FHIRConditionInput.codings(code).filter { $0.system == FHIRSystems.ossaProcedure }.map(\.code)
            if codes.contains("io-injection") { kind = .io } else if codes.contains("intra-articular-injection") { kind = .intraArticular }
            if kind == nil {
                r.refused("\(path).code", "Ossa records intraosseous and intra-articular injections (\(FHIRSystems.ossaProcedure): io-injection, intra-articular-injection)")
            }
        } else if object["code"] == nil {
            r.refused("\(path).code", "is required: io-injection or intra-articular-injection (\(FHIRSystems.ossaProcedure))")
        }
        let subject = referenceText(&r, object, "subject", at: path, required: "is required (the patient)")
        var condition: String?
        let reasons = r.objects(object, "reasonReference", at: path)
        if reasons.count == 1 {
            condition = r.string(reasons[0].1, "reference", at: reasons[0].0)
        } else if reasons.isEmpty, object["reasonReference"] == nil {
            r.refused("\(path).reasonReference", "is required: Ossa files a procedure under an episode (the episode's Condition)")
        } else if reasons.count > 1 {
            r.refused("\(path).reasonReference", "names \(reasons.count) Conditions; a procedure belongs to one episode")
        }
        let date: CalendarDate?
        if object["performedDateTime"] != nil {
            date = dayOfDateTime(&r, object, "performedDateTime", at: path)
        } else {
            date = nil
            r.refused("\(path).performedDateTime", "is required (the day of the procedure)")
        }
        var operatorName: String?
        let performers = r.objects(object, "performer", at: path)
        if let (performerPath, performer) = performers.first, let actor = r.object(performer, "actor", at: performerPath) {
            operatorName = r.string(actor, "display", at: "\(performerPath).actor")
        }
        if operatorName == nil { r.refused("\(path).performer[0].actor.display", "is required: the operator's name") }

        var injections: [Injection] = []
        var details: ProcedureDetails?
        for (extPath, ext) in r.objects(object, "extension", at: path) {
            switch ext["url"] as? String {
            case FHIRSystems.injectionExtension?:
                if let injection = Self.injection(ext, at: extPath, &r) { injections.append(injection) }
            case FHIRSystems.procedureDetailsExtension?:
                if details != nil { r.refused("\(extPath).url", "procedure-details is given twice") }
                details = ProcedureDetails.parse(ext, at: extPath, &r)
            default:
                continue  // other extensions are not stored
            }
        }
        if injections.isEmpty { r.refused("\(path).extension", "no injection: each injection is an \(FHIRSystems.injectionExtension) extension") }
        // Setting and anaesthesia are part of every procedure record: never guessed.
        let d = details ?? ProcedureDetails()
        if d.setting == nil {
            r.refused("\(path).extension", "\(FHIRSystems.procedureDetailsExtension) needs its setting (\(ProcedureSetting.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if d.anaesthesia == nil {
            r.refused("\(path).extension", "\(FHIRSystems.procedureDetailsExtension) needs its anaesthesia (\(Anaesthesia.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard r.issues.isEmpty, let kind, let subject, let condition, let date, let operatorName,
              let setting = d.setting, let anaesthesia = d.anaesthesia else { throw FHIRInputError(issues: r.issues) }
        let record = ProcedureRecord(date: date, setting: setting, anaesthesia: anaesthesia, guidance: d.guidance,
                                     fluoroscopySeconds: d.fluoroscopySeconds, doseAreaProduct: d.doseAreaProduct, prp: d.prp, bmc: d.bmc,
                                     injections: injections, complications: d.complications,
                                     dischargeInstructions: d.dischargeInstructions, operator_: operatorName)
        return FHIRProcedureInput(subject: subject, condition: condition, kind: kind, record: record)
    }

    static func parts(_ ext: [String: Any], at path: String, _ r: inout FHIRReader) -> [(String, String, [String: Any])] {
        r.objects(ext, "extension", at: path).compactMap { partPath, part in
            guard let url = part["url"] as? String else {
                r.invalid("\(partPath).url", "is required")
                return nil
            }
            return (url, partPath, part)
        }
    }

    static func injection(_ ext: [String: Any], at path: String, _ r: inout FHIRReader) -> Injection? {
        var target: InjectionTarget?, product: InjectedProduct?, volume: Double?, gauge: Int?, approach: String?
        for (url, partPath, part) in parts(ext, at: path, &r) {
            switch url {
            case "target":
                let codes = FHIRConditionInput.codings(r.object(part, "valueCodeableConcept", at: partPath)).filter { $0.system == FHIRSystems.ossaBodySite }
                guard let code = codes.first?.code else {
                    r.refused("\(partPath).valueCodeableConcept", "needs a code of \(FHIRSystems.ossaBodySite) (intra-articular, or bone[:subregion])")
                    continue
                }
                if code == "intra-articular" { target = .intraArticular; continue }
                let pieces = code.split(separator: ":", maxSplits: 1).map(String.init)
                guard let first = pieces.first, let bone = BoneTarget(rawValue: first) else {
                    r.refused("\(partPath).valueCodeableConcept", "\"\(code)\" is not a target Ossa knows (bones: \(BoneTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
                    continue
                }
                if pieces.count == 2 {
                    guard let subregion = BMLSubregion(rawValue: pieces[1]) else {
                        r.refused("\(partPath).valueCodeableConcept", "\"\(pieces[1])\" is not a subregion Ossa knows")
                        continue
                    }
                    target = .bone(bone, subregion: subregion)
                } else {
                    target = .bone(bone, subregion: nil)
                }
            case "product":
                let code = r.string(part, "valueCode", at: partPath)
                product = code.flatMap(InjectedProduct.init(rawValue:))
                if let code, product == nil { r.refused("\(partPath).valueCode", "\"\(code)\" is not prp or bmc") }
            case "volume":
                let quantity = r.object(part, "valueQuantity", at: partPath)
                volume = (quantity?["value"] as? NSNumber).map(exactDouble)
                if volume == nil { r.invalid("\(partPath).valueQuantity.value", "is required (mL)") }
                if let unit = quantity?["code"] as? String ?? quantity?["unit"] as? String, unit != "mL" {
                    r.refused("\(partPath).valueQuantity", "is in \(unit); Ossa records injected volumes in mL")
                }
            case "gauge":
                gauge = (part["valueInteger"] as? NSNumber)?.intValue
                if gauge == nil { r.invalid("\(partPath).valueInteger", "is required") }
            case "approach":
                approach = r.string(part, "valueString", at: partPath)
            default:
                r.refused("\(partPath).url", "\"\(url)\" is not a part of the injection extension (target, product, volume, gauge, approach)")
            }
        }
        if target == nil { r.refused("\(path)", "the injection has no target") }
        if product == nil { r.refused("\(path)", "the injection has no product") }
        if volume == nil { r.refused("\(path)", "the injection has no volume") }
        guard let target, let product, let volume else { return nil }
        return Injection(target: target, product: product, approach: approach, gauge: gauge, volumeMl: volume)
    }

    /// The `procedure-details` extension's parts.
    struct ProcedureDetails {
        var setting: ProcedureSetting?
        var anaesthesia: Anaesthesia?
        var guidance: [Guidance] = []
        var fluoroscopySeconds: Double?
        var doseAreaProduct: Double?
        var prp: PRPDetails?
        var bmc: BMCDetails?
        var complications: [Complication] = []
        var dischargeInstructions: String?

        static func parse(_ ext: [String: Any], at path: String, _ r: inout FHIRReader) -> ProcedureDetails {
            var d = ProcedureDetails()
            func code<T: RawRepresentable<String> & CaseIterable>(_ type: T.Type, _ part: [String: Any], _ partPath: String, _ r: inout FHIRReader) -> T? {
                guard let text = r.string(part, "valueCode", at: partPath) else { return nil }
                guard let value = T(rawValue: text) else {
                    r.refused("\(partPath).valueCode", "\"\(text)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
                    return nil
                }
                return value
            }
            func quantity(_ part: [String: Any], _ partPath: String, unit: String, _ r: inout FHIRReader) -> Double? {
                let q = r.object(part, "valueQuantity", at: partPath)
                guard let value = (q?["value"] as? NSNumber).map(exactDouble) else {
                    r.invalid("\(partPath).valueQuantity.value", "is required")
                    return nil
                }
                if let given = q?["code"] as? String ?? q?["unit"] as? String, given != unit {
                    r.refused("\(partPath).valueQuantity", "is in \(given); Ossa records it in \(unit)")
                }
                return value
            }
            for (url, partPath, part) in FHIRProcedureInput.parts(ext, at: path, &r) {
                switch url {
                case "setting": d.setting = code(ProcedureSetting.self, part, partPath, &r)
                case "anaesthesia": d.anaesthesia = code(Anaesthesia.self, part, partPath, &r)
                case "guidance": if let g = code(Guidance.self, part, partPath, &r) { d.guidance.append(g) }
                case "fluoroscopySeconds": d.fluoroscopySeconds = quantity(part, partPath, unit: "s", &r)
                case "doseAreaProduct": d.doseAreaProduct = quantity(part, partPath, unit: "mGy.cm2", &r)
                case "prp": d.prp = FHIRParts.decode(PRPDetails.self, r.objects(part, "extension", at: partPath), at: partPath, reader: &r)
                case "bmc": d.bmc = FHIRParts.decode(BMCDetails.self, r.objects(part, "extension", at: partPath), at: partPath, reader: &r)
                case "complication":
                    if let c = FHIRParts.decode(Complication.self, r.objects(part, "extension", at: partPath), at: partPath, reader: &r) {
                        d.complications.append(c)
                    }
                case "dischargeInstructions": d.dischargeInstructions = r.string(part, "valueString", at: partPath)
                default:
                    r.refused("\(partPath).url", "\"\(url)\" is not a part of procedure-details")
                }
            }
            return d
        }
    }
}

/// A QuestionnaireResponse as a client sends it: a completed response to one of Ossa's instruments
/// (`questionnaire` `https://ossa-registry.org/fhir/Questionnaire/<instrument>`), filed under the episode its
/// `episode` extension names. Answers are the options' codes (`valueCoding.code`, as Ossa writes them) or
/// `valueInteger`; the scores are computed again on import by the instrument's rule, never taken from the sender.
public struct FHIRQuestionnaireResponseInput: Sendable, Equatable {
    public var subject: String
    public var condition: String
    public var instrumentID: String
    public var answers: [String: Int?]
    public var completedAt: Date
    public var source: ResponseSource

    static let elements: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
        "identifier", "basedOn", "partOf", "questionnaire", "status", "subject", "encounter", "authored", "author", "source", "item",
    ]

    public static func parse(_ object: [String: Any], at path: String = "QuestionnaireResponse") throws(FHIRInputError) -> FHIRQuestionnaireResponseInput {
        var r = FHIRReader()
        r.only(object, elements, at: path)
        switch r.string(object, "status", at: path) {
        case "completed"?: break
        case let other?: r.refused("\(path).status", "is \(other); Ossa stores completed responses")
        case nil: if object["status"] == nil { r.invalid("\(path).status", "is required") }
        }
        var instrument: String?
        let prefix = FHIRSystems.questionnaire("")
        if let canonical = r.string(object, "questionnaire", at: path) {
            let url = canonical.split(separator: "|", maxSplits: 1).first.map(String.init) ?? canonical
            if url.hasPrefix(prefix), url.count > prefix.count {
                instrument = String(url.dropFirst(prefix.count))
            } else {
                r.refused("\(path).questionnaire", "\"\(canonical)\" is not one of Ossa's questionnaires (\(prefix)<instrument>, see GET /fhir/Questionnaire)")
            }
        } else if object["questionnaire"] == nil {
            r.refused("\(path).questionnaire", "is required: the instrument answered")
        }
        let subject = referenceText(&r, object, "subject", at: path, required: "is required (the patient)")
        let completedAt: Date?
        if object["authored"] != nil {
            completedAt = instantOfDateTime(&r, object, "authored", at: path)
        } else {
            completedAt = nil
            r.refused("\(path).authored", "is required (when the questionnaire was completed)")
        }
        var condition: String?
        var source = ResponseSource.import  // unless the sender says how it came in
        for (extPath, ext) in r.objects(object, "extension", at: path) {
            switch ext["url"] as? String {
            case FHIRSystems.episodeExtension?:
                condition = episodeExtension(&r, ext, at: extPath)
            case FHIRSystems.responseSourceExtension?:
                if let code = r.string(ext, "valueCode", at: extPath) {
                    if let known = ResponseSource(rawValue: code) { source = known } else {
                        r.refused("\(extPath).valueCode", "\"\(code)\" is not one of \(ResponseSource.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
            default:
                continue
            }
        }
        if condition == nil, !r.issues.contains(where: { $0.expression.hasPrefix("\(path).extension") }) {
            r.refused("\(path).extension", "Ossa files a response under an episode: add the \(FHIRSystems.episodeExtension) extension naming the episode's Condition")
        }
        var answers: [String: Int?] = [:]
        for (itemPath, item) in r.objects(object, "item", at: path) {
            guard let linkId = r.string(item, "linkId", at: itemPath) else {
                if item["linkId"] == nil { r.invalid("\(itemPath).linkId", "is required") }
                continue
            }
            if item["item"] != nil { r.refused("\(itemPath).item", "nested items are not part of Ossa's questionnaires") }
            if answers[linkId] != nil { r.refused("\(itemPath).linkId", "\(linkId) is answered twice") }
            let given = r.objects(item, "answer", at: itemPath)
            guard let (answerPath, answer) = given.first else {
                answers[linkId] = .some(nil)
                continue
            }
            if given.count > 1 { r.refused("\(itemPath).answer", "Ossa's items take one answer") }
            if let coding = r.object(answer, "valueCoding", at: answerPath) {
                guard let code = r.string(coding, "code", at: "\(answerPath).valueCoding") else { continue }
                guard let value = Int(code) else {
                    r.refused("\(answerPath).valueCoding.code", "\"\(code)\" is not an answer code of Ossa's instruments (a whole number)")
                    continue
                }
                answers[linkId] = value
            } else if let number = answer["valueInteger"] {
                guard let value = jsonNumber(number), value.doubleValue == value.doubleValue.rounded() else {
                    r.invalid("\(answerPath).valueInteger", "must be an integer")
                    continue
                }
                answers[linkId] = value.intValue
            } else {
                r.refused(answerPath, "an answer is a valueCoding (the option's code) or a valueInteger")
            }
        }
        guard r.issues.isEmpty, let instrument, let subject, let condition, let completedAt else { throw FHIRInputError(issues: r.issues) }
        return FHIRQuestionnaireResponseInput(subject: subject, condition: condition, instrumentID: instrument, answers: answers,
                                              completedAt: completedAt, source: source)
    }
}

/// A Consent as a client sends it: one consent decision of a patient, read as Ossa writes it (FHIRMapping.consent):
/// the kind from Ossa's `consent-kind` category (else the `scope`: treatment, research, patient-privacy for registry
/// follow-up), the decision from `provision.type`, the day from `dateTime`, where the signed form is kept from
/// `sourceAttachment.title`. `status` `active` marks the standing decision of its kind, `inactive` a superseded one.
public struct FHIRConsentInput: Sendable, Equatable {
    public var patient: String
    public var consent: NewConsent
    public var active: Bool

    static let elements: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
        "identifier", "status", "scope", "category", "patient", "dateTime", "performer", "organization", "sourceAttachment",
        "sourceReference", "policy", "policyRule", "verification", "provision",
    ]

    public static func parse(_ object: [String: Any], at path: String = "Consent") throws(FHIRInputError) -> FHIRConsentInput {
        var r = FHIRReader()
        r.only(object, elements, at: path)
        var active = true
        switch r.string(object, "status", at: path) {
        case "active"?: active = true
        case "inactive"?: active = false
        case let other?: r.refused("\(path).status", "is \(other); Ossa records decisions taken (active, or inactive once superseded)")
        case nil: if object["status"] == nil { r.invalid("\(path).status", "is required") }
        }
        let patient = referenceText(&r, object, "patient", at: path, required: "is required (the patient)")
        var kind: ConsentKind?
        for (_, category) in r.objects(object, "category", at: path) {
            for (system, code) in FHIRConditionInput.codings(category) where system == FHIRSystems.ossaConsentKind {
                kind = ConsentKind(rawValue: code)
                if kind == nil { r.refused("\(path).category", "\"\(code)\" is not one of \(ConsentKind.allCases.map(\.rawValue).joined(separator: ", "))") }
            }
        }
        if kind == nil, let scope = r.object(object, "scope", at: path) {
            for (system, code) in FHIRConditionInput.codings(scope) where system == FHIRSystems.consentScope {
                kind = ["treatment": .treatment, "research": .research, "patient-privacy": .registry][code]
            }
        }
        if kind == nil, !r.issues.contains(where: { $0.expression == "\(path).category" }) {
            r.refused("\(path).scope", "no consent Ossa records: treatment, research or patient-privacy (\(FHIRSystems.consentScope)), or Ossa's kind (\(FHIRSystems.ossaConsentKind))")
        }
        var decision: ConsentDecision?
        if let provision = r.object(object, "provision", at: path), let type = r.string(provision, "type", at: "\(path).provision") {
            decision = ConsentDecision(rawValue: type)
            if decision == nil { r.invalid("\(path).provision.type", "is \(type); permit or deny") }
        } else if object["provision"] == nil {
            r.refused("\(path).provision", "is required: provision.type permit or deny (the decision)")
        }
        let date: CalendarDate?
        if object["dateTime"] != nil {
            date = dayOfDateTime(&r, object, "dateTime", at: path)
        } else {
            date = nil
            r.refused("\(path).dateTime", "is required (the day of the decision)")
        }
        var form: String?
        if let attachment = r.object(object, "sourceAttachment", at: path) { form = r.string(attachment, "title", at: "\(path).sourceAttachment") }
        guard r.issues.isEmpty, let patient, let kind, let decision, let date else { throw FHIRInputError(issues: r.issues) }
        return FHIRConsentInput(patient: patient, consent: NewConsent(kind: kind, decision: decision, date: date, formReference: form), active: active)
    }
}

/// The episode an `episode` extension names (`valueReference.reference`, a Condition).
func episodeExtension(_ r: inout FHIRReader, _ ext: [String: Any], at extPath: String) -> String? {
    guard let reference = r.object(ext, "valueReference", at: extPath) else {
        r.invalid("\(extPath).valueReference", "is required")
        return nil
    }
    return r.string(reference, "reference", at: "\(extPath).valueReference")
}
