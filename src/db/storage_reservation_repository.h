#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/**
 * One row of `storage_reservations`: a write (upload or delete) of one original in progress on
 * some API node. While it lives it holds its path, so that one node at a time writes a path,
 * and its bytes, which the storage quota counts as if already stored. Finished or cancelled by
 * its holder; a node that dies mid-write leaves it to expire.
 */
struct StorageReservation {
    std::string customer_id;
    std::string path;
    /** Random: only the holder finishes or cancels it, even after it expired and was taken. */
    std::string id;
    /** The size of the version being written; 0 for a delete. */
    std::int64_t bytes = 0;
    /** Unix seconds: from then on it holds nothing. */
    std::int64_t expires_at = 0;
};

/**
 * Storage reservations. Works on a Database or on a transaction handle; `try_hold` and
 * `held_bytes_except` belong in one transaction with the quota decision, which the database
 * then makes for every node at once (SQLite: one writer; PostgreSQL: SERIALIZABLE).
 */
class StorageReservationRepository {
public:
    explicit StorageReservationRepository(Database& db) : db_(db) {}

    /** Inserts `reservation` unless a live one holds its path (expired ones are deleted
     *  first); false when the path is held. */
    core::Result<bool> try_hold(const StorageReservation& reservation, std::int64_t now);

    /**
     * The most the customer's storage can hold at `now`, leaving `path` out: for every other
     * path the larger of its original's bytes and a live reservation's, since a write in
     * progress leaves one version or the other in the store, never both.
     */
    core::Result<std::int64_t> held_bytes_except(std::string_view customer_id,
                                                 std::string_view path, std::int64_t now);

    /** Deletes the reservation if `id` still holds it (finished or cancelled); false when it
     *  is gone (it expired and was deleted or taken). */
    core::Result<bool> release(const StorageReservation& reservation);

private:
    Database& db_;
};

} // namespace cdn::db
