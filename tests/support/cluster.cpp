#include "cluster.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>

namespace cdn::test {
namespace {

using namespace std::chrono_literals;

/** Nodes start slower on a loaded machine with PostgreSQL migrations to run. */
constexpr auto NODE_START_TIMEOUT = 60s;

/** `serve --role ROLE` with the example config of deploy/config/ (the environment overrides
 *  its addresses): the examples are checked by every run. */
std::vector<std::string> serve_args(const std::string& role) {
    return {"--role", role, "--config",
            std::string(IMAGECDN_SOURCE_DIR) + "/deploy/config/" + role + ".toml"};
}

} // namespace

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)), s3_(BUCKET) {
    database_url_ = postgres_.url(postgres_.create_database());
}

Cluster::~Cluster() {
    nginx_.reset(); // the load balancer first, then the nodes, then what they share
    for (auto& edge : edges_) {
        edge->stop(10s);
    }
    if (api_) {
        api_->stop(10s);
    }
}

Env Cluster::node_env(const std::string& name, const Env& role_env) const {
    Env env{{"IMAGECDN_SERVER_NODE_NAME", name},
            {"IMAGECDN_SERVER_TRUSTED_PROXIES", "127.0.0.1"},
            {"IMAGECDN_DATABASE_URL", database_url_},
            {"IMAGECDN_KV_URL", redis_.url()},
            {"IMAGECDN_KV_EXPECTED_NODES", std::to_string(options_.edges)},
            {"IMAGECDN_STORAGE_KIND", "s3"},
            {"IMAGECDN_STORAGE_ENDPOINT", s3_.endpoint()},
            {"IMAGECDN_STORAGE_BUCKET", BUCKET},
            {"IMAGECDN_STORAGE_REGION", REGION},
            {"IMAGECDN_STORAGE_ACCESS_KEY", S3rverProcess::kAccessKey},
            {"IMAGECDN_STORAGE_SECRET_KEY", S3rverProcess::kSecretKey},
            {"IMAGECDN_STORAGE_PATH_STYLE", "true"},
            {"IMAGECDN_STRIPE_API_BASE", stripe_.base_url()},
            {"IMAGECDN_STRIPE_SECRET_KEY", FakeStripe::SECRET_KEY},
            {"IMAGECDN_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET}};
    for (const auto* extra : {&options_.node_env, &role_env}) {
        for (const auto& [key, value] : *extra) {
            env[key] = value;
        }
    }
    return env;
}

bool Cluster::start_node(ServerProcess& node, const std::string& name) {
    if (node.start(NODE_START_TIMEOUT)) {
        return true;
    }
    error_ = name + " did not start: " + node.stderr_text();
    return false;
}

bool Cluster::start() {
    const int api_port = free_port();
    if (!stripe_.start("http://127.0.0.1:" + std::to_string(api_port) + "/api/v1/webhooks/stripe",
                       WEBHOOK_SECRET)) {
        error_ = "the fake Stripe did not start: " + stripe_.stderr_text();
        return false;
    }
    api_ = std::make_unique<ServerProcess>(api_dir_.path(), node_env("api", options_.api_env),
                                           serve_args("api"));
    api_->use_port(api_port);
    if (!start_node(*api_, "api")) {
        return false;
    }
    std::vector<int> edge_ports;
    for (std::size_t i = 0; i < options_.edges; ++i) {
        edge_dirs_.push_back(nullptr);
        edges_.push_back(make_edge(i, {}));
        edges_.back()->use_port(free_port());
        edge_ports.push_back(edges_.back()->port());
        if (!start_node(*edges_.back(), edge_name(i))) {
            return false;
        }
    }
    nginx_ = std::make_unique<NginxProcess>(edge_ports, std::vector<int>{api_port});
    return true;
}

std::unique_ptr<storage::S3BlobStore> Cluster::bucket() const {
    auto options = s3_.client_options();
    options.region = REGION;
    return *storage::S3BlobStore::create(options);
}

Account Cluster::create_account(const std::string& email, const std::string& plan) {
    const auto result =
        run_imagecdn({"customer", "create", "--data-dir", api_dir_.path(), "--email", email,
                      "--plan", plan},
                     {{"IMAGECDN_DATABASE_URL", database_url_}});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return Account{json_string(result.out, "customer_id"), json_string(result.out, "public_key"),
                   json_string(result.out, "api_key")};
}

void Cluster::kill_edge(std::size_t i) {
    auto& node = edge(i);
    ::kill(node.pid(), SIGKILL);
    node.stop(); // reaps it
}

bool Cluster::start_edge(std::size_t i) { return start_node(edge(i), edge_name(i)); }

std::unique_ptr<ServerProcess> Cluster::make_edge(std::size_t i, const Env& extra_env) {
    auto env = options_.edge_env;
    for (const auto& [key, value] : extra_env) {
        env[key] = value;
    }
    edge_dirs_.at(i) = std::make_unique<TempDir>();
    return std::make_unique<ServerProcess>(edge_dirs_.at(i)->path(), node_env(edge_name(i), env),
                                           serve_args("edge"));
}

bool Cluster::replace_edge(std::size_t i, const Env& extra_env) {
    const int port = edge(i).port();
    edge(i).stop();
    edges_.at(i).reset(); // before its data directory goes
    edges_.at(i) = make_edge(i, extra_env);
    edges_.at(i)->use_port(port);
    return start_edge(i);
}

double Cluster::metric(ServerProcess& node, const std::string& name_and_labels) {
    return scrape_metric(node.port(), name_and_labels).value_or(0.0);
}

bool Cluster::restart_api() {
    if (api_->stop() != 0) {
        error_ = "api did not exit cleanly: " + api_->stderr_text();
        return false;
    }
    return start_node(*api_, "api");
}

RawResponse get(int port, const std::string& target, const Env& headers) {
    auto res = http_request(port, "GET", target, headers);
    return res ? *res : RawResponse{};
}

std::string served_by(const RawResponse& res) { return res.header("x-served-by").value_or(""); }

} // namespace cdn::test
