#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cdn::storage {

struct ObjectInfo {
    /** `{public_key}/{path}`. */
    std::string key;
    std::uint64_t size = 0;
    /** Unix seconds: when the object was stored. */
    std::int64_t last_modified = 0;
};

struct Object {
    ObjectInfo info;
    std::string bytes;
};

struct ListPage {
    std::vector<ObjectInfo> items;
    /** Pass as `after` for the next page; nullopt on the last page. */
    std::optional<std::string> next_after;
};

/** Where originals live. Two implementations: the local filesystem and S3-compatible stores. */
class BlobStore {
public:
    virtual ~BlobStore() = default;

    /** The object's bytes. Errors: not_found; origin_unavailable on I/O failure. */
    virtual core::Result<Object> get(std::string_view key) = 0;

    /** The object's metadata without its bytes. Errors as get(). */
    virtual core::Result<ObjectInfo> head(std::string_view key) = 0;

    /** Stores atomically: readers see the old object or the new one, never a part. */
    virtual core::Result<ObjectInfo> put(std::string_view key, std::string_view bytes) = 0;

    /** Deletes. Errors: not_found. */
    virtual core::Result<void> remove(std::string_view key) = 0;

    /** Keys starting with `prefix` and greater than `after`, in key order, at most `limit`. */
    virtual core::Result<ListPage> list(std::string_view prefix, std::string_view after,
                                        std::size_t limit) = 0;

    /** Readiness: the store can be reached. */
    virtual core::Result<void> check() = 0;
};

using BlobStorePtr = std::unique_ptr<BlobStore>;

} // namespace cdn::storage
