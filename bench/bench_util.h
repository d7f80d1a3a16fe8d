/* bench_util.h — what the C benchmarks (bench/kernels.c, bench/gemm.c)
 * share: reproducible random inputs (xorshift64*, uniform in [-1, 1)) and
 * the qsort order of doubles their medians use. Included once per
 * benchmark binary. */
#ifndef MOTE_BENCH_UTIL_H
#define MOTE_BENCH_UTIL_H

#include <stdint.h>

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

/* Uniform in [-1, 1) (xorshift64*). */
static inline float rng_f(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (float)((double)((g_rng * 2685821657736338717ull) >> 11) * 0x1p-52 - 1.0);
}

/* qsort order of doubles, ascending. */
static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif
