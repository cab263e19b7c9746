import Foundation
import Testing
@testable import OssaCore

// Expected outcomes are derived by hand from the bundled ruleset (Resources/rulesets/default.json) and the bundled
// self-screen definition (Resources/self-screen/default.json); each test says which rule or criterion decides it.
//
// The public subset: bone-lesion-diagnosis-with-bml (include), avn-collapsed (refer), mri-not-recent (not-now),
// no-bml-on-recent-mri (consider), conservative-care-not-tried (consider), age-outside-40-85 (consider; under 18
// raised to consult-unlikely-to-help by the definition), bmi-over-35 (consider), wishes-to-avoid-replacement (note),
// not-a-surgical-candidate (note).
// Outcome mapping (SelfScreener): recommended → consult-worthwhile; consider, not-now → consult-may-help;
// refer → see-doctor-first; an entry's `outcome` raises it; the most restrictive wins.

@Suite("Public self-screen")
struct SelfScreenTests {
    let screener: SelfScreener = {
        do { return try SelfScreener.bundled() } catch { fatalError("bundled self-screen does not load: \(error)") }
    }()
    let today = day("2026-03-02")

    /// Knee, MRI in the last 6 months showing bone marrow edema, exercise/physiotherapy and anti-inflammatories for
    /// 3+ months, wants to avoid a replacement, 40–64, 172 cm / 80 kg (BMI 27.0).
    static var typical: SelfScreenAnswers {
        SelfScreenAnswers(joint: .knee, side: .left, kneeAreas: [.inside], mri: .withinSixMonths, mriFindings: [.boneMarrowEdema],
                          treatments: [.exercisePhysiotherapy, .antiInflammatories], avoidReplacement: .yes,
                          ageBand: .from40To64, activity: .light, heightCm: 172, weightKg: 80)
    }

    private func ids(_ result: SelfScreenResult) -> [String] { result.reasons.map(\.ruleID) }

    // MARK: Definition and ruleset

    @Test("every public rule id exists in the bundled ruleset, and the definition validates against it")
    func publicRulesExist() throws {
        let ruleset = try Ruleset.bundledDefault()
        let definition = try SelfScreenDefinition.bundledDefault()
        let ruleIDs = Set(ruleset.rules.map(\.id))
        #expect(!definition.publicRuleIDs.isEmpty)
        for id in definition.publicRuleIDs {
            #expect(ruleIDs.contains(id), "public rule \(id) is not in ruleset \(ruleset.id)")
        }
        try definition.validate(against: ruleset)
        let evidence = Set(ruleset.evidence.map(\.id))
        for line in definition.whatToExpect {
            #expect(!line.evidence.isEmpty)
            for id in line.evidence { #expect(evidence.contains(id)) }
        }
        #expect(Set(screener.publicRules.map(\.id)) == Set(definition.publicRuleIDs))
        // Rules the public cannot answer stay out of the subset (they would fire on missing values).
        for id in ["labs-missing", "pain-concordance-not-assessed", "bml-concordant", "nsaid-washout"] {
            #expect(!definition.publicRuleIDs.contains(id))
        }
    }

    @Test("a definition naming an unknown rule, or with options the answers cannot read, is refused")
    func definitionValidation() throws {
        let ruleset = try Ruleset.bundledDefault()
        let good = try SelfScreenDefinition.bundledDefault()

        var unknownRule = good
        unknownRule.ruleset.rules[0].rule = "no-such-rule"
        #expect(throws: FieldValidationError.self) { try SelfScreener(ruleset: ruleset, definition: unknownRule) }
        do { try unknownRule.validate(against: ruleset); Issue.record("unknown rule accepted") } catch {
            #expect(error.path == "ruleset.rules[0].rule")
            #expect(error.message.contains("no-such-rule"))
        }

        // A rule that only looks at parameters the public cannot know (labs) could never fire.
        var unanswerable = good
        unanswerable.ruleset.rules.append(SelfScreenPublicRule(rule: "platelets-low", answers: nil, outcome: nil, text: "t"))
        #expect(throws: FieldValidationError.self) { try unanswerable.validate(against: ruleset) }

        var otherRuleset = ruleset
        otherRuleset.id = "clinic-own"
        #expect(throws: FieldValidationError.self) { try good.validate(against: otherRuleset) }

        var badOptions = good
        let joint = try #require(badOptions.questions.firstIndex { $0.id == "joint" })
        badOptions.questions[joint].options.append(SelfScreenOption(value: "ankle", label: "Ankle"))
        #expect(throws: FieldValidationError.self) { try badOptions.validate() }

        var noFallback = good
        let last = try #require(noFallback.ruleset.rules.lastIndex { $0.rule == "age-outside-40-85" })
        noFallback.ruleset.rules[last].answers = [SelfScreenAnswerMatch(question: "ageBand", values: ["18-39"])]
        #expect(throws: FieldValidationError.self) { try noFallback.validate() }

        var rangeNotInMessage = good
        let height = try #require(rangeNotInMessage.questions.firstIndex { $0.id == "heightCm" })
        rangeNotInMessage.questions[height].max = 240
        #expect(throws: FieldValidationError.self) { try rangeNotInMessage.validate() }

        var notExclusive = good
        let treatments = try #require(notExclusive.questions.firstIndex { $0.id == "treatments" })
        let none = try #require(notExclusive.questions[treatments].options.firstIndex { $0.value == "none" })
        notExclusive.questions[treatments].options[none].exclusive = false
        #expect(throws: FieldValidationError.self) { try notExclusive.validate() }

        let json = try StrictJSON.encode(good)
        #expect(try SelfScreenDefinition.decode(from: json) == good, "the definition round-trips through JSON")
    }

    // MARK: Outcomes

    @Test("typical candidate: consult worthwhile, with the reasons and what to expect")
    func typicalCandidate() throws {
        // bone-lesion-diagnosis-with-bml (include): edema → diagnosis.type bone-marrow-lesion and mri.bml.present true.
        // wishes-to-avoid-replacement (note): avoidReplacement yes.
        // Not firing: mri-not-recent (MRI within 6 months), no-bml-on-recent-mri (BML present), conservative-care-not-tried
        // (exercise tried), age-outside-40-85 (40–64 is inside), bmi-over-35 (27.0), not-a-surgical-candidate (not
        // answered), avn-collapsed (no collapse reported; ARCO/Koshino unknown, so only "unknown", never true).
        // An include and nothing restricting → recommended → consult-worthwhile.
        let result = screener.evaluate(Self.typical, today: today)
        #expect(result.outcome == .consultWorthwhile)
        #expect(ids(result) == ["bone-lesion-diagnosis-with-bml", "wishes-to-avoid-replacement"], "both info; ruleset order")
        #expect(result.reasons.allSatisfy { $0.tone == .supports })
        #expect(result.headline == "A consult looks worthwhile")
        #expect(result.reasons[0].text.hasPrefix("A consult may be worthwhile because"))
        #expect(result.reasons[0].evidence.map(\.id) == ["ossa-product", "moaks"], "the rule's evidence from the ruleset")
        #expect(result.reasons[0].evidence.allSatisfy { !$0.citation.isEmpty })

        let ruleset = try Ruleset.bundledDefault()
        #expect(result.rulesetID == "ossa-default")
        #expect(result.rulesetVersion == ruleset.version)
        #expect(result.definitionID == "ossa-self-screen")
        #expect(result.evaluationDate == today)
        #expect(result.disclaimer.hasPrefix("This is not a diagnosis"))

        // All five lines for a knee: outpatient, x-ray guided, 2–3 days, weight bearing (knee only), aim.
        let expect = result.whatToExpect.map(\.text)
        #expect(expect.count == 5)
        #expect(expect.contains { $0.contains("outpatient") })
        #expect(expect.contains { $0.contains("x-ray") })
        #expect(expect.contains { $0.contains("2–3 days") })
        #expect(expect.contains { $0.contains("weight on the leg") })
        #expect(result.whatToExpect.first { $0.text.contains("x-ray") }?.evidence.map(\.id) == ["sanchez-2014"])

        // A hip: no knee weight-bearing line.
        var hip = Self.typical
        hip.joint = .hip
        let hipResult = screener.evaluate(hip, today: today)
        #expect(hipResult.outcome == .consultWorthwhile)
        #expect(hipResult.whatToExpect.count == 4)
        #expect(!hipResult.whatToExpect.contains { $0.text.contains("weight on the leg") })
    }

    @Test("collapse of the bone surface: see a doctor first")
    func collapse() {
        // avn-collapsed (refer, stop): its third branch mri.avn.collapse == true is known from the reported collapse.
        // bone-lesion-diagnosis-with-bml does not fire: osteonecrosis wins the suggested diagnosis, and
        // avascular-necrosis is not in its list. refer → see-doctor-first; no "what to expect".
        var answers = Self.typical
        answers.mriFindings = [.avascularNecrosis, .collapse]
        let result = screener.evaluate(answers, today: today)
        #expect(result.outcome == .seeDoctorFirst)
        #expect(ids(result).first == "avn-collapsed", "stop severity first")
        #expect(!ids(result).contains("bone-lesion-diagnosis-with-bml"))
        #expect(result.reasons.first?.tone == .stop)
        #expect(result.whatToExpect.isEmpty)
        #expect(result.headline == "Please see your doctor or surgeon first")

        // Collapse reported with edema but without osteonecrosis named: still the refer rule (collapse is read as collapse).
        answers.mriFindings = [.boneMarrowEdema, .collapse]
        let second = screener.evaluate(answers, today: today)
        #expect(second.outcome == .seeDoctorFirst)
        #expect(ids(second).contains("avn-collapsed") && ids(second).contains("bone-lesion-diagnosis-with-bml"))

        // AVN without collapse: avn-precollapse needs an ARCO/Koshino stage and is not public; nothing includes →
        // consider → may help. Never "worthwhile" from a guess about the stage.
        answers.mriFindings = [.avascularNecrosis]
        #expect(screener.evaluate(answers, today: today).outcome == .consultMayHelp)
    }

    @Test("told by a surgeon that surgery is not an option: a supporting reason, not a downgrade")
    func toldSurgeryNotAnOption() {
        // not-a-surgical-candidate (note): surgery.candidate false. Notes do not change the category, so the typical
        // candidate stays recommended → consult-worthwhile, with the note as a third supporting reason.
        var answers = Self.typical
        answers.surgeonAdvice = .yes
        let result = screener.evaluate(answers, today: today)
        #expect(result.outcome == .consultWorthwhile)
        #expect(ids(result) == ["bone-lesion-diagnosis-with-bml", "wishes-to-avoid-replacement", "not-a-surgical-candidate"])
        #expect(result.reasons.last?.tone == .supports)

        // "Never asked" leaves surgery.candidate unknown: the note does not fire.
        answers.surgeonAdvice = .neverAsked
        #expect(!ids(screener.evaluate(answers, today: today)).contains("not-a-surgical-candidate"))

        // With a collapse the refer rule still decides.
        answers.surgeonAdvice = .yes
        answers.mriFindings = [.collapse]
        #expect(screener.evaluate(answers, today: today).outcome == .seeDoctorFirst)
    }

    @Test("no MRI: a consult may help, with the MRI as the next step")
    func noMRI() throws {
        // mri-not-recent (not-now): no MRI → every mri.* parameter known absent → `within-months 6` false → `not` true.
        // bone-lesion-diagnosis-with-bml cannot fire (no findings, no diagnosis). not-now → consult-may-help.
        var answers = Self.typical
        answers.mri = .no
        answers.mriFindings = []
        let result = screener.evaluate(answers, today: today)
        #expect(result.outcome == .consultMayHelp)
        #expect(ids(result) == ["mri-not-recent", "wishes-to-avoid-replacement"], "warning before info")
        let mri = try #require(result.reasons.first)
        #expect(mri.tone == .caution)
        #expect(mri.text.contains("no MRI scan of this joint yet"), "the wording for the answer No")
        #expect(mri.text.contains("arranging one"))
        #expect(!result.whatToExpect.isEmpty)

        // Findings left over from a form (MRI answered No) are ignored.
        answers.mriFindings = [.boneMarrowEdema]
        #expect(screener.evaluate(answers, today: today) == result)
    }

    @Test("MRI longer ago with edema: included but not now; 'not sure' about an MRI fires nothing about it")
    func mriAgeAndUnknowns() throws {
        // Longer ago: mri.date ∈ [today − 100 years, the day before the earliest "within 6 months"] → within-months 6
        // false at both ends → mri-not-recent fires (not-now); edema still includes. not-now → may help.
        var answers = Self.typical
        answers.mri = .longerAgo
        let older = screener.evaluate(answers, today: today)
        #expect(older.outcome == .consultMayHelp)
        #expect(Set(ids(older)) == ["mri-not-recent", "bone-lesion-diagnosis-with-bml", "wishes-to-avoid-replacement"])
        #expect(older.reasons.first { $0.ruleID == "mri-not-recent" }?.text.contains("more than 6 months old") == true)

        // Not sure: mri.date is unknown, so `not within-months 6` is unknown and mri-not-recent does NOT fire (the
        // ruleset alone would fire it on the missing date). Nothing includes → consider → may help.
        answers.mri = .notSure
        let unsure = screener.evaluate(answers, today: today)
        #expect(unsure.outcome == .consultMayHelp)
        #expect(ids(unsure) == ["wishes-to-avoid-replacement"])
    }

    @Test("'in the last 6 months' matches the ruleset's within-months 6 on every day, month ends included")
    func sixMonthBoundary() {
        for iso in ["2026-03-02", "2026-02-28", "2026-08-31", "2024-02-29", "2026-03-31", "2026-01-01"] {
            let date = day(iso)
            var answers = Self.typical
            answers.mri = .withinSixMonths
            #expect(!ids(screener.evaluate(answers, today: date)).contains("mri-not-recent"), "\(iso): recent")
            answers.mri = .longerAgo
            #expect(ids(screener.evaluate(answers, today: date)).contains("mri-not-recent"), "\(iso): older")
        }
    }

    @Test("age groups: under 18 unlikely, 18–39 may help, 80 or over undecided by the 40–85 rule")
    func ageBands() throws {
        // under-18: age ∈ [0, 17] → age < 40 at both ends → age-outside-40-85 fires (consider); the definition's entry for
        // under-18 raises the outcome to consult-unlikely-to-help.
        var answers = Self.typical
        answers.ageBand = .under18
        let minor = screener.evaluate(answers, today: today)
        #expect(minor.outcome == .consultUnlikelyToHelp)
        let age = try #require(minor.reasons.first { $0.ruleID == "age-outside-40-85" })
        #expect(age.tone == .stop)
        #expect(age.text.contains("offered to adults"))
        #expect(age.evidence.map(\.id) == ["sanchez-rct"])
        #expect(minor.whatToExpect.isEmpty)

        // 18–39: the rule fires with the fallback wording (consider) → may help.
        answers.ageBand = .from18To39
        let young = screener.evaluate(answers, today: today)
        #expect(young.outcome == .consultMayHelp)
        #expect(young.reasons.first { $0.ruleID == "age-outside-40-85" }?.tone == .caution)

        // 80 or over: age ∈ [80, 120]: age > 85 is false at 80 and true at 120 → unknown → the rule does not fire, and
        // the typical candidate stays worthwhile.
        answers.ageBand = .from80
        let old = screener.evaluate(answers, today: today)
        #expect(old.outcome == .consultWorthwhile)
        #expect(!ids(old).contains("age-outside-40-85"))
    }

    @Test("no conservative care, BMI over 35, arthritis only: each a reason to discuss")
    func considerRules() {
        // None of these → treatments.tried is the known empty list → `in [exercise, physiotherapy, weight-loss]` false →
        // conservative-care-not-tried fires (consider) → may help.
        var answers = Self.typical
        answers.treatments = [.noneOfThese]
        #expect(screener.evaluate(answers, today: today).outcome == .consultMayHelp)
        #expect(ids(screener.evaluate(answers, today: today)).contains("conservative-care-not-tried"))

        // Anti-inflammatories and injections alone are not conservative care in the ruleset's sense.
        answers.treatments = [.antiInflammatories, .steroidInjection]
        #expect(ids(screener.evaluate(answers, today: today)).contains("conservative-care-not-tried"))

        // 170 cm, 110 kg → BMI 38.1 > 35 → bmi-over-35 (consider) → may help.
        answers = Self.typical
        (answers.heightCm, answers.weightKg) = (170, 110)
        let heavy = screener.evaluate(answers, today: today)
        #expect(heavy.outcome == .consultMayHelp)
        #expect(ids(heavy).contains("bmi-over-35"))

        // Height without weight: BMI unknown, the rule does not fire.
        answers.weightKg = nil
        #expect(screener.evaluate(answers, today: today).outcome == .consultWorthwhile)

        // Recent MRI with cartilage wear only: mri.bml.present known false → no-bml-on-recent-mri (consider); the
        // suggested diagnosis is osteoarthritis, not in bone-lesion-diagnosis-with-bml's list → may help.
        answers = Self.typical
        answers.mriFindings = [.arthritisOnly]
        let wear = screener.evaluate(answers, today: today)
        #expect(wear.outcome == .consultMayHelp)
        #expect(ids(wear).first == "no-bml-on-recent-mri")
        #expect(!ids(wear).contains("bone-lesion-diagnosis-with-bml"))

        // Not sure what the report said: nothing about the MRI's content is known; nothing includes → may help.
        answers.mriFindings = [.notSure]
        #expect(ids(screener.evaluate(answers, today: today)) == ["wishes-to-avoid-replacement"])
    }

    @Test("no result text says 'you have' or uses a diagnosis word")
    func plainWording() {
        let forbidden = ["you have", "osteoarthritis", "arthrosis", "necrosis", "fracture", "diagnos", "sonk", "sifk", "avn"]
        var cases: [SelfScreenAnswers] = [Self.typical]
        for findings: [SelfScreenAnswers.MRIFinding] in [[.avascularNecrosis, .collapse], [.insufficiencyFracture, .boneMarrowEdema],
                                                          [.arthritisOnly], [.notSure], [.avascularNecrosis]] {
            var a = Self.typical
            a.mriFindings = findings
            cases.append(a)
        }
        for mri: SelfScreenAnswers.MRIStatus in [.no, .longerAgo, .notSure] {
            var a = Self.typical
            a.mri = mri
            cases.append(a)
        }
        for band in SelfScreenAnswers.AgeBand.allCases {
            var a = Self.typical
            a.ageBand = band
            a.treatments = [.noneOfThese]
            a.surgeonAdvice = .yes
            (a.heightCm, a.weightKg) = (160, 120)
            cases.append(a)
        }
        var outcomes = Set<SelfScreenOutcome>()
        for answers in cases {
            let result = screener.evaluate(answers, today: today)
            outcomes.insert(result.outcome)
            let texts = [result.headline, result.summary] + result.reasons.map(\.text) + result.whatToExpect.map(\.text)
            for text in texts {
                for word in forbidden { #expect(!text.lowercased().contains(word), "“\(word)” in: \(text)") }
            }
            #expect(!result.disclaimer.lowercased().contains("you have"))
        }
        #expect(outcomes == Set(SelfScreenOutcome.allCases), "the cases reach every outcome")

        // And every public wording of the definition, fired or not.
        let definition = screener.definition
        let all = definition.ruleset.rules.map(\.text) + definition.whatToExpect.map(\.text)
            + definition.outcomes.flatMap { [$0.headline, $0.summary] }
        for text in all {
            for word in forbidden { #expect(!text.lowercased().contains(word), "“\(word)” in: \(text)") }
        }
    }

    @Test("a result and the answers round-trip through JSON")
    func codable() throws {
        let result = screener.evaluate(Self.typical, today: today)
        #expect(try JSONDecoder().decode(SelfScreenResult.self, from: StrictJSON.encode(result)) == result)
        #expect(try JSONDecoder().decode(SelfScreenAnswers.self, from: StrictJSON.encode(Self.typical)) == Self.typical)
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(SelfScreenAnswers.JointChoice.self, from: Data(#""ankle""#.utf8))
        }
    }

    // MARK: Form

    /// The typical candidate as a browser submits it.
    static var typicalForm: [String: [String]] {
        ["joint": ["knee"], "side": ["left"], "kneeAreas": ["inside"], "mri": ["yes-within-6-months"],
         "mriFindings": ["bone-marrow-edema"], "treatments": ["exercise-physiotherapy", "anti-inflammatories"],
         "avoidReplacement": ["yes"], "ageBand": ["40-64"], "activity": ["light"], "heightCm": ["172"], "weightKg": ["80"],
         "csrf": ["token"], "hipAreas": ["groin"]]
    }

    @Test("a complete form reads into typed answers; fields that are not questions and questions that do not apply are ignored")
    func readsForm() throws {
        let (answers, problems) = screener.read(Self.typicalForm)
        #expect(problems.isEmpty)
        #expect(answers == Self.typical, "hip areas ignored for a knee, csrf ignored")
        #expect(answers?.formValues["hipAreas"] == nil)

        // Blank optional numbers are unanswered; values are trimmed and duplicates dropped.
        var form = Self.typicalForm
        form["heightCm"] = [""]
        form["weightKg"] = ["  80 "]
        form["treatments"] = ["anti-inflammatories", "exercise-physiotherapy", "anti-inflammatories"]
        let second = screener.read(form)
        #expect(second.problems.isEmpty)
        #expect(second.answers?.heightCm == nil)
        #expect(second.answers?.weightKg == 80)
        #expect(second.answers?.treatments == [.exercisePhysiotherapy, .antiInflammatories], "option order")

        // The form values of answers read back into the same answers.
        #expect(screener.read(Self.typical.formValues).answers == Self.typical)
    }

    @Test("form problems are collected all at once, in question order")
    func collectsAllProblems() {
        var form = Self.typicalForm
        form["joint"] = nil
        form["heightCm"] = ["250"]
        let (answers, problems) = screener.read(form)
        #expect(answers == nil)
        #expect(problems == [
            SelfScreenProblem(questionID: "joint", message: "Select the joint that hurts"),
            SelfScreenProblem(questionID: "heightCm", message: "Enter your height in centimetres, between 120 and 230"),
        ])

        // Empty form: every required question once; mriFindings is not asked because mri is unanswered.
        let empty = screener.read([:])
        #expect(empty.answers == nil)
        #expect(empty.problems.map(\.questionID) == ["joint", "side", "mri", "treatments", "avoidReplacement", "ageBand"])
    }

    @Test("unknown option values, several values for one answer, exclusive answers with others, non-numbers are refused")
    func rejectsBadValues() {
        var form = Self.typicalForm
        form["joint"] = ["ankle"]
        form["treatments"] = ["exercise-physiotherapy", "cupping"]
        form["ageBand"] = ["40-64", "65-79"]
        form["weightKg"] = ["80.5"]
        form["mriFindings"] = ["bone-marrow-edema", "not-sure"]
        let (answers, problems) = screener.read(form)
        #expect(answers == nil)
        #expect(problems.map(\.questionID) == ["joint", "mriFindings", "treatments", "ageBand", "weightKg"])
        #expect(problems.first { $0.questionID == "mriFindings" }?.message == "Select “I'm not sure, or there is no report” on its own, or untick it")

        form = Self.typicalForm
        form["treatments"] = ["none", "weight-loss"]
        #expect(screener.read(form).problems == [
            SelfScreenProblem(questionID: "treatments", message: "Select “None of these” on its own, or untick it"),
        ])

        for bad in ["175cm", "-1", "1e2", "119", "231", "１７５"] {
            form = Self.typicalForm
            form["heightCm"] = [bad]
            #expect(screener.read(form).problems.map(\.questionID) == ["heightCm"], "\(bad)")
        }
    }

