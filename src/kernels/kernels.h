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
 *                                  the prompt matmul; NULL = use vec_dot
 *   quantize_act(x, y, n)          f32 activations -> vec_dot_type (NULL when
 *                                  vec_dot_type is f32)
 *   dequantize(x, y, n)            weight row(s) -> f32 */
typedef void (*mote_vec_dot4_fn)(int64_t n, const void *w, const void *act, size_t stride,
                                 float out[4]);
typedef struct mote_kernel_table {
    mote_vec_dot_fn vec_dot;
    mote_vec_dot4_fn vec_dot_4;
    mote_quantize_fn quantize_act;
    mote_dequantize_fn dequantize;
    mote_type vec_dot_type;
    const char *isa; /* "avx2", "neon", "scalar": what this type runs on */
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

/* out (n) = x / rms(x) * weight, rms over n with eps. out may alias x. */
void mote__rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps);

/* In-place softmax over x (n). */
void mote__softmax(float *x, int64_t n);

#endif /* MOTE_KERNELS_H */
