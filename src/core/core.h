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
/* A buffer of size bytes for data streamed many times (weights): 2 MiB
 * aligned and advised for transparent huge pages when it is that large, 64
 * bytes aligned otherwise; free with mote__free_aligned. */
void *mote__malloc_huge(size_t size);
/* The machine's physical memory in bytes; 0 when the system does not say. */
uint64_t mote__phys_mem_bytes(void);

/* For the tests (membw.c): how many read patterns the bandwidth meter
 * has, and the sum (mod 2^64) of the n words at p (n a multiple of 8)
 * as pattern `reader` reads them into *sum; false, *sum untouched, for
 * a pattern this build or CPU does not run. */
int mote__membw_reader_count(void);
bool mote__membw_sum(const uint64_t *p, size_t n, int reader, uint64_t *sum);

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
    int fd;    /* open while mapped; -1 when read */
    bool heap; /* data is a mote__malloc_huge buffer (mote__file_read) */
} mote_file_map;

/* mmap `path` read-only. On failure fills err naming the path and errno. */
mote_status mote__file_map(const char *path, mote_file_map *fm, mote_error *err);
/* Read `path` whole into a private buffer in huge pages where the OS gives
 * them (mote__malloc_huge): a copy, but streamed reads of it are faster
 * than of a mapping's 4 KiB page-cache pages. Same errors as mote__file_map,
 * plus MOTE_ERR_NOMEM and a file that shrinks while read (MOTE_ERR_IO). */
mote_status mote__file_read(const char *path, mote_file_map *fm, mote_error *err);
/* By mode (mote.h): MOTE_LOAD_MMAP maps, MOTE_LOAD_READ reads,
 * MOTE_LOAD_AUTO reads a file of at most half the physical memory (room
 * for the page cache's copy while it is read, and for the rest of the
 * machine) and maps a larger one or when the memory is unknown. An unknown
 * mode: MOTE_ERR_INVALID_ARG. */
mote_status mote__file_open_mode(const char *path, mote_load_mode mode, mote_file_map *fm,
                                 mote_error *err);
/* Release either kind; fm is left empty. */
void mote__file_unmap(mote_file_map *fm);

#endif /* MOTE_CORE_H */
