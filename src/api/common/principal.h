#pragma once

#include <string>

namespace cdn::api {

/** Who is calling: a customer, through a JWT or one of their API keys. */
struct Principal {
    std::string customer_id;
    /** The API key's id when authenticated with one; empty for a JWT. */
    std::string api_key_id;
};

} // namespace cdn::api
