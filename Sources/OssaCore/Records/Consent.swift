import Foundation

/// What a patient consented to (issue #12): the treatment itself, follow-up in the registry (questionnaires, outcome
/// events), and research use of their de-identified data.
public enum ConsentKind: String, Sendable, Hashable, CaseIterable, Codable {
    case treatment
    case registry = "registry-follow-up"
    case research = "research-use"

    public var label: String {
        switch self {
        case .treatment: "Treatment"
        case .registry: "Registry follow-up"
        case .research: "Research use of de-identified data"
        }
    }
}

public enum ConsentDecision: String, Sendable, Hashable, CaseIterable, Codable {
    case permit, deny
}

/// One recorded consent decision. A patient's consent of a kind is the latest decision of that kind (by date, then
/// when it was recorded); earlier ones stay as the history.
public struct ConsentRecord: Sendable, Hashable {
    public var id: UUID
    public var patientID: UUID
    public var siteID: UUID
    public var kind: ConsentKind
    public var decision: ConsentDecision
    /// The day the patient decided (signed the form).
    public var date: CalendarDate
    /// The user who recorded it.
    public var recordedBy: UUID
    public var recordedByName: String?
    public var recordedAt: Date
    /// Where the signed form is kept (a reference, not the form itself), e.g. "paper file, scanned to EHR".
    public var formReference: String?

    public init(id: UUID, patientID: UUID, siteID: UUID, kind: ConsentKind, decision: ConsentDecision, date: CalendarDate,
                recordedBy: UUID, recordedByName: String? = nil, recordedAt: Date, formReference: String? = nil) {
        (self.id, self.patientID, self.siteID, self.kind, self.decision, self.date) = (id, patientID, siteID, kind, decision, date)
        (self.recordedBy, self.recordedByName, self.recordedAt, self.formReference) = (recordedBy, recordedByName, recordedAt, formReference)
    }

    /// The standing decision per kind: the latest of each.
    public static func current(_ records: [ConsentRecord]) -> [ConsentKind: ConsentRecord] {
        var latest: [ConsentKind: ConsentRecord] = [:]
        for record in records {
            if let known = latest[record.kind], (known.date, known.recordedAt) >= (record.date, record.recordedAt) { continue }
            latest[record.kind] = record
        }
        return latest
    }
}

/// A consent decision to record.
public struct NewConsent: Sendable, Hashable {
    public var kind: ConsentKind
    public var decision: ConsentDecision
    public var date: CalendarDate
    public var formReference: String?

    public init(kind: ConsentKind, decision: ConsentDecision, date: CalendarDate, formReference: String? = nil) {
        (self.kind, self.decision, self.date, self.formReference) = (kind, decision, date, formReference)
    }
}
