/* test_gemm.c — the gemm kernels of prompt processing (kernels.h,
 * mote_gemm_fn; x86/gemm_avx2.c) against the scalar reference
 * mote__gemm_ref (vec_dot_ref per element), and the batched matrix product
 * of matmul.c that routes to them.
 *
 * For each type with a gemm kernel (f32, f16, q4_0, q5_0, q8_0) and each
 * variant this CPU runs (plain AVX2, AVX-VNNI, AVX-512; on other CPUs and
 * architectures the table's gemm, if any):
 *   - random weights (through the reference quantizer) and activations
 *     (through mote__matmul_quantize, so with the q8_0 extras) of awkward
 *     shapes: 1 row, 1 token, odd row counts, token counts not a multiple of
 *     the register tile, more tokens than one token chunk, K above one K
 *     block and not a multiple of it, float K not a multiple of 8; every
 *     element within the tolerance below of the reference, and nothing
 *     written outside the output rows (sentinels in the y stride);
 *   - exactly the reference when every scale is 1 and all sums are integers
 *     below 2^24 (any order is then exact: a wrong nibble, bit, sign or
 *     offset correction cannot hide in a tolerance), on raw random bytes
 *     (q8_0 weights of -128 included);
 *   - the result of a call does not depend on how its rows are split
 *     (bit-identical for split points at any row), and mote__matmul_rows run
 *     by 1, 2 and 3 threads of the pool with mote__matmul_chunk_rows gives
 *     bit-identical output (under an emulator: the same splits run in turn).
 *
 * Tolerances (u = 2^-24; S = sum_j |w_j * a_j| over the dequantized
 * operands): float kernels accumulate each element in one f32 FMA chain of
 * n terms, the reference sums rounded products in double: |gemm - ref| <=
 * (n + 16) u S. Block types: each block's integer dot is exact in both, the
 * f32 block terms are added in the same order, rounded once more per block
 * in the reference (product, then sum) than in the FMA: <= (2 nb + 16) u S.
 */
#include "test.h"
#include "test_rng.h"
#include "core/threadpool.h"
#include "kernels/kernels.h"
#include "tensor/types.h"
#include <stdint.h>

/* ---- helpers ---- */


/* Random floats with per-32-block scales spanning six decades. */
static void fill_random(float *x, int64_t n) {
    static const float scales[] = {1.0f, 0.01f, 50.0f, 3.0f, 1e-4f};
    for (int64_t i = 0; i < n; i++) x[i] = rng_f() * scales[(i / 32) % 5];
}

static size_t row_bytes(uint32_t type, int64_t n) {
    uint64_t b = 0;
    return mote__type_row_bytes(type, (uint64_t)n, &b) ? (size_t)b : 0;
}

static const uint32_t g_types[] = {MOTE_TYPE_F32, MOTE_TYPE_F16, MOTE_TYPE_Q4_0, MOTE_TYPE_Q5_0,
                                   MOTE_TYPE_Q8_0};
#define N_TYPES (sizeof g_types / sizeof g_types[0])

static bool is_block(uint32_t t) { return mote__type_traits(t)->block_size == 32; }

/* The kernels to test for a type: each x86 variant this CPU has, or the
 * table's gemm elsewhere. Returns the count; names them in names[]. */
static int kernels_of(uint32_t type, mote_gemm_fn fns[4], const char *names[4]) {
    static const char *vnames[] = {"avx2", "avx-vnni", "avx512"};
    int n = 0;
    for (int v = 0; v < 3; v++) {
        mote_gemm_fn f = mote__gemm_x86_variant(type, v);
        if (f) {
            fns[n] = f;
            names[n++] = vnames[v];
        }
    }
    const mote_kernel_table *k = mote__kernels_for(type);
    if (n == 0 && k && k->gemm) {
        fns[n] = k->gemm;
        names[n++] = k->isa;
    }
    return n;
}

/* One problem: weights (n_rows, n_cols) of `type`, activations for n_tok
 * tokens in the layout mote__matmul_rows takes, output with a y stride
 * wider than n_rows (sentinels in the gap). */
typedef struct problem {
    uint32_t type;
    int64_t n_rows, n_tok, n_cols;
    uint8_t *w;
    size_t w_stride;
    float *x;        /* (n_tok, n_cols) f32 activations */
    uint8_t *act;    /* as the kernels read them */
    size_t act_stride;
    size_t y_stride;
} problem;

#define SENTINEL 12345.0f
#define Y_PAD 3