    @Test("MRI findings are required only when there was an MRI; an impossible BMI is a problem")
    func conditionalQuestions() {
        var form = Self.typicalForm
        form["mriFindings"] = nil
        #expect(screener.read(form).problems.map(\.questionID) == ["mriFindings"])
        form["mri"] = ["no"]
        #expect(screener.read(form).problems.isEmpty)
        form["mriFindings"] = ["not-a-finding"]
        #expect(screener.read(form).answers?.mriFindings == [], "not asked, so not read")

        // 230 cm and 30 kg: each in range, together BMI 5.7, outside the plausible 10–90.
        form = Self.typicalForm
        (form["heightCm"], form["weightKg"]) = (["230"], ["30"])
        let problems = screener.read(form).problems
        #expect(problems.map(\.questionID) == ["weightKg"])
        #expect(problems.first?.message.contains("5.7") == true)
    }

    // MARK: Episode draft

    @Test("the episode draft maps findings, side and treatments, and summarises the answers")
    func episodeDraft() {
        func kind(_ findings: [SelfScreenAnswers.MRIFinding], mri: SelfScreenAnswers.MRIStatus = .withinSixMonths) -> Diagnosis.Kind? {
            var a = Self.typical
            a.mri = mri
            a.mriFindings = findings
            return screener.episodeDraft(for: a).suggestedDiagnosis
        }
        #expect(kind([.avascularNecrosis, .boneMarrowEdema]) == .avascularNecrosis)
        #expect(kind([.insufficiencyFracture, .boneMarrowEdema]) == .insufficiencyFracture)
        #expect(kind([.boneMarrowEdema]) == .boneMarrowLesion)
        #expect(kind([.arthritisOnly]) == .osteoarthritis)
        #expect(kind([.collapse]) == nil)
        #expect(kind([.notSure]) == nil)
        #expect(kind([.boneMarrowEdema], mri: .longerAgo) == .boneMarrowLesion)
        #expect(kind([.boneMarrowEdema], mri: .no) == nil, "findings without an MRI do not count")

        var answers = Self.typical
        answers.side = .both
        answers.surgeonAdvice = .yes
        let draft = screener.episodeDraft(for: answers)
        #expect(draft.joint == .knee)
        #expect(draft.side == nil, "both sides: the coordinator chooses")
        #expect(screener.episodeDraft(for: Self.typical).side == .left)
        #expect(draft.treatmentsTried == [TreatmentTried(treatment: .exercise, durationWeeks: 13), TreatmentTried(treatment: .nsaid, durationWeeks: 13)])
        #expect(draft.wishesToAvoidReplacement == true)
        #expect(draft.surgicalCandidacy?.candidate == false)
        #expect(draft.heightCm == 172 && draft.weightKg == 80)

        let lines = draft.summary.map(\.text)
        #expect(lines.first == "Joint: Knee")
        #expect(lines.contains("Side: Both sides"))
        #expect(lines.contains("The MRI report mentions: Bone marrow edema (oedema) or a bone bruise"))
        #expect(lines.contains("Tried for at least 3 months: Exercise or physiotherapy; Anti-inflammatory painkillers, such as ibuprofen or naproxen"))
        #expect(lines.contains("Height: 172 cm"))
        #expect(lines.contains("Body-mass index (from height and weight): 27.0"))
        // Only answers of the questions (no identifiers exist to carry over).
        let questionIDs = Set(SelfScreenAnswers.QuestionID.allCases.map(\.rawValue)).union(["bmi"])
        #expect(draft.summary.allSatisfy { questionIDs.contains($0.questionID) })
    }

