import Foundation
import OssaCore

/// Builds one treatment episode: diagnosis, MRI, screening (with the real engine), procedure, follow-up
/// questionnaires and outcome events. Random draws come from the patient's stream (`g.rng`).
struct DemoEpisodeBuilder {
    let patient: DemoPatient
    let site: DemoSite
    let sex: DemoSex
    let joint: Joint
    let side: Side
    let kind: Diagnosis.Kind
    let screeningDate: CalendarDate
    let episodeId: String
    let exits: DemoPatientBuilder.Exits

    /// Radiographic KL grade behind the diagnosis (OA only).
    var kl: Int?

    init(patient: DemoPatient, site: DemoSite, sex: DemoSex, joint: Joint, side: Side, kind: Diagnosis.Kind,
         screeningDate: CalendarDate, episodeId: String, exits: DemoPatientBuilder.Exits) {
        self.patient = patient
        self.site = site
        self.sex = sex
        self.joint = joint
        self.side = side
        self.kind = kind
        self.screeningDate = screeningDate
        self.episodeId = episodeId
        self.exits = exits
    }

    mutating func build(_ g: inout DemoPatientBuilder) throws -> DemoEpisode {
        let diagnosis = try makeDiagnosis(&g)
        var mri = try baselineMRI(&g, diagnosis: diagnosis)
        let latent = try DemoLatent(&g, joint: joint)
        var imaging = [mri]
        let clinicians = g.registry.clinicians(of: site.id)

        // Screening, and a re-screen after a not-now decision.
        var input = try screeningInput(&g, mri: mri, diagnosis: diagnosis, latent: latent, date: screeningDate)
        var decision = try g.registry.engine.evaluate(input)
        var screenings = [DemoScreening(decision: decision, signedBy: g.rng.element(clinicians).id, signedOn: screeningDate)]
        if decision.category == .notNow {
            let wait = decision.earliestEligibleDate.map { screeningDate.days(to: $0) + g.rng.int(in: 1...14) } ?? g.rng.int(in: 21...60)
            let again = screeningDate.adding(days: max(wait, 7))
            if mri.date.days(to: again) > 150 {
                mri = MRIStudy(date: again.adding(days: -g.rng.int(in: 3...20)), bml: mri.bml, insufficiencyFracture: mri.insufficiencyFracture,
                               avn: mri.avn, focalCartilageLesions: mri.focalCartilageLesions,
                               suspectedTumourOrInfection: mri.suspectedTumourOrInfection)
                imaging.append(mri)
            }
            input = try rescreenInput(&g, previous: input, mri: mri, date: again)
            decision = try g.registry.engine.evaluate(input)
            screenings.append(DemoScreening(decision: decision, signedBy: g.rng.element(clinicians).id, signedOn: again))
        }
        let lastScreening = screenings[screenings.count - 1].signedOn
        var treat: Bool
        switch decision.category {
        case .recommended: treat = true
        case .consider: treat = g.rng.bernoulli(try g.n("screening.treatAfterConsiderProbability"))
        case .notNow, .refer: treat = false
        }
        let procedureDate = lastScreening.adding(days: g.uniformDays(try g.n("screening.daysToProcedureMin"), try g.n("screening.daysToProcedureMax")))
        if procedureDate > g.registry.dataCutDate.adding(days: -30) { treat = false }
        if let exit = exits.exit, exit <= procedureDate { treat = false }

        guard treat else {
            var episode = TreatmentEpisode(id: episodeId, patientId: patient.id, siteId: site.id, joint: joint, side: side,
                                           diagnosis: diagnosis, imaging: imaging, lastContactDate: lastScreening)
            episode.imaging.sort { $0.date < $1.date }
            return try finish(DemoEpisode(episode: episode, screenings: screenings, schedule: nil, responses: [], missedTimepoints: [],
                                          truth: DemoTruth(responder: latent.responder, replacementHazardRatio: 0, treated: false)))
        }

        let procedure = try makeProcedure(&g, decision: decision, date: procedureDate, operatorId: g.rng.element(clinicians).id)
        let plan = ProcedurePlan(setting: procedure.setting, anaesthesia: procedure.anaesthesia,
                                 product: Array(Set(procedure.injections.map(\.product))).sorted { $0.rawValue > $1.rawValue },
                                 injections: procedure.injections)

        // Outcome events on the follow-up clock.
        let hr = try replacementHazardRatio(&g, diagnosis: diagnosis, mri: imaging[0], latent: latent, age: input.age ?? 60)
        var events = try makeEvents(&g, index: procedureDate, hazardRatio: hr, procedure: procedure)
        let replacementDate = events.compactMap { if case .jointReplacement(_, let d) = $0 { d } else { nil } }.first
        let stop = [exits.exit, replacementDate, g.registry.dataCutDate].compactMap { $0 }.min()!

        // Follow-up MRI (6–12 months) for a subset, with BML change.
        if g.rng.bernoulli(try g.n("mri.followUpProbability")) {
            let day = procedureDate.adding(days: g.uniformDays(try g.n("mri.followUpMinDays"), try g.n("mri.followUpMaxDays")))
            if day < stop { imaging.append(try followUpMRI(&g, baseline: mri, date: day, responder: latent.responder)) }
        }
        imaging.sort { $0.date < $1.date }

        var adjuncts: [AdjunctSession] = []
        if imaging[0].bmlSummary.maxGrade >= 1, g.rng.bernoulli(try g.n("procedure.shockwaveAdjunctProbability")) {
            let sessions = g.rng.int(in: 1...3)
            let dates = (1...sessions).map { procedureDate.adding(days: 7 * $0) }
            if dates[dates.count - 1] < stop {
                adjuncts.append(.shockwave(ShockwaveCourse(
                    device: .focusedElectromagnetic,
                    energyFluxDensity: demoRound(g.rng.uniform(try g.n("procedure.shockwave.efdMin"), try g.n("procedure.shockwave.efdMax")), step: 0.01),
                    pulsesPerSession: 100 * g.rng.int(in: Int(try g.n("procedure.shockwave.pulsesMin") / 100)...Int(try g.n("procedure.shockwave.pulsesMax") / 100)),
                    frequencyHz: 4, sessionDates: dates)))
            }
        }

        // Questionnaires.
        let schedule = g.registry.followUp.schedule(indexDate: procedureDate, joint: joint)
        var prom = DemoQuestionnaires(registry: g.registry, joint: joint, latent: latent, index: procedureDate)
        let (responses, missed) = try prom.run(&g, schedule: schedule, stop: stop, exit: exits.exit,
                                                 replacement: replacementDate, events: events)

        // Exit events and the last contact.
        if let death = exits.death, death == exits.exit { events.append(.death(date: death)) }
        if let w = exits.withdrawal, w == exits.exit { events.append(.withdrawal(date: w)) }
        if let l = exits.lost, l == exits.exit { events.append(.lostToFollowUp(lastContact: l)) }
        events.sort { $0.date < $1.date }
        var lastContact: CalendarDate
        if let exit = exits.exit {
            lastContact = exit
        } else {
            lastContact = g.registry.dataCutDate.adding(days: -g.rng.int(in: 0...90))
            let latest = ([responses.last?.completedOn, events.last?.date, imaging.last?.date, procedureDate] as [CalendarDate?]).compactMap { $0 }.max()!
            lastContact = min(g.registry.dataCutDate, max(lastContact, latest))
        }

        let episode = TreatmentEpisode(id: episodeId, patientId: patient.id, siteId: site.id, joint: joint, side: side, diagnosis: diagnosis,
                                       imaging: imaging, plan: plan, procedures: [procedure], adjuncts: adjuncts, outcomes: events,
                                       lastContactDate: lastContact)
        return try finish(DemoEpisode(episode: episode, screenings: screenings, schedule: schedule, responses: responses,
                                      missedTimepoints: missed,
                                      truth: DemoTruth(responder: latent.responder, replacementHazardRatio: hr, treated: true)))
    }