static void act_prepare(problem *p) {
    const size_t s = mote__matmul_act_stride(p->type, p->n_cols);
    if (s == 0) { /* f32: the rows themselves (with a wider stride) */
        p->act_stride = (size_t)(p->n_cols + 5) * sizeof(float);
        p->act = aligned_alloc(64, (p->act_stride * (size_t)p->n_tok + 63) / 64 * 64);
        for (int64_t t = 0; t < p->n_tok; t++)
            memcpy(p->act + (size_t)t * p->act_stride, p->x + t * p->n_cols,
                   (size_t)p->n_cols * sizeof(float));
        return;
    }
    p->act_stride = s;
    p->act = aligned_alloc(64, s * (size_t)p->n_tok);
    memset(p->act, 0, s * (size_t)p->n_tok);
    mote__matmul_quantize(p->type, p->x, (size_t)p->n_cols, p->n_cols, p->act, s, 0, p->n_tok);
}

static void problem_new(problem *p, uint32_t type, int64_t n_rows, int64_t n_tok, int64_t n_cols) {
    *p = (problem){.type = type, .n_rows = n_rows, .n_tok = n_tok, .n_cols = n_cols};
    p->w_stride = row_bytes(type, n_cols);
    p->w = malloc(p->w_stride * (size_t)n_rows);
    float *row = malloc((size_t)n_cols * sizeof(float));
    for (int64_t r = 0; r < n_rows; r++) {
        fill_random(row, n_cols);
        mote__type_traits(type)->quantize_ref(row, p->w + (size_t)r * p->w_stride, n_cols);
    }
    free(row);
    p->x = malloc((size_t)(n_tok * n_cols) * sizeof(float));
    fill_random(p->x, n_tok * n_cols);
    act_prepare(p);
    p->y_stride = (size_t)(n_rows + Y_PAD);
}

static void problem_free(problem *p) {
    free(p->w);
    free(p->x);
    free(p->act);
}

static float *y_new(const problem *p) {
    const size_t n = p->y_stride * (size_t)p->n_tok;
    float *y = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) y[i] = SENTINEL;
    return y;
}

static mote_gemm_args args_of(const problem *p, float *y, int64_t r0, int64_t r1) {
    return (mote_gemm_args){.n_cols = p->n_cols,
                            .w = p->w + (size_t)r0 * p->w_stride,
                            .w_stride = p->w_stride,
                            .n_rows = r1 - r0,
                            .act = p->act,
                            .act_stride = p->act_stride,
                            .n_tok = p->n_tok,
                            .y = y + r0,
                            .y_stride = p->y_stride};
}

/* S of the tolerance for weight row r and token t. */
static double dot_scale(const problem *p, int64_t r, int64_t t) {
    const mote_type_traits *tr = mote__type_traits(p->type);
    const mote_type_traits *ta = mote__type_traits(tr->vec_dot_type);
    float *wd = malloc((size_t)p->n_cols * sizeof(float));
    float *ad = malloc((size_t)p->n_cols * sizeof(float));
    tr->dequantize_ref(p->w + (size_t)r * p->w_stride, wd, p->n_cols);
    ta->dequantize_ref(p->act + (size_t)t * p->act_stride, ad, p->n_cols);
    double s = 0.0;
    for (int64_t j = 0; j < p->n_cols; j++) s += fabs((double)wd[j] * ad[j]);
    free(wd);
    free(ad);
    return s;
}

static double tolerance(const problem *p, double S) {
    const double u = 0x1p-24;
    if (is_block(p->type)) return (2.0 * (double)(p->n_cols / 32) + 16.0) * u * S;
    return ((double)p->n_cols + 16.0) * u * S;
}

/* Every element of y within tolerance of y_ref (or, exact, equal), and the
 * stride gap untouched. Reports the first failure. */
static void check_against(const problem *p, const float *y, const float *y_ref, bool exact,
                          const char *what) {
    for (int64_t t = 0; t < p->n_tok; t++) {
        for (int64_t r = 0; r < p->n_rows; r++) {
            const float got = y[(size_t)t * p->y_stride + (size_t)r];
            const float want = y_ref[(size_t)t * p->y_stride + (size_t)r];
            const double tol = exact ? 0.0 : tolerance(p, dot_scale(p, r, t));
            if (!(fabs((double)got - want) <= tol)) {
                T_CHECK(0, "%s type %s %lldx%lld K=%lld: y[t=%lld][r=%lld] = %.9g, reference %.9g "
                           "(tolerance %.3g)",
                        what, mote__type_traits(p->type)->name, (long long)p->n_rows,
                        (long long)p->n_tok, (long long)p->n_cols, (long long)t, (long long)r,
                        got, want, tol);
                return;
            }
        }
        for (int64_t r = p->n_rows; r < (int64_t)p->y_stride; r++)
            if (y[(size_t)t * p->y_stride + (size_t)r] != SENTINEL) {
                T_CHECK(0, "%s type %s: wrote past row %lld of token %lld", what,
                        mote__type_traits(p->type)->name, (long long)p->n_rows, (long long)t);
                return;
            }
    }
}

