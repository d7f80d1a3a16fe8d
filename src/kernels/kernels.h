/* kernels.h — the compute kernels the model layer calls: matrix-vector
 * product over any weight type, RMSNorm, softmax, SiLU, and row lookup.
 *
 * This build dispatches to the scalar reference kernels of the type table
 * (src/tensor/). The SIMD kernels and threading of the speed work plug in
 * behind these same functions, so callers do not change.
 */
#ifndef MOTE_KERNELS_H
#define MOTE_KERNELS_H

#include "../tensor/types.h"
#include "cpu.h"

/* A 2-D weight matrix as stored in GGUF: n_rows rows of n_cols elements of
 * `type`, each row row_bytes long, contiguous. Points into the mmap. */
typedef struct mote_matrix {
    const void *data;
    uint32_t type;
    int64_t n_cols; /* ne[0]: the input dimension */
    int64_t n_rows; /* ne[1]: the output dimension */
    size_t row_bytes;
} mote_matrix;

/* The kernels of one weight type, chosen once (first call) from what the CPU
 * has: AVX2+FMA+F16C on x86-64, NEON+dotprod on aarch64, else the scalar
 * reference of the type table. Every entry computes what the reference
 * computes, within the tolerance tests/test_kernels.c names.
 *   vec_dot(n, w_row, act)         one weight row . one activation row
 *   vec_dot_4(n, w_row, act, stride, out[4])
 *                                  one weight row against 4 activation rows
 *                                  act, act+stride, ... (bytes): the tile of
 *                                  the prompt matmul; NULL = use vec_dot.
 *                                  stride: any multiple of the activation
 *                                  element's alignment (4 bytes for f32, 2
 *                                  for f16/bf16; block types: that of their
 *                                  scale field, 2, or 4 for q8_K's f32)
 *   quantize_act(x, y, n)          f32 activations -> vec_dot_type (NULL when
 *                                  vec_dot_type is f32)
 *   dequantize(x, y, n)            weight row(s) -> f32 */
typedef void (*mote_vec_dot4_fn)(int64_t n, const void *w, const void *act, size_t stride,
                                 float out[4]);

/* One prompt matrix product for the gemm entry of a kernel table:
 *   y[t * y_stride + r] = W row r . activation row t
 * for r in [0, n_rows), t in [0, n_tok). W: n_rows rows of n_cols elements
 * of the table's type, w_stride bytes apart. act: n_tok rows act_stride
 * bytes apart in the table's vec_dot_type, as mote__matmul_quantize writes
 * them (for q8_0 activations: with the per-block extras of
 * mote__q8_act_extras), or f32 rows for f32 weights. */
typedef struct mote_gemm_args {
    int64_t n_cols;
    const void *w;
    size_t w_stride;
    int64_t n_rows;
    const void *act;
    size_t act_stride;
    int64_t n_tok;
    float *y;
    size_t y_stride;
} mote_gemm_args;
typedef void (*mote_gemm_fn)(const mote_gemm_args *args);

/* The matrix-vector product of generation for the gemv entry of a kernel
 * table: y[r] = W row r . act for r in [0, n_rows), rows row_bytes apart,
 * act one row of n elements in the table's vec_dot_type (as quantize_act
 * writes it; any bytes after it are not read). Each y[r] is computed with
 * the same operations whatever the other rows of the call, so splitting
 * rows over calls (threads) does not change the result. n at most
 * MOTE_GEMV_MAX_COLS. */
typedef void (*mote_gemv_fn)(int64_t n, const void *w, size_t row_bytes, int64_t n_rows,
                             const void *act, float *y);
/* A gemv kernel's work on the activation alone, done once for many calls
 * (one token's matrices are claimed by the threads in pieces, a gemv call
 * each, all on the same activation): for the gemv_prep entry of a kernel
 * table, NULL where the gemv has no such work worth sharing.
 *   bytes(n)                  the size of the prepared activation for rows
 *                             of n elements; 0 where the kernel prepares
 *                             none (then: gemv)
 *   prepare(n, act, prep)     act (as gemv takes it) prepared into prep:
 *                             bytes(n) bytes, 64-byte aligned
 *   gemv(n, w, row_bytes, n_rows, prep, y)
 *                             the table's gemv from the prepared act: the
 *                             same y, bit for bit
 *   streams(n_rows, row_bytes, first)
 *                             the gemv starts a call of n_rows rows
 *                             row_bytes apart by reading k <=
 *                             MOTE_GEMV_MAX_STREAMS streams side by side
 *                             (those of its first block, simd.h), n_rows
 *                             >= 1: their first rows into first[0 .. k)
 *                             (first[0] = 0, non-decreasing: a stream may
 *                             be empty) and the row after the last
 *                             stream's end into first[k] (stream i runs
 *                             to first[i + 1]); returns k
 *   read_ahead                bytes of each stream's start a thread waiting
 *                             before its call may usefully prefetch (the
 *                             kernel's own software prefetch goes on from
 *                             there; 0: none — a kernel that leaves the
 *                             streams to the hardware prefetcher measured
 *                             slower with it)
 *   lane_chunk                one token's matrix products with this kernel
 *                             go by lanes, chunks of this many weight bytes
 *                             (src/model/llama.c, group_matmul_lanes); 0:
 *                             by shrinking claims (measured better for it)
 * prepare and gemv are pure and thread-safe; prep is only read by gemv. */
