#include "core/result.hpp"

#include <stdexcept>

namespace taskpoller::core {

void throw_exception_from_error(const error& e, const boost::source_location&) {
    throw std::runtime_error(e.message);
}

}  // namespace taskpoller::core
