#include "app/config.h"

#include <toml++/toml.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <variant>

#include "core/strings.h"
#include "db/postgres_database.h"
#include "http/client_address.h"
#include "kv/redis_url.h"

namespace cdn::app {
namespace {

using Target = std::variant<std::string*, std::uint64_t*, unsigned*, bool*, double*,
                            std::vector<std::string>*>;

struct Field {
    std::string section;
    std::string key;
    Target target;
    /** For enum-like strings, the values accepted. */
    std::vector<std::string> allowed = {};
};

std::vector<Field> config_fields(Config& c) {
    auto& s = c.server;
    auto& l = c.limits;
    return {
        {"server", "listen", &s.listen},
        {"server", "threads", &s.threads},
        {"server", "max_body_bytes", &s.max_body_bytes},
        {"server", "header_timeout_ms", &s.header_timeout_ms},
        {"server", "body_timeout_ms", &s.body_timeout_ms},
        {"server", "idle_timeout_ms", &s.idle_timeout_ms},
        {"server", "max_connections", &s.max_connections},
        {"server", "max_url_bytes", &s.max_url_bytes},
        {"server", "max_header_bytes", &s.max_header_bytes},
        {"server", "public_base_url", &s.public_base_url},
        {"server", "drain_timeout_ms", &s.drain_timeout_ms},
        {"server", "first_byte_timeout_ms", &s.first_byte_timeout_ms},
        {"server", "min_bytes_per_second", &s.min_bytes_per_second},
        {"server", "max_connections_per_client", &s.max_connections_per_client},
        {"server", "trusted_proxies", &s.trusted_proxies},
        {"server", "node_name", &s.node_name},
        {"storage", "kind", &c.storage.kind, {"local", "s3"}},
        {"storage", "root", &c.storage.root},
        {"storage", "endpoint", &c.storage.endpoint},
        {"storage", "bucket", &c.storage.bucket},
        {"storage", "region", &c.storage.region},
        {"storage", "access_key", &c.storage.access_key},
        {"storage", "secret_key", &c.storage.secret_key},
        {"storage", "path_style", &c.storage.path_style},
        {"storage", "max_path_segments", &c.storage.max_path_segments},
        {"storage", "connect_timeout_ms", &c.storage.connect_timeout_ms},
        {"storage", "timeout_ms", &c.storage.timeout_ms},
        {"storage", "max_attempts", &c.storage.max_attempts},
        {"storage", "breaker_failures", &c.storage.breaker_failures},
        {"storage", "breaker_cooldown_ms", &c.storage.breaker_cooldown_ms},
        {"storage", "multipart_threshold_bytes", &c.storage.multipart_threshold_bytes},
        {"database", "url", &c.database.url},
        {"database", "pool_size", &c.database.pool_size},
        {"database", "connect_timeout_ms", &c.database.connect_timeout_ms},
        {"database", "statement_timeout_ms", &c.database.statement_timeout_ms},
        {"kv", "url", &c.kv.url},
        {"kv", "prefix", &c.kv.prefix},
        {"kv", "timeout_ms", &c.kv.timeout_ms},
        {"kv", "expected_nodes", &c.kv.expected_nodes},
        {"kv", "degraded_config_ttl_seconds", &c.kv.degraded_config_ttl_seconds},
        {"cache", "memory_bytes", &c.cache.memory_bytes},
        {"cache", "disk_path", &c.cache.disk_path},
        {"cache", "disk_bytes", &c.cache.disk_bytes},
        {"cache", "config_ttl_seconds", &c.cache.config_ttl_seconds},
        {"cache", "negative_ttl_seconds", &c.cache.negative_ttl_seconds},
        {"cache", "shared_tier", &c.cache.shared_tier},
        {"cache", "shared_wait_ms", &c.cache.shared_wait_ms},
        {"cache", "decoded_bytes", &c.cache.decoded_bytes},
        {"limits", "max_original_bytes", &l.max_original_bytes},
        {"limits", "max_original_pixels", &l.max_original_pixels},
        {"limits", "max_output_dimension", &l.max_output_dimension},
        {"limits", "max_frames", &l.max_frames},
        {"limits", "progressive_max_pixels", &l.progressive_max_pixels},
        {"limits", "transform_timeout_ms", &l.transform_timeout_ms},
        {"limits", "max_concurrent_transforms", &l.max_concurrent_transforms},
        {"limits", "transform_queue", &l.transform_queue},
        {"limits", "max_output_pixels", &l.max_output_pixels},
        {"limits", "transform_queue_per_customer", &l.transform_queue_per_customer},
        {"limits", "transform_queue_standing_ms", &l.transform_queue_standing_ms},
        {"limits", "originals_in_flight_bytes", &l.originals_in_flight_bytes},
        {"limits", "purge_requests_per_minute", &c.tenant_limits.purge_requests_per_minute},
        {"limits", "unmetered_previews_per_hour", &c.tenant_limits.unmetered_previews_per_hour},
        {"auth", "jwt_secret", &c.auth.jwt_secret},
        {"auth", "internal_secret", &c.auth.internal_secret},
        {"auth", "access_ttl_seconds", &c.auth.access_ttl_seconds},
        {"auth", "refresh_ttl_seconds", &c.auth.refresh_ttl_seconds},
        {"usage", "flush_interval_ms", &c.usage.flush_interval_ms},
        {"usage", "quota_refresh_seconds", &c.usage.quota_refresh_seconds},
        {"metrics", "listen", &c.metrics.listen},
        {"dashboard", "dir", &c.dashboard.dir},
        {"stripe", "api_base", &c.stripe.api_base},
        {"stripe", "secret_key", &c.stripe.secret_key},
        {"stripe", "webhook_secret", &c.stripe.webhook_secret},
        {"stripe", "timeout_ms", &c.stripe.timeout_ms},
        {"billing", "grace_days", &c.billing.grace_days},
        {"billing", "meter_event_name", &c.billing.meter_event_name},
        {"billing", "overage_report_interval_seconds", &c.billing.overage_report_interval_seconds},
        {"billing", "settle_seconds", &c.billing.settle_seconds},
        {"log", "level", &c.log.level, {"trace", "debug", "info", "warn", "error"}},
        {"log", "format", &c.log.format, {"json", "text"}},
    };
}

std::vector<Field> plan_fields(account::Plan& p) {
    return {
        {"", "price_usd", &p.price_usd},
        {"", "stripe_price_id", &p.stripe_price_id},
        {"", "avif", &p.avif},
        {"", "signed_urls", &p.signed_urls},
        {"", "custom_domains", &p.custom_domains},
        {"", "max_dimension", &p.max_dimension},
        {"", "rate_limit_rps", &p.rate_limit_rps},
        {"", "bandwidth_quota_bytes", &p.bandwidth_quota_bytes},
        {"", "over_quota", &p.over_quota, {"block", "overage"}},
        {"", "storage_quota_bytes", &p.storage_quota_bytes},
        {"", "max_original_bytes", &p.max_original_bytes},
    };
}

/** The value of one field, from a TOML node or an environment string. */
class Assigner {
public:
    Assigner(const Field& field, std::string name) : field_(field), name_(std::move(name)) {}