#define MOTE_GEMV_MAX_STREAMS 3
typedef struct mote_gemv_prep {
    size_t (*bytes)(int64_t n);
    void (*prepare)(int64_t n, const void *act, void *prep);
    void (*gemv)(int64_t n, const void *w, size_t row_bytes, int64_t n_rows, const void *prep,
                 float *y);
    int (*streams)(int64_t n_rows, size_t row_bytes, int64_t first[MOTE_GEMV_MAX_STREAMS + 1]);
    size_t read_ahead;
    size_t lane_chunk;
} mote_gemv_prep;

/* The longest row (n) a gemv kernel takes; callers use vec_dot beyond. */
#define MOTE_GEMV_MAX_COLS 32768

/* The transposed product of attention's value rows, for the gemv_t entry
 * of the f32 table, for n_a weight vectors at once (the query heads that
 * share a kv head: each value row is read once for all of them):
 *   y_i[j] += sum over r of a_i[r] * W[r][j]
 * for i < n_a (a_i = a + i a_stride, y_i = y + i y_stride, in floats),
 * j in [0, n), r in [0, n_rows), rows row_bytes apart. Per element the
 * rows are added in order r = 0, 1, ... (a fused multiply-add each, or a
 * multiply and an add in the portable fallback mote__gemv_t_f32), so the
 * result does not depend on n_a: the bytes of n_a one-vector calls. Within
 * tests/test_kernels.c's tolerance of a double-precision sum. */
typedef void (*mote_gemv_t_fn)(int64_t n, const void *w, size_t row_bytes, int64_t n_rows,
                               int32_t n_a, const float *a, size_t a_stride, float *y,
                               size_t y_stride);

/* SwiGLU's gating, in place, for the swiglu entry of the f32 table:
 * g[i] = g[i] / (1 + e^-g[i]) * u[i] for i in [0, n). Every element is
 * computed by the same operations wherever it lies in the call (a SIMD
 * kernel takes its tail through the vector path too), so splitting a range
 * over threads gives the same bytes. */
typedef void (*mote_swiglu_fn)(int64_t n, float *g, const float *u);

/* Attention's softmax, in place, for the softmax entry of the f32 table:
 * x[i] = e^((x[i] - max) * scale) / sum over j of the same, for i in
 * [0, n), n >= 1, scale > 0 (the scores' 1/sqrt(head_dim), applied here
 * rather than in a pass of its own); the difference and the product round
 * to float, the sum is accumulated in float lanes and added in double.
 * Within 8 ulp of the double-precision result (tests/test_kernels.c).
 * Returns that sum (of the exponentials, before dividing) and stores max
 * in *max_out when it is not NULL: what a caller needs to merge softmaxes
 * taken over parts of one row (one-token attention split by positions,
 * kv_cache.h). */
typedef double (*mote_softmax_fn)(int64_t n, float *x, float scale, float *max_out);

