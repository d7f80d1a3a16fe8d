/* kquant_neon.c — NEON kernels (with the ARMv8.2 dot-product instruction
 * SDOT) for the 256-element types q2_K, q3_K, q4_K, q5_K, q6_K, tq1_0 and
 * tq2_0 against q8_K activations, for iq4_nl against q8_0, and the
 * activation quantizer f32 -> q8_K: vec_dot and vec_dot_4 (one weight row
 * against 4 activation rows, each block decoded once).
 *
 * Not here: the 32-element legacy types (quant_neon.c), float types
 * (float_neon.c), dequantization (the scalar reference serves), the
 * getauxval check (cpu.c; these must only run after it says ASIMDDP). The
 * bit layouts are those of the scalar reference, src/tensor/quant_k.c and
 * quant_iq.c.
 *
 * Each super-block is decoded 16 elements (one q8_K bsums sub-block) at a
 * time into signed bytes: the level itself (q3_K: -4..3, q6_K: -32..31,
 * ternary: -1..1) or, for the types with a min (q2_K, q4_K, q5_K), the
 * unsigned level (at most 31), whose min term is then taken from the
 * activation's bsums: x . y = yd * (da * sum_s sc_s sum_e q_e yq_e - db *
 * sum_s m_s bsums_s). SDOT sums 4 byte products per int32 lane, the
 * sub-block scale multiplies the lanes (MLA), all exact in int32
 * as in the reference; only the float scaling per super-block differs from
 * it in rounding (tolerance: tests/test_kernels_k.c). iq4_nl looks its
 * nibbles up in the 16-entry table with TBL.
 *
 * The q8_K quantizer writes the reference's bytes for finite input: the
 * same first element of largest magnitude, iscale = -127 / max and d =
 * 1 / iscale in scalar f32, q = x * iscale rounded half to even (FCVTNS,
 * as mote__nearest_int), bsums of those q. A block whose scale overflows
 * f32 (largest magnitude below 127 / FLT_MAX) is left to the reference.
 *
 * Contracts as in src/tensor/quant_k.c: n a multiple of the block, blocks
 * need no alignment (scalar fields read with memcpy), pure, thread-safe, no
 * allocation. Compiles to nothing off aarch64; built with
 * -march=armv8.2-a+dotprod+fp16.
 */
#if defined(__aarch64__)
#include "../simd.h"
#include <arm_neon.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define QK_K MOTE_QK_K
#define Y_SIZE sizeof(mote_block_q8_K)
#define Y_QS offsetof(mote_block_q8_K, qs)
#define Y_BSUMS offsetof(mote_block_q8_K, bsums)

/* ---- helpers ---- */

