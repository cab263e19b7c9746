import Foundation

// Hand-written JSON forms of the resources the bulk export writes (issue #12). Through `Encodable`, every nested
// value costs a container box, a generic metadata lookup and dynamic casts: perf put that at about half of an
// export's CPU time. These write the same bytes as the synthesized conformances do through `FHIRJSONWriter` —
// members in declaration order, a nil optional left out, an empty array written as `[]` — and
// `FHIRJSONWriterTests.handWrittenFormsAreTheEncodableBytes` holds them to it. A member added to one of these types
// must be added here too.

/// A value `FHIRJSONWriter` writes without `Encodable`.
protocol FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws
}

/// One JSON object being written: `{`, then each member given (nil ones left out), then `}` at `end()`.
struct JSONObjectWriter {
    let sink: JSONSink
    private var filled = false

    init(_ sink: JSONSink) {
        self.sink = sink
        sink.bytes.append(UInt8(ascii: "{"))
    }

    func end() {
        sink.bytes.append(UInt8(ascii: "}"))
    }

    /// `"key":` (keys are ASCII names: nothing to escape), after a comma unless it is the first member.
    private mutating func key(_ key: StaticString) {
        if filled { sink.bytes.append(UInt8(ascii: ",")) } else { filled = true }
        sink.bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { sink.bytes.append(contentsOf: $0) }
        sink.bytes.append(UInt8(ascii: "\""))
        sink.bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        self.key(key)
        sink.string(value)
    }

    mutating func integer(_ key: StaticString, _ value: Int?) {
        guard let value else { return }
        self.key(key)
        sink.integer(value)
    }

    mutating func number(_ key: StaticString, _ value: Double?) throws {
        guard let value else { return }
        self.key(key)
        try sink.number(value)
    }

    mutating func boolean(_ key: StaticString, _ value: Bool?) {
        guard let value else { return }
        self.key(key)
        sink.literal(value ? "true" : "false")
    }

    mutating func object<T: FHIRJSONWritable>(_ key: StaticString, _ value: T?) throws {
        guard let value else { return }
        self.key(key)
        try value.writeJSON(sink)
    }

    mutating func array<T: FHIRJSONWritable>(_ key: StaticString, _ values: [T]?) throws {
        guard let values else { return }
        self.key(key)
        sink.bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { sink.bytes.append(UInt8(ascii: ",")) }
            try value.writeJSON(sink)
        }
        sink.bytes.append(UInt8(ascii: "]"))
    }

    mutating func strings(_ key: StaticString, _ values: [String]?) {
        guard let values else { return }
        self.key(key)
        sink.bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { sink.bytes.append(UInt8(ascii: ",")) }
            sink.string(value)
        }
        sink.bytes.append(UInt8(ascii: "]"))
    }
}

// MARK: - Data types

extension FHIRCoding: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) {
        var o = JSONObjectWriter(sink)
        o.string("system", system)
        o.string("code", code)
        o.string("display", display)
        o.end()
    }
}

extension FHIRCodeableConcept: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        try o.array("coding", coding)
        o.string("text", text)
        o.end()
    }
}

extension FHIRReference: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("reference", reference)
        try o.object("identifier", identifier)
        o.string("display", display)
        o.end()
    }
}

extension FHIRIdentifier: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("use", use)
        try o.object("type", type)
        o.string("system", system)
        o.string("value", value)
        o.end()
    }
}

extension FHIRHumanName: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) {
        var o = JSONObjectWriter(sink)
        o.string("use", use)
        o.string("family", family)
        o.strings("given", given)
        o.end()
    }
}

extension FHIRContactPoint: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) {
        var o = JSONObjectWriter(sink)
        o.string("system", system)
        o.string("value", value)
        o.string("use", use)
        o.end()
    }
}

extension FHIRMeta: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) {
        var o = JSONObjectWriter(sink)
        o.string("versionId", versionId)
        o.string("lastUpdated", lastUpdated)
        o.end()
    }
}

extension FHIRQuantity: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        try o.number("value", value)
        o.string("unit", unit)
        o.string("system", system)
        o.string("code", code)
        o.end()
    }
}

extension FHIRExtension: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("url", url)
        o.string("valueCode", valueCode)
        o.string("valueString", valueString)
        o.integer("valueInteger", valueInteger)
        try o.number("valueDecimal", valueDecimal)
        try o.object("valueQuantity", valueQuantity)
        try o.object("valueCodeableConcept", valueCodeableConcept)
        try o.object("valueReference", valueReference)
        try o.array("extension", `extension`)
        o.end()
    }
}

