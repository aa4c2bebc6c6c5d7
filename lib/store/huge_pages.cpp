#include "store/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <limits>
#include <new>

namespace taskpoller::store::detail {
namespace {

constexpr std::size_t huge_page = std::size_t{2} << 20;

std::size_t mapped_length(std::size_t bytes) {
    return (bytes + huge_page - 1) & ~(huge_page - 1);
}

}  // namespace

void* allocate_huge(std::size_t bytes, std::size_t align) {
    if (bytes < huge_page_threshold) {
        if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(bytes);
        return ::operator new (bytes, std::align_val_t{align});
    }
    if (bytes > std::numeric_limits<std::size_t>::max() - 2 * huge_page) throw std::bad_alloc();
    const std::size_t length = mapped_length(bytes);
    // Map one huge page more than needed, then trim both ends to a 2 MiB boundary.
    const std::size_t over = length + huge_page;
    void* raw = ::mmap(nullptr, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + huge_page - 1) & ~(std::uintptr_t{huge_page} - 1);
    const std::size_t head = aligned - start;
    const std::size_t tail = over - head - length;
    if (head != 0) ::munmap(raw, head);
    if (tail != 0) ::munmap(reinterpret_cast<void*>(aligned + length), tail);
    // Advice only: a kernel without THP, or with it off, answers EINVAL and the mapping stays
    // an ordinary one.
    ::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
    return reinterpret_cast<void*>(aligned);
}

void deallocate_huge(void* p, std::size_t bytes, std::size_t align) noexcept {
    if (p == nullptr) return;
    if (bytes < huge_page_threshold) {
        if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
            ::operator delete(p);
        } else {
            ::operator delete (p, std::align_val_t{align});
        }
        return;
    }
    ::munmap(p, mapped_length(bytes));
}

}  // namespace taskpoller::store::detail
