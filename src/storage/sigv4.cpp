#include "storage/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "core/hash.h"
#include "core/strings.h"

namespace cdn::storage::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::array<unsigned char, 32> hmac(std::string_view key, std::string_view message) {
    std::array<unsigned char, 32> out{};
    unsigned size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &size);
    return out;
}

std::string_view as_view(const std::array<unsigned char, 32>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/** Trims the value and collapses runs of spaces into one, as the canonical form asks. */
std::string canonical_value(std::string_view value) {
    std::string out;
    bool space = false;
    for (const char c : value) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += c;
    }
    return out;
}

/** Lowercase name → values joined with ',' in the order given; sorted by name. */
std::map<std::string, std::string> canonical_headers(const Request& request) {
    std::map<std::string, std::string> headers;
    for (const auto& [name, value] : request.headers) {
        auto [it, fresh] = headers.try_emplace(core::to_lower(name), canonical_value(value));
        if (!fresh) {
            it->second += ',' + canonical_value(value);
        }
    }
    return headers;
}

std::string signed_header_names(const std::map<std::string, std::string>& headers) {
    std::string names;
    for (const auto& entry : headers) {
        names += (names.empty() ? "" : ";") + entry.first;
    }
    return names;
}

} // namespace

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    for (const auto& [name, value] : query) {
        encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
    }
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) {
        out += (out.empty() ? "" : "&") + name + '=' + value;
    }
    return out;
}

std::string uri_encode(std::string_view text, bool keep_slash) {
    return core::percent_encode(text, keep_slash);
}

std::string amz_date(std::int64_t unix_seconds) {
    const auto time = static_cast<std::time_t>(unix_seconds);
    std::tm utc{};
    gmtime_r(&time, &utc);
    char text[17];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
    return text;
}

std::string canonical_request(const Request& request) {
    const auto headers = canonical_headers(request);
    std::string out = request.method + '\n';
    out += (request.path.empty() ? "/" : uri_encode(request.path, true)) + '\n';
    out += canonical_query(request.query) + '\n';
    for (const auto& [name, value] : headers) {
        out += name + ':' + value + '\n';
    }
    out += '\n' + signed_header_names(headers) + '\n';
    out += request.payload_hash;
    return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical) {
    std::string out(kAlgorithm);
    out += '\n';
    out += amz_date;
    out += '\n';
    out += scope;
    out += '\n';
    out += core::sha256_hex(canonical);
    return out;
}

std::string credential_scope(const Credentials& credentials, std::string_view amz_date) {
    return std::string(amz_date.substr(0, 8)) + '/' + credentials.region + '/' +
           credentials.service + "/aws4_request";
}

std::array<unsigned char, 32> signing_key(const Credentials& credentials,
                                          std::string_view date) {
    const auto date_key = hmac("AWS4" + credentials.secret_key, date);
    const auto region_key = hmac(as_view(date_key), credentials.region);
    const auto service_key = hmac(as_view(region_key), credentials.service);
    return hmac(as_view(service_key), "aws4_request");
}

std::string signature(const Credentials& credentials, std::string_view amz_date,
                      std::string_view string_to_sign) {
    const auto key = signing_key(credentials, amz_date.substr(0, 8));
    const auto mac = hmac(as_view(key), string_to_sign);
    return core::to_hex(as_view(mac));
}

std::string authorization(const Credentials& credentials, const Request& request,
                          std::string_view amz_date) {
    const std::string scope = credential_scope(credentials, amz_date);
    const std::string to_sign = string_to_sign(amz_date, scope, canonical_request(request));
    return std::string(kAlgorithm) + " Credential=" + credentials.access_key + '/' + scope +
           ",SignedHeaders=" + signed_header_names(canonical_headers(request)) +
           ",Signature=" + signature(credentials, amz_date, to_sign);
}

std::string presigned_query(const Credentials& credentials, Request request,
                            std::string_view amz_date, std::int64_t expires_seconds) {
    const std::string scope = credential_scope(credentials, amz_date);
    request.payload_hash = std::string(kUnsignedPayload);
    request.query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
    request.query.emplace_back("X-Amz-Credential", credentials.access_key + '/' + scope);
    request.query.emplace_back("X-Amz-Date", std::string(amz_date));
    request.query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
    request.query.emplace_back("X-Amz-SignedHeaders",
                               signed_header_names(canonical_headers(request)));
    const std::string to_sign = string_to_sign(amz_date, scope, canonical_request(request));
    return canonical_query(request.query) +
           "&X-Amz-Signature=" + signature(credentials, amz_date, to_sign);
}

} // namespace cdn::storage::sigv4
