import FluentKit
import Foundation
import OssaCore
import SQLKit

final class RulesetModel: Model, @unchecked Sendable {  // Fluent models: see the note in Models.swift.
    static let schema = "rulesets"
    @ID(key: .id) var id: UUID?
    @Field(key: "ruleset_id") var rulesetID: String
    @Field(key: "version") var version: String
    @Field(key: "title") var title: String
    /// The ruleset's JSON as uploaded.
    @Field(key: "json") var json: String
    @Field(key: "uploaded_by") var uploadedBy: UUID
    @Field(key: "uploaded_at") var uploadedAt: Date
    @Field(key: "active") var active: Bool
    init() {}
}

final class InstrumentWordingModel: Model, @unchecked Sendable {  // Fluent models: see the note in Models.swift.
    static let schema = "instrument_wordings"
    @ID(key: .id) var id: UUID?
    @Field(key: "instrument_id") var instrumentID: String
    /// Item code → text, a JSON object with sorted keys.
    @Field(key: "json") var json: String
    @Field(key: "uploaded_by") var uploadedBy: UUID
    @Field(key: "uploaded_at") var uploadedAt: Date
    init() {}
}

/// One uploaded ruleset version (its rules are in the stored JSON; `RulesetRepository.active()` decodes them).
public struct RulesetRecord: Sendable, Hashable {
    public var id: UUID
    /// The ruleset's own id and version, as screening decisions record them.
    public var rulesetID: String
    public var version: String
    public var title: String
    public var uploadedBy: UUID
    public var uploadedAt: Date
    /// Whether new screening evaluations use this version.
    public var active: Bool

    public init(id: UUID, rulesetID: String, version: String, title: String, uploadedBy: UUID, uploadedAt: Date, active: Bool) {
        (self.id, self.rulesetID, self.version, self.title, self.uploadedBy, self.uploadedAt, self.active) =
            (id, rulesetID, version, title, uploadedBy, uploadedAt, active)
    }

    init(_ model: RulesetModel) throws {
        self.init(id: try model.requireID(), rulesetID: model.rulesetID, version: model.version, title: model.title,
                  uploadedBy: model.uploadedBy, uploadedAt: model.uploadedAt, active: model.active)
    }
}

/// Screening rulesets uploaded by an administrator, and which one new evaluations use.
///
/// A version is stored only after `Ruleset.decode` accepts it, and never changes afterwards (a decision names its
/// ruleset by id and version); a correction is a new version. At most one version is active, and activating one
/// deactivates the others in the same transaction; with none active, evaluations use the bundled default
/// (`Ruleset.bundledDefault()`), which may not be uploaded under its own id and version.
///
/// Managing and listing versions is for admins (`AccessPolicy`, record type `ruleset`). `active()` takes no acting
/// user: the active ruleset is configuration that every screening evaluation reads, like the session lookups.
public struct RulesetRepository: Sendable {
    let database: OssaDatabase

    /// The largest ruleset accepted, in UTF-8 bytes (the bundled default is about 40 kB).
    public static let maximumBytes = 512 * 1024

    /// `pg_advisory_xact_lock` key for changing the active version ("OSSARULE" as ASCII bytes).
    static let activationLockKey: Int64 = 0x4F53_5341_5255_4C45

    /// Checks and stores a new version (audited `create`); with `activate`, it also becomes the active one in the same
    /// transaction (audited `update`). A document the domain refuses is `StoreError.invalid` with the field
    /// `ruleset.<path>` (`ruleset.rules[3].when.all[0].op`; `ruleset` alone for the document as a whole).
    public func upload(_ actor: ActingUser, json: String, now: Date, activate: Bool = false) async throws -> RulesetRecord {
        _ = try await Access.require(actor, .create, .ruleset, database: database)
        if activate { _ = try await Access.require(actor, .update, .ruleset, database: database) }
        let ruleset = try Self.check(json)
        let bundled = try Ruleset.bundledDefault()
        if ruleset.id == bundled.id, ruleset.version == bundled.version {
            throw StoreError.conflictingField(field: "ruleset.version",
                                              message: "\(ruleset.id) version \(ruleset.version) is the bundled default ruleset; give the clinic's version its own version number")
        }
        let (id, version) = (ruleset.id, ruleset.version)
        return try await mapConstraint("ruleset \(id) version \(version) has been uploaded already") {
            try await database.transaction { db in
                if activate { try await serialize(Self.activationLockKey, on: db) }
                if try await RulesetModel.query(on: db).filter(\.$rulesetID == id).filter(\.$version == version).count() > 0 {
                    throw StoreError.conflictingField(field: "ruleset.version",
                                                      message: "\(id) version \(version) has been uploaded already; give the new one its own version number")
                }
                if activate { try await Self.deactivateAll(on: db) }
                let model = RulesetModel()
                model.rulesetID = id
                model.version = version
                model.title = ruleset.title
                model.json = json
                model.uploadedBy = actor.userID
                model.uploadedAt = now
                model.active = activate
                try await model.create(on: db)
                let recordID = try model.requireID().lowerString
                try await AuditLog.appendBatch([AuditEvent(actor: actor, action: .create, recordType: .ruleset, recordID: recordID)]
                                               + (activate ? [AuditEvent(actor: actor, action: .update, recordType: .ruleset, recordID: recordID)] : []),
                                               on: db)
                return try RulesetRecord(model)
            }
        }
    }

