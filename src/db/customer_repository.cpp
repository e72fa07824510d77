#include "db/customer_repository.h"

#include <algorithm>
#include <utility>

#include "db/values.h"

namespace cdn::db {
namespace {

// Column order shared by every SELECT and by to_customer().
constexpr std::string_view COLUMNS =
    "id, public_key, email, plan, settings, signing_secret, suspended, billing_status, "
    "stripe_customer_id, created_at, updated_at, password_hash, stripe_subscription_id, "
    "past_due_since, subscription_event_at, invoice_event_at";

CustomerRecord to_customer(const Row& row) {
    CustomerRecord customer;
    customer.id = row.text(0).value_or("");
    customer.public_key = row.text(1).value_or("");
    customer.email = row.text(2).value_or("");
    customer.plan = row.text(3).value_or("");
    customer.settings_json = row.text(4).value_or("{}");
    customer.signing_secret = row.text(5).value_or("");
    customer.suspended = row.integer(6).value_or(0) != 0;
    customer.billing_status = row.text(7).value_or("active");
    customer.stripe_customer_id = row.text(8);
    customer.created_at = row.integer(9).value_or(0);
    customer.updated_at = row.integer(10).value_or(0);
    customer.password_hash = row.text(11);
    customer.stripe_subscription_id = row.text(12);
    customer.past_due_since = row.integer(13);
    customer.subscription_event_at = row.integer(14).value_or(0);
    customer.invoice_event_at = row.integer(15).value_or(0);
    return customer;
}

} // namespace

core::Result<void> CustomerRepository::insert(const CustomerRecord& c) {
    CDN_TRY_VOID(db_.execute(
        "INSERT INTO customers (id, public_key, email, plan, settings, signing_secret, suspended, "
        "billing_status, stripe_customer_id, created_at, updated_at, password_hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        {c.id, c.public_key, c.email, c.plan, c.settings_json, c.signing_secret,
         std::int64_t{c.suspended ? 1 : 0}, c.billing_status, nullable(c.stripe_customer_id),
         c.created_at, c.updated_at, nullable(c.password_hash)}));
    return {};
}

core::Result<std::optional<CustomerRecord>> CustomerRepository::find_by_id(std::string_view id) {
    return find_one("id = $1", id);
}

core::Result<std::optional<CustomerRecord>>
CustomerRepository::find_by_public_key(std::string_view public_key) {
    return find_one("public_key = $1", public_key);
}

core::Result<std::optional<CustomerRecord>>
CustomerRepository::find_by_email(std::string_view email) {
    return find_one("email = $1", email);
}

core::Result<std::optional<CustomerRecord>>
CustomerRepository::find_by_custom_domain(std::string_view host) {
    return find_one("id = (SELECT customer_id FROM custom_domains WHERE host = $1)", host);
}

core::Result<void> CustomerRepository::update_plan(std::string_view id, std::string_view plan,
                                                   std::int64_t now) {
    return update_one("UPDATE customers SET plan = $2, updated_at = $3 WHERE id = $1",
                      {text_value(id), text_value(plan), now});
}

core::Result<void> CustomerRepository::update_settings(std::string_view id,
                                                       std::string_view settings_json,
                                                       std::int64_t now) {
    return update_one("UPDATE customers SET settings = $2, updated_at = $3 WHERE id = $1",
                      {text_value(id), text_value(settings_json), now});
}

core::Result<void> CustomerRepository::update_signing_secret(std::string_view id,
                                                             std::string_view secret,
                                                             std::int64_t now) {
    return update_one("UPDATE customers SET signing_secret = $2, updated_at = $3 WHERE id = $1",
                      {text_value(id), text_value(secret), now});
}

core::Result<void> CustomerRepository::set_suspended(std::string_view id, bool suspended,
                                                     std::int64_t now) {
    return update_one("UPDATE customers SET suspended = $2, updated_at = $3 WHERE id = $1",
                      {text_value(id), std::int64_t{suspended ? 1 : 0}, now});
}

