#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/result.h"
#include "db/customer_repository.h"

namespace cdn::edge {

using CustomerPtr = std::shared_ptr<const db::CustomerRecord>;

/**
 * The seed's KV `customer:{public_key}`: customer records cached in memory for a TTL, with
 * unknown keys cached briefly too, so that random keys cannot hammer the database.
 * cached() never blocks; load() reads the database and must run off the I/O threads.
 */
class CustomerDirectory {
public:
    CustomerDirectory(db::CustomerRepository& repository, const core::Clock& clock,
                      std::chrono::seconds ttl, std::chrono::seconds negative_ttl);

    /** A cached answer: a customer, or nullptr for a key known not to exist; nullopt if the
     *  key is not cached or has expired. */
    std::optional<CustomerPtr> cached(std::string_view public_key) const;

    /** Reads the database and caches the answer (nullptr for an unknown key). */
    core::Result<CustomerPtr> load(std::string_view public_key);

    /** Drops the cached answer so the next request reads the database. */
    void invalidate(std::string_view public_key);

private:
    struct Entry {
        CustomerPtr customer;
        std::chrono::steady_clock::time_point expires_at;
    };

    db::CustomerRepository& repository_;
    const core::Clock& clock_;
    std::chrono::seconds ttl_;
    std::chrono::seconds negative_ttl_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

} // namespace cdn::edge
