/* core.h — internal foundation shared by every layer: error reporting,
 * the allocator hook, checked arithmetic, read-only file mapping, time.
 * Not public: include/mote.h is the public surface. Nothing here depends on
 * any other layer of mote.
 */
#ifndef MOTE_CORE_H
#define MOTE_CORE_H

#include "mote.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define MOTE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MOTE_PRINTF(a, b)
#endif

/* ---- errors ---- */

/* Fill err (if non-NULL) with code and a printf-style message; return code.
 * Use as: return mote__err(err, MOTE_ERR_FORMAT, "%s: ...", path); */
mote_status mote__err(mote_error *err, mote_status code, const char *fmt, ...)
    MOTE_PRINTF(3, 4);
/* Clear err to MOTE_OK with an empty message. */
void mote__err_clear(mote_error *err);

/* ---- allocation (through the hook in mote_set_allocator) ---- */

void *mote__malloc(size_t size);
void *mote__calloc(size_t n, size_t size); /* NULL on overflow too */
void *mote__realloc(void *p, size_t size);
void mote__free(void *p);
char *mote__strndup(const char *s, size_t n);
/* Aligned allocation (align a power of two >= sizeof(void*)); free with
 * mote__free_aligned. */
void *mote__malloc_aligned(size_t size, size_t align);
void mote__free_aligned(void *p);

/* ---- checked arithmetic: return false on overflow, *out untouched ---- */

static inline bool mote__add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a > UINT64_MAX - b) return false;
    *out = a + b;
    return true;
}
static inline bool mote__mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return false;
    *out = a * b;
    return true;
}

/* ---- read-only file mapping ---- */

typedef struct mote_file_map {
    const uint8_t *data; /* NULL for an empty file */
    uint64_t size;
    int fd;
} mote_file_map;

/* mmap `path` read-only. On failure fills err naming the path and errno. */
mote_status mote__file_map(const char *path, mote_file_map *fm, mote_error *err);
void mote__file_unmap(mote_file_map *fm);

#endif /* MOTE_CORE_H */
