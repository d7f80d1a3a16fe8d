/* matmul.c — the matrix products of training (where its time goes), and
 * the fork-join helper the training ops use to spread work over the
 * threads of a pool (src/core/threadpool.h).
 *
 * All three products of a linear layer reduce to one kernel,
 *   C (M, Nc) += A (M, K) @ B (K, Nc), row-major,
 * cache-blocked (K in slices of KC, columns in panels of NC, so a B panel
 * stays in L2 while tiles of 6 rows of A stream past it) with a register
 * tile of 6 rows. On x86-64 the CPU is asked at run time (src/kernels/cpu.h;
 * never assumed at compile time; MOTE_ISA=scalar forces C): with AVX-512F the tile is 6x32 in 512-bit FMAs, with AVX2
 * and FMA 6x16 in 256-bit FMAs, each in a function compiled for that target
 * only; elsewhere plain C loops. Rows of C are split over threads.
 *   forward  out = inp @ W^T      : B = W^T, transposed into `work` first
 *   backward dinp += dout @ W     : B = W as stored
 *            dW += dout^T @ inp   : A = dout^T, read in place with strides
 *                                   (the tile broadcasts single elements of
 *                                   A, so a transposed A costs nothing)
 * The _ref functions are the plain triple loops the tests compare against.
 * Not here: the other ops (ops.c).
 */
#include "ops.h"
#include "../kernels/cpu.h"
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MOTE_TR_X86 1
#endif

/* ---- fork-join over the pool ---- */

typedef struct par_job {
    mote__tr_task_fn fn;
    void *ctx;
    int64_t n, grain, n_units;
} par_job;

/* Thread ith of nth: its share of the grain-sized units. */
static void par_run(void *task, int ith, int nth) {
    const par_job *j = task;
    int64_t lo, hi;
    mote__split_range(j->n_units, ith, nth, &lo, &hi);
    lo *= j->grain;
    hi *= j->grain;
    if (hi > j->n) hi = j->n;
    if (lo < hi) j->fn(j->ctx, lo, hi, ith);
}

int mote__tr_n_threads(const mote_threadpool *tp) {
    return tp ? mote__threadpool_n_threads(tp) : 1;
}