ALWAYS_INLINE float load_f16(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

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

ALWAYS_INLINE uint8x16_t u8x16_from_u32(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return vreinterpretq_u8_u32(vcombine_u32(vcreate_u32((uint64_t)b << 32 | a),
                                             vcreate_u32((uint64_t)d << 32 | c)));
}

/* The 16 int8 of s as int32 out[16]. */
ALWAYS_INLINE void widen_s8(int8x16_t s, int32_t out[16]) {
    const int16x8_t lo = vmovl_s8(vget_low_s8(s)), hi = vmovl_s8(vget_high_s8(s));
    vst1q_s32(out, vmovl_s16(vget_low_s16(lo)));
    vst1q_s32(out + 4, vmovl_s16(vget_high_s16(lo)));
    vst1q_s32(out + 8, vmovl_s16(vget_low_s16(hi)));
    vst1q_s32(out + 12, vmovl_s16(vget_high_s16(hi)));
}

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

/* Types whose levels carry a separate min (taken from bsums). */
ALWAYS_INLINE bool k_has_min(enum ktype t) { return t == T_Q2_K || t == T_Q4_K || t == T_Q5_K; }
/* Types whose scale is per 32 elements (one per chunk k). */
ALWAYS_INLINE bool k_scale32(enum ktype t) { return t == T_Q4_K || t == T_Q5_K; }
/* Ternary types: no scale per sub-block. */
ALWAYS_INLINE bool k_unit_scale(enum ktype t) { return t == T_TQ1_0 || t == T_TQ2_0; }

typedef struct {
    int32_t sc[16];   /* scale of 16-sub-block s (or, k_scale32, of 32-sub-block s < 8) */
    int16x8_t mn[2];  /* k_has_min: min of 16-sub-block s (q4_K/q5_K: of 32-sub-block s) */
    float da, db;
} kblock;

ALWAYS_INLINE kblock k_prepare(enum ktype t, const uint8_t *b) {
    kblock kb;
    switch (t) {
    case T_Q2_K: {
        const uint8x16_t s = vld1q_u8(b + offsetof(mote_block_q2_K, scales));
        widen_s8(vreinterpretq_s8_u8(vandq_u8(s, vdupq_n_u8(0x0f))), kb.sc);
        const uint8x16_t m = vshrq_n_u8(s, 4);
        kb.mn[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m)));
        kb.mn[1] = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(m)));
        kb.da = load_f16(b + offsetof(mote_block_q2_K, d));
        kb.db = load_f16(b + offsetof(mote_block_q2_K, dmin));
        break;
    }
    case T_Q3_K: { /* 16 6-bit scales stored + 32 (layout in quant_k.c) */
        const uint8_t *s = b + offsetof(mote_block_q3_K, scales);
        const uint32_t a0 = load_u32(s), a1 = load_u32(s + 4), a2 = load_u32(s + 8);
        const uint8x16_t v = u8x16_from_u32(
            (a0 & 0x0f0f0f0fu) | (a2 & 0x03030303u) << 4,
            (a1 & 0x0f0f0f0fu) | ((a2 >> 2) & 0x03030303u) << 4,
            ((a0 >> 4) & 0x0f0f0f0fu) | ((a2 >> 4) & 0x03030303u) << 4,
            ((a1 >> 4) & 0x0f0f0f0fu) | ((a2 >> 6) & 0x03030303u) << 4);
        widen_s8(vsubq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(32)), kb.sc);
        kb.da = kb.db = load_f16(b + offsetof(mote_block_q3_K, d));
        break;
    }
    case T_Q4_K:
    case T_Q5_K: { /* same offsets in both; 8 (scale, min) pairs of 6 bits */
        const uint8_t *s = b + offsetof(mote_block_q4_K, scales);
        const uint32_t u0 = load_u32(s), u1 = load_u32(s + 4), u2 = load_u32(s + 8);
        const uint8x16_t v = u8x16_from_u32(
            u0 & 0x3f3f3f3fu, (u2 & 0x0f0f0f0fu) | ((u0 >> 6) & 0x03030303u) << 4,
            u1 & 0x3f3f3f3fu, ((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 6) & 0x03030303u) << 4);
        widen_s8(vreinterpretq_s8_u8(v), kb.sc); /* sc[0..1]: scales, sc[2..3]: mins */
        kb.mn[0] = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(v)));
        kb.mn[1] = vdupq_n_s16(0);
        kb.da = load_f16(b + offsetof(mote_block_q4_K, d));
        kb.db = load_f16(b + offsetof(mote_block_q4_K, dmin));
        break;
    }
    case T_Q6_K:
        widen_s8(vld1q_s8((const int8_t *)b + offsetof(mote_block_q6_K, scales)), kb.sc);
        kb.da = kb.db = load_f16(b + offsetof(mote_block_q6_K, d));
        break;
    case T_TQ1_0:
        kb.da = kb.db = load_f16(b + offsetof(mote_block_tq1_0, d));
        break;
    default:
        kb.da = kb.db = load_f16(b + offsetof(mote_block_tq2_0, d));
        break;
    }
    return kb;
}

/* Trits of the bytes P (already multiplied by 3^n mod 256) as -1, 0, 1:
 * (3 P) >> 8 - 1 = (P >= 86) + (P >= 171) - 1; the compares give -1. */
ALWAYS_INLINE int8x16_t tq1_trits(uint8x16_t p) {
    const int8x16_t ge = vreinterpretq_s8_u8(vaddq_u8(vcgeq_u8(p, vdupq_n_u8(86)), vcgeq_u8(p, vdupq_n_u8(171))));
    return vsubq_s8(vdupq_n_s8(-1), ge);
}

