import Foundation
@testable import OssaFHIR
import Testing

// The bulk export's streaming JSON writer against Foundation's JSONEncoder (the reference): the same JSON values for
// every resource shape Ossa writes, and exact bytes where the format is a promise (key order, escapes, numbers).
@Suite("FHIR JSON writer")
struct FHIRJSONWriterTests {
    /// Resources as another system would send them, with what the writer must get right: nested extensions, empty
    /// strings, decimals and whole numbers, 0 and 1 (never booleans), booleans, escapes and non-ASCII text.
    static let resources = [
        #"{"resourceType":"Patient","id":"p1","meta":{"versionId":"1764720000123","lastUpdated":"2026-12-03T10:00:00.123Z"},"identifier":[{"system":"urn:oid:2.999.1","value":"A-1"}],"name":[{"family":"Müller \"Mü\" \\ O'Brien","given":["Anna","Zoë"]}],"telecom":[{"system":"email","value":"a/b@example.org"}],"gender":"female","birthDate":"1950-01-02"}"#,
        #"{"resourceType":"Observation","id":"o1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"survey"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"72514-3"}],"text":"Pain\tline\nnext\u0001"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-01","valueQuantity":{"value":50,"unit":"{score}","system":"http://unitsofmeasure.org","code":"{score}"},"component":[{"code":{"text":"a"},"valueInteger":0},{"code":{"text":"b"},"valueInteger":1},{"code":{"text":"c"},"valueBoolean":false},{"code":{"text":"d"},"valueQuantity":{"value":12.5,"unit":"mL"}},{"code":{"text":"e"},"valueQuantity":{"value":-0.000125,"unit":"s"}},{"code":{"text":"f"},"valueQuantity":{"value":123456789012,"unit":"s"}}]}"#,
        #"{"resourceType":"QuestionnaireResponse","id":"q1","extension":[{"url":"https://example.org/a","extension":[{"url":"b","valueString":""},{"url":"c","valueDecimal":0.1},{"url":"d","valueInteger":-42}]}],"questionnaire":"https://example.org/Q|1","status":"completed","subject":{"reference":"Patient/p1"},"authored":"2026-01-01T00:00:00Z","item":[{"linkId":"P1","answer":[{"valueCoding":{"code":"2","display":"Moderate"}}]},{"linkId":"P2"}]}"#,
    ]

