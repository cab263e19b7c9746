import FluentKit
import SQLKit

/// The audit log's anchor: one row (`id` = 1) holding the sequence number and hash of the newest entry, updated in
/// the same transaction as every append (`AuditLog.append`).
///
/// The hash chain alone cannot show that entries were removed from the end: the shortened chain is still a valid
/// chain. With the anchor, `AuditVerifier` reports a log whose last entry is not the anchored one. Triggers refuse
/// deleting the anchor and any update that does not move it forward, so only an attacker who also
/// drops those triggers can move it back; an anchor copied outside the database (`AuditAnchor.write(to:)`, checked
/// by `AuditVerifier.verify(_:externalAnchor:)`) covers that case too.
struct M0016_CreateAuditAnchor: NumberedMigration {
    func prepare(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        try await sql.create(table: "audit_anchor")
            .column("id", type: .int, .primaryKey(autoIncrement: false))
            .column("seq", type: .bigint, .notNull)
            .column("hash", type: .text, .notNull)
            .run()
        // Anchor whatever the log holds now (a database migrated from M0014 may already have entries).
        let last = try await sql.select().column("seq").column("hash").from("audit_log").orderBy("seq", .descending).limit(1).first()
        let seq = try last?.decode(column: "seq", as: Int64.self) ?? 0
        let hash = try last?.decode(column: "hash", as: String.self) ?? AuditEntry.genesisHash
        try await sql.insert(into: "audit_anchor").columns("id", "seq", "hash")
            .values(SQLBind(1), SQLBind(seq), SQLBind(hash)).run()
        for statement in Self.triggers(dialect: sql.dialect.name) {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        try await sql.drop(table: "audit_anchor").run()
        if sql.dialect.name == "postgresql" {
            try await sql.raw("DROP FUNCTION IF EXISTS ossa_audit_anchor_guard()").run()
        }
    }

    static func triggers(dialect: String) -> [String] {
        if dialect == "postgresql" {
            return [
                """
                CREATE FUNCTION ossa_audit_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq > OLD.seq THEN RETURN NEW; END IF;
                  RAISE EXCEPTION 'audit_anchor only moves forward';
                END $$
                """,
                """
                CREATE TRIGGER audit_anchor_guard BEFORE UPDATE OR DELETE ON audit_anchor
                FOR EACH ROW EXECUTE FUNCTION ossa_audit_anchor_guard()
                """,
                """
                CREATE TRIGGER audit_anchor_no_truncate BEFORE TRUNCATE ON audit_anchor
                FOR EACH STATEMENT EXECUTE FUNCTION ossa_audit_anchor_guard()
                """,
            ]
        }
        return [
            """
            CREATE TRIGGER audit_anchor_advance BEFORE UPDATE ON audit_anchor
            WHEN NEW.id <> OLD.id OR NEW.seq <= OLD.seq
            BEGIN SELECT RAISE(ABORT, 'audit_anchor only moves forward'); END
            """,
            "CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor BEGIN SELECT RAISE(ABORT, 'audit_anchor is not deleted'); END",
            "CREATE TRIGGER audit_anchor_no_insert BEFORE INSERT ON audit_anchor BEGIN SELECT RAISE(ABORT, 'audit_anchor has one row'); END",
        ]
    }
}
