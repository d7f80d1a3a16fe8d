/* kquant_avx2.c — AVX2 kernels for the 256-element types q2_K, q3_K, q4_K,
 * q5_K, q6_K, tq1_0 and tq2_0 against q8_K activations, for iq4_nl against
 * q8_0, and the activation quantizer f32 -> q8_K: vec_dot (one weight row
 * against one activation row) and vec_dot_4 (against 4 activation rows,
 * each weight block decoded once: the prompt tile).
 *
 * Not here: the 32-element legacy types (quant_avx2.c), float types
 * (float_avx2.c), dequantization (the scalar reference serves: it is off
 * the hot path), the CPUID check (cpu.c; these must only run after it).
 * The bit layouts are those of the scalar reference, src/tensor/quant_k.c
 * and quant_iq.c, whose header comments spell out the element order.
 *
 * How a super-block dot works. Every type here is written as
 *   x_e = da * sc[s] * qv_e  -  db * mn[s] / (16-element sub-block s)
 * with qv_e an unsigned level (at most 63) and sc, mn small integers:
 *   q2_K  qv = 2-bit level, sc = scale nibble, mn = min nibble, da = d,
 *         db = dmin;
 *   q3_K  qv = level + 4 (0..7), sc = signed 6-bit scale, mn = 4 sc,
 *         da = db = d;
 *   q4_K, q5_K  qv = 4/5-bit level, sc, mn = the 6-bit scale and min of
 *         the 32-element sub-block (repeated for both 16-halves);
 *   q6_K  qv = 6-bit level, sc = int8 scale, mn = 32 sc, da = db = d;
 *   tq1_0, tq2_0  qv = trit + 1 (0..2), sc = mn = 1, da = db = d.
 * So the dot with a q8_K block (yd, yq, bsums) is
 *   yd * (da * sum_e sc qv_e yq_e  -  db * sum_s mn_s bsums_s).
 * The first sum goes 32 elements at a time: VPMADDUBSW multiplies the
 * unsigned levels by the signed activations and adds pairs into int16 (at
 * most 2 * 63 * 127: no saturation), VPMADDWD multiplies by the sub-block
 * scales and adds pairs into int32; the second is one VPMADDWD of mn by
 * bsums. Both are exact integers, as in the reference; only the float
 * scaling (per super-block, into 8-lane accumulators) differs from it, in
 * rounding: tests/test_kernels_k.c states the tolerance. iq4_nl (signed
 * table values, 32-element blocks) uses the sign trick of quant_avx2.c.
 *
 * The q8_K quantizer writes the reference's bytes for finite input: the
 * same first element of largest magnitude, iscale = -127 / max and d =
 * 1 / iscale in scalar f32, q = x * iscale rounded half to even (as
 * mote__nearest_int; VCVTPS2DQ under the default rounding mode), bsums of
 * those q. A block whose scale overflows f32 (largest magnitude below
 * 127 / FLT_MAX) is left to the reference.
 *
 * Contracts as in src/tensor/quant_k.c: n a multiple of the block (256, or
 * 32 for iq4_nl), blocks need no alignment (every load unaligned, scalar
 * fields read with memcpy), pure, thread-safe, no allocation. Compiles to
 * nothing off x86-64; built with -mavx2 -mfma -mf16c.
 */
#if defined(__x86_64__)
#include "../simd.h"
#include "avx2_util.h"
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define QK_K MOTE_QK_K
#define Y_SIZE sizeof(mote_block_q8_K)
#define Y_QS offsetof(mote_block_q8_K, qs)
#define Y_BSUMS offsetof(mote_block_q8_K, bsums)

/* ---- helpers ---- */

ALWAYS_INLINE float load_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

ALWAYS_INLINE uint32_t load_u32(const uint8_t *p) {
    uint32_t u;
    memcpy(&u, p, 4);
    return u;
}

