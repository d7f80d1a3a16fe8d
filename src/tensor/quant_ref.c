/* quant_ref.c — the scalar reference kernels of the type table: quantize
 * from f32, dequantize to f32, and the dot product with the type's
 * activation type (vec_dot_type), for f32, f16, bf16, q4_0, q4_1, q5_0,
 * q5_1, q8_0 and q8_1.
 *
 * These functions define correct output. Their quantizers produce the same
 * bytes as GGML's reference quantizers (quantize_row_*_ref in ggml-quants.c)
 * for every finite input, and their dot products follow GGML's generic
 * (non-SIMD) code: an exact integer dot per block, then scaled and summed
 * in float. SIMD kernels (src/kernels/) are tested against them.
 *
 * Not here: SIMD, threads, matrix products, the K-quants and i-quants, the
 * importance-matrix quantizers of llama-quantize.
 *
 * Common contract of every function below:
 *   - n is the number of elements; it must be a multiple of the type's
 *     block size (1 for f32/f16/bf16, 32 for the q types). Only whole blocks
 *     are processed; a trailing partial block and n <= 0 are ignored.
 *   - Block data need only the blocks' natural alignment (2 bytes); f16 and
 *     bf16 arrays are arrays of uint16_t (2-byte aligned); f32 arrays are
 *     4-byte aligned.
 *   - Quantized blocks are little-endian, as GGUF stores them. The host is
 *     assumed little-endian for the f16 fields (as GGML assumes); the q5
 *     high-bit words are assembled byte by byte and so are host-independent.
 *   - Pure functions of their inputs: thread-safe, no allocation, never
 *     fail. Non-finite inputs give unspecified (but defined-behaviour)
 *     output: float-to-int conversions are clamped, never undefined.
 */
#include "types.h"
#include <float.h>
#include <math.h>
#include <string.h>

/* The layouts are GGML's: a GGUF file's bytes are these structs. */
_Static_assert(sizeof(mote_block_q4_0) == 18, "q4_0 block is 2 + 16 bytes");
_Static_assert(sizeof(mote_block_q4_1) == 20, "q4_1 block is 2 + 2 + 16 bytes");
_Static_assert(sizeof(mote_block_q5_0) == 22, "q5_0 block is 2 + 4 + 16 bytes");
_Static_assert(sizeof(mote_block_q5_1) == 24, "q5_1 block is 2 + 2 + 4 + 16 bytes");
_Static_assert(sizeof(mote_block_q8_0) == 34, "q8_0 block is 2 + 32 bytes");
_Static_assert(sizeof(mote_block_q8_1) == 36, "q8_1 block is 2 + 2 + 32 bytes");
_Static_assert(sizeof(mote_f16) == 2 && sizeof(mote_bf16) == 2, "half types are 2 bytes");

/* ---- helpers ---- */

/* GGML writes `MIN(hi, (int8_t)v)` where v is a float: truncation toward
 * zero, then clamped from above. For finite inputs v lies in (-1, hi + 1]
 * and this returns the same value; outside that range (NaN, infinities,
 * an f32 overflow of x * id) the C cast would be undefined, so clamp to
 * [0, hi] instead. */
static inline int trunc_clamp(float v, int hi) {
    if (!(v > 0.0f)) return 0; /* also NaN */
    if (v >= (float)hi) return hi;
    return (int)v;
}

/* roundf(v) as int8, clamped to [-127, 127] ( |v| <= 127 for finite input,
 * so the clamp only matters for non-finite values). */
static inline int8_t round_i8(float v) {
    if (!(v > -127.0f)) return v != v ? 0 : -127; /* NaN -> 0 */
    if (v >= 127.0f) return 127;
    return (int8_t)roundf(v);
}

