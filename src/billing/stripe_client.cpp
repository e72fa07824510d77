#include "billing/stripe_client.h"

#include <curl/curl.h>

#include <boost/json.hpp>

#include <algorithm>
#include <memory>
#include <mutex>

namespace cdn::billing {
namespace {

namespace json = boost::json;
using core::Errc;

/** Pinned so that Stripe answers in the shapes parsed here, whatever the account's default. */
constexpr const char* STRIPE_API_VERSION = "2024-06-20";
/** A connection that takes longer than this is not coming; the rest of the budget is Stripe's. */
constexpr std::chrono::milliseconds MAX_CONNECT_TIMEOUT{5'000};
/** Stripe's answers are a few KiB; anything far larger is a fault, not something to buffer. */
constexpr std::size_t MAX_ANSWER_BYTES = 4U << 20U;
constexpr const char* UNAVAILABLE = "billing is unavailable, try again later";
constexpr const char* REFUSED = "the billing provider refused the request";

core::Error unavailable(std::string detail) {
    return core::make_error(Errc::BillingUnavailable, UNAVAILABLE, std::move(detail));
}

bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void percent_encode(std::string& out, std::string_view text) {
    constexpr std::string_view HEX = "0123456789ABCDEF";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (unreserved(c)) {
            out += ch;
        } else {
            out += '%';
            out += HEX[c >> 4U];
            out += HEX[c & 0xFU];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// libcurl

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

struct HttpAnswer {
    long status = 0;
    std::string body;
};

/** curl_global_init is not thread-safe and must run once before any handle is made. */
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t collect(char* data, std::size_t size, std::size_t count, void* out) {
    auto& body = *static_cast<std::string*>(out);
    const std::size_t n = size * count;
    if (body.size() + n > MAX_ANSWER_BYTES) {
        return 0; // curl then fails the transfer with CURLE_WRITE_ERROR
    }
    body.append(data, n);
    return n;
}

/** A header value with CR, LF or another control character would split the request. */
bool header_safe(std::string_view value) {
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

core::Result<HeaderList> make_headers(std::string_view secret, std::string_view idempotency_key,
                                      bool post) {
    if (!header_safe(secret) || !header_safe(idempotency_key)) {
        return unavailable("stripe: control characters in the secret key or idempotency key");
    }
    std::vector<std::string> lines{"Authorization: Bearer " + std::string(secret),
                                   std::string("Stripe-Version: ") + STRIPE_API_VERSION,
                                   // A large POST would otherwise wait a second for "100 Continue".
                                   "Expect:"};
    if (post) {
        lines.emplace_back("Content-Type: application/x-www-form-urlencoded");
        lines.push_back("Idempotency-Key: " + std::string(idempotency_key));
    }
    HeaderList list(nullptr, &curl_slist_free_all);
    for (const auto& line : lines) {
        curl_slist* grown = curl_slist_append(list.get(), line.c_str());
        if (grown == nullptr) {
            return unavailable("stripe: out of memory building headers");
        }
        (void)list.release();
        list.reset(grown);
    }
    return list;
}

void set_common_options(CURL* curl, const StripeEndpoint& endpoint, const std::string& url) {
    const auto connect = std::min(endpoint.timeout, MAX_CONNECT_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    // Timeouts must not use SIGALRM: this runs on a pool thread of a multi-threaded server.
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(endpoint.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect.count()));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "imagecdn");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
}

/** One request on its own easy handle; an answer with any status, or unavailable. */
core::Result<HttpAnswer> perform(const StripeEndpoint& endpoint, const std::string& what,
                                 const std::string& url, const std::string* post_body,
                                 std::string_view idempotency_key) {
    init_curl_once();
    CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) {
        return unavailable("stripe: curl_easy_init failed");
    }
    CDN_TRY(headers, make_headers(endpoint.secret_key, idempotency_key, post_body != nullptr));
    HttpAnswer answer;
    char error_text[CURL_ERROR_SIZE] = {};
    set_common_options(curl.get(), endpoint, url);
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &answer.body);
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error_text);
    if (post_body != nullptr) {
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, post_body->c_str());
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(post_body->size()));
    }
    if (const CURLcode rc = curl_easy_perform(curl.get()); rc != CURLE_OK) {
        return unavailable(what + ": " + curl_easy_strerror(rc) + ": " + error_text);
    }
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &answer.status);
    return answer;
}

