#include "kv/redis_kv_store.h"

#include <hiredis/hiredis.h>

#include <fmt/format.h>

#include <charconv>
#include <thread>

namespace cdn::kv {
namespace {

/** INCRBY, and a TTL for a key that has none (a new one): atomic, so no key lives without one.
 *  The value is returned by GET, as a string: a Lua number would round above 2^53. */
constexpr std::string_view INCREMENT_SCRIPT =
    "redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return redis.call('GET', KEYS[1])";

/** A log is a list of "<sequence>:<message>" plus its sequence counter (`<key>:seq`), both
 *  trimmed and given their TTLs in one atomic step. EVAL, not EVALSHA: logs are written rarely
 *  (purges), so the script's few hundred bytes do not matter. */
constexpr std::string_view APPEND_LOG_SCRIPT =
    "local seq = redis.call('INCR', KEYS[2]) "
    "redis.call('RPUSH', KEYS[1], seq .. ':' .. ARGV[1]) "
    "redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[3]) "
    "redis.call('PEXPIRE', KEYS[2], ARGV[4]) "
    "return seq";

/** Compare-and-act on a lease: only its holder (ARGV[1]) renews or deletes it, so a holder whose
 *  lease expired never touches its successor's. */
constexpr std::string_view RENEW_LEASE_SCRIPT =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
constexpr std::string_view RELEASE_LEASE_SCRIPT =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

/** SCAN's MATCH pattern for keys starting with `prefix`: its glob characters escaped. */
std::string glob_for_prefix(std::string_view prefix) {
    std::string pattern;
    for (const char c : prefix) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
            pattern += '\\';
        }
        pattern += c;
    }
    return pattern + "*";
}

core::Error kv_error(std::string detail) {
    return core::make_error(core::Errc::Internal, "kv error", std::move(detail));
}

core::Error unavailable(std::string detail) {
    return core::make_error(core::Errc::Unavailable, "redis unavailable", std::move(detail));
}

/** A counter's value from a bulk-string or integer reply. */
core::Result<std::int64_t> counter_value(const redisReply& reply) {
    if (reply.type == REDIS_REPLY_INTEGER) {
        return static_cast<std::int64_t>(reply.integer);
    }
    if (is_error(reply)) {
        return kv_error(error_text(reply));
    }
    std::int64_t value = 0;
    const auto* end = reply.str + reply.len;
    if (reply.type != REDIS_REPLY_STRING ||
        std::from_chars(reply.str, end, value).ptr != end) {
        return kv_error("not a counter");
    }
    return value;
}

bool is_noscript(const redisReply& reply) {
    return is_error(reply) && error_text(reply).starts_with("NOSCRIPT");
}

/** Loads the increment script on a fresh connection: its SHA-1, proving Redis answers. */
core::Result<std::string> load_script(const RedisKvConfig& config) {
    CDN_TRY(connection, RedisConnection::open(config.endpoint, config.timeout));
    CDN_TRY(reply, connection->run({"SCRIPT", "LOAD", std::string(INCREMENT_SCRIPT)}));
    if (reply->type != REDIS_REPLY_STRING) {
        return unavailable("SCRIPT LOAD: " + error_text(*reply));
    }
    return error_text(*reply);
}

} // namespace

core::Result<std::unique_ptr<RedisKvStore>>
RedisKvStore::open(RedisKvConfig config, std::chrono::milliseconds connect_timeout) {
    const auto deadline = std::chrono::steady_clock::now() + connect_timeout;
    core::Backoff backoff(RECONNECT_FIRST, RECONNECT_CAP);
    for (;;) {
        auto sha = load_script(config);
        if (sha) {
            return std::unique_ptr<RedisKvStore>(new RedisKvStore(std::move(config), *sha));
        }
        const auto delay = backoff.next();
        const bool forever = connect_timeout.count() == 0; // as for the database: no deadline
        if (!forever && std::chrono::steady_clock::now() + delay >= deadline) {
            return core::make_error(
                core::Errc::Unavailable,
                fmt::format("kv.url: redis {} unreachable for {} ms", config.endpoint.display(),
                            connect_timeout.count()),
                sha.error().detail);
        }
        std::this_thread::sleep_for(delay);
    }
}

RedisKvStore::RedisKvStore(RedisKvConfig config, std::string script_sha)
    : config_(std::move(config)), script_sha_(std::move(script_sha)),
      health_(config_.endpoint.display()),
      pool_(config_.endpoint, config_.timeout, config_.pool_size),
      channels_(LocalChannels::create([this] { subscriber_->wake(); })),
      subscriber_(std::make_unique<RedisSubscriber>(config_.endpoint, config_.prefix,
                                                    config_.timeout, health_, channels_)) {
    // Idle connections opened before a loss lead to the old server (or a dead socket): were
    // they used after the reconnection, the first command on each would fail and mark Redis
    // lost again. Lent ones come back broken and are dropped then.
    health_.add_listener([this](bool) { pool_.close_idle(); });
}

RedisKvStore::~RedisKvStore() {
    channels_->forget_on_change();
    subscriber_.reset();
}