/* The q5 high-bit word: element j's fifth bit is bit j, little-endian. */
static inline uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 |
           (uint32_t)qh[3] << 24;
}
static inline void store_qh(uint8_t qh[4], uint32_t v) {
    qh[0] = (uint8_t)v;
    qh[1] = (uint8_t)(v >> 8);
    qh[2] = (uint8_t)(v >> 16);
    qh[3] = (uint8_t)(v >> 24);
}

/* The value of largest magnitude in x[0..n), with its sign (the first one
 * on ties), and that magnitude. */
static inline float signed_absmax(const float *x, int n, float *amax_out) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    if (amax_out) *amax_out = amax;
    return max;
}

static inline void min_max(const float *x, int n, float *min_out, float *max_out) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    *min_out = min;
    *max_out = max;
}

/* ---- f32: a copy; dot accumulates float products in double ---- */

void mote__quantize_f32_ref(const float *x, void *y, int64_t n) {
    if (n > 0) memcpy(y, x, (size_t)n * sizeof(float));
}

void mote__dequantize_f32_ref(const void *x, float *y, int64_t n) {
    if (n > 0) memcpy(y, x, (size_t)n * sizeof(float));
}

/* x (n) . y (n), both f32. Each product is rounded to float, the sum is
 * kept in double and rounded to float once (as GGML's generic
 * ggml_vec_dot_f32). */
float mote__vec_dot_f32_ref(int64_t n, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * y[i]);
    return (float)sum;
}

/* ---- f16 / bf16: round-to-nearest-even; dot in double ---- */

void mote__quantize_f16_ref(const float *x, void *vy, int64_t n) {
    mote_f16 *y = vy;
    for (int64_t i = 0; i < n; i++) y[i] = mote__f32_to_f16(x[i]);
}

void mote__dequantize_f16_ref(const void *vx, float *y, int64_t n) {
    const mote_f16 *x = vx;
    for (int64_t i = 0; i < n; i++) y[i] = mote__f16_to_f32(x[i]);
}

/* x (n) . y (n), both f16. A product of two halves is exact in float (11 +
 * 11 significant bits); the sum is kept in double. */
float mote__vec_dot_f16_ref(int64_t n, const void *vx, const void *vy) {
    const mote_f16 *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(mote__f16_to_f32(x[i]) * mote__f16_to_f32(y[i]));
    return (float)sum;
}

void mote__quantize_bf16_ref(const float *x, void *vy, int64_t n) {
    mote_bf16 *y = vy;
    for (int64_t i = 0; i < n; i++) y[i] = mote__f32_to_bf16(x[i]);
}

void mote__dequantize_bf16_ref(const void *vx, float *y, int64_t n) {
    const mote_bf16 *x = vx;
    for (int64_t i = 0; i < n; i++) y[i] = mote__bf16_to_f32(x[i]);
}

/* x (n) . y (n), both bf16. Products exact in float (8 + 8 bits); the sum
 * is kept in double. */
float mote__vec_dot_bf16_ref(int64_t n, const void *vx, const void *vy) {
    const mote_bf16 *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(mote__bf16_to_f32(x[i]) * mote__bf16_to_f32(y[i]));
    return (float)sum;
}

/* ---- q4_0: x = d * (q - 8), q in 0..15 ----
 * Block of 32: d (f16), qs[16]. Element j < 16 is the low nibble of qs[j],
 * element j + 16 the high nibble. d = max / -8 where max is the value of
 * largest magnitude with its sign, so that value maps to q = 0 exactly and
 * the other side gets the extra level; a value on the other side near -max
 * would be q = 16 and is clamped to 15 (error up to |d|, not |d|/2). An
 * all-zero block stores d = 0.0f / -8 = -0.0 (f16 0x8000), as GGML does. */

