/* membw.c — the machine's main-memory read bandwidth (mote_bench_bandwidth
 * and mote_bench_bandwidth_sustained of mote.h, and the same two over a
 * buffer kept between measurements: mote_bandwidth_meter), the denominator of `mote
 * bench`'s roofline fraction: the median of a few passes (what the memory
 * gives in a quiet moment) or the mean rate over as many bytes as a
 * benchmark reads (dips included).
 *
 * What it is: a read test. A buffer several times larger than the last-level
 * cache is written once (so every page is resident), then n threads each sum
 * their contiguous slice of it with 16-byte loads into four independent
 * vector accumulators; the wall time from releasing the threads to the last
 * one finishing gives bytes/s. Repeated, the median is reported.
 *
 * The slice is read in several patterns (MEMBW_READERS: the hardware
 * prefetcher alone; a software prefetch into L2 3 KiB ahead; the slice's two
 * halves as two streams, prefetched 3 or 8 KiB ahead; the slice in blocks
 * of 1 MiB, each block's halves as two streams, as the AVX-512 gemv
 * kernels read; on x86-64 with AVX2, the two-stream patterns again with
 * 32-byte loads) and the fastest counts:
 * the figure is the most this machine lets a thread read, which is what the
 * kernels are held against. A plain loop alone under-reads where one core
 * cannot keep enough lines in flight without help: on a 16-core Xeon host
 * (CPU model 207) 17.5 GB/s on two threads plain against 26.7 prefetched, and
 * mote's prefetching kernels put generation at "137%" of the plain figure.
 *
 * What it is not: a STREAM-style copy/triad test (generation reads weights,
 * it writes almost nothing) or a cache benchmark. On a shared machine the
 * figure moves with the neighbours' load.
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

/* The read patterns tried; membw_run keeps the fastest. */
typedef enum membw_reader {
    MEMBW_PLAIN,       /* one stream, the hardware prefetcher alone */
    MEMBW_PF_3K,       /* one stream, prefetch into L2 3 KiB ahead */
    MEMBW_TWO_PF_3K,   /* the two halves side by side, each prefetched 3 KiB ahead */
    MEMBW_TWO_PF_8K,   /* the same, 8 KiB ahead */
    MEMBW_TWO_PF_3K_32, /* MEMBW_TWO_PF_3K with 32-byte loads (x86-64 with AVX2
                         * only: elsewhere not tried) */
    MEMBW_BLOCKS_3K,    /* the slice in blocks of MEMBW_BLOCK_WORDS, each
                         * block's halves as two streams, 3 KiB ahead */
    MEMBW_BLOCKS_3K_32, /* the same with 32-byte loads (as MEMBW_TWO_PF_3K_32) */
    MEMBW_READERS
} membw_reader;

typedef struct membw_shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int generation; /* bumped to release the threads for one pass */
    int n_done;     /* threads finished with the current pass */
    membw_reader reader; /* the pattern of the current pass */
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

/* Add the 8 words (one 64-byte line) at p into a0..a3. */
#define MEMBW_LINE(p, a0, a1, a2, a3)                                  \
    do {                                                               \
        membw_v2 x0_, x1_, x2_, x3_;                                   \
        memcpy(&x0_, (p), 16); /* one aligned 16-byte load each */     \
        memcpy(&x1_, (p) + 2, 16);                                     \
        memcpy(&x2_, (p) + 4, 16);                                     \
        memcpy(&x3_, (p) + 6, 16);                                     \
        a0 += x0_, a1 += x1_, a2 += x2_, a3 += x3_;                    \
    } while (0)

/* The blocks of MEMBW_BLOCKS_3K and MEMBW_BLOCKS_3K_32, in words: the
 * gemv kernels' blocks (src/kernels/simd.h, MOTE_GEMV_BLOCK_BYTES). On the
 * development machine's Xeon host, two threads over 1 GiB, 32-byte loads,
 * 15-21 rounds alternating with the whole slice's halves: blocks of 1 MiB
 * 1.012 and 1.029 x, 2 MiB 1.031, 512 KiB 1.001, 4 MiB 0.989 (keep equal
 * to MOTE_GEMV_BLOCK_BYTES: the meter reads as the kernels do). With
 * them, mote_bench_bandwidth (1 GiB, 2 threads, 3 passes) read 0.98-1.06
 * x (median 1.03, 8 runs alternating) what it read without: the roofline
 * fractions of `mote bench` fell by as much, since they are held against
 * the most the memory gives. */
#define MEMBW_BLOCK_WORDS (((size_t)1 << 20) / 8)

