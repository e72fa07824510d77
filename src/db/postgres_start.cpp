#include "db/postgres_start.h"

#include <algorithm>
#include <cctype>
#include <thread>
#include <utility>

#include "core/backoff.h"
#include "db/postgres_database.h"

namespace cdn::db {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds FIRST_PAUSE{100};
constexpr milliseconds LONGEST_PAUSE{1000};

/** The query string without its `password=` parameters. */
std::string query_without_password(std::string_view query) {
    std::string kept;
    while (!query.empty()) {
        const auto end = std::min(query.find('&'), query.size());
        const auto param = query.substr(0, end);
        if (!param.starts_with("password=")) {
            kept += kept.empty() ? "" : "&";
            kept += param;
        }
        query.remove_prefix(std::min(end + 1, query.size()));
    }
    return kept;
}

} // namespace

std::string url_without_password(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return std::string(url);
    }
    const auto authority_start = scheme_end + 3;
    const auto query_start = std::min(url.find('?', authority_start), url.size());
    const auto authority_end = std::min(url.find('/', authority_start), query_start);
    std::string shown(url.substr(0, authority_start));
    auto authority = url.substr(authority_start, authority_end - authority_start);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const auto userinfo = authority.substr(0, at);
        shown += userinfo.substr(0, userinfo.find(':'));
        authority.remove_prefix(at);
    }
    shown += authority;
    shown += url.substr(authority_end, query_start - authority_end);
    if (query_start < url.size()) {
        const auto query = query_without_password(url.substr(query_start + 1));
        shown += query.empty() ? "" : "?" + query;
    }
    return shown;
}

core::Result<DatabasePtr> open_postgres_within(PostgresOptions options, milliseconds within) {
    const auto deadline = Clock::now() + within;
    // Jittered, so nodes restarted together do not retry in lockstep.
    core::Backoff backoff(FIRST_PAUSE, LONGEST_PAUSE);
    for (;;) {
        // Each attempt keeps the configured connect_timeout: the pool reopens connections with
        // these options later. A refused connection fails at once; only a host that drops
        // packets makes one attempt last that long.
        auto opened = PostgresDatabase::open(options);
        if (opened) {
            return opened;
        }
        const auto now = Clock::now();
        if (opened.error().code != core::Errc::Unavailable || now >= deadline) {
            auto reason = opened.error().detail;
            while (!reason.empty() && std::isspace(static_cast<unsigned char>(reason.back()))) {
                reason.pop_back(); // libpq ends its messages with a newline
            }
            return core::make_error(core::Errc::Unavailable,
                                    "cannot connect to the database " +
                                        url_without_password(options.url) + " within " +
                                        std::to_string(within.count()) + " ms",
                                    std::move(reason));
        }
        // The last attempt is made at the deadline.
        std::this_thread::sleep_for(std::min<Clock::duration>(backoff.next(), deadline - now));
    }
}

} // namespace cdn::db
