/* bench/gemm.c — compute rate of the prompt matrix product on one thread:
 * Y (512, 2048) = X (512, 2048) @ W (2048, 2048)^T (TinyLlama-1.1B's
 * attention projection, a 512-token prompt), per weight type with a gemm
 * kernel and per kernel variant this CPU runs (x86: plain AVX2, AVX-VNNI,
 * AVX-512), beside the per-row path the gemm replaced (vec_dot_4 over
 * groups of 4 tokens, as matmul.c runs without a gemm entry).
 *
 * Figures are GFLOP/s (2 flops per multiply-add) over the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so that time the thread spends descheduled on
 * a busy machine does not count; wall-clock GFLOP/s beside it. Medians of 5
 * runs. A TinyLlama-1.1B token is about 2 GFLOP of such products, so prompt
 * tokens/s on N threads is at most about N * GFLOP/s / 2 (before attention
 * and the other per-token work).
 *
 * Not a test (it checks nothing: tests/test_gemm.c does); not `mote bench`
 * (whole models). Run by bench/kernels_gemm.sh, which `make bench` runs.
 */
#include "bench_util.h"
#include "kernels/kernels.h"
#include "tensor/types.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_COLS 2048
#define N_ROWS 2048
#define N_TOK 512
#define N_RUNS 5

static double now(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The per-row path: vec_dot_4 for groups of 4 tokens, vec_dot for the rest
 * (what mote__matmul_rows does for a type without a gemm entry). */
static void per_row(const mote_kernel_table *k, const mote_gemm_args *a) {
    const uint8_t *act = a->act, *w = a->w;
    for (int64_t t = 0; t + 4 <= a->n_tok; t += 4)
        for (int64_t r = 0; r < a->n_rows; r++) {
            float out[4];
            k->vec_dot_4(a->n_cols, w + (size_t)r * a->w_stride, act + (size_t)t * a->act_stride,
                         a->act_stride, out);
            for (int i = 0; i < 4; i++) a->y[(size_t)(t + i) * a->y_stride + (size_t)r] = out[i];
        }
}

/* Median CPU and wall seconds of one product by fn (or the per-row path
 * when fn is NULL). */
static void time_it(mote_gemm_fn fn, const mote_kernel_table *k, const mote_gemm_args *a,
                    double *cpu, double *wall) {
    double c[N_RUNS], w[N_RUNS];
    for (int i = 0; i < N_RUNS; i++) {
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
        if (fn)
            fn(a);
        else
            per_row(k, a);
        c[i] = now(CLOCK_THREAD_CPUTIME_ID) - c0;
        w[i] = now(CLOCK_MONOTONIC) - w0;
    }
    qsort(c, N_RUNS, sizeof c[0], cmp_double);
    qsort(w, N_RUNS, sizeof w[0], cmp_double);
    *cpu = c[N_RUNS / 2];
    *wall = w[N_RUNS / 2];
}

int main(void) {
    static const uint32_t types[] = {MOTE_TYPE_F32, MOTE_TYPE_F16, MOTE_TYPE_Q4_0,
                                     MOTE_TYPE_Q5_0, MOTE_TYPE_Q8_0};
    static const char *variants[] = {"avx2", "avx-vnni", "avx512"};
    const double flop = 2.0 * N_COLS * (double)N_ROWS * N_TOK;
    float *x = malloc(sizeof(float) * N_COLS * N_TOK);
    float *y = malloc(sizeof(float) * N_ROWS * N_TOK);
    float *row = malloc(sizeof(float) * N_COLS);
    for (size_t i = 0; i < (size_t)N_COLS * N_TOK; i++) x[i] = rng_f();
    printf("| type | kernel | GFLOP/s (cpu time) | GFLOP/s (wall) |\n| --- | --- | ---: | ---: |\n");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const uint32_t type = types[ti];
        const mote_type_traits *tr = mote__type_traits(type);
        const mote_kernel_table *k = mote__kernels_for(type);
        uint64_t rb = 0;
        if (!k || !mote__type_row_bytes(type, N_COLS, &rb)) continue;
        uint8_t *w = malloc((size_t)rb * N_ROWS);
        for (int r = 0; r < N_ROWS; r++) {
            for (int j = 0; j < N_COLS; j++) row[j] = rng_f() * 0.05f;
            tr->quantize_ref(row, w + (size_t)r * rb, N_COLS);
        }
        size_t stride = mote__matmul_act_stride(type, N_COLS);
        const void *act = x;
        void *actq = NULL;
        if (stride) {
            actq = aligned_alloc(64, stride * N_TOK);
            mote__matmul_quantize(type, x, N_COLS, N_COLS, actq, stride, 0, N_TOK);
            act = actq;
        } else {
            stride = sizeof(float) * N_COLS;
        }
        const mote_gemm_args a = {.n_cols = N_COLS,
                                  .w = w,
                                  .w_stride = (size_t)rb,
                                  .n_rows = N_ROWS,
                                  .act = act,
                                  .act_stride = stride,
                                  .n_tok = N_TOK,
                                  .y = y,
                                  .y_stride = N_ROWS};
        double cpu, wall;
        if (k->vec_dot_4) {
            time_it(NULL, k, &a, &cpu, &wall);
            printf("| %s | per-row vec_dot_4 (%s) | %.1f | %.1f |\n", tr->name, k->isa,
                   flop / cpu * 1e-9, flop / wall * 1e-9);
        }
        for (int v = 0; v < 3; v++) {
            mote_gemm_fn fn = mote__gemm_x86_variant(type, v);
            if (!fn) continue;
            time_it(fn, k, &a, &cpu, &wall);
            printf("| %s | gemm %s | %.1f | %.1f |\n", tr->name, variants[v], flop / cpu * 1e-9,
                   flop / wall * 1e-9);
        }
        if (k->gemm && !mote__gemm_x86_variant(type, 0) && !mote__gemm_x86_variant(type, 1) &&
            !mote__gemm_x86_variant(type, 2)) {
            time_it(k->gemm, k, &a, &cpu, &wall);
            printf("| %s | gemm (%s) | %.1f | %.1f |\n", tr->name, k->isa, flop / cpu * 1e-9,
                   flop / wall * 1e-9);
        }
        free(actq);
        free(w);
    }
    free(x);
    free(y);
    free(row);
    return 0;
}