typedef struct mote_kernel_table {
    mote_vec_dot_fn vec_dot;
    mote_vec_dot4_fn vec_dot_4;
    /* Register-tiled, cache-blocked matrix product of prompt batches (see
     * mote_gemm_args; src/kernels/gemm.c); NULL = vec_dot_4 / vec_dot per
     * element. Each y element is computed with the same operations whatever
     * its position in the call (tile edges, row or token offsets), so the
     * result does not depend on how rows are split over calls. Within the
     * tolerance of tests/test_gemm.c of the per-element reference. */
    mote_gemm_fn gemm;
    /* Matrix-vector product of one token (mote_gemv_fn; x86/gemv_avx2.c);
     * NULL = vec_dot row by row. Within the vec_dot tolerance of
     * tests/test_kernels.c of the reference. */
    mote_gemv_fn gemv;
    /* Its activation work shared over calls (mote_gemv_prep;
     * x86/gemv_avx512.c), or NULL. */
    const mote_gemv_prep *gemv_prep;
    /* f32 only (NULL elsewhere, and where the level has none: then
     * mote__gemv_t_f32 runs its portable loop). */
    mote_gemv_t_fn gemv_t;
    /* f32 only, as gemv_t (NULL: mote__swiglu / mote__softmax run expf). */
    mote_swiglu_fn swiglu;
    mote_softmax_fn softmax;
    mote_quantize_fn quantize_act;
    mote_dequantize_fn dequantize;
    mote_type vec_dot_type;
    const char *isa; /* "avx2", "neon", "scalar": what this type runs on;
                      * "avx2+avxvnni" / "avx2+avx512" where the level's
                      * gemm or gemv uses that variant on this CPU */
} mote_kernel_table;

/* The kernel table for a weight type; NULL for a type without kernels. */
const mote_kernel_table *mote__kernels_for(uint32_t type);

/* The kernel table of a weight type at a given instruction-set level
 * (cpu.h), whatever MOTE_ISA says: for tests and benchmarks that compare
 * levels in one run. NULL for a type without kernels or a level this CPU
 * or build does not support. Entries a level has no SIMD kernel for are
 * the scalar ones (their `isa` says which). */
const mote_kernel_table *mote__kernels_for_isa(uint32_t type, mote_isa isa);

/* Bytes of scratch mote__matvec needs for an input of n_cols elements of a
 * matrix of this type (the activation quantized to the type's vec_dot_type).
 * 0 when the type computes directly on f32. */
size_t mote__matvec_scratch_bytes(uint32_t type, int64_t n_cols);

/* y (n_rows) = W (n_rows, n_cols) @ x (n_cols). scratch: at least
 * mote__matvec_scratch_bytes bytes, 32-byte aligned. The weight type must
 * have kernels (checked when the model loads). */
void mote__matvec(const mote_matrix *w, const float *x, float *y, void *scratch);

/* Row r of W dequantized to f32 (n_cols floats). */
void mote__matrix_get_row(const mote_matrix *w, int64_t r, float *out);

/* out (n) = x / rms(x) * weight, rms over n with eps. out does not
 * overlap x. */
void mote__rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps);
/* The factor mote__rmsnorm multiplies by, 1 / rms(v), of v = x + d (d
 * NULL: v = x; each v[i] the float sum x[i] + d[i]). Deterministic: every
 * caller with the same inputs gets the same bits (threads that norm
 * different parts of one row share it). */
float mote__rms_scale(const float *x, const float *d, int64_t n, float eps);
/* The rest of a norm with the factor of mote__rms_scale, elements [0, n):
 * v = x + d (d NULL: v = x), x_out[i] = v[i] (only when d is given),
 * y[i] = v[i] * scale * w[i] (rounded in that order: mote__rmsnorm's
 * bytes). No two of the arrays overlap. */
void mote__rms_apply(float *y, float *x_out, const float *x, const float *d, const float *w,
                     float scale, int64_t n);

/* y_i (n) += sum over r < n_rows of a_i[r] * row r of the f32 rows at w
 * (row_bytes apart), for i < n_a (mote_gemv_t_fn's layout): the f32
 * table's gemv_t, or a portable loop with the same order of additions. */
void mote__gemv_t_f32(int64_t n, const float *w, size_t row_bytes, int64_t n_rows, int32_t n_a,
                      const float *a, size_t a_stride, float *y, size_t y_stride);

/* In-place softmax of scale * x over x (n): the f32 table's softmax, or a
 * portable loop with expf (mote_softmax_fn's contract either way: returns
 * the sum of the exponentials, *max_out (may be NULL) the max of x). */
double mote__softmax(float *x, int64_t n, float scale, float *max_out);

/* g (n) = silu(g) * u, in place: the f32 table's swiglu, or expf element
 * by element (mote_swiglu_fn's contract either way). */
void mote__swiglu(float *g, const float *u, int64_t n);

/* ---- batched matrix product (matmul.c) ----
 * Y (n_tok, n_rows) = X (n_tok, n_cols) @ W (n_rows, n_cols)^T in steps a
 * caller can split over threads (a barrier between 1 and 3):
 *   1. mote__matmul_quantize   activation rows -> W's vec_dot_type, once
 *   2. mote__matmul_chunk_rows the weight rows of one unit of work
 *   3. mote__matmul_rows       Y[t][r0..r1) for every token t
 * Y[t][r] does not depend on the split: bit-identical for any thread count. */

