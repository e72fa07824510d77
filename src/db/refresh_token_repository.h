#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/**
 * One row of `refresh_tokens`. The token itself is never stored, only its SHA-256 hash. Every
 * login starts a family; each refresh marks the presented token used and issues a sibling in
 * the same family, so a used token presented again (a stolen copy) revokes the whole family.
 */
struct RefreshTokenRecord {
    std::string id;
    std::string family_id;
    std::string customer_id;
    /** Lowercase hex SHA-256 of the token. Unique. */
    std::string token_hash;
    /** Unix seconds. */
    std::int64_t created_at = 0;
    /** Unix seconds; the token is refused from then on. */
    std::int64_t expires_at = 0;
    /** Unix seconds; set when the token was exchanged for a new pair. */
    std::optional<std::int64_t> used_at;
    /** Unix seconds; set when its family was revoked (logout, reuse). */
    std::optional<std::int64_t> revoked_at;
};

/** Refresh tokens. Works on a Database or on a transaction handle. */
class RefreshTokenRepository {
public:
    explicit RefreshTokenRepository(Database& db) : db_(db) {}

    /** Errc::Conflict when the id or hash is taken. */
    core::Result<void> insert(const RefreshTokenRecord& token);

    core::Result<std::optional<RefreshTokenRecord>> find_by_hash(std::string_view token_hash);

    /**
     * Marks token `id` used at `now`, only if it is still unused and not revoked.
     * @return true when this call marked it; false when it was already used or revoked (two
     *         refreshes racing with one token: exactly one wins).
     */
    core::Result<bool> mark_used(std::string_view id, std::int64_t now);

    /** Revokes every not yet revoked token of the family. @return how many were revoked. */
    core::Result<std::int64_t> revoke_family(std::string_view family_id, std::int64_t now);

    /** Revokes every not yet revoked token of the customer (e.g. a password change). */
    core::Result<std::int64_t> revoke_customer(std::string_view customer_id, std::int64_t now);

    /** Deletes tokens that expired before `now` (housekeeping). @return how many. */
    core::Result<std::int64_t> delete_expired(std::int64_t now);

private:
    Database& db_;
};

} // namespace cdn::db