/* The levels of elements 16 j .. 16 j + 15 (j = 0..15) as signed bytes
 * (see the top comment: unsigned levels for the types with a min). */
ALWAYS_INLINE int8x16_t k_half(enum ktype t, const uint8_t *b, int j) {
    const int k = j / 2, half = j % 2; /* chunk of 32, and which 16 of it */
    const uint8x16_t m2 = vdupq_n_u8(3), m4 = vdupq_n_u8(0x0f);
    switch (t) {
    case T_Q2_K: { /* element 128 h + 32 s + l: bits 2s of qs[32 h + l] */
        const uint8x16_t q = vld1q_u8(b + offsetof(mote_block_q2_K, qs) + 32 * (k / 4) + 16 * half);
        return vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * (k % 4)))), m2));
    }
    case T_Q3_K: { /* plus bit k of hmask[l] set: +0, clear: -4 */
        const uint8x16_t q = vld1q_u8(b + offsetof(mote_block_q3_K, qs) + 32 * (k / 4) + 16 * half);
        const uint8x16_t h = vld1q_u8(b + offsetof(mote_block_q3_K, hmask) + 16 * half);
        const uint8x16_t lo = vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * (k % 4)))), m2);
        const uint8x16_t hb = vtstq_u8(h, vdupq_n_u8((uint8_t)(1u << k))); /* 0xff if set */
        return vsubq_s8(vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(vbicq_u8(vdupq_n_u8(4), hb)));
    }
    case T_Q4_K:
    case T_Q5_K: { /* element 64 c + 32 i + l: nibble i of qs[32 c + l] */
        const size_t qs_off = t == T_Q4_K ? offsetof(mote_block_q4_K, qs) : offsetof(mote_block_q5_K, qs);
        const uint8x16_t q = vld1q_u8(b + qs_off + 32 * (k / 2) + 16 * half);
        uint8x16_t v = k % 2 ? vshrq_n_u8(q, 4) : vandq_u8(q, m4);
        if (t == T_Q5_K) { /* fifth bit: bit k of qh[l] */
            const uint8x16_t h = vld1q_u8(b + offsetof(mote_block_q5_K, qh) + 16 * half);
            v = vorrq_u8(v, vandq_u8(vtstq_u8(h, vdupq_n_u8((uint8_t)(1u << k))), vdupq_n_u8(16)));
        }
        return vreinterpretq_s8_u8(v);
    }
    case T_Q6_K: { /* element 128 h + 32 s + l: see quant_k.c */
        const int h = k / 4, s = k % 4;
        const uint8x16_t ql = vld1q_u8(b + offsetof(mote_block_q6_K, ql) + 64 * h + 32 * (s & 1) + 16 * half);
        const uint8x16_t qh = vld1q_u8(b + offsetof(mote_block_q6_K, qh) + 32 * h + 16 * half);
        const uint8x16_t lo = s < 2 ? vandq_u8(ql, m4) : vshrq_n_u8(ql, 4);
        const uint8x16_t hi = vandq_u8(vshlq_u8(qh, vdupq_n_s8((int8_t)(4 - 2 * s))), vdupq_n_u8(0x30));
        return vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo, hi)), vdupq_n_s8(32));
    }
    case T_TQ1_0: {
        /* trit n of qs[m] is element m + 32 n (m < 32); of qs[32 + m],
         * element 160 + m + 16 n (m < 16); of qh[i], element 240 + i + 4 n */
        static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
        const uint8_t *qs = b + offsetof(mote_block_tq1_0, qs);
        uint8x16_t v;
        if (j < 10) {
            v = vmulq_u8(vld1q_u8(qs + 16 * (j % 2)), vdupq_n_u8(pow3[j / 2]));
        } else if (j < 15) {
            v = vmulq_u8(vld1q_u8(qs + 32), vdupq_n_u8(pow3[j - 10]));
        } else {
            static const uint8_t pw[16] = {1, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9, 27, 27, 27, 27};
            const uint8x16_t h = vreinterpretq_u8_u32(vdupq_n_u32(load_u32(b + offsetof(mote_block_tq1_0, qh))));
            v = vmulq_u8(h, vld1q_u8(pw));
        }
        return tq1_trits(v);
    }
    default: { /* tq2_0: element 128 c + 32 n + m: bits 2n of qs[32 c + m], t + 1 */
        const uint8x16_t q = vld1q_u8(b + offsetof(mote_block_tq2_0, qs) + 32 * (k / 4) + 16 * half);
        return vsubq_s8(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * (k % 4)))), m2)),
                        vdupq_n_s8(1));
    }
    }
}