    /// Makes `id` the version new evaluations use, or, with nil, the bundled default; every other version stops being
    /// active in the same transaction. Audited `update` (record id: the version's id, or `bundled:<id>@<version>`).
    public func activate(_ actor: ActingUser, _ id: UUID?) async throws {
        let bundled = try Ruleset.bundledDefault()
        let recordID = id?.lowerString ?? Self.bundledRecordID(bundled)
        _ = try await Access.require(actor, .update, .ruleset, recordID: recordID, database: database)
        try await database.transaction { db in
            try await serialize(Self.activationLockKey, on: db)
            var target: RulesetModel?
            if let id {
                guard let model = try await RulesetModel.find(id, on: db) else {
                    throw StoreError.notFound(recordType: "ruleset", id: id.lowerString)
                }
                target = model
            }
            try await Self.deactivateAll(on: db)
            if let target {
                target.active = true
                try await target.update(on: db)
            }
            try await AuditLog.append(AuditEvent(actor: actor, action: .update, recordType: .ruleset, recordID: recordID), on: db)
        }
    }

    /// The ruleset new screening evaluations use: the active uploaded version, or nil for the bundled default
    /// (pass the result to `ScreeningRepository.evaluate(_:episodeID:_:ruleset:)`, which takes nil the same way).
    /// One statement. A stored version this build cannot decode is `StoreError.unreadable`.
    public func active() async throws -> Ruleset? {
        guard let row = try await database.sql().select().columns("ruleset_id", "version", "json").from(RulesetModel.schema)
            .where("active", .equal, SQLBind(true)).limit(1).first() else { return nil }
        return try Self.stored(json: try row.decode(column: "json", as: String.self),
                               name: "\(try row.decode(column: "ruleset_id", as: String.self)) \(try row.decode(column: "version", as: String.self))")
    }

    /// A stored version's rules; one this build cannot decode is `StoreError.unreadable`, never skipped.
    static func stored(json: String, name: String) throws -> Ruleset {
        do {
            return try Ruleset.decode(from: Data(json.utf8))
        } catch {
            throw StoreError.unreadable(field: "rulesets.json", value: name)
        }
    }

    /// The audit record id of the bundled default when it is (re)activated.
    static func bundledRecordID(_ bundled: Ruleset) -> String { "bundled:\(bundled.id)@\(bundled.version)" }

    /// The document as the domain reads it, or `StoreError.invalid` naming the path of the problem.
    static func check(_ json: String) throws -> Ruleset {
        guard json.utf8.count <= maximumBytes else {
            throw StoreError.invalid(field: "ruleset", message: "larger than \(maximumBytes / 1024) kB")
        }
        guard !json.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw StoreError.invalid(field: "ruleset", message: "is empty")
        }
        do {
            return try Ruleset.decode(from: Data(json.utf8))
        } catch {
            throw error.storeError(under: "ruleset")
        }
    }

    static func deactivateAll(on db: any Database) async throws {
        try await RulesetModel.query(on: db).filter(\.$active == true).set(\.$active, to: false).update()
    }
}

/// A clinic's wording of one built-in instrument: item code → text, replacing the shipped paraphrase.
public struct InstrumentWordingRecord: Sendable, Hashable {
    public var instrumentID: String
    public var texts: [String: String]
    public var uploadedBy: UUID
    public var uploadedAt: Date

    public init(instrumentID: String, texts: [String: String], uploadedBy: UUID, uploadedAt: Date) {
        (self.instrumentID, self.texts, self.uploadedBy, self.uploadedAt) = (instrumentID, texts, uploadedBy, uploadedAt)
    }

