/* bench/kernels.c — how fast each kernel streams weights: the matrix-vector
 * product y (5632) = W (5632, 2048) @ x (2048) (TinyLlama-1.1B's FFN shape)
 * on one thread, per weight type and per instruction-set level this CPU
 * runs, in GB/s of weight bytes read. A read of the same working set is
 * measured alongside as the memory roofline (the fastest of plain 64-bit
 * loads, 256-bit loads and mote_bench_bandwidth's patterns), so each
 * figure can be read as a fraction of it.
 *
 * Also the compute rate of the prompt tile: vec_dot_4 (one weight row
 * against 4 activation rows) over a 128 KiB tile of rows that stays in L2
 * (as the prompt matmul keeps it), in GMAC/s (multiply-adds of weight by
 * activation). A TinyLlama-1.1B token is about 1.03 GMAC, so on one thread
 * prompt tokens/s is about GMAC/s / 1.03 (before attention and overheads).
 *
 * Not a test (it checks nothing); not `mote bench` (whole models). Run by
 * `make bench-kernels`. Options from the environment:
 *   MOTE_BENCH_MB    working set in MiB (default 512: several copies of the
 *                    matrix, cycled, so that reads come from memory rather
 *                    than the last-level cache)
 *   MOTE_BENCH_TYPES comma-separated type names (default all with kernels)
 * The timing of each figure is the median of 7 runs over the working set.
 */
#include "bench_util.h"
#include "kernels/kernels.h"
#include "mote.h"
#include "tensor/types.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define N_COLS 2048
#define N_ROWS 5632
#define N_RUNS 7

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

/* Sum the bytes [p, p + n) as 64-bit words with 8 accumulators: the plain
 * read bandwidth reference. */
static uint64_t read_sum(const uint8_t *p, size_t n) {
    uint64_t a[8] = {0};
    size_t words = n / 8;
    const uint64_t *w = (const uint64_t *)p;
    size_t i = 0;
    for (; i + 8 <= words; i += 8)
        for (int k = 0; k < 8; k++) a[k] += w[i + k];
    uint64_t s = 0;
    for (int k = 0; k < 8; k++) s += a[k];
    return s;
}

#if defined(__x86_64__)
/* The same read with 256-bit loads (run only where CPUID says AVX2): what
 * the AVX2 kernels' loads can reach. */
__attribute__((target("avx2"))) static uint64_t read_sum_avx2(const uint8_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t v[4];
    _mm256_storeu_si256((__m256i *)v, a0);
    return v[0] + v[1] + v[2] + v[3];
}
#endif

/* Median GB/s of N_RUNS reads of the buffer with `fn`. */
static double read_gbs(uint64_t (*fn)(const uint8_t *, size_t), const uint8_t *p, size_t n,
                       volatile uint64_t *sink) {
    double t[N_RUNS];
    *sink += fn(p, n);
    for (int r = 0; r < N_RUNS; r++) {
        double t0 = mote_time_now();
        *sink += fn(p, n);
        t[r] = mote_time_now() - t0;
    }
    return (double)n / median(t, N_RUNS) / 1e9;
}