    /// The generator checks its own output with the domain's validation.
    private func finish(_ e: DemoEpisode) throws -> DemoEpisode {
        do { try e.episode.validate() } catch { throw DemoError.generated("\(e.episode.id): \(error)") }
        return e
    }

    // MARK: Diagnosis and MRI

    private mutating func makeDiagnosis(_ g: inout DemoPatientBuilder) throws -> Diagnosis {
        switch kind {
        case .osteoarthritis:
            let grade = Int(g.rng.pick(try g.cal.weighted(joint == .knee ? "kl.kneeOA" : "kl.hipOA") { Int($0) }))
            kl = grade
            let klGrade = try KellgrenLawrenceGrade.from(grade)
            if joint == .knee {
                let ahlback: AhlbackGrade = switch grade {
                case ...2: g.rng.bernoulli(0.5) ? .I : .II
                case 3: g.rng.bernoulli(0.4) ? .II : .III
                default: g.rng.bernoulli(0.69) ? .III : .IV  // Sánchez 2016: III 69%, IV 31%
                }
                return .osteoarthritis(OAGrading(kellgrenLawrence: klGrade, ahlback: ahlback))
            }
            let tonnis: TonnisGrade = grade <= 2 ? .grade1 : (grade == 3 ? .grade2 : .grade3)
            return .osteoarthritis(OAGrading(kellgrenLawrence: klGrade, tonnis: tonnis))
        case .boneMarrowLesion: return .boneMarrowLesion
        case .boneMarrowEdemaSyndrome: return .boneMarrowEdemaSyndrome
        case .insufficiencyFracture:
            guard joint == .knee else { return .insufficiencyFracture(koshino: nil) }
            let stage: String = g.rng.pick(try g.cal.weighted("koshino.sifk") { $0 })
            return .insufficiencyFracture(koshino: Int(stage).flatMap { try? KoshinoStage.from($0) })
        case .boneBruise:
            return .boneBruise(injuryDate: nil, monthsSinceInjury: g.rng.bernoulli(0.1) ? g.rng.int(in: 1...2) : g.rng.int(in: 3...18))
        case .avascularNecrosis:
            if joint == .hip {
                let label: String = g.rng.pick(try g.cal.weighted("arco.hip") { $0 })
                return .avascularNecrosis(.arco(try ARCOStage.parse(label)))
            }
            let stage: Int = g.rng.pick(try g.cal.weighted("koshino.avn") { Int($0) })
            return .avascularNecrosis(.koshino(try KoshinoStage.from(stage)))
        }
    }

    private mutating func size(_ g: inout DemoPatientBuilder) throws -> Int {
        var s: Int = g.rng.pick(try g.cal.weighted("bml.size") { Int($0) })
        let shift = try g.n("mri.klGradeBurdenShift")
        if kl == 4, g.rng.bernoulli(shift) { s = min(3, s + 1) }
        if let kl, kl <= 2, g.rng.bernoulli(shift) { s = max(1, s - 1) }
        return s
    }

    private mutating func finding(_ g: inout DemoPatientBuilder, _ region: BMLSubregion, size: Int, edema: Bool = false) throws -> BMLFinding {
        let percent: Int = edema ? 3 : g.rng.pick(try g.cal.weighted("bml.percent") { Int($0) })
        return BMLFinding(subregion: region, size: try BMLSizeGrade.from(size), bmlPercent: try BMLPercentGrade.from(percent),
                          count: g.rng.bernoulli(0.8) ? 1 : 2)
    }

    private mutating func baselineMRI(_ g: inout DemoPatientBuilder, diagnosis: Diagnosis) throws -> MRIStudy {
        let stale = g.rng.bernoulli(try g.n("screening.mriStaleProbability"))
        let daysBefore = stale ? g.rng.int(in: 200...400)
            : g.uniformDays(try g.n("screening.mriDaysBeforeMin"), try g.n("screening.mriDaysBeforeMax"))
        let date = screeningDate.adding(days: -daysBefore)
        var findings: [BMLFinding] = []
        var fracture: InsufficiencyFractureLine?
        var avn: AVNLesion?
        func add(_ f: BMLFinding) { if !findings.contains(where: { $0.subregion == f.subregion }) { findings.append(f) } }

        switch (kind, joint) {
        case (.insufficiencyFracture, .knee):
            add(try finding(&g, .femurCentralMedial, size: g.rng.int(in: 2...3), edema: true))
            if g.rng.bernoulli(0.4) { add(try finding(&g, .femurPosteriorMedial, size: g.rng.int(in: 1...2), edema: true)) }
            fracture = InsufficiencyFractureLine(subregion: .femurCentralMedial, lengthMm: demoRound(g.rng.uniform(6, 20), step: 0.5))
        case (.insufficiencyFracture, _):
            add(try finding(&g, .femoralHeadSuperior, size: g.rng.int(in: 2...3), edema: true))
            fracture = InsufficiencyFractureLine(subregion: .femoralHeadSuperior, lengthMm: demoRound(g.rng.uniform(6, 20), step: 0.5))
        case (.avascularNecrosis, _):
            let region: BMLSubregion = joint == .hip ? .femoralHeadSuperior : .femurCentralMedial
            add(try finding(&g, region, size: g.rng.int(in: 2...3)))
            var collapse = false
            var depression: Double?
            if case .avascularNecrosis(let staging?) = diagnosis {
                collapse = staging.isCollapsed
                if case .arco(let s) = staging, s >= .IIIA { depression = demoRound(s == .IIIA ? g.rng.uniform(0.5, 2) : g.rng.uniform(2.5, 5), step: 0.5) }
            }
            avn = AVNLesion(subregion: region, collapse: collapse, depressionMm: depression)
        case (.boneBruise, _), (.boneMarrowEdemaSyndrome, _):
            let regions: [BMLSubregion] = joint == .hip ? [.femoralHeadSuperior, .femoralHeadCentral, .femoralHeadLateral]
                : [.femurCentralLateral, .tibiaPosteriorLateral, .femurCentralMedial, .tibiaCentralMedial]
            for _ in 0..<g.rng.int(in: 1...2) { add(try finding(&g, g.rng.element(regions), size: g.rng.int(in: 2...3), edema: true)) }
        default:
            let count: Int
            if joint == .knee {
                let mean = try g.n("mri.knee.subregions.mean") + g.n("mri.klGradeBurdenShift") * Double((kl ?? 3) - 3) * 2
                count = min(5, max(1, Int(g.rng.normal(mean: mean, sd: 0.9).rounded())))
                let compartments = try g.cal.weighted("bml.kneeCompartment") { Compartment(rawValue: $0) }
                for i in 0..<count {
                    let compartment: Compartment = i == 0 ? .medialTibiofemoral : g.rng.pick(compartments)
                    let options = BMLSubregion.subregions(of: .knee).filter { $0.compartment == compartment }
                    let region = (i == 0 && g.rng.bernoulli(0.7)) ? (g.rng.bernoulli(0.6) ? .tibiaCentralMedial : .femurCentralMedial) : g.rng.element(options)
                    add(try finding(&g, region, size: try size(&g)))
                }
            } else {
                let mean = try g.n("mri.hip.subregions.mean") + g.n("mri.klGradeBurdenShift") * Double((kl ?? 3) - 3)
                count = min(3, max(1, Int(g.rng.normal(mean: mean, sd: 0.8).rounded())))
                let options = BMLSubregion.subregions(of: .hip)
                for i in 0..<count {
                    let region: BMLSubregion = i == 0 ? (g.rng.bernoulli(0.6) ? .femoralHeadSuperior : .acetabulumSuperior) : g.rng.element(options)
                    add(try finding(&g, region, size: try size(&g)))
                }
            }
        }
        findings.sort { $0.subregion < $1.subregion }
        var focal: [FocalCartilageLesion]?
        if g.rng.bernoulli(try g.n("screening.focalCartilageLesionProbability")) {
            let region = g.rng.element(BMLSubregion.subregions(of: joint).filter { $0 != .subspinous })
            focal = [FocalCartilageLesion(subregion: region, areaCm2: demoRound(g.rng.uniform(0.8, 4), step: 0.1),
                                          depth: g.rng.bernoulli(0.6) ? .fullThickness : .partialThickness)]
        }
        let suspicious = g.rng.bernoulli(try g.n("screening.suspectedTumourProbability"))
        return MRIStudy(date: date, bml: findings, insufficiencyFracture: fracture, avn: avn, focalCartilageLesions: focal,
                        suspectedTumourOrInfection: suspicious)
    }

    private func followUpMRI(_ g: inout DemoPatientBuilder, baseline: MRIStudy, date: CalendarDate, responder: Bool) throws -> MRIStudy {
        var out: [BMLFinding] = []
        let regress = try g.n(responder ? "mri.regression.responder" : "mri.regression.nonResponder")
        let twoGrades = try g.n("mri.secondGradeDropProbability")
        let progress = responder ? 0 : try g.n("mri.progression.nonResponder")
        for f in baseline.bml {
            var s = f.size.rawValue
            if g.rng.bernoulli(regress) {
                s -= g.rng.bernoulli(twoGrades) ? 2 : 1
            } else if g.rng.bernoulli(progress) {
                s += 1
            }
            s = min(3, max(0, s))
            if s > 0 {
                out.append(BMLFinding(subregion: f.subregion, size: try BMLSizeGrade.from(s), bmlPercent: f.bmlPercent, count: f.count))
            }
        }
        let fracture = responder ? nil : baseline.insufficiencyFracture
        return MRIStudy(date: date, bml: out, insufficiencyFracture: fracture, avn: baseline.avn,
                        focalCartilageLesions: baseline.focalCartilageLesions, suspectedTumourOrInfection: false)
    }

    // MARK: Screening

    private func screeningInput(_ g: inout DemoPatientBuilder, mri: MRIStudy, diagnosis: Diagnosis, latent: DemoLatent,
                                date: CalendarDate) throws -> ScreeningInput {
        let age = DemoPatientBuilder.age(patient.birthDate, at: date)
        let bmi = g.rng.normal(mean: try g.n("bmi.mean"), sd: try g.n("bmi.sd"), in: 17...48)
        let height = demoRound(g.rng.normal(mean: try g.n(sex == .female ? "height.female.mean" : "height.male.mean"), sd: try g.n("height.sd"),
                                            in: 145...205), step: 1)
        let weight = demoRound(bmi * (height / 100) * (height / 100), step: 0.5)

        var tried: [TreatmentTried] = []
        for option in try g.cal.choice("priorTreatments").options where g.rng.bernoulli(option.weight) {
            guard let t = PriorTreatment(rawValue: option.value) else { throw DemoError.invalidCalibration("priorTreatments: '\(option.value)'") }
            let response: TreatmentResponse = g.rng.pick(try g.cal.weighted("priorTreatmentResponse") { TreatmentResponse(rawValue: $0) })
            tried.append(TreatmentTried(treatment: t, durationWeeks: Double(g.rng.int(in: 4...52)), response: response))
        }

        var meds = Medications(anticoagulant: g.rng.bernoulli(try g.n("screening.anticoagulantProbability")),
                               antiplatelet: g.rng.bernoulli(try g.n("screening.antiplateletProbability")),
                               immunosuppressant: g.rng.bernoulli(try g.n("screening.immunosuppressantProbability")))
        if g.rng.bernoulli(try g.n("screening.nsaidCurrentProbability")) {
            if g.rng.bernoulli(try g.n("screening.nsaidRecentDoseProbability")) {
                meds.nsaidCurrent = true
                meds.nsaidLastDose = date.adding(days: -g.rng.int(in: 0...10))
            } else {
                meds.nsaidCurrent = false
                meds.nsaidLastDose = date.adding(days: -g.rng.int(in: 16...90))
            }
        } else {
            meds.nsaidCurrent = false
        }
        if g.rng.bernoulli(try g.n("screening.iaSteroidRecentProbability")) {
            meds.iaSteroidLastDate = date.adding(days: -g.rng.int(in: 10...85))
        } else if g.rng.bernoulli(0.3) {
            meds.iaSteroidLastDate = date.adding(days: -g.rng.int(in: 100...600))
        }
        if g.rng.bernoulli(try g.n("screening.hyaluronicRecentProbability")) {
            meds.iaHyaluronicAcidLastDate = date.adding(days: -g.rng.int(in: 20...170))
        }

        var comorbidities: [Comorbidity] = []
        let diabetic = g.rng.bernoulli(try g.n("screening.diabetesProbability"))
        if diabetic { comorbidities.append(.diabetes) }
        if g.rng.bernoulli(try g.n("screening.inflammatoryArthritisProbability")) { comorbidities.append(.inflammatoryArthritis) }
        if g.rng.bernoulli(try g.n("screening.bleedingDisorderProbability")) { comorbidities.append(.bleedingDisorder) }
        if g.rng.bernoulli(try g.n("screening.osteoporosisProbability")) { comorbidities.append(.osteoporosis) }
        if g.rng.bernoulli(try g.n("screening.cardiovascularProbability")) { comorbidities.append(.cardiovascular) }

        let labs = try makeLabs(&g, date: date, diabetic: diabetic)
        let malignancy: MalignancyType = g.rng.bernoulli(try g.n("screening.malignancyBoneOrBloodProbability")) ? (g.rng.bernoulli(0.5) ? .bone : .haematological)
            : (g.rng.bernoulli(try g.n("screening.malignancyHistoryProbability")) ? .solidHistory : .none)
        let painNRS = min(10, max(0, (latent.nrs0 + g.rng.normal(mean: 0, sd: try g.n("screening.painNRS.extraSd"))).rounded()))
        let candidate = g.rng.bernoulli(try g.n("screening.surgicalCandidateProbability"))
        let activity = joint == .knee ? ActivityLevel(tegner: latent.tegner0) : ActivityLevel(ucla: latent.ucla0)
        let alignment = joint == .knee ? Alignment(varusDegrees: demoRound(abs(g.rng.normal(mean: 2.5, sd: 2)), step: 0.5)) : nil

        return ScreeningInput(
            evaluationDate: date, joint: joint, side: side, diagnosis: diagnosis, mri: mri,
            painConcordance: g.rng.pick(try g.cal.weighted("concordance") { PainConcordance(rawValue: $0) }),
            painNRS: painNRS, treatmentsTried: tried,
            wishesToAvoidReplacement: g.rng.bernoulli(try g.n("screening.wishesToAvoidReplacementProbability")),
            surgicalCandidacy: SurgicalCandidacy(candidate: candidate, reasonNot: candidate ? nil : g.rng.element(["wishes to postpone surgery", "too young for arthroplasty", "medical comorbidity"])),
            age: age, activity: activity, heightCm: height, weightKg: weight, alignment: alignment,
            comorbidities: comorbidities, medications: meds, labs: labs,
            infection: InfectionStatus(systemic: false, localSkin: g.rng.bernoulli(0.005)), malignancy: malignancy,
            pregnantOrBreastfeeding: false,
            lastArthroscopyDate: g.rng.bernoulli(try g.n("screening.arthroscopyRecentProbability")) ? date.adding(days: -g.rng.int(in: 60...330)) : nil)
    }

    private func makeLabs(_ g: inout DemoPatientBuilder, date: CalendarDate, diabetic: Bool) throws -> Labs? {
        if g.rng.bernoulli(try g.n("screening.labsMissingProbability")) { return nil }
        let platelets = demoRound(g.rng.normal(mean: try g.n("screening.platelets.mean"), sd: try g.n("screening.platelets.sd"), in: 60...600), step: 1)
        let hb = demoRound(g.rng.normal(mean: try g.n(sex == .female ? "screening.haemoglobin.female.mean" : "screening.haemoglobin.male.mean"),
                                        sd: try g.n("screening.haemoglobin.sd"), in: 8...19), step: 0.1)
        let hba1c = diabetic ? demoRound(g.rng.normal(mean: try g.n("screening.hba1c.diabetic.mean"), sd: try g.n("screening.hba1c.diabetic.sd"), in: 5...12), step: 0.1) : nil
        return Labs(platelets: platelets, haemoglobin: hb, hba1c: hba1c, date: date.adding(days: -g.rng.int(in: 0...20)))
    }

    /// The same patient after the washout or repeat labs: the blocking conditions are resolved.
    private func rescreenInput(_ g: inout DemoPatientBuilder, previous: ScreeningInput, mri: MRIStudy, date: CalendarDate) throws -> ScreeningInput {
        var input = previous
        input.evaluationDate = date
        input.mri = mri
        input.age = DemoPatientBuilder.age(patient.birthDate, at: date)
        if input.medications?.nsaidCurrent == true { input.medications?.nsaidCurrent = false }
        if input.labs == nil || (input.labs?.platelets ?? 0) < 150 || (input.labs?.haemoglobin ?? 0) < 10 {
            input.labs = try makeLabs(&g, date: date, diabetic: input.comorbidities?.contains(.diabetes) ?? false)
                ?? Labs(platelets: 230, haemoglobin: 13.5, date: date)
        }
        if input.infection?.localSkin == true { input.infection?.localSkin = false }
        return input
    }

