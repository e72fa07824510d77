#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace cdn::test {

class Watchdog;

/** deploy/nginx/imagecdn.conf.template with its placeholders filled: nginx listening on
 *  `listen`, one `server` line per address in `edges` and `api` (scripts/cluster.sh renders it
 *  the same way). */
std::string render_nginx_template(const std::string& template_text, const std::string& listen,
                                  const std::vector<std::string>& edges,
                                  const std::vector<std::string>& api);

/**
 * Debian's nginx (/usr/sbin/nginx) as a child process in front of a test cluster: the config of
 * deploy/nginx/ rendered for these upstream ports into a fresh temp folder, `-p <folder> -c
 * <conf> -g 'daemon off;'` on a free 127.0.0.1 port; never the system service. Stopped by its
 * pid (SIGQUIT, then SIGKILL) and the folder removed on destruction; a watchdog child does the
 * same if this process dies first.
 */
class NginxProcess {
public:
    /** Starts it and waits (polling) until it listens; throws std::runtime_error otherwise. */
    NginxProcess(const std::vector<int>& edge_ports, const std::vector<int>& api_ports);
    ~NginxProcess();
    NginxProcess(const NginxProcess&) = delete;
    NginxProcess& operator=(const NginxProcess&) = delete;

    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    /** nginx's error log (upstream failures are logged there). */
    std::string error_log() const;
    /** Stops it; idempotent. */
    void stop();

private:
    /** Writes the config for port_ and starts nginx: false when it exits at once (the port was
     *  taken meanwhile). */
    bool launch(const std::vector<int>& edge_ports, const std::vector<int>& api_ports);

    std::filesystem::path root_;
    int port_ = 0;
    pid_t pid_ = 0;
    std::unique_ptr<Watchdog> watchdog_;
};

} // namespace cdn::test