/* The two-stream patterns' loop over the n words at P (n a multiple of
 * 8) in blocks of BLOCK words (> 0; BLOCK = n: the slice's halves), each
 * block's halves side by side, each stream prefetched AHEAD words on:
 * BOTH(x, y) sums a line of each stream, ONE(x) the odd line a block may
 * have. Where the prefetches stop, in words from each stream's start:
 * read as one block, each stream at its half's end (as the two-stream
 * patterns always did); in blocks, the slice's end, since the next block
 * follows on. Shared by sum_words and sum_words_two_32, which differ in
 * their loads only. */
#define MEMBW_TWO_STREAMS(P, n, BLOCK, AHEAD, BOTH, ONE)                                     \
    for (size_t b0_ = 0; b0_ < (n); b0_ += (BLOCK)) {                                        \
        const size_t nb_ = (n) - b0_ < (BLOCK) ? (n) - b0_ : (BLOCK);                        \
        const size_t h_ = nb_ / 16 * 8; /* whole lines in the first half */                  \
        const uint64_t *pb_ = (P) + b0_, *q_ = pb_ + h_;                                     \
        const size_t end_p_ = (BLOCK) < (n) ? (n) - b0_ : h_;                                \
        const size_t end_q_ = (BLOCK) < (n) ? (n) - b0_ - h_ : h_;                           \
        for (size_t i_ = 0; i_ + 8 <= h_; i_ += 8) {                                         \
            if (i_ + (AHEAD) < end_p_) __builtin_prefetch(pb_ + i_ + (AHEAD), 0, 2);         \
            if (i_ + (AHEAD) < end_q_) __builtin_prefetch(q_ + i_ + (AHEAD), 0, 2);          \
            BOTH(pb_ + i_, q_ + i_);                                                         \
        }                                                                                    \
        for (size_t i_ = 2 * h_; i_ + 8 <= nb_; i_ += 8) ONE(pb_ + i_); /* odd line */       \
    }

#if defined(__x86_64__)
#define MEMBW_HAS_32 1
typedef uint64_t membw_v4 __attribute__((vector_size(32)));

/* MEMBW_TWO_PF_3K (block = n) or MEMBW_BLOCKS_3K (block =
 * MEMBW_BLOCK_WORDS) over n words with two 32-byte loads a line; block
 * and n multiples of 8, block > 0. Why patterns of their own: on the
 * development machine's Xeon host these read 3-4% more than the 16-byte
 * loads above (two threads, 1 GiB: about 35.7 against 34.2 GB/s; 64-byte
 * loads about 33.5), and the figure is meant to be the most the memory
 * gives. Run only where CPUID says AVX2 (has_avx2). */
__attribute__((target("avx2"))) static uint64_t sum_words_two_32(const uint64_t *p, size_t n,
                                                                  size_t block) {
    membw_v4 a0 = {0, 0, 0, 0}, a1 = a0;
#define LINE32_ONE(x)                                                                        \
    do {                                                                                     \
        membw_v4 x0_, x1_;                                                                   \
        memcpy(&x0_, (x), 32);                                                               \
        memcpy(&x1_, (x) + 4, 32);                                                           \
        a0 += x0_, a1 += x1_;                                                                \
    } while (0)
#define LINE32_BOTH(x, y) do { LINE32_ONE(x); LINE32_ONE(y); } while (0)
    MEMBW_TWO_STREAMS(p, n, block, 3072 / 8, LINE32_BOTH, LINE32_ONE)
#undef LINE32_BOTH
#undef LINE32_ONE
    membw_v4 s = a0 + a1;
    return s[0] + s[1] + s[2] + s[3];
}

/* CPUID through the compiler's builtin, not src/kernels/cpu.c's
 * mote__isa_supported: core depends on no other layer, and the meter
 * measures the machine whatever level MOTE_ISA picks for the kernels. */
static bool has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

/* Sum n words (a multiple of 8) in the reader's pattern, four 2-lane
 * accumulators. The prefetches stop at the slice's end (they would not
 * fault past it, but would pull in lines another thread reads). */