    // MARK: Three-valued evaluation

    @Test("an unknown parameter makes a comparison unknown; absent and ranges decide what they can")
    func kleene() {
        let notRecent = RuleCondition.not(.compare(param: "mri.date", op: .withinMonths, value: .number(6)))
        var answers = Self.typical
        answers.mri = .notSure
        #expect(SelfScreenFacts(answers, today: today).resolve(notRecent) == nil)
        answers.mri = .no
        #expect(SelfScreenFacts(answers, today: today).resolve(notRecent) == true)
        answers.mri = .withinSixMonths
        let facts = SelfScreenFacts(answers, today: today)
        #expect(facts.resolve(notRecent) == false)
        // A narrower window than the answer's: unknown.
        #expect(facts.resolve(.compare(param: "mri.date", op: .withinMonths, value: .number(3))) == nil)
        // Unknown parameters: labs, pain concordance; `missing` on them is unknown too, not true.
        #expect(facts.resolve(.compare(param: "labs.platelets", op: .missing, value: nil)) == nil)
        #expect(facts.resolve(.any([.compare(param: "labs.platelets", op: .lessThan, value: .number(150)),
                                    .compare(param: "mri.bml.present", op: .equal, value: .flag(true))])) == true)
        #expect(facts.resolve(.all([.compare(param: "labs.platelets", op: .lessThan, value: .number(150)),
                                    .compare(param: "mri.bml.present", op: .equal, value: .flag(false))])) == false)
        // Side "both" and no suggested diagnosis are placeholders in the input, never known facts.
        answers.side = .both
        answers.mriFindings = [.notSure]
        let placeholders = SelfScreenFacts(answers, today: today)
        #expect(placeholders.resolve(.compare(param: "side", op: .equal, value: .text("left"))) == nil)
        #expect(placeholders.resolve(.compare(param: "diagnosis.type", op: .equal, value: .text("bone-marrow-lesion"))) == nil)
        // Age ranges: equality within a band is unknown.
        #expect(placeholders.resolve(.compare(param: "age", op: .equal, value: .number(50))) == nil)
        #expect(placeholders.resolve(.compare(param: "age", op: .greaterOrEqual, value: .number(40))) == true)
    }
}