void mote__quantize_q4_0_ref(const float *x, void *vy, int64_t n) {
    const int qk = MOTE_QK4_0;
    mote_block_q4_0 *y = vy;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *xb = x + i * qk;
        const float max = signed_absmax(xb, qk, NULL);
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = mote__f32_to_f16(d);
        for (int j = 0; j < qk / 2; j++) {
            int q0 = trunc_clamp(xb[j] * id + 8.5f, 15);
            int q1 = trunc_clamp(xb[qk / 2 + j] * id + 8.5f, 15);
            y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

void mote__dequantize_q4_0_ref(const void *vx, float *y, int64_t n) {
    const int qk = MOTE_QK4_0;
    const mote_block_q4_0 *x = vx;
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = mote__f16_to_f32(x[i].d);
        for (int j = 0; j < qk / 2; j++) {
            y[i * qk + j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
            y[i * qk + qk / 2 + j] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* x (n) q4_0 . y (n) q8_0: per block sum_j (q4_j - 8) * q8_j exactly in
 * int, times dx, times dy, summed in float. */
float mote__vec_dot_q4_0_ref(int64_t n, const void *vx, const void *vy) {
    const int qk = MOTE_QK4_0;
    const mote_block_q4_0 *x = vx;
    const mote_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / qk; i++) {
        int sumi = 0;
        for (int j = 0; j < qk / 2; j++) {
            sumi += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[qk / 2 + j];
        }
        sum += (float)sumi * mote__f16_to_f32(x[i].d) * mote__f16_to_f32(y[i].d);
    }
    return sum;
}

/* ---- q4_1: x = d * q + m, q in 0..15 ----
 * Block of 32: d (f16), m (f16), qs[16], nibbles as q4_0. m = block min,
 * d = (max - min) / 15. */

void mote__quantize_q4_1_ref(const float *x, void *vy, int64_t n) {
    const int qk = MOTE_QK4_1;
    mote_block_q4_1 *y = vy;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *xb = x + i * qk;
        float min, max;
        min_max(xb, qk, &min, &max);
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = mote__f32_to_f16(d);
        y[i].m = mote__f32_to_f16(min);
        for (int j = 0; j < qk / 2; j++) {
            int q0 = trunc_clamp((xb[j] - min) * id + 0.5f, 15);
            int q1 = trunc_clamp((xb[qk / 2 + j] - min) * id + 0.5f, 15);
            y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

void mote__dequantize_q4_1_ref(const void *vx, float *y, int64_t n) {
    const int qk = MOTE_QK4_1;
    const mote_block_q4_1 *x = vx;
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = mote__f16_to_f32(x[i].d);
        const float m = mote__f16_to_f32(x[i].m);
        for (int j = 0; j < qk / 2; j++) {
            y[i * qk + j] = (float)(x[i].qs[j] & 0x0f) * d + m;
            y[i * qk + qk / 2 + j] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

/* x (n) q4_1 . y (n) q8_1: per block dx*dy*sum_j q4_j*q8_j + mx*sy, where
 * sy = dy * sum_j q8_j is the q8_1 block's precomputed s (so the m term
 * costs nothing per element). Summed in float. */
float mote__vec_dot_q4_1_ref(int64_t n, const void *vx, const void *vy) {
    const int qk = MOTE_QK4_1;
    const mote_block_q4_1 *x = vx;
    const mote_block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / qk; i++) {
        int sumi = 0;
        for (int j = 0; j < qk / 2; j++) {
            sumi += (x[i].qs[j] & 0x0f) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[qk / 2 + j];
        }
        sum += (mote__f16_to_f32(x[i].d) * mote__f16_to_f32(y[i].d)) * (float)sumi +
               mote__f16_to_f32(x[i].m) * mote__f16_to_f32(y[i].s);
    }
    return sum;
}

/* ---- q5_0: x = d * (q - 16), q in 0..31 ----
 * Block of 32: d (f16), qh[4], qs[16]. The low 4 bits of q are nibbles as
 * in q4_0; the fifth bit of element j is bit j of qh read as a
 * little-endian uint32 (so elements 16..31 are bits 16..31). d = max / -16. */

void mote__quantize_q5_0_ref(const float *x, void *vy, int64_t n) {
    const int qk = MOTE_QK5_0;
    mote_block_q5_0 *y = vy;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *xb = x + i * qk;
        const float max = signed_absmax(xb, qk, NULL);
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        y[i].d = mote__f32_to_f16(d);
        for (int j = 0; j < qk / 2; j++) {
            int q0 = trunc_clamp(xb[j] * id + 16.5f, 31);
            int q1 = trunc_clamp(xb[qk / 2 + j] * id + 16.5f, 31);
            y[i].qs[j] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + qk / 2);
        }
        store_qh(y[i].qh, qh);
    }
}

void mote__dequantize_q5_0_ref(const void *vx, float *y, int64_t n) {
    const int qk = MOTE_QK5_0;
    const mote_block_q5_0 *x = vx;
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = mote__f16_to_f32(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < qk / 2; j++) {
            int q0 = (x[i].qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + qk / 2)) & 1) << 4;
            y[i * qk + j] = (float)(q0 - 16) * d;
            y[i * qk + qk / 2 + j] = (float)(q1 - 16) * d;
        }
    }
}

/* x (n) q5_0 . y (n) q8_0: as q4_0 with 5-bit q and offset 16. */
float mote__vec_dot_q5_0_ref(int64_t n, const void *vx, const void *vy) {
    const int qk = MOTE_QK5_0;
    const mote_block_q5_0 *x = vx;
    const mote_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / qk; i++) {
        const uint32_t qh = load_qh(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < qk / 2; j++) {
            int q0 = (x[i].qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + qk / 2)) & 1) << 4;
            sumi += (q0 - 16) * y[i].qs[j];
            sumi += (q1 - 16) * y[i].qs[qk / 2 + j];
        }
        sum += (mote__f16_to_f32(x[i].d) * mote__f16_to_f32(y[i].d)) * (float)sumi;
    }
    return sum;
}

