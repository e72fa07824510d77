#pragma once

#include <filesystem>

#include "storage/blob_store.h"

namespace cdn::storage {

/**
 * Originals as files under a root directory (the embedded default): `{root}/{key}`.
 *
 * - A put writes `.tmp-<random>` beside the target, fsyncs it and renames it over the target,
 *   so readers see the old or the new file, never a partial one. Keys with a segment starting
 *   with `.tmp-` are refused (invalid_path) and such files are never listed.
 * - Every path is resolved folder by folder with O_NOFOLLOW from the root: a symlink planted in
 *   the tree is never followed, so no key reaches a file outside the root.
 * - The ETag is the XXH3-128 of the bytes, computed on put, get and head (head reads the file);
 *   list() leaves it empty rather than read every object.
 * - Folders emptied by remove() are removed, up to the root.
 */
class LocalBlobStore final : public BlobStore {
public:
    /** Creates `root` if needed. Errors: unavailable when it cannot be created or used. */
    static core::Result<BlobStorePtr> create(std::filesystem::path root);

    core::Result<Object> get(std::string_view key) override;
    core::Result<ObjectInfo> head(std::string_view key) override;
    core::Result<ObjectInfo> put(std::string_view key, std::string_view bytes) override;
    core::Result<void> remove(std::string_view key) override;
    core::Result<ListPage> list(std::string_view prefix, std::string_view after,
                                std::size_t limit) override;
    core::Result<void> check() override;

private:
    explicit LocalBlobStore(std::filesystem::path root) : root_(std::move(root)) {}

    std::filesystem::path root_;
};

} // namespace cdn::storage
