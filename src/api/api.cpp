#include "api/api.h"

#include "api/auth/routes.h"
#include "api/billing/routes.h"
#include "api/customer/routes.h"
#include "api/images/routes.h"
#include "api/internal/routes.h"
#include "api/keys/routes.h"
#include "api/openapi/routes.h"
#include "api/presets/routes.h"
#include "api/purge/routes.h"
#include "api/usage/routes.h"
#include "api/webhooks/routes.h"

namespace cdn::api {

void add_routes(ApiRouter& router, ApiDeps& deps) {
    add_auth_routes(router, deps);
    add_keys_routes(router, deps);
    add_customer_routes(router, deps);
    add_images_routes(router, deps);
    add_usage_routes(router, deps);
    add_presets_routes(router, deps);
    add_purge_routes(router, deps);
    add_internal_routes(router, deps);
    add_billing_routes(router, deps);
    add_webhooks_routes(router, deps);
    add_openapi_routes(router, deps);
}

const account::Plan& ApiDeps::plan_of(const db::CustomerRecord& customer) const {
    return billing::effective_plan(plans, customer, clock.unix_seconds(), grace);
}

std::string ApiConfig::url_for(std::string_view path) const {
    std::string url = public_base_url;
    while (url.ends_with('/')) {
        url.pop_back();
    }
    return url.append(path);
}

} // namespace cdn::api
