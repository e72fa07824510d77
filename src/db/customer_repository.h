#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace cdn::db {

/** One row of `customers`. Emails and hosts are stored as given: callers lower-case them. */
struct CustomerRecord {
    std::string id;
    std::string public_key;
    std::string email;
    std::string plan;
    /** The customer's settings object as JSON text; owned and validated by api/. */
    std::string settings_json = "{}";
    std::string signing_secret;
    bool suspended = false;
    /** "active" or "past_due". */
    std::string billing_status = "active";
    std::optional<std::string> stripe_customer_id;
    /** The Stripe subscription the plan comes from, if any. */
    std::optional<std::string> stripe_subscription_id;
    /** Unix seconds of the first failed payment while past due; empty when active. */
    std::optional<std::int64_t> past_due_since;
    /** `created` of the last subscription event applied (0: none). */
    std::int64_t subscription_event_at = 0;
    /** `created` of the last invoice event applied (0: none). */
    std::int64_t invoice_event_at = 0;
    /** Unix seconds. */
    std::int64_t created_at = 0;
    /** Unix seconds. */
    std::int64_t updated_at = 0;
    /** argon2id hash; absent for customers created by the operator CLI without a password. */
    std::optional<std::string> password_hash;
};

/** Customers and their custom domains. Works on a Database or on a transaction handle. */
class CustomerRepository {
public:
    explicit CustomerRepository(Database& db) : db_(db) {}

    /** Errc::Conflict when the id, public key or email is taken (detail names the column). */
    core::Result<void> insert(const CustomerRecord& customer);

    core::Result<std::optional<CustomerRecord>> find_by_id(std::string_view id);
    core::Result<std::optional<CustomerRecord>> find_by_public_key(std::string_view public_key);
    core::Result<std::optional<CustomerRecord>> find_by_email(std::string_view email);
    /** The customer serving images under `host` (a custom domain), if any. */
    core::Result<std::optional<CustomerRecord>> find_by_custom_domain(std::string_view host);

    /** Errc::NotFound when no customer has `id`. @param now unix seconds. */
    core::Result<void> update_plan(std::string_view id, std::string_view plan, std::int64_t now);
    /** Errc::NotFound when no customer has `id`. @param now unix seconds. */
    core::Result<void> update_settings(std::string_view id, std::string_view settings_json,
                                       std::int64_t now);
    /** Errc::NotFound when no customer has `id`. @param now unix seconds. */
    core::Result<void> update_signing_secret(std::string_view id, std::string_view secret,
                                             std::int64_t now);
    /** Errc::NotFound when no customer has `id`. @param now unix seconds. */
    core::Result<void> set_suspended(std::string_view id, bool suspended, std::int64_t now);

    /**
     * Makes `hosts` exactly the customer's custom domains, atomically.
     * Errc::Conflict when a host belongs to another customer (or is listed twice).
     */
    core::Result<void> replace_custom_domains(std::string_view customer_id,
                                              const std::vector<std::string>& hosts);

    /** The customer's custom domains in byte order; empty for an unknown customer. */
    core::Result<std::vector<std::string>> list_custom_domains(std::string_view customer_id);

    core::Result<std::int64_t> count();

    core::Result<std::optional<CustomerRecord>>
    find_by_stripe_customer_id(std::string_view stripe_customer_id);
    /** Every customer with a Stripe customer id, for `imagecdn billing sync` and overage. */
    core::Result<std::vector<CustomerRecord>> list_with_stripe_customer();
    /** Errc::Conflict when another customer has this Stripe id. */
    core::Result<void> set_stripe_customer_id(std::string_view id,
                                              std::string_view stripe_customer_id,
                                              std::int64_t now);
    /** Writes plan, billing_status, stripe_subscription_id, past_due_since and both
     *  *_event_at columns of `customer` (the billing state a webhook or sync decided). */
    core::Result<void> update_billing(const CustomerRecord& customer, std::int64_t now);

private:
    core::Result<std::optional<CustomerRecord>> find_one(std::string_view where,
                                                         std::string_view key);
    core::Result<void> update_one(std::string_view sql, std::vector<Value> params);

    Database& db_;
};

} // namespace cdn::db
