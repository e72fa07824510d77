#include "app/secrets.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "security/keys.h"

namespace cdn::app {

core::Result<std::string> load_or_create_secret(const std::string& data_dir,
                                                const std::string& name) {
    const auto path = std::filesystem::path(data_dir) / name;
    if (std::ifstream in(path); in) {
        std::stringstream content;
        content << in.rdbuf();
        auto secret = content.str();
        while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
            secret.pop_back();
        }
        if (!secret.empty()) {
            return secret;
        }
    }
    const auto secret = security::generate_secret();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, secret.data(), secret.size()) != static_cast<ssize_t>(secret.size())) {
        if (fd >= 0) {
            ::close(fd);
        }
        return core::make_error(core::Errc::Internal, "cannot write the secret file " + path.string());
    }
    ::close(fd);
    return secret;
}

} // namespace cdn::app
