import Foundation
import Testing
@testable import OssaCore

@Suite("Domain: CalendarDate")
struct DomainCalendarDateTests {
    @Test("ISO parsing and formatting")
    func iso() throws {
        let d = try CalendarDate(iso: "2026-01-31")
        #expect(d.year == 2026 && d.month == 1 && d.day == 31)
        #expect(d.iso == "2026-01-31")
        #expect(try CalendarDate(year: 2024, month: 2, day: 29).iso == "2024-02-29")
        #expect(throws: FieldValidationError.self) { try CalendarDate(iso: "2026-02-29") }
        #expect(throws: FieldValidationError.self) { try CalendarDate(iso: "2026-13-01") }
        #expect(throws: FieldValidationError.self) { try CalendarDate(iso: "2026-1-5") }
        #expect(throws: FieldValidationError.self) { try CalendarDate(iso: "2026-01-05T10:00:00Z") }
        #expect(throws: FieldValidationError.self) { try CalendarDate(iso: "1900-02-29") }
    }

    @Test("day arithmetic against known dates")
    func days() throws {
        #expect(day("1970-01-01").dayNumber == 0)
        #expect(day("2000-03-01").dayNumber == 11_017)
        #expect(day("2026-02-25").adding(days: 15) == day("2026-03-12"))
        #expect(day("2024-02-28").adding(days: 1) == day("2024-02-29"))
        #expect(day("2025-12-31").adding(days: 1) == day("2026-01-01"))
        #expect(day("2026-03-01").adding(days: -1) == day("2026-02-28"))
        #expect(CalendarDate.daysBetween(day("2026-01-01"), day("2027-01-01")) == 365)
        #expect(CalendarDate.daysBetween(day("2024-01-01"), day("2025-01-01")) == 366)
        #expect(day("2026-03-02").days(to: day("2026-02-15")) == -15)
    }

    @Test("calendar months clamp to the end of the month")
    func months() throws {
        #expect(day("2026-01-31").adding(months: 1) == day("2026-02-28"))
        #expect(day("2024-01-31").adding(months: 1) == day("2024-02-29"))
        #expect(day("2025-12-31").adding(months: 3) == day("2026-03-31"))
        #expect(day("2026-03-31").adding(months: -1) == day("2026-02-28"))
        #expect(day("2026-01-15").adding(months: 24) == day("2028-01-15"))
        #expect(day("2026-01-15").adding(months: -13) == day("2024-12-15"))
    }