core::Result<void>
CustomerRepository::replace_custom_domains(std::string_view customer_id,
                                           const std::vector<std::string>& hosts) {
    return db_.transaction([&](Database& tx) -> core::Result<void> {
        CDN_TRY_VOID(tx.execute("DELETE FROM custom_domains WHERE customer_id = $1",
                                {text_value(customer_id)}));
        for (const auto& host : hosts) {
            CDN_TRY_VOID(
                tx.execute("INSERT INTO custom_domains (host, customer_id) VALUES ($1, $2)",
                           {host, text_value(customer_id)}));
        }
        return {};
    });
}

core::Result<std::vector<std::string>>
CustomerRepository::list_custom_domains(std::string_view customer_id) {
    CDN_TRY(rows, db_.query("SELECT host FROM custom_domains WHERE customer_id = $1",
                            {text_value(customer_id)}));
    std::vector<std::string> hosts;
    hosts.reserve(rows.size());
    for (const auto& row : rows) {
        hosts.push_back(row.text(0).value_or(""));
    }
    // Sorted here rather than by ORDER BY: PostgreSQL orders text by the database's collation,
    // which need not be SQLite's byte order (e.g. for '-' against '.').
    std::sort(hosts.begin(), hosts.end());
    return hosts;
}

core::Result<std::int64_t> CustomerRepository::count() {
    CDN_TRY(rows, db_.query("SELECT COUNT(*) FROM customers"));
    return rows.empty() ? 0 : rows.front().integer(0).value_or(0);
}

core::Result<std::optional<CustomerRecord>>
CustomerRepository::find_by_stripe_customer_id(std::string_view stripe_customer_id) {
    return find_one("stripe_customer_id = $1", stripe_customer_id);
}

core::Result<std::vector<CustomerRecord>> CustomerRepository::list_with_stripe_customer() {
    std::string sql = "SELECT ";
    sql.append(COLUMNS).append(" FROM customers WHERE stripe_customer_id IS NOT NULL ORDER BY id");
    CDN_TRY(rows, db_.query(sql));
    std::vector<CustomerRecord> customers;
    customers.reserve(rows.size());
    for (const auto& row : rows) {
        customers.push_back(to_customer(row));
    }
    return customers;
}

core::Result<void> CustomerRepository::set_stripe_customer_id(std::string_view id,
                                                              std::string_view stripe_customer_id,
                                                              std::int64_t now) {
    return update_one(
        "UPDATE customers SET stripe_customer_id = $2, updated_at = $3 WHERE id = $1",
        {text_value(id), text_value(stripe_customer_id), now});
}

core::Result<void> CustomerRepository::update_billing(const CustomerRecord& c, std::int64_t now) {
    return update_one("UPDATE customers SET plan = $2, billing_status = $3, "
                      "stripe_subscription_id = $4, past_due_since = $5, "
                      "subscription_event_at = $6, invoice_event_at = $7, updated_at = $8 "
                      "WHERE id = $1",
                      {c.id, c.plan, c.billing_status, nullable(c.stripe_subscription_id),
                       nullable(c.past_due_since), c.subscription_event_at, c.invoice_event_at,
                       now});
}

core::Result<std::optional<CustomerRecord>> CustomerRepository::find_one(std::string_view where,
                                                                         std::string_view key) {
    std::string sql = "SELECT ";
    sql.append(COLUMNS).append(" FROM customers WHERE ").append(where);
    CDN_TRY(rows, db_.query(sql, {text_value(key)}));
    if (rows.empty()) {
        return std::optional<CustomerRecord>();
    }
    return std::optional<CustomerRecord>(to_customer(rows.front()));
}

core::Result<void> CustomerRepository::update_one(std::string_view sql, std::vector<Value> params) {
    CDN_TRY(changed, db_.execute(sql, std::move(params)));
    if (changed == 0) {
        return core::make_error(core::Errc::NotFound, "customer not found",
                                "no customer with this id to update");
    }
    return {};
}

} // namespace cdn::db
