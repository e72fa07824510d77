#include "fixtures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "transform/vips_runtime.h"

namespace cdn::test {
namespace {

const std::string& demo_image(const std::string& name) {
    static const auto images = [] {
        (void)transform::init_vips("tests");
        return transform::demo_images();
    }();
    for (const auto& [path, bytes] : images) {
        if (path == name) {
            return bytes;
        }
    }
    static const std::string none;
    return none;
}

} // namespace

const std::string& sample_jpeg() { return demo_image("photos/landscape.jpg"); }
const std::string& sample_png() { return demo_image("brand/logo.png"); }

Account create_account(const std::string& data_dir, const std::string& email,
                       const std::string& plan) {
    const auto result =
        run_imagecdn({"customer", "create", "--data-dir", data_dir, "--email", email, "--plan", plan});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    Account account{json_string(result.out, "customer_id"), json_string(result.out, "public_key"),
                    json_string(result.out, "api_key")};
    EXPECT_FALSE(account.public_key.empty() || account.api_key.empty()) << result.out;
    return account;
}

std::string create_customer(const std::string& data_dir, const std::string& email,
                            const std::string& plan) {
    return create_account(data_dir, email, plan).public_key;
}

void put_original(const std::string& data_dir, const std::string& public_key,
                  const std::string& path, const std::string& bytes) {
    const auto file = std::filesystem::path(data_dir) / "originals" / public_key / path;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << bytes;
}

Account create_account_with_images(const std::string& data_dir, const std::string& email,
                                   const std::string& plan) {
    auto account = create_account(data_dir, email, plan);
    put_original(data_dir, account.public_key, "photo.jpg", sample_jpeg());
    put_original(data_dir, account.public_key, "logo.png", sample_png());
    return account;
}

std::string sign_with_cli(const std::string& url, const std::string& secret) {
    const auto result = run_imagecdn({"sign-url", url, "--secret", secret});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    auto out = result.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
        out.pop_back();
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

RawResponse api_call(int port, std::string_view method, const std::string& target,
                     const std::string& api_key, const std::string& body,
                     std::map<std::string, std::string> headers) {
    headers.emplace("X-API-Key", api_key);
    if (!body.empty()) {
        headers.emplace("Content-Type", "application/json");
    }
    auto res = http_request(port, method, target, headers, body);
    EXPECT_TRUE(res) << method << " " << target;
    return res.value_or(RawResponse{});
}

std::string error_code(const RawResponse& res) { return json_string(res.body, "code"); }

std::string error_field(const RawResponse& res) { return json_string(res.body, "field"); }

std::string json_string(const std::string& json, const std::string& name) {
    const auto key = "\"" + name + "\":\"";
    const auto at = json.find(key);
    if (at == std::string::npos) {
        return {};
    }
    const auto start = at + key.size();
    return json.substr(start, json.find('"', start) - start);
}

} // namespace cdn::test