    @Test("Codable as a YYYY-MM-DD string, errors name the field")
    func codable() throws {
        struct Box: Codable, Equatable { var when: CalendarDate }
        let data = try JSONEncoder().encode(Box(when: day("2026-07-04")))
        #expect(String(decoding: data, as: UTF8.self) == #"{"when":"2026-07-04"}"#)
        #expect(try JSONDecoder().decode(Box.self, from: data) == Box(when: day("2026-07-04")))
        do {
            _ = try StrictJSON.decode(Box.self, from: Data(#"{"when":"2026-04-31"}"#.utf8))
            Issue.record("should fail")
        } catch {
            #expect(error.path == "when")
            #expect(error.message.contains("day 31 is not in 2026-04 (1–30)"))
        }
    }
}

@Suite("Domain: grades and diagnoses")
struct DomainGradeTests {
    private func decodeError<T: Decodable>(_ type: T.Type, _ json: String) -> String? {
        do { _ = try StrictJSON.decode(type, from: Data(json.utf8)); return nil } catch { return error.description }
    }

    struct DiagnosisBox: Codable { var diagnosis: Diagnosis }

    @Test("invalid grades give messages naming the field")
    func gradeMessages() {
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"osteoarthritis","kellgrenLawrence":5}}"#)
                == "diagnosis.kellgrenLawrence: 5 is not a Kellgren–Lawrence grade (0–4)")
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"osteoarthritis","kellgrenLawrence":-1}}"#)
                == "diagnosis.kellgrenLawrence: -1 is not a Kellgren–Lawrence grade (0–4)")
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"osteoarthritis","ahlback":"VI"}}"#)
                == #"diagnosis.ahlback: "VI" is not a Ahlbäck grade (I–V)"#)
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"osteoarthritis","tonnis":4}}"#)
                == "diagnosis.tonnis: 4 is not a Tönnis grade (0–3)")
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"avascular-necrosis","arco":"IIIC"}}"#)
                == #"diagnosis.arco: "IIIC" is not a ARCO stage (I, II, IIIA, IIIB, IV)"#)
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"avascular-necrosis","arco":3}}"#)
                == "diagnosis.arco: 3 is not a ARCO stage (I, II, IIIA, IIIB, IV)", "3 is ambiguous between IIIA and IIIB")
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"avascular-necrosis","koshino":5}}"#)
                == "diagnosis.koshino: 5 is not a Koshino stage (1–4)")
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"osteoarthritis","kellgrenLawrence":2.5}}"#)
                == "diagnosis.kellgrenLawrence: 2.5 is not a Kellgren–Lawrence grade (0–4)")
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"gout"}}"#)?.hasPrefix(#"diagnosis.type: "gout" is not a diagnosis type"#) == true)
        #expect(decodeError(DiagnosisBox.self, #"{"diagnosis":{"type":"avascular-necrosis","arco":"II","koshino":1}}"#)
                == "diagnosis.koshino: give either an ARCO or a Koshino stage, not both")
    }

    @Test("constructing grades from raw values")
    func rawConstruction() throws {
        #expect(try KellgrenLawrenceGrade.from(4) == .grade4)
        #expect(try AhlbackGrade.parse("iii") == .III)
        #expect(try AhlbackGrade.from(5) == .V)
        #expect(try ARCOStage.parse("IIIB") == .IIIB)
        #expect(ARCOStage.IIIB.isCollapsed && ARCOStage.IV.isCollapsed && !ARCOStage.IIIA.isCollapsed)
        #expect(KoshinoStage.stage3.isCollapsed && !KoshinoStage.stage2.isCollapsed)
        do {
            _ = try KellgrenLawrenceGrade.from(5, field: "diagnosis.kellgrenLawrence")
            Issue.record("should fail")
        } catch {
            #expect(error.description == "diagnosis.kellgrenLawrence: 5 is not a Kellgren–Lawrence grade (0–4)")
        }
    }

    @Test("diagnoses round-trip in their flat JSON form")
    func diagnosisRoundTrip() throws {
        let all: [Diagnosis] = [
            .osteoarthritis(OAGrading(kellgrenLawrence: .grade3, ahlback: .IV)),
            .boneMarrowLesion, .boneMarrowEdemaSyndrome,
            .insufficiencyFracture(koshino: .stage2),
            .boneBruise(injuryDate: day("2025-10-01"), monthsSinceInjury: nil),
            .avascularNecrosis(.arco(.IIIA)), .avascularNecrosis(.koshino(.stage1)), .avascularNecrosis(nil),
        ]
        for d in all {
            let data = try StrictJSON.encode(DiagnosisBox(diagnosis: d))
            #expect(try StrictJSON.decode(DiagnosisBox.self, from: data).diagnosis == d)
        }
        let oa = try StrictJSON.encode(DiagnosisBox(diagnosis: all[0]))
        #expect(String(decoding: oa, as: UTF8.self).contains(#""ahlback" : "IV""#))
        #expect(Diagnosis.boneBruise(injuryDate: day("2025-12-03"), monthsSinceInjury: nil).monthsSinceInjury(asOf: day("2026-03-02")) == 2)
        #expect(Diagnosis.boneBruise(injuryDate: day("2025-12-02"), monthsSinceInjury: nil).monthsSinceInjury(asOf: day("2026-03-02")) == 3)
        #expect(all[0].summary == "osteoarthritis (KL 3, Ahlbäck IV)")
    }

    @Test("joint-specific grading systems")
    func jointGrading() throws {
        #expect(throws: FieldValidationError.self) {
            try Diagnosis.osteoarthritis(OAGrading(tonnis: .grade2)).validate(joint: .knee, at: "diagnosis")
        }
        try Diagnosis.osteoarthritis(OAGrading(tonnis: .grade2)).validate(joint: .hip, at: "diagnosis")
        try Diagnosis.osteoarthritis(OAGrading(ahlback: .III)).validate(joint: .knee, at: "diagnosis")
    }
}