    /// The instrument with this wording (`InstrumentDefinition.replacingWording(_:)`).
    public func applied(to definition: InstrumentDefinition) throws(FieldValidationError) -> InstrumentDefinition {
        try definition.replacingWording(texts)
    }

    init(_ model: InstrumentWordingModel) throws {
        let texts: [String: String]
        do {
            texts = try JSONDecoder().decode([String: String].self, from: Data(model.json.utf8))
        } catch {
            throw StoreError.unreadable(field: "instrument_wordings.json", value: model.instrumentID)
        }
        self.init(instrumentID: model.instrumentID, texts: texts, uploadedBy: model.uploadedBy, uploadedAt: model.uploadedAt)
    }
}

/// Clinics' licensed item wording for the built-in instruments (`InstrumentLibrary.builtIn()`), one per instrument.
///
/// Stored only when `InstrumentDefinition.replacingWording(_:)` accepts it (every code an item of the instrument).
/// Uploading, replacing and removing are for admins (record type `instrument-wording`, record id the instrument's
/// id); `get(_:)` takes no acting user, because every questionnaire shown to staff or patients reads it.
public struct InstrumentWordingRepository: Sendable {
    let database: OssaDatabase

    /// Longest item text accepted.
    public static let maximumTextLength = 2000

    /// Stores the wording (audited `create`, or `update` when it replaces the instrument's earlier one). An unknown
    /// instrument is `notFound`; an unknown item code, or a blank or overlong text, `invalid` with the field
    /// `texts.<code>`.
    public func upload(_ actor: ActingUser, instrumentID: String, texts: [String: String], now: Date) async throws -> InstrumentWordingRecord {
        _ = try await Access.require(actor, .create, .instrumentWording, recordID: instrumentID, database: database)
        _ = try await Access.require(actor, .update, .instrumentWording, recordID: instrumentID, database: database)
        guard let definition = try InstrumentLibrary.builtIn().instrument(id: instrumentID) else {
            throw StoreError.notFound(recordType: "instrument", id: instrumentID)
        }
        guard !texts.isEmpty else { throw StoreError.invalid(field: "texts", message: "names no item") }
        var cleaned: [String: String] = [:]
        for code in texts.keys.sorted() {
            cleaned[code] = try requiredText(texts[code] ?? "", field: "texts.\(code)", max: Self.maximumTextLength)
        }
        do {
            _ = try definition.replacingWording(cleaned)
        } catch {
            throw error.storeError(under: "texts")
        }
        let json = try StoredJSON.encode(cleaned)
        return try await mapConstraint("the wording of \(instrumentID) is being changed by someone else; try again") {
            try await database.transaction { db in
                let existing = try await InstrumentWordingModel.query(on: db).filter(\.$instrumentID == instrumentID).first()
                let model = existing ?? InstrumentWordingModel()
                model.instrumentID = instrumentID
                model.json = json
                model.uploadedBy = actor.userID
                model.uploadedAt = now
                try await model.save(on: db)
                try await AuditLog.append(AuditEvent(actor: actor, action: existing == nil ? .create : .update,
                                                     recordType: .instrumentWording, recordID: instrumentID), on: db)
                return try InstrumentWordingRecord(model)
            }
        }
    }

    /// Removes the clinic's wording: the instrument is shown with its shipped wording again (audited `delete`).
    /// Removing wording that is not there changes nothing.
    public func remove(_ actor: ActingUser, instrumentID: String) async throws {
        _ = try await Access.require(actor, .delete, .instrumentWording, recordID: instrumentID, database: database)
        try await database.transaction { db in
            guard let model = try await InstrumentWordingModel.query(on: db).filter(\.$instrumentID == instrumentID).first() else { return }
            try await model.delete(on: db)
            try await AuditLog.append(AuditEvent(actor: actor, action: .delete, recordType: .instrumentWording, recordID: instrumentID), on: db)
        }
    }

    /// The clinic's wording of the instrument, or nil when it uses the shipped wording. One statement.
    public func get(_ instrumentID: String) async throws -> InstrumentWordingRecord? {
        try await InstrumentWordingModel.query(on: database.fluent()).filter(\.$instrumentID == instrumentID).first()
            .map(InstrumentWordingRecord.init)
    }
}

extension OssaStore {
    public var rulesets: RulesetRepository { RulesetRepository(database: database) }
    public var instrumentWordings: InstrumentWordingRepository { InstrumentWordingRepository(database: database) }
}