ALWAYS_INLINE __m256i loadu256(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* Bit `bit` of each byte of v moved to bit `to` (other bits cleared): one
 * 16-bit shift and a mask (bits shifted across bytes are masked off). */
ALWAYS_INLINE __m256i bit_to(__m256i v, int bit, int to) {
    const __m256i m = _mm256_set1_epi8((char)(1 << to));
    if (bit == to) return _mm256_and_si256(v, m);
    return _mm256_and_si256(bit > to ? _mm256_srli_epi16(v, bit - to) : _mm256_slli_epi16(v, to - bit), m);
}

/* Bytes 3 v mod 256. */
ALWAYS_INLINE __m256i triple(__m256i v) { return _mm256_add_epi8(v, _mm256_add_epi8(v, v)); }
ALWAYS_INLINE __m128i triple128(__m128i v) { return _mm_add_epi8(v, _mm_add_epi8(v, v)); }

/* ---- the weight types ---- */

enum ktype { T_Q2_K, T_Q3_K, T_Q4_K, T_Q5_K, T_Q6_K, T_TQ1_0, T_TQ2_0 };

ALWAYS_INLINE size_t k_size(enum ktype t) {
    switch (t) {
    case T_Q2_K: return sizeof(mote_block_q2_K);
    case T_Q3_K: return sizeof(mote_block_q3_K);
    case T_Q4_K: return sizeof(mote_block_q4_K);
    case T_Q5_K: return sizeof(mote_block_q5_K);
    case T_Q6_K: return sizeof(mote_block_q6_K);
    case T_TQ1_0: return sizeof(mote_block_tq1_0);
    default: return sizeof(mote_block_tq2_0);
    }
}

/* Types whose two parts share one float scale (da == db): the parts are
 * subtracted in int32 before the one conversion to float. */
ALWAYS_INLINE bool k_same_scale(enum ktype t) { return t != T_Q2_K && t != T_Q4_K && t != T_Q5_K; }
/* Types with sc = 1 everywhere: the scale multiply is a plain widening. */
ALWAYS_INLINE bool k_unit_scale(enum ktype t) { return t == T_TQ1_0 || t == T_TQ2_0; }

/* What a super-block needs besides its levels (see the top comment). */
typedef struct {
    __m256i sc; /* 16 int16: sc of the even sub-blocks 0, 2, .., 14 in the
                 * low 128-bit lane, of the odd ones in the high lane */
    __m256i mn; /* 16 int16: mn of sub-block s, in order */
    float da, db;
} kblock;

/* 8 (scale, min) pairs of 6 bits from the 12 bytes of q4_K/q5_K (layout
 * in quant_k.c) as 16 bytes: scales 0..7 then mins 0..7. */
ALWAYS_INLINE __m128i k4_scales_mins(const uint8_t *s) {
    const uint32_t u0 = load_u32(s), u1 = load_u32(s + 4), u2 = load_u32(s + 8);
    const uint32_t sc_lo = u0 & 0x3f3f3f3fu;
    const uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | ((u0 >> 6) & 0x03030303u) << 4;
    const uint32_t m_lo = u1 & 0x3f3f3f3fu;
    const uint32_t m_hi = ((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 6) & 0x03030303u) << 4;
    return _mm_set_epi32((int)m_hi, (int)m_lo, (int)sc_hi, (int)sc_lo);
}

/* The 16 signed 6-bit scales of q3_K (stored + 32; layout in quant_k.c) as
 * 16 int8. */
ALWAYS_INLINE __m128i q3_scales(const uint8_t *s) {
    const uint32_t a0 = load_u32(s), a1 = load_u32(s + 4), a2 = load_u32(s + 8);
    const uint32_t s0 = (a0 & 0x0f0f0f0fu) | (a2 & 0x03030303u) << 4;
    const uint32_t s1 = (a1 & 0x0f0f0f0fu) | ((a2 >> 2) & 0x03030303u) << 4;
    const uint32_t s2 = ((a0 >> 4) & 0x0f0f0f0fu) | ((a2 >> 4) & 0x03030303u) << 4;
    const uint32_t s3 = ((a1 >> 4) & 0x0f0f0f0fu) | ((a2 >> 6) & 0x03030303u) << 4;
    return _mm_sub_epi8(_mm_set_epi32((int)s3, (int)s2, (int)s1, (int)s0), _mm_set1_epi8(32));
}

/* Byte shuffle: the even bytes, then the odd ones. */
ALWAYS_INLINE __m128i even_odd(void) {
    return _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
}

ALWAYS_INLINE kblock k_prepare(enum ktype t, const uint8_t *b) {
    kblock kb;
    switch (t) {
    case T_Q2_K: {
        const __m128i s = _mm_loadu_si128((const __m128i *)(b + offsetof(mote_block_q2_K, scales)));
        const __m128i nib = _mm_set1_epi8(0x0f);
        kb.sc = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_and_si128(s, nib), even_odd()));
        kb.mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), nib));
        kb.da = load_f16(b + offsetof(mote_block_q2_K, d));
        kb.db = load_f16(b + offsetof(mote_block_q2_K, dmin));
        break;
    }
    case T_Q3_K: {
        const __m128i s = q3_scales(b + offsetof(mote_block_q3_K, scales));
        kb.sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, even_odd()));
        kb.mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(s), 2);
        kb.da = kb.db = load_f16(b + offsetof(mote_block_q3_K, d));
        break;
    }
    case T_Q4_K:
    case T_Q5_K: {
        /* same offsets of d, dmin, scales in both */
        const __m128i sm = k4_scales_mins(b + offsetof(mote_block_q4_K, scales));
        /* sub-block j of 32 is 16-sub-blocks 2j, 2j + 1 */
        kb.sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
        kb.mn = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));
        kb.da = load_f16(b + offsetof(mote_block_q4_K, d));
        kb.db = load_f16(b + offsetof(mote_block_q4_K, dmin));
        break;
    }
    case T_Q6_K: {
        const __m128i s = _mm_loadu_si128((const __m128i *)(b + offsetof(mote_block_q6_K, scales)));
        kb.sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, even_odd()));
        kb.mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(s), 5);
        kb.da = kb.db = load_f16(b + offsetof(mote_block_q6_K, d));
        break;
    }
    case T_TQ1_0:
        kb.sc = kb.mn = _mm256_set1_epi16(1);
        kb.da = kb.db = load_f16(b + offsetof(mote_block_tq1_0, d));
        break;
    default:
        kb.sc = kb.mn = _mm256_set1_epi16(1);
        kb.da = kb.db = load_f16(b + offsetof(mote_block_tq2_0, d));
        break;
    }
    return kb;
}