static bool type_wanted(const char *name) {
    const char *list = getenv("MOTE_BENCH_TYPES");
    if (!list || !*list) return true;
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

int main(void) {
    const char *mb_env = getenv("MOTE_BENCH_MB");
    size_t work_bytes = (size_t)(mb_env ? atol(mb_env) : 512) << 20;
    if (work_bytes < ((size_t)16 << 20)) work_bytes = (size_t)16 << 20;

    float *xf = malloc(sizeof(float) * N_COLS * 4), *y = malloc(sizeof(float) * N_ROWS * 4);
    float *wf = malloc(sizeof(float) * N_COLS * N_ROWS);
    for (size_t i = 0; i < (size_t)N_COLS * 4; i++) xf[i] = rng_f();
    for (size_t i = 0; i < (size_t)N_COLS * N_ROWS; i++) wf[i] = rng_f() * 0.05f;

    /* the roofline: plain loads over the working set (and 256-bit ones
     * where the CPU has AVX2), and mote_bench_bandwidth's read patterns
     * (software prefetches, two streams: on hosts where one core keeps too
     * few lines in flight by itself these read up to 1.5 x faster than
     * plain loads); the fastest counts */
    uint8_t *rb = malloc(work_bytes);
    memset(rb, 1, work_bytes);
    volatile uint64_t sink = 0;
    const double plain_gbs = read_gbs(read_sum, rb, work_bytes, &sink);
    double wide_gbs = 0.0, pattern_gbs = 0.0;
#if defined(__x86_64__)
    if (mote__isa_supported(MOTE_ISA_AVX2)) wide_gbs = read_gbs(read_sum_avx2, rb, work_bytes, &sink);
#endif
    free(rb);
    mote_error err = {0};
    if (mote_bench_bandwidth(1, work_bytes, 7, &pattern_gbs, NULL, &err)) {
        fprintf(stderr, "kernels bench: %s\n", err.msg);
        return 1;
    }
    double roof_gbs = wide_gbs > plain_gbs ? wide_gbs : plain_gbs;
    if (pattern_gbs > roof_gbs) roof_gbs = pattern_gbs;
    printf("kernels bench: W (%d, %d) @ x, one thread, working set %zu MiB\n", N_ROWS, N_COLS,
           work_bytes >> 20);
    printf("read bandwidth: %.2f GB/s with 64-bit loads, %.2f GB/s with 256-bit loads, %.2f GB/s "
           "mote_bench_bandwidth (the roofline below: %.2f)\n", plain_gbs, wide_gbs, pattern_gbs, roof_gbs);
    printf("%-6s %-12s %10s %9s %9s %9s %9s %14s\n", "type", "isa", "MB/matrix", "GB/s", "roofline",
           "gemv GB/s", "roofline", "vec_dot_4 GMAC/s");

    static const uint32_t types[] = {MOTE_TYPE_F32,  MOTE_TYPE_F16,  MOTE_TYPE_BF16,
                                     MOTE_TYPE_Q8_0, MOTE_TYPE_Q4_0, MOTE_TYPE_Q4_1,
                                     MOTE_TYPE_Q5_0, MOTE_TYPE_Q5_1, MOTE_TYPE_IQ4_NL,
                                     MOTE_TYPE_Q2_K, MOTE_TYPE_Q3_K, MOTE_TYPE_Q4_K,
                                     MOTE_TYPE_Q5_K, MOTE_TYPE_Q6_K, MOTE_TYPE_TQ1_0,
                                     MOTE_TYPE_TQ2_0};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const uint32_t type = types[ti];
        const mote_type_traits *tr = mote__type_traits(type);
        if (!tr || !tr->quantize_ref || !type_wanted(tr->name)) continue;
        uint64_t rb64 = 0;
        mote__type_row_bytes(type, N_COLS, &rb64);
        const size_t row_bytes = (size_t)rb64, mat_bytes = row_bytes * N_ROWS;
        size_t n_copies = work_bytes / mat_bytes;
        if (n_copies < 1) n_copies = 1;
        uint8_t *w = malloc(mat_bytes * n_copies);
        for (int64_t r = 0; r < N_ROWS; r++)
            tr->quantize_ref(wf + (size_t)r * N_COLS, w + (size_t)r * row_bytes, N_COLS);
        for (size_t c = 1; c < n_copies; c++) memcpy(w + c * mat_bytes, w, mat_bytes);
        uint64_t ab64 = 0;
        mote__type_row_bytes(tr->vec_dot_type, N_COLS, &ab64);
        const size_t act_stride = ((size_t)ab64 + 63) & ~(size_t)63;
        void *act = mote__malloc_aligned(act_stride * 4, 64);

        for (int isa = 0; isa < MOTE_ISA_COUNT; isa++) {
            const mote_kernel_table *k = mote__kernels_for_isa(type, (mote_isa)isa);
            if (!k || (isa > 0 && strcmp(k->isa, "scalar") == 0)) continue;
            for (int t = 0; t < 4; t++) {
                if (k->quantize_act)
                    k->quantize_act(xf + t * N_COLS, (uint8_t *)act + t * act_stride, N_COLS);
                else
                    memcpy((uint8_t *)act + t * act_stride, xf + t * N_COLS, 4 * N_COLS);
            }
            /* matvec: every copy once per run (scalar: one copy, it is slow) */
            const size_t copies = isa == 0 ? 1 : n_copies;
            double t_mv[N_RUNS], t_4[N_RUNS];
            for (int r = 0; r < N_RUNS; r++) {
                double t0 = mote_time_now();
                for (size_t c = 0; c < copies; c++) {
                    const uint8_t *m = w + c * mat_bytes;
                    for (int64_t row = 0; row < N_ROWS; row++)
                        y[row] = k->vec_dot(N_COLS, m + (size_t)row * row_bytes, act);
                }
                t_mv[r] = (mote_time_now() - t0) / (double)copies;
                sink += (uint64_t)(y[N_ROWS / 2] != 0.0f);
            }
            const double gbs = (double)mat_bytes / median(t_mv, N_RUNS) / 1e9;
            /* the same product through the one-token kernel, where the
             * table has one (what generation runs) */
            double gemv_gbs = 0.0;
            if (k->gemv) {
                for (int r = 0; r < N_RUNS; r++) {
                    double t0 = mote_time_now();
                    for (size_t c = 0; c < copies; c++)
                        k->gemv(N_COLS, w + c * mat_bytes, row_bytes, N_ROWS, act, y);
                    t_mv[r] = (mote_time_now() - t0) / (double)copies;
                    sink += (uint64_t)(y[N_ROWS / 2] != 0.0f);
                }
                gemv_gbs = (double)mat_bytes / median(t_mv, N_RUNS) / 1e9;
            }
            double gmac4 = 0.0;
            if (k->vec_dot_4) {
                /* a 128 KiB tile of rows, cycled: L2-resident weights */
                int64_t tile = (int64_t)((128u << 10) / row_bytes);
                if (tile < 1) tile = 1;
                const int64_t n_rows4 = isa == 0 ? N_ROWS / 8 : 4 * (int64_t)N_ROWS;
                for (int r = 0; r < N_RUNS; r++) {
                    double t0 = mote_time_now();
                    for (int64_t row = 0; row < n_rows4; row++)
                        k->vec_dot_4(N_COLS, w + (size_t)(row % tile) * row_bytes, act,
                                     act_stride, y + 4 * (row % N_ROWS));
                    t_4[r] = mote_time_now() - t0;
                }
                gmac4 = 4.0 * (double)n_rows4 * N_COLS / median(t_4, N_RUNS) / 1e9;
            }
            printf("%-6s %-12s %10.1f %9.2f %8.0f%% ", tr->name, k->isa, mat_bytes / 1e6, gbs,
                   100.0 * gbs / roof_gbs);
            if (gemv_gbs > 0) printf("%9.2f %8.0f%% ", gemv_gbs, 100.0 * gemv_gbs / roof_gbs);
            else printf("%9s %9s ", "-", "-");
            if (gmac4 > 0) printf("%14.2f\n", gmac4);
            else printf("%14s\n", "-");
            fflush(stdout);
        }
        mote__free_aligned(act);
        free(w);
    }
    free(wf);
    free(xf);
    free(y);
    return sink == 42; /* keep the reads alive; 0 in practice */
}
