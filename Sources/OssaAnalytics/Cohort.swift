import Foundation
import OssaCore

/// The products an episode's IO procedures injected (the cohort filter "product").
public enum ProductMix: String, Sendable, Codable, CaseIterable, Hashable {
    case prp, bmc, both

    public init?(_ products: Set<InjectedProduct>) {
        switch (products.contains(.prp), products.contains(.bmc)) {
        case (true, true): self = .both
        case (true, false): self = .prp
        case (false, true): self = .bmc
        case (false, false): return nil
        }
    }

    public var label: String {
        switch self {
        case .prp: "PRP"
        case .bmc: "BMC"
        case .both: "PRP and BMC"
        }
    }
}

/// What a cohort is split by: any filter dimension, or nothing.
public enum CohortGrouping: String, Sendable, Codable, CaseIterable, Hashable {
    case none, site, joint, diagnosis, product, intraArticular, kellgrenLawrence, ahlback, tonnis
    case bmlBurden, age, sex, bmi, year, screening

    public var label: String {
        switch self {
        case .none: "No grouping"
        case .site: "Site"
        case .joint: "Joint"
        case .diagnosis: "Diagnosis"
        case .product: "Product"
        case .intraArticular: "With or without intra-articular injection"
        case .kellgrenLawrence: "Kellgren–Lawrence grade"
        case .ahlback: "Ahlbäck grade"
        case .tonnis: "Tönnis grade"
        case .bmlBurden: "Baseline BML burden"
        case .age: "Age band"
        case .sex: "Sex"
        case .bmi: "BMI band"
        case .year: "Treatment year"
        case .screening: "Screening category"
        }
    }
}

/// An inclusive range of a numeric filter; either end may be open.
public struct FilterRange<Value: Comparable & Sendable & Codable & Hashable>: Sendable, Codable, Hashable {
    public var min: Value?
    public var max: Value?

    public init(min: Value? = nil, max: Value? = nil) {
        self.min = min
        self.max = max
    }

    public var isOpen: Bool { min == nil && max == nil }

    /// A missing value never matches a bounded range (an episode without a grade is not "KL 3–4").
    public func contains(_ value: Value?) -> Bool {
        if isOpen { return true }
        guard let value else { return false }
        if let min, value < min { return false }
        if let max, value > max { return false }
        return true
    }
}

/// The cohort filters of registry analytics (every one optional; empty lists mean "any").
///
/// The same value is read from the analytics page's form, the API's query parameters and the `--cohort` file of
/// `ossa report`, and is stored for saved cohorts, so each name below is also its query parameter and JSON key.
public struct CohortFilter: Sendable, Codable, Hashable {
    public var site: [UUID]
    public var joint: [Joint]
    public var diagnosis: [Diagnosis.Kind]
    public var product: [ProductMix]
    /// nil: either; true: with an intra-articular injection in the episode; false: without.
    public var intraArticular: Bool?
    public var kellgrenLawrence: FilterRange<Int>
    public var ahlback: FilterRange<Int>
    public var tonnis: FilterRange<Int>
    /// Baseline BML burden (sum of MOAKS size grades over the subregions).
    public var bmlBurden: FilterRange<Int>
    /// Age in whole years at the index date.
    public var age: FilterRange<Int>
    public var sex: [PatientSex]
    public var bmi: FilterRange<Double>
    /// Year of the first IO procedure.
    public var year: FilterRange<Int>
    /// The latest screening decision's standing category.
    public var screening: [ScreeningCategory]

    public init(site: [UUID] = [], joint: [Joint] = [], diagnosis: [Diagnosis.Kind] = [], product: [ProductMix] = [],
                intraArticular: Bool? = nil, kellgrenLawrence: FilterRange<Int> = .init(), ahlback: FilterRange<Int> = .init(),
                tonnis: FilterRange<Int> = .init(), bmlBurden: FilterRange<Int> = .init(), age: FilterRange<Int> = .init(),
                sex: [PatientSex] = [], bmi: FilterRange<Double> = .init(), year: FilterRange<Int> = .init(),
                screening: [ScreeningCategory] = []) {
        self.site = site
        self.joint = joint
        self.diagnosis = diagnosis
        self.product = product
        self.intraArticular = intraArticular
        self.kellgrenLawrence = kellgrenLawrence
        self.ahlback = ahlback
        self.tonnis = tonnis
        self.bmlBurden = bmlBurden
        self.age = age
        self.sex = sex
        self.bmi = bmi
        self.year = year
        self.screening = screening
    }

    enum CodingKeys: String, CodingKey {
        case site, joint, diagnosis, product, intraArticular, kellgrenLawrence, ahlback, tonnis, bmlBurden, age, sex, bmi, year, screening
    }

