#include "core/error.h"

#include <array>
#include <utility>

namespace cdn::core {
namespace {

struct ErrcInfo {
    Errc code;
    std::string_view name;
    unsigned status;
};

constexpr std::array ERRC_TABLE{
    ErrcInfo{Errc::BadRequest, "bad_request", 400},
    ErrcInfo{Errc::InvalidParameter, "invalid_parameter", 400},
    ErrcInfo{Errc::UnknownParameter, "unknown_parameter", 400},
    ErrcInfo{Errc::UnsupportedParameter, "unsupported_parameter", 400},
    ErrcInfo{Errc::DimensionTooLarge, "dimension_too_large", 400},
    ErrcInfo{Errc::InvalidPath, "invalid_path", 400},
    ErrcInfo{Errc::NotFound, "not_found", 404},
    ErrcInfo{Errc::UnknownCustomer, "unknown_customer", 404},
    ErrcInfo{Errc::CustomerSuspended, "customer_suspended", 403},
    ErrcInfo{Errc::MethodNotAllowed, "method_not_allowed", 405},
    ErrcInfo{Errc::UriTooLong, "uri_too_long", 414},
    ErrcInfo{Errc::HeaderTooLarge, "header_too_large", 431},
    ErrcInfo{Errc::PayloadTooLarge, "payload_too_large", 413},
    ErrcInfo{Errc::UnsupportedMediaType, "unsupported_media_type", 415},
    ErrcInfo{Errc::InvalidJson, "invalid_json", 400},
    ErrcInfo{Errc::InvalidRequest, "invalid_request", 422},
    ErrcInfo{Errc::InvalidSettings, "invalid_settings", 422},
    ErrcInfo{Errc::InvalidPreset, "invalid_preset", 422},
    ErrcInfo{Errc::UnknownPreset, "unknown_preset", 400},
    ErrcInfo{Errc::PresetsOnly, "presets_only", 403},
    ErrcInfo{Errc::Unauthorized, "unauthorized", 401},
    ErrcInfo{Errc::Forbidden, "forbidden", 403},
    ErrcInfo{Errc::Conflict, "conflict", 409},
    ErrcInfo{Errc::RateLimited, "rate_limited", 429},
    ErrcInfo{Errc::EmailTaken, "email_taken", 409},
    ErrcInfo{Errc::InvalidCredentials, "invalid_credentials", 401},
    ErrcInfo{Errc::TooManyRequests, "too_many_requests", 429},
    ErrcInfo{Errc::DomainNotAllowed, "domain_not_allowed", 403},
    ErrcInfo{Errc::InvalidSignature, "invalid_signature", 403},
    ErrcInfo{Errc::InvalidWebhookSignature, "invalid_signature", 400},
    ErrcInfo{Errc::SignatureExpired, "signature_expired", 403},
    ErrcInfo{Errc::FeatureNotInPlan, "feature_not_in_plan", 403},
    ErrcInfo{Errc::QuotaExceeded, "quota_exceeded", 402},
    ErrcInfo{Errc::StorageQuotaExceeded, "storage_quota_exceeded", 402},
    ErrcInfo{Errc::SourceTooLarge, "source_too_large", 413},
    ErrcInfo{Errc::UnprocessableImage, "unprocessable_image", 422},
    ErrcInfo{Errc::UploadMismatch, "upload_mismatch", 422},
    ErrcInfo{Errc::TransformTimeout, "transform_timeout", 503},
    ErrcInfo{Errc::Busy, "busy", 503},
    ErrcInfo{Errc::RequestTimeout, "request_timeout", 408},
    ErrcInfo{Errc::TooManyConnections, "too_many_connections", 503},
    ErrcInfo{Errc::OriginUnavailable, "origin_unavailable", 502},
    ErrcInfo{Errc::BillingUnavailable, "billing_unavailable", 502},
    ErrcInfo{Errc::BillingNotConfigured, "billing_not_configured", 501},
    ErrcInfo{Errc::AlreadyOnPlan, "already_on_plan", 409},
    ErrcInfo{Errc::Unavailable, "unavailable", 503},
    ErrcInfo{Errc::DatabaseUnavailable, "database_unavailable", 503},
    ErrcInfo{Errc::Internal, "internal_error", 500},
};

const ErrcInfo& info(Errc code) {
    for (const auto& entry : ERRC_TABLE) {
        if (entry.code == code) {
            return entry;
        }
    }
    return ERRC_TABLE.back();
}

} // namespace

std::string_view code_name(Errc code) { return info(code).name; }

unsigned http_status(Errc code) { return info(code).status; }

Error make_error(Errc code, std::string message, std::string detail) {
    return Error{code, std::move(message), std::move(detail)};
}

Error make_field_error(Errc code, std::string field, std::string message) {
    return Error{code, std::move(message), {}, std::move(field)};
}

} // namespace cdn::core
