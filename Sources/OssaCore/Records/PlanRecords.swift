import Foundation

/// One planned injection: where, how, and the volume range to prepare (the procedure record holds what was given).
public struct PlannedInjection: Sendable, Hashable, Codable {
    public var target: InjectionTarget
    public var product: InjectedProduct
    public var approach: String?
    public var minVolumeMl: Double
    public var maxVolumeMl: Double

    public init(target: InjectionTarget, product: InjectedProduct, approach: String? = nil, minVolumeMl: Double, maxVolumeMl: Double) {
        (self.target, self.product, self.approach, self.minVolumeMl, self.maxVolumeMl) = (target, product, approach, minVolumeMl, maxVolumeMl)
    }
}

/// The injection plan of an episode: drafted from the signed screening decision's suggested targets and the latest
/// MRI, edited by the clinician, printed for the procedure room, and the starting point of the procedure record.
public struct InjectionPlan: Sendable, Hashable, Codable {
    public var plannedDate: CalendarDate?
    public var setting: ProcedureSetting
    public var anaesthesia: Anaesthesia
    public var injections: [PlannedInjection]
    public var notes: String?

    public init(plannedDate: CalendarDate? = nil, setting: ProcedureSetting, anaesthesia: Anaesthesia, injections: [PlannedInjection], notes: String? = nil) {
        (self.plannedDate, self.setting, self.anaesthesia, self.injections, self.notes) = (plannedDate, setting, anaesthesia, injections, notes)
    }

    /// Rejects an empty plan and impossible volumes, naming the field.
    public func validate() throws(FieldValidationError) {
        if injections.isEmpty { throw FieldValidationError(path: "injections", message: "a plan needs at least one injection") }
        for (i, injection) in injections.enumerated() {
            let here = FieldPath.index("injections", i)
            try PlausibleRanges.injectionVolumeMl.check(injection.minVolumeMl, at: FieldPath.join(here, "minVolumeMl"))
            try PlausibleRanges.injectionVolumeMl.check(injection.maxVolumeMl, at: FieldPath.join(here, "maxVolumeMl"))
            if injection.maxVolumeMl < injection.minVolumeMl {
                throw FieldValidationError(path: FieldPath.join(here, "maxVolumeMl"), message: "is less than the smallest volume")
            }
        }
    }
}

/// A stored plan (one per episode; saving again replaces it, and the audit log keeps who changed it when).
public struct StoredPlan: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID
    public var siteID: UUID
    /// The signed decision it was drafted from.
    public var decisionID: UUID?
    public var plan: InjectionPlan
    public var updatedBy: UUID?
    public var updatedAt: Date?

    public init(id: UUID, episodeID: UUID, siteID: UUID, decisionID: UUID?, plan: InjectionPlan, updatedBy: UUID?, updatedAt: Date?) {
        (self.id, self.episodeID, self.siteID, self.decisionID, self.plan, self.updatedBy, self.updatedAt) = (id, episodeID, siteID, decisionID, plan, updatedBy, updatedAt)
    }
}

/// An adjunct session of an episode (focal shockwave course, intra-articular injection), stored and shown beside the
/// IO procedures.
public struct StoredAdjunct: Sendable, Hashable {
    public var id: UUID
    public var episodeID: UUID
    public var siteID: UUID
    public var session: AdjunctSession
    public var createdBy: UUID?
    public var createdAt: Date?

    public init(id: UUID, episodeID: UUID, siteID: UUID, session: AdjunctSession, createdBy: UUID?, createdAt: Date?) {
        (self.id, self.episodeID, self.siteID, self.session, self.createdBy, self.createdAt) = (id, episodeID, siteID, session, createdBy, createdAt)
    }

    /// The first day of the session (or course).
    public var date: CalendarDate? { session.firstDate }
}

/// A correction to a signed (locked) procedure record: what changes and why, by whom and when. Addenda are
/// shown in order under the record; the record itself never changes after signing.
public struct ProcedureAddendum: Sendable, Hashable {
    public var id: UUID
    public var procedureID: UUID
    public var text: String
    public var reason: String
    public var authorID: UUID
    public var createdAt: Date

    public init(id: UUID, procedureID: UUID, text: String, reason: String, authorID: UUID, createdAt: Date) {
        (self.id, self.procedureID, self.text, self.reason, self.authorID, self.createdAt) = (id, procedureID, text, reason, authorID, createdAt)
    }
}
