import Foundation
@testable import OssaWeb
import Testing

/// Form bodies into `Decodable` structs: nested fields, indexed rows, repeated keys, and refusals naming the field.
@Suite("Form decoding")
struct FormDecoderTests {
    enum Product: String, Decodable { case prp, bmc }
    struct Injection: Decodable, Equatable {
        var target: String
        var volume: Double
        var product: Product
    }
    struct Labs: Decodable, Equatable {
        var platelets: Int?
        var hba1c: Double?
    }
    struct ProcedureForm: Decodable, Equatable {
        var date: String
        var notes: String?
        var sedation: Bool
        var comorbidities: [String]
        var labs: Labs
        var injections: [Injection]
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: String) throws -> T {
        try FormDecoder().decode(type, from: Forms.pairs(body))
    }

    @Test("nested fields, indexed rows in index order, repeated keys and checkboxes")
    func decodesAWholeForm() throws {
        let body = "date=2026-03-10&notes=&sedation=on&comorbidities=diabetes&comorbidities=hypertension"
            + "&labs%5Bplatelets%5D=250&labs[hba1c]=6.1"
            + "&injections[2][target]=MFC&injections[2][volume]=4.5&injections[2][product]=bmc"
            + "&injections[0][target]=MTP&injections[0][volume]=5&injections[0][product]=prp&_csrf=abc"
        let form = try decode(ProcedureForm.self, body)
        #expect(form == ProcedureForm(date: "2026-03-10", notes: nil, sedation: true, comorbidities: ["diabetes", "hypertension"],
                                      labs: Labs(platelets: 250, hba1c: 6.1),
                                      injections: [Injection(target: "MTP", volume: 5, product: .prp),
                                                   Injection(target: "MFC", volume: 4.5, product: .bmc)]))
        // An unticked checkbox and no rows at all.
        let bare = try decode(ProcedureForm.self, "date=2026-03-10&comorbidities[]=none")
        #expect(bare.sedation == false && bare.injections.isEmpty && bare.comorbidities == ["none"] && bare.labs == Labs())
    }

    @Test("bad input is refused with the field named as the form writes it")
    func refusals() throws {
        #expect(throws: FormDecoder.FieldError(field: "date", message: "was sent more than once")) {
            _ = try decode(ProcedureForm.self, "date=2026-03-10&date=2026-03-11")
        }
        #expect(throws: FormDecoder.FieldError(field: "injections[1][volume]", message: "\"lots\" is not a number")) {
            _ = try decode(ProcedureForm.self, "date=d&injections[1][target]=MTP&injections[1][volume]=lots&injections[1][product]=prp")
        }
        #expect(throws: FormDecoder.FieldError(field: "labs[platelets]", message: "\"many\" is not a whole number")) {
            _ = try decode(ProcedureForm.self, "date=d&labs[platelets]=many")
        }
        #expect(throws: FormDecoder.FieldError.self) {
            _ = try decode(ProcedureForm.self, "date=d&injections[0][target]=MTP&injections[0][volume]=1&injections[0][product]=stem-cells")
        }
        #expect(throws: FormDecoder.FieldError(field: "injections[x]", message: "is not a row number 0–199")) {
            _ = try decode(ProcedureForm.self, "date=d&injections[x][volume]=1")
        }
        #expect(throws: FormDecoder.FieldError(field: "date[day]", message: "mixes a value and nested fields")) {
            _ = try decode(ProcedureForm.self, "date=d&date[day]=1")
        }
        #expect(throws: FormDecoder.FieldError(field: "labs[platelets", message: "is not a valid field name")) {
            _ = try decode(ProcedureForm.self, "date=d&labs[platelets=1")
        }
    }
}