/* The levels qv of elements 32k .. 32k + 31 (k = 0..7) as 32 unsigned
 * bytes, in element order (so they meet activation bytes 32k.. directly). */
ALWAYS_INLINE __m256i k_chunk(enum ktype t, const uint8_t *b, int k) {
    const __m256i m2 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(0x0f);
    switch (t) {
    case T_Q2_K: { /* element 128 h + 32 s + l: bits 2s of qs[32 h + l] */
        const __m256i q = loadu256(b + offsetof(mote_block_q2_K, qs) + 32 * (k / 4));
        return _mm256_and_si256(_mm256_srli_epi16(q, 2 * (k % 4)), m2);
    }
    case T_Q3_K: { /* as q2_K, plus bit k of hmask[l] as 4 */
        const __m256i q = loadu256(b + offsetof(mote_block_q3_K, qs) + 32 * (k / 4));
        const __m256i h = loadu256(b + offsetof(mote_block_q3_K, hmask));
        return _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * (k % 4)), m2),
                               bit_to(h, k, 2));
    }
    case T_Q4_K:
    case T_Q5_K: { /* element 64 c + 32 j + l: nibble j of qs[32 c + l] */
        const size_t qs_off =
            t == T_Q4_K ? offsetof(mote_block_q4_K, qs) : offsetof(mote_block_q5_K, qs);
        const __m256i q = loadu256(b + qs_off + 32 * (k / 2));
        __m256i v = _mm256_and_si256(k % 2 ? _mm256_srli_epi16(q, 4) : q, m4);
        if (t == T_Q5_K) { /* fifth bit: bit k of qh[l] */
            const __m256i h = loadu256(b + offsetof(mote_block_q5_K, qh));
            v = _mm256_or_si256(v, bit_to(h, k, 4));
        }
        return v;
    }
    case T_Q6_K: { /* element 128 h + 32 s + l: see quant_k.c */
        const int h = k / 4, s = k % 4;
        const __m256i ql = loadu256(b + offsetof(mote_block_q6_K, ql) + 64 * h + 32 * (s & 1));
        const __m256i qh = loadu256(b + offsetof(mote_block_q6_K, qh) + 32 * h);
        const __m256i lo = _mm256_and_si256(s < 2 ? ql : _mm256_srli_epi16(ql, 4), m4);
        /* bits 2s, 2s + 1 of qh to bits 4, 5 */
        const __m256i hi = _mm256_and_si256(
            s == 2 ? qh : s < 2 ? _mm256_slli_epi16(qh, 4 - 2 * s) : _mm256_srli_epi16(qh, 2),
            _mm256_set1_epi8(0x30));
        return _mm256_or_si256(lo, hi);
    }
    case T_TQ1_0: {
        /* Trit n of a byte: P = byte * 3^n mod 256, trit = (3 P) >> 8, i.e.
         * (P >= 86) + (P >= 171). Chunks 0..4: trit k of qs[0..31];
         * chunks 5, 6: trits (0, 1), (2, 3) of qs[32..47]; chunk 7: trit 4
         * of qs[32..47], then trit n of qh[j] at byte 4 n + j. */
        const uint8_t *qs = b + offsetof(mote_block_tq1_0, qs);
        __m256i pv;
        if (k < 5) {
            pv = loadu256(qs);
            for (int j = 0; j < k; j++) pv = triple(pv); /* shared between chunks (CSE) */
        } else {
            const __m128i q16 = _mm_loadu_si128((const __m128i *)(qs + 32));
            const __m128i q3 = triple128(q16), q9 = triple128(q3), q27 = triple128(q9);
            if (k == 5) {
                pv = _mm256_set_m128i(q3, q16);
            } else if (k == 6) {
                pv = _mm256_set_m128i(q27, q9);
            } else {
                /* qh[j] * 3^n at byte 4 n + j */
                const __m128i h1 = _mm_set1_epi32((int)load_u32(b + offsetof(mote_block_tq1_0, qh)));
                const __m128i h3 = triple128(h1), h9 = triple128(h3), h27 = triple128(h9);
                const __m128i h = _mm_blend_epi32(_mm_blend_epi32(h1, h3, 2), _mm_blend_epi32(h9, h27, 8), 12);
                pv = _mm256_set_m128i(h, triple128(triple128(q9)));
            }
        }
        /* (P >= 86) + (P >= 171): P - c saturated at 0, capped at 1 */
        const __m256i one = _mm256_set1_epi8(1);
        return _mm256_add_epi8(_mm256_min_epu8(_mm256_subs_epu8(pv, _mm256_set1_epi8(85)), one),
                               _mm256_min_epu8(_mm256_subs_epu8(pv, _mm256_set1_epi8((char)170)), one));
    }
    default: { /* tq2_0: element 128 c + 32 n + m: bits 2n of qs[32 c + m] */
        const __m256i q = loadu256(b + offsetof(mote_block_tq2_0, qs) + 32 * (k / 4));
        return _mm256_and_si256(_mm256_srli_epi16(q, 2 * (k % 4)), m2);
    }
    }
}

