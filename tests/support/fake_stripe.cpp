#include "fake_stripe.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "poll_until.h"
#include "raw_http.h"
#include "server_process.h"

namespace cdn::test {
namespace {

namespace json = boost::json;

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/** `node server.mjs` with stdout/stderr to files. Everything is built before fork: the child
 *  of a threaded process may only exec. */
pid_t spawn_node(const std::map<std::string, std::string>& env, const std::string& out_path,
                 const std::string& err_path) {
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        if (!env.contains(std::string(entry.substr(0, entry.find('='))))) {
            env_text.emplace_back(entry);
        }
    }
    for (const auto& [name, value] : env) {
        env_text.push_back(name + "=" + value);
    }
    std::vector<char*> envp;
    for (auto& e : env_text) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    std::string node = "node";
    std::string script = std::string(FAKE_STRIPE_DIR) + "/server.mjs";
    char* argv[] = {node.data(), script.data(), nullptr};
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        ::execvpe(argv[0], argv, envp.data());
        ::_exit(127);
    }
    ::close(out);
    ::close(err);
    return pid;
}

/** The port of a `listening <port>` first line, or 0 while there is none yet. */
int listening_port(const std::string& out) {
    constexpr std::string_view PREFIX = "listening ";
    const auto end = out.find('\n');
    if (end == std::string::npos || out.compare(0, PREFIX.size(), PREFIX) != 0) {
        return 0;
    }
    return std::atoi(out.substr(PREFIX.size(), end - PREFIX.size()).c_str());
}

} // namespace

FakeStripe::~FakeStripe() { stop(); }

bool FakeStripe::start(std::string webhook_url, std::string webhook_secret) {
    const std::map<std::string, std::string> env{
        {"PORT", "0"},
        {"FAKE_STRIPE_SECRET_KEY", SECRET_KEY},
        {"FAKE_STRIPE_WEBHOOK_URL", std::move(webhook_url)},
        {"FAKE_STRIPE_WEBHOOK_SECRET", std::move(webhook_secret)}};
    const auto out_path = logs_.path() + "/out";
    pid_ = spawn_node(env, out_path, logs_.path() + "/err");
    poll_until(
        [&] {
            if ((port_ = listening_port(slurp(out_path))) > 0) {
                return true;
            }
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1; // exited: node missing, or `npm ci` not run (stderr says which)
                return true;
            }
            return false;
        },
        std::chrono::seconds(15));
    return port_ > 0;
}

void FakeStripe::stop() {
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, SIGTERM);
    if (!wait_for_exit(pid_, std::chrono::seconds(2))) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
}

std::string FakeStripe::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string FakeStripe::stderr_text() const { return slurp(logs_.path() + "/err"); }

json::value FakeStripe::call(std::string_view method, std::string_view target,
                             const json::object& body) {
    const bool has_body = method == "POST";
    const auto res = http_request(
        port_, method, target,
        has_body ? std::map<std::string, std::string>{{"Content-Type", "application/json"}}
                 : std::map<std::string, std::string>{},
        has_body ? json::serialize(body) : std::string());
    if (!res || res->status != 200) {
        ADD_FAILURE() << "fake stripe " << method << " " << target << ": "
                      << (res ? std::to_string(res->status) + " " + res->body : "no answer") << "\n"
                      << stderr_text();
        return nullptr;
    }
    boost::system::error_code ec;
    auto parsed = json::parse(res->body, ec);
    if (ec) {
        ADD_FAILURE() << "fake stripe " << target << " answered non-JSON: " << res->body;
        return nullptr;
    }
    return parsed;
}

namespace {

json::array as_array(json::value v) {
    return v.is_array() ? std::move(v.get_array()) : json::array();
}
json::object as_object(json::value v) {
    return v.is_object() ? std::move(v.get_object()) : json::object();
}

} // namespace

json::array FakeStripe::requests() { return as_array(call("GET", "/__fake/requests")); }

void FakeStripe::clear_requests() { call("DELETE", "/__fake/requests"); }

