// app::load_config, as `imagecdn serve` calls it: a TOML file, then IMAGECDN_* variables.
// Input: the file's text, optionally a NUL byte and the environment, one NAME=value a line.
// toml++ is compiled into config.cpp, so it is instrumented too. Property: none beyond the
// sanitizers' (no crash, no exception escaping, no undefined behaviour on any text).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "app/config.h"
#include "core/strings.h"
#include "fuzz_check.h"

namespace {

std::string config_path;

} // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    config_path = "/tmp/imagecdn-config-fuzz-" + std::to_string(getpid()) + ".toml";
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdn;
    const auto [file_text, env_text] = fuzz::split_once(fuzz::text(data, size), '\0');
    std::ofstream(config_path, std::ios::binary | std::ios::trunc) << file_text;
    std::vector<std::string> env;
    for (const auto line : core::split(env_text, '\n')) {
        env.emplace_back(line);
    }
    (void)app::load_config(config_path, "/tmp/data", env);
    return 0;
}
