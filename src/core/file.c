/* file.c — read-only mmap of a whole file, and the monotonic clock.
 * POSIX only for now. */
#define _POSIX_C_SOURCE 200809L
#include "core.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

mote_status mote__file_map(const char *path, mote_file_map *fm, mote_error *err) {
    fm->data = NULL;
    fm->size = 0;
    fm->fd = -1;
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
    if (st.st_size == 0) return MOTE_OK;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        fm->fd = -1;
        return mote__err(err, MOTE_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));
    }
    fm->data = p;
    return MOTE_OK;
}

void mote__file_unmap(mote_file_map *fm) {
    if (fm->data) munmap((void *)fm->data, (size_t)fm->size);
    if (fm->fd >= 0) close(fm->fd);
    fm->data = NULL;
    fm->size = 0;
    fm->fd = -1;
}

double mote_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
