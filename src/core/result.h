#pragma once

#include <boost/system/result.hpp>

#include "core/error.h"

namespace cdn::core {

/** Fallible functions on the request path return a Result; exceptions never cross it. */
template <class T>
using Result = boost::system::result<T, Error>;

/** Called by Result::value() on an error; ADL finds it. Only start-up code should get here. */
[[noreturn]] void throw_exception_from_error(const Error& error, const boost::source_location& loc);

/** The exception thrown by Result::value() on an error. */
struct ErrorException : std::runtime_error {
    explicit ErrorException(Error e) : std::runtime_error(e.message), error(std::move(e)) {}
    Error error;
};

} // namespace cdn::core

/** Return the error of a Result-returning expression from the enclosing function. */
#define CDN_TRY(var, expr)                                                                         \
    auto var##_result_ = (expr);                                                                   \
    if (!var##_result_) {                                                                          \
        return var##_result_.error();                                                              \
    }                                                                                              \
    auto var = std::move(*var##_result_)

#define CDN_TRY_VOID(expr)                                                                         \
    do {                                                                                           \
        auto cdn_try_result_ = (expr);                                                             \
        if (!cdn_try_result_) {                                                                    \
            return cdn_try_result_.error();                                                        \
        }                                                                                          \
    } while (false)
