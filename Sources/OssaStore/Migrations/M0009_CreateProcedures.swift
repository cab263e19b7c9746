import FluentKit

struct M0009_CreateProcedures: NumberedMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("procedures")
            .id()
            .field("episode_id", .uuid, .required, .references("episodes", "id", onDelete: .restrict))
            .field("site_id", .uuid, .required, .references("sites", "id", onDelete: .restrict))
            .field("kind", .string, .required)
            .field("procedure_date", .string, .required)
            .field("setting", .string)
            .field("anaesthesia", .string)
            .field("guidance", .string)
            .field("fluoroscopy_seconds", .double)
            .field("dap_mgy_cm2", .double)
            .field("prp_json", .string)
            .field("bmc_json", .string)
            .field("shockwave_json", .string)
            .field("complications", .string)
            .field("discharge_instructions", .string)
            .field("operator_id", .uuid, .references("users", "id", onDelete: .restrict))
            .field("signed_by", .uuid, .references("users", "id", onDelete: .restrict))
            .field("signed_at", .datetime)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
        // Time zero of follow-up is the first IO procedure of an episode.
        try await database.createIndex("ix_procedures_episode_date", on: "procedures", ["episode_id", "procedure_date"])
        try await database.createIndex("ix_procedures_site_date", on: "procedures", ["site_id", "procedure_date"])

        try await database.schema("injections")
            .id()
            .field("procedure_id", .uuid, .required, .references("procedures", "id", onDelete: .cascade))
            .field("ordinal", .int, .required)
            .field("target_kind", .string, .required)
            .field("bone_target", .string)
            .field("subregion", .string)
            .field("product", .string, .required)
            .field("approach", .string)
            .field("needle_gauge", .int)
            .field("volume_ml", .double, .required)
            .unique(on: "procedure_id", "ordinal", name: "uq_injections_procedure_ordinal")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("injections").delete()
        try await database.schema("procedures").delete()
    }
}