/* out[r] = x . y_r for the R (1 or 4) activation rows y + r * stride. */
ALWAYS_INLINE void k_dot(enum ktype t, int R, int64_t n, const void *vx, const void *vy,
                         size_t stride, float *out) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / QK_K;
    const size_t xs = k_size(t);
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * xs;
        const uint8_t *yb = y + (size_t)i * Y_SIZE;
        const kblock kb = k_prepare(t, xb);
        int32x4_t isum[4];
        for (int r = 0; r < R; r++) isum[r] = vdupq_n_s32(0);
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const int8x16_t q0 = k_half(t, xb, 2 * k), q1 = k_half(t, xb, 2 * k + 1);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                const int8_t *yq = (const int8_t *)(yb + (size_t)r * stride + Y_QS) + 32 * k;
                const int8x16_t y0 = vld1q_s8(yq), y1 = vld1q_s8(yq + 16);
                if (k_unit_scale(t)) {
                    isum[r] = vdotq_s32(vdotq_s32(isum[r], q0, y0), q1, y1);
                } else if (k_scale32(t)) {
                    const int32x4_t p = vdotq_s32(vdotq_s32(vdupq_n_s32(0), q0, y0), q1, y1);
                    isum[r] = vmlaq_n_s32(isum[r], p, kb.sc[k]);
                } else {
                    isum[r] = vmlaq_n_s32(isum[r], vdotq_s32(vdupq_n_s32(0), q0, y0), kb.sc[2 * k]);
                    isum[r] = vmlaq_n_s32(isum[r], vdotq_s32(vdupq_n_s32(0), q1, y1), kb.sc[2 * k + 1]);
                }
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *yr = yb + (size_t)r * stride;
            const float yd = load_f32(yr);
            sum[r] += yd * kb.da * (float)vaddvq_s32(isum[r]);
            if (k_has_min(t)) {
                int16x8_t b0, b1;
                memcpy(&b0, yr + Y_BSUMS, 16);
                memcpy(&b1, yr + Y_BSUMS + 16, 16);
                int32x4_t m;
                if (k_scale32(t)) { /* min j covers bsums 2j, 2j + 1 */
                    const int16x8_t pairs = vpaddq_s16(b0, b1);
                    m = vmull_s16(vget_low_s16(kb.mn[0]), vget_low_s16(pairs));
                    m = vmlal_s16(m, vget_high_s16(kb.mn[0]), vget_high_s16(pairs));
                } else {
                    m = vmull_s16(vget_low_s16(kb.mn[0]), vget_low_s16(b0));
                    m = vmlal_s16(m, vget_high_s16(kb.mn[0]), vget_high_s16(b0));
                    m = vmlal_s16(m, vget_low_s16(kb.mn[1]), vget_low_s16(b1));
                    m = vmlal_s16(m, vget_high_s16(kb.mn[1]), vget_high_s16(b1));
                }
                sum[r] -= yd * kb.db * (float)vaddvq_s32(m);
            }
        }
    }
    for (int r = 0; r < R; r++) out[r] = sum[r];
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

/* out[r] = x . y_r over R (1 or 4) rows of q8_0 blocks: per block the
 * nibbles index the table (TBL), SDOT with the activation quants (exact),
 * then d = dx * dy fused into 4-lane float accumulators. */
