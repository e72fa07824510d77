#include "db/storage_reservation_repository.h"

#include "db/values.h"

namespace cdn::db {
namespace {

// Per path, the larger of the original and a live reservation; then summed over the paths.
// CAST because PostgreSQL widens SUM(BIGINT) to NUMERIC.
constexpr std::string_view HELD_BYTES_EXCEPT =
    "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM ("
    "SELECT MAX(bytes) AS bytes FROM ("
    "SELECT path, bytes FROM originals WHERE customer_id = $1 AND path <> $2 "
    "UNION ALL "
    "SELECT path, bytes FROM storage_reservations "
    "WHERE customer_id = $1 AND path <> $2 AND expires_at > $3"
    ") AS versions GROUP BY path) AS per_path";

} // namespace

core::Result<bool> StorageReservationRepository::try_hold(const StorageReservation& r,
                                                          std::int64_t now) {
    CDN_TRY_VOID(db_.execute("DELETE FROM storage_reservations WHERE customer_id = $1 AND "
                             "path = $2 AND expires_at <= $3",
                             {r.customer_id, r.path, now}));
    CDN_TRY(inserted,
            db_.execute("INSERT INTO storage_reservations (customer_id, path, id, bytes, "
                        "expires_at) VALUES ($1, $2, $3, $4, $5) "
                        "ON CONFLICT (customer_id, path) DO NOTHING",
                        {r.customer_id, r.path, r.id, r.bytes, r.expires_at}));
    return inserted == 1;
}

core::Result<std::int64_t> StorageReservationRepository::held_bytes_except(
    std::string_view customer_id, std::string_view path, std::int64_t now) {
    CDN_TRY(rows, db_.query(HELD_BYTES_EXCEPT, {text_value(customer_id), text_value(path), now}));
    return rows.empty() ? 0 : rows.front().integer(0).value_or(0);
}

core::Result<bool> StorageReservationRepository::release(const StorageReservation& r) {
    CDN_TRY(deleted, db_.execute("DELETE FROM storage_reservations WHERE customer_id = $1 AND "
                                 "path = $2 AND id = $3",
                                 {r.customer_id, r.path, r.id}));
    return deleted == 1;
}

} // namespace cdn::db
