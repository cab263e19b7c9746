import Foundation
import OssaCore

extension FHIRSystems {
    public static let loinc = "http://loinc.org"
    public static let observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
    /// The R4 core extension that carries an answer's scoring value.
    public static let ordinalValue = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
    /// Ossa's scores: `<instrument>:<score>` (e.g. `koos:pain`), beside the LOINC code where LOINC has one.
    public static var ossaScore: String { ossaBase + "/score" }
    /// The canonical URL of an instrument's Questionnaire (its `version` is the scoring rule's).
    public static func questionnaire(_ instrument: String) -> String { "https://ossa-registry.org/fhir/Questionnaire/\(instrument)" }
    /// An instrument's answer codes: one system per shared option list (`answers/<list>`) or per item with its own
    /// options (`answers/<item>`); the code is the ordinal value, so a code means one answer box.
    /// How a response came in (`patient-link`, `staff`, `import`): Ossa's extension on QuestionnaireResponse.
    public static let responseSourceExtension = "https://ossa-registry.org/fhir/StructureDefinition/response-source"
    public static func answers(_ instrument: String, list: String) -> String { ossaBase + "/instrument/\(instrument)/answers/\(list)" }
}

/// Instruments, responses and scores → Questionnaire, QuestionnaireResponse, Observation.
extension FHIRMapping {
    /// The answer code system of an item: its shared option list's, else its own.
    static func answerSystem(_ definition: InstrumentDefinition, _ item: InstrumentItem) -> String {
        FHIRSystems.answers(definition.id, list: item.options == nil ? (item.responseSet ?? item.code) : item.code)
    }

    public static func questionnaire(_ d: InstrumentDefinition) -> FHIRQuestionnaire {
        let items = d.items.map { item -> FHIRQuestionnaire.Item in
            let system = answerSystem(d, item)
            let options = d.options(for: item).map { option in
                FHIRQuestionnaire.AnswerOption(extension: [FHIRExtension(url: FHIRSystems.ordinalValue, valueDecimal: Double(option.value))],
                                               valueCoding: FHIRCoding(system: system, code: String(option.value), display: option.label))
            }
            let enable = item.enableWhen.flatMap { condition -> [FHIRQuestionnaire.EnableWhen]? in
                guard let controlling = d.item(condition.item) else { return nil }
                return [FHIRQuestionnaire.EnableWhen(question: condition.item, operator: "=",
                                                     answerCoding: FHIRCoding(system: answerSystem(d, controlling), code: String(condition.equals)))]
            }
            let type: String
            switch item.itemType {
            case .choice: type = "choice"
            case .date: type = "date"
            case .text: type = "text"
            }
            return FHIRQuestionnaire.Item(linkId: item.code, code: nil, text: item.text, type: type, enableWhen: enable,
                                          answerOption: options.isEmpty ? nil : options)
        }
        let name = d.id.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
        return FHIRQuestionnaire(
            id: d.id, url: FHIRSystems.questionnaire(d.id), version: d.scoring.version, name: name, title: d.title, status: "active",
            subjectType: ["Patient"], code: d.loincPanel.map { [FHIRCoding(system: FHIRSystems.loinc, code: $0, display: d.abbreviation)] },
            description: d.recallPeriod.map { "\(d.title). Recall period: \($0)." } ?? d.title, copyright: d.licence, item: items)
    }

    /// A stored response of `patientID`. Answered items only, in the instrument's order (with the option's label);
    /// answers to an item the library no longer defines keep their code and value.
    public static func questionnaireResponse(_ r: QuestionnaireResponseRecord, patientID: UUID, definition: InstrumentDefinition?) -> FHIRQuestionnaireResponse {
        var items: [FHIRQuestionnaireResponse.Item] = []
        var placed = Set<String>()
        for item in definition?.items ?? [] {
            placed.insert(item.code)
            guard let d = definition, let value = r.answers[item.code] ?? nil else { continue }
            let label = d.options(for: item).first { $0.value == value }?.label
            items.append(.init(linkId: item.code, text: item.text,
                               answer: [.init(valueCoding: FHIRCoding(system: answerSystem(d, item), code: String(value), display: label))]))
        }
        for code in r.answers.keys.sorted() where !placed.contains(code) {
            guard let value = r.answers[code] ?? nil else { continue }
            items.append(.init(linkId: code, text: nil,
                               answer: [.init(valueCoding: FHIRCoding(system: FHIRSystems.answers(r.instrumentID, list: code), code: String(value)))]))
        }
        let patient = "Patient/\(patientID.fhirID)"
        return FHIRQuestionnaireResponse(
            id: r.id.fhirID, meta: FHIRMeta.at(r.createdAt ?? r.completedAt),
            extension: [FHIRExtension(url: FHIRSystems.responseSourceExtension, valueCode: r.source.rawValue),
                        FHIRExtension(url: FHIRSystems.episodeExtension, valueReference: FHIRReference(reference: "Condition/\(r.episodeID.fhirID)"))],
            questionnaire: FHIRSystems.questionnaire(r.instrumentID) + "|" + r.instrumentVersion, status: "completed",
            subject: FHIRReference(reference: patient), encounter: nil, authored: instant(r.completedAt) ?? "",
            source: r.source == .patientLink ? FHIRReference(reference: patient) : nil, item: items.isEmpty ? nil : items)
    }

    /// The id of a score's Observation: the response's id and the score's (`<uuid>-<score>`), so it is stable and
    /// names what it was derived from.
    public static func observationID(response: UUID, score: String) -> String { response.fhirID + "-" + score }

    /// `observationID`'s parts, or nil when `id` is not one.
    public static func scoreObservation(id: String) -> (response: UUID, score: String)? {
        guard id.count > 37, let response = UUID(uuidString: String(id.prefix(36))), id.dropFirst(36).first == "-" else { return nil }
        let score = String(id.dropFirst(37))
        guard score.allSatisfy({ $0.isLetter || $0.isNumber }) else { return nil }
        return (response, score)
    }

    /// The code of a score: LOINC where the instrument file has a verified code, and Ossa's always.
    public static func scoreCode(_ d: InstrumentDefinition?, instrument: String, score: String) -> FHIRCodeableConcept {
        let definition = d?.score(id: score)
        let label = [d?.abbreviation ?? instrument, definition?.label ?? score].joined(separator: " ")
        var codings = [FHIRCoding(system: FHIRSystems.ossaScore, code: "\(instrument):\(score)", display: label)]
        if let loinc = definition?.loinc { codings.insert(FHIRCoding(system: FHIRSystems.loinc, code: loinc, display: label), at: 0) }
        return FHIRCodeableConcept(coding: codings, text: label)
    }

    /// One Observation per computed score of the response (a score left uncomputed for too few answers has none).
    public static func scoreObservations(_ r: QuestionnaireResponseRecord, patientID: UUID, definition: InstrumentDefinition?) -> [FHIRObservation] {
        r.scores.compactMap { score in
            guard let value = score.value else { return nil }
            return FHIRObservation(
                id: observationID(response: r.id, score: score.id), meta: FHIRMeta.at(r.createdAt ?? r.completedAt),
                status: "final",
                category: [FHIRCodeableConcept(coding: [FHIRCoding(system: FHIRSystems.observationCategory, code: "survey", display: "Survey")])],
                code: scoreCode(definition, instrument: r.instrumentID, score: score.id),
                subject: FHIRReference(reference: "Patient/\(patientID.fhirID)"),
                effectiveDateTime: instant(r.completedAt), valueQuantity: .score(value),
                derivedFrom: [FHIRReference(reference: "QuestionnaireResponse/\(r.id.fhirID)")])
        }
    }
}
