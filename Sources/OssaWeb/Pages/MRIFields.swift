import Foundation
import OssaCore

/// The MRI reading as one grid form (MOAKS, Hunter 2011): for each subregion of the joint the BML size grade, the
/// % of the lesion that is BML rather than cyst, and the lesion count; then insufficiency fracture, AVN, focal
/// cartilage lesion and red flags. Shared by the imaging form and the screening form (`mri[...]` names).
enum MRIFields {
    static func subregionOptions(_ joint: Joint) -> [(String, String)] {
        BMLSubregion.subregions(of: joint).map { ($0.rawValue, JointDiagram.subregionName($0.rawValue)) }
    }

    static func sections(joint: Joint, _ values: FormValues, _ errors: FormErrors, dateRequired: Bool) -> [FormSection] {
        let subregions = BMLSubregion.subregions(of: joint)
        let grades = [("0", "0 none"), ("1", "1 (<10%)"), ("2", "2 (10–33%)"), ("3", "3 (>33%)")]
        let percent = [("0", "0 none"), ("1", "1 (<33%)"), ("2", "2 (33–66%)"), ("3", "3 (>66%)")]
        let rows = subregions.map { subregion -> FormGrid.Row in
            let name = JointDiagram.subregionName(subregion.rawValue)
            let key = "mri[bml][\(subregion.rawValue)]"
            return FormGrid.Row(header: name, cells: [
                FormField.select("\(key)[size]", "\(name): BML size grade", values, errors, options: grades, blank: "–", labelHidden: true),
                FormField.select("\(key)[bmlPercent]", "\(name): % BML vs cyst", values, errors, options: percent, blank: "–", labelHidden: true),
                FormField.number("\(key)[count]", "\(name): number of lesions", values, errors, decimal: false, labelHidden: true),
            ])
        }
        var study = [FormField.date("mri[date]", "MRI date", values, errors)]
        study[0].required = dateRequired
        let regions = subregionOptions(joint)
        return [
            FormSection("MRI", id: "mri", hint: "Leave the grid empty where the subregion has no lesion (it reads as grade 0).", fields: study,
                        grid: subregions.isEmpty ? nil : FormGrid(caption: "Bone marrow lesions by subregion (MOAKS)",
                                                                  headers: ["Subregion", "BML size grade", "% BML (vs cyst)", "Lesions"], rows: rows)),
            FormSection("Other MRI findings", id: "mri-other", fields: [
                FormField.select("mri[insufficiencyFracture][subregion]", "Insufficiency fracture line: subregion", values, errors, options: regions, blank: "None seen"),
                FormField.number("mri[insufficiencyFracture][lengthMm]", "Fracture line length (mm)", values, errors),
                FormField.select("mri[avn][subregion]", "Avascular necrosis: subregion", values, errors, options: regions, blank: "None seen"),
                FormField.yesNo("mri[avn][collapse]", "Subchondral collapse", values, errors),
                FormField.number("mri[avn][depressionMm]", "Articular surface depression (mm)", values, errors),
                FormField.select("mri[focalCartilageLesions][0][subregion]", "Focal cartilage lesion: subregion", values, errors, options: regions, blank: "None seen"),
                FormField.number("mri[focalCartilageLesions][0][areaCm2]", "Focal cartilage lesion area (cm²)", values, errors),
                FormField.select("mri[focalCartilageLesions][0][depth]", "Focal cartilage lesion depth", values, errors,
                                 options: CartilageLesionDepth.allCases.map { ($0.rawValue, $0.rawValue.replacingOccurrences(of: "-", with: " ").capitalizedFirst) }),
                FormField.yesNo("mri[suspectedTumourOrInfection]", "Suspected tumour or infection", values, errors,
                                hint: "A red flag: the screen refers the patient on"),
            ]),
        ]
    }

