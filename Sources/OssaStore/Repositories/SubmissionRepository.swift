import FluentKit
import Foundation
import SQLKit

/// One-time keys of submitted forms, so that a form sent twice writes once: the first submission claims the key and
/// records where its result is; a repeat finds that result (or learns the first is still under way).
public struct SubmissionRepository: Sendable {
    let database: OssaDatabase

    public enum Claim: Sendable, Equatable {
        /// The key is new: go ahead, then `complete` (or `release` when the form was refused).
        case claimed
        /// The form was already written; its result is here.
        case done(resultURL: String)
        /// The first submission is still being written.
        case inProgress
    }

    /// Keys are the form's own random value: anything longer or shorter than a UUID's text is not one of ours.
    static let keyLength = 16...64

    public func claim(_ key: String, by actor: ActingUser) async throws -> Claim {
        guard Self.keyLength.contains(key.count), key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw StoreError.invalid(field: "_submission", message: "the form's submission key is not valid; open the form again")
        }
        do {
            return try await database.transaction { db in
                let sql = try db.sqlDatabase()
                if let row = try await sql.select().columns("user_id", "result_url").from("form_submissions")
                    .where("key", .equal, key).first() {
                    // Another user's key is treated as unknown to this one: never reveal their result.
                    guard try row.decode(column: "user_id", as: UUID.self) == actor.userID else {
                        throw StoreError.invalid(field: "_submission", message: "the form's submission key is not valid; open the form again")
                    }
                    if let url = try row.decodeNil(column: "result_url") ? nil : row.decode(column: "result_url", as: String.self), !url.isEmpty {
                        return .done(resultURL: url)
                    }
                    return .inProgress
                }
                try await sql.insert(into: "form_submissions").columns("key", "user_id", "result_url", "created_at")
                    .values(SQLBind(key), SQLBind(actor.userID), SQLLiteral.null, SQLBind(Date())).run()
                return .claimed
            }
        } catch let error as StoreError {
            throw error
        } catch {
            // Two submissions raced for the same new key: the other one holds it.
            return .inProgress
        }
    }

    /// Records where the written form's result is.
    public func complete(_ key: String, resultURL: String) async throws {
        try await database.transaction { db in
            try await db.sqlDatabase().update("form_submissions").set("result_url", to: resultURL).where("key", .equal, key).run()
        }
    }

    /// Frees a key whose form was refused, so that the corrected form (which keeps its key) can be sent.
    public func release(_ key: String) async throws {
        try await database.transaction { db in
            try await db.sqlDatabase().delete(from: "form_submissions").where("key", .equal, key).where("result_url", .is, SQLLiteral.null).run()
        }
    }
}

extension OssaStore {
    public var submissions: SubmissionRepository { SubmissionRepository(database: database) }
}