// MARK: - Resources

extension FHIRPatient: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("resourceType", resourceType)
        o.string("id", id)
        try o.object("meta", meta)
        try o.array("identifier", identifier)
        try o.array("name", name)
        try o.array("telecom", telecom)
        o.string("gender", gender)
        o.string("birthDate", birthDate)
        try o.object("managingOrganization", managingOrganization)
        o.end()
    }
}

extension FHIRConditionStage: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        try o.object("summary", summary)
        try o.object("type", type)
        o.end()
    }
}

extension FHIRCondition: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("resourceType", resourceType)
        o.string("id", id)
        try o.object("meta", meta)
        try o.array("extension", `extension`)
        try o.object("clinicalStatus", clinicalStatus)
        try o.object("verificationStatus", verificationStatus)
        try o.array("category", category)
        try o.object("code", code)
        try o.array("bodySite", bodySite)
        try o.object("subject", subject)
        o.string("onsetDateTime", onsetDateTime)
        try o.array("stage", stage)
        o.string("recordedDate", recordedDate)
        o.end()
    }
}

extension FHIRProcedurePerformer: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        try o.object("actor", actor)
        o.end()
    }
}

extension FHIRProcedure: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("resourceType", resourceType)
        o.string("id", id)
        try o.object("meta", meta)
        try o.array("extension", `extension`)
        o.string("status", status)
        try o.object("code", code)
        try o.object("subject", subject)
        o.string("performedDateTime", performedDateTime)
        try o.array("performer", performer)
        try o.array("reasonReference", reasonReference)
        try o.array("bodySite", bodySite)
        try o.array("complication", complication)
        try o.array("usedCode", usedCode)
        o.end()
    }
}

extension FHIRQuestionnaireResponse.Answer: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        try o.object("valueCoding", valueCoding)
        o.end()
    }
}

extension FHIRQuestionnaireResponse.Item: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("linkId", linkId)
        o.string("text", text)
        try o.array("answer", answer)
        o.end()
    }
}

extension FHIRQuestionnaireResponse: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("resourceType", resourceType)
        o.string("id", id)
        try o.object("meta", meta)
        try o.array("extension", `extension`)
        o.string("questionnaire", questionnaire)
        o.string("status", status)
        try o.object("subject", subject)
        try o.object("encounter", encounter)
        o.string("authored", authored)
        try o.object("source", source)
        try o.array("item", item)
        o.end()
    }
}

extension FHIRObservation.Component: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        try o.object("code", code)
        try o.object("valueQuantity", valueQuantity)
        o.integer("valueInteger", valueInteger)
        o.boolean("valueBoolean", valueBoolean)
        try o.object("valueCodeableConcept", valueCodeableConcept)
        o.end()
    }
}

extension FHIRObservation: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("resourceType", resourceType)
        o.string("id", id)
        try o.object("meta", meta)
        try o.array("extension", `extension`)
        o.string("status", status)
        try o.array("category", category)
        try o.object("code", code)
        try o.object("subject", subject)
        o.string("effectiveDateTime", effectiveDateTime)
        try o.object("valueQuantity", valueQuantity)
        o.integer("valueInteger", valueInteger)
        try o.object("valueCodeableConcept", valueCodeableConcept)
        try o.object("bodySite", bodySite)
        try o.object("method", method)
        try o.array("derivedFrom", derivedFrom)
        try o.array("component", component)
        o.end()
    }
}

extension FHIRConsent.Provision: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) {
        var o = JSONObjectWriter(sink)
        o.string("type", type)
        o.end()
    }
}

extension FHIRConsent.Attachment: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) {
        var o = JSONObjectWriter(sink)
        o.string("title", title)
        o.end()
    }
}

extension FHIRConsent: FHIRJSONWritable {
    func writeJSON(_ sink: JSONSink) throws {
        var o = JSONObjectWriter(sink)
        o.string("resourceType", resourceType)
        o.string("id", id)
        try o.object("meta", meta)
        o.string("status", status)
        try o.object("scope", scope)
        try o.array("category", category)
        try o.object("patient", patient)
        o.string("dateTime", dateTime)
        try o.array("performer", performer)
        try o.object("sourceAttachment", sourceAttachment)
        try o.object("policyRule", policyRule)
        try o.object("provision", provision)
        o.end()
    }
}
