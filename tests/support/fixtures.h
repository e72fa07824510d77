#pragma once

#include <string>

#include "server_process.h"

namespace cdn::test {

/** Real images made with libvips, cached per process. */
const std::string& sample_jpeg();
const std::string& sample_png();

/** `imagecdn customer create` in `data_dir`; returns the public key (fails the test if not). */
std::string create_customer(const std::string& data_dir, const std::string& email,
                            const std::string& plan = "free");

/** Writes an original straight into the local store's layout: {data_dir}/originals/{pk}/{path}. */
void put_original(const std::string& data_dir, const std::string& public_key,
                  const std::string& path, const std::string& bytes);

std::string read_file(const std::string& path);

/** The value of the first JSON string member `name` in `json` (enough for flat answers);
 *  empty when absent. */
std::string json_string(const std::string& json, const std::string& name);

} // namespace cdn::test
