#include "app/demo.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "api/auth/accounts.h"
#include "core/clock.h"
#include "db/customer_repository.h"
#include "transform/vips_runtime.h"

namespace cdn::app {
namespace {

constexpr std::string_view DEMO_EMAIL = "demo@imagecdn.example";

core::Result<std::string> demo_public_key(db::Database& database, const Config& config) {
    CDN_TRY(existing, db::CustomerRepository(database).find_by_email(DEMO_EMAIL));
    if (existing) {
        return existing->public_key;
    }
    core::SystemClock clock;
    CDN_TRY(created, api::create_customer(database, config.plans, clock, std::string(DEMO_EMAIL), "pro"));
    return created.public_key;
}

std::string base_url(const Config& config, std::uint16_t port) {
    const auto& listen = config.server.listen;
    if (config.server.public_base_url != "http://" + listen) {
        return config.server.public_base_url;
    }
    return fmt::format("http://{}:{}", listen.substr(0, listen.rfind(':')), port);
}

/** Real photographs from Debian's mate-backgrounds (installed by scripts/setup.sh), when
 *  present; the generated samples otherwise. */
std::vector<std::pair<std::string, std::string>> sample_images() {
    auto images = transform::demo_images();
    const std::vector<std::pair<std::string, std::string>> photos{
        {"photos/landscape.jpg", "/usr/share/backgrounds/mate/nature/LadyBird.jpg"},
        {"photos/dune.jpg", "/usr/share/backgrounds/mate/nature/Dune.jpg"},
    };
    for (const auto& [name, file] : photos) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            continue;
        }
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // An init-capture: clang 14 cannot capture a structured binding by name.
        std::erase_if(images, [&photo = name](const auto& image) { return image.first == photo; });
        images.emplace_back(name, std::move(bytes));
    }
    return images;
}

} // namespace

core::Result<void> ensure_demo(Stores& stores, const Config& config, std::uint16_t port,
                               api::images::Originals& originals) {
    CDN_TRY(public_key, demo_public_key(*stores.database, config));
    CDN_TRY(customer, db::CustomerRepository(*stores.database).find_by_public_key(public_key));
    if (!customer) {
        return core::make_error(core::Errc::Internal, "the demo customer is missing");
    }
    // Through the API's ingest, so the samples are listed with their dimensions like uploads.
    for (const auto& [path, bytes] : sample_images()) {
        if (!originals.find(customer->id, path)) {
            CDN_TRY_VOID(originals.put(customer->id, path, bytes));
        }
    }
    transform::end_vips_job();
    const auto base = base_url(config, port);
    std::cout << fmt::format(
                     "\nImageCDN is running. Try:\n"
                     "  original:        {0}/{1}/photos/landscape.jpg\n"
                     "  resized WebP:    {0}/{1}/photos/landscape.jpg?w=800&format=webp\n"
                     "  PNG with alpha:  {0}/{1}/brand/logo.png\n"
                     "  health:          {0}/healthz\n"
                     "  dashboard:       {0}/dashboard/ (sign up there for your own account)\n"
                     "  API reference:   {0}/api/v1/openapi.json\n"
                     "  demo account:    {2}\n\n",
                     base, public_key, DEMO_EMAIL)
              << std::flush;
    return {};
}

} // namespace cdn::app
