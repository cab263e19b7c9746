import Foundation
import Testing
@testable import OssaCore

/// Instrument definitions: the built-in library, its codes and item sets, and clinic-supplied files.
/// Reference values are typed from the published sources, never read back from the JSON under test.
@Suite("Instruments")
struct InstrumentsTests {
    let library: InstrumentLibrary

    init() throws {
        library = try InstrumentLibrary.builtIn()
    }

    @Test func builtInIDsInOrder() {
        #expect(library.ids == ["koos", "hoos", "koos-jr", "hoos-jr", "nrs-pain", "pga", "tegner", "ucla", "events"])
    }

    @Test func lookupByIDAndUnknownID() throws {
        for id in ["koos", "hoos", "koos-jr", "hoos-jr", "nrs-pain", "pga", "tegner", "ucla", "events"] {
            #expect(try library.require(id: id).id == id)
        }
        #expect(library.instrument(id: "womac") == nil)
        let error = #expect(throws: InstrumentLibrary.LookupError.self) { try library.require(id: "womac") }
        #expect(error?.description.contains("womac") == true)
        #expect(error?.description.contains("koos-jr") == true)
    }

    /// LOINC table (loinc.org), typed here: panel and score codes per instrument; nil = no verified code.
    @Test func loincCodesMatchClinicalReference() throws {
        let expectedPanels: [String: String?] = [
            "koos": "72091-2", "hoos": "72092-0", "koos-jr": "82324-5", "hoos-jr": nil,
            "nrs-pain": nil, "pga": nil, "tegner": nil, "ucla": nil, "events": nil,
        ]
        let expectedScores: [String: [String: String?]] = [
            "koos": ["pain": "72102-7", "symptoms": "72101-9", "adl": "72100-1", "sport": "72099-5", "qol": "72098-7"],
            "hoos": ["pain": "72097-9", "symptoms": "72096-1", "adl": "72095-3", "sport": "72094-6", "qol": "72093-8"],
            "koos-jr": ["score": "82332-8"],
            "hoos-jr": ["score": "82323-7"],
            "nrs-pain": ["score": "72514-3"],
            "pga": ["score": nil],
            "tegner": ["current": nil, "preInjury": nil],
            "ucla": ["score": nil],
            "events": [:],
        ]
        for definition in library.instruments {
            #expect(definition.loincPanel == expectedPanels[definition.id] ?? nil, "panel of \(definition.id)")
            let scores = try #require(expectedScores[definition.id])
            #expect(Set(definition.scores.map(\.id)) == Set(scores.keys), "score ids of \(definition.id)")
            for score in definition.scores {
                #expect(score.loinc == scores[score.id] ?? nil, "LOINC of \(definition.id).\(score.id)")
            }
        }
    }

    @Test func loincCheckDigit() {
        // Every LOINC code typed above passes the Mod-10 check.
        for code in ["72091-2", "72102-7", "72101-9", "72100-1", "72099-5", "72098-7", "79438-8", "82324-5", "82332-8", "98915-2",
                     "72092-0", "72097-9", "72096-1", "72095-3", "72094-6", "72093-8", "82323-7", "98945-9", "88784-4",
                     "72514-3", "38208-5", "71971-6", "71969-0"] {
            #expect(LOINCCode.isValid(code), "\(code)")
        }
        for bad in ["72102-8", "72102", "7210-27", "abc-1", "72102-", "-7"] {
            #expect(!LOINCCode.isValid(bad), "\(bad)")
        }
    }

    /// KOOS/HOOS user's guides and Lyman 2016: item codes per subscale and the 2012 / 2013 minimum-answered counts.
    @Test func koosAndHoosStructure() throws {
        func codes(_ prefix: String, _ count: Int) -> [String] { (1...count).map { "\(prefix)\($0)" } }
        let koos = try library.require(id: "koos")
        #expect(koos.items.count == 42)
        #expect(koos.scores.map(\.id) == ["symptoms", "pain", "adl", "sport", "qol"])
        #expect(koos.scores.map(\.items) == [codes("S", 7), codes("P", 9), codes("A", 17), codes("SP", 5), codes("Q", 4)])
        #expect(koos.scores.map(\.minimumAnswered) == [4, 5, 9, 3, 2])
        #expect(koos.direction == .higherIsBetter)
        #expect(koos.scoring.version == "2012")

        let hoos = try library.require(id: "hoos")
        #expect(hoos.items.count == 40)
        #expect(hoos.scores.map(\.id) == ["symptoms", "pain", "adl", "sport", "qol"])
        #expect(hoos.scores.map(\.items) == [codes("S", 5), codes("P", 10), codes("A", 17), codes("SP", 4), codes("Q", 4)])
        #expect(hoos.scores.map(\.minimumAnswered) == [3, 5, 9, 2, 2])
        #expect(hoos.scoring.version == "2013")

        // Every KOOS/HOOS item is answered 0–4.
        for definition in [koos, hoos] {
            for item in definition.items {
                #expect(definition.options(for: item).map(\.value) == [0, 1, 2, 3, 4], "\(definition.id).\(item.code)")
            }
        }
        // S4/S5 are ability questions: first box "Always" still scores 0 (KOOS User's Guide).
        let s4 = try #require(koos.item("S4"))
        #expect(koos.options(for: s4).first?.label == "Always")
    }

