#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "api/auth/accounts.h"
#include "app/config.h"
#include "app/customer_admin.h"
#include "app/database_commands.h"
#include "app/fd_limit.h"
#include "app/pid_file.h"
#include "app/secrets.h"
#include "app/service.h"
#include "app/stores.h"
#include "billing/billing_sync.h"
#include "billing/overage_reporter.h"
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
    if (auto created = app::create_data_dir(config->data_dir); !created) {
        std::cerr << "imagecdn: " << created.error().message << "\n";
        std::exit(1);
    }
    core::init_logging(config->log);
    return std::move(*config);
}

/** Exit 1 with the error's message and detail (start-up failures: the operator needs both). */
int report_startup_failure(const core::Error& error) {
    std::cerr << "imagecdn: " << error.message << " (" << error.detail << ")\n";
    return 1;
}

int run_migrate(const app::Config& config) {
    auto database = app::open_database(config);
    if (!database) {
        return report_startup_failure(database.error());
    }
    // open_database migrated it: this reads the version (a no-op migration).
    auto version = db::migrate(**database);
    if (!version) {
        return report_startup_failure(version.error());
    }
    std::cout << "schema version " << *version << "\n";
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
    auto created = api::create_customer(**database, config.plans, clock, email, plan);
    if (!created) {
        std::cerr << "imagecdn: " << created.error().message << "\n";
        return created.error().code == core::Errc::InvalidRequest ? EXIT_BAD_USAGE : 1;
    }
    std::cout << fmt::format(R"({{"customer_id":"{}","public_key":"{}","api_key":"{}"}})",
                             created->customer_id, created->public_key, created->api_key)
              << "\n";
    return 0;
}

/** Exit code and message for a failed operator command. */
int report_failure(const core::Error& error) {
    std::cerr << "imagecdn: " << error.message;
    if (!error.field.empty() && error.message.find(error.field) == std::string::npos) {
        std::cerr << " (" << error.field << ")";
    }
    std::cerr << "\n";
    switch (error.code) {
    case core::Errc::Internal:
    case core::Errc::Unavailable:
        return 1;
    default:
        return EXIT_BAD_USAGE;
    }
}

/** Opens the database, runs one operator change and tells a running server about it. */
template <class Change> int run_admin(const app::Config& config, Change change) {
    auto database = app::open_database(config);
    if (!database) {
        return report_failure(database.error());
    }
    if (auto migrated = db::migrate(**database); !migrated) {
        return report_failure(migrated.error());
    }
    auto done = change(**database);
    if (!done) {
        return report_failure(done.error());
    }
    if (app::notify_running_server(config.data_dir)) {
        std::cerr << "imagecdn: the running server reloaded its customer configs\n";
    }
    return 0;
}

/** `imagecdn customer update|domains|show` and `imagecdn preset put|delete`. */
struct AdminCommands {
    CommonOptions common;
    std::string public_key;
    app::CustomerUpdate update;
    std::string settings;
    std::string plan;
    bool suspend = false;
    bool unsuspend = false;
    std::vector<std::string> hosts;
    std::string preset_name;
    std::string preset_options;
    CLI::App* update_command = nullptr;
    CLI::App* domains_command = nullptr;
    CLI::App* show_command = nullptr;
    CLI::App* preset_put = nullptr;
    CLI::App* preset_delete = nullptr;

    void add(CLI::App& customer, CLI::App& cli) {
        update_command = customer.add_subcommand("update", "change a customer's plan or settings");
        add_common_options(*update_command, common);
        update_command->add_option("public_key", public_key, "the customer's public key")->required();
        update_command->add_option("--plan", plan, "new plan name");
        update_command->add_option("--settings", settings,
                                   "a settings patch as JSON, e.g. '{\"allowed_domains\":[\"example.com\"]}'");
        update_command->add_flag("--suspend", suspend, "stop serving the customer's images");
        update_command->add_flag("--unsuspend", unsuspend, "serve them again");

        domains_command = customer.add_subcommand("domains", "set a customer's custom domains");
        add_common_options(*domains_command, common);
        domains_command->add_option("public_key", public_key, "the customer's public key")->required();
        domains_command->add_option("hosts", hosts, "host names (none: remove all)");

        show_command = customer.add_subcommand("show", "print a customer as JSON");
        add_common_options(*show_command, common);
        show_command->add_option("public_key", public_key, "the customer's public key")->required();

        auto* preset = cli.add_subcommand("preset", "manage a customer's presets");
        preset->require_subcommand(1);
        preset_put = preset->add_subcommand("put", "create or replace a preset");
        add_common_options(*preset_put, common);
        preset_put->add_option("public_key", public_key, "the customer's public key")->required();
        preset_put->add_option("name", preset_name, "preset name")->required();
        preset_put->add_option("options", preset_options, "e.g. 'w=400&h=300&fit=cover'")->required();
        preset_delete = preset->add_subcommand("delete", "delete a preset");
        add_common_options(*preset_delete, common);
        preset_delete->add_option("public_key", public_key, "the customer's public key")->required();
        preset_delete->add_option("name", preset_name, "preset name")->required();
    }

