#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/message.h"
#include "http/router.h"

namespace cdn::http {

/** What a StaticSite serves and how. */
struct StaticSiteOptions {
    /** The URL prefix, with both slashes: "/dashboard/". */
    std::string url_prefix;
    /** The directory loaded into memory at start-up (a built single-page app). */
    std::string directory;
    /** Added to every answer, errors and redirects included (e.g. Content-Security-Policy). */
    std::vector<std::pair<std::string, std::string>> headers;
    /** The 503's message when the directory has no index.html. */
    std::string unavailable_message = "this site is not installed on the server";
};

/**
 * A single-page application served from memory under a URL prefix.
 *
 * - Files are read once, at load(); the directory is expected to be small (a built app).
 * - `assets/...` (content-hashed names) → `Cache-Control: public, max-age=31536000, immutable`;
 *   everything else, `index.html` included → `no-cache` (revalidated with the strong ETag).
 * - A path with no file answers `index.html` (deep links), except under `assets/`, where a
 *   missing file is 404: a stale page asking for an old chunk must not get HTML as JavaScript.
 * - `..` segments, backslashes and NUL (after percent-decoding) are refused with 400.
 * - `x.gz` / `x.br` beside `x` are served instead of it to clients that accept them
 *   (`Content-Encoding`, `Vary: Accept-Encoding`); they are not addressable themselves.
 * - GET and HEAD only (405 otherwise); `If-None-Match` → 304.
 * - Without an `index.html` the site answers 503 `unavailable` (JSON) to everything.
 *
 * Knows nothing of what it serves: the caller passes the prefix, the directory and the headers.
 */
class StaticSite {
public:
    /** Reads every regular file under options.directory. Never fails: problem() says why the
     *  site is not ready (no directory, no index.html, unreadable file). */
    static std::shared_ptr<const StaticSite> load(StaticSiteOptions options);

    /** True when index.html was loaded. */
    bool ready() const { return ready_; }
    /** Why the site is not ready, for the log; empty when it is. */
    const std::string& problem() const { return problem_; }
    std::size_t file_count() const;
    std::size_t total_bytes() const;
    const StaticSiteOptions& options() const { return options_; }

    /** The answer to a request whose path starts with the prefix (or is the prefix without
     *  its trailing slash, which is redirected to the prefix). */
    Response handle(const Request& req) const;

    /** Routes the prefix and the prefix without its trailing slash (a 308 to the prefix). */
    static void mount(Router& router, std::shared_ptr<const StaticSite> site);

private:
    /** One encoding of a file: its bytes and its strong ETag. */
    struct Representation {
        std::shared_ptr<const std::string> body;
        std::string etag;
    };
    struct File {
        std::string content_type;
        /** Under assets/: content-hashed, cached for a year. */
        bool immutable = false;
        Representation identity;
        std::optional<Representation> gzip;
        std::optional<Representation> brotli;
    };

    /** Files read as they are, by relative path: here the .gz/.br ones, set aside until every
     *  base file they may encode is known. */
    using RawFiles = std::vector<std::pair<std::string, std::string>>;

    StaticSite() = default;
    /** Loads every plain file into files_ and returns the compressed ones. */
    RawFiles read_files(std::vector<std::string>& problems);
    /** A .gz/.br file becomes an encoding of its base file, or a file of its own without one. */
    void attach_encodings(RawFiles compressed);
    static Representation represent(std::string content);
    static File make_file(const std::string& rel, std::string content);
    /** The prefix without its trailing slash goes to the prefix, the query kept. */
    Response redirect_to_prefix(const Request& req) const;
    Response answer_file(const Request& req, const File& file) const;
    Response with_headers(Response res) const;

    StaticSiteOptions options_;
    /** Relative path ("index.html", "assets/index-abc.js") → file. */
    std::unordered_map<std::string, File> files_;
    std::size_t total_bytes_ = 0;
    bool ready_ = false;
    std::string problem_;
};

} // namespace cdn::http