    @Test func shortFormItems() throws {
        let koosJR = try library.require(id: "koos-jr")
        #expect(koosJR.items.map(\.code) == ["S6", "P2", "P3", "P6", "P9", "A3", "A5"])
        #expect(koosJR.scores.map(\.minimumAnswered) == [7])
        let hoosJR = try library.require(id: "hoos-jr")
        #expect(hoosJR.items.map(\.code) == ["P5", "P10", "A3", "A5", "A12", "A14"])
        #expect(hoosJR.scores.map(\.minimumAnswered) == [6])
    }

    @Test func singleItemInstruments() throws {
        let nrs = try library.require(id: "nrs-pain")
        #expect(nrs.direction == .higherIsWorse)
        #expect(nrs.options(for: nrs.items[0]).map(\.value) == Array(0...10))
        let pga = try library.require(id: "pga")
        #expect(pga.direction == .higherIsWorse)
        #expect(pga.options(for: pga.items[0]).map(\.value) == Array(0...10))
        // PGA enters OMERACT-OARSI as value × 10 (Pham et al. 2004).
        #expect(pga.omeractOarsi?.first?.domain == .patientGlobal)
        #expect(pga.omeractOarsi?.first?.domainValue(7) == 70)
        let tegner = try library.require(id: "tegner")
        #expect(tegner.items.map(\.code) == ["current", "preInjury"])
        #expect(tegner.options(for: tegner.items[0]).map(\.value) == Array(0...10))
        let ucla = try library.require(id: "ucla")
        #expect(ucla.options(for: ucla.items[0]).map(\.value) == Array(1...10))
    }

    @Test func eventsFormHasFollowUpsAndNoScore() throws {
        let events = try library.require(id: "events")
        #expect(!events.isScorable)
        let type = try #require(events.item("jointReplacementType"))
        #expect(type.enableWhen == ItemEnableCondition(item: "jointReplacement", equals: 1))
        #expect(events.options(for: type).map(\.label).joined(separator: " ").contains("UKA"))
        #expect(events.item("jointReplacementDate")?.itemType == .date)
        #expect(events.item("adverseEventSeverity") != nil)
        for code in ["jointReplacement", "otherSurgery", "newInjection", "adverseEvent", "hospitalAdmission"] {
            let item = try #require(events.item(code))
            #expect(events.options(for: item).map(\.value) == [0, 1], "\(code)")
        }
    }

    @Test func builtInFilesRoundTripThroughTheDecoder() throws {
        for definition in library.instruments {
            let encoder = JSONEncoder()
            let data = try encoder.encode(definition)
            #expect(try InstrumentDefinition.decode(from: data) == definition)
        }
    }

    @Test func wordingIsReplaceable() throws {
        let koos = try library.require(id: "koos")
        let licensed = try koos.replacingWording(["P1": "Licensed wording of P1"])
        #expect(licensed.item("P1")?.text == "Licensed wording of P1")
        #expect(licensed.item("P2")?.text == koos.item("P2")?.text)
        let error = #expect(throws: FieldValidationError.self) { try koos.replacingWording(["P10": "x"]) }
        #expect(error?.description.contains("P10") == true)
    }
}

/// A clinic-supplied definition (a WOMAC-like form) in the same schema.
@Suite("Instruments: clinic-supplied definitions")
struct InstrumentsCustomDefinitionTests {
    static let womacLike = """
    {
      "schemaVersion": 1, "id": "womac-demo", "title": "Demo licensed index", "abbreviation": "DEMO",
      "direction": "higher-is-worse",
      "scoring": {"algorithm": "sum", "version": "3.1"},
      "licence": "Clinic licence",
      "responseSets": {"likert": [{"value": 0, "label": "None"}, {"value": 1, "label": "Mild"}, {"value": 2, "label": "Moderate"},
                                  {"value": 3, "label": "Severe"}, {"value": 4, "label": "Extreme"}]},
      "items": [{"code": "W1", "text": "one", "responseSet": "likert"}, {"code": "W2", "text": "two", "responseSet": "likert"},
                {"code": "W3", "text": "three", "responseSet": "likert"}],
      "scores": [{"id": "pain", "label": "Pain", "method": "sum", "items": ["W1", "W2", "W3"], "minimumAnswered": 2}]
    }
    """

