#pragma once

#include "api/api.h"

namespace cdn::api {

/** The billing module's routes (api.md Billing): the plans now; checkout, portal and invoices
 *  with the Stripe client. */
void add_billing_routes(ApiRouter& router, ApiDeps& deps);

} // namespace cdn::api