    std::optional<std::string> from_toml(const toml::node& node) const {
        return std::visit([&](auto* target) { return assign(target, node); }, field_.target);
    }
    std::optional<std::string> from_text(std::string_view text) const {
        return std::visit([&](auto* target) { return parse(target, text); }, field_.target);
    }

private:
    std::string bad(std::string_view expected) const {
        return fmt::format("{}: expected {}", name_, expected);
    }

    std::optional<std::string> assign(std::string* t, const toml::node& n) const {
        if (!n.is_string()) {
            return bad("a string");
        }
        return parse(t, *n.value<std::string>());
    }
    template <class Int>
    std::optional<std::string> assign(Int* t, const toml::node& n) const {
        if (!n.is_integer()) {
            return bad("a non-negative integer");
        }
        return parse(t, std::to_string(*n.value<std::int64_t>()));
    }
    std::optional<std::string> assign(bool* t, const toml::node& n) const {
        if (!n.is_boolean()) {
            return bad("true or false");
        }
        *t = *n.value<bool>();
        return std::nullopt;
    }
    std::optional<std::string> assign(double* t, const toml::node& n) const {
        if (!n.is_number()) {
            return bad("a number");
        }
        *t = *n.value<double>();
        return *t < 0 ? std::optional(bad("a non-negative number")) : std::nullopt;
    }

