/* quant_avx2.c — AVX2 kernels for the 32-element block types q4_0, q4_1,
 * q5_0, q5_1 and q8_0: vec_dot against the q8_0/q8_1 activation blocks,
 * vec_dot_4 (one weight row against 4 activation rows: the block is decoded
 * once for 4 tokens), the activation quantizers f32 -> q8_0 / q8_1, and
 * dequantize for q4_0 and q8_0.
 *
 * Not here: float types (float_avx2.c), the K-quants, the CPUID check
 * (cpu.c; these must only run after it), threads.
 *
 * How a block dot works (the int8 technique GGML's AVX2 code uses): the
 * weight block is expanded to 32 bytes, one per element. For signed weights
 * (q4_0, q5_0, q8_0: values in -16..15 or -128..127) VPSIGNB moves the sign
 * of x onto y, so |x| (unsigned) * (sign(x) y) (signed) is x*y; VPMADDUBSW
 * multiplies unsigned by signed bytes and adds neighbours into int16 (at
 * most 2*128*127 = 32512: no saturation, since activations are in
 * -127..127 as our quantizers write them), VPMADDWD by ones widens to int32.
 * The unsigned weights (q4_1, q5_1: 0..31) go into VPMADDUBSW directly.
 * So each block's integer sum is exact, as in the reference; only the float
 * scaling and summation order differ: per block d = dx*dy (exact in f32:
 * two 11-bit significands) times up to 8 partial sums, fused into 8-lane
 * accumulators. tests/test_kernels.c derives its tolerance from that.
 *
 * The quantizers produce the reference's bytes for finite input: the same
 * amax, d = amax / 127 and id = 1 / d computed in scalar float, q = x * id
 * rounded half away from zero (as roundf; built from truncation, since the
 * SIMD rounding mode is half-to-even) and clamped to +-127.
 *
 * Contracts as in src/tensor/quant_ref.c: n a multiple of 32, blocks need
 * no alignment at all (every load is unaligned, f16 fields are read with
 * memcpy), pure, thread-safe, no allocation. Compiles to nothing off
 * x86-64; built with -mavx2 -mfma -mf16c.
 */
#if defined(__x86_64__)
#include "../simd.h"
#include "avx2_util.h"
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ---- helpers ---- */

/* Sum of u[j] * s[j] (u unsigned bytes, s signed bytes) in 8 int32 lanes,
 * each the sum of 4 neighbouring products. */
ALWAYS_INLINE __m256i dot_u8_s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* ---- the weight formats ---- */

enum kind { K_Q4_0, K_Q4_1, K_Q5_0, K_Q5_1, K_Q8_0 };

/* Bytes per weight block. */
ALWAYS_INLINE size_t w_size(enum kind k) {
    switch (k) {
    case K_Q4_0: return sizeof(mote_block_q4_0);
    case K_Q4_1: return sizeof(mote_block_q4_1);
    case K_Q5_0: return sizeof(mote_block_q5_0);
    case K_Q5_1: return sizeof(mote_block_q5_1);
    default: return sizeof(mote_block_q8_0);
    }
}

/* Unsigned kinds (x = d*q + m) pair with q8_1 activations (their s field
 * carries dy * sum(qy) for the m term); signed ones with q8_0. */
ALWAYS_INLINE bool is_unsigned(enum kind k) { return k == K_Q4_1 || k == K_Q5_1; }
ALWAYS_INLINE size_t y_size(enum kind k) {
    return is_unsigned(k) ? sizeof(mote_block_q8_1) : sizeof(mote_block_q8_0);
}
ALWAYS_INLINE size_t y_qs(enum kind k) {
    return is_unsigned(k) ? offsetof(mote_block_q8_1, qs) : offsetof(mote_block_q8_0, qs);
}

/* The block's 32 quants as bytes: signed kinds give q - offset (int8),
 * unsigned kinds q (uint8). For q5_0, q - 16 is the nibble when the fifth
 * bit is set and nibble - 16 = nibble | 0xf0 (as int8) when it is not. */