@Suite("Domain: MRI and BML")
struct DomainMRITests {
    @Test("MOAKS has 15 knee subregions in 4 compartments; hip set is separate")
    func subregions() {
        let knee = BMLSubregion.subregions(of: .knee)
        #expect(knee.count == 15)
        #expect(Set(knee.map(\.compartment)) == [.patellofemoral, .medialTibiofemoral, .lateralTibiofemoral, .subspinous])
        #expect(knee.filter { $0.compartment == .medialTibiofemoral }.count == 5)
        #expect(knee.filter { $0.compartment == .patellofemoral }.count == 4)
        #expect(BMLSubregion.subregions(of: .hip).count == 9)
        #expect(BMLSubregion.tibiaPosteriorLateral.boneTarget == .lateralTibialPlateau)
        #expect(BMLSubregion.femurPosteriorMedial.boneTarget == .medialFemoralCondyle)
        #expect(BMLSubregion.acetabulumSuperior.boneTarget == .acetabulum)
    }

    @Test("BML summary on a hand-computed case")
    func summary() {
        let findings = [
            BMLFinding(subregion: .tibiaCentralMedial, size: .medium, count: 1),
            BMLFinding(subregion: .femurCentralMedial, size: .small, count: 1),
            BMLFinding(subregion: .patellaLateral, size: .large, count: 2),
            BMLFinding(subregion: .subspinous, size: .none, count: 0),
            BMLFinding(subregion: .tibiaPosteriorLateral, size: .medium, count: 1),
        ]
        let s = BMLSummary(findings)
        // burden 2 + 1 + 3 + 0 + 2 = 8; max 3; involved 4; grade ≥ 2: 3
        #expect(s.burden == 8)
        #expect(s.maxGrade == 3)
        #expect(s.subregionsInvolved == 4)
        #expect(s.subregionsGrade2OrMore == 3)
        #expect(s.compartments == [.patellofemoral, .medialTibiofemoral, .lateralTibiofemoral])
        #expect(BMLSummary([]).burden == 0 && BMLSummary([]).maxGrade == 0 && BMLSummary([]).compartments.isEmpty)
    }

    @Test("per-subregion change between baseline and follow-up")
    func change() {
        let baseline = [BMLFinding(subregion: .tibiaCentralMedial, size: .medium), BMLFinding(subregion: .femurCentralMedial, size: .small)]
        let followUp = [BMLFinding(subregion: .tibiaCentralMedial, size: .small), BMLFinding(subregion: .patellaLateral, size: .small)]
        let changes = BMLChange.compare(baseline: baseline, followUp: followUp)
        #expect(changes.map(\.subregion) == [.patellaLateral, .femurCentralMedial, .tibiaCentralMedial])
        #expect(changes.map(\.change) == [1, -1, -1])
        #expect(changes.map(\.baseline) == [0, 1, 2])
    }

    @Test("MRI validation names the field")
    func validation() {
        func message(_ study: MRIStudy, _ joint: Joint = .knee) -> String? {
            do { try study.validate(joint: joint, at: "mri"); return nil } catch { return error.description }
        }
        let date = day("2026-01-10")
        #expect(message(MRIStudy(date: date, bml: [BMLFinding(subregion: .subspinous, size: .small, count: 1)])) == nil)
        #expect(message(MRIStudy(date: date, bml: [BMLFinding(subregion: .subspinous, size: .none, count: 2)]))
                == "mri.bml[0].count: 2 lesions recorded with size grade 0")
        #expect(message(MRIStudy(date: date, bml: [BMLFinding(subregion: .subspinous, size: .small), BMLFinding(subregion: .subspinous, size: .large)]))
                == #"mri.bml[1].subregion: "subspinous" is listed twice"#)
        #expect(message(MRIStudy(date: date, bml: [BMLFinding(subregion: .patellaMedial, size: .small)]), .hip)
                == #"mri.bml[0].subregion: "patella-medial" is a knee subregion, but the joint is the hip"#)
        #expect(message(MRIStudy(date: date, focalCartilageLesions: [FocalCartilageLesion(areaCm2: -1)]))?
            .hasPrefix("mri.focalCartilageLesions[0].areaCm2:") == true)
    }
}

@Suite("Domain: procedures and episodes")
struct DomainProcedureTests {
    private var record: ProcedureRecord {
        ProcedureRecord(
            date: day("2026-03-20"), setting: .office, anaesthesia: .localWithNitrous, guidance: [.fluoroscopy],
            fluoroscopySeconds: 42, doseAreaProduct: 120,
            prp: PRPDetails(system: "PRGF-Endoret", bloodDrawnMl: 72, finalVolumeMl: 24, plateletConcentration: 480,
                            foldOverWholeBlood: 2.1, leukocytes: .poor, activation: .calciumChloride),
            injections: [
                Injection(target: .intraArticular, product: .prp, approach: "lateral patellar", gauge: 21, volumeMl: 8),
                Injection(target: .bone(.medialTibialPlateau, subregion: .tibiaCentralMedial), product: .prp, approach: "anteromedial", gauge: 13, volumeMl: 5),
                Injection(target: .bone(.medialFemoralCondyle, subregion: .femurCentralMedial), product: .prp, approach: "medial", gauge: 13, volumeMl: 5),
            ],
            operator_: "Dr A", signature: Signature(signedBy: "Dr A", date: day("2026-03-20")))
    }