    bool parsed() const {
        return update_command->parsed() || domains_command->parsed() || show_command->parsed() ||
               preset_put->parsed() || preset_delete->parsed();
    }

    int run() {
        const auto config = load_or_exit(common);
        if (show_command->parsed()) {
            return show(config);
        }
        if (update_command->parsed()) {
            return update_customer(config);
        }
        if (domains_command->parsed()) {
            return run_admin(config, [&](db::Database& db) {
                return app::set_custom_domains(db, config.plans, public_key, hosts);
            });
        }
        if (preset_put->parsed()) {
            return put_preset(config);
        }
        return delete_preset(config);
    }

    /** `customer show`: read-only, so it neither migrates nor notifies a running server. */
    int show(const app::Config& config) const {
        auto database = app::open_database(config);
        if (!database) {
            return report_failure(database.error());
        }
        auto shown = app::describe_customer(**database, public_key);
        if (!shown) {
            return report_failure(shown.error());
        }
        std::cout << *shown << "\n";
        return 0;
    }

    /** `customer update`: only the options given change; --suspend wins over --unsuspend. */
    int update_customer(const app::Config& config) {
        if (!plan.empty()) {
            update.plan = plan;
        }
        if (!settings.empty()) {
            update.settings_patch = settings;
        }
        if (suspend || unsuspend) {
            update.suspended = suspend;
        }
        core::SystemClock clock;
        return run_admin(config, [&](db::Database& db) {
            return app::update_customer(db, config.plans, clock, public_key, update);
        });
    }

    int put_preset(const app::Config& config) const {
        const auto max_dimension = static_cast<std::uint32_t>(config.limits.max_output_dimension);
        core::SystemClock clock;
        return run_admin(config, [&](db::Database& db) {
            return app::put_preset(db, clock, max_dimension, public_key, preset_name,
                                   preset_options);
        });
    }

    /** `preset delete` of a name the customer does not have is an operator error (exit 2). */
    int delete_preset(const app::Config& config) const {
        return run_admin(config, [&](db::Database& db) -> core::Result<void> {
            CDN_TRY(removed, app::delete_preset(db, public_key, preset_name));
            if (!removed) {
                return core::make_error(core::Errc::NotFound, "no preset named " + preset_name);
            }
            return {};
        });
    }
};

/** `imagecdn billing sync` and `imagecdn billing report-overage`: Stripe repairs and reports an
 *  operator (or cron) runs; each prints one JSON line. */
struct BillingCommands {
    CommonOptions common;
    CLI::App* sync_command = nullptr;
    CLI::App* report_command = nullptr;

    void add(CLI::App& cli) {
        auto* billing = cli.add_subcommand("billing", "Stripe billing maintenance");
        billing->require_subcommand(1);
        sync_command = billing->add_subcommand(
            "sync", "re-read every customer's subscriptions from Stripe and repair plans");
        report_command = billing->add_subcommand(
            "report-overage", "send finished days' overage to Stripe as meter events");
        add_common_options(*sync_command, common);
        add_common_options(*report_command, common);
    }

    bool parsed() const { return sync_command->parsed() || report_command->parsed(); }

