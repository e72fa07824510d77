#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "app/accounts.h"
#include "app/config.h"
#include "app/service.h"
#include "app/stores.h"
#include "core/clock.h"
#include "db/migrations.h"
#include "security/url_signing.h"

extern char** environ;

namespace {

using namespace cdn;

constexpr int EXIT_BAD_USAGE = 2;

/** Options every subcommand takes after its name. */
struct CommonOptions {
    std::string config_file;
    std::string data_dir;
};

void add_common_options(CLI::App& command, CommonOptions& options) {
    command.add_option("--config", options.config_file, "TOML config file");
    command.add_option("--data-dir", options.data_dir, "data directory (default ./data)");
}

std::vector<std::string> environment() {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        env.emplace_back(*e);
    }
    return env;
}

std::string env_or(const char* name, std::string fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

/** Loads the config or exits 2 naming every bad key. */
app::Config load_or_exit(CommonOptions options) {
    if (options.data_dir.empty()) {
        options.data_dir = env_or("IMAGECDN_DATA_DIR", "./data");
    }
    if (options.config_file.empty()) {
        options.config_file = env_or("IMAGECDN_CONFIG", "");
    }
    auto config = app::load_config(options.config_file, options.data_dir, environment());
    if (!config) {
        std::cerr << "imagecdn: bad config: " << config.error().message << "\n";
        std::exit(EXIT_BAD_USAGE);
    }
    std::error_code ec;
    std::filesystem::create_directories(config->data_dir, ec);
    if (ec) {
        std::cerr << "imagecdn: cannot create data dir " << config->data_dir << ": " << ec.message()
                  << "\n";
        std::exit(1);
    }
    core::init_logging(config->log);
    return std::move(*config);
}

int run_migrate(const app::Config& config) {
    auto database = app::open_database(config);
    if (!database) {
        std::cerr << "imagecdn: " << database.error().message << " " << database.error().detail
                  << "\n";
        return 1;
    }
    auto version = db::migrate(**database);
    std::cout << "schema version " << version.value() << "\n";
    return 0;
}

int run_customer_create(const app::Config& config, const std::string& email,
                        const std::string& plan) {
    auto database = app::open_database(config);
    if (!database) {
        std::cerr << "imagecdn: " << database.error().message << "\n";
        return 1;
    }
    core::SystemClock clock;
    auto created = app::create_customer(**database, config.plans, clock, email, plan);
    if (!created) {
        std::cerr << "imagecdn: " << created.error().message << "\n";
        return created.error().code == core::Errc::InvalidRequest ? EXIT_BAD_USAGE : 1;
    }
    std::cout << fmt::format(R"({{"customer_id":"{}","public_key":"{}","api_key":"{}"}})",
                             created->customer_id, created->public_key, created->api_key)
              << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App cli{"ImageCDN: a self-hostable, multi-tenant image CDN", "imagecdn"};
    cli.require_subcommand(1);

    CommonOptions serve_options;
    std::string role = "all";
    std::string listen;
    bool demo = false;
    auto* serve = cli.add_subcommand("serve", "run the service");
    add_common_options(*serve, serve_options);
    serve->add_option("--role", role, "all | edge | api")->check(CLI::IsMember({"all", "edge", "api"}));
    serve->add_option("--listen", listen, "address to listen on, host:port");
    serve->add_flag("--demo", demo, "create a demo customer with sample images and print URLs");

    CommonOptions migrate_options;
    auto* migrate = cli.add_subcommand("migrate", "create or upgrade the database schema");
    add_common_options(*migrate, migrate_options);

    CommonOptions customer_options;
    std::string email;
    std::string plan = "free";
    auto* customer = cli.add_subcommand("customer", "manage customers");
    customer->require_subcommand(1);
    auto* customer_create = customer->add_subcommand("create", "create a customer and an API key");
    add_common_options(*customer_create, customer_options);
    customer_create->add_option("--email", email, "the customer's email")->required();
    customer_create->add_option("--plan", plan, "plan name (default free)");

    std::string url_to_sign;
    std::string signing_secret;
    auto* sign_url = cli.add_subcommand("sign-url", "print a delivery URL signed with a secret");
    sign_url->add_option("url", url_to_sign, "the URL (path?query or absolute)")->required();
    sign_url->add_option("--secret", signing_secret, "the customer's URL-signing secret")->required();
    CommonOptions sign_options;
    add_common_options(*sign_url, sign_options);

    auto* version = cli.add_subcommand("version", "print the version");

    try {
        cli.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return cli.exit(e);
    } catch (const CLI::ParseError& e) {
        cli.exit(e);
        return EXIT_BAD_USAGE;
    }

    if (version->parsed()) {
        std::cout << "imagecdn " << IMAGECDN_VERSION << "\n";
        return 0;
    }
    if (sign_url->parsed()) {
        auto signed_url = security::sign_url(url_to_sign, signing_secret);
        if (!signed_url) {
            std::cerr << "imagecdn: " << signed_url.error().message << "\n";
            return EXIT_BAD_USAGE;
        }
        std::cout << *signed_url << "\n";
        return 0;
    }
    if (migrate->parsed()) {
        return run_migrate(load_or_exit(migrate_options));
    }
    if (customer_create->parsed()) {
        return run_customer_create(load_or_exit(customer_options), email, plan);
    }
    auto config = load_or_exit(serve_options);
    if (!listen.empty()) {
        config.server.listen = listen;
        config.server.public_base_url = "http://" + listen;
    }
    if (role != "all") {
        spdlog::warn("--role {} runs the same routes as 'all' until split roles land", role);
    }
    return app::run_service(config, demo);
}
