/* alloc.c — the library's allocator hook (stb-style: overridable, with the C
 * library's as default). Every heap allocation of libmote goes through here,
 * so a test can count allocations during decoding. */
#include "core.h"
#include <stdlib.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#endif

static void *default_malloc(size_t n, void *u) { (void)u; return malloc(n); }
static void *default_realloc(void *p, size_t n, void *u) { (void)u; return realloc(p, n); }
static void default_free(void *p, void *u) { (void)u; free(p); }

static mote_allocator g_alloc = {default_malloc, default_realloc, default_free, NULL};

void mote_set_allocator(const mote_allocator *a) {
    if (a && a->malloc_fn && a->realloc_fn && a->free_fn) g_alloc = *a;
    else g_alloc = (mote_allocator){default_malloc, default_realloc, default_free, NULL};
}

void *mote__malloc(size_t size) { return g_alloc.malloc_fn(size ? size : 1, g_alloc.user); }

void *mote__calloc(size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size) return NULL;
    void *p = mote__malloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void *mote__realloc(void *p, size_t size) { return g_alloc.realloc_fn(p, size ? size : 1, g_alloc.user); }

void mote__free(void *p) {
    if (p) g_alloc.free_fn(p, g_alloc.user);
}

char *mote__strndup(const char *s, size_t n) {
    char *d = mote__malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Over-allocate and store the original pointer just below the aligned one. */
void *mote__malloc_aligned(size_t size, size_t align) {
    if (size > SIZE_MAX - align - sizeof(void *)) return NULL;
    uint8_t *raw = mote__malloc(size + align + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t a = ((uintptr_t)(raw + sizeof(void *)) + align - 1) & ~(uintptr_t)(align - 1);
    ((void **)a)[-1] = raw;
    return (void *)a;
}

void mote__free_aligned(void *p) {
    if (p) mote__free(((void **)p)[-1]);
}

/* Big read-mostly buffers (weights read from a file, the bandwidth test's
 * buffer): 2 MiB aligned and marked for transparent huge pages, because a
 * stream over gigabytes with 4 KiB pages pays a TLB miss every 4 KiB (a
 * two-level walk under a hypervisor) and the hardware prefetcher stops at
 * every 4 KiB boundary: generation read its weights 25-40% slower from
 * 4 KiB pages on the development VM. The advice is a hint (THP off, or no
 * huge page free: small pages, same contents). Only whole 2 MiB extents are
 * advised, so no neighbouring allocation is touched. */
#define HUGE_PAGE ((size_t)2 << 20)

void *mote__malloc_huge(size_t size) {
    if (size < HUGE_PAGE) return mote__malloc_aligned(size, 64);
    void *p = mote__malloc_aligned(size, HUGE_PAGE);
#ifdef MADV_HUGEPAGE
    if (p) (void)madvise(p, size / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);
#endif
    return p;
}

uint64_t mote__phys_mem_bytes(void) {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) return (uint64_t)pages * (uint64_t)page;
#endif
    return 0;
}
