/* membw.c — the machine's main-memory read bandwidth (mote_bench_bandwidth
 * and mote_bench_bandwidth_sustained of mote.h), the denominator of `mote
 * bench`'s roofline fraction: the median of a few passes (what the memory
 * gives in a quiet moment) or the mean rate over as many bytes as a
 * benchmark reads (dips included).
 *
 * What it is: a read test. A buffer several times larger than the last-level
 * cache is written once (so every page is resident), then n threads each sum
 * their contiguous slice of it with 16-byte loads into four independent
 * vector accumulators (enough loads in flight to be limited by memory, not
 * by the adder chain); the wall time from releasing the threads to the
 * last one finishing gives bytes/s. Repeated, the median is reported.
 *
 * What it is not: a STREAM-style copy/triad test (generation reads weights,
 * it writes almost nothing) or a cache benchmark. The figure is what 16-byte
 * loads reach; kernels with 32-byte loads may read a little faster, so a
 * roofline fraction slightly above 1 is possible, and on a shared machine
 * the figure moves with the neighbours' load.
 */
#include "core.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEMBW_MIN_BYTES ((uint64_t)256 << 20)
#define MEMBW_MAX_BYTES ((uint64_t)1 << 30)

/* Last-level cache size in bytes as the C library reports it, or 0. */
static uint64_t llc_bytes(void) {
    long v = 0;
#ifdef _SC_LEVEL4_CACHE_SIZE
    v = sysconf(_SC_LEVEL4_CACHE_SIZE);
#endif
#ifdef _SC_LEVEL3_CACHE_SIZE
    if (v <= 0) v = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
#ifdef _SC_LEVEL2_CACHE_SIZE
    if (v <= 0) v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return v > 0 ? (uint64_t)v : 0;
}

typedef struct membw_shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int generation; /* bumped to release the threads for one pass */
    int n_done;     /* threads finished with the current pass */
    int quit;
} membw_shared;

typedef struct membw_worker {
    membw_shared *sh;
    const uint64_t *slice;
    size_t n_words;
    volatile uint64_t sink; /* keeps the sum alive */
} membw_worker;

#if defined(__GNUC__) || defined(__clang__)
/* 16-byte vectors (SSE2 / NEON, the baseline of x86-64 and aarch64): wider
 * loads reach 10-20% more bandwidth than 8-byte ones on the development
 * machine, closer to what the SIMD kernels read at. */
typedef uint64_t membw_v2 __attribute__((vector_size(16)));

/* Sum n words (a multiple of 8) with four 2-lane accumulators. */
static uint64_t sum_words(const uint64_t *p, size_t n) {
    membw_v2 a0 = {0, 0}, a1 = {0, 0}, a2 = {0, 0}, a3 = {0, 0}, x0, x1, x2, x3;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        memcpy(&x0, p + i, 16); /* one aligned 16-byte load each */
        memcpy(&x1, p + i + 2, 16);
        memcpy(&x2, p + i + 4, 16);
        memcpy(&x3, p + i + 6, 16);
        a0 += x0, a1 += x1, a2 += x2, a3 += x3;
    }
    membw_v2 s = a0 + a1 + a2 + a3;
    return s[0] + s[1];
}
#else
/* Sum n words (a multiple of 8) with eight accumulators. */
static uint64_t sum_words(const uint64_t *p, size_t n) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        a0 += p[i], a1 += p[i + 1], a2 += p[i + 2], a3 += p[i + 3];
        a4 += p[i + 4], a5 += p[i + 5], a6 += p[i + 6], a7 += p[i + 7];
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
#endif

/* A reader thread: waits for each new generation, sums its slice once,
 * counts itself done; returns when quit is set. */
static void *membw_thread(void *arg) {
    membw_worker *w = arg;
    membw_shared *sh = w->sh;
    int seen = 0;
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        while (sh->generation == seen && !sh->quit) pthread_cond_wait(&sh->cv, &sh->mu);
        int quit = sh->quit;
        seen = sh->generation;
        pthread_mutex_unlock(&sh->mu);
        if (quit) return NULL;
        w->sink += sum_words(w->slice, w->n_words);
        pthread_mutex_lock(&sh->mu);
        sh->n_done++;
        pthread_cond_broadcast(&sh->cv);
        pthread_mutex_unlock(&sh->mu);
    }
}

/* qsort order of doubles, ascending. */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The buffer size when none is given: four times the last-level cache,
 * within [MEMBW_MIN_BYTES, MEMBW_MAX_BYTES]. */
static uint64_t default_bytes(void) {
    uint64_t llc = llc_bytes();
    uint64_t bytes = llc > MEMBW_MAX_BYTES / 4 ? MEMBW_MAX_BYTES : 4 * llc;
    return bytes < MEMBW_MIN_BYTES ? MEMBW_MIN_BYTES : bytes;
}

/* The test itself: reps measured passes (after one unmeasured) over a
 * buffer of buffer_bytes (0: the default size) read by n_threads threads.
 * samples[r] receives pass r's rate in GB/s, *mean_gbs (may be NULL) the
 * bytes of all passes over their summed time. */
static mote_status membw_run(int32_t n_threads, uint64_t buffer_bytes, int32_t reps, double *samples,
                             double *mean_gbs, uint64_t *used_bytes, mote_error *err);