    int run() {
        const auto config = load_or_exit(common);
        auto database = app::open_database(config);
        if (!database) {
            return report_failure(database.error());
        }
        if (auto migrated = db::migrate(**database); !migrated) {
            return report_failure(migrated.error());
        }
        core::SystemClock clock;
        billing::StripeClient stripe(app::stripe_endpoint(config.stripe));
        if (!stripe.configured()) {
            std::cerr << "imagecdn: [stripe] secret_key is not set\n";
            return EXIT_BAD_USAGE;
        }
        return sync_command->parsed() ? sync(config, **database, stripe, clock)
                                      : report(config, **database, stripe, clock);
    }

    static int sync(const app::Config& config, db::Database& db, billing::StripeClient& stripe,
                    const core::Clock& clock) {
        auto run = billing::sync_billing(db, stripe, config.plans, clock);
        if (!run) {
            return report_failure(run.error());
        }
        std::cout << fmt::format(R"({{"customers":{},"repaired":{},"failed":{}}})",
                                 run->customers, run->repaired.size(), run->failed)
                  << "\n";
        if (!run->repaired.empty() && app::notify_running_server(config.data_dir)) {
            std::cerr << "imagecdn: the running server reloaded its customer configs\n";
        }
        return run->failed == 0 ? 0 : 1;
    }

    static int report(const app::Config& config, db::Database& db, billing::StripeClient& stripe,
                      const core::Clock& clock) {
        billing::OverageReporter reporter(db, stripe, config.plans, clock,
                                          config.billing.meter_event_name,
                                          static_cast<std::int64_t>(config.billing.settle_seconds));
        auto run = reporter.run();
        if (!run) {
            return report_failure(run.error());
        }
        std::cout << fmt::format(
                         R"({{"reports_created":{},"sent":{},"failed":{},"bytes_sent":{}}})",
                         run->reports_created, run->sent, run->failed, run->bytes_sent)
                  << "\n";
        return run->failed == 0 ? 0 : 1;
    }
};

/** `imagecdn db copy --to URL` and `imagecdn backup --to FILE`: moving and saving the embedded
 *  database; each prints what it wrote. */
struct DatabaseCommands {
    CommonOptions common;
    std::string to;
    CLI::App* copy_command = nullptr;
    CLI::App* backup_command = nullptr;

    void add(CLI::App& cli) {
        auto* database = cli.add_subcommand("db", "move the embedded database");
        database->require_subcommand(1);
        copy_command = database->add_subcommand(
            "copy", "copy the embedded database into an empty PostgreSQL database");
        add_common_options(*copy_command, common);
        copy_command->add_option("--to", to, "postgres://user:password@host:port/dbname")
            ->required();
        backup_command =
            cli.add_subcommand("backup", "consistent online backup of the embedded database");
        add_common_options(*backup_command, common);
        backup_command->add_option("--to", to, "the backup file to write")->required();
    }

    bool parsed() const { return copy_command->parsed() || backup_command->parsed(); }

    int run() const {
        const auto config = load_or_exit(common);
        auto done = copy_command->parsed() ? app::copy_database_to(config, to)
                                           : app::backup_database(config, to);
        if (!done) {
            // A database's own reason is only in `detail`; the operator needs it.
            if (!done.error().detail.empty()) {
                std::cerr << "imagecdn: " << done.error().detail << "\n";
            }
            return report_failure(done.error());
        }
        std::cout << *done << "\n";
        return 0;
    }
};

/** `imagecdn serve`: the service, in the role and on the address the options give. */
struct ServeCommand {
    CommonOptions common;
    std::string role = "all";
    std::string listen;
    bool demo = false;

    void add(CLI::App& cli) {
        auto* serve = cli.add_subcommand("serve", "run the service");
        add_common_options(*serve, common);
        serve->add_option("--role", role, "all | edge | api")
            ->check(CLI::IsMember({"all", "edge", "api"}));
        serve->add_option("--listen", listen, "address to listen on, host:port");
        serve->add_flag("--demo", demo, "create a demo customer with sample images and print URLs");
    }

    int run() const {
        auto config = load_or_exit(common);
        if (auto fits = app::fit_connections_to_fd_limit(config, app::raise_fd_limit()); !fits) {
            std::cerr << "imagecdn: bad config: " << fits.error().message << "\n";
            return EXIT_BAD_USAGE;
        }
        if (!listen.empty()) {
            config.server.listen = listen;
            config.server.public_base_url = "http://" + listen;
        }
        const auto service_role = role == "edge"  ? app::Role::Edge
                                  : role == "api" ? app::Role::Api
                                                  : app::Role::All;
        return app::run_service(config, demo, service_role);
    }
};