    // MARK: Procedure

    private func makeProcedure(_ g: inout DemoPatientBuilder, decision: ScreeningDecision, date: CalendarDate, operatorId: String) throws -> ProcedureRecord {
        let product: String = g.rng.pick(try g.cal.weighted("product") { $0 })
        let usesBMC = product.contains("bmc"), usesPRP = product.contains("prp")
        var injections: [Injection] = []
        let targets = decision.targets.isEmpty
            ? [SuggestedTarget(target: "intra-articular", label: "intra-articular", subregions: [], maxGrade: nil, minVolumeMl: 3, maxVolumeMl: 8, evidence: nil)]
            : decision.targets
        for t in targets {
            let lo = t.minVolumeMl ?? 3, hi = t.maxVolumeMl ?? 8
            if t.target == "intra-articular" {
                let typical = try g.n("procedure.iaVolume.kneeTypical")
                let volume = joint == .knee && g.rng.bernoulli(0.6) ? min(hi, typical) : demoRound(g.rng.uniform(lo, hi), step: 0.5)
                injections.append(Injection(target: .intraArticular, product: usesPRP ? .prp : .bmc,
                                            approach: joint == .knee ? "lateral patellar" : "anterior", gauge: g.rng.bernoulli(0.5) ? 21 : 22, volumeMl: volume))
                continue
            }
            guard let bone = BoneTarget(rawValue: t.target) else { continue }
            let typical = try g.n("procedure.ioVolume.typical")
            let volume = (g.rng.bernoulli(0.6) && (lo...hi).contains(typical)) ? typical : demoRound(g.rng.uniform(lo, hi), step: 0.5)
            let approach: String = switch bone {
            case .medialTibialPlateau: "anteromedial"
            case .lateralTibialPlateau: "anterolateral"
            case .medialFemoralCondyle: "medial"
            case .lateralFemoralCondyle: "lateral"
            case .patella, .trochlea: "external"
            case .femoralHead: "lateral trans-trochanteric"
            case .acetabulum: "lateral supra-acetabular"
            }
            injections.append(Injection(target: .bone(bone, subregion: t.subregions.first), product: usesBMC ? .bmc : .prp,
                                        approach: approach, gauge: g.rng.bernoulli(0.5) ? 11 : 13, volumeMl: volume))
        }

        var prp: PRPDetails?
        if injections.contains(where: { $0.product == .prp }) {
            let used = injections.filter { $0.product == .prp }.reduce(0) { $0 + $1.volumeMl }
            let final = used + demoRound(g.rng.uniform(0.5, try g.n("procedure.prpSpareMl") * 2), step: 0.5)
            let drawn = min(240, demoRound(final * (try g.n("procedure.bloodPerPrpMl")), step: 1))
            let foldMean = try g.n(site.leukocytes == .poor ? "procedure.fold.leukocytePoor.mean" : "procedure.fold.leukocyteRich.mean")
            let fold = demoRound(g.rng.normal(mean: foldMean, sd: try g.n("procedure.fold.sd"), in: 1.2...9), step: 0.1)
            prp = PRPDetails(system: site.prpSystem, bloodDrawnMl: drawn, finalVolumeMl: final,
                             plateletConcentration: demoRound(fold * (try g.n("procedure.wholeBloodPlatelets")), step: 1),
                             foldOverWholeBlood: fold, leukocytes: site.leukocytes, activation: site.activation)
        }
        var bmc: BMCDetails?
        if injections.contains(where: { $0.product == .bmc }) {
            let used = injections.filter { $0.product == .bmc }.reduce(0) { $0 + $1.volumeMl }
            let concentrate = max(used, demoRound(g.rng.normal(mean: try g.n("procedure.bmc.concentrate.mean"), sd: try g.n("procedure.bmc.concentrate.sd"), in: 3...30), step: 0.5))
            let aspirate = max(concentrate * 3, demoRound(g.rng.normal(mean: try g.n("procedure.bmc.aspirate.mean"), sd: try g.n("procedure.bmc.aspirate.sd"), in: 30...240), step: 1))
            let cfu = g.rng.bernoulli(try g.n("procedure.bmc.cfuMeasuredProbability"))
                ? demoRound(g.rng.uniform(try g.n("procedure.bmc.cfu.min"), try g.n("procedure.bmc.cfu.max")), step: 10) : nil
            bmc = BMCDetails(harvestSite: g.rng.bernoulli(0.85) ? .posteriorIliacCrest : .anteriorIliacCrest, aspirateVolumeMl: aspirate,
                             concentrateVolumeMl: concentrate,
                             nucleatedCellsPerMl: demoRound(g.rng.normal(mean: try g.n("procedure.bmc.tnc.mean"), sd: try g.n("procedure.bmc.tnc.sd"), in: 5...200), step: 0.1),
                             cfuFPerMl: cfu)
        }

        let boneTargets = injections.filter { if case .bone = $0.target { true } else { false } }.count
        let suggested = decision.setting
        let setting: ProcedureSetting = site.alwaysSurgeryCentre ? .surgeryCentre : (suggested?.setting ?? .office)
        let anaesthesia: Anaesthesia = setting == .surgeryCentre ? (suggested?.anaesthesia == .twilightSedation || g.rng.bernoulli(0.8) ? .twilightSedation : .localWithNitrous)
            : (suggested?.anaesthesia ?? .localWithNitrous)
        var guidance: [Guidance] = [.fluoroscopy]
        if joint == .hip, g.rng.bernoulli(try g.n("procedure.ultrasoundForHipIAProbability")) { guidance.append(.ultrasound) }
        let seconds = demoRound(min(900, try g.n("procedure.fluoroscopySeconds.median") * Double(max(1, boneTargets)) / 2
            * DemoMath.exp(try g.n("procedure.fluoroscopySeconds.logSd") * g.rng.standardNormal())), step: 1)
        let dap = demoRound(seconds * (try g.n("procedure.dapPerSecond")) * g.rng.uniform(0.6, 1.4) * (joint == .hip ? 3 : 1), step: 0.1)
        var complications: [Complication] = []
        if g.rng.bernoulli(try g.n("procedure.vasovagalProbability")) {
            complications.append(Complication(description: "vasovagal episode, resolved lying down", severity: .mild))
        }
        let discharge = joint == .knee
            ? "Weight bearing as tolerated without crutches. Ice for discomfort; paracetamol if needed; no NSAIDs for 2 weeks."
            : "Weight bearing as tolerated; crutches for comfort for a few days if needed. Paracetamol if needed; no NSAIDs for 2 weeks."
        return ProcedureRecord(date: date, setting: setting, anaesthesia: anaesthesia, guidance: guidance, fluoroscopySeconds: seconds,
                               doseAreaProduct: dap, prp: prp, bmc: bmc, injections: injections, complications: complications,
                               dischargeInstructions: discharge, operator_: operatorId, signature: Signature(signedBy: operatorId, date: date))
    }