ALWAYS_INLINE __m256i decode(enum kind k, const uint8_t *b) {
    switch (k) {
    case K_Q4_0:
        return _mm256_sub_epi8(unpack_nibbles(b + offsetof(mote_block_q4_0, qs)),
                               _mm256_set1_epi8(8));
    case K_Q4_1: return unpack_nibbles(b + offsetof(mote_block_q4_1, qs));
    case K_Q5_0: {
        const __m256i hi = expand_bits(b + offsetof(mote_block_q5_0, qh));
        return _mm256_or_si256(unpack_nibbles(b + offsetof(mote_block_q5_0, qs)),
                               _mm256_andnot_si256(hi, _mm256_set1_epi8((char)0xf0)));
    }
    case K_Q5_1: {
        const __m256i hi = expand_bits(b + offsetof(mote_block_q5_1, qh));
        return _mm256_or_si256(unpack_nibbles(b + offsetof(mote_block_q5_1, qs)),
                               _mm256_and_si256(hi, _mm256_set1_epi8(0x10)));
    }
    default: return _mm256_loadu_si256((const __m256i *)(b + offsetof(mote_block_q8_0, qs)));
    }
}

/* ---- vec_dot: x (n) weight blocks . y (n) activation blocks ---- */

/* The integer dot of one decoded weight block with the activation quants
 * at qy, as 8 int32 partial sums. */
ALWAYS_INLINE __m256i block_dot(enum kind k, __m256i qx, const uint8_t *qy) {
    const __m256i y = _mm256_loadu_si256((const __m256i *)qy);
    if (is_unsigned(k)) return dot_u8_s8(qx, y);
    return dot_u8_s8(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(y, qx));
}

ALWAYS_INLINE float vec_dot_kind(enum kind k, int64_t n, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / 32;
    const size_t xs = w_size(k), ys = y_size(k), yq = y_qs(k);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float msum = 0.0f; /* the m * s terms of the unsigned kinds */
    int64_t i = 0;
    /* Two blocks per step on two accumulators: the FMA latency chain is
     * otherwise the bottleneck. */
    for (; i + 2 <= nb; i += 2) {
        const uint8_t *x0 = x + i * xs, *y0 = y + i * ys;
        const uint8_t *x1 = x0 + xs, *y1 = y0 + ys;
        const __m256i p0 = block_dot(k, decode(k, x0), y0 + yq);
        const __m256i p1 = block_dot(k, decode(k, x1), y1 + yq);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(x0) * load_f16(y0)),
                               _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(x1) * load_f16(y1)),
                               _mm256_cvtepi32_ps(p1), acc1);
        if (is_unsigned(k))
            msum += load_f16(x0 + 2) * load_f16(y0 + 2) + load_f16(x1 + 2) * load_f16(y1 + 2);
    }
    for (; i < nb; i++) {
        const uint8_t *x0 = x + i * xs, *y0 = y + i * ys;
        const __m256i p0 = block_dot(k, decode(k, x0), y0 + yq);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(x0) * load_f16(y0)),
                               _mm256_cvtepi32_ps(p0), acc0);
        if (is_unsigned(k)) msum += load_f16(x0 + 2) * load_f16(y0 + 2);
    }
    return hsum256(_mm256_add_ps(acc0, acc1)) + msum;
}

/* One weight row (n) against activation rows r = 0..3 at act + r * stride
 * bytes: out[r] = w . act_r. Each weight block is decoded (and for signed
 * kinds its absolute value taken) once for all four rows. */
ALWAYS_INLINE void vec_dot_4_kind(enum kind k, int64_t n, const void *vw, const void *act,
                                  size_t stride, float out[4]) {
    const uint8_t *w = vw;
    const uint8_t *y0 = act, *y1 = y0 + stride, *y2 = y1 + stride, *y3 = y2 + stride;
    const int64_t nb = n / 32;
    const size_t xs = w_size(k), ys = y_size(k), yq = y_qs(k);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    float m0 = 0.0f, m1 = 0.0f, m2 = 0.0f, m3 = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *wb = w + i * xs;
        const size_t o = (size_t)i * ys;
        const __m256i qx = decode(k, wb);
        const float dw = load_f16(wb);
        __m256i p0, p1, p2, p3;
        if (is_unsigned(k)) {
            p0 = dot_u8_s8(qx, _mm256_loadu_si256((const __m256i *)(y0 + o + yq)));
            p1 = dot_u8_s8(qx, _mm256_loadu_si256((const __m256i *)(y1 + o + yq)));
            p2 = dot_u8_s8(qx, _mm256_loadu_si256((const __m256i *)(y2 + o + yq)));
            p3 = dot_u8_s8(qx, _mm256_loadu_si256((const __m256i *)(y3 + o + yq)));
            const float mw = load_f16(wb + 2);
            m0 += mw * load_f16(y0 + o + 2);
            m1 += mw * load_f16(y1 + o + 2);
            m2 += mw * load_f16(y2 + o + 2);
            m3 += mw * load_f16(y3 + o + 2);
        } else {
            const __m256i ax = _mm256_sign_epi8(qx, qx);
#define SIGNED_ROW(yr) \
    dot_u8_s8(ax, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)((yr) + o + yq)), qx))
            p0 = SIGNED_ROW(y0);
            p1 = SIGNED_ROW(y1);
            p2 = SIGNED_ROW(y2);
            p3 = SIGNED_ROW(y3);