/* Shapes: {n_rows, n_tok, n_cols (block types: blocks; floats: elements)}. */
static const int64_t g_shapes_block[][3] = {
    {1, 1, 1},   {8, 4, 2},    {7, 5, 3},     {17, 13, 33}, {16, 7, 65},
    {64, 6, 32}, {65, 12, 64}, {33, 130, 10}, {80, 3, 97},  {3, 2, 200},
};
static const int64_t g_shapes_float[][3] = {
    {1, 1, 1},   {16, 6, 8},    {7, 5, 9},     {17, 13, 255}, {33, 12, 257},
    {32, 1, 31}, {65, 25, 600}, {2, 50, 100},  {70, 13, 513}, {3, 2, 1000},
};
#define N_SHAPES 10

/* ---- tests ---- */

/* Random problems of awkward shapes, each kernel against the reference. */
static void test_gemm_random(void) {
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const uint32_t type = g_types[ti];
        mote_gemm_fn fns[4];
        const char *names[4];
        const int n_fns = kernels_of(type, fns, names);
        for (int s = 0; s < N_SHAPES; s++) {
            const int64_t *sh = is_block(type) ? g_shapes_block[s] : g_shapes_float[s];
            const int64_t n_cols = is_block(type) ? sh[2] * 32 : sh[2];
            problem p;
            problem_new(&p, type, sh[0], sh[1], n_cols);
            float *y_ref = y_new(&p);
            mote_gemm_args ra = args_of(&p, y_ref, 0, p.n_rows);
            mote__gemm_ref(type, &ra);
            for (int f = 0; f < n_fns; f++) {
                float *y = y_new(&p);
                mote_gemm_args a = args_of(&p, y, 0, p.n_rows);
                fns[f](&a);
                check_against(&p, y, y_ref, false, names[f]);
                free(y);
            }
            free(y_ref);
            problem_free(&p);
            if (t_cur_failed) return;
        }
    }
}

/* Scales of 1 and small integer sums: the kernels must equal the
 * reference exactly. */
static void test_gemm_exact(void) {
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const uint32_t type = g_types[ti];
        if (!is_block(type)) continue;
        mote_gemm_fn fns[4];
        const char *names[4];
        const int n_fns = kernels_of(type, fns, names);
        const mote_type_traits *tr = mote__type_traits(type);
        const int64_t n_rows = 19, n_tok = 7, nb = 9, n_cols = nb * 32;
        problem p = {.type = type, .n_rows = n_rows, .n_tok = n_tok, .n_cols = n_cols};
        p.w_stride = row_bytes(type, n_cols);
        p.w = malloc(p.w_stride * (size_t)n_rows);
        for (size_t i = 0; i < p.w_stride * (size_t)n_rows; i++) p.w[i] = (uint8_t)rng_u64();
        const mote_f16 one = mote__f32_to_f16(1.0f);
        for (int64_t r = 0; r < n_rows; r++)
            for (int64_t b = 0; b < nb; b++)
                memcpy(p.w + (size_t)r * p.w_stride + (size_t)b * tr->type_size, &one, 2);
        /* q8_0 activation rows with scale 1 and quants in -127..127 */
        p.act_stride = mote__matmul_act_stride(type, n_cols);
        p.act = aligned_alloc(64, p.act_stride * (size_t)n_tok);
        memset(p.act, 0, p.act_stride * (size_t)n_tok);
        for (int64_t t = 0; t < n_tok; t++) {
            uint8_t *row = p.act + (size_t)t * p.act_stride;
            for (int64_t b = 0; b < nb; b++) {
                mote_block_q8_0 blk;
                blk.d = one;
                for (int j = 0; j < 32; j++) blk.qs[j] = (int8_t)((int)(rng_u64() % 255) - 127);
                memcpy(row + (size_t)b * sizeof blk, &blk, sizeof blk);
            }
            mote__q8_act_extras(row, n_cols);
        }
        p.x = NULL;
        p.y_stride = (size_t)(n_rows + Y_PAD);
        float *y_ref = y_new(&p);
        mote_gemm_args ra = args_of(&p, y_ref, 0, n_rows);
        mote__gemm_ref(type, &ra);
        for (int f = 0; f < n_fns; f++) {
            float *y = y_new(&p);
            mote_gemm_args a = args_of(&p, y, 0, n_rows);
            fns[f](&a);
            check_against(&p, y, y_ref, true, names[f]);
            free(y);
        }
        free(y_ref);
        problem_free(&p);
        if (t_cur_failed) return;
    }
}