/* The scales of chunk k as 16 int16: sc of sub-block 2k in the low 128-bit
 * lane (elements 32k..32k+15), of 2k + 1 in the high one: int16 k of each
 * lane of kb.sc, one in-lane shuffle. */
ALWAYS_INLINE __m256i k_chunk_scale(__m256i sc, int k) {
    return _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(2 * k | (2 * k + 1) << 8)));
}

/* out[r] = x . y_r for the R (1 or 4) activation rows y0 + r * stride:
 * each weight chunk is decoded once for the R rows. */
ALWAYS_INLINE void k_dot(enum ktype t, int R, int64_t n, const void *vx, const void *vy,
                         size_t stride, float *out) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / QK_K;
    const size_t xs = k_size(t);
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * xs;
        const uint8_t *yb = y + (size_t)i * Y_SIZE;
        const kblock kb = k_prepare(t, xb);
        __m256i isum[4];
        for (int r = 0; r < R; r++) isum[r] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const __m256i q = k_chunk(t, xb, k);
            const __m256i s = k_unit_scale(t) ? _mm256_set1_epi16(1) : k_chunk_scale(kb.sc, k);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                const __m256i yq = loadu256(yb + (size_t)r * stride + Y_QS + 32 * k);
                isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(_mm256_maddubs_epi16(q, yq), s));
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *yr = yb + (size_t)r * stride;
            const float yd = load_f32(yr);
            const __m256i msum = _mm256_madd_epi16(kb.mn, loadu256(yr + Y_BSUMS));
            if (k_same_scale(t)) {
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(yd * kb.da),
                                         _mm256_cvtepi32_ps(_mm256_sub_epi32(isum[r], msum)), acc[r]);
            } else {
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(yd * kb.da), _mm256_cvtepi32_ps(isum[r]), acc[r]);
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(-(yd * kb.db)), _mm256_cvtepi32_ps(msum), acc[r]);
            }
        }
    }
    for (int r = 0; r < R; r++) out[r] = hsum256(acc[r]);
}