/* Bytes between consecutive quantized activation rows of n_cols elements
 * for a weight of this type (the vec_dot_type row, rounded up to 64); 0
 * when the type computes on the f32 activations directly (then pass the
 * f32 rows themselves to mote__matmul_rows, stride 4 * row length). */
size_t mote__matmul_act_stride(uint32_t type, int64_t n_cols);

/* Quantize rows [t0, t1) of x (rows x_stride floats apart, n_cols used) to
 * the vec_dot_type of `type` into act (rows act_stride bytes apart). Does
 * nothing for a type that computes on f32. Thread-safe for disjoint rows. */
void mote__matmul_quantize(uint32_t type, const float *x, size_t x_stride, int64_t n_cols,
                           void *act, size_t act_stride, int64_t t0, int64_t t1);

/* Weight rows per unit of work for n_tok tokens over nth threads: a tile
 * that stays in L2 for n_tok > 1, a few units per thread. >= 1. */
int64_t mote__matmul_chunk_rows(const mote_matrix *w, int64_t n_tok, int nth);

/* y[t * y_stride + r] = W row r . activation row t, for r in [r0, r1) and
 * t in [0, n_tok). act: n_tok rows act_stride bytes apart, in W's
 * vec_dot_type (from mote__matmul_quantize, or the f32 rows). Allocates
 * nothing; thread-safe for disjoint row ranges. */
void mote__matmul_rows(const mote_matrix *w, const void *act, size_t act_stride, int64_t n_tok,
                       float *y, size_t y_stride, int64_t r0, int64_t r1);

/* One token's activation prepared once for many row ranges of W (the
 * gemv_prep entry of its kernel table):
 *   mote__matmul_prep_bytes   the bytes it takes (0: W's kernel prepares
 *                             nothing; use mote__matmul_rows)
 *   mote__matmul_prepare      act (one row, as for mote__matmul_rows with
 *                             n_tok 1) into prep (64-byte aligned)
 *   mote__matmul_rows_prepared  y[r] for r in [r0, r1): the bytes
 *                             mote__matmul_rows gives with n_tok 1
 * The last two only for a W whose prep_bytes is not 0. A prepared
 * activation serves any matrix of the same type and n_cols. */
size_t mote__matmul_prep_bytes(const mote_matrix *w);
void mote__matmul_prepare(const mote_matrix *w, const void *act, void *prep);
void mote__matmul_rows_prepared(const mote_matrix *w, const void *prep, float *y, int64_t r0,
                                int64_t r1);
/* Where a waiting thread should read ahead for its coming call on rows
 * [r0, r1) of W (mote_gemv_prep's streams, those of the call's first
 * block, and read_ahead): up to
 * MOTE_GEMV_MAX_STREAMS ranges into p[] and bytes[]; returns how many (0:
 * none). */
int mote__matmul_read_ahead(const mote_matrix *w, int64_t r0, int64_t r1,
                            const void *p[MOTE_GEMV_MAX_STREAMS], size_t bytes[MOTE_GEMV_MAX_STREAMS]);
/* The lane chunk of W's prepared gemv (mote_gemv_prep's lane_chunk): 0
 * where one token's products with W go by claims, or W has no prepared
 * gemv. */
size_t mote__matmul_lane_chunk(const mote_matrix *w);

/* ---- gemm support (gemm.c) ----
 * Activation rows in q8_0 (the vec_dot_type of q4_0, q5_0 and q8_0) carry,
 * after their n_cols / 32 blocks padded to 4 bytes, two arrays the gemm
 * kernels read instead of recomputing them per weight tile: each block's
 * scale as f32, then minus the sum of its 32 quants as int32. */
size_t mote__q8_act_extras_offset(int64_t n_cols);

/* Write the extras of one q8_0 activation row of n_cols elements (its blocks
 * already written at row). */
void mote__q8_act_extras(void *row, int64_t n_cols);

/* The gemm reference: the same products as mote_gemm_fn, element by element
 * with the scalar vec_dot of `type` (no extras needed). */
void mote__gemm_ref(uint32_t type, const mote_gemm_args *args);

/* A gemm kernel of the x86 file by variant, for the tests: 0 plain AVX2,
 * 1 AVX-VNNI, 2 AVX-512 (VNNI + VL for the integer types). NULL when the
 * type has none at that variant or this CPU/build lacks it. */
mote_gemm_fn mote__gemm_x86_variant(uint32_t type, int variant);

#endif /* MOTE_KERNELS_H */
