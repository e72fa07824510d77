#include "db/preset_repository.h"

#include <algorithm>

#include "db/values.h"

namespace cdn::db {
namespace {

// Replaces rather than merges: a preset is written whole. The ON CONFLICT ... excluded form is
// valid in SQLite >= 3.24 and PostgreSQL alike.
constexpr std::string_view UPSERT =
    "INSERT INTO presets (customer_id, name, options, updated_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (customer_id, name) DO UPDATE SET "
    "options = excluded.options, updated_at = excluded.updated_at";

PresetRecord to_preset(const Row& row) {
    PresetRecord preset;
    preset.name = row.text(0).value_or("");
    preset.options = row.text(1).value_or("");
    preset.updated_at = row.integer(2).value_or(0);
    return preset;
}

} // namespace

core::Result<std::vector<PresetRecord>> PresetRepository::list(std::string_view customer_id) {
    CDN_TRY(rows, db_.query("SELECT name, options, updated_at FROM presets WHERE customer_id = $1",
                            {text_value(customer_id)}));
    std::vector<PresetRecord> presets;
    presets.reserve(rows.size());
    for (const auto& row : rows) {
        presets.push_back(to_preset(row));
    }
    // Sorted here rather than by ORDER BY: PostgreSQL orders text by the database's collation,
    // which need not be SQLite's byte order.
    std::sort(presets.begin(), presets.end(),
              [](const PresetRecord& a, const PresetRecord& b) { return a.name < b.name; });
    return presets;
}

core::Result<std::optional<PresetRecord>> PresetRepository::find(std::string_view customer_id,
                                                                 std::string_view name) {
    CDN_TRY(rows, db_.query("SELECT name, options, updated_at FROM presets "
                            "WHERE customer_id = $1 AND name = $2",
                            {text_value(customer_id), text_value(name)}));
    if (rows.empty()) {
        return std::optional<PresetRecord>();
    }
    return std::optional<PresetRecord>(to_preset(rows.front()));
}

core::Result<void> PresetRepository::put(std::string_view customer_id,
                                         const PresetRecord& preset) {
    CDN_TRY_VOID(db_.execute(
        UPSERT, {text_value(customer_id), preset.name, preset.options, preset.updated_at}));
    return {};
}

core::Result<bool> PresetRepository::remove(std::string_view customer_id, std::string_view name) {
    CDN_TRY(removed, db_.execute("DELETE FROM presets WHERE customer_id = $1 AND name = $2",
                                 {text_value(customer_id), text_value(name)}));
    return removed > 0;
}

} // namespace cdn::db