core::Result<std::vector<ReplyPtr>> RedisKvStore::execute(const std::vector<Command>& commands) {
    if (!health_.up()) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        return unavailable("redis is unreachable; reconnecting");
    }
    commands_.fetch_add(commands.size(), std::memory_order_relaxed);
    auto replies = pool_.pipeline(commands);
    if (!replies) {
        return failed(replies.error());
    }
    return replies;
}

core::Error RedisKvStore::failed(core::Error error) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    pool_.close_idle();
    health_.lost(error);
    subscriber_->wake(); // it probes Redis to regain health
    return error;
}

core::Result<std::int64_t> RedisKvStore::increment(std::string_view key, std::int64_t delta,
                                                   std::chrono::milliseconds ttl) {
    CDN_TRY(values, increment_all({{std::string(key), delta, ttl}}));
    return values.front();
}

core::Result<std::vector<std::int64_t>> RedisKvStore::increment_all(
    const std::vector<CounterDelta>& deltas) {
    for (const auto& change : deltas) {
        if (change.ttl <= std::chrono::milliseconds::zero()) {
            return kv_error("increment: ttl must be positive");
        }
    }
    CDN_TRY(replies, run_scripts(deltas));
    std::vector<std::int64_t> values;
    values.reserve(replies.size());
    for (const auto& reply : replies) {
        CDN_TRY(value, counter_value(*reply));
        values.push_back(value);
    }
    return values;
}

/** EVALSHA for each delta; those answered NOSCRIPT (not run) again as EVAL. */
core::Result<std::vector<ReplyPtr>> RedisKvStore::run_scripts(
    const std::vector<CounterDelta>& deltas) {
    auto script_call = [&](const CounterDelta& change, bool by_sha) {
        return Command{by_sha ? "EVALSHA" : "EVAL",
                       by_sha ? script_sha_ : std::string(INCREMENT_SCRIPT), "1",
                       config_.prefix + change.key, std::to_string(change.delta),
                       std::to_string(change.ttl.count())};
    };
    std::vector<Command> commands;
    for (const auto& change : deltas) {
        commands.push_back(script_call(change, true));
    }
    CDN_TRY(replies, execute(commands));
    std::vector<std::size_t> retried;
    commands.clear();
    for (std::size_t i = 0; i < replies.size(); ++i) {
        if (is_noscript(*replies[i])) {
            retried.push_back(i);
            commands.push_back(script_call(deltas[i], false));
        }
    }
    if (!retried.empty()) {
        CDN_TRY(again, execute(commands));
        for (std::size_t i = 0; i < retried.size(); ++i) {
            replies[retried[i]] = std::move(again[i]);
        }
    }
    return replies;
}

core::Result<std::optional<std::int64_t>> RedisKvStore::get_counter(std::string_view key) {
    CDN_TRY(replies, execute({{"GET", config_.prefix + std::string(key)}}));
    if (replies.front()->type == REDIS_REPLY_NIL) {
        return std::optional<std::int64_t>{};
    }
    CDN_TRY(value, counter_value(*replies.front()));
    return std::optional<std::int64_t>{value};
}

core::Result<void> RedisKvStore::publish(std::string_view channel, std::string_view message) {
    CDN_TRY(replies, execute({{"PUBLISH", config_.prefix + std::string(channel),
                               std::string(message)}}));
    if (is_error(*replies.front())) {
        return kv_error(error_text(*replies.front()));
    }
    return {};
}

Subscription RedisKvStore::subscribe(std::string channel, MessageHandler handler) {
    auto subscription = channels_->add(channel, std::move(handler));
    // "Every message later published": back once Redis has confirmed the SUBSCRIBE.
    subscriber_->wait_subscribed(channel, config_.timeout);
    return subscription;
}

core::Result<std::int64_t> RedisKvStore::append_log(std::string_view key,
                                                    std::string_view message,
                                                    std::size_t max_entries,
                                                    std::chrono::milliseconds ttl) {
    if (ttl <= std::chrono::milliseconds::zero() || max_entries == 0) {
        return kv_error("append_log: ttl and max_entries must be positive");
    }
    const auto list = config_.prefix + std::string(key);
    CDN_TRY(replies, execute({{"EVAL", std::string(APPEND_LOG_SCRIPT), "2", list, list + ":seq",
                               std::string(message), std::to_string(max_entries),
                               std::to_string(ttl.count()),
                               std::to_string(ttl.count() * LOG_SEQUENCE_LIFETIME)}}));
    return counter_value(*replies.front());
}

core::Result<LogTail> RedisKvStore::read_log(std::string_view key, std::int64_t after_sequence) {
    const auto list = config_.prefix + std::string(key);
    CDN_TRY(replies, execute({{"LRANGE", list, "0", "-1"}, {"GET", list + ":seq"}}));
    const auto& items = *replies[0];
    if (items.type != REDIS_REPLY_ARRAY) {
        return kv_error("LRANGE: " + error_text(items));
    }
    std::int64_t last = 0;
    if (replies[1]->type != REDIS_REPLY_NIL) {
        CDN_TRY(value, counter_value(*replies[1]));
        last = value;
    }
    std::vector<LogEntry> kept;
    for (std::size_t i = 0; i < items.elements; ++i) {
        const std::string_view item(items.element[i]->str, items.element[i]->len);
        const auto colon = item.find(':');
        LogEntry entry;
        if (colon == std::string_view::npos ||
            std::from_chars(item.data(), item.data() + colon, entry.sequence).ptr !=
                item.data() + colon) {
            return kv_error("malformed log entry in " + list);
        }
        entry.message = std::string(item.substr(colon + 1));
        kept.push_back(std::move(entry));
    }
    return tail_after(std::move(kept), last, after_sequence);
}

