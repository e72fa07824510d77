#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "storage/blob_store.h"

namespace cdn::storage {

/** Where the cluster's shared variant tier keeps its objects, beside the originals: no original
 *  key can start with it (public keys start with `pk_`). */
inline constexpr std::string_view SHARED_VARIANTS_PREFIX = "_variants/";

/**
 * `_variants/{public_key}/{path}/{version}.{variant}`: one variant of one version of an original.
 * `version` is the original's ETag as the store reports it, so a replaced original (new bytes,
 * new ETag) is never answered with a variant of the old one, even if a purge was lost: the old
 * objects are simply never asked for again. `variant` names the options (the cache key's hash).
 * nullopt when the version is empty or not a plain token (a store without ETags): such an
 * original gets no shared variants.
 */
std::optional<std::string> shared_variant_key(std::string_view public_key, std::string_view path,
                                              std::string_view version,
                                              std::string_view variant);

/** `_variants/{public_key}/{path}/`: every shared variant of one original, every version (and,
 *  as for the cache key, of the paths below it, `a.png/b.png`: a few extra misses at worst). */
std::string shared_variant_path_prefix(std::string_view public_key, std::string_view path);

/** `_variants/{public_key}/{path_prefix}`: the shared variants of every original whose path
 *  starts with `path_prefix` (empty: every original of the customer). */
std::string shared_variant_tree_prefix(std::string_view public_key,
                                       std::string_view path_prefix);

/** Deletes every object whose key starts with `prefix`, a page at a time; how many it deleted.
 *  Objects deleted meanwhile by someone else are not errors. Blocks. */
core::Result<std::size_t> remove_all_under(BlobStore& store, std::string_view prefix);

} // namespace cdn::storage
