#include "http/static_site.h"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/hash.h"
#include "core/strings.h"

namespace cdn::http {
namespace {

namespace fs = std::filesystem;

/** A built single-page app is a few hundred kilobytes; anything this large is a mistake. */
constexpr std::uintmax_t MAX_FILE_BYTES = 32u << 20;
constexpr std::size_t MAX_FILES = 10000;

constexpr std::string_view IMMUTABLE = "public, max-age=31536000, immutable";
constexpr std::string_view REVALIDATE = "no-cache";
constexpr std::string_view INDEX = "index.html";
constexpr std::string_view ASSETS = "assets/";

std::string_view content_type_for(std::string_view path) {
    static constexpr std::pair<std::string_view, std::string_view> TYPES[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".avif", "image/avif"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".wasm", "application/wasm"},
    };
    const auto dot = path.rfind('.');
    if (dot == std::string_view::npos || path.find('/', dot) != std::string_view::npos) {
        return "application/octet-stream";
    }
    const auto ext = core::to_lower(path.substr(dot));
    for (const auto& [e, type] : TYPES) {
        if (ext == e) {
            return type;
        }
    }
    return "application/octet-stream";
}

std::optional<std::string> read_whole(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) {
        return std::nullopt;
    }
    return std::move(out).str();
}

/** Calls f(element) for each comma-separated element of a header value, trimmed. */
template <class F>
void for_each_element(std::string_view value, F&& f) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        const auto element = core::trim(value.substr(0, comma));
        if (!element.empty()) {
            f(element);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
}

/** The q-value Accept-Encoding gives a coding (explicitly, else through `*`); 0 = refused. */
double accepted_q(std::string_view header, std::string_view coding) {
    std::optional<double> exact;
    std::optional<double> star;
    for_each_element(header, [&](std::string_view element) {
        const auto semi = element.find(';');
        const auto name = core::trim(element.substr(0, semi));
        double q = 1.0;
        if (semi != std::string_view::npos) {
            auto params = core::trim(element.substr(semi + 1));
            if (params.size() > 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
                try {
                    q = std::stod(std::string(params.substr(2)));
                } catch (const std::exception&) {
                    q = 0;
                }
            }
        }
        if (core::iequals(name, coding)) {
            exact = q;
        } else if (name == "*") {
            star = q;
        }
    });
    return exact.value_or(star.value_or(0.0));
}

/** Does If-None-Match name this ETag (weak comparison, as RFC 9110 asks for GET)? */
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    bool match = false;
    for_each_element(if_none_match, [&](std::string_view element) {
        if (element.starts_with("W/")) {
            element.remove_prefix(2);
        }
        if (element == "*" || element == etag) {
            match = true;
        }
    });
    return match;
}

/** The path under the prefix, percent-decoded; nullopt when it must be refused. */
std::optional<std::string> relative_path(std::string_view encoded) {
    auto decoded = core::percent_decode(encoded, false);
    if (!decoded) {
        return std::nullopt;
    }
    if (decoded->find('\\') != std::string::npos || decoded->find('\0') != std::string::npos) {
        return std::nullopt;
    }
    std::string_view rest = *decoded;
    while (true) {
        const auto slash = rest.find('/');
        const auto segment = rest.substr(0, slash);
        if (segment == ".." || segment == ".") {
            return std::nullopt;
        }
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    return decoded;
}

std::string make_etag(std::string_view content) {
    return "\"" + core::hash128_hex(content).substr(0, 24) + "\"";
}

/** The path of a regular file relative to the site's root, or nullopt for what is not part
 *  of the site: folders, and hidden files and folders (.vite/manifest.json, .DS_Store). */
std::optional<std::string> site_path(const fs::directory_entry& entry, const fs::path& root) {
    std::error_code ec;
    if (!entry.is_regular_file(ec)) {
        return std::nullopt;
    }
    auto rel = fs::relative(entry.path(), root, ec).generic_string();
    if (ec || rel.empty() || rel.starts_with(".") || rel.find("/.") != std::string::npos) {
        return std::nullopt;
    }
    return rel;
}

/** The file's bytes, or nullopt with the reason added to `problems`. */
std::optional<std::string> read_site_file(const fs::directory_entry& entry, const std::string& rel,
                                          std::vector<std::string>& problems) {
    std::error_code ec;
    // An unreadable size (-1) counts as too large.
    if (entry.file_size(ec) > MAX_FILE_BYTES) {
        problems.push_back(rel + " is too large");
        return std::nullopt;
    }
    auto content = read_whole(entry.path());
    if (!content) {
        problems.push_back("cannot read " + rel);
    }
    return content;
}

bool is_compressed(std::string_view rel) { return rel.ends_with(".gz") || rel.ends_with(".br"); }

boost::asio::awaitable<Response> serve(std::shared_ptr<const StaticSite> site, const Request& req) {
    co_return site->handle(req);
}

} // namespace

std::shared_ptr<const StaticSite> StaticSite::load(StaticSiteOptions options) {
    std::shared_ptr<StaticSite> site(new StaticSite());
    site->options_ = std::move(options);
    std::error_code ec;
    if (site->options_.directory.empty() || !fs::is_directory(site->options_.directory, ec)) {
        site->problem_ = "no directory " + site->options_.directory;
        return site;
    }
    // First every file as it is, then .gz/.br siblings become encodings of their base file.
    std::vector<std::string> problems;
    site->attach_encodings(site->read_files(problems));
    site->ready_ = site->files_.contains(std::string(INDEX));
    if (!site->ready_) {
        problems.insert(problems.begin(), "no index.html in " + site->options_.directory);
    }
    for (const auto& p : problems) {
        site->problem_ += site->problem_.empty() ? p : "; " + p;
    }
    return site;
}