mote_status mote_bench_bandwidth(int32_t n_threads, uint64_t buffer_bytes, int32_t reps,
                                 double *gbs, uint64_t *used_bytes, mote_error *err) {
    if (reps < 1 || reps > 1000 || !gbs)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "bandwidth: threads %d (1..1024) or repetitions %d (1..1000) out of range",
                         (int)n_threads, (int)reps);
    double *samples = mote__calloc((size_t)reps, sizeof *samples);
    if (!samples) return mote__err(err, MOTE_ERR_NOMEM, "bandwidth: out of memory");
    mote_status s = membw_run(n_threads, buffer_bytes, reps, samples, NULL, used_bytes, err);
    if (!s) {
        qsort(samples, (size_t)reps, sizeof *samples, cmp_double);
        *gbs = reps % 2 ? samples[reps / 2] : 0.5 * (samples[reps / 2 - 1] + samples[reps / 2]);
    }
    mote__free(samples);
    return s;
}

mote_status mote_bench_bandwidth_sustained(int32_t n_threads, uint64_t buffer_bytes,
                                           uint64_t total_bytes, double *gbs, mote_error *err) {
    if (!gbs || total_bytes > ((uint64_t)1 << 40))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "bandwidth: no result pointer, or %llu bytes to read is out of range",
                         (unsigned long long)total_bytes);
    const uint64_t used = buffer_bytes ? buffer_bytes : default_bytes();
    uint64_t passes = (total_bytes + used - 1) / used;
    if (passes < 1) passes = 1;
    if (passes > 1000) passes = 1000;
    double *samples = mote__calloc((size_t)passes, sizeof *samples);
    if (!samples) return mote__err(err, MOTE_ERR_NOMEM, "bandwidth: out of memory");
    mote_status s = membw_run(n_threads, used, (int32_t)passes, samples, gbs, NULL, err);
    mote__free(samples);
    return s;
}

static mote_status membw_run(int32_t n_threads, uint64_t buffer_bytes, int32_t reps, double *samples,
                             double *mean_gbs, uint64_t *used_bytes, mote_error *err) {
    if (n_threads < 1 || n_threads > 1024 || reps < 1 || reps > 1000)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "bandwidth: threads %d (1..1024) or repetitions %d (1..1000) out of range",
                         (int)n_threads, (int)reps);
    uint64_t bytes = buffer_bytes ? buffer_bytes : default_bytes();
    /* Whole cache lines per thread. */
    uint64_t per_thread = bytes / (uint64_t)n_threads / 64 * 64;
    if (per_thread == 0 || bytes > SIZE_MAX / 2)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "bandwidth: a buffer of %llu bytes is too small or large for %d threads",
                         (unsigned long long)bytes, (int)n_threads);
    bytes = per_thread * (uint64_t)n_threads;

    /* In huge pages where the OS gives them, as the weights a model reads
     * into memory (alloc.c): the same page size as the stream it measures
     * for, and the first touch faults a few hundred pages, not a quarter
     * million. */
    uint64_t *buf = mote__malloc_huge((size_t)bytes);
    membw_worker *workers = mote__calloc((size_t)n_threads, sizeof *workers);
    pthread_t *tids = mote__calloc((size_t)n_threads, sizeof *tids);
    if (!buf || !workers || !tids) {
        mote__free_aligned(buf);
        mote__free(workers);
        mote__free(tids);
        return mote__err(err, MOTE_ERR_NOMEM, "bandwidth: out of memory for a %llu MiB buffer",
                         (unsigned long long)(bytes >> 20));
    }
    /* Touch every page (and give the words distinct values). */
    for (size_t i = 0; i < (size_t)(bytes / 8); i++) buf[i] = (uint64_t)i;

    membw_shared sh = {.generation = 0, .n_done = 0, .quit = 0};
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    int started = 0;
    mote_status s = MOTE_OK;
    for (; started < n_threads; started++) {
        membw_worker *w = &workers[started];
        w->sh = &sh;
        w->slice = buf + (size_t)started * (size_t)(per_thread / 8);
        w->n_words = (size_t)(per_thread / 8);
        if (pthread_create(&tids[started], NULL, membw_thread, w) != 0) {
            s = mote__err(err, MOTE_ERR_NOMEM, "bandwidth: cannot start thread %d", started + 1);
            break;
        }
    }
    /* One unmeasured pass warms the TLB and the threads, then reps passes. */
    double total_s = 0.0;
    for (int32_t r = -1; r < reps && !s; r++) {
        pthread_mutex_lock(&sh.mu);
        sh.n_done = 0;
        double t0 = mote_time_now();
        sh.generation++;
        pthread_cond_broadcast(&sh.cv);
        while (sh.n_done < n_threads) pthread_cond_wait(&sh.cv, &sh.mu);
        double dt = mote_time_now() - t0;
        pthread_mutex_unlock(&sh.mu);
        if (r >= 0) samples[r] = dt > 0 ? (double)bytes / dt / 1e9 : 0.0;
        if (r >= 0) total_s += dt;
    }
    pthread_mutex_lock(&sh.mu);
    sh.quit = 1;
    pthread_cond_broadcast(&sh.cv);
    pthread_mutex_unlock(&sh.mu);
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    pthread_cond_destroy(&sh.cv);
    pthread_mutex_destroy(&sh.mu);

    if (!s) {
        if (mean_gbs) *mean_gbs = total_s > 0 ? (double)bytes * (double)reps / total_s / 1e9 : 0.0;
        if (used_bytes) *used_bytes = bytes;
    }
    mote__free_aligned(buf);
    mote__free(workers);
    mote__free(tids);
    return s;
}