    // A cohort file may leave out any filter.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(site: try c.decodeIfPresent([UUID].self, forKey: .site) ?? [],
                  joint: try c.decodeIfPresent([Joint].self, forKey: .joint) ?? [],
                  diagnosis: try c.decodeIfPresent([Diagnosis.Kind].self, forKey: .diagnosis) ?? [],
                  product: try c.decodeIfPresent([ProductMix].self, forKey: .product) ?? [],
                  intraArticular: try c.decodeIfPresent(Bool.self, forKey: .intraArticular),
                  kellgrenLawrence: try c.decodeIfPresent(FilterRange<Int>.self, forKey: .kellgrenLawrence) ?? .init(),
                  ahlback: try c.decodeIfPresent(FilterRange<Int>.self, forKey: .ahlback) ?? .init(),
                  tonnis: try c.decodeIfPresent(FilterRange<Int>.self, forKey: .tonnis) ?? .init(),
                  bmlBurden: try c.decodeIfPresent(FilterRange<Int>.self, forKey: .bmlBurden) ?? .init(),
                  age: try c.decodeIfPresent(FilterRange<Int>.self, forKey: .age) ?? .init(),
                  sex: try c.decodeIfPresent([PatientSex].self, forKey: .sex) ?? [],
                  bmi: try c.decodeIfPresent(FilterRange<Double>.self, forKey: .bmi) ?? .init(),
                  year: try c.decodeIfPresent(FilterRange<Int>.self, forKey: .year) ?? .init(),
                  screening: try c.decodeIfPresent([ScreeningCategory].self, forKey: .screening) ?? [])
    }

    /// Whether an episode of the extract is in the cohort.
    public func matches(_ e: ExtractEpisode) -> Bool {
        if !site.isEmpty, !site.contains(e.siteID) { return false }
        if !joint.isEmpty, !joint.contains(e.joint) { return false }
        if !diagnosis.isEmpty, !diagnosis.contains(e.diagnosis) { return false }
        if !product.isEmpty { guard let mix = e.product, product.contains(mix) else { return false } }
        if let intraArticular, e.intraArticular != intraArticular { return false }
        if !sex.isEmpty { guard let s = e.sex, sex.contains(s) else { return false } }
        if !screening.isEmpty { guard let s = e.screeningCategory, screening.contains(s) else { return false } }
        return kellgrenLawrence.contains(e.kellgrenLawrence) && ahlback.contains(e.ahlback) && tonnis.contains(e.tonnis)
            && bmlBurden.contains(e.bmlBurden) && age.contains(e.age) && bmi.contains(e.bmi) && year.contains(e.treatmentYear)
    }

    /// Refuses values outside the scales and, with `orderedRanges`, ranges that end before they start (the page's
    /// form says so; the API lets such a range match nothing, as OpenAPI cannot state a rule between two
    /// parameters), naming the field.
    /// - Parameter jsonPaths: name a problem by its place in a cohort file (`filter.kellgrenLawrence.min`) rather than
    ///   by its query parameter (`klMin`).
    public func validate(orderedRanges: Bool = false, jsonPaths: Bool = false) throws(FieldValidationError) {
        func check<V>(_ r: FilterRange<V>, _ query: (String, String), _ key: String, _ bounds: ClosedRange<V>) throws(FieldValidationError) {
            func path(_ end: Int) -> String { jsonPaths ? "filter.\(key).\(end == 0 ? "min" : "max")" : (end == 0 ? query.0 : query.1) }
            for (end, v) in [(0, r.min), (1, r.max)] {
                if let v, !bounds.contains(v) {
                    throw FieldValidationError(path: path(end), message: "\(v) is outside \(bounds.lowerBound)–\(bounds.upperBound)")
                }
            }
            if orderedRanges, let lo = r.min, let hi = r.max, lo > hi {
                throw FieldValidationError(path: path(1), message: "the range ends (\(hi)) before it starts (\(lo))")
            }
        }
        try check(kellgrenLawrence, ("klMin", "klMax"), "kellgrenLawrence", 0...4)
        try check(ahlback, ("ahlbackMin", "ahlbackMax"), "ahlback", 1...5)
        try check(tonnis, ("tonnisMin", "tonnisMax"), "tonnis", 0...3)
        try check(bmlBurden, ("bmlBurdenMin", "bmlBurdenMax"), "bmlBurden", 0...200)
        try check(age, ("ageMin", "ageMax"), "age", 0...130)
        try check(bmi, ("bmiMin", "bmiMax"), "bmi", 10...90)
        try check(year, ("yearFrom", "yearTo"), "year", 1900...2200)
    }
}

/// A cohort: its filters, its grouping and (for saved cohorts and report files) a name.
public struct CohortDefinition: Sendable, Codable, Hashable {
    public var name: String?
    public var filter: CohortFilter
    public var group: CohortGrouping
    /// Cox covariates (see `CoxCovariate`).
    public var covariates: [CoxCovariate]

