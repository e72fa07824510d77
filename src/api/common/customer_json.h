#pragma once

#include <boost/json.hpp>

#include <string_view>

#include "api/api.h"
#include "core/result.h"
#include "db/customer_repository.h"
#include "db/database.h"

namespace cdn::api {

/** api.md's customer object: {id, email, plan, billing_status, public_key, settings,
 *  created_at (RFC 3339)}. */
boost::json::object customer_json(const db::CustomerRecord& customer);

/** The calling customer's row; Unauthorized when it no longer exists (a token outliving its
 *  account). */
core::Result<db::CustomerRecord> load_customer(db::Database& db, std::string_view customer_id);

/** The row of the customer calling an Access::Customer route (load_customer). */
core::Result<db::CustomerRecord> caller_customer(const ApiDeps& deps, const ApiRequest& request);

} // namespace cdn::api
