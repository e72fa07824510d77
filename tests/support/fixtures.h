#pragma once

#include <map>
#include <string>
#include <string_view>

#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {

/** Real images made with libvips, cached per process. */
const std::string& sample_jpeg();
const std::string& sample_png();

/** A customer as `imagecdn customer create` prints it: ids and the first API key. */
struct Account {
    std::string customer_id;
    std::string public_key;
    std::string api_key;
};

/** `imagecdn customer create` in `data_dir` (fails the test if it does not succeed). */
Account create_account(const std::string& data_dir, const std::string& email,
                       const std::string& plan = "free");

/** create_account's public key alone. */
std::string create_customer(const std::string& data_dir, const std::string& email,
                            const std::string& plan = "free");

/** create_account, with two originals: photo.jpg (sample_jpeg) and logo.png (sample_png). */
Account create_account_with_images(const std::string& data_dir, const std::string& email,
                                   const std::string& plan = "free");

/** `imagecdn sign-url URL --secret SECRET`'s output, without the line end (fails the test if
 *  it does not succeed). */
std::string sign_with_cli(const std::string& url, const std::string& secret);

/** Writes an original straight into the local store's layout: {data_dir}/originals/{pk}/{path}. */
void put_original(const std::string& data_dir, const std::string& public_key,
                  const std::string& path, const std::string& bytes);

std::string read_file(const std::string& path);

/** The value of the first JSON string member `name` in `json` (enough for flat answers);
 *  empty when absent. */
std::string json_string(const std::string& json, const std::string& name);

/** A management-API call as the owner of `api_key` (X-API-Key), with `Content-Type:
 *  application/json` when there is a body and no Content-Type in `headers`. Fails the test
 *  (and answers status 0) when there is no answer. */
RawResponse api_call(int port, std::string_view method, const std::string& target,
                     const std::string& api_key, const std::string& body = {},
                     std::map<std::string, std::string> headers = {});

/** `error.code` and `error.field` of an error answer. */
std::string error_code(const RawResponse& res);
std::string error_field(const RawResponse& res);

} // namespace cdn::test
