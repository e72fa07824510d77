#pragma once

#include <string>
#include <sys/types.h>

namespace cdn::app {

/**
 * `{data_dir}/imagecdn.pid` while `imagecdn serve` runs, so that the operator CLI can tell the
 * server about a change it made (SIGHUP: reload customer configs). Removed on exit.
 */
class PidFile {
public:
    explicit PidFile(const std::string& data_dir);
    ~PidFile();
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

private:
    std::string path_;
};

/**
 * Sends SIGHUP to the server running on `data_dir`, if there is one. The pid is trusted only
 * when that process runs this same executable: a stale file naming another program's pid
 * must not get it a signal that would end it.
 * @return true when a server was signalled
 */
bool notify_running_server(const std::string& data_dir);

} // namespace cdn::app