static uint64_t sum_words(const uint64_t *p, size_t n, membw_reader reader) {
#ifdef MEMBW_HAS_32
    if (reader == MEMBW_TWO_PF_3K_32) return sum_words_two_32(p, n, n);
    if (reader == MEMBW_BLOCKS_3K_32) return sum_words_two_32(p, n, MEMBW_BLOCK_WORDS);
#endif
    membw_v2 a0 = {0, 0}, a1 = {0, 0}, a2 = {0, 0}, a3 = {0, 0};
    if (reader == MEMBW_PLAIN) {
        for (size_t i = 0; i + 8 <= n; i += 8) MEMBW_LINE(p + i, a0, a1, a2, a3);
    } else if (reader == MEMBW_PF_3K) {
        const size_t ahead = 3072 / 8;
        for (size_t i = 0; i + 8 <= n; i += 8) {
            if (i + ahead < n) __builtin_prefetch(p + i + ahead, 0, 2);
            MEMBW_LINE(p + i, a0, a1, a2, a3);
        }
    } else { /* two streams: the slice's halves, or each block's */
        const size_t ahead = (reader == MEMBW_TWO_PF_8K ? 8192 : 3072) / 8;
        const size_t block = reader == MEMBW_BLOCKS_3K ? MEMBW_BLOCK_WORDS : n;
#define LINE16_ONE(x) MEMBW_LINE(x, a0, a1, a2, a3)
#define LINE16_BOTH(x, y) do { LINE16_ONE(x); LINE16_ONE(y); } while (0)
        MEMBW_TWO_STREAMS(p, n, block, ahead, LINE16_BOTH, LINE16_ONE)
#undef LINE16_BOTH
#undef LINE16_ONE
    }
    membw_v2 s = a0 + a1 + a2 + a3;
    return s[0] + s[1];
}

#else
/* Sum n words (a multiple of 8) with eight accumulators; without the
 * compiler's prefetch builtin every reader is the plain loop. */
static uint64_t sum_words(const uint64_t *p, size_t n, membw_reader reader) {
    (void)reader;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        a0 += p[i], a1 += p[i + 1], a2 += p[i + 2], a3 += p[i + 3];
        a4 += p[i + 4], a5 += p[i + 5], a6 += p[i + 6], a7 += p[i + 7];
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
#endif

/* Whether this build and CPU run the reader (the 32-byte loads need AVX2). */
static bool reader_runs(membw_reader reader) {
    if (reader != MEMBW_TWO_PF_3K_32 && reader != MEMBW_BLOCKS_3K_32) return true;
#ifdef MEMBW_HAS_32
    return has_avx2();
#else
    return false;
#endif
}

int mote__membw_reader_count(void) { return MEMBW_READERS; }

bool mote__membw_sum(const uint64_t *p, size_t n, int reader, uint64_t *sum) {
    if (reader < 0 || reader >= MEMBW_READERS || !reader_runs((membw_reader)reader)) return false;
    *sum = sum_words(p, n, (membw_reader)reader);
    return true;
}

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
        membw_reader reader = sh->reader;
        seen = sh->generation;
        pthread_mutex_unlock(&sh->mu);
        if (quit) return NULL;
        w->sink += sum_words(w->slice, w->n_words, reader);
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

/* Median of v[0..n) (reordered). */
static double median_sort(double *v, int32_t n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The test itself, over the caller's buf of buffer_bytes (whole words;
 * each thread takes whole lines of it, the rest is not read) read by
 * n_threads threads, after one unmeasured pass.
 * cal_passes == 0 (a quick-moment figure): each reader makes reps passes;
 * samples[0..reps) receives the rates in GB/s of the reader whose median is
 * highest (in ascending order). cal_passes > 0 (a sustained figure): each
 * reader makes cal_passes passes, the fastest over them then makes reps
 * passes into samples.
 * *mean_gbs (may be NULL) receives the bytes of the reported passes over
 * their summed time, *used_bytes (may be NULL) the buffer size. */
static mote_status membw_run(const uint64_t *buf, uint64_t buffer_bytes, int32_t n_threads, int32_t reps,
                             int32_t cal_passes, double *samples, double *mean_gbs, uint64_t *used_bytes,
                             mote_error *err);

/* What one pass over a buffer of `bytes` reads with n_threads (>= 1)
 * threads: whole cache lines per thread, the rest left unread. */
static uint64_t membw_pass_bytes(uint64_t bytes, int32_t n_threads) {
    return bytes / (uint64_t)n_threads / 64 * 64 * (uint64_t)n_threads;
}

/* The meter's buffer: allocated and written once, read by every
 * measurement made with it. */
struct mote_bandwidth_meter {
    uint64_t *buf;
    uint64_t bytes;
};

mote_status mote_bandwidth_meter_new(uint64_t buffer_bytes, mote_bandwidth_meter **out, mote_error *err) {
    if (!out) return mote__err(err, MOTE_ERR_INVALID_ARG, "bandwidth: no meter pointer");
    *out = NULL;
    const uint64_t bytes = (buffer_bytes ? buffer_bytes : default_bytes()) / 8 * 8;
    if (bytes == 0 || bytes > SIZE_MAX / 2)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "bandwidth: a buffer of %llu bytes is too small or too large",
                         (unsigned long long)buffer_bytes);
    mote_bandwidth_meter *m = mote__calloc(1, sizeof *m);
    if (!m) return mote__err(err, MOTE_ERR_NOMEM, "bandwidth: out of memory");
    /* In huge pages where the OS gives them, as the weights a model reads
     * into memory (alloc.c): the same page size as the stream it measures
     * for, and the first touch faults a few hundred pages, not a quarter
     * million. */
    uint64_t *buf = mote__malloc_huge((size_t)bytes);
    if (!buf) {
        mote__free(m);
        return mote__err(err, MOTE_ERR_NOMEM, "bandwidth: out of memory for a %llu MiB buffer",
                         (unsigned long long)(bytes >> 20));
    }
    /* Touch every page (and give the words distinct values). */
    for (size_t i = 0; i < (size_t)(bytes / 8); i++) buf[i] = (uint64_t)i;
    m->buf = buf;
    m->bytes = bytes;
    *out = m;
    return MOTE_OK;
}

