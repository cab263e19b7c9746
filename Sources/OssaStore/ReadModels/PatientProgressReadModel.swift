import FluentKit
import Foundation
import OssaCore
import SQLKit

/// What a patient sees of their own follow-up: per treated joint, the questionnaires to come and the results so far.
public struct PatientProgress: Sendable {
    public struct Episode: Sendable {
        public var episode: EpisodeRecord
        public var timepoints: [TimepointRecord]
        public var responses: [QuestionnaireResponseRecord]

        public init(episode: EpisodeRecord, timepoints: [TimepointRecord], responses: [QuestionnaireResponseRecord]) {
            (self.episode, self.timepoints, self.responses) = (episode, timepoints, responses)
        }
    }

    public var clinic: ClinicContact
    public var episodes: [Episode]

    public init(clinic: ClinicContact, episodes: [Episode]) {
        (self.clinic, self.episodes) = (clinic, episodes)
    }
}

extension ReadModels {
    /// The signed-in patient's own progress (the patient role reads only its own record). One transaction, four
    /// statements whatever the number of episodes, one audit entry.
    public func patientProgress(_ actor: ActingUser) async throws -> PatientProgress {
        _ = try await Access.require(actor, .read, .patient, database: database)
        guard actor.role == .patient, let patientID = actor.patientID else {
            throw StoreError.notFound(recordType: "patient", id: "(own record)")
        }
        return try await database.transaction { db in
            let progress = try await PatientProgress.load(patientID: patientID, on: db)
            try await Access.audit(actor, .read, .patient, patientID, on: db)
            return progress
        }
    }
}

extension LinkRepository {
    /// The patient's progress for a browser that confirmed the date of birth on this link (open or just completed:
    /// the thank-you page links to it). Audited as a read of the patient by the link.
    public func progress(token: String, session: String, now: Date = Date(), address: String? = nil) async throws -> PatientProgress {
        let tokenHash = InvitationRepository.hash(token)
        let sessionHash = InvitationRepository.hash(session)
        return try await database.transaction { db in
            let sql = try db.sqlDatabase()
            let link = try await Self.load(tokenHash: tokenHash, on: sql, now: now)
            guard [.open, .completed].contains(link.status) else { throw LinkClosed(status: link.status) }
            guard try await Self.session(sessionHash, invitation: link.invitationID, now: now, on: sql) else { throw LinkNotConfirmed() }
            let progress = try await PatientProgress.load(patientID: link.patientID, on: db)
            var event = Self.event(link, .read, address: address)
            (event.recordType, event.recordID) = (.patient, link.patientID.lowerString)
            try await AuditLog.append(event, on: db)
            return progress
        }
    }
}

extension PatientProgress {
    static func load(patientID: UUID, on db: any Database) async throws -> PatientProgress {
        guard let patient = try await PatientModel.find(patientID, on: db) else {
            throw StoreError.notFound(recordType: "patient", id: patientID.lowerString)
        }
        let sql = try db.sqlDatabase()
        let site = try await sql.select().columns("name", "contact_phone", "contact_email").from("sites")
            .where("id", .equal, SQLBind(patient.$site.id)).first()
        let clinic = ClinicContact(name: try site?.decode(column: "name", as: String.self) ?? "Your clinic",
                                   phone: try site?.decode(column: "contact_phone", as: String?.self),
                                   email: try site?.decode(column: "contact_email", as: String?.self))
        let episodes = try await EpisodeModel.query(on: db).filter(\.$patient.$id == patientID).sort(\.$createdAt).sort(\.$id).limit(20).all()
        let ids = try episodes.map { try $0.requireID() }
        guard !ids.isEmpty else { return PatientProgress(clinic: clinic, episodes: []) }
        let timepoints = try await FollowUpTimepointModel.query(on: db).filter(\.$episode.$id ~~ ids).sort(\.$dueDate).sort(\.$code).limit(1000).all()
        let responses = try await QuestionnaireResponseModel.query(on: db).filter(\.$episode.$id ~~ ids).sort(\.$completedAt).sort(\.$id).limit(2000).all()
        return PatientProgress(clinic: clinic, episodes: try episodes.map { model in
            let id = try model.requireID()
            return Episode(episode: try EpisodeRecord(model),
                           timepoints: try timepoints.filter { $0.$episode.id == id }.map(TimepointRecord.init),
                           responses: try responses.filter { $0.$episode.id == id }.map(QuestionnaireResponseRecord.init))
        })
    }
}