    public init(name: String? = nil, filter: CohortFilter = CohortFilter(), group: CohortGrouping = .none, covariates: [CoxCovariate] = []) {
        self.name = name
        self.filter = filter
        self.group = group
        self.covariates = covariates
    }

    enum CodingKeys: String, CodingKey { case name, filter, group, covariates }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decodeIfPresent(String.self, forKey: .name),
                  filter: try c.decodeIfPresent(CohortFilter.self, forKey: .filter) ?? CohortFilter(),
                  group: try c.decodeIfPresent(CohortGrouping.self, forKey: .group) ?? .none,
                  covariates: try c.decodeIfPresent([CoxCovariate].self, forKey: .covariates) ?? [])
    }

    /// Reads a cohort file (`ossa report --cohort FILE.json`, `POST /api/v1/cohorts`): strict JSON, validated.
    public static func decode(from data: Data) throws -> CohortDefinition {
        // Strict: a misspelt filter must not silently widen the cohort.
        let definition = try StrictJSON.decode(CohortDefinition.self, from: data)
        try definition.validate(jsonPaths: true)
        return definition
    }

    public func validate(orderedRanges: Bool = false, jsonPaths: Bool = false) throws(FieldValidationError) {
        if let name, name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || name.count > 120 {
            throw FieldValidationError(path: "name", message: "a cohort name has 1 to 120 characters")
        }
        try filter.validate(orderedRanges: orderedRanges, jsonPaths: jsonPaths)
        if Set(covariates).count != covariates.count {
            throw FieldValidationError(path: jsonPaths ? "covariates" : "covariate", message: "a covariate is listed twice")
        }
    }
}

/// The covariates a Cox model may be fitted on: numeric ones as they are, yes/no ones as 0/1 indicators.
public enum CoxCovariate: String, Sendable, Codable, CaseIterable, Hashable {
    case age, bmi, sex, kellgrenLawrence, bmlBurden, intraArticular, bmc

    public var label: String {
        switch self {
        case .age: "Age (per year)"
        case .bmi: "BMI (per kg/m²)"
        case .sex: "Male sex (vs female)"
        case .kellgrenLawrence: "Kellgren–Lawrence grade (per grade)"
        case .bmlBurden: "Baseline BML burden (per grade point)"
        case .intraArticular: "With intra-articular injection"
        case .bmc: "BMC (vs PRP only)"
        }
    }

    /// The episode's value, nil when it is not known (the episode is then left out of the model).
    public func value(_ e: ExtractEpisode) -> Double? {
        switch self {
        case .age: e.age.map(Double.init)
        case .bmi: e.bmi
        case .sex: e.sex.flatMap { $0 == .male ? 1 : $0 == .female ? 0 : nil }
        case .kellgrenLawrence: e.kellgrenLawrence.map(Double.init)
        case .bmlBurden: e.bmlBurden.map(Double.init)
        case .intraArticular: e.intraArticular ? 1 : 0
        case .bmc: e.product.map { $0 == .prp ? 0 : 1 }
        }
    }
}

/// Query parameters to a cohort (the API and the page's GET form): `site`, `joint`, `diagnosis`, `product`,
/// `sex` and `screening` repeat; ranges are `<name>Min` / `<name>Max` (`klMin`, `ahlbackMin`, `tonnisMin`,
/// `bmlBurdenMin`, `ageMin`, `bmiMin`, and `yearFrom` / `yearTo`); `intraArticular=true|false`; `group`;
/// `covariate` repeats. An empty value means "not set" (as an unchosen select sends it).
public enum CohortQuery {
    /// The names this reads (anything else is refused, so a typo never silently widens a cohort).
    public static let names: Set<String> = [
        "site", "joint", "diagnosis", "product", "intraArticular", "klMin", "klMax", "ahlbackMin", "ahlbackMax",
        "tonnisMin", "tonnisMax", "bmlBurdenMin", "bmlBurdenMax", "ageMin", "ageMax", "sex", "bmiMin", "bmiMax",
        "yearFrom", "yearTo", "screening", "group", "covariate",
    ]