void mote_bandwidth_meter_free(mote_bandwidth_meter *m) {
    if (!m) return;
    mote__free_aligned(m->buf);
    mote__free(m);
}

uint64_t mote_bandwidth_meter_bytes(const mote_bandwidth_meter *m) { return m ? m->bytes : 0; }

mote_status mote_bandwidth_meter_read(const mote_bandwidth_meter *m, int32_t n_threads, int32_t reps,
                                      double *gbs, uint64_t *used_bytes, mote_error *err) {
    if (!m || !gbs || reps < 1 || reps > 1000)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "bandwidth: no meter or result pointer, or threads %d (1..1024) or repetitions %d "
                         "(1..1000) out of range",
                         (int)n_threads, (int)reps);
    double *samples = mote__calloc((size_t)reps, sizeof *samples);
    if (!samples) return mote__err(err, MOTE_ERR_NOMEM, "bandwidth: out of memory");
    mote_status s = membw_run(m->buf, m->bytes, n_threads, reps, 0, samples, NULL, used_bytes, err);
    if (!s) *gbs = median_sort(samples, reps);
    mote__free(samples);
    return s;
}

mote_status mote_bandwidth_meter_read_sustained(const mote_bandwidth_meter *m, int32_t n_threads,
                                                uint64_t total_bytes, double *gbs, mote_error *err) {
    if (!m || !gbs || total_bytes > ((uint64_t)1 << 40) || n_threads < 1 || n_threads > 1024)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "bandwidth: no meter or result pointer, threads %d (1..1024) out of range, or %llu "
                         "bytes to read is out of range",
                         (int)n_threads, (unsigned long long)total_bytes);
    const uint64_t per_pass = membw_pass_bytes(m->bytes, n_threads);
    if (per_pass == 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "bandwidth: a buffer of %llu bytes is too small for %d threads",
                         (unsigned long long)m->bytes, (int)n_threads);
    uint64_t passes = (total_bytes + per_pass - 1) / per_pass;
    if (passes < 1) passes = 1;
    if (passes > 1000) passes = 1000;
    double *samples = mote__calloc((size_t)passes, sizeof *samples);
    if (!samples) return mote__err(err, MOTE_ERR_NOMEM, "bandwidth: out of memory");
    mote_status s = membw_run(m->buf, m->bytes, n_threads, (int32_t)passes, 1, samples, gbs, NULL, err);
    mote__free(samples);
    return s;
}

/* The one-off tests: a meter made, read once and freed. Their arguments
 * are checked before the meter is made (the reads check them again), so
 * that a bad call fails at once, not after a gigabyte is allocated and
 * written. */
mote_status mote_bench_bandwidth(int32_t n_threads, uint64_t buffer_bytes, int32_t reps,
                                 double *gbs, uint64_t *used_bytes, mote_error *err) {
    if (n_threads < 1 || n_threads > 1024 || reps < 1 || reps > 1000 || !gbs)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "bandwidth: threads %d (1..1024) or repetitions %d (1..1000) out of range",
                         (int)n_threads, (int)reps);
    mote_bandwidth_meter *m;
    mote_status s = mote_bandwidth_meter_new(buffer_bytes, &m, err);
    if (!s) s = mote_bandwidth_meter_read(m, n_threads, reps, gbs, used_bytes, err);
    mote_bandwidth_meter_free(m);
    return s;
}

