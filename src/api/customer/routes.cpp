#include "api/customer/routes.h"

namespace cdn::api {

void add_customer_routes(ApiRouter& /*router*/, ApiDeps& /*deps*/) {}

} // namespace cdn::api
