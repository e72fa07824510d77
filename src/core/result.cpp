#include "core/result.h"

namespace cdn::core {

void throw_exception_from_error(const Error& error, const boost::source_location& /*loc*/) {
    throw ErrorException(error);
}

} // namespace cdn::core