mote_status mote_bench_bandwidth_sustained(int32_t n_threads, uint64_t buffer_bytes,
                                           uint64_t total_bytes, double *gbs, mote_error *err) {
    if (n_threads < 1 || n_threads > 1024 || !gbs || total_bytes > ((uint64_t)1 << 40))
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "bandwidth: threads %d (1..1024) out of range, no result pointer, or %llu bytes to "
                         "read is out of range",
                         (int)n_threads, (unsigned long long)total_bytes);
    mote_bandwidth_meter *m;
    mote_status s = mote_bandwidth_meter_new(buffer_bytes, &m, err);
    if (!s) s = mote_bandwidth_meter_read_sustained(m, n_threads, total_bytes, gbs, err);
    mote_bandwidth_meter_free(m);
    return s;
}

/* One pass of every thread over its slice in the reader's pattern; returns
 * the wall time in seconds from releasing the threads to the last one done. */
static double membw_pass(membw_shared *sh, int32_t n_threads, membw_reader reader) {
    pthread_mutex_lock(&sh->mu);
    sh->n_done = 0;
    sh->reader = reader;
    double t0 = mote_time_now();
    sh->generation++;
    pthread_cond_broadcast(&sh->cv);
    while (sh->n_done < n_threads) pthread_cond_wait(&sh->cv, &sh->mu);
    double dt = mote_time_now() - t0;
    pthread_mutex_unlock(&sh->mu);
    return dt;
}

static mote_status membw_run(const uint64_t *buf, uint64_t buffer_bytes, int32_t n_threads, int32_t reps,
                             int32_t cal_passes, double *samples, double *mean_gbs, uint64_t *used_bytes,
                             mote_error *err) {
    if (n_threads < 1 || n_threads > 1024 || reps < 1 || reps > 1000)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "bandwidth: threads %d (1..1024) or repetitions %d (1..1000) out of range",
                         (int)n_threads, (int)reps);
    const uint64_t bytes = membw_pass_bytes(buffer_bytes, n_threads);
    const uint64_t per_thread = bytes / (uint64_t)n_threads;
    if (bytes == 0 || buffer_bytes > SIZE_MAX / 2)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "bandwidth: a buffer of %llu bytes is too small or large for %d threads",
                         (unsigned long long)buffer_bytes, (int)n_threads);

    membw_worker *workers = mote__calloc((size_t)n_threads, sizeof *workers);
    pthread_t *tids = mote__calloc((size_t)n_threads, sizeof *tids);
    double *trial = mote__calloc((size_t)reps, sizeof *trial);
    if (!workers || !tids || !trial) {
        mote__free(workers);
        mote__free(tids);
        mote__free(trial);
        return mote__err(err, MOTE_ERR_NOMEM, "bandwidth: out of memory");
    }

    membw_shared sh = {.generation = 0, .n_done = 0, .quit = 0, .reader = MEMBW_PLAIN};
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
    double total_s = 0.0;
    if (!s) {
        /* One unmeasured pass warms the TLB and the threads. */
        (void)membw_pass(&sh, n_threads, MEMBW_PLAIN);
        double best = -1.0;
        membw_reader best_reader = MEMBW_PLAIN;
        const int32_t n_trial = cal_passes > 0 ? cal_passes : reps;
        for (int k = 0; k < MEMBW_READERS; k++) {
            if (!reader_runs((membw_reader)k)) continue;
            double t = 0.0;
            for (int32_t r = 0; r < n_trial; r++) {
                double dt = membw_pass(&sh, n_threads, (membw_reader)k);
                trial[r] = dt > 0 ? (double)bytes / dt / 1e9 : 0.0;
                t += dt;
            }
            /* sustained: the mean rate; quick: the median (trial sorted) */
            double score = cal_passes > 0 ? (t > 0 ? (double)bytes * n_trial / t / 1e9 : 0.0)
                                          : median_sort(trial, n_trial);
            if (score <= best) continue;
            best = score, best_reader = (membw_reader)k;
            if (cal_passes == 0) memcpy(samples, trial, (size_t)reps * sizeof *trial), total_s = t;
        }
        for (int32_t r = 0; cal_passes > 0 && r < reps; r++) {
            double dt = membw_pass(&sh, n_threads, best_reader);
            samples[r] = dt > 0 ? (double)bytes / dt / 1e9 : 0.0;
            total_s += dt;
        }
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
    mote__free(workers);
    mote__free(tids);
    mote__free(trial);
    return s;
}
