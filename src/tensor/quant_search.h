/* quant_search.h — the scale searches shared by the quantizers of this layer
 * (quant_k.c, quant_iq.c, quant_w.c): given a group of values and optional
 * importance weights, choose integer levels and a scale (and for the
 * asymmetric types a min) that minimise a weighted squared (or absolute)
 * error. Internal to src/tensor; not a public or cross-layer API.
 *
 * They follow GGML's searches (make_qx_quants, make_q3_quants,
 * make_qkx2/qkx3_quants, make_qp_quants in ggml-quants.c) step for step, so
 * that mote's quantizers choose what llama.cpp's choose.
 *
 * Not here: block packing (each type's file does that), SIMD.
 *
 * Common contract: n <= MOTE_QK_K; every pointer covers n elements; pure,
 * thread-safe, no allocation. Non-finite input never causes undefined
 * behaviour (every float-to-int conversion goes through mote__nearest_int),
 * but the levels and scales chosen are then unspecified.
 */
#ifndef MOTE_QUANT_SEARCH_H
#define MOTE_QUANT_SEARCH_H

#include "types.h"
#include <string.h>

/* A group whose largest magnitude is below this is all zero (GGML's
 * GROUP_MAX_EPS). */
#define MOTE_GROUP_MAX_EPS 1e-15f

/* v rounded to the nearest integer, ties to even (what GGML's nearest_int
 * computes with the 1.5 * 2^23 trick, valid for |v| <= 2^22 - 1). Outside that
 * range the result is clamped to +-4194303 and NaN gives 0, so callers never
 * convert an out-of-range float. */
static inline int mote__nearest_int(float v) {
    if (!(v >= -4194303.0f)) return v != v ? 0 : -4194303;
    if (v > 4194303.0f) return 4194303;
    float t = v + 12582912.0f; /* exponent fixed: the low mantissa bits hold round(v) */
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Symmetric levels: L[i] in 0..2*nmax-1 stands for l = L[i] - nmax in
 * -nmax..nmax-1, x[i] ~ scale * l; returns scale (negative when the value of
 * largest magnitude is positive: it maps to -nmax). rmse_type 0: plain
 * rounding at scale max / -nmax. Otherwise the scale is the weighted
 * least-squares fit of the levels, searched over 19 candidate iscales
 * (nmax + 0.1 is) / -max, is = -9..9; weights qw if non-NULL, else by
 * rmse_type 1: x^2, 2: 1, 3: |x|, 4: sqrt|x|. A negative rmse_type returns
 * after the first fit (the average of it and max / -nmax). */
float mote__make_qx_quants(int n, int nmax, const float *x, int8_t *L, int rmse_type,
                           const float *qw);

/* The 3-bit variant (q3_K's reference): levels l in -nmax..nmax-1 fitted at
 * max / -nmax, then (do_rmse) up to 5 passes that move single levels while
 * the x^2-weighted fit improves. L[i] = l + nmax; returns the scale. */
float mote__make_q3_quants(int n, int nmax, const float *x, int8_t *L, bool do_rmse);

/* Asymmetric levels: x[i] ~ scale * L[i] - *the_min, L[i] in 0..nmax,
 * *the_min >= 0 (the group's min, or 0 if every x is positive). Starting
 * from (max - min) / nmax, tries nstep + 1 iscales (rmin + rdelta * is +
 * nmax) / (max - min) and keeps the least-squares (scale, min) with the
 * lowest weighted error (|diff| if use_mad, else diff^2). weights: n
 * non-negative weights (required). Laux: n bytes of scratch. Returns scale
 * (0 for a constant group). */
float mote__make_qkx_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                            float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
                            bool use_mad);

/* Non-negative values (super-block scales and mins): x[i] ~ scale * L[i],
 * L[i] in 0..nmax, weighted by qw (required); a 9-candidate search, then up
 * to 5 passes of single-level moves. Returns scale (0 if max x is ~0). */
float mote__make_qp_quants(int n, int nmax, const float *x, uint8_t *L, const float *qw);

/* One row of n values (whole blocks) quantized with importance weights qw
 * (n of them, or NULL). */
typedef void (*mote_quantize_row_fn)(const float *x, void *y, int64_t n, const float *qw);

/* The body of every mote_quantize_w_fn: checks the shape (see types.h),
 * then runs row_fn on each of the n_rows rows with the same imatrix.
 * Returns the bytes written, or 0 for a bad shape. */
static inline size_t mote__quantize_rows(const float *x, void *y, int64_t n_rows,
                                         int64_t n_per_row, const float *imatrix,
                                         int64_t block_size, size_t block_bytes,
                                         mote_quantize_row_fn row_fn) {
    if (n_rows < 1 || n_per_row < 1 || n_per_row % block_size != 0) return 0;
    const size_t row_bytes = (size_t)(n_per_row / block_size) * block_bytes;
    for (int64_t r = 0; r < n_rows; r++)
        row_fn(x + r * n_per_row, (uint8_t *)y + (size_t)r * row_bytes, n_per_row, imatrix);
    return (size_t)n_rows * row_bytes;
}

#endif /* MOTE_QUANT_SEARCH_H */
