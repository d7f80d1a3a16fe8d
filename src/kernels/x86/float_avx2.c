/* float_avx2.c — AVX2 + FMA + F16C kernels for the float weight types f32,
 * f16 and bf16: vec_dot (one row . one activation row), vec_dot_4 (one row
 * against 4 activation rows, the prompt-matmul tile), the f32 <-> f16 /
 * bf16 conversions used as quantize_act and dequantize, and the f32
 * element-wise kernels of the forward pass (SwiGLU, attention's softmax,
 * with exp_avx2.h's e^x).
 *
 * Not here: the quantized types (quant_avx2.c), the choice to use these
 * (dispatch.c checks CPUID first), threads.
 *
 * Numerics (the test's tolerances derive from this): products are fused
 * into float accumulators, 8 lanes x up to 4 accumulators, and reduced at
 * the end, so a dot of n elements carries a rounding error of at most about
 * (n/8 + 8) * 2^-24 * sum|x_i*y_i|; the reference sums in double. The
 * conversions round to nearest even exactly as the reference does (F16C's
 * VCVTPS2PH with round-to-nearest; bf16 by integer arithmetic), NaN
 * included, so they produce the reference's bytes.
 *
 * Every function keeps the contract of the scalar reference in
 * src/tensor/quant_ref.c: n elements, arrays need only their element
 * alignment (unaligned loads throughout), pure, thread-safe, no allocation.
 * The whole file compiles to nothing off x86-64; it is built with -mavx2
 * -mfma -mf16c and must only run after the CPUID check.
 */
#if defined(__x86_64__)
#include "../simd.h"
#include "avx2_util.h"
#include "exp_avx2.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

/* ---- helpers ---- */

/* load_f16x8, load_bf16x8, bf16_scalar: avx2_util.h */

/* The three dot products share one shape; LOAD turns 8 elements at p into
 * an __m256, SCALAR one element into a float. */
#define DEF_VEC_DOT(NAME, T, LOAD, SCALAR)                                                  \
    static float NAME(int64_t n, const void *vx, const void *vy) {                          \
        const T *x = vx, *y = vy;                                                           \
        float r;                                                                            \
        AVX2_DOT_ORDERED(r, n, x, y, LOAD, LOAD, SCALAR, SCALAR);                           \
        return r;                                                                           \
    }

/* One weight row w (n) against act rows k = 0..3 at act + k * stride bytes:
 * out[k] = w . act_k. The weight is loaded (and converted) once per 8
 * elements for all 4 rows. */
#define DEF_VEC_DOT_4(NAME, T, LOAD, SCALAR)                                                \
    static void NAME(int64_t n, const void *vw, const void *act, size_t stride,             \
                     float out[4]) {                                                        \
        const T *w = vw;                                                                    \
        const T *y0 = act;                                                                  \
        const T *y1 = (const T *)((const char *)act + stride);                              \
        const T *y2 = (const T *)((const char *)act + 2 * stride);                          \
        const T *y3 = (const T *)((const char *)act + 3 * stride);                          \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                         \
        __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;                                          \
        int64_t i = 0;                                                                      \
        for (; i + 16 <= n; i += 16) {                                                      \
            const __m256 wa = LOAD(w + i), wb = LOAD(w + i + 8);                            \
            a0 = _mm256_fmadd_ps(wa, LOAD(y0 + i), a0);                                     \
            a1 = _mm256_fmadd_ps(wa, LOAD(y1 + i), a1);                                     \
            a2 = _mm256_fmadd_ps(wa, LOAD(y2 + i), a2);                                     \
            a3 = _mm256_fmadd_ps(wa, LOAD(y3 + i), a3);                                     \
            b0 = _mm256_fmadd_ps(wb, LOAD(y0 + i + 8), b0);                                 \
            b1 = _mm256_fmadd_ps(wb, LOAD(y1 + i + 8), b1);                                 \
            b2 = _mm256_fmadd_ps(wb, LOAD(y2 + i + 8), b2);                                 \
            b3 = _mm256_fmadd_ps(wb, LOAD(y3 + i + 8), b3);                                 \
        }                                                                                   \
        for (; i + 8 <= n; i += 8) {                                                        \
            const __m256 wa = LOAD(w + i);                                                  \
            a0 = _mm256_fmadd_ps(wa, LOAD(y0 + i), a0);                                     \
            a1 = _mm256_fmadd_ps(wa, LOAD(y1 + i), a1);                                     \
            a2 = _mm256_fmadd_ps(wa, LOAD(y2 + i), a2);                                     \
            a3 = _mm256_fmadd_ps(wa, LOAD(y3 + i), a3);                                     \
        }                                                                                   \
        float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;                                   \
        for (; i < n; i++) {                                                                \
            const float wi = SCALAR(w[i]);                                                  \
            t0 += wi * SCALAR(y0[i]);                                                       \
            t1 += wi * SCALAR(y1[i]);                                                       \
            t2 += wi * SCALAR(y2[i]);                                                       \
            t3 += wi * SCALAR(y3[i]);                                                       \
        }                                                                                   \
        out[0] = hsum256(_mm256_add_ps(a0, b0)) + t0;                                       \
        out[1] = hsum256(_mm256_add_ps(a1, b1)) + t1;                                       \
        out[2] = hsum256(_mm256_add_ps(a2, b2)) + t2;                                       \
        out[3] = hsum256(_mm256_add_ps(a3, b3)) + t3;                                       \
    }