    /// The MRI from the form, or nil when no date and no finding was entered (and the date is not required).
    static func read(_ reader: inout FormReader, joint: Joint, today: CalendarDate, dateRequired: Bool) -> MRIStudy? {
        let anyValue = reader.values.values.contains { $0.key.hasPrefix("mri[") && $0.key != "mri[date]" && $0.value.contains { !$0.isEmpty } }
        let date = reader.date("mri[date]", "MRI date", required: dateRequired || anyValue, notAfter: today)
        var findings: [BMLFinding] = []
        for subregion in BMLSubregion.subregions(of: joint) {
            let key = "mri[bml][\(subregion.rawValue)]"
            let name = JointDiagram.subregionName(subregion.rawValue)
            let size = reader.int("\(key)[size]", "\(name) BML size grade", 0...3)
            let percent = reader.int("\(key)[bmlPercent]", "\(name) % BML grade", 0...3)
            let count = reader.int("\(key)[count]", "\(name) number of lesions", BMLFinding.plausibleCount)
            guard let size, let grade = BMLSizeGrade(rawValue: size) else {
                if percent != nil || count.map({ $0 > 0 }) == true {
                    reader.errors.add("\(key)[size]", "\(name): give the BML size grade for the lesion described")
                }
                continue
            }
            if size == 0, percent == nil, count == nil { continue }
            findings.append(BMLFinding(subregion: subregion, size: grade, bmlPercent: percent.flatMap(BMLPercentGrade.init(rawValue:)), count: count))
        }
        func region(_ name: String) -> BMLSubregion? {
            reader.choice(BMLSubregion.self, name, "Subregion")
        }
        let fractureRegion = region("mri[insufficiencyFracture][subregion]")
        let fractureLength = reader.double("mri[insufficiencyFracture][lengthMm]", "Fracture line length", 0.1...200, unit: " mm")
        let avnRegion = region("mri[avn][subregion]")
        let collapse = reader.yesNo("mri[avn][collapse]", "Subchondral collapse")
        let depression = reader.double("mri[avn][depressionMm]", "Articular surface depression", 0...30, unit: " mm")
        let cartilageRegion = region("mri[focalCartilageLesions][0][subregion]")
        let area = reader.double("mri[focalCartilageLesions][0][areaCm2]", "Focal cartilage lesion area", 0.01...20, unit: " cm²")
        let depth = reader.choice(CartilageLesionDepth.self, "mri[focalCartilageLesions][0][depth]", "Depth")
        let suspected = reader.yesNo("mri[suspectedTumourOrInfection]", "Suspected tumour or infection")
        guard let date else { return nil }
        let fracture = (fractureRegion != nil || fractureLength != nil) ? InsufficiencyFractureLine(subregion: fractureRegion, lengthMm: fractureLength) : nil
        let avn = (avnRegion != nil || collapse != nil || depression != nil) ? AVNLesion(subregion: avnRegion, collapse: collapse, depressionMm: depression) : nil
        let cartilage = (cartilageRegion != nil || area != nil || depth != nil)
            ? [FocalCartilageLesion(subregion: cartilageRegion, areaCm2: area, depth: depth)] : nil
        let study = MRIStudy(date: date, bml: findings, insufficiencyFracture: fracture, avn: avn, focalCartilageLesions: cartilage,
                             suspectedTumourOrInfection: suspected)
        do { try study.validate(joint: joint, at: "mri") } catch {
            // Paths name findings by index; the grid names them by subregion.
            if let index = Self.findingIndex(error.path), index < findings.count {
                let field = error.path.split(separator: ".").last.map(String.init) ?? "size"
                reader.errors.add("mri[bml][\(findings[index].subregion.rawValue)][\(field)]", error.message)
            } else {
                reader.errors.add(error)
            }
        }
        return study
    }

    /// `mri.bml[3].count` → 3.
    static func findingIndex(_ path: String) -> Int? {
        guard let open = path.range(of: "bml["), let close = path[open.upperBound...].firstIndex(of: "]") else { return nil }
        return Int(path[open.upperBound..<close])
    }

    static func values(_ mri: MRIStudy, into v: inout FormValues) {
        v.set("mri[date]", mri.date.iso)
        for finding in mri.bml {
            let key = "mri[bml][\(finding.subregion.rawValue)]"
            v.set("\(key)[size]", String(finding.size.rawValue))
            v.set("\(key)[bmlPercent]", finding.bmlPercent.map { String($0.rawValue) })
            v.set("\(key)[count]", finding.count.map(String.init))
        }
        v.set("mri[insufficiencyFracture][subregion]", mri.insufficiencyFracture?.subregion?.rawValue)
        v.set("mri[insufficiencyFracture][lengthMm]", mri.insufficiencyFracture?.lengthMm.map(FormReader.format))
        v.set("mri[avn][subregion]", mri.avn?.subregion?.rawValue)
        v.set("mri[avn][collapse]", mri.avn?.collapse.map { $0 ? "yes" : "no" })
        v.set("mri[avn][depressionMm]", mri.avn?.depressionMm.map(FormReader.format))
        if let lesion = mri.focalCartilageLesions?.first {
            v.set("mri[focalCartilageLesions][0][subregion]", lesion.subregion?.rawValue)
            v.set("mri[focalCartilageLesions][0][areaCm2]", lesion.areaCm2.map(FormReader.format))
            v.set("mri[focalCartilageLesions][0][depth]", lesion.depth?.rawValue)
        }
        v.set("mri[suspectedTumourOrInfection]", mri.suspectedTumourOrInfection.map { $0 ? "yes" : "no" })
    }
}
