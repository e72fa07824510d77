#pragma once

#include <filesystem>

#include "storage/blob_store.h"

namespace cdn::storage {

/** Originals as files under a root directory (the embedded default): `{root}/{key}`. */
class LocalBlobStore final : public BlobStore {
public:
    /** Creates `root` if needed. */
    static core::Result<BlobStorePtr> create(const std::filesystem::path& root);

    core::Result<Object> get(std::string_view key) override;
    core::Result<ObjectInfo> head(std::string_view key) override;
    core::Result<ObjectInfo> put(std::string_view key, std::string_view bytes) override;
    core::Result<void> remove(std::string_view key) override;
    core::Result<ListPage> list(std::string_view prefix, std::string_view after,
                                std::size_t limit) override;
    core::Result<void> check() override;

private:
    explicit LocalBlobStore(std::filesystem::path root) : root_(std::move(root)) {}
    core::Result<std::filesystem::path> path_for(std::string_view key) const;

    std::filesystem::path root_;
};

} // namespace cdn::storage