    // MARK: Events

    private func replacementHazardRatio(_ g: inout DemoPatientBuilder, diagnosis: Diagnosis, mri: MRIStudy, latent: DemoLatent, age: Int) throws -> Double {
        var hr = 1.0
        switch diagnosis {
        case .osteoarthritis(let grading):
            if let kl = grading.kellgrenLawrence?.rawValue {
                if kl >= 4 { hr *= try g.n("replacement.hr.kl4") } else if kl <= 2 { hr *= try g.n("replacement.hr.kl2orLess") }
            }
            if grading.tonnis == .grade3 { hr *= try g.n("replacement.hr.tonnis3") / (try g.n("replacement.hr.kl4")) }
        case .avascularNecrosis: hr *= try g.n("replacement.hr.avn")
        case .boneBruise, .boneMarrowEdemaSyndrome: hr *= try g.n("replacement.hr.lowRiskDiagnosis")
        default: break
        }
        let burden = mri.bmlSummary.burden
        hr *= DemoMath.pow(try g.n("replacement.hr.perBurdenPointAbove2"), Double(max(0, burden - 2)))
        if !latent.responder { hr *= try g.n("replacement.hr.nonResponder") }
        hr *= DemoMath.pow(try g.n("replacement.hr.age.per10yAbove60"), Double(age - 60) / 10)
        return hr
    }