/* Rows split at awkward points give the bits of one whole call. */
static void test_gemm_split_rows(void) {
    static const int64_t cuts[][3] = {{1, 2, 3}, {5, 21, 40}, {8, 16, 63}, {13, 47, 70}};
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const uint32_t type = g_types[ti];
        mote_gemm_fn fns[4];
        const char *names[4];
        const int n_fns = kernels_of(type, fns, names);
        problem p;
        problem_new(&p, type, 71, 11, is_block(type) ? 40 * 32 : 300);
        for (int f = 0; f < n_fns; f++) {
            float *whole = y_new(&p);
            mote_gemm_args a = args_of(&p, whole, 0, p.n_rows);
            fns[f](&a);
            for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
                float *y = y_new(&p);
                int64_t r0 = 0;
                for (int i = 0; i <= 3; i++) {
                    const int64_t r1 = i < 3 ? cuts[c][i] : p.n_rows;
                    mote_gemm_args part = args_of(&p, y, r0, r1);
                    fns[f](&part);
                    r0 = r1;
                }
                T_CHECK(memcmp(y, whole, p.y_stride * (size_t)p.n_tok * sizeof(float)) == 0,
                        "%s type %s: rows split at %lld/%lld/%lld differ from one call", names[f],
                        mote__type_traits(type)->name, (long long)cuts[c][0],
                        (long long)cuts[c][1], (long long)cuts[c][2]);
                free(y);
            }
            free(whole);
        }
        problem_free(&p);
        if (t_cur_failed) return;
    }
}

/* mote__matmul_rows over the pool, as the model splits it. */
typedef struct mm_task {
    const mote_matrix *w;
    const problem *p;
    float *y;
    int64_t chunk;
} mm_task;

static void mm_worker(void *vt, int ith, int nth) {
    mm_task *t = vt;
    const int64_t n_chunks = (t->w->n_rows + t->chunk - 1) / t->chunk;
    for (int64_t k = ith; k < n_chunks; k += nth) {
        const int64_t r0 = k * t->chunk;
        const int64_t r1 = r0 + t->chunk < t->w->n_rows ? r0 + t->chunk : t->w->n_rows;
        mote__matmul_rows(t->w, t->p->act, t->p->act_stride, t->p->n_tok, t->y, t->p->y_stride, r0,
                          r1);
    }
}

/* Under an emulator (MOTE_EXEC set: make test-aarch64) the pool's split is
 * run in turn on one thread: the kernels are pure, so the split alone
 * decides the bits, and emulated threads on a busy machine are slow (the
 * pool itself is tested by test_threads). */
static void test_gemm_threads(void) {
    const char *exec = getenv("MOTE_EXEC");
    const bool emulated = exec && *exec;
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        const uint32_t type = g_types[ti];
        problem p;
        problem_new(&p, type, 150, 37, is_block(type) ? 24 * 32 : 200);
        const mote_matrix w = {.data = p.w,
                               .type = type,
                               .n_cols = p.n_cols,
                               .n_rows = p.n_rows,
                               .row_bytes = p.w_stride};
        float *first = NULL;
        for (int nth = 1; nth <= 3; nth++) {
            mm_task task = {.w = &w,
                            .p = &p,
                            .y = y_new(&p),
                            .chunk = mote__matmul_chunk_rows(&w, p.n_tok, nth)};
            if (emulated) { /* the pool's split, run in turn on this thread */
                for (int ith = 0; ith < nth; ith++) mm_worker(&task, ith, nth);
            } else {
                mote_threadpool *tp = NULL;
                mote_error err = {0};
                T_REQUIRE(mote__threadpool_new(nth, &tp, &err) == MOTE_OK, "threadpool: %s",
                          err.msg);
                mote__threadpool_run(tp, mm_worker, &task);
                mote__threadpool_free(tp);
            }
            if (!first) {
                first = task.y;
                /* and the pooled product is right */
                float *y_ref = y_new(&p);
                mote_gemm_args ra = args_of(&p, y_ref, 0, p.n_rows);
                mote__gemm_ref(type, &ra);
                check_against(&p, first, y_ref, false, "matmul_rows");
                free(y_ref);
            } else {
                T_CHECK(memcmp(task.y, first, p.y_stride * (size_t)p.n_tok * sizeof(float)) == 0,
                        "type %s: %d threads differ from 1 thread", mote__type_traits(type)->name,
                        nth);
                free(task.y);
            }
        }
        free(first);
        problem_free(&p);
        if (t_cur_failed) return;
    }
}

int main(void) {
    (void)t_assets; /* a test.h helper this binary does not need */
    T_RUN(test_gemm_random);
    T_RUN(test_gemm_exact);
    T_RUN(test_gemm_split_rows);
    T_RUN(test_gemm_threads);
    return t_exit();
}
