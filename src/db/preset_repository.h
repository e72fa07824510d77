#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** One row of `presets`: a named set of transform options owned by one customer. */
struct PresetRecord {
    std::string name;
    /** The preset's options as the caller serialised them; stored and returned verbatim. */
    std::string options;
    /** Unix seconds. */
    std::int64_t updated_at = 0;
};

/**
 * A customer's named presets. Works on a Database or on a transaction handle.
 *
 * Names and options are stored as given: validating them (name syntax, parseable options,
 * limits on their number and size) is the caller's job. Every call is scoped to one customer,
 * whose presets are invisible to every other customer.
 */
class PresetRepository {
public:
    explicit PresetRepository(Database& db) : db_(db) {}

    /** The customer's presets in byte order of name; empty for an unknown customer. */
    core::Result<std::vector<PresetRecord>> list(std::string_view customer_id);

    core::Result<std::optional<PresetRecord>> find(std::string_view customer_id,
                                                   std::string_view name);

    /**
     * Creates the preset, or replaces the options and updated_at of the customer's preset with
     * the same name. The customer must exist: otherwise its foreign key rejects the write.
     */
    core::Result<void> put(std::string_view customer_id, const PresetRecord& preset);

    /** Deletes the customer's preset `name`; false when it had none of that name. */
    core::Result<bool> remove(std::string_view customer_id, std::string_view name);

private:
    Database& db_;
};

} // namespace cdn::db
