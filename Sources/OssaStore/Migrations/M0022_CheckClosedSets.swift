import FluentKit
import SQLKit

/// Closed sets are enforced by the database, not only by the Swift enums: a row written by another tool, an old
/// build or a hand-made fix cannot hold a value that Ossa would later misread.
///
/// PostgreSQL: one `CHECK (column IN (…))` constraint per column. SQLite cannot add a constraint to an existing
/// table, so the same rule is a pair of triggers per column (BEFORE INSERT, BEFORE UPDATE OF the column) that
/// abort the statement. NULL passes where the column is optional (as a CHECK would). Rows already stored outside
/// a set make the migration fail, naming the table, column and count, before anything is changed.
///
/// The value lists are written out here, not taken from the enums: this migration must mean the same thing
/// forever. A new value in a set is a new migration that replaces that column's constraint.
struct M0022_CheckClosedSets: NumberedMigration {
    struct Rule {
        var table: String
        var column: String
        var values: [String]
    }

    static let rules: [Rule] = [
        Rule(table: "patients", column: "sex", values: ["female", "male", "other", "unknown"]),
        Rule(table: "episodes", column: "joint", values: ["knee", "hip", "ankle", "shoulder"]),
        Rule(table: "episodes", column: "side", values: ["left", "right"]),
        Rule(table: "episodes", column: "status", values: ["open", "closed"]),
        Rule(table: "episodes", column: "diagnosis_type", values: ["osteoarthritis", "bone-marrow-lesion", "insufficiency-fracture",
                                                                   "bone-bruise", "avascular-necrosis", "bone-marrow-edema-syndrome"]),
        Rule(table: "screening_decisions", column: "category", values: ["recommended", "consider", "not-now", "refer"]),
        Rule(table: "screening_decisions", column: "override_category", values: ["recommended", "consider", "not-now", "refer"]),
        Rule(table: "imaging_studies", column: "modality", values: ["mri", "xray"]),
        Rule(table: "imaging_studies", column: "timing", values: ["baseline", "follow-up"]),
        Rule(table: "procedures", column: "kind", values: ["io", "intra-articular"]),
        Rule(table: "injections", column: "product", values: ["prp", "bmc"]),
        Rule(table: "follow_up_timepoints", column: "status", values: ["pending", "completed", "missed", "cancelled"]),
        Rule(table: "questionnaire_responses", column: "source", values: ["patient-link", "staff", "import"]),
        Rule(table: "invitations", column: "channel", values: ["email", "sms"]),
        Rule(table: "outbox_messages", column: "channel", values: ["email", "sms"]),
        Rule(table: "outbox_messages", column: "status", values: ["queued", "sending", "sent", "failed", "cancelled"]),
        Rule(table: "outcome_events", column: "kind", values: ["joint-replacement", "other-surgery", "repeat-io", "adverse-event",
                                                               "death", "withdrawal", "lost-to-follow-up"]),
        Rule(table: "outcome_events", column: "replacement_kind", values: ["TKA", "UKA", "THA", "other"]),
        Rule(table: "outcome_events", column: "severity", values: ["mild", "moderate", "severe", "life-threatening", "fatal"]),
    ]

    struct StoredValuesOutsideSet: Error, CustomStringConvertible {
        let rule: Rule
        let count: Int
        var description: String {
            "\(rule.table).\(rule.column): \(count) stored row(s) hold a value outside \(rule.values.joined(separator: ", ")); correct them, then migrate again"
        }
    }

    func prepare(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        for rule in Self.rules {
            let list = SQLGroupExpression(rule.values.map { SQLLiteral.string($0) })
            let outside = try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from(rule.table)
                .where(SQLIdentifier(rule.column), .isNot, SQLLiteral.null)
                .where(SQLIdentifier(rule.column), .notIn, list)
                .first()?.decode(column: "n", as: Int.self) ?? 0
            guard outside == 0 else { throw StoredValuesOutsideSet(rule: rule, count: outside) }
            for statement in Self.statements(rule, dialect: sql.dialect.name) {
                try await sql.raw(SQLQueryString(statement)).run()
            }
        }
    }

    func revert(on database: any Database) async throws {
        let sql = try database.sqlDatabase()
        for rule in Self.rules {
            let name = Self.name(rule)
            if sql.dialect.name == "postgresql" {
                try await sql.raw("ALTER TABLE \(ident: rule.table) DROP CONSTRAINT IF EXISTS \(ident: name)").run()
            } else {
                try await sql.raw("DROP TRIGGER IF EXISTS \(ident: name + "_insert")").run()
                try await sql.raw("DROP TRIGGER IF EXISTS \(ident: name + "_update")").run()
            }
        }
    }

    static func name(_ rule: Rule) -> String { "ck_\(rule.table)_\(rule.column)" }

    /// The DDL for one rule. Table, column and values are the constants above (never input), so they are spliced in.
    static func statements(_ rule: Rule, dialect: String) -> [String] {
        let values = rule.values.map { "'\($0)'" }.joined(separator: ", ")
        let name = name(rule)
        if dialect == "postgresql" {
            return ["ALTER TABLE \(rule.table) ADD CONSTRAINT \(name) CHECK (\(rule.column) IN (\(values)))"]
        }
        let condition = "NEW.\(rule.column) IS NOT NULL AND NEW.\(rule.column) NOT IN (\(values))"
        let message = "\(rule.table).\(rule.column) is outside its closed set"
        return [
            "CREATE TRIGGER \(name)_insert BEFORE INSERT ON \(rule.table) WHEN \(condition) BEGIN SELECT RAISE(ABORT, '\(message)'); END",
            "CREATE TRIGGER \(name)_update BEFORE UPDATE OF \(rule.column) ON \(rule.table) WHEN \(condition) BEGIN SELECT RAISE(ABORT, '\(message)'); END",
        ]
    }
}