void RedisKvStore::on_availability_change(std::function<void(bool)> listener) {
    health_.add_listener(std::move(listener));
}

void RedisKvStore::write_metrics(core::MetricWriter& writer) const {
    KvStore::write_metrics(writer);
    writer.single("imagecdn_kv_commands_total", "counter", "Commands sent to Redis.",
                  static_cast<double>(commands()));
    writer.single("imagecdn_kv_errors_total", "counter",
                  "KV calls that failed for Redis (unreachable, a timeout, or refused at once "
                  "while it is being reconnected).",
                  static_cast<double>(errors_.load(std::memory_order_relaxed)));
    writer.single("imagecdn_kv_connects_total", "counter",
                  "Connections of the subscriber to Redis (1 + reconnections).",
                  static_cast<double>(subscriber_->reconnects()));
}

core::Result<void> RedisKvStore::put_value(std::string_view key, std::string_view value,
                                           std::chrono::milliseconds ttl) {
    if (ttl <= std::chrono::milliseconds::zero()) {
        return kv_error("put_value: ttl must be positive");
    }
    CDN_TRY(replies, execute({{"SET", config_.prefix + std::string(key), std::string(value), "PX",
                               std::to_string(ttl.count())}}));
    if (is_error(*replies.front())) {
        return kv_error(error_text(*replies.front()));
    }
    return {};
}

core::Result<std::vector<KeyValue>> RedisKvStore::values_with_prefix(std::string_view prefix) {
    const auto pattern = glob_for_prefix(config_.prefix + std::string(prefix));
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
        CDN_TRY(replies, execute({{"SCAN", cursor, "MATCH", pattern, "COUNT", "500"}}));
        const auto& page = *replies.front();
        if (page.type != REDIS_REPLY_ARRAY || page.elements != 2) {
            return kv_error("SCAN: " + error_text(page));
        }
        cursor = std::string(page.element[0]->str, page.element[0]->len);
        for (std::size_t i = 0; i < page.element[1]->elements; ++i) {
            const auto* key = page.element[1]->element[i];
            keys.emplace_back(key->str, key->len);
        }
    } while (cursor != "0");
    std::vector<KeyValue> found;
    if (keys.empty()) {
        return found;
    }
    Command mget{"MGET"};
    mget.insert(mget.end(), keys.begin(), keys.end());
    CDN_TRY(replies, execute({mget}));
    const auto& values = *replies.front();
    for (std::size_t i = 0; i < values.elements && i < keys.size(); ++i) {
        if (values.element[i]->type == REDIS_REPLY_STRING) { // nil: expired since the SCAN
            found.push_back({keys[i].substr(config_.prefix.size()),
                             std::string(values.element[i]->str, values.element[i]->len)});
        }
    }
    return found;
}

core::Result<bool> RedisKvStore::acquire_lease(std::string_view key, std::string_view holder,
                                               std::chrono::milliseconds ttl) {
    if (ttl <= std::chrono::milliseconds::zero()) {
        return kv_error("acquire_lease: ttl must be positive");
    }
    CDN_TRY(replies, execute({{"SET", config_.prefix + std::string(key), std::string(holder), "NX",
                               "PX", std::to_string(ttl.count())}}));
    const auto& reply = *replies.front();
    if (is_error(reply)) {
        return kv_error(error_text(reply));
    }
    return reply.type != REDIS_REPLY_NIL; // +OK when set, nil when someone holds it
}

core::Result<bool> RedisKvStore::renew_lease(std::string_view key, std::string_view holder,
                                             std::chrono::milliseconds ttl) {
    if (ttl <= std::chrono::milliseconds::zero()) {
        return kv_error("renew_lease: ttl must be positive");
    }
    return run_lease_script(RENEW_LEASE_SCRIPT, key, holder, std::to_string(ttl.count()));
}

core::Result<bool> RedisKvStore::release_lease(std::string_view key, std::string_view holder) {
    return run_lease_script(RELEASE_LEASE_SCRIPT, key, holder, "");
}

core::Result<bool> RedisKvStore::run_lease_script(std::string_view script, std::string_view key,
                                                  std::string_view holder,
                                                  std::string_view extra) {
    // EVAL, not EVALSHA: one lease is taken per miss, and a miss costs a transform.
    CDN_TRY(replies, execute({{"EVAL", std::string(script), "1", config_.prefix + std::string(key),
                               std::string(holder), std::string(extra)}}));
    CDN_TRY(acted, counter_value(*replies.front()));
    return acted == 1;
}

} // namespace cdn::kv
