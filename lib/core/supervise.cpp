#include "core/supervise.hpp"

#include <stdexcept>

namespace taskpoller::core {

std::string describe(const std::exception_ptr& e) {
    if (!e) return "no exception";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

}  // namespace taskpoller::core