void FakeStripe::reset() { call("POST", "/__fake/reset"); }

void FakeStripe::set_mode(std::string mode, int count) {
    json::object body{{"mode", mode}};
    if (count >= 0) {
        body["count"] = count;
    }
    call("POST", "/__fake/mode", body);
}

std::string FakeStripe::sign(std::string_view payload, std::string_view secret,
                             std::int64_t timestamp) {
    const auto answer =
        as_object(call("POST", "/__fake/sign",
                       {{"payload", payload}, {"secret", secret}, {"timestamp", timestamp}}));
    const auto* header = answer.if_contains("header");
    return header != nullptr && header->is_string() ? std::string(header->get_string()) : "";
}

json::object FakeStripe::deliver(std::string_view type, json::object object,
                                 std::optional<std::int64_t> created, std::optional<std::string> id,
                                 std::optional<std::int64_t> timestamp) {
    json::object body{{"type", type}, {"object", std::move(object)}};
    if (created) {
        body["created"] = *created;
    }
    if (id) {
        body["id"] = *id;
    }
    if (timestamp) {
        body["timestamp"] = *timestamp;
    }
    return as_object(call("POST", "/__fake/deliver", body));
}

json::object FakeStripe::create_subscription(std::string_view customer, std::string_view price,
                                             std::string_view status, json::object metadata,
                                             bool deliver) {
    return as_object(call("POST", "/__fake/subscriptions",
                          {{"customer", customer},
                           {"price", price},
                           {"status", status},
                           {"metadata", std::move(metadata)},
                           {"deliver", deliver}}));
}

json::object FakeStripe::update_subscription(std::string_view id, std::string_view price,
                                             std::string_view status, bool deliver) {
    json::object body{{"deliver", deliver}};
    if (!price.empty()) {
        body["price"] = price;
    }
    if (!status.empty()) {
        body["status"] = status;
    }
    return as_object(call("POST", "/__fake/subscriptions/" + std::string(id), body));
}

json::object FakeStripe::create_invoice(std::string_view customer, std::int64_t amount_due,
                                        std::string_view currency, std::string_view status) {
    return as_object(call("POST", "/__fake/invoices",
                          {{"customer", customer},
                           {"amount_due", amount_due},
                           {"currency", currency},
                           {"status", status}}));
}

std::string FakeStripe::create_customer(std::string_view email) {
    const auto res = http_request(port_, "POST", "/v1/customers",
                                  {{"Authorization", std::string("Bearer ") + SECRET_KEY},
                                   {"Content-Type", "application/x-www-form-urlencoded"},
                                   {"Idempotency-Key", "test-" + std::string(email)}},
                                  "email=" + std::string(email));
    if (!res || res->status != 200) {
        ADD_FAILURE() << "fake stripe POST /v1/customers: " << (res ? res->body : "no answer");
        return {};
    }
    return std::string(json::parse(res->body).at("id").as_string());
}

void FakeStripe::set_price(std::string_view id, std::int64_t unit_amount,
                           std::string_view currency) {
    call("POST", "/__fake/prices",
         {{"id", id}, {"unit_amount", unit_amount}, {"currency", currency}});
}

json::array FakeStripe::meter_events() { return as_array(call("GET", "/__fake/meter_events")); }

json::object FakeStripe::state() { return as_object(call("GET", "/__fake/state")); }

std::string form_value(const json::value& request, std::string_view flat_key) {
    boost::system::error_code ec;
    const auto* flat = request.find_pointer("/flat_form", ec);
    if (flat == nullptr || !flat->is_array()) {
        return {};
    }
    for (const auto& pair : flat->get_array()) {
        const auto* kv = pair.if_array();
        if (kv != nullptr && kv->size() == 2 && kv->at(0).is_string() &&
            kv->at(0).get_string() == flat_key && kv->at(1).is_string()) {
            return std::string(kv->at(1).get_string());
        }
    }
    return {};
}

} // namespace cdn::test
