#pragma once
// A 16-byte string for the store's per-task records (issue 8): up to 15 characters are kept
// inline, longer ones in one exact-size heap block. std::string takes 32 bytes even when empty
// and, for a 36-character requestId, another 48-byte block. Immutable except by assignment; no
// terminating NUL (use view()). At most 4 GiB - 1 characters (std::length_error beyond).

#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace taskpoller::store {

class compact_string {
  public:
    static constexpr std::size_t inline_capacity = 15;

    compact_string() noexcept { clear_inline(); }
    compact_string(std::string_view s) { assign_new(s); }  // NOLINT: implicit, like std::string
    compact_string(const char* s) : compact_string(std::string_view(s)) {}
    compact_string(const std::string& s) : compact_string(std::string_view(s)) {}
    compact_string(const compact_string& o) { assign_new(o.view()); }
    compact_string(compact_string&& o) noexcept {
        std::memcpy(buf_, o.buf_, sizeof buf_);
        o.clear_inline();
    }
    ~compact_string() { release(); }

    compact_string& operator=(const compact_string& o) {
        if (this != &o) assign(o.view());
        return *this;
    }
    compact_string& operator=(compact_string&& o) noexcept {
        if (this != &o) {
            release();
            std::memcpy(buf_, o.buf_, sizeof buf_);
            o.clear_inline();
        }
        return *this;
    }
    compact_string& operator=(std::string_view s) {
        assign(s);
        return *this;
    }
    compact_string& operator=(const char* s) { return *this = std::string_view(s); }
    compact_string& operator=(const std::string& s) { return *this = std::string_view(s); }

    void assign(std::string_view s) {
        // s may point into *this: build the new value before releasing the old one.
        compact_string tmp(s);
        *this = std::move(tmp);
    }

    bool on_heap() const noexcept { return tag() == heap_tag; }
    std::size_t size() const noexcept {
        if (!on_heap()) return tag();
        std::uint32_t n;
        std::memcpy(&n, buf_ + sizeof(char*), sizeof n);
        return n;
    }
    bool empty() const noexcept { return size() == 0; }
    const char* data() const noexcept {
        if (!on_heap()) return buf_;
        const char* p;
        std::memcpy(&p, buf_, sizeof p);
        return p;
    }
    std::string_view view() const noexcept { return {data(), size()}; }
    operator std::string_view() const noexcept { return view(); }  // NOLINT: implicit on purpose
    std::string str() const { return std::string(view()); }

    friend bool operator==(const compact_string& a, const compact_string& b) noexcept {
        return a.view() == b.view();
    }
    friend bool operator==(const compact_string& a, std::string_view b) noexcept {
        return a.view() == b;
    }
    friend bool operator==(const compact_string& a, const std::string& b) noexcept {
        return a.view() == std::string_view(b);
    }
    friend bool operator==(const compact_string& a, const char* b) noexcept {
        return a.view() == std::string_view(b);
    }
    friend std::strong_ordering operator<=>(const compact_string& a,
                                            const compact_string& b) noexcept {
        return a.view() <=> b.view();
    }
    friend std::strong_ordering operator<=>(const compact_string& a, std::string_view b) noexcept {
        return a.view() <=> b;
    }

  private:
    static constexpr unsigned char heap_tag = 0xff;
    unsigned char tag() const noexcept { return static_cast<unsigned char>(buf_[15]); }
    void clear_inline() noexcept { std::memset(buf_, 0, sizeof buf_); }
    void assign_new(std::string_view s);  // *this holds nothing
    void release() noexcept;

    alignas(8) char buf_[16];
};

static_assert(sizeof(compact_string) == 16);

}  // namespace taskpoller::store