    private func makeEvents(_ g: inout DemoPatientBuilder, index: CalendarDate, hazardRatio: Double, procedure: ProcedureRecord) throws -> [OutcomeEvent] {
        let stopAt = [exits.exit, g.registry.dataCutDate].compactMap { $0 }.min()!
        var events: [OutcomeEvent] = []
        func add(_ e: OutcomeEvent) { if e.date < stopAt { events.append(e) } }

        let months = g.rng.weibull(shape: try g.n("replacement.weibullShape"), scale: try g.n("replacement.weibullScaleMonths"), relativeHazard: hazardRatio)
        let replacementDay = months * DemoPatientBuilder.daysPerMonth
        let replacement: CalendarDate? = replacementDay < Double(index.days(to: stopAt)) ? index.adding(days: max(14, Int(replacementDay))) : nil

        if g.rng.bernoulli(try g.n("ae.flareMild")) {
            add(.adverseEvent(description: "post-injection pain flare", severity: .mild, date: index.adding(days: g.rng.int(in: 1...3))))
        } else if g.rng.bernoulli(try g.n("ae.flareModerate")) {
            add(.adverseEvent(description: "post-injection pain flare needing rest", severity: .moderate, date: index.adding(days: g.rng.int(in: 1...5))))
        }
        if procedure.bmc != nil, g.rng.bernoulli(try g.n("ae.harvestHaematoma")) {
            add(.adverseEvent(description: "harvest-site haematoma", severity: .mild, date: index.adding(days: g.rng.int(in: 0...2))))
        }
        if g.rng.bernoulli(try g.n("ae.infectionSevere")) {
            add(.adverseEvent(description: "injection-site infection treated with antibiotics", severity: .severe, date: index.adding(days: g.rng.int(in: 5...20))))
        }
        if g.rng.bernoulli(try g.n("ae.lateModerate")) {
            let what: String = g.rng.pick(try g.cal.weighted("ae.lateDescription") { $0 })
            add(.adverseEvent(description: what, severity: g.rng.bernoulli(0.7) ? .mild : .moderate, date: index.adding(days: g.rng.int(in: 30...365))))
        }
        let beforeReplacement = { (d: CalendarDate) in replacement.map { d < $0 } ?? true }
        if g.rng.bernoulli(try g.n("repeatIO.probability")) {
            let d = index.adding(days: g.rng.int(in: 180...540))
            if beforeReplacement(d) { add(.repeatIO(date: d)) }
        }
        if g.rng.bernoulli(try g.n("otherSurgery.probability")) {
            let d = index.adding(days: g.rng.int(in: 90...900))
            let what: String = g.rng.pick(try g.cal.weighted("otherSurgery.description") { $0 })
            if beforeReplacement(d) { add(.otherSurgery(description: what, date: d)) }
        }
        if let replacement {
            let kind: ReplacementKind = joint == .hip ? .tha : (g.rng.bernoulli(try g.n("replacement.ukaShareOfKnee")) ? .uka : .tka)
            add(.jointReplacement(kind: kind, date: replacement))
        }
        events.sort { $0.date < $1.date }
        return events
    }
}