#undef SIGNED_ROW
        }
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(dw * load_f16(y0 + o)), _mm256_cvtepi32_ps(p0), a0);
        a1 = _mm256_fmadd_ps(_mm256_set1_ps(dw * load_f16(y1 + o)), _mm256_cvtepi32_ps(p1), a1);
        a2 = _mm256_fmadd_ps(_mm256_set1_ps(dw * load_f16(y2 + o)), _mm256_cvtepi32_ps(p2), a2);
        a3 = _mm256_fmadd_ps(_mm256_set1_ps(dw * load_f16(y3 + o)), _mm256_cvtepi32_ps(p3), a3);
    }
    out[0] = hsum256(a0) + m0;
    out[1] = hsum256(a1) + m1;
    out[2] = hsum256(a2) + m2;
    out[3] = hsum256(a3) + m3;
}

#define DEF_KIND(name, K)                                                                 \
    static float vec_dot_##name(int64_t n, const void *x, const void *y) {                \
        return vec_dot_kind(K, n, x, y);                                                  \
    }                                                                                     \
    static void vec_dot_4_##name(int64_t n, const void *w, const void *act, size_t stride, \
                                 float out[4]) {                                          \
        vec_dot_4_kind(K, n, w, act, stride, out);                                        \
    }
DEF_KIND(q4_0, K_Q4_0)
DEF_KIND(q4_1, K_Q4_1)
DEF_KIND(q5_0, K_Q5_0)
DEF_KIND(q5_1, K_Q5_1)
DEF_KIND(q8_0, K_Q8_0)

/* ---- activation quantizers: f32 -> q8_0 / q8_1 ---- */

/* round(v) half away from zero (roundf), for |v| < 2^23: truncate, then
 * step away from zero when the dropped fraction is at least one half (the
 * subtraction v - trunc(v) is exact). */
ALWAYS_INLINE __m256 round_half_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    const __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    return _mm256_add_ps(t, _mm256_and_ps(up, _mm256_or_ps(sign, _mm256_set1_ps(1.0f))));
}

/* Quantize the 32 floats at x into qs[32] as the reference does: store the
 * block scale rounded to f16 at *d16, the sum of the quants at *sumq (if
 * non-NULL), and return the unrounded f32 scale d. */
ALWAYS_INLINE float quantize_block_q8(const float *x, uint16_t *d16, int8_t *qs, int *sumq) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign_bit, v0),
                                           _mm256_andnot_ps(sign_bit, v1)),
                             _mm256_max_ps(_mm256_andnot_ps(sign_bit, v2),
                                           _mm256_andnot_ps(sign_bit, v3)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *d16 = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    const __m256 vid = _mm256_set1_ps(id);
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
#define QROUND(v) \
    _mm256_cvtps_epi32(_mm256_min_ps(hi, _mm256_max_ps(lo, round_half_away(_mm256_mul_ps(v, vid)))))
    const __m256i i0 = QROUND(v0), i1 = QROUND(v1), i2 = QROUND(v2), i3 = QROUND(v3);
#undef QROUND
    if (sumq) {
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_hadd_epi32(s4, s4);
        s4 = _mm_hadd_epi32(s4, s4);
        *sumq = _mm_cvtsi128_si32(s4);
    }
    /* packs work within 128-bit lanes; the permute puts the 4-byte groups
     * back in element order. */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, p);
    return d;
}

