#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fake_stripe.h"
#include "fixtures.h"
#include "nginx_process.h"
#include "postgres_process.h"
#include "raw_http.h"
#include "redis_process.h"
#include "s3rver_process.h"
#include "server_process.h"
#include "storage/s3_blob_store.h"
#include "temp_dir.h"

namespace cdn::test {

using Env = std::map<std::string, std::string>;

/** What a test cluster runs; the defaults are scripts/cluster.sh's shape. */
struct ClusterOptions {
    std::size_t edges = 2;
    /** More environment (IMAGECDN_*) for every node, then for each role; a suite sets here what
     *  it tries (e.g. a [cache] key), over the cluster's own settings. */
    Env node_env;
    Env edge_env;
    Env api_env;
};

/**
 * The pieces of scripts/cluster.sh, each a child process on free loopback ports with its data in
 * temp folders, all stopped by pid when destroyed: PostgreSQL, Redis, s3rver (behind the SigV4
 * proxy), a fake Stripe delivering webhooks to the api node, one `--role api` node, `edges`
 * `--role edge` nodes (X-Served-By "api", "edge-1", "edge-2", ...) and nginx in front with the
 * config of deploy/nginx/. Every node has [database] on the PostgreSQL, [kv] on the Redis and
 * [storage] on the bucket. Nodes keep their port across restarts (nginx's upstreams name them).
 */
class Cluster {
public:
    static constexpr const char* BUCKET = "originals";
    static constexpr const char* REGION = "us-east-1";
    static constexpr const char* WEBHOOK_SECRET = "whsec_cluster_test";

    explicit Cluster(ClusterOptions options = {});
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    /** Starts the nodes (the api node first: it migrates the database) and nginx; false with
     *  error() set when one does not start. */
    bool start();
    const std::string& error() const { return error_; }

    ServerProcess& api() { return *api_; }
    ServerProcess& edge(std::size_t i) { return *edges_.at(i); }
    std::size_t edge_count() const { return edges_.size(); }
    static std::string edge_name(std::size_t i) { return "edge-" + std::to_string(i + 1); }
    int nginx_port() const { return nginx_->port(); }
    NginxProcess& nginx() { return *nginx_; }
    PostgresProcess& postgres() { return postgres_; }
    RedisProcess& redis() { return redis_; }
    S3rverProcess& s3() { return s3_; }
    FakeStripe& stripe() { return stripe_; }
    /** The bucket as the test sees it, not through a node. */
    std::unique_ptr<storage::S3BlobStore> bucket() const;

    /** `imagecdn customer create` on the cluster's database. */
    Account create_account(const std::string& email, const std::string& plan = "free");

    /** SIGKILL: a crash, not a shutdown; the node keeps its port for start_edge(). */
    void kill_edge(std::size_t i);
    /** Starts a stopped or killed edge again on its port; false (error() set) if it fails. */
    bool start_edge(std::size_t i);
    /** SIGTERM (drain), then start again on the same port; false (error() set) on failure. */
    bool restart_api();
    /** Stops edge `i` (if it runs) and starts a new node in its place: same name and port, a
     *  fresh data directory (empty caches, as a new machine) and `extra_env` over the cluster's
     *  environment. False (error() set) if it does not start. */
    bool replace_edge(std::size_t i, const Env& extra_env = {});

    /** The value of one sample of `node`'s /metrics, e.g. `imagecdn_transforms_total` or
     *  `name{label="x"}`; 0 when absent. */
    static double metric(ServerProcess& node, const std::string& name_and_labels);

private:
    Env node_env(const std::string& name, const Env& role_env) const;
    std::unique_ptr<ServerProcess> make_edge(std::size_t i, const Env& extra_env);
    bool start_node(ServerProcess& node, const std::string& name);

    ClusterOptions options_;
    PostgresProcess postgres_;
    RedisProcess redis_;
    S3rverProcess s3_;
    FakeStripe stripe_;
    std::string database_url_;
    TempDir api_dir_;
    std::vector<std::unique_ptr<TempDir>> edge_dirs_;
    std::unique_ptr<ServerProcess> api_;
    std::vector<std::unique_ptr<ServerProcess>> edges_;
    std::unique_ptr<NginxProcess> nginx_;
    std::string error_;
};

/** GET `target` on 127.0.0.1:`port` (a node or nginx); status 0 when nothing answered. */
RawResponse get(int port, const std::string& target, const Env& headers = {});

/** Which node answered (X-Served-By), empty when none said. */
std::string served_by(const RawResponse& res);

} // namespace cdn::test
