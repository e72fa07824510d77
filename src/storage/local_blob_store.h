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
 * - Every path is resolved from the root without following any symlink and without leaving the
 *   root: in one openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) call where the kernel has it
 *   (Linux 5.6+), else folder by folder with O_NOFOLLOW, closing each folder once its child is
 *   open. Either way a walk holds O(1) descriptors, however deep the key.
 * - A key's path inside the customer's namespace (after the public key) has at most
 *   `max_path_segments` segments: a deeper put is invalid_path; a deeper get, head or remove is
 *   not_found (no such object can have been stored), and list() does not descend that deep.
 * - The ETag is the XXH3-128 of the bytes, computed on put, get and head (head reads the file);
 *   list() leaves it empty rather than read every object.
 * - Folders emptied by remove() (and move()) are removed, up to the root.
 * - move() is one renameat() (the staged file becomes the object, as a put's temporary does).
 */
class LocalBlobStore final : public BlobStore {
public:
    struct Options {
        /** [storage] max_path_segments: segments of a key after its first (the public key). */
        std::size_t max_path_segments = 32;
        /** False forces the folder-by-folder walk even where openat2 exists (tests). */
        bool use_openat2 = true;
        /** get() refuses a larger object (source_too_large) before reading it; 0: no limit.
         *  [limits] max_original_bytes, as the S3 store's. */
        std::uint64_t max_object_bytes = 0;
    };

    /** Creates `root` if needed. Errors: unavailable when it cannot be created or used. */
    static core::Result<BlobStorePtr> create(std::filesystem::path root);
    static core::Result<BlobStorePtr> create(std::filesystem::path root, Options options);

    core::Result<Object> get(std::string_view key) override;
    core::Result<ObjectInfo> head(std::string_view key) override;
    core::Result<ObjectInfo> put(std::string_view key, std::string_view bytes) override;
    core::Result<ObjectInfo> move(std::string_view from, std::string_view to) override;
    core::Result<void> remove(std::string_view key) override;
    core::Result<ListPage> list(std::string_view prefix, std::string_view after,
                                std::size_t limit) override;
    core::Result<void> check() override;

private:
    LocalBlobStore(std::filesystem::path root, Options options)
        : root_(std::move(root)), options_(options) {}

    std::filesystem::path root_;
    Options options_;
};

} // namespace cdn::storage
