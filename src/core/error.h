#pragma once

#include <string>
#include <string_view>

namespace cdn::core {

/** Every failure the service can answer with. The table in error.cpp maps each to its
 *  machine-readable code and HTTP status; nothing else decides a status. */
enum class Errc {
    BadRequest,
    InvalidParameter,
    UnknownParameter,
    /** A known option (or value) of another service's URL API that we do not implement, e.g.
     *  imgix's face detection: 400 naming it, so a migrating client sees what is missing. */
    UnsupportedParameter,
    DimensionTooLarge,
    InvalidPath,
    NotFound,
    UnknownCustomer,
    CustomerSuspended,
    MethodNotAllowed,
    UriTooLong,
    HeaderTooLarge,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidJson,
    InvalidRequest,
    InvalidSettings,
    /** A preset's name or options (api.md presets): 422 naming the field. */
    InvalidPreset,
    UnknownPreset,
    PresetsOnly,
    Unauthorized,
    Forbidden,
    Conflict,
    RateLimited,
    EmailTaken,
    InvalidCredentials,
    TooManyRequests,
    DomainNotAllowed,
    InvalidSignature,
    /** A webhook whose Stripe-Signature does not verify: 400, unlike a signed URL's 403. */
    InvalidWebhookSignature,
    SignatureExpired,
    FeatureNotInPlan,
    QuotaExceeded,
    StorageQuotaExceeded,
    SourceTooLarge,
    UnprocessableImage,
    /** A direct upload whose stored object is not what its upload URL was made for (size,
     *  content type): 422. */
    UploadMismatch,
    TransformTimeout,
    Busy,
    /** A request whose head or body did not arrive in time or arrived too slowly: 408. */
    RequestTimeout,
    /** A client address over [server] max_connections_per_client: 503. */
    TooManyConnections,
    OriginUnavailable,
    /** Stripe unreachable, timing out or failing. */
    BillingUnavailable,
    /** No Stripe secret key in the config: checkout and portal can never work here (501). */
    BillingNotConfigured,
    /** Checkout for the plan the customer already has. */
    AlreadyOnPlan,
    Unavailable,
    /** The database cannot answer (down, hung, or every connection busy) on a path that cannot do
     *  without it: 503 with Retry-After (the API; the edge serves from its caches). */
    DatabaseUnavailable,
    Internal,
};

/** An error with a public message safe to show a client, and detail for the log only. */
struct Error {
    Errc code = Errc::Internal;
    std::string message;
    std::string detail;
    /** The request field at fault (a setting, a JSON member), shown as `error.field`. */
    std::string field = {};
};

/** The snake_case code of the JSON error body, e.g. "not_found". */
std::string_view code_name(Errc code);

/** The HTTP status this error is answered with. */
unsigned http_status(Errc code);

Error make_error(Errc code, std::string message, std::string detail = {});

/** An error about one named field of a request body or of the settings. */
Error make_field_error(Errc code, std::string field, std::string message);

} // namespace cdn::core