    std::optional<std::string> assign(std::vector<std::string>* t, const toml::node& n) const {
        const auto* array = n.as_array();
        if (array == nullptr) {
            return bad("an array of strings");
        }
        t->clear();
        for (const auto& item : *array) {
            if (!item.is_string() || item.value<std::string>()->empty()) {
                return bad("an array of non-empty strings");
            }
            t->push_back(*item.value<std::string>());
        }
        return std::nullopt;
    }

    /** A list in an environment variable: comma-separated, blanks around items ignored. */
    std::optional<std::string> parse(std::vector<std::string>* t, std::string_view text) const {
        t->clear();
        for (auto item : core::split(text, ',')) {
            item = core::trim(item);
            if (!item.empty()) {
                t->emplace_back(item);
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> parse(std::string* t, std::string_view text) const {
        if (!field_.allowed.empty() &&
            std::find(field_.allowed.begin(), field_.allowed.end(), text) == field_.allowed.end()) {
            return bad(fmt::format("one of {}", fmt::join(field_.allowed, ", ")));
        }
        *t = std::string(text);
        return std::nullopt;
    }
    template <class Int>
    std::optional<std::string> parse(Int* t, std::string_view text) const {
        const auto v = core::parse_int(text);
        if (!v || *v < 0 || static_cast<std::uint64_t>(*v) > std::numeric_limits<Int>::max()) {
            return bad("a non-negative integer");
        }
        *t = static_cast<Int>(*v);
        return std::nullopt;
    }
    std::optional<std::string> parse(bool* t, std::string_view text) const {
        if (text == "true" || text == "1") {
            *t = true;
        } else if (text == "false" || text == "0") {
            *t = false;
        } else {
            return bad("true or false");
        }
        return std::nullopt;
    }
    std::optional<std::string> parse(double* t, std::string_view text) const {
        double v = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || ptr != text.data() + text.size() || v < 0) {
            return bad("a non-negative number");
        }
        *t = v;
        return std::nullopt;
    }

    const Field& field_;
    std::string name_;
};

account::Plan& plan_named(Config& config, const std::string& name) {
    auto& plan = config.plans[name];
    plan.name = name;
    return plan;
}

void apply_plan_table(Config& config, const std::string& name, const toml::table& table,
                      std::vector<std::string>& errors) {
    auto fields = plan_fields(plan_named(config, name));
    for (const auto& [key, node] : table) {
        const auto full = fmt::format("plans.{}.{}", name, key.str());
        // A named copy: clang 14 cannot capture a structured binding (the fuzz build).
        const std::string_view key_name = key.str();
        auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const Field& f) { return f.key == key_name; });
        if (it == fields.end()) {
            errors.push_back(fmt::format("{}: unknown key", full));
        } else if (auto e = Assigner(*it, full).from_toml(node)) {
            errors.push_back(*e);
        }
    }
}

void apply_file(Config& config, const std::string& file, std::vector<std::string>& errors) {
    toml::table root;
    try {
        root = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
        errors.push_back(fmt::format("{}: {}", file, e.description()));
        return;
    }
    auto fields = config_fields(config);
    for (const auto& [section, node] : root) {
        const auto* table = node.as_table();
        if (table == nullptr) {
            errors.push_back(fmt::format("{}: unknown key (expected a [section])", section.str()));
            continue;
        }
        if (section.str() == "plans") {
            for (const auto& [name, plan] : *table) {
                if (const auto* plan_table = plan.as_table()) {
                    apply_plan_table(config, std::string(name.str()), *plan_table, errors);
                } else {
                    errors.push_back(fmt::format("plans.{}: expected a table", name.str()));
                }
            }
            continue;
        }
        for (const auto& [key, value] : *table) {
            const auto full = fmt::format("{}.{}", section.str(), key.str());
            const std::string_view section_name = section.str();
            const std::string_view key_name = key.str();
            auto it = std::find_if(fields.begin(), fields.end(), [&](const Field& f) {
                return f.section == section_name && f.key == key_name;
            });
            if (it == fields.end()) {
                errors.push_back(fmt::format("{}: unknown key", full));
            } else if (auto e = Assigner(*it, full).from_toml(value)) {
                errors.push_back(*e);
            } else {
                config.configured.insert(full);
            }
        }
    }
}

std::string env_name(std::string_view section, std::string_view key) {
    std::string name = "IMAGECDN_";
    for (char c : fmt::format("{}_{}", section, key)) {
        name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    return name;
}

/** IMAGECDN_PLANS_<NAME>_<KEY>: the key is matched from the end, so names may hold '_'. */
bool apply_plan_env(Config& config, std::string_view var, std::string_view value,
                    std::vector<std::string>& errors) {
    constexpr std::string_view PREFIX = "IMAGECDN_PLANS_";
    if (!var.starts_with(PREFIX)) {
        return false;
    }
    const auto rest = var.substr(PREFIX.size());
    account::Plan probe;
    for (const auto& field : plan_fields(probe)) {
        const auto suffix = "_" + env_name("", field.key).substr(10);
        if (rest.size() > suffix.size() && rest.ends_with(suffix)) {
            const auto name = core::to_lower(rest.substr(0, rest.size() - suffix.size()));
            auto fields = plan_fields(plan_named(config, name));
            auto& target = *std::find_if(fields.begin(), fields.end(),
                                         [&](const Field& f) { return f.key == field.key; });
            if (auto e = Assigner(target, std::string(var)).from_text(value)) {
                errors.push_back(*e);
            }
            return true;
        }
    }
    return false;
}

void apply_env(Config& config, const std::vector<std::string>& env,
               std::vector<std::string>& errors) {
    auto fields = config_fields(config);
    for (const auto& entry : env) {
        const auto eq = entry.find('=');
        const std::string_view var = std::string_view(entry).substr(0, eq);
        const std::string_view value =
            eq == std::string::npos ? std::string_view() : std::string_view(entry).substr(eq + 1);
        if (!var.starts_with("IMAGECDN_") || var == "IMAGECDN_DATA_DIR" ||
            var == "IMAGECDN_CONFIG") {
            continue;
        }
        auto it = std::find_if(fields.begin(), fields.end(), [&](const Field& f) {
            return env_name(f.section, f.key) == var;
        });
        if (it != fields.end()) {
            if (auto e = Assigner(*it, std::string(var)).from_text(value)) {
                errors.push_back(*e);
            } else {
                config.configured.insert(it->section + "." + it->key);
            }
        } else if (!apply_plan_env(config, var, value, errors)) {
            errors.push_back(fmt::format("{}: unknown variable", var));
        }
    }
}

std::string with_data_dir(std::string value, const std::string& data_dir) {
    const std::string placeholder = "{data_dir}";
    for (auto pos = value.find(placeholder); pos != std::string::npos;
         pos = value.find(placeholder)) {
        value.replace(pos, placeholder.size(), data_dir);
    }
    return value;
}

/** Secrets we generate and check ourselves: a guessable one signs anyone's tokens. Third-party
 *  credentials (Stripe, S3) are the issuer's to judge. Empty means generated (32 bytes). */
void validate_own_secrets(const AuthConfig& auth, std::vector<std::string>& errors) {
    const std::pair<const char*, const std::string*> secrets[] = {
        {"auth.jwt_secret", &auth.jwt_secret},
        {"auth.internal_secret", &auth.internal_secret},
    };
    for (const auto& [key, value] : secrets) {
        if (!value->empty() && value->size() < MIN_OWN_SECRET_BYTES) {
            errors.push_back(fmt::format("{}: must be at least {} bytes (openssl rand -hex 32)",
                                         key, MIN_OWN_SECRET_BYTES));
        }
    }
}

/** kind = "s3" needs where and who; `root` belongs to the local store only. */
void validate_storage(const StorageConfig& s, std::vector<std::string>& errors) {
    if (s.kind != "s3") {
        return;
    }
    if (!s.endpoint.starts_with("http://") && !s.endpoint.starts_with("https://")) {
        errors.push_back("storage.endpoint: expected http(s)://host[:port] with kind = \"s3\"");
    }
    for (const auto& [key, value] : {std::pair{"bucket", &s.bucket},
                                     std::pair{"access_key", &s.access_key},
                                     std::pair{"secret_key", &s.secret_key}}) {
        if (value->empty()) {
            errors.push_back(fmt::format("storage.{}: required with kind = \"s3\"", key));
        }
    }
    if (s.root != StorageConfig{}.root) {
        errors.push_back("storage.root: only for kind = \"local\"");
    }
    if (s.timeout_ms == 0 || s.connect_timeout_ms == 0) {
        errors.push_back("storage.timeout_ms: timeouts must be positive");
    }
    if (s.max_attempts == 0 || s.breaker_failures == 0 || s.breaker_cooldown_ms == 0) {
        errors.push_back("storage.max_attempts, breaker_failures, breaker_cooldown_ms: must be "
                         "positive");
    }
}

void validate_kv(const KvConfig& kv, std::vector<std::string>& errors) {
    if (!kv.url.empty()) {
        if (auto parsed = kv::parse_redis_url(kv.url); !parsed) {
            errors.push_back("kv.url: " + parsed.error().message);
        }
    }
    if (kv.timeout_ms == 0) {
        errors.push_back("kv.timeout_ms: must be at least 1");
    }
    if (kv.expected_nodes == 0) {
        errors.push_back("kv.expected_nodes: must be at least 1");
    }
}

/** A header value as is: no control character, space or byte beyond ASCII can slip in. */
bool valid_node_name(std::string_view name) {
    return name.size() <= 128 &&
           std::ranges::all_of(name, [](char c) { return c > ' ' && c < 127; });
}

void validate(const Config& c, std::vector<std::string>& errors) {
    if (c.server.listen.rfind(':') == std::string::npos) {
        errors.push_back("server.listen: expected host:port");
    }
    if (!c.database.url.starts_with("sqlite://")) {
        if (auto parsed = db::PostgresDatabase::check_url(c.database.url); !parsed) {
            errors.push_back("database.url: expected sqlite://PATH or postgres://...: " +
                             parsed.error().message);
        }
    }
    validate_kv(c.kv, errors);
    if (auto proxies = http::TrustedProxies::parse(c.server.trusted_proxies); !proxies) {
        errors.push_back("server.trusted_proxies: " + proxies.error().detail);
    }
    if (!valid_node_name(c.server.node_name)) {
        errors.push_back("server.node_name: at most 128 visible ASCII characters (it is sent as "
                         "the X-Served-By header)");
    }
    if (c.server.max_url_bytes == 0 || c.server.max_header_bytes < c.server.max_url_bytes) {
        errors.push_back("server.max_header_bytes: must be at least server.max_url_bytes");
    }
    const auto& limits = c.limits;
    if (limits.originals_in_flight_bytes != 0 &&
        limits.originals_in_flight_bytes / 2 < limits.max_original_bytes) {
        errors.push_back("limits.originals_in_flight_bytes: must be 0 or at least 2 × "
                         "limits.max_original_bytes (a customer may hold half of it)");
    }
    validate_own_secrets(c.auth, errors);
    validate_storage(c.storage, errors);
}

} // namespace

std::string default_dashboard_dir() {
#ifdef IMAGECDN_DASHBOARD_DIR
    return IMAGECDN_DASHBOARD_DIR;
#else
    return "";
#endif
}

core::Result<Config> load_config(const std::string& file, const std::string& data_dir,
                                 const std::vector<std::string>& env) {
    Config config;
    config.data_dir = data_dir;
    std::vector<std::string> errors;
    if (!file.empty()) {
        apply_file(config, file, errors);
    }
    apply_env(config, env, errors);
    validate(config, errors);
    if (!errors.empty()) {
        return core::make_error(core::Errc::BadRequest, fmt::format("{}", fmt::join(errors, "; ")));
    }
    if (!config.configured.contains("cache.shared_tier")) {
        config.cache.shared_tier = config.storage.kind == "s3";
    }
    config.storage.root = with_data_dir(config.storage.root, data_dir);
    config.database.url = with_data_dir(config.database.url, data_dir);
    config.cache.disk_path = with_data_dir(config.cache.disk_path, data_dir);
    config.dashboard.dir = with_data_dir(config.dashboard.dir, data_dir);
    if (config.server.public_base_url.empty()) {
        config.server.public_base_url = "http://" + config.server.listen;
    }
    return config;
}

billing::StripeEndpoint stripe_endpoint(const StripeConfig& stripe) {
    return {
        .api_base = stripe.api_base.ends_with('/')
                        ? stripe.api_base.substr(0, stripe.api_base.size() - 1)
                        : stripe.api_base,
        .secret_key = stripe.secret_key,
        .timeout = std::chrono::milliseconds(stripe.timeout_ms),
    };
}

billing::GracePolicy grace_policy(const BillingConfig& billing) {
    return {.grace_seconds = static_cast<std::int64_t>(billing.grace_days) * 86'400};
}

} // namespace cdn::app