#define LOAD_F32(p) _mm256_loadu_ps(p)
#define SCALAR_F32(v) (v)
#define SCALAR_F16(v) _cvtsh_ss(v)
#define SCALAR_BF16(v) bf16_scalar(v)

/* ---- f32: x (n) . y (n) ---- */
DEF_VEC_DOT(vec_dot_f32, float, LOAD_F32, SCALAR_F32)
DEF_VEC_DOT_4(vec_dot_4_f32, float, LOAD_F32, SCALAR_F32)

/* ---- f16: x (n) f16 . y (n) f16; products exact in f32 ---- */
DEF_VEC_DOT(vec_dot_f16, uint16_t, load_f16x8, SCALAR_F16)
DEF_VEC_DOT_4(vec_dot_4_f16, uint16_t, load_f16x8, SCALAR_F16)

/* ---- bf16: x (n) bf16 . y (n) bf16 ---- */
DEF_VEC_DOT(vec_dot_bf16, uint16_t, load_bf16x8, SCALAR_BF16)
DEF_VEC_DOT_4(vec_dot_4_bf16, uint16_t, load_bf16x8, SCALAR_BF16)

/* ---- conversions ---- */

/* f32 (n) -> f16 (n), round to nearest even (the reference's bytes, NaN
 * and overflow included: VCVTPS2PH quiets a NaN keeping its top payload
 * bits, as mote__f32_to_f16 does). */
static void quantize_f16(const float *x, void *vy, int64_t n) {
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

/* f16 (n) -> f32 (n), exact. */
static void dequantize_f16(const void *vx, float *y, int64_t n) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16x8(x + i));
    for (; i < n; i++) y[i] = _cvtsh_ss(x[i]);
}

/* f32 bits -> bf16 bits, 8 at a time, as mote__f32_to_bf16: round to
 * nearest even by adding 0x7fff + the lowest kept bit; a NaN keeps its top
 * bits and gets the quiet bit (0x40). Result in the low 16 bits of each
 * 32-bit lane. */
static inline __m256i f32_to_bf16_bits(__m256i u) {
    const __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
    const __m256i is_nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(
        _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), 16);
    const __m256i nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    return _mm256_blendv_epi8(rounded, nan, is_nan);
}

/* f32 (n) -> bf16 (n). */
static void quantize_bf16(const float *x, void *vy, int64_t n) {
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i lo = f32_to_bf16_bits(_mm256_castps_si256(_mm256_loadu_ps(x + i)));
        __m256i hi = f32_to_bf16_bits(_mm256_castps_si256(_mm256_loadu_ps(x + i + 8)));
        /* packus works per 128-bit lane: [lo0 hi0 lo1 hi1] -> reorder */
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xd8);
        _mm256_storeu_si256((__m256i *)(y + i), packed);
    }
    for (; i < n; i++) y[i] = mote__f32_to_bf16(x[i]);
}

