import Foundation
import Testing

@Suite("ossa screen and ossa schedule")
struct ScreenCommandTests {
    /// Each example's file name ends in the category the default ruleset gives it.
    static let examples: [(String, String)] = [
        ("knee-bml-recommended", "recommended"),
        ("hip-oa-bml-recommended", "recommended"),
        ("knee-discordant-consider", "consider"),
        ("knee-nsaid-washout-not-now", "not-now"),
        ("knee-focal-cartilage-refer", "refer"),
        ("hip-avn-collapse-refer", "refer"),
    ]

    @Test("The README's examples give their categories", arguments: examples)
    func example(name: String, category: String) throws {
        let result = try CLI.run(["screen", "--input", "Examples/screening/\(name).json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try CLI.json(result)
        #expect(json["category"] as? String == category)
        let fired = try #require(json["firedRules"] as? [[String: Any]])
        #expect(!fired.isEmpty)
        for rule in fired {
            for key in ["id", "reason", "severity", "evidence"] { #expect(rule[key] != nil, "fired rule lacks \(key)") }
        }
    }

    @Test("Washout: the text decision gives the date the patient becomes eligible")
    func washoutText() throws {
        let result = try CLI.run(["screen", "--input", "Examples/screening/knee-nsaid-washout-not-now.json", "--format", "text"])
        #expect(result.status == 0)
        // Last NSAID dose 2026-02-25 + 15-day washout (PRGF Restoring trial, Trials 2022) = 2026-03-12.
        #expect(result.stdout.contains("2026-03-12"))
        #expect(result.stdout.contains("NOT-NOW"))
    }

    @Test("An unknown key in the input is an error naming it")
    func unknownKey() throws {
        let data = try Data(contentsOf: CLI.packageRoot.appendingPathComponent("Examples/screening/knee-bml-recommended.json"))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["favouriteColour"] = "blue"
        let file = try CLI.temporaryFile(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        let result = try CLI.run(["screen", "--input", file])
        #expect(result.status != 0)
        #expect(result.stderr.contains("favouriteColour"))
    }

    @Test("A broken clinic ruleset is rejected with the path of the problem")
    func badRuleset() throws {
        let ruleset = try CLI.temporaryFile(#"{"id": "clinic", "version": "1", "rules": [{"id": "x"}]}"#)
        let result = try CLI.run(["screen", "--input", "Examples/screening/knee-bml-recommended.json", "--ruleset", ruleset])
        #expect(result.status != 0)
        #expect(result.stderr.contains(ruleset))
        #expect(result.stdout.isEmpty)
    }

    @Test("schedule: calendar months from the first IO procedure; an impossible date is refused")
    func schedule() throws {
        let result = try CLI.run(["schedule", "--index-date", "2026-01-31", "--joint", "knee", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let timepoints = try #require(try CLI.json(result)["timepoints"] as? [[String: Any]])
        let targets = Dictionary(uniqueKeysWithValues: timepoints.compactMap { tp in
            (tp["id"] as? String).map { ($0, tp["targetDate"] as? String) }
        })
        // 2026-01-31 + 2 weeks = 2026-02-14; + 3 calendar months = 2026-04-30 (April has 30 days);
        // + 12 months = 2027-01-31.
        #expect(targets.values.contains("2026-02-14"))
        #expect(targets.values.contains("2026-04-30"))
        #expect(targets.values.contains("2027-01-31"))
        let bad = try CLI.run(["schedule", "--index-date", "2026-02-30", "--joint", "knee"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("2026-02-30"))
    }

    @Test("Every command has --help", arguments: [["score"], ["screen"], ["stats", "survival"], ["schedule"], ["instruments"], []])
    func help(command: [String]) throws {
        let result = try CLI.run(command + ["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE"))
    }
}