/** `imagecdn migrate`. */
struct MigrateCommand {
    CommonOptions common;
    CLI::App* command = nullptr;

    void add(CLI::App& cli) {
        command = cli.add_subcommand("migrate", "create or upgrade the database schema");
        add_common_options(*command, common);
    }

    bool parsed() const { return command->parsed(); }
    int run() const { return run_migrate(load_or_exit(common)); }
};

/** `imagecdn customer create`. */
struct CustomerCreateCommand {
    CommonOptions common;
    std::string email;
    std::string plan = "free";
    CLI::App* command = nullptr;

    void add(CLI::App& customer) {
        command = customer.add_subcommand("create", "create a customer and an API key");
        add_common_options(*command, common);
        command->add_option("--email", email, "the customer's email")->required();
        command->add_option("--plan", plan, "plan name (default free)");
    }

    bool parsed() const { return command->parsed(); }
    int run() const { return run_customer_create(load_or_exit(common), email, plan); }
};

/** `imagecdn sign-url`: needs no config (its options are accepted for uniformity). */
struct SignUrlCommand {
    CommonOptions common;
    std::string url;
    std::string secret;
    CLI::App* command = nullptr;

    void add(CLI::App& cli) {
        command = cli.add_subcommand("sign-url", "print a delivery URL signed with a secret");
        command->add_option("url", url, "the URL (path?query or absolute)")->required();
        command->add_option("--secret", secret, "the customer's URL-signing secret")->required();
        add_common_options(*command, common);
    }

    bool parsed() const { return command->parsed(); }

    int run() const {
        auto signed_url = security::sign_url(url, secret);
        if (!signed_url) {
            std::cerr << "imagecdn: " << signed_url.error().message << "\n";
            return EXIT_BAD_USAGE;
        }
        std::cout << *signed_url << "\n";
        return 0;
    }
};

/** Parses the command line: the exit code when that is all there is to do (help, or a usage
 *  error, which CLI11 has already printed). */
std::optional<int> parse_or_exit_code(CLI::App& cli, int argc, char** argv) {
    try {
        cli.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return cli.exit(e);
    } catch (const CLI::ParseError& e) {
        cli.exit(e);
        return EXIT_BAD_USAGE;
    }
    return std::nullopt;
}

/** Every subcommand, registered in the order `imagecdn --help` lists them. CLI11 keeps
 *  pointers to the members: a Commands is never moved once added. */
struct Commands {
    ServeCommand serve;
    MigrateCommand migrate;
    CustomerCreateCommand customer_create;
    AdminCommands admin;
    SignUrlCommand sign_url;
    BillingCommands billing;
    DatabaseCommands database;
    CLI::App* version = nullptr;

    void add(CLI::App& cli) {
        serve.add(cli);
        migrate.add(cli);
        auto* customer = cli.add_subcommand("customer", "manage customers");
        customer->require_subcommand(1);
        customer_create.add(*customer);
        admin.add(*customer, cli);
        sign_url.add(cli);
        billing.add(cli);
        database.add(cli);
        version = cli.add_subcommand("version", "print the version");
    }

    /** Runs the one subcommand parsed: the process exit code. */
    int run() {
        if (version->parsed()) {
            std::cout << "imagecdn " << IMAGECDN_VERSION << "\n";
            return 0;
        }
        if (sign_url.parsed()) {
            return sign_url.run();
        }
        if (migrate.parsed()) {
            return migrate.run();
        }
        if (customer_create.parsed()) {
            return customer_create.run();
        }
        if (admin.parsed()) {
            return admin.run();
        }
        if (billing.parsed()) {
            return billing.run();
        }
        if (database.parsed()) {
            return database.run();
        }
        // `serve` is the one subcommand left.
        return serve.run();
    }
};

} // namespace

int main(int argc, char** argv) {
    CLI::App cli{"ImageCDN: a self-hostable, multi-tenant image CDN", "imagecdn"};
    cli.require_subcommand(1);
    Commands commands;
    commands.add(cli);
    if (const auto exit_code = parse_or_exit_code(cli, argc, argv)) {
        return *exit_code;
    }
    return commands.run();
}