/* f32 (n) -> q8_0 blocks (n / 32). */
static void quantize_q8_0(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / 32; i++) {
        uint8_t *b = y + i * sizeof(mote_block_q8_0);
        uint16_t d16;
        int8_t qs[32];
        quantize_block_q8(x + i * 32, &d16, qs, NULL);
        memcpy(b + offsetof(mote_block_q8_0, d), &d16, 2);
        memcpy(b + offsetof(mote_block_q8_0, qs), qs, 32);
    }
}

/* f32 (n) -> q8_1 blocks (n / 32), with s = f16(sum(q) * d) where d is the
 * unrounded f32 scale, as the reference computes it. */
static void quantize_q8_1(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / 32; i++) {
        uint8_t *b = y + i * sizeof(mote_block_q8_1);
        uint16_t d16;
        int8_t qs[32];
        int sumq;
        const float d = quantize_block_q8(x + i * 32, &d16, qs, &sumq);
        const uint16_t s16 = _cvtss_sh((float)sumq * d, _MM_FROUND_TO_NEAREST_INT);
        memcpy(b + offsetof(mote_block_q8_1, d), &d16, 2);
        memcpy(b + offsetof(mote_block_q8_1, s), &s16, 2);
        memcpy(b + offsetof(mote_block_q8_1, qs), qs, 32);
    }
}

/* ---- dequantize ---- */

/* q8_0 blocks -> f32 (n): (float)q * d, exactly the reference's product. */
static void dequantize_q8_0(const void *vx, float *y, int64_t n) {
    const uint8_t *x = vx;
    for (int64_t i = 0; i < n / 32; i++) {
        const uint8_t *b = x + i * sizeof(mote_block_q8_0);
        const __m256 d = _mm256_set1_ps(load_f16(b));
        const uint8_t *qs = b + offsetof(mote_block_q8_0, qs);
        for (int j = 0; j < 32; j += 8) {
            __m128i q8 = _mm_loadl_epi64((const __m128i *)(qs + j));
            _mm256_storeu_ps(y + i * 32 + j,
                             _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)), d));
        }
    }
}

/* q4_0 blocks -> f32 (n): (float)(q - 8) * d. */
static void dequantize_q4_0(const void *vx, float *y, int64_t n) {
    const uint8_t *x = vx;
    for (int64_t i = 0; i < n / 32; i++) {
        const uint8_t *b = x + i * sizeof(mote_block_q4_0);
        const __m256 d = _mm256_set1_ps(load_f16(b));
        const __m256i q = decode(K_Q4_0, b);
        const __m128i q_lo = _mm256_castsi256_si128(q), q_hi = _mm256_extracti128_si256(q, 1);
        float *o = y + i * 32;
        _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q_lo)), d));
        _mm256_storeu_ps(o + 8, _mm256_mul_ps(
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q_lo, 8))), d));
        _mm256_storeu_ps(o + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q_hi)), d));
        _mm256_storeu_ps(o + 24, _mm256_mul_ps(
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q_hi, 8))), d));
    }
}

/* ---- table ---- */

void mote__kernels_fill_avx2_quant(mote_kernel_table *t) {
#define SET(T, name)                               \
    t[T].vec_dot = vec_dot_##name;                 \
    t[T].vec_dot_4 = vec_dot_4_##name;             \
    t[T].isa = "avx2";
    SET(MOTE_TYPE_Q4_0, q4_0)
    SET(MOTE_TYPE_Q4_1, q4_1)
    SET(MOTE_TYPE_Q5_0, q5_0)
    SET(MOTE_TYPE_Q5_1, q5_1)
    SET(MOTE_TYPE_Q8_0, q8_0)
#undef SET
    for (uint32_t k = 0; k < MOTE_TYPE_COUNT; k++) {
        if (!t[k].vec_dot) continue;
        if (t[k].vec_dot_type == MOTE_TYPE_Q8_0) t[k].quantize_act = quantize_q8_0;
        if (t[k].vec_dot_type == MOTE_TYPE_Q8_1) t[k].quantize_act = quantize_q8_1;
    }
    t[MOTE_TYPE_Q8_0].dequantize = dequantize_q8_0;
    t[MOTE_TYPE_Q4_0].dequantize = dequantize_q4_0;
}

#endif /* __x86_64__ */
