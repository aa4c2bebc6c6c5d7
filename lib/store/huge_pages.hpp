#pragma once
// An allocator for the store's largest arrays (task and batch records, the task key table, the
// posting lists).
// A block of at least huge_page_threshold bytes is mapped on its own, aligned to 2 MiB and marked
// MADV_HUGEPAGE, so that under the kernel's default transparent-huge-page mode ("madvise", as on
// Debian) it is backed by huge pages: one page fault per 2 MiB instead of one per 4 KiB while a
// replay fills a million records, and far fewer TLB misses on the random lookups that replay and
// the poll path make. Without THP (or if the kernel refuses the advice) the block is an ordinary
// anonymous mapping. Smaller blocks come from operator new. glibc's `glibc.malloc.hugetlb=1`
// tunable (set by the systemd units) does the same for all of malloc, but only when the
// environment carries it from the start; this does not depend on it.

#include <cstddef>
#include <limits>
#include <new>
#include <vector>

namespace taskpoller::store {

/// Blocks from this size on get their own huge-page mapping.
inline constexpr std::size_t huge_page_threshold = std::size_t{4} << 20;

namespace detail {
void* allocate_huge(std::size_t bytes, std::size_t align);
void deallocate_huge(void* p, std::size_t bytes, std::size_t align) noexcept;
}  // namespace detail

template <class T>
struct huge_page_allocator;

/// A vector whose large buffers are huge-page mappings.
template <class T>
using huge_vector = std::vector<T, huge_page_allocator<T>>;

template <class T>
struct huge_page_allocator {
    using value_type = T;

    huge_page_allocator() noexcept = default;
    template <class U>
    huge_page_allocator(const huge_page_allocator<U>&) noexcept {}  // NOLINT: rebinding

    T* allocate(std::size_t n) {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T))
            throw std::bad_array_new_length();
        return static_cast<T*>(detail::allocate_huge(n * sizeof(T), alignof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        detail::deallocate_huge(p, n * sizeof(T), alignof(T));
    }

    template <class U>
    bool operator==(const huge_page_allocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace taskpoller::store