#define DEF_K(name, T)                                                                     \
    static float vec_dot_##name(int64_t n, const void *x, const void *y) {                 \
        float out;                                                                         \
        k_dot(T, 1, n, x, y, 0, &out);                                                     \
        return out;                                                                        \
    }                                                                                      \
    static void vec_dot_4_##name(int64_t n, const void *w, const void *act, size_t stride, \
                                 float out[4]) {                                           \
        k_dot(T, 4, n, w, act, stride, out);                                               \
    }
DEF_K(q2_K, T_Q2_K)
DEF_K(q3_K, T_Q3_K)
DEF_K(q4_K, T_Q4_K)
DEF_K(q5_K, T_Q5_K)
DEF_K(q6_K, T_Q6_K)
DEF_K(tq1_0, T_TQ1_0)
DEF_K(tq2_0, T_TQ2_0)

/* ---- iq4_nl . q8_0 ---- */

static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                         1,    13,   25,  38,  53,  69,  89,  113};

/* One iq4_nl block's values (-127..113) as 32 signed bytes: the nibbles
 * index the table (VPSHUFB); element j < 16 is the low nibble of qs[j]. */
ALWAYS_INLINE __m256i iq4nl_decode(const uint8_t *xb, __m256i table) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)(xb + offsetof(mote_block_iq4_nl, qs)));
    const __m256i nib =
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0f));
    return _mm256_shuffle_epi8(table, nib);
}

/* acc + dx * dy * (block . q8_0 block yb), the integer dot by the sign
 * trick: |x| (unsigned) times sign(x) y, exact (|x|, |y| <= 127). */
ALWAYS_INLINE __m256 iq4nl_fma(__m256i q, __m256i aq, float dx, const uint8_t *yb, __m256 acc) {
    const __m256i sy = _mm256_sign_epi8(loadu256(yb + offsetof(mote_block_q8_0, qs)), q);
    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, sy), _mm256_set1_epi16(1));
    return _mm256_fmadd_ps(_mm256_set1_ps(dx * load_f16(yb)), _mm256_cvtepi32_ps(p), acc);
}

ALWAYS_INLINE __m256i iq4nl_table(void) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl));
}

/* Two blocks per step on two accumulators: the FMA latency chain is
 * otherwise the bottleneck. */
static float vec_dot_iq4_nl(int64_t n, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / MOTE_QK4_NL;
    const size_t xs = sizeof(mote_block_iq4_nl), ys = sizeof(mote_block_q8_0);
    const __m256i table = iq4nl_table();
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const uint8_t *x0 = x + (size_t)i * xs, *x1 = x0 + xs;
        const __m256i q0 = iq4nl_decode(x0, table), q1 = iq4nl_decode(x1, table);
        acc0 = iq4nl_fma(q0, _mm256_sign_epi8(q0, q0), load_f16(x0), y + (size_t)i * ys, acc0);
        acc1 = iq4nl_fma(q1, _mm256_sign_epi8(q1, q1), load_f16(x1), y + (size_t)(i + 1) * ys, acc1);
    }
    if (i < nb) {
        const uint8_t *x0 = x + (size_t)i * xs;
        const __m256i q0 = iq4nl_decode(x0, table);
        acc0 = iq4nl_fma(q0, _mm256_sign_epi8(q0, q0), load_f16(x0), y + (size_t)i * ys, acc0);
    }
    return hsum256(_mm256_add_ps(acc0, acc1));
}

/* Each block decoded once for the 4 rows. */
static void vec_dot_4_iq4_nl(int64_t n, const void *vw, const void *act, size_t stride,
                             float out[4]) {
    const uint8_t *w = vw, *y = act;
    const int64_t nb = n / MOTE_QK4_NL;
    const size_t xs = sizeof(mote_block_iq4_nl), ys = sizeof(mote_block_q8_0);
    const __m256i table = iq4nl_table();
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *wb = w + (size_t)i * xs, *yb = y + (size_t)i * ys;
        const __m256i q = iq4nl_decode(wb, table), aq = _mm256_sign_epi8(q, q);
        const float dx = load_f16(wb);
        a0 = iq4nl_fma(q, aq, dx, yb, a0);
        a1 = iq4nl_fma(q, aq, dx, yb + stride, a1);
        a2 = iq4nl_fma(q, aq, dx, yb + 2 * stride, a2);
        a3 = iq4nl_fma(q, aq, dx, yb + 3 * stride, a3);
    }
    out[0] = hsum256(a0);
    out[1] = hsum256(a1);
    out[2] = hsum256(a2);
    out[3] = hsum256(a3);
}

