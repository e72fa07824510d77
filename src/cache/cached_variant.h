#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/unique_fd.h"

namespace cdn::cache {

/** A variant's body left in its disk-tier file, to be sent from there with sendfile(2). The open
 *  file keeps the bytes that were checked, even if the entry is replaced or evicted meanwhile. */
struct BodyFile {
    core::UniqueFd fd;
    /** Where the body starts in the file. */
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
};

/** One cached answer: a variant's bytes and what its response headers need. */
struct CachedVariant {
    std::string key;
    std::string content_type;
    /** Strong ETag in its quoted form, e.g. "\"3f2a...\"". */
    std::string etag;
    /** Unix seconds: when the original was stored (Last-Modified). */
    std::int64_t last_modified = 0;
    /** Unix seconds: when this variant was made. */
    std::int64_t stored_at = 0;
    /** Unix seconds from which the variant is stale (made under a customer's cache_ttl_seconds):
     *  lookups miss it, so it is made again from its original, but while the store is down it
     *  may still be served (TieredCache::get_stale). 0: fresh for as long as it is kept. */
    std::int64_t fresh_until = 0;
    /** 200, or 404 for a cached "no such original". */
    unsigned status = 200;
    std::string body;
    /** Response header lines ("Name: value\r\n") built once by whoever made the variant, so a
     *  hit formats nothing; empty when unknown (e.g. read back from disk). Not persisted. */
    std::string response_headers;
    /** Set (and `body` empty) when the body is sent from the disk tier's file
     *  (TieredCache::get_from_disk_to_send); never in the memory tier. */
    std::shared_ptr<const BodyFile> body_file;

    /** The body's length, wherever it is. */
    std::uint64_t body_size() const { return body_file ? body_file->size : body.size(); }

    /** Bytes this entry is charged against the memory tier's capacity: the strings plus a fixed
     *  estimate of the struct, the LRU node, the index slot and the shared_ptr block, so that
     *  many tiny entries (cached 404s) cannot exceed the bound. */
    std::size_t charge() const {
        return body.size() + key.size() + content_type.size() + etag.size() +
               response_headers.size() + FIXED_OVERHEAD;
    }

    bool fresh_at(std::int64_t unix_now) const { return fresh_until == 0 || unix_now < fresh_until; }

    // Measured by bench/scale/scale.sh (docs/perf.md, issue 20 item 5): with jemalloc, an entry
    // of the memory tier takes 430-450 bytes beyond its strings' sizes (struct and shared_ptr
    // block ~224, LRU node, hash and ordered index ~160, allocation rounding of the strings).
    static constexpr std::size_t FIXED_OVERHEAD = 448;
};

using VariantPtr = std::shared_ptr<const CachedVariant>;

/** Builds CachedVariant::response_headers (the edge's variant_header_block), so that a variant
 *  read back from disk is answered as cheaply as one made here. */
using HeaderBlockBuilder = std::string (*)(const CachedVariant&);

} // namespace cdn::cache