// ---------------------------------------------------------------------------------------------
// Answers

/** The string at a JSON pointer ("/items/data/0/price/id"); empty when absent or not a string
 *  (Stripe answers null for unset fields). */
std::string text_at(const json::value& v, std::string_view pointer) {
    boost::system::error_code ec;
    const json::value* found = v.find_pointer(pointer, ec);
    return found != nullptr && found->is_string() ? std::string(found->get_string())
                                                  : std::string();
}

std::int64_t integer_at(const json::value& v, std::string_view pointer) {
    boost::system::error_code ec;
    const json::value* found = v.find_pointer(pointer, ec);
    if (found == nullptr) {
        return 0;
    }
    if (found->is_int64()) {
        return found->get_int64();
    }
    return found->is_uint64() ? static_cast<std::int64_t>(found->get_uint64()) : 0;
}

/** A Stripe 4xx error JSON: Stripe's message for the log, its code (or type) as the field. */
core::Error refusal(const std::string& what, long status, const json::value& body) {
    std::string code = text_at(body, "/error/code");
    if (code.empty()) {
        code = text_at(body, "/error/type");
    }
    auto error = core::make_error(Errc::BillingUnavailable, REFUSED,
                                  what + " answered " + std::to_string(status) + " " + code + ": " +
                                      text_at(body, "/error/message"));
    error.field = std::move(code);
    return error;
}

core::Result<json::value> interpret(const std::string& what, const HttpAnswer& answer) {
    boost::system::error_code ec;
    json::value body = json::parse(answer.body, ec);
    const auto status_text = what + " answered " + std::to_string(answer.status);
    if (answer.status == 429 || answer.status >= 500) {
        return unavailable(status_text + ": " +
                           (ec ? answer.body.substr(0, 200) : text_at(body, "/error/message")));
    }
    if (ec) {
        return unavailable(status_text + " with a body that is not JSON: " + ec.message());
    }
    if (answer.status >= 200 && answer.status < 300) {
        return body;
    }
    if (const auto* error = body.find_pointer("/error", ec);
        answer.status >= 400 && error != nullptr && error->is_object()) {
        return refusal(what, answer.status, body);
    }
    return unavailable(status_text + " unexpectedly");
}

/** A string member that must be there (an id, a url) for the answer to be usable. */
core::Result<std::string> required_text(const json::value& body, std::string_view pointer,
                                        std::string_view what) {
    auto text = text_at(body, pointer);
    if (text.empty()) {
        return unavailable(std::string(what) + " answered without " + std::string(pointer));
    }
    return text;
}

/** POSTs and returns the one string member the caller wants of the answer (an id, a url). */
core::Result<std::string> post_for_text(StripeClient& client, std::string_view path,
                                        const FormFields& fields, std::string_view idempotency_key,
                                        std::string_view pointer) {
    CDN_TRY(body, client.post(path, fields, idempotency_key));
    return required_text(body, pointer, "stripe POST " + std::string(path));
}

StripeInvoice parse_invoice(const json::value& v) {
    return StripeInvoice{text_at(v, "/id"),         integer_at(v, "/amount_due"),
                         text_at(v, "/currency"),   text_at(v, "/status"),
                         integer_at(v, "/created"), text_at(v, "/hosted_invoice_url")};
}

StripeSubscription parse_subscription(const json::value& v) {
    return StripeSubscription{text_at(v, "/id"), text_at(v, "/status"),
                              text_at(v, "/items/data/0/price/id"), integer_at(v, "/created")};
}

/** GETs a Stripe list object and parses each item of its `data` (one page: callers ask for
 *  at most 100, Stripe's page limit). */
template <class T>
core::Result<std::vector<T>> get_list(StripeClient& client, std::string_view path,
                                      const FormFields& query, T (*parse)(const json::value&)) {
    CDN_TRY(body, client.get(path, query));
    boost::system::error_code ec;
    const json::value* data = body.find_pointer("/data", ec);
    if (data == nullptr || !data->is_array()) {
        return unavailable("stripe GET " + std::string(path) + " answered something not a list");
    }
    std::vector<T> items;
    for (const auto& item : data->get_array()) {
        items.push_back(parse(item));
    }
    return items;
}

} // namespace