/* ---- q5_1: x = d * q + m, q in 0..31 ----
 * Block of 32: d (f16), m (f16), qh[4], qs[16]; bits as q5_0, scale as
 * q4_1 with d = (max - min) / 31. GGML writes (uint8_t)(t + 0.5f) here
 * without a MIN: t = (x - min) * id <= 31 (1 + 3 * 2^-24) for finite input,
 * so t + 0.5 < 32 and our clamp at 31 never changes a result. */

void mote__quantize_q5_1_ref(const float *x, void *vy, int64_t n) {
    const int qk = MOTE_QK5_1;
    mote_block_q5_1 *y = vy;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *xb = x + i * qk;
        float min, max;
        min_max(xb, qk, &min, &max);
        const float d = (max - min) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        y[i].d = mote__f32_to_f16(d);
        y[i].m = mote__f32_to_f16(min);
        for (int j = 0; j < qk / 2; j++) {
            int q0 = trunc_clamp((xb[j] - min) * id + 0.5f, 31);
            int q1 = trunc_clamp((xb[qk / 2 + j] - min) * id + 0.5f, 31);
            y[i].qs[j] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + qk / 2);
        }
        store_qh(y[i].qh, qh);
    }
}

void mote__dequantize_q5_1_ref(const void *vx, float *y, int64_t n) {
    const int qk = MOTE_QK5_1;
    const mote_block_q5_1 *x = vx;
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = mote__f16_to_f32(x[i].d);
        const float m = mote__f16_to_f32(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < qk / 2; j++) {
            int q0 = (x[i].qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + qk / 2)) & 1) << 4;
            y[i * qk + j] = (float)q0 * d + m;
            y[i * qk + qk / 2 + j] = (float)q1 * d + m;
        }
    }
}