void mote__tr_parallel(int64_t n, int64_t grain, mote_threadpool *tp, mote__tr_task_fn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t n_units = (n + grain - 1) / grain;
    if (!tp || mote__threadpool_n_threads(tp) <= 1 || n_units <= 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    par_job j = {fn, ctx, n, grain, n_units};
    mote__threadpool_run(tp, par_run, &j);
}

/* ---- the blocked kernel ---- */

#define MR 6     /* rows of a register tile */
#define KC 256   /* K slice */
#define NC 512   /* column panel */

/* Portable tile: C[r, j] += sum_k A[r, k] B[k, j] for r < mr, j < nc, where
 * A[r, k] is at A + r * sar + k * sak (so A may be stored transposed). */
static void tile_c(int mr, int64_t nc, int64_t kc, const float *A, int64_t sar, int64_t sak,
                   const float *B, int64_t ldb, float *C, int64_t ldc) {
    for (int r = 0; r < mr; r++) {
        float *c = C + r * ldc;
        const float *a = A + r * sar;
        for (int64_t k = 0; k < kc; k++) {
            const float av = a[k * sak];
            const float *b = B + k * ldb;
            for (int64_t j = 0; j < nc; j++) c[j] += av * b[j];
        }
    }
}

#ifdef MOTE_TR_X86
#define AVX2 __attribute__((target("avx2,fma")))

/* Register tile of ROWS (<= 6, a constant after inlining) rows by 16
 * (NV = 2) or 8 (NV = 1) columns over kc steps; with MASKED (NV = 1) only
 * the columns whose lane in `mask` is set are read and written. A[r, k] is
 * at A + r * sar + k * sak. */
#define TILE_ROW(r)                                                              \
    if (ROWS > r) {                                                              \
        __m256 a = _mm256_broadcast_ss(A + r * sar + k * sak);                   \
        c##r##0 = _mm256_fmadd_ps(a, b0, c##r##0);                               \
        if (NV > 1) c##r##1 = _mm256_fmadd_ps(a, b1, c##r##1);                   \
    }
#define TILE_STORE(r)                                                            \
    if (ROWS > r) {                                                              \
        float *cr = C + r * ldc;                                                 \
        if (MASKED) {                                                            \
            if (acc) c##r##0 = _mm256_add_ps(_mm256_maskload_ps(cr, mask), c##r##0); \
            _mm256_maskstore_ps(cr, mask, c##r##0);                              \
        } else {                                                                 \
            if (acc) c##r##0 = _mm256_add_ps(_mm256_loadu_ps(cr), c##r##0);      \
            _mm256_storeu_ps(cr, c##r##0);                                       \
            if (NV > 1) {                                                        \
                if (acc) c##r##1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), c##r##1); \
                _mm256_storeu_ps(cr + 8, c##r##1);                               \
            }                                                                    \
        }                                                                        \
    }

static inline __attribute__((always_inline)) AVX2 void
tile_avx2(const int ROWS, const int NV, const int MASKED, __m256i mask, int64_t kc, const float *A,
          int64_t sar, int64_t sak, const float *B, int64_t ldb, float *C, int64_t ldc, bool acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < kc; k++) {
        const float *b = B + k * ldb;
        __m256 b0 = MASKED ? _mm256_maskload_ps(b, mask) : _mm256_loadu_ps(b);
        __m256 b1 = NV > 1 ? _mm256_loadu_ps(b + 8) : b0;
        TILE_ROW(0) TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5)
    }
    TILE_STORE(0) TILE_STORE(1) TILE_STORE(2) TILE_STORE(3) TILE_STORE(4) TILE_STORE(5)
}

/* One block: rows [0, mr) (mr <= 6) by columns [0, nc) over kc; adds to C
 * (acc) or overwrites it. */
static AVX2 void block_avx2(int mr, int64_t nc, int64_t kc, const float *A, int64_t sar,
                            int64_t sak, const float *B, int64_t ldb, float *C, int64_t ldc,
                            bool acc) {
    int64_t j = 0;
    __m256i mask = _mm256_setzero_si256();
#define DISPATCH(NV, MASKED)                                                                \
    switch (mr) {                                                                           \
    case 6: tile_avx2(6, NV, MASKED, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    case 5: tile_avx2(5, NV, MASKED, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    case 4: tile_avx2(4, NV, MASKED, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    case 3: tile_avx2(3, NV, MASKED, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    case 2: tile_avx2(2, NV, MASKED, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    default: tile_avx2(1, NV, MASKED, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    }
    for (; j + 16 <= nc; j += 16) DISPATCH(2, 0)
    for (; j + 8 <= nc; j += 8) DISPATCH(1, 0)
    if (j < nc) {
        const int rest = (int)(nc - j);
        mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        DISPATCH(1, 1)
    }
#undef DISPATCH
}

/* The same tile with 512-bit registers: 6 rows by 32 (NV = 2) or 16
 * columns, the last 16-block masked. */
#define AVX512 __attribute__((target("avx512f")))
#define TILE_ROW512(r)                                                           \
    if (ROWS > r) {                                                              \
        __m512 a = _mm512_set1_ps(A[r * sar + k * sak]);                         \
        c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0);                               \
        if (NV > 1) c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);                   \
    }
#define TILE_STORE512(r)                                                         \
    if (ROWS > r) {                                                              \
        float *cr = C + r * ldc;                                                 \
        if (acc) c##r##0 = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, cr), c##r##0); \
        _mm512_mask_storeu_ps(cr, mask, c##r##0);                                \
        if (NV > 1) {                                                            \
            if (acc) c##r##1 = _mm512_add_ps(_mm512_loadu_ps(cr + 16), c##r##1); \
            _mm512_storeu_ps(cr + 16, c##r##1);                                  \
        }                                                                        \
    }

static inline __attribute__((always_inline)) AVX512 void
tile_avx512(const int ROWS, const int NV, __mmask16 mask, int64_t kc, const float *A, int64_t sar,
            int64_t sak, const float *B, int64_t ldb, float *C, int64_t ldc, bool acc) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < kc; k++) {
        const float *b = B + k * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(mask, b);
        __m512 b1 = NV > 1 ? _mm512_loadu_ps(b + 16) : b0;
        TILE_ROW512(0) TILE_ROW512(1) TILE_ROW512(2) TILE_ROW512(3) TILE_ROW512(4) TILE_ROW512(5)
    }
    TILE_STORE512(0) TILE_STORE512(1) TILE_STORE512(2) TILE_STORE512(3) TILE_STORE512(4) TILE_STORE512(5)
}

static AVX512 void block_avx512(int mr, int64_t nc, int64_t kc, const float *A, int64_t sar,
                                int64_t sak, const float *B, int64_t ldb, float *C, int64_t ldc,
                                bool acc) {
    int64_t j = 0;
    __mmask16 mask = 0xFFFF;
#define DISPATCH(NV)                                                                    \
    switch (mr) {                                                                       \
    case 6: tile_avx512(6, NV, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    case 5: tile_avx512(5, NV, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    case 4: tile_avx512(4, NV, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    case 3: tile_avx512(3, NV, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    case 2: tile_avx512(2, NV, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    default: tile_avx512(1, NV, mask, kc, A, sar, sak, B + j, ldb, C + j, ldc, acc); break; \
    }
    for (; j + 32 <= nc; j += 32) DISPATCH(2)
    for (; j + 16 <= nc; j += 16) DISPATCH(1)
    if (j < nc) {
        mask = (__mmask16)((1u << (nc - j)) - 1u);
        DISPATCH(1)
    }
#undef DISPATCH
}

enum { ISA_C, ISA_AVX2, ISA_AVX512 };
static int g_isa = -1;    /* what this CPU has, detected once */
static int g_isa_cap = 2; /* mote__tr_gemm_limit_isa */

/* From src/kernels/cpu.h (CPUID and the OS's saved register state);
 * MOTE_ISA=scalar there turns the vector paths off here too. */
static int detect_isa(void) {
    if (g_isa < 0) {
        const mote_cpu_features *f = mote__cpu_features();
        bool avx2 = f->avx2 && f->fma && mote__isa_active() != MOTE_ISA_SCALAR;
        g_isa = avx2 && f->avx512f ? ISA_AVX512 : avx2 ? ISA_AVX2 : ISA_C;
    }
    return g_isa < g_isa_cap ? g_isa : g_isa_cap;
}
#else
enum { ISA_C, ISA_AVX2, ISA_AVX512 };
static int g_isa_cap = 2;
static int detect_isa(void) { return ISA_C; }
#endif

int mote__tr_gemm_limit_isa(int level) {
    g_isa_cap = level < 0 ? 0 : level > 2 ? 2 : level;
    return detect_isa();
}

const char *mote__tr_gemm_isa(void) {
    int isa = detect_isa();
    return isa == ISA_AVX512 ? "avx512" : isa == ISA_AVX2 ? "avx2" : "c";
}

typedef struct gemm_args {
    float *C;
    const float *A, *B;
    int64_t K, Nc, sar, sak, ldb, ldc;
    int isa;
    bool overwrite;
} gemm_args;

/* Rows [begin, end) of C. */
static void gemm_task(void *ctx, int64_t begin, int64_t end, int tid) {
    const gemm_args *g = ctx;
    (void)tid;
    for (int64_t k0 = 0; k0 < g->K; k0 += KC) {
        const int64_t kc = g->K - k0 < KC ? g->K - k0 : KC;
        for (int64_t j0 = 0; j0 < g->Nc; j0 += NC) {
            const int64_t nc = g->Nc - j0 < NC ? g->Nc - j0 : NC;
            for (int64_t i = begin; i < end; i += MR) {
                const int mr = (int)(end - i < MR ? end - i : MR);
                const float *A = g->A + i * g->sar + k0 * g->sak;
                const float *B = g->B + k0 * g->ldb + j0;
                float *C = g->C + i * g->ldc + j0;
                const bool acc = !(g->overwrite && k0 == 0); /* else C = A B */
#ifdef MOTE_TR_X86
                if (g->isa == ISA_AVX512) {
                    block_avx512(mr, nc, kc, A, g->sar, g->sak, B, g->ldb, C, g->ldc, acc);
                    continue;
                }
                if (g->isa == ISA_AVX2) {
                    block_avx2(mr, nc, kc, A, g->sar, g->sak, B, g->ldb, C, g->ldc, acc);
                    continue;
                }
#endif
                if (!acc)
                    for (int r = 0; r < mr; r++) memset(C + r * g->ldc, 0, (size_t)nc * sizeof(float));
                tile_c(mr, nc, kc, A, g->sar, g->sak, B, g->ldb, C, g->ldc);
            }
        }
    }
}

/* C (M, Nc) (+)= A (M, K) @ B (K, Nc) with A[r, k] at A + r * sar + k * sak. */
static void gemm_strided(float *C, const float *A, const float *B, int64_t M, int64_t K,
                         int64_t Nc, int64_t sar, int64_t sak, int64_t ldb, int64_t ldc,
                         bool overwrite, mote_threadpool *tp) {
    gemm_args g = {C, A, B, K, Nc, sar, sak, ldb, ldc, detect_isa(), overwrite};
    if (K == 0 && overwrite) {
        for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)Nc * sizeof(float));
        return;
    }
    mote__tr_parallel(M, MR, tp, gemm_task, &g);
}

void mote__tr_gemm(float *C, const float *A, const float *B, int64_t M, int64_t K, int64_t Nc,
                   int64_t lda, int64_t ldb, int64_t ldc, mote_threadpool *tp) {
    gemm_strided(C, A, B, M, K, Nc, lda, 1, ldb, ldc, false, tp);
}

/* ---- the matmuls ---- */

/* dst (cols, rows) = src (rows, cols)^T, in 32x32 tiles for the cache. */
static void transpose(float *dst, const float *src, int64_t rows, int64_t cols) {
    for (int64_t r0 = 0; r0 < rows; r0 += 32)
        for (int64_t c0 = 0; c0 < cols; c0 += 32) {
            int64_t r1 = r0 + 32 < rows ? r0 + 32 : rows, c1 = c0 + 32 < cols ? c0 + 32 : cols;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
        }
}

size_t mote__tr_matmul_work_floats(int64_t N, int64_t IC, int64_t OC) {
    (void)N;
    return (size_t)(IC * OC);
}

void mote__tr_matmul_fwd(float *out, const float *inp, const float *W, int64_t N, int64_t IC,
                         int64_t OC, float *work, mote_threadpool *tp) {
    transpose(work, W, OC, IC); /* W^T (IC, OC) */
    gemm_strided(out, inp, work, N, IC, OC, IC, 1, OC, OC, true, tp);
}

static void matmul_bwd(float *dinp, bool dinp_set, float *dW, const float *dout, const float *inp,
                       const float *W, int64_t N, int64_t IC, int64_t OC, mote_threadpool *tp) {
    if (dinp) gemm_strided(dinp, dout, W, N, OC, IC, OC, 1, IC, IC, dinp_set, tp);
    /* dW (OC, IC) += dout^T @ inp: A[o, n] = dout[n, o], read in place */
    if (dW) gemm_strided(dW, dout, inp, OC, N, IC, 1, OC, IC, IC, false, tp);
}

void mote__tr_matmul_bwd(float *dinp, float *dW, const float *dout, const float *inp,
                         const float *W, int64_t N, int64_t IC, int64_t OC, float *work,
                         mote_threadpool *tp) {
    (void)work;
    matmul_bwd(dinp, false, dW, dout, inp, W, N, IC, OC, tp);
}

void mote__tr_matmul_bwd_set(float *dinp, float *dW, const float *dout, const float *inp,
                             const float *W, int64_t N, int64_t IC, int64_t OC, float *work,
                             mote_threadpool *tp) {
    (void)work;
    matmul_bwd(dinp, true, dW, dout, inp, W, N, IC, OC, tp);
}

void mote__tr_matmul_fwd_ref(float *out, const float *inp, const float *W, int64_t N, int64_t IC,
                             int64_t OC) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < OC; o++) {
            float s = 0.0f;
            for (int64_t i = 0; i < IC; i++) s += inp[n * IC + i] * W[o * IC + i];
            out[n * OC + o] = s;
        }
}

void mote__tr_matmul_bwd_ref(float *dinp, float *dW, const float *dout, const float *inp,
                             const float *W, int64_t N, int64_t IC, int64_t OC) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < OC; o++) {
            const float d = dout[n * OC + o];
            for (int64_t i = 0; i < IC; i++) {
                if (dinp) dinp[n * IC + i] += d * W[o * IC + i];
                dW[o * IC + i] += d * inp[n * IC + i];
            }
        }
}
