#include "store/compact_string.hpp"

#include <limits>
#include <stdexcept>

namespace taskpoller::store {

void compact_string::assign_new(std::string_view s) {
    clear_inline();
    if (s.size() <= inline_capacity) {
        if (!s.empty()) std::memcpy(buf_, s.data(), s.size());
        buf_[15] = static_cast<char>(s.size());
        return;
    }
    if (s.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("compact_string: longer than 4 GiB");
    }
    char* p = new char[s.size()];
    std::memcpy(p, s.data(), s.size());
    const auto n = static_cast<std::uint32_t>(s.size());
    std::memcpy(buf_, &p, sizeof p);
    std::memcpy(buf_ + sizeof p, &n, sizeof n);
    buf_[15] = static_cast<char>(heap_tag);
}

void compact_string::release() noexcept {
    if (on_heap()) {
        char* p;
        std::memcpy(&p, buf_, sizeof p);
        delete[] p;
        clear_inline();
    }
}

}  // namespace taskpoller::store