std::string form_encode(const FormFields& fields) {
    std::string out;
    for (const auto& [key, value] : fields) {
        if (!out.empty()) {
            out += '&';
        }
        percent_encode(out, key);
        out += '=';
        percent_encode(out, value);
    }
    return out;
}

StripeClient::StripeClient(StripeEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

bool StripeClient::configured() const { return !endpoint_.secret_key.empty(); }

core::Result<json::value> StripeClient::post(std::string_view path, const FormFields& fields,
                                             std::string_view idempotency_key) {
    const std::string what = "stripe POST " + std::string(path);
    if (!configured()) {
        return unavailable(what + ": no [stripe] secret_key configured");
    }
    const std::string body = form_encode(fields);
    CDN_TRY(answer, perform(endpoint_, what, endpoint_.api_base + std::string(path), &body,
                            idempotency_key));
    return interpret(what, answer);
}

core::Result<json::value> StripeClient::get(std::string_view path, const FormFields& query) {
    const std::string what = "stripe GET " + std::string(path);
    if (!configured()) {
        return unavailable(what + ": no [stripe] secret_key configured");
    }
    std::string url = endpoint_.api_base + std::string(path);
    if (!query.empty()) {
        url += '?' + form_encode(query);
    }
    CDN_TRY(answer, perform(endpoint_, what, url, nullptr, {}));
    return interpret(what, answer);
}

core::Result<std::string> StripeClient::create_customer(std::string_view email,
                                                        std::string_view customer_id,
                                                        std::string_view idempotency_key) {
    const FormFields fields{{"email", std::string(email)},
                            {"metadata[customer_id]", std::string(customer_id)}};
    return post_for_text(*this, "/v1/customers", fields, idempotency_key, "/id");
}

core::Result<std::string> StripeClient::create_checkout_session(const CheckoutRequest& request,
                                                                std::string_view idempotency_key) {
    // The plan and our customer id ride on the subscription too: its webhooks carry them back.
    const FormFields fields{
        {"mode", "subscription"},
        {"customer", request.stripe_customer_id},
        {"client_reference_id", request.client_reference_id},
        {"line_items[0][price]", request.price_id},
        {"line_items[0][quantity]", "1"},
        {"success_url", request.success_url},
        {"cancel_url", request.cancel_url},
        {"metadata[customer_id]", request.client_reference_id},
        {"metadata[plan]", request.plan},
        {"subscription_data[metadata][customer_id]", request.client_reference_id},
        {"subscription_data[metadata][plan]", request.plan},
    };
    return post_for_text(*this, "/v1/checkout/sessions", fields, idempotency_key, "/url");
}

core::Result<std::string> StripeClient::create_portal_session(std::string_view stripe_customer_id,
                                                              std::string_view return_url,
                                                              std::string_view idempotency_key) {
    const FormFields fields{{"customer", std::string(stripe_customer_id)},
                            {"return_url", std::string(return_url)}};
    return post_for_text(*this, "/v1/billing_portal/sessions", fields, idempotency_key, "/url");
}

core::Result<std::vector<StripeInvoice>>
StripeClient::list_invoices(std::string_view stripe_customer_id, int limit) {
    return get_list<StripeInvoice>(
        *this, "/v1/invoices",
        {{"customer", std::string(stripe_customer_id)}, {"limit", std::to_string(limit)}},
        &parse_invoice);
}

core::Result<std::vector<StripeSubscription>>
StripeClient::list_subscriptions(std::string_view stripe_customer_id) {
    // status=all: a canceled subscription is news too (the default list leaves it out).
    return get_list<StripeSubscription>(
        *this, "/v1/subscriptions",
        {{"customer", std::string(stripe_customer_id)}, {"status", "all"}, {"limit", "100"}},
        &parse_subscription);
}

core::Result<void> StripeClient::send_meter_event(std::string_view event_name,
                                                  std::string_view stripe_customer_id,
                                                  std::uint64_t value, std::string_view identifier,
                                                  std::int64_t timestamp) {
    const FormFields fields{{"event_name", std::string(event_name)},
                            {"payload[stripe_customer_id]", std::string(stripe_customer_id)},
                            {"payload[value]", std::to_string(value)},
                            {"identifier", std::string(identifier)},
                            {"timestamp", std::to_string(timestamp)}};
    CDN_TRY_VOID(post("/v1/billing/meter_events", fields, identifier));
    return {};
}

} // namespace cdn::billing
