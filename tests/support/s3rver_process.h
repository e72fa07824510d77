#pragma once

#include <sys/types.h>

#include <string>

#include "storage/s3_client.h"
#include "temp_dir.h"

namespace cdn::test {

/**
 * s3rver (npm, pinned in tests/s3) behind the SigV4-verifying proxy of tests/s3/server.mjs, run
 * with Node as a child on free 127.0.0.1 ports, its objects in a temp folder. Clients talk to the
 * proxy (endpoint()): a request whose signature the AWS SDK's signer does not reproduce gets
 * 403 SignatureDoesNotMatch. The child reads a pipe held by this process and exits when it
 * closes, so it never outlives the test binary however that ends; it is stopped by its pid. Its
 * objects are kept in a temp folder of this object's, so that it can be restarted with them.
 */
class S3rverProcess {
public:
    static constexpr const char* kAccessKey = "S3RVER";
    static constexpr const char* kSecretKey = "S3RVER";

    /** Starts it with one empty bucket and waits (polling) until both ports listen; throws
     *  std::runtime_error otherwise. */
    explicit S3rverProcess(std::string bucket = "originals");
    ~S3rverProcess();
    S3rverProcess(const S3rverProcess&) = delete;
    S3rverProcess& operator=(const S3rverProcess&) = delete;

    /** `http://127.0.0.1:<proxy port>`. */
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(proxy_port_); }
    /** The proxy's port (endpoint()'s), where its test controls (/_proxy/...) are too. */
    int port() const { return proxy_port_; }
    const std::string& bucket() const { return bucket_; }
    /** What a client of the bucket needs: endpoint(), bucket() and the keys; the rest default. */
    storage::S3Options client_options() const {
        return {.endpoint = endpoint(), .bucket = bucket_, .access_key = kAccessKey,
                .secret_key = kSecretKey};
    }
    pid_t pid() const { return pid_; }
    /** Whether the child is still running (it has not ended on its own); does not reap it. */
    bool running() const;
    /** SIGTERM, then waits for it; idempotent. */
    void stop();
    /** SIGKILL, then waits for it: a store that is gone (connections refused). */
    void kill();
    /** After stop() or kill(): starts again on the same ports with the same objects; throws
     *  std::runtime_error if it does not come back. */
    void restart();
    /** SIGSTOP: connections are accepted by the kernel but nothing answers, like a hung store.
     *  thaw() (or stop()) resumes it. */
    void freeze();
    void thaw();

private:
    /** Spawns the server on these ports (0: free ones) and waits for READY. */
    void start(int proxy_port, int s3rver_port);
    void end(int signal);
    /** If the child already ended (it should not), prints how and its stderr, and reaps it. */
    void report_if_died();

    TempDir logs_;
    TempDir data_;
    std::string bucket_;
    pid_t pid_ = 0;
    int stdin_fd_ = -1;
    int proxy_port_ = 0;
    int s3rver_port_ = 0;
};

} // namespace cdn::test
