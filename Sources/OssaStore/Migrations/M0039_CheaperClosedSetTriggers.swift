import FluentKit
import SQLKit

/// SQLite: the closed-set triggers (M0022 and the migrations after it) test `NEW.c <> 'a' AND NEW.c <> 'b' …` instead
/// of `NEW.c NOT IN ('a', 'b', …)`, which means the same for a non-NULL value and constant strings. SQLite builds an
/// ephemeral table for an IN list each time a trigger program runs, that is for every row written: on 10,000
/// patients and 10,000 episodes inserted in one transaction (multi-row statements, as an import writes them) the
/// triggers cost as much as the tables and their indexes (0.18 s → 0.13 s with the rewritten ones). PostgreSQL's
/// CHECK constraints are unchanged.
///
/// Every trigger named `ck_…` whose condition has exactly M0022's form is rewritten, name, event and message kept;
/// any other is left as it is. `revert` writes the IN form back.
struct M0039_CheaperClosedSetTriggers: NumberedMigration {
    /// The parts of a closed-set trigger: `… WHEN NEW.<column> IS NOT NULL AND NEW.<column> <test> BEGIN …`.
    struct Trigger: Equatable {
        var head: String
        var column: String
        var values: [String]
        var tail: String

        /// Reads M0022's form (`NOT IN (…)`) or this migration's (`<> … AND <> …`).
        init?(_ sql: String) {
            guard let when = sql.range(of: " WHEN NEW."), let begin = sql.range(of: " BEGIN ", range: when.upperBound..<sql.endIndex) else { return nil }
            let condition = sql[when.upperBound..<begin.lowerBound]
            guard let notNull = condition.range(of: " IS NOT NULL AND ") else { return nil }
            let column = String(condition[..<notNull.lowerBound])
            guard !column.isEmpty, column.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            let test = condition[notNull.upperBound...]
            let prefix = "NEW.\(column) NOT IN ("
            var literals: [Substring]
            if test.hasPrefix(prefix), test.hasSuffix(")") {
                literals = test.dropFirst(prefix.count).dropLast().split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.drop { $0 == " " } }
            } else {
                literals = test.components(separatedBy: " AND ").map { part -> Substring in
                    part.hasPrefix("NEW.\(column) <> ") ? Substring(part.dropFirst("NEW.\(column) <> ".count)) : ""
                }
            }
            // Constant strings without quotes or commas inside, as every closed set's values are.
            guard !literals.isEmpty, literals.allSatisfy({ $0.count >= 2 && $0.first == "'" && $0.last == "'" && !$0.dropFirst().dropLast().contains { $0 == "'" || $0 == "," } }) else {
                return nil
            }
            self.column = column
            values = literals.map { String($0.dropFirst().dropLast()) }
            head = String(sql[..<when.lowerBound])
            tail = String(sql[begin.lowerBound...])
        }

        var inForm: String {
            "\(head) WHEN NEW.\(column) IS NOT NULL AND NEW.\(column) NOT IN (\(values.map { "'\($0)'" }.joined(separator: ", ")))\(tail)"
        }

        var chainForm: String {
            "\(head) WHEN NEW.\(column) IS NOT NULL AND " + values.map { "NEW.\(column) <> '\($0)'" }.joined(separator: " AND ") + tail
        }
    }

    func prepare(on database: any Database) async throws {
        try await rewrite(database) { $0.chainForm }
    }

    func revert(on database: any Database) async throws {
        try await rewrite(database) { $0.inForm }
    }

    private func rewrite(_ database: any Database, _ form: (Trigger) -> String) async throws {
        let sql = try database.sqlDatabase()
        guard sql.dialect.name == "sqlite" else { return }
        let rows = try await sql.raw("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ck\\_%' ESCAPE '\\' ORDER BY name").all()
        for row in rows {
            let name = try row.decode(column: "name", as: String.self), text = try row.decode(column: "sql", as: String.self)
            guard let trigger = Trigger(text) else { continue }
            // Names and values are the migrations' own constants, read back from the schema (never input).
            try await sql.raw("DROP TRIGGER \(ident: name)").run()
            try await sql.raw(SQLQueryString(form(trigger))).run()
        }
    }
}
