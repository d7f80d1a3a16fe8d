/* file.c — a whole file in memory, read-only: mapped (zero copy) or read
 * into a private huge-page buffer (mote__file_read); and the monotonic
 * clock. POSIX only for now. */
#define _POSIX_C_SOURCE 200809L
#include "core.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Empty fm, then open path as a regular file into fm->fd and fm->size, or
 * an error naming it. */
static mote_status file_open(const char *path, mote_file_map *fm, mote_error *err) {
    *fm = (mote_file_map){.data = NULL, .size = 0, .fd = -1, .heap = false};
    int fd = open(path, O_RDONLY);
    if (fd < 0) return mote__err(err, MOTE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mote__err(err, MOTE_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mote__err(err, MOTE_ERR_IO, "%s: not a regular file", path);
    }
    fm->fd = fd;
    fm->size = (uint64_t)st.st_size;
    return MOTE_OK;
}

mote_status mote__file_map(const char *path, mote_file_map *fm, mote_error *err) {
    mote_status s = file_open(path, fm, err);
    if (s) return s;
    const int fd = fm->fd;
    const uint64_t size = fm->size;
    if (size == 0) return MOTE_OK;
    if (size > SIZE_MAX) {
        mote__file_unmap(fm);
        return mote__err(err, MOTE_ERR_IO, "%s: too large to map on this machine", path);
    }
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        fm->fd = -1;
        return mote__err(err, MOTE_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));
    }
    fm->data = p;
    return MOTE_OK;
}

mote_status mote__file_read(const char *path, mote_file_map *fm, mote_error *err) {
    mote_status s = file_open(path, fm, err);
    if (s) return s;
    const int fd = fm->fd;
    const uint64_t size = fm->size;
    *fm = (mote_file_map){.data = NULL, .size = 0, .fd = -1, .heap = false}; /* filled on success */
    if (size >= SIZE_MAX / 2) {
        close(fd);
        return mote__err(err, MOTE_ERR_IO, "%s: too large to read into memory on this machine", path);
    }
    uint8_t *buf = size ? mote__malloc_huge((size_t)size) : NULL;
    if (size && !buf) {
        close(fd);
        return mote__err(err, MOTE_ERR_NOMEM, "%s: out of memory reading %llu MiB (map it instead)",
                         path, (unsigned long long)(size >> 20));
    }
    /* In pieces of at most 1 GiB (one read() call moves at most 2 GiB on
     * Linux); EINTR retried. */
    uint64_t done = 0;
    while (done < size) {
        const uint64_t left = size - done;
        const size_t want = left > ((uint64_t)1 << 30) ? (size_t)1 << 30 : (size_t)left;
        const ssize_t got = pread(fd, buf + done, want, (off_t)done);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            const int e = got < 0 ? errno : 0;
            mote__free_aligned(buf);
            close(fd);
            return e ? mote__err(err, MOTE_ERR_IO, "%s: read failed at byte %llu: %s", path,
                                 (unsigned long long)done, strerror(e))
                     : mote__err(err, MOTE_ERR_IO, "%s: the file ended at byte %llu of %llu while reading it",
                                 path, (unsigned long long)done, (unsigned long long)size);
        }
        done += (uint64_t)got;
    }
    close(fd);
    fm->data = buf;
    fm->size = size;
    fm->heap = true;
    return MOTE_OK;
}

mote_status mote__file_open_mode(const char *path, mote_load_mode mode, mote_file_map *fm,
                                 mote_error *err) {
    *fm = (mote_file_map){.data = NULL, .size = 0, .fd = -1, .heap = false};
    if (mode == MOTE_LOAD_MMAP) return mote__file_map(path, fm, err);
    if (mode == MOTE_LOAD_READ) return mote__file_read(path, fm, err);
    if (mode != MOTE_LOAD_AUTO)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "%s: unknown load mode %d", path ? path : "(null)", (int)mode);
    struct stat st;
    const uint64_t mem = mote__phys_mem_bytes();
    const bool fits = stat(path, &st) == 0 && mem > 0 && (uint64_t)st.st_size <= mem / 2;
    return fits ? mote__file_read(path, fm, err) : mote__file_map(path, fm, err);
}

void mote__file_unmap(mote_file_map *fm) {
    if (fm->heap) mote__free_aligned((void *)fm->data);
    else if (fm->data) munmap((void *)fm->data, (size_t)fm->size);
    if (fm->fd >= 0) close(fm->fd);
    fm->data = NULL;
    fm->size = 0;
    fm->fd = -1;
    fm->heap = false;
}

double mote_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