/* bf16 (n) -> f32 (n), exact. */
static void dequantize_bf16(const void *vx, float *y, int64_t n) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_bf16x8(x + i));
    for (; i < n; i++) y[i] = bf16_scalar(x[i]);
}

/* ---- element-wise f32: SwiGLU and softmax ---- */

/* The lanes [0, m) of a tail of m < 8 elements, for maskload/maskstore. */
static __m256i tail_mask(int64_t m) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)m), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* g / (1 + e^-g) * u, 8 lanes (the division keeps a NaN gate NaN). */
static inline __m256 swiglu8(__m256 g, __m256 u) {
    const __m256 e = mote__exp8_avx2(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

/* mote_swiglu_fn: 8 at a time, the tail through masked loads and stores
 * (the same operations, so any split of a range gives the same bytes). */
static void swiglu_f32(int64_t n, float *g, const float *u) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(g + i, swiglu8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(g + i, m, swiglu8(_mm256_maskload_ps(g + i, m), _mm256_maskload_ps(u + i, m)));
    }
}

/* mote_softmax_fn: a pass for the max, one for the exponentials and their
 * sum (8 float lanes, added in double), one to normalize; tails masked
 * (max: missing lanes -inf; sum: 0). */
static double softmax_f32(int64_t n, float *x, float scale, float *max_out) {
    const int64_t n8 = n & ~(int64_t)7;
    const __m256i tm = tail_mask(n - n8);
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 mx = ninf;
    for (int64_t i = 0; i < n8; i += 8) mx = _mm256_max_ps(_mm256_loadu_ps(x + i), mx);
    if (n8 < n) mx = _mm256_max_ps(_mm256_blendv_ps(ninf, _mm256_maskload_ps(x + n8, tm), _mm256_castsi256_ps(tm)), mx);
    float lanes[8];
    _mm256_storeu_ps(lanes, mx);
    float max = lanes[0];
    for (int j = 1; j < 8; j++) max = lanes[j] > max ? lanes[j] : max;

    const __m256 m = _mm256_set1_ps(max), s = _mm256_set1_ps(scale);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n8; i += 8) {
        const __m256 e = mote__exp8_avx2(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m), s));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    if (n8 < n) {
        const __m256 e = _mm256_and_ps(_mm256_castsi256_ps(tm),
                                       mote__exp8_avx2(_mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + n8, tm), m), s)));
        _mm256_maskstore_ps(x + n8, tm, e);
        acc = _mm256_add_ps(acc, e);
    }
    _mm256_storeu_ps(lanes, acc);
    double sum = 0.0;
    for (int j = 0; j < 8; j++) sum += lanes[j];
    const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    for (int64_t i = 0; i < n8; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    if (n8 < n) _mm256_maskstore_ps(x + n8, tm, _mm256_mul_ps(_mm256_maskload_ps(x + n8, tm), inv));
    if (max_out) *max_out = max;
    return sum;
}

/* ---- table ---- */

void mote__kernels_fill_avx2_float(mote_kernel_table *t) {
    t[MOTE_TYPE_F32].vec_dot = vec_dot_f32;
    t[MOTE_TYPE_F32].vec_dot_4 = vec_dot_4_f32;
    t[MOTE_TYPE_F32].swiglu = swiglu_f32;
    t[MOTE_TYPE_F32].softmax = softmax_f32;
    t[MOTE_TYPE_F32].isa = "avx2";

    t[MOTE_TYPE_F16].vec_dot = vec_dot_f16;
    t[MOTE_TYPE_F16].vec_dot_4 = vec_dot_4_f16;
    t[MOTE_TYPE_F16].quantize_act = quantize_f16;
    t[MOTE_TYPE_F16].dequantize = dequantize_f16;
    t[MOTE_TYPE_F16].isa = "avx2";

    t[MOTE_TYPE_BF16].vec_dot = vec_dot_bf16;
    t[MOTE_TYPE_BF16].vec_dot_4 = vec_dot_4_bf16;
    t[MOTE_TYPE_BF16].quantize_act = quantize_bf16;
    t[MOTE_TYPE_BF16].dequantize = dequantize_bf16;
    t[MOTE_TYPE_BF16].isa = "avx2";
}

#endif /* __x86_64__ */
