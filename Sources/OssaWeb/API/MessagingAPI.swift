import Foundation
import Hummingbird
import OssaCore
import OssaStore

extension InvitationChannel: WireEnum {}
extension OutboxStatus: WireEnum {}

/// Sending a personal link now: `{"channel": "email" | "sms"}`.
struct NewInvitationDTO: Codable, Sendable {
    var channel: InvitationChannel
}

/// A message in the outbox on the wire. The text is not included: until it is sent it holds the patient's link.
struct OutboxMessageDTO: Codable, Sendable {
    var id: String
    var invitationId: String?
    var timepointId: String?
    var siteId: String?
    var kind: String
    /// 0 = the invitation, 1… = its reminders.
    var sequence: Int?
    var channel: InvitationChannel
    var recipient: String
    var subject: String?
    var status: OutboxStatus
    var notBefore: String
    var notAfter: String?
    var attempts: Int
    var lastError: String?
    var sentAt: String?
    var createdAt: String?

    init(_ record: OutboxMessageRecord) {
        id = record.id.lowercasedID
        invitationId = record.invitationID?.lowercasedID
        timepointId = record.timepointID?.lowercasedID
        siteId = record.siteID?.lowercasedID
        kind = record.kind
        sequence = record.sequence
        channel = record.channel
        recipient = record.recipient
        subject = record.subject
        status = record.status
        notBefore = WireDate.string(record.notBefore) ?? ""
        notAfter = WireDate.string(record.notAfter)
        attempts = record.attempts
        lastError = record.lastError
        sentAt = WireDate.string(record.sentAt)
        createdAt = WireDate.string(record.createdAt)
    }
}

/// The link just issued and the messages queued for it (the token itself goes only into the messages).
struct SentInvitationDTO: Codable, Sendable {
    var id: String
    var timepointId: String
    var patientId: String
    var channel: InvitationChannel
    var expiresAt: String
    var messages: [OutboxMessageDTO]
}

/// Invitations and the outbox: a coordinator sends a timepoint's link now (with its reminders); staff list their
/// sites' messages (failed deliveries, what is queued for a timepoint).
struct MessagingAPI: APIRouteGroup {
    let store: OssaStore
    let environment: WebEnvironment
    let composition: MessageComposition

    func register(on api: RouterGroup<OssaRequestContext>) {
        api.on(.post, Paths.API.timepointInvitations, use: invite)
        api.on(.get, Paths.API.outbox, use: outbox)
    }

    /// 201 with the invitation and its queued messages. A timepoint that is not pending, a closed window, or a
    /// patient without an address on the channel (or who opted out of it) is a 409 naming the field.
    @Sendable func invite(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let timepointID = try context.uuidParameter("timepointID")
        let body = try await JSONIO.decode(NewInvitationDTO.self, from: request, context: context)
        let sent = try await store.invitations.send(actor, timepointID: timepointID, channel: body.channel, now: environment.now(),
                                                    compose: composition.composer)
        let messages = try await store.outbox.list(actor, timepoint: timepointID, PageRequest(limit: 100)).items
            .filter { $0.invitationID == sent.invitation.id }
        let dto = SentInvitationDTO(id: sent.invitation.id.lowercasedID, timepointId: timepointID.lowercasedID,
                                    patientId: sent.invitation.patientID.lowercasedID, channel: body.channel,
                                    expiresAt: WireDate.string(sent.invitation.expiresAt) ?? "", messages: messages.map(OutboxMessageDTO.init))
        return try JSONIO.response(dto, status: .created,
                                   headers: [.location: Paths.API.outbox.template + "?timepoint=\(timepointID.lowercasedID)"])
    }

    /// Filters: `status` (queued, sending, sent, failed, cancelled), `timepoint`; paged.
    @Sendable func outbox(_ request: Request, context: OssaRequestContext) async throws -> Response {
        let actor = try context.requireUser()
        let query = ClinicalQuery(request)
        let result = try await store.outbox.list(actor, status: try query.value("status", as: OutboxStatus.self),
                                                 timepoint: try query.uuid("timepoint"), try query.page())
        return try JSONIO.response(PageDTO(result, OutboxMessageDTO.init))
    }
}