/* x (n) q5_1 . y (n) q8_1: as q4_1 with 5-bit q. */
float mote__vec_dot_q5_1_ref(int64_t n, const void *vx, const void *vy) {
    const int qk = MOTE_QK5_1;
    const mote_block_q5_1 *x = vx;
    const mote_block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / qk; i++) {
        const uint32_t qh = load_qh(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < qk / 2; j++) {
            int q0 = (x[i].qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + qk / 2)) & 1) << 4;
            sumi += q0 * y[i].qs[j];
            sumi += q1 * y[i].qs[qk / 2 + j];
        }
        sum += (mote__f16_to_f32(x[i].d) * mote__f16_to_f32(y[i].d)) * (float)sumi +
               mote__f16_to_f32(x[i].m) * mote__f16_to_f32(y[i].s);
    }
    return sum;
}

/* ---- q8_0: x = d * q, q in -127..127 ----
 * Block of 32: d (f16), qs[32] (int8, in element order). d = amax / 127,
 * q = roundf(x / d) (half away from zero). */

void mote__quantize_q8_0_ref(const float *x, void *vy, int64_t n) {
    const int qk = MOTE_QK8_0;
    mote_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *xb = x + i * qk;
        float amax;
        signed_absmax(xb, qk, &amax);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = mote__f32_to_f16(d);
        for (int j = 0; j < qk; j++) y[i].qs[j] = round_i8(xb[j] * id);
    }
}

void mote__dequantize_q8_0_ref(const void *vx, float *y, int64_t n) {
    const int qk = MOTE_QK8_0;
    const mote_block_q8_0 *x = vx;
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = mote__f16_to_f32(x[i].d);
        for (int j = 0; j < qk; j++) y[i * qk + j] = (float)x[i].qs[j] * d;
    }
}

/* x (n) q8_0 . y (n) q8_0. */
float mote__vec_dot_q8_0_ref(int64_t n, const void *vx, const void *vy) {
    const int qk = MOTE_QK8_0;
    const mote_block_q8_0 *x = vx;
    const mote_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / qk; i++) {
        int sumi = 0;
        for (int j = 0; j < qk; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += (float)sumi * (mote__f16_to_f32(x[i].d) * mote__f16_to_f32(y[i].d));
    }
    return sum;
}

/* ---- q8_1: q8_0 plus s = d * sum(q) ----
 * Block of 32: d (f16), s (f16), qs[32]. The activation type of q4_1 and
 * q5_1: s carries the block sum their min term needs. */

void mote__quantize_q8_1_ref(const float *x, void *vy, int64_t n) {
    const int qk = MOTE_QK8_1;
    mote_block_q8_1 *y = vy;
    for (int64_t i = 0; i < n / qk; i++) {
        const float *xb = x + i * qk;
        float amax;
        signed_absmax(xb, qk, &amax);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sumq = 0;
        y[i].d = mote__f32_to_f16(d);
        for (int j = 0; j < qk; j++) {
            y[i].qs[j] = round_i8(xb[j] * id);
            sumq += y[i].qs[j];
        }
        y[i].s = mote__f32_to_f16((float)sumq * d);
    }
}

/* GGML defines no dequantizer for q8_1 (it is only an activation type);
 * this one is d * q, ignoring s. */
void mote__dequantize_q8_1_ref(const void *vx, float *y, int64_t n) {
    const int qk = MOTE_QK8_1;
    const mote_block_q8_1 *x = vx;
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = mote__f16_to_f32(x[i].d);
        for (int j = 0; j < qk; j++) y[i * qk + j] = (float)x[i].qs[j] * d;
    }
}

/* x (n) q8_1 . y (n) q8_1: for completeness (GGML has no such kernel);
 * as q8_0, s unused. */
float mote__vec_dot_q8_1_ref(int64_t n, const void *vx, const void *vy) {
    const int qk = MOTE_QK8_1;
    const mote_block_q8_1 *x = vx;
    const mote_block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / qk; i++) {
        int sumi = 0;
        for (int j = 0; j < qk; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += (float)sumi * (mote__f16_to_f32(x[i].d) * mote__f16_to_f32(y[i].d));
    }
    return sum;
}
