import Foundation
@testable import OssaFHIR
import Testing

/// The JSON parser that reads every FHIR body and import file. Its answers are held to Foundation's
/// `JSONSerialization` (which it replaced for speed) and to cases of the JSON parsing test suite
/// (github.com/nst/JSONTestSuite, `test_parsing/`: `y_` must parse, `n_` must be refused), named as there.
@Suite("FHIR JSON parser")
struct FHIRJSONParserTests {
    /// The same value as `JSONSerialization` gives, compared as Foundation compares property lists.
    static func sameAsFoundation(_ text: String) throws -> Bool {
        let data = Data(text.utf8)
        let ours = try FHIRJSONParser.value(data)
        let theirs = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        return NSArray(array: [ours]).isEqual(NSArray(array: [theirs]))
    }

    @Test(arguments: [
        // y_ cases of JSONTestSuite.
        #"[[]   ]"#, #"[""]"#, #"[]"#, #"["a"]"#, #"[false]"#, #"[null, 1, "1", {}]"#, #"[1E22]"#, #"[1E-2]"#, #"[-0]"#, #"[-123]"#,
        #"[123e65]"#, #"[0e+1]"#, #"[1.5e-3]"#, #"{"asd":"sdf", "dfg":"fgh"}"#, #"{"a":[]}"#, #"{"a":"b","a":"c"}"#,
        #"["\u0060\u012a\u12AB"]"#, #"["\uD801\udc37"]"#, #"["\\u0000"]"#, #"["\"\\\/\b\f\n\r\t"]"#, #"["€𝄞"]"#, #"["a\u0000b"]"#,
        #" [1] "#, #"{"x": {"y": {"z": [true, false, null]}}}"#, #"[9223372036854775807]"#, #"[92233720368547758080]"#,
        #"{"value": 0.1, "n": 3}"#,
    ])
    func parsesWhatFoundationParsesToTheSameValue(_ text: String) throws {
        #expect(try Self.sameAsFoundation(text), "\(text)")
    }

    @Test(arguments: [
        // n_ cases of JSONTestSuite, and one of its i_ cases (implementation-defined): a number beyond Double, refused here.
        #"[1,]"#, #"[,1]"#, #"{"a":1,}"#, #"[01]"#, #"[-01]"#, #"[1.]"#, #"[.1]"#, #"[1e]"#, #"[+1]"#, #"[NaN]"#, #"[Infinity]"#,
        #"["\x"]"#, #"["\uD800"]"#, #"["\uDC00"]"#, #"["\uD800\u0041"]"#, #"["\u00"]"#, #"{'a':1}"#, #"{"a" 1}"#, #"{1:1}"#,
        #"[1] x"#, #"[1]]"#, #"["a"#, #"[tru]"#, #"[nul]"#, "[\"\t\"]", "[\"a\nb\"]", #"[1e400]"#, "", " ", #"{"a":1}{"#,
    ])
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: FHIRJSONParser.Failure.self, "\(text)") { try FHIRJSONParser.value(Data(text.utf8)) }
    }

    @Test func refusesInvalidUTF8AndHostileNesting() {
        // n_string_invalid_utf-8, n_string_lone_continuation_byte, an overlong encoding of "/".
        for bytes: [UInt8] in [[0x5B, 0x22, 0xFF, 0x22, 0x5D], [0x5B, 0x22, 0x81, 0x22, 0x5D], [0x5B, 0x22, 0xC0, 0xAF, 0x22, 0x5D]] {
            #expect(throws: FHIRJSONParser.Failure.self) { try FHIRJSONParser.value(Data(bytes)) }
        }
        // n_structure_100000_opening_arrays: refused, not a crash.
        #expect(throws: FHIRJSONParser.Failure.self) { try FHIRJSONParser.value(Data(String(repeating: "[", count: 100_000).utf8)) }
        let deep = String(repeating: "[", count: FHIRJSONParser.maximumDepth) + String(repeating: "]", count: FHIRJSONParser.maximumDepth)
        #expect(throws: Never.self) { try FHIRJSONParser.value(Data(deep.utf8)) }
        #expect(throws: FHIRJSONParser.Failure.self) { try FHIRJSONParser.value(Data(("[" + deep + "]").utf8)) }
    }

    /// Where it differs on purpose: Foundation may hold a decimal whose value is not the nearest double
    /// (57.300000000000004 came back as 57.3); this parser gives the nearest double.
    @Test func numbersAndBooleansReadAsTheFHIRReadersExpect() throws {
        let object = try #require(FHIRJSONParser.object(Data(#"{"i": 3, "d": 57.300000000000004, "t": true, "f": false, "z": 0, "one": 1}"#.utf8)))
        #expect(jsonNumber(object["i"])?.intValue == 3)
        #expect(jsonNumber(object["d"]).map(exactDouble) == 57.300000000000004)
        #expect(jsonBoolean(object["t"]) == true && jsonBoolean(object["f"]) == false)
        // 0 and 1 are numbers, never booleans; true is never a number.
        #expect(jsonBoolean(object["z"]) == nil && jsonBoolean(object["one"]) == nil && jsonNumber(object["t"]) == nil)
        #expect(jsonNumber(object["z"])?.intValue == 0)
    }

    @Test func theVectorBundlesReadAsFoundationReadsThem() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/fhir")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(names.count >= 2)
        for name in names {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            #expect(try Self.sameAsFoundation(text), "\(name)")
        }
    }

    @Test func randomDocumentsReadAsFoundationReadsThem() throws {
        var rng = SplitMix(seed: 20261206)
        for _ in 0..<300 {
            let text = Self.randomJSON(&rng, depth: 0)
            #expect(try Self.sameAsFoundation(text), "\(text)")
        }
    }

    static func randomJSON(_ rng: inout SplitMix, depth: Int) -> String {
        let pick = depth > 4 ? rng.next() % 4 : rng.next() % 6
        switch pick {
        case 0: return ["true", "false", "null"][Int(rng.next() % 3)]
        case 1:
            let value = Double(Int64(bitPattern: rng.next()) % 1_000_000) / [1, 10, 1000, 7][Int(rng.next() % 4)]
            return rng.next() % 2 == 0 ? "\(Int64(value))" : "\(value)"
        case 2, 3:
            let pieces = ["a", "Zürich", "\\n", "\\\"", "\\u00e9", "\\ud83d\\ude00", " ", "€", "\\/", "x y"]
            return "\"" + (0..<Int(rng.next() % 5)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined() + "\""
        case 4:
            return "[" + (0..<Int(rng.next() % 4)).map { _ in randomJSON(&rng, depth: depth + 1) }.joined(separator: ", ") + "]"
        default:
            return "{" + (0..<Int(rng.next() % 4)).map { n in "\"k\(n)\": " + randomJSON(&rng, depth: depth + 1) }.joined(separator: ",") + "}"
        }
    }

    /// A small seeded generator (SplitMix64), so a failure is repeatable.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