    func decode(_ json: String) throws(FieldValidationError) -> InstrumentDefinition {
        try InstrumentDefinition.decode(from: Data(json.utf8))
    }

    func error(_ json: String) -> FieldValidationError? {
        #expect(throws: FieldValidationError.self) { try decode(json) }
    }

    @Test func decodesAndScores() throws {
        let definition = try decode(Self.womacLike)
        #expect(try definition.score(["W1": 1, "W2": 2, "W3": 4]).value("pain") == 7)
        // One missing of three: prorated 3 × (1 + 2) / 2 = 4.5 (mean imputation).
        #expect(try definition.score(["W1": 1, "W2": 2, "W3": nil]).value("pain") == 4.5)
        #expect(try definition.score(["W1": 1]).value("pain") == nil)
        let library = try InstrumentLibrary.builtIn().adding(definition)
        #expect(library.instrument(id: "womac-demo") != nil)
        #expect(throws: InstrumentLibrary.LookupError.duplicateInstrument(id: "koos")) {
            try InstrumentLibrary.builtIn().adding(try InstrumentLibrary.builtIn().require(id: "koos"))
        }
    }

    @Test func misspeltFieldIsNamed() {
        let json = Self.womacLike.replacingOccurrences(of: "\"minimumAnswered\": 2", with: "\"minimumAnswerd\": 2")
        let path = error(json)?.description ?? ""
        #expect(path.contains("minimumAnswerd"))
    }

    @Test func missingFieldIsNamed() {
        let json = Self.womacLike.replacingOccurrences(of: "\"direction\": \"higher-is-worse\",", with: "")
        #expect(error(json)?.path == "direction")
    }

    @Test func badDirectionValueIsNamed() {
        let json = Self.womacLike.replacingOccurrences(of: "higher-is-worse", with: "up")
        #expect(error(json)?.path == "direction")
    }

    @Test func unknownItemInScoreIsNamed() {
        let json = Self.womacLike.replacingOccurrences(of: "[\"W1\", \"W2\", \"W3\"]", with: "[\"W1\", \"W9\", \"W3\"]")
        let found = error(json)
        #expect(found?.path == "scores[0].items[1]")
        #expect(found?.message.contains("W9") == true)
    }

    @Test func badLoincIsNamed() {
        let json = Self.womacLike.replacingOccurrences(of: "\"minimumAnswered\": 2}", with: "\"minimumAnswered\": 2, \"loinc\": \"72102-8\"}")
        #expect(error(json)?.path == "scores[0].loinc")
    }

    @Test func minimumAnsweredOutOfRangeIsNamed() {
        let json = Self.womacLike.replacingOccurrences(of: "\"minimumAnswered\": 2", with: "\"minimumAnswered\": 4")
        #expect(error(json)?.path == "scores[0].minimumAnswered")
    }

    @Test func unknownResponseSetIsNamed() {
        let json = Self.womacLike.replacingOccurrences(of: "{\"code\": \"W2\", \"text\": \"two\", \"responseSet\": \"likert\"}",
                                                       with: "{\"code\": \"W2\", \"text\": \"two\", \"responseSet\": \"likret\"}")
        #expect(error(json)?.path == "items[1].responseSet")
    }

    @Test func duplicateItemCodeIsNamed() {
        let json = Self.womacLike.replacingOccurrences(of: "\"code\": \"W3\"", with: "\"code\": \"W2\"")
        #expect(error(json)?.path == "items[2].code")
    }

    @Test func shortTableIsNamed() {
        let json = Self.womacLike.replacingOccurrences(
            of: "\"method\": \"sum\", \"items\": [\"W1\", \"W2\", \"W3\"], \"minimumAnswered\": 2",
            with: "\"method\": \"table\", \"items\": [\"W1\", \"W2\", \"W3\"], \"minimumAnswered\": 3, \"table\": [{\"raw\": 0, \"score\": 100}]")
        #expect(error(json)?.path == "scores[0].table")
    }

    @Test func notJSONIsReported() {
        #expect(error("{ not json")?.message.contains("JSON") == true)
    }
}