StaticSite::RawFiles StaticSite::read_files(std::vector<std::string>& problems) {
    const fs::path root(options_.directory);
    RawFiles compressed;
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        auto rel = site_path(*it, root);
        if (!rel) {
            continue;
        }
        if (files_.size() + compressed.size() >= MAX_FILES) {
            problems.push_back("more than " + std::to_string(MAX_FILES) + " files");
            break;
        }
        auto content = read_site_file(*it, *rel, problems);
        if (!content) {
            continue;
        }
        total_bytes_ += content->size();
        if (is_compressed(*rel)) {
            compressed.emplace_back(std::move(*rel), std::move(*content));
        } else {
            files_.emplace(*rel, make_file(*rel, std::move(*content)));
        }
    }
    if (ec) {
        problems.push_back("cannot list " + options_.directory + ": " + ec.message());
    }
    return compressed;
}

void StaticSite::attach_encodings(RawFiles compressed) {
    for (auto& [rel, content] : compressed) {
        const auto found = files_.find(rel.substr(0, rel.size() - 3));
        if (found == files_.end()) {
            // A compressed file on its own is served as it is (e.g. a download).
            files_.emplace(rel, make_file(rel, std::move(content)));
            continue;
        }
        auto& file = found->second;
        (rel.ends_with(".gz") ? file.gzip : file.brotli) = represent(std::move(content));
    }
}

StaticSite::Representation StaticSite::represent(std::string content) {
    Representation representation{.body = nullptr, .etag = make_etag(content)};
    representation.body = std::make_shared<const std::string>(std::move(content));
    return representation;
}

StaticSite::File StaticSite::make_file(const std::string& rel, std::string content) {
    File file;
    file.content_type = std::string(content_type_for(rel));
    file.immutable = rel.starts_with(ASSETS);
    file.identity = represent(std::move(content));
    return file;
}

std::size_t StaticSite::file_count() const { return files_.size(); }

std::size_t StaticSite::total_bytes() const { return total_bytes_; }

Response StaticSite::with_headers(Response res) const {
    for (const auto& [name, value] : options_.headers) {
        res.set_header(name, value);
    }
    return res;
}

Response StaticSite::answer_file(const Request& req, const File& file) const {
    const Representation* chosen = &file.identity;
    std::string_view encoding;
    const auto accept = req.header("accept-encoding").value_or("");
    const double br = file.brotli ? accepted_q(accept, "br") : 0.0;
    const double gzip = file.gzip ? accepted_q(accept, "gzip") : 0.0;
    if (br > 0 && br >= gzip) {
        chosen = &*file.brotli;
        encoding = "br";
    } else if (gzip > 0) {
        chosen = &*file.gzip;
        encoding = "gzip";
    }

    Response res;
    res.set_header("Cache-Control", std::string(file.immutable ? IMMUTABLE : REVALIDATE));
    res.set_header("ETag", chosen->etag);
    if (file.gzip || file.brotli) {
        res.set_header("Vary", "Accept-Encoding");
    }
    if (const auto inm = req.header("if-none-match"); inm && etag_matches(*inm, chosen->etag)) {
        res.status = 304;
        return with_headers(std::move(res));
    }
    res.status = 200;
    res.set_header("Content-Type", file.content_type);
    if (!encoding.empty()) {
        res.set_header("Content-Encoding", std::string(encoding));
    }
    // HEAD: the server sends the head (with this Content-Length) and not the body.
    res.body = chosen->body;
    return with_headers(std::move(res));
}

Response StaticSite::redirect_to_prefix(const Request& req) const {
    const std::string_view prefix = options_.url_prefix;
    Response res;
    res.status = 308;
    res.set_header("Location", req.query.empty()
                                   ? std::string(prefix)
                                   : std::string(prefix) + "?" + std::string(req.query));
    res.set_header("Cache-Control", "no-cache");
    return with_headers(std::move(res));
}

Response StaticSite::handle(const Request& req) const {
    const std::string_view prefix = options_.url_prefix;
    if (prefix.size() > 1 && req.path == prefix.substr(0, prefix.size() - 1)) {
        return redirect_to_prefix(req);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        auto res = Response::error(
            core::make_error(core::Errc::MethodNotAllowed, "only GET and HEAD are served here"));
        res.set_header("Allow", "GET, HEAD");
        return with_headers(std::move(res));
    }
    if (!ready_) {
        return with_headers(Response::error(core::make_error(
            core::Errc::Unavailable, options_.unavailable_message, problem_)));
    }
    if (!req.path.starts_with(prefix)) {
        return with_headers(Response::error(core::make_error(core::Errc::NotFound, "not found")));
    }
    const auto rel = relative_path(req.path.substr(prefix.size()));
    if (!rel) {
        return with_headers(
            Response::error(core::make_error(core::Errc::InvalidPath, "this path is refused")));
    }
    if (!rel->empty() && rel->back() != '/') {
        if (const auto it = files_.find(*rel); it != files_.end()) {
            return answer_file(req, it->second);
        }
    }
    if (rel->starts_with(ASSETS)) {
        return with_headers(
            Response::error(core::make_error(core::Errc::NotFound, "no such file")));
    }
    // Deep links: the app routes every other path itself.
    return answer_file(req, files_.at(std::string(INDEX)));
}

void StaticSite::mount(Router& router, std::shared_ptr<const StaticSite> site) {
    const std::string prefix = site->options().url_prefix;
    router.prefix(prefix, [site](const Request& req) { return serve(site, req); });
    if (prefix.size() > 1 && prefix.back() == '/') {
        router.exact(prefix.substr(0, prefix.size() - 1),
                     [site](const Request& req) { return serve(site, req); });
    }
}

} // namespace cdn::http
