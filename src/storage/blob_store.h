#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "storage/bytes.h"

namespace cdn::storage {

/** What a store knows about one object, without its bytes. */
struct ObjectInfo {
    /** `{public_key}/{path}`. */
    std::string key;
    /** Bytes. */
    std::uint64_t size = 0;
    /** Unix seconds: when the object was stored. */
    std::int64_t last_modified = 0;
    /** Strong validator: a hash of the content (unquoted), equal for equal bytes. */
    std::string etag;
    /** The Content-Type the object was stored with; empty where the store keeps none (the
     *  local store) or in list(). */
    std::string content_type = {};
};

/** An object with its bytes. */
struct Object {
    ObjectInfo info;
    Bytes bytes;
};

/** One page of list(). */
struct ListPage {
    std::vector<ObjectInfo> items;
    /** Pass as `after` for the next page; nullopt on the last page. */
    std::optional<std::string> next_after;
};

/** Where and how a client uploads one object straight to the store (BlobStore::presign_put). */
struct PresignedPut {
    std::string url;
    /** Headers the client must send with its PUT besides `Content-Length` (which must be the
     *  declared size): `Content-Type`. */
    std::vector<std::pair<std::string, std::string>> headers;
};

/**
 * Where originals live, keyed `{public_key}/{path}` (keys pass storage::validate_key). Two
 * implementations: the local filesystem and S3-compatible stores. Methods block (file or network
 * I/O): call them off the I/O threads. They never throw; failures are values.
 */
class BlobStore {
public:
    virtual ~BlobStore() = default;

    /** The object with its bytes. Errors: not_found; invalid_path; origin_unavailable on I/O
     *  failure. */
    virtual core::Result<Object> get(std::string_view key) = 0;

    /** The object's metadata without its bytes. Errors as get(). */
    virtual core::Result<ObjectInfo> head(std::string_view key) = 0;

    /** Creates or replaces the object atomically: readers see the old object or the new one,
     *  never a part, and a failed put leaves the old one. Errors: invalid_path; conflict when
     *  the key crosses an existing object (`a` exists, `a/b` is put) or names a folder;
     *  origin_unavailable on I/O failure. */
    virtual core::Result<ObjectInfo> put(std::string_view key, std::string_view bytes) = 0;

    /** Moves the object at `from` to `to`, replacing `to` atomically as put() does; `from` is
     *  gone afterwards. Errors as put(), and not_found when `from` does not exist. This one
     *  passes the bytes through (for stores that have nothing better); the local store
     *  renames, S3 copies inside the store. */
    virtual core::Result<ObjectInfo> move(std::string_view from, std::string_view to) {
        CDN_TRY(object, get(from));
        CDN_TRY(moved, put(to, object.bytes));
        CDN_TRY_VOID(remove(from));
        return moved;
    }

    /** A URL on the store itself that takes one PUT of `size` bytes of `content_type` at `key`
     *  for `expires_seconds`, signed so that other bytes counts or types are refused; nullopt
     *  for a store clients cannot reach directly (the local store: its uploads go through the
     *  API), and for an invalid key. */
    virtual std::optional<PresignedPut> presign_put(std::string_view /*key*/,
                                                    std::string_view /*content_type*/,
                                                    std::uint64_t /*size*/,
                                                    std::int64_t /*expires_seconds*/) const {
        return std::nullopt;
    }

    /** Deletes the object. Errors: not_found; invalid_path; origin_unavailable. */
    virtual core::Result<void> remove(std::string_view key) = 0;

    /** Objects whose keys start with `prefix` and are greater than `after` (byte order), in key
     *  order, at most `limit`; `next_after` is set when more follow. Errors: invalid_path for a
     *  prefix that could leave the store (e.g. `..`); origin_unavailable. */
    virtual core::Result<ListPage> list(std::string_view prefix, std::string_view after,
                                        std::size_t limit) = 0;

    /** Readiness: the store can be reached and written. Errors: origin_unavailable. */
    virtual core::Result<void> check() = 0;

    /** The store's own /metrics families, if it has any. */
    virtual void write_metrics(core::MetricWriter& /*writer*/) const {}
};

using BlobStorePtr = std::unique_ptr<BlobStore>;

} // namespace cdn::storage