ALWAYS_INLINE void iq4nl_dot(int R, int64_t n, const void *vx, const void *vy, size_t stride,
                             float *out) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / MOTE_QK4_NL;
    const size_t xs = sizeof(mote_block_iq4_nl), ys = sizeof(mote_block_q8_0);
    const int8x16_t table = vld1q_s8(kvalues_iq4nl);
    float32x4_t acc[4];
    for (int r = 0; r < R; r++) acc[r] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *xb = x + (size_t)i * xs;
        const uint8x16_t raw = vld1q_u8(xb + offsetof(mote_block_iq4_nl, qs));
        const int8x16_t lo = vqtbl1q_s8(table, vandq_u8(raw, vdupq_n_u8(0x0f)));
        const int8x16_t hi = vqtbl1q_s8(table, vshrq_n_u8(raw, 4));
        const float dx = load_f16(xb);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *yb = y + (size_t)r * stride + (size_t)i * ys;
            const int8_t *yq = (const int8_t *)yb + offsetof(mote_block_q8_0, qs);
            const int32x4_t p = vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo, vld1q_s8(yq)), hi, vld1q_s8(yq + 16));
            acc[r] = vfmaq_n_f32(acc[r], vcvtq_f32_s32(p), dx * load_f16(yb));
        }
    }
    for (int r = 0; r < R; r++) out[r] = vaddvq_f32(acc[r]);
}

static float vec_dot_iq4_nl(int64_t n, const void *x, const void *y) {
    float out;
    iq4nl_dot(1, n, x, y, 0, &out);
    return out;
}
static void vec_dot_4_iq4_nl(int64_t n, const void *w, const void *act, size_t stride,
                             float out[4]) {
    iq4nl_dot(4, n, w, act, stride, out);
}

/* ---- f32 -> q8_K ---- */

void mote__quantize_q8_K_ref(const float *x, void *y, int64_t n); /* quant_k.c */

static void quantize_q8_K(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *xb = x + i * QK_K;
        uint8_t *yb = y + (size_t)i * Y_SIZE;
        /* FMAXNM skips NaN, as the reference's strict > does */
        float32x4_t m = vdupq_n_f32(0.0f);
        for (int j = 0; j < QK_K; j += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(xb + j)));
        const float amax = vmaxnmvq_f32(m);
        if (amax == 0.0f) {
            memset(yb, 0, Y_SIZE);
            continue;
        }
        /* the first element of that magnitude gives the sign, as in the
         * reference: 4 at a time, then the lane */
        float max = amax;
        const float32x4_t va = vdupq_n_f32(amax);
        for (int j = 0; j < QK_K; j += 4) {
            if (!vmaxvq_u32(vceqq_f32(vabsq_f32(vld1q_f32(xb + j)), va))) continue;
            int l = 0;
            while (fabsf(xb[j + l]) != amax) l++;
            max = xb[j + l];
            break;
        }
        const float iscale = -127.0f / max;
        if (!(fabsf(iscale) <= 3.4e38f)) {
            mote__quantize_q8_K_ref(xb, yb, QK_K);
            continue;
        }
        int8_t *qs = (int8_t *)(yb + Y_QS);
        for (int j = 0; j < QK_K; j += 16) {
            int32x4_t a[4];
            for (int c = 0; c < 4; c++) a[c] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xb + j + 4 * c), iscale));
            const int16x8_t h0 = vcombine_s16(vqmovn_s32(a[0]), vqmovn_s32(a[1]));
            const int16x8_t h1 = vcombine_s16(vqmovn_s32(a[2]), vqmovn_s32(a[3]));
            const int8x16_t q = vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1));
            vst1q_s8(qs + j, q);
            const int16_t bsum = (int16_t)vaddlvq_s8(q);
            memcpy(yb + Y_BSUMS + 2 * (j / 16), &bsum, 2);
        }
        const float d = 1.0f / iscale;
        memcpy(yb + offsetof(mote_block_q8_K, d), &d, 4);
    }
}

/* ---- table ---- */

void mote__kernels_fill_neon_kquant(mote_kernel_table *t) {
#define SET(T, name)                   \
    t[T].vec_dot = vec_dot_##name;     \
    t[T].vec_dot_4 = vec_dot_4_##name; \
    t[T].isa = "neon";
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

#endif /* __aarch64__ */