    /// Resource ids and references are written with `UUID.fhirID`: it must be Foundation's form, lowercased.
    @Test func idsAreFoundationsLowercaseForm() {
        let fixed = [UUID(uuidString: "00000000-0000-0000-0000-000000000000")!, UUID(uuidString: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF")!,
                     UUID(uuidString: "0123ABCD-4567-89EF-FEDC-BA9876543210")!]
        for id in fixed + (0..<1000).map({ _ in UUID() }) {
            #expect(id.fhirID == id.uuidString.lowercased())
        }
    }

    @Test func sameJSONAsJSONEncoder() throws {
        for text in Self.resources {
            let resource = try JSONDecoder().decode(FHIRResource.self, from: Data(text.utf8))
            let written = try FHIRJSONWriter().encode(resource)
            let reference = try JSONEncoder().encode(resource)
            let ours = try #require(try JSONSerialization.jsonObject(with: Data(written)) as? NSDictionary)
            let theirs = try #require(try JSONSerialization.jsonObject(with: reference) as? NSDictionary)
            #expect(ours == theirs, "\(String(decoding: written, as: UTF8.self))")
            // And what it wrote reads back as the same resource.
            #expect(try JSONDecoder().decode(FHIRResource.self, from: Data(written)) == resource)
        }
    }

    @Test func bundlesAndArraysOfResources() throws {
        let resources = try Self.resources.map { try JSONDecoder().decode(FHIRResource.self, from: Data($0.utf8)) }
        let bundle = FHIRBundle.searchset(total: 3, entries: resources, base: "https://x.example/fhir", selfURL: "https://x.example/fhir/Patient",
                                          nextURL: nil, previousURL: nil)
        let written = try FHIRJSONWriter().encode(bundle)
        #expect(try JSONDecoder().decode(FHIRBundle.self, from: Data(written)) == bundle)
        let ours = try #require(try JSONSerialization.jsonObject(with: Data(written)) as? NSDictionary)
        let theirs = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(bundle)) as? NSDictionary)
        #expect(ours == theirs)
    }

    @Test func exactBytes() throws {
        let text = Self.resources[0]
        let patient = try JSONDecoder().decode(FHIRResource.self, from: Data(text.utf8))
        let written = String(decoding: try FHIRJSONWriter().encode(patient), as: UTF8.self)
        // Declaration order (resourceType first), compact, slashes and non-ASCII as they are, quotes and backslashes
        // escaped.
        #expect(written == text)
        struct Numbers: Encodable { var a = 50.0; var b = 12.5; var c = -3; var d = 0.0; var e: Double? = nil; var f = [1, 0] }
        #expect(String(decoding: try FHIRJSONWriter().encode(Numbers()), as: UTF8.self) == #"{"a":50,"b":12.5,"c":-3,"d":0,"f":[1,0]}"#)
        struct Controls: Encodable { var s = "a\u{1}b\u{1f}\r\u{8}\u{c}" }
        #expect(String(decoding: try FHIRJSONWriter().encode(Controls()), as: UTF8.self) == #"{"s":"a\u0001b\u001f\r\b\f"}"#)
        struct Bad: Encodable { var x = Double.nan }
        #expect(throws: EncodingError.self) { try FHIRJSONWriter().encode(Bad()) }
    }

    /// The hand-written forms of the exported resources (`FHIRJSONWritable`) against the same values written through
    /// their synthesized `Encodable` conformances: byte for byte, with every member set (nested extensions, escapes,
    /// decimals), with the optional ones left out, and with empty arrays.
    @Test func handWrittenFormsAreTheEncodableBytes() throws {
        let coding = #"{"system":"http://snomed.info/sct","code":"6757004","display":"Right \"knee\"\n"}"#
        let concept = #"{"coding":[\#(coding),{"code":"x"}],"text":"Zoë / a"}"#
        let identifier = #"{"use":"usual","type":\#(concept),"system":"urn:oid:2.999.1","value":"A-1"}"#
        let reference = #"{"reference":"Patient/p1","identifier":\#(identifier),"display":"Anna"}"#
        let meta = #"{"versionId":"1764720000123","lastUpdated":"2026-12-03T10:00:00.123Z"}"#
        let quantity = #"{"value":12.25,"unit":"mL","system":"http://unitsofmeasure.org","code":"mL"}"#
        let nested = #"{"url":"b","valueCode":"c","valueString":"s","valueInteger":-3,"valueDecimal":0.1,"valueQuantity":\#(quantity),"valueCodeableConcept":\#(concept),"valueReference":\#(reference)}"#
        let extensions = #"[{"url":"https://example.org/a","extension":[\#(nested),{"url":"d","valueDecimal":50}]}]"#
        let texts = [
            #"{"resourceType":"Patient","id":"p1","meta":\#(meta),"identifier":[\#(identifier)],"name":[{"use":"official","family":"Müller","given":["Anna","Zoë"]}],"telecom":[{"system":"email","value":"a@example.org","use":"home"}],"gender":"female","birthDate":"1950-01-02","managingOrganization":\#(reference)}"#,
            #"{"resourceType":"Patient","id":"p2","name":[],"birthDate":"1950-01-02"}"#,
            #"{"resourceType":"Condition","id":"c1","meta":\#(meta),"extension":\#(extensions),"clinicalStatus":\#(concept),"verificationStatus":\#(concept),"category":[\#(concept)],"code":\#(concept),"bodySite":[\#(concept),{}],"subject":\#(reference),"onsetDateTime":"2026-01-02","stage":[{"summary":\#(concept),"type":\#(concept)},{}],"recordedDate":"2026-01-03"}"#,
            #"{"resourceType":"Condition","id":"c2","clinicalStatus":{},"verificationStatus":{},"category":[],"code":{},"bodySite":[],"subject":{}}"#,
            #"{"resourceType":"Procedure","id":"r1","meta":\#(meta),"extension":\#(extensions),"status":"completed","code":\#(concept),"subject":\#(reference),"performedDateTime":"2026-01-02T10:00:00Z","performer":[{"actor":\#(reference)}],"reasonReference":[\#(reference)],"bodySite":[\#(concept)],"complication":[{"text":"vasovagal"}],"usedCode":[\#(concept)]}"#,
            #"{"resourceType":"Procedure","id":"r2","status":"completed","code":{},"subject":{},"performedDateTime":"2026-01-02","performer":[]}"#,
            #"{"resourceType":"QuestionnaireResponse","id":"q1","meta":\#(meta),"extension":\#(extensions),"questionnaire":"https://example.org/Q|1","status":"completed","subject":\#(reference),"encounter":\#(reference),"authored":"2026-01-01T00:00:00Z","source":\#(reference),"item":[{"linkId":"P1","text":"Pain\tat night","answer":[{"valueCoding":\#(coding)}]},{"linkId":"P2","answer":[]},{"linkId":"P3"}]}"#,
            #"{"resourceType":"QuestionnaireResponse","id":"q2","questionnaire":"Q","status":"completed","subject":{},"authored":"2026"}"#,
            #"{"resourceType":"Observation","id":"o1","meta":\#(meta),"extension":\#(extensions),"status":"final","category":[\#(concept)],"code":\#(concept),"subject":\#(reference),"effectiveDateTime":"2026-01-01","valueQuantity":\#(quantity),"valueInteger":0,"valueCodeableConcept":\#(concept),"bodySite":\#(concept),"method":\#(concept),"derivedFrom":[\#(reference)],"component":[{"code":\#(concept),"valueQuantity":{"value":-0.000125,"unit":"s"},"valueInteger":1,"valueBoolean":false,"valueCodeableConcept":\#(concept)},{"code":{},"valueBoolean":true},{"code":{"text":"f"},"valueQuantity":{"value":123456789012,"unit":"s"}}]}"#,
            #"{"resourceType":"Observation","id":"o2","status":"final","category":[],"code":{},"subject":{},"component":[]}"#,
            #"{"resourceType":"Consent","id":"k1","meta":\#(meta),"status":"active","scope":\#(concept),"category":[\#(concept)],"patient":\#(reference),"dateTime":"2026-01-01T00:00:00Z","performer":[\#(reference)],"sourceAttachment":{"title":"Signed form, paper file 3"},"policyRule":\#(concept),"provision":{"type":"deny"}}"#,
            #"{"resourceType":"Consent","id":"k2","status":"inactive","scope":{},"category":[],"patient":{},"dateTime":"2026","performer":[],"policyRule":{},"provision":{"type":"permit"}}"#,
        ]
        let generic = FHIRJSONWriter(specialised: false)
        func check<T: Codable & Equatable>(_ type: T.Type, _ text: String) throws {
            let value = try JSONDecoder().decode(T.self, from: Data(text.utf8))
            let written = try FHIRJSONWriter().encode(value)
            #expect(written == (try generic.encode(value)), "\(T.self): \(String(decoding: written, as: UTF8.self))")
            // The texts are written in declaration order: what comes out is what went in.
            #expect(String(decoding: written, as: UTF8.self) == text)
            #expect(try JSONDecoder().decode(T.self, from: Data(written)) == value)
        }
        for text in texts {
            switch try JSONDecoder().decode(FHIRResource.self, from: Data(text.utf8)) {
            case .patient: try check(FHIRPatient.self, text)
            case .condition: try check(FHIRCondition.self, text)
            case .procedure: try check(FHIRProcedure.self, text)
            case .questionnaireResponse: try check(FHIRQuestionnaireResponse.self, text)
            case .observation: try check(FHIRObservation.self, text)
            case .consent: try check(FHIRConsent.self, text)
            default: Issue.record("not an exported type: \(text)")
            }
        }
        // A non-finite number is refused on this path too.
        let bad = FHIRObservation(id: "o", status: "final", category: [], code: FHIRCodeableConcept(), subject: FHIRReference(),
                                  valueQuantity: FHIRQuantity(value: .infinity, unit: "s"))
        #expect(throws: EncodingError.self) { try FHIRJSONWriter().encode(bad) }
    }

    /// FHIR instants are computed, not formatted: the same text as Foundation's ISO 8601 formatter (UTC, milliseconds)
    /// for instants across four centuries, at millisecond boundaries and before 1970.
    @Test func instantsAsTheISOFormatterWritesThem() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        var instants: [Double] = [0, -1.5, -0.0004, 0.9995, 951_782_400, 951_868_799.9999, 1_764_756_000.1236, 1_764_756_000.00049, 4_107_542_399.999]
        for _ in 0..<2000 { instants.append(Double.random(in: -2_208_988_800...10_413_792_000, using: &generator)) }
        for t in instants {
            let date = Date(timeIntervalSince1970: t)
            #expect(FHIRMapping.instant(date) == formatter.string(from: date), "\(t)")
        }
    }
}