    public static func parse(_ items: [(name: String, value: String)], ignoring: Set<String> = [],
                             orderedRanges: Bool = false) throws(FieldValidationError) -> CohortDefinition {
        var values: [String: [String]] = [:]
        for item in items where !ignoring.contains(item.name) {
            guard names.contains(item.name) else {
                throw FieldValidationError(path: item.name, message: "is not a cohort parameter")
            }
            let v = item.value.trimmingCharacters(in: .whitespaces)
            if !v.isEmpty { values[item.name, default: []].append(v) }
        }
        func single(_ name: String) throws(FieldValidationError) -> String? {
            guard let list = values[name] else { return nil }
            guard list.count == 1 else { throw FieldValidationError(path: name, message: "is given \(list.count) times") }
            return list[0]
        }
        func closed<E: RawRepresentable & CaseIterable>(_ name: String, _: E.Type) throws(FieldValidationError) -> [E] where E.RawValue == String {
            var out: [E] = []
            for text in values[name] ?? [] {
                guard let v = E(rawValue: text) else {
                    throw FieldValidationError(path: name, message: "\"\(text)\" is not one of \(E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
                }
                if !out.contains(where: { $0.rawValue == v.rawValue }) { out.append(v) }
            }
            return out
        }
        func int(_ name: String) throws(FieldValidationError) -> Int? {
            guard let text = try single(name) else { return nil }
            guard let v = Int(text) else { throw FieldValidationError(path: name, message: "\"\(text)\" is not a whole number") }
            return v
        }
        func double(_ name: String) throws(FieldValidationError) -> Double? {
            guard let text = try single(name) else { return nil }
            guard let v = Double(text), v.isFinite else { throw FieldValidationError(path: name, message: "\"\(text)\" is not a number") }
            return v
        }
        var sites: [UUID] = []
        for text in values["site"] ?? [] {
            guard let id = UUID(uuidString: text) else { throw FieldValidationError(path: "site", message: "\"\(text)\" is not a site id") }
            if !sites.contains(id) { sites.append(id) }
        }
        var intraArticular: Bool?
        if let text = try single("intraArticular") {
            switch text {
            case "true": intraArticular = true
            case "false": intraArticular = false
            default: throw FieldValidationError(path: "intraArticular", message: "\"\(text)\" is not true or false")
            }
        }
        let filter = CohortFilter(
            site: sites, joint: try closed("joint", Joint.self), diagnosis: try closed("diagnosis", Diagnosis.Kind.self),
            product: try closed("product", ProductMix.self), intraArticular: intraArticular,
            kellgrenLawrence: .init(min: try int("klMin"), max: try int("klMax")),
            ahlback: .init(min: try int("ahlbackMin"), max: try int("ahlbackMax")),
            tonnis: .init(min: try int("tonnisMin"), max: try int("tonnisMax")),
            bmlBurden: .init(min: try int("bmlBurdenMin"), max: try int("bmlBurdenMax")),
            age: .init(min: try int("ageMin"), max: try int("ageMax")),
            sex: try closed("sex", PatientSex.self),
            bmi: .init(min: try double("bmiMin"), max: try double("bmiMax")),
            year: .init(min: try int("yearFrom"), max: try int("yearTo")),
            screening: try closed("screening", ScreeningCategory.self))
        var group = CohortGrouping.none
        if let text = try single("group") {
            guard let g = CohortGrouping(rawValue: text) else {
                throw FieldValidationError(path: "group", message: "\"\(text)\" is not one of \(CohortGrouping.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            group = g
        }
        let definition = CohortDefinition(filter: filter, group: group, covariates: try closed("covariate", CoxCovariate.self))
        try definition.validate(orderedRanges: orderedRanges)
        return definition
    }

    /// The query items that reproduce a definition (links, "download" URLs, saved cohorts); its name is left out.
    public static func items(_ d: CohortDefinition) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        let f = d.filter
        out += f.site.map { ("site", $0.lowercasedString) }
        out += f.joint.map { ("joint", $0.rawValue) }
        out += f.diagnosis.map { ("diagnosis", $0.rawValue) }
        out += f.product.map { ("product", $0.rawValue) }
        if let ia = f.intraArticular { out.append(("intraArticular", ia ? "true" : "false")) }
        func range<V>(_ r: FilterRange<V>, _ lo: String, _ hi: String) {
            if let v = r.min { out.append((lo, "\(v)")) }
            if let v = r.max { out.append((hi, "\(v)")) }
        }
        range(f.kellgrenLawrence, "klMin", "klMax")
        range(f.ahlback, "ahlbackMin", "ahlbackMax")
        range(f.tonnis, "tonnisMin", "tonnisMax")
        range(f.bmlBurden, "bmlBurdenMin", "bmlBurdenMax")
        range(f.age, "ageMin", "ageMax")
        out += f.sex.map { ("sex", $0.rawValue) }
        if let v = f.bmi.min { out.append(("bmiMin", formatDecimal(v))) }
        if let v = f.bmi.max { out.append(("bmiMax", formatDecimal(v))) }
        range(f.year, "yearFrom", "yearTo")
        out += f.screening.map { ("screening", $0.rawValue) }
        if d.group != .none { out.append(("group", d.group.rawValue)) }
        out += d.covariates.map { ("covariate", $0.rawValue) }
        return out
    }

    static func formatDecimal(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