    private func message(_ mutate: (inout ProcedureRecord) -> Void) -> String? {
        var r = record
        mutate(&r)
        do { try r.validate(); return nil } catch { return error.description }
    }

    @Test("a plausible record validates and round-trips")
    func valid() throws {
        try record.validate()
        let data = try StrictJSON.encode(record)
        #expect(try StrictJSON.decode(ProcedureRecord.self, from: data) == record)
        #expect(String(decoding: data, as: UTF8.self).contains(#""operator" : "Dr A""#))
    }

    @Test("impossible values are rejected with the field path")
    func invalid() {
        #expect(message { $0.injections[1].volumeMl = -5 }?.hasPrefix("injections[1].volumeMl: -5 mL is outside the plausible range") == true)
        #expect(message { $0.injections[2].gauge = 40 }?.hasPrefix("injections[2].gauge: 40 G is outside the plausible range 8–30 G") == true)
        #expect(message { $0.prp?.finalVolumeMl = 80 } == "prp.finalVolumeMl: 80 mL is more than the 72 mL of blood drawn")
        #expect(message { $0.prp?.finalVolumeMl = 12 } == "injections: 18 mL of PRP injected but only 12 mL prepared")
        #expect(message { $0.fluoroscopySeconds = -1 }?.hasPrefix("fluoroscopySeconds: -1 s") == true)
        #expect(message { $0.guidance = [.ultrasound] } == "fluoroscopySeconds: fluoroscopy time recorded but guidance does not include fluoroscopy")
        #expect(message { $0.injections[0].product = .bmc } == "injections[0].product: BMC injected but no BMC details recorded")
        #expect(message { $0.signature = Signature(signedBy: "Dr A", date: day("2026-03-19")) }
                == "signature.date: 2026-03-19 is before the procedure date 2026-03-20")
        #expect(message { $0.bmc = BMCDetails(harvestSite: .posteriorIliacCrest, aspirateVolumeMl: 60, concentrateVolumeMl: 90) }?
            .hasPrefix("bmc.concentrateVolumeMl:") == true)
    }

    @Test("episode dates in the wrong order are rejected")
    func episodeOrder() {
        var episode = TreatmentEpisode(id: "e1", patientId: "p1", siteId: "s1", joint: .knee, side: .left,
                                       diagnosis: .osteoarthritis(OAGrading(kellgrenLawrence: .grade3)),
                                       procedures: [record], lastContactDate: day("2026-09-01"))
        #expect(throws: Never.self) { try episode.validate() }
        #expect(episode.indexDate == day("2026-03-20"))
        episode.outcomes = [.jointReplacement(kind: .tka, date: day("2026-01-01"))]
        do { try episode.validate(); Issue.record("should fail") } catch {
            #expect(error.description == "outcomes[0].date: 2026-01-01 is before the first IO procedure on 2026-03-20")
        }
        episode.outcomes = [.death(date: day("2026-06-01"))]
        do { try episode.validate(); Issue.record("should fail") } catch {
            #expect(error.description == "lastContactDate: 2026-09-01 is after death on 2026-06-01")
        }
        episode.outcomes = []
        episode.adjuncts = [.shockwave(ShockwaveCourse(device: .focusedElectromagnetic, energyFluxDensity: 0.5, pulsesPerSession: 2400,
                                                       sessionDates: [day("2026-04-03"), day("2026-04-01")]))]
        do { try episode.validate(); Issue.record("should fail") } catch {
            #expect(error.description == "adjuncts[0].shockwave.sessionDates[1]: 2026-04-01 is before 2026-04-03; dates must be in date order")
        }
        episode.adjuncts = [.shockwave(ShockwaveCourse(device: .radial, energyFluxDensity: 5, pulsesPerSession: 2000, sessionDates: [day("2026-04-01")]))]
        do { try episode.validate(); Issue.record("should fail") } catch {
            #expect(error.path == "adjuncts[0].shockwave.energyFluxDensity")
        }
    }
}