/* ---- f32 -> q8_K ---- */

void mote__quantize_q8_K_ref(const float *x, void *y, int64_t n); /* quant_k.c */

static void quantize_q8_K(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *xb = x + i * QK_K;
        uint8_t *yb = y + (size_t)i * Y_SIZE;
        /* largest magnitude; NaN is skipped (max_ps returns its second
         * operand on NaN), as the reference's strict > skips it */
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8) m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xb + j), abs_mask), m);
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        if (amax == 0.0f) {
            memset(yb, 0, Y_SIZE);
            continue;
        }
        /* the first element of that magnitude gives the sign, as in the
         * reference */
        float max = amax;
        const __m256 va = _mm256_set1_ps(amax);
        for (int j = 0; j < QK_K; j += 8) {
            const int mask = _mm256_movemask_ps(
                _mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(xb + j), abs_mask), va, _CMP_EQ_OQ));
            if (mask) {
                max = xb[j + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        if (!(fabsf(iscale) <= 3.4e38f)) {
            /* |max| < 127 / FLT_MAX: the scale overflows and the reference's
             * clamping of infinite products decides the bytes */
            mote__quantize_q8_K_ref(xb, yb, QK_K);
            continue;
        }
        const __m256 vs = _mm256_set1_ps(iscale);
        __m256i part[2];
        for (int h = 0; h < 2; h++) { /* 128 elements: 4 x 32, 8 bsums */
            __m256i s4[4];
            for (int c = 0; c < 4; c++) {
                const float *xc = xb + 128 * h + 32 * c;
                const __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xc), vs));
                const __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xc + 8), vs));
                const __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xc + 16), vs));
                const __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xc + 24), vs));
                /* packs work within 128-bit lanes; the permute restores
                 * element order */
                __m256i q = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
                q = _mm256_permutevar8x32_epi32(q, order);
                _mm256_storeu_si256((__m256i *)(yb + Y_QS + 128 * h + 32 * c), q);
                /* 8 int32: sums of elements 4j..4j+3 */
                s4[c] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
            }
            /* lane 0 ends with the sums of the first 16 of chunks 0..3,
             * lane 1 with the second 16: bsums 0,2,4,6 | 1,3,5,7 */
            const __m256i h2 = _mm256_hadd_epi32(_mm256_hadd_epi32(s4[0], s4[1]),
                                                 _mm256_hadd_epi32(s4[2], s4[3]));
            part[h] = _mm256_permutevar8x32_epi32(h2, order);
        }
        const __m256i bs = _mm256_permute4x64_epi64(_mm256_packs_epi32(part[0], part[1]), 0xd8);
        _mm256_storeu_si256((__m256i *)(yb + Y_BSUMS), bs);
        const float d = 1.0f / iscale;
        memcpy(yb + offsetof(mote_block_q8_K, d), &d, 4);
    }
}

/* ---- table ---- */

void mote__kernels_fill_avx2_kquant(mote_kernel_table *t) {
#define SET(T, name)                   \
    t[T].vec_dot = vec_dot_##name;     \
    t[T].vec_dot_4 = vec_dot_4_##name; \
    t[T].isa = "avx2";
    SET(MOTE_TYPE_Q2_K, q2_K)
    SET(MOTE_TYPE_Q3_K, q3_K)
    SET(MOTE_TYPE_Q4_K, q4_K)
    SET(MOTE_TYPE_Q5_K, q5_K)
    SET(MOTE_TYPE_Q6_K, q6_K)
    SET(MOTE_TYPE_TQ1_0, tq1_0)
    SET(MOTE_TYPE_TQ2_0, tq2_0)
    SET(MOTE_TYPE_IQ4_NL, iq4_nl)
#undef SET
    for (uint32_t k = 0; k < MOTE_TYPE_COUNT; k++)
        if (t[k].vec_dot && t[k].vec_dot_type == MOTE_TYPE_Q8_K) t[k].quantize_act = quantize_q8_K;
}

#endif /* __x86_64__ */
