/* quant_neon.c — NEON kernels (with the ARMv8.2 dot-product instruction
 * SDOT) for the block types q4_0, q4_1, q5_0, q5_1 and q8_0 on aarch64: vec_dot,
 * vec_dot_4 (one weight row against 4 activation rows, the block decoded
 * once), and the activation quantizers f32 -> q8_0 / q8_1.
 *
 * Not here: float types (float_neon.c), the K-quants and iq4_nl
 * (kquant_neon.c), the getauxval check (cpu.c; these must only run
 * after it says ASIMDDP), threads.
 *
 * Each block's integer dot is exact: weights are expanded to signed bytes
 * (q4_0: nibble - 8; q4_1: the nibble, 0..15; q5_0: the 5-bit level - 16;
 * q5_1: the 5-bit level, 0..31; q8_0 as stored) and SDOT
 * adds 4 byte products into each int32 lane. The block sums are then
 * scaled by d = dx*dy (exact in f32) and fused into 4-lane float
 * accumulators, the same error budget as the AVX2 kernels (see
 * tests/test_kernels.c). The quantizers give the reference's bytes: FCVTAS
 * (vcvtaq_s32_f32) rounds half away from zero, exactly roundf.
 *
 * Contracts as in src/tensor/quant_ref.c; blocks need no alignment (f16
 * fields read with memcpy). Compiles to nothing off aarch64; built with
 * -march=armv8.2-a+dotprod+fp16.
 */
#if defined(__aarch64__)
#include "../simd.h"
#include <arm_neon.h>
#include <stddef.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE float load_f16(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

enum kind { K_Q4_0, K_Q4_1, K_Q5_0, K_Q5_1, K_Q8_0 };

ALWAYS_INLINE size_t w_size(enum kind k) {
    switch (k) {
    case K_Q4_0: return sizeof(mote_block_q4_0);
    case K_Q4_1: return sizeof(mote_block_q4_1);
    case K_Q5_0: return sizeof(mote_block_q5_0);
    case K_Q5_1: return sizeof(mote_block_q5_1);
    default: return sizeof(mote_block_q8_0);
    }
}
ALWAYS_INLINE bool has_min(enum kind k) { return k == K_Q4_1 || k == K_Q5_1; }

/* The fifth bits of q5_0/q5_1 (32 bits, little-endian at qh; bit j belongs
 * to element j) as 0x10 in the bytes of elements 0..15 (lo) and 16..31
 * (hi): byte j is picked from qh byte j / 8 and tested against bit j % 8. */
ALWAYS_INLINE void fifth_bits(const uint8_t *qh, uint8x16_t *lo, uint8x16_t *hi) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const uint8x16_t src = vreinterpretq_u8_u32(vdupq_n_u32(bits));
    static const uint8_t pick_lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t pick_hi[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t b = vld1q_u8(bit), v16 = vdupq_n_u8(0x10);
    *lo = vandq_u8(vtstq_u8(vqtbl1q_u8(src, vld1q_u8(pick_lo)), b), v16);
    *hi = vandq_u8(vtstq_u8(vqtbl1q_u8(src, vld1q_u8(pick_hi)), b), v16);
}
ALWAYS_INLINE size_t y_size(enum kind k) {
    return has_min(k) ? sizeof(mote_block_q8_1) : sizeof(mote_block_q8_0);
}
ALWAYS_INLINE size_t y_qs(enum kind k) {
    return has_min(k) ? offsetof(mote_block_q8_1, qs) : offsetof(mote_block_q8_0, qs);
}

/* The block's quants as two signed byte vectors: elements 0..15 and
 * 16..31 (q4: low and high nibbles of qs). */
ALWAYS_INLINE void decode(enum kind k, const uint8_t *b, int8x16_t *lo, int8x16_t *hi) {
    if (k == K_Q8_0) {
        *lo = vld1q_s8((const int8_t *)b + offsetof(mote_block_q8_0, qs));
        *hi = vld1q_s8((const int8_t *)b + offsetof(mote_block_q8_0, qs) + 16);
        return;
    }
    const size_t qs_off = k == K_Q4_0   ? offsetof(mote_block_q4_0, qs)
                          : k == K_Q4_1 ? offsetof(mote_block_q4_1, qs)
                          : k == K_Q5_0 ? offsetof(mote_block_q5_0, qs)
                                        : offsetof(mote_block_q5_1, qs);
    const uint8x16_t v = vld1q_u8(b + qs_off);
    uint8x16_t ul = vandq_u8(v, vdupq_n_u8(0x0f)), uh = vshrq_n_u8(v, 4);
    if (k == K_Q5_0 || k == K_Q5_1) {
        uint8x16_t fl, fh;
        fifth_bits(b + (k == K_Q5_0 ? offsetof(mote_block_q5_0, qh) : offsetof(mote_block_q5_1, qh)),
                   &fl, &fh);
        ul = vorrq_u8(ul, fl);
        uh = vorrq_u8(uh, fh);
    }
    int8x16_t l = vreinterpretq_s8_u8(ul), h = vreinterpretq_s8_u8(uh);
    if (k == K_Q4_0 || k == K_Q5_0) {
        const int8x16_t off = vdupq_n_s8(k == K_Q4_0 ? 8 : 16);
        l = vsubq_s8(l, off);
        h = vsubq_s8(h, off);
    }
    *lo = l;
    *hi = h;
}

/* int32x4 partial sums of the exact integer dot of a decoded block with
 * the 32 activation quants at qy. */
ALWAYS_INLINE int32x4_t block_dot(int8x16_t lo, int8x16_t hi, const uint8_t *qy) {
    const int8x16_t y0 = vld1q_s8((const int8_t *)qy), y1 = vld1q_s8((const int8_t *)qy + 16);
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo, y0), hi, y1);
}

ALWAYS_INLINE float vec_dot_kind(enum kind k, int64_t n, const void *vx, const void *vy) {
    const uint8_t *x = vx, *y = vy;
    const int64_t nb = n / 32;
    const size_t xs = w_size(k), ys = y_size(k), yq = y_qs(k);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = acc0;
    float msum = 0.0f;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const uint8_t *x0 = x + i * xs, *y0 = y + i * ys, *x1 = x0 + xs, *y1 = y0 + ys;
        int8x16_t l0, h0, l1, h1;
        decode(k, x0, &l0, &h0);
        decode(k, x1, &l1, &h1);
        const int32x4_t p0 = block_dot(l0, h0, y0 + yq), p1 = block_dot(l1, h1, y1 + yq);
        acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(p0), load_f16(x0) * load_f16(y0));
        acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(p1), load_f16(x1) * load_f16(y1));
        if (has_min(k))
            msum += load_f16(x0 + 2) * load_f16(y0 + 2) + load_f16(x1 + 2) * load_f16(y1 + 2);
    }
    for (; i < nb; i++) {
        const uint8_t *x0 = x + i * xs, *y0 = y + i * ys;
        int8x16_t l0, h0;
        decode(k, x0, &l0, &h0);
        acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(block_dot(l0, h0, y0 + yq)),
                           load_f16(x0) * load_f16(y0));
        if (has_min(k)) msum += load_f16(x0 + 2) * load_f16(y0 + 2);
    }
    return vaddvq_f32(vaddq_f32(acc0, acc1)) + msum;
}

ALWAYS_INLINE void vec_dot_4_kind(enum kind k, int64_t n, const void *vw, const void *act,
                                  size_t stride, float out[4]) {
    const uint8_t *w = vw;
    const uint8_t *yr[4] = {act, (const uint8_t *)act + stride, (const uint8_t *)act + 2 * stride,
                            (const uint8_t *)act + 3 * stride};
    const int64_t nb = n / 32;
    const size_t xs = w_size(k), ys = y_size(k), yq = y_qs(k);
    float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f),
                          vdupq_n_f32(0.0f)};
    float msum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *wb = w + i * xs;
        const size_t o = (size_t)i * ys;
        int8x16_t lo, hi;
        decode(k, wb, &lo, &hi);
        const float dw = load_f16(wb);
        for (int r = 0; r < 4; r++) {
            acc[r] = vfmaq_n_f32(acc[r], vcvtq_f32_s32(block_dot(lo, hi, yr[r] + o + yq)),
                                 dw * load_f16(yr[r] + o));
            if (has_min(k)) msum[r] += load_f16(wb + 2) * load_f16(yr[r] + o + 2);
        }
    }
    for (int r = 0; r < 4; r++) out[r] = vaddvq_f32(acc[r]) + msum[r];
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

/* ---- activation quantizers ---- */

/* 32 floats at x -> qs[32] as the reference: amax, d = amax / 127,
 * id = 1 / d in scalar f32, q = roundf(x * id) clamped to +-127. Stores d
 * as f16 at d16, the quant sum at *sumq (if non-NULL); returns the f32 d. */
ALWAYS_INLINE float quantize_block_q8(const float *x, uint8_t *d16, int8_t *qs, int *sumq) {
    float32x4_t v[8];
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int j = 0; j < 8; j++) {
        v[j] = vld1q_f32(x + 4 * j);
        m = vmaxq_f32(m, vabsq_f32(v[j]));
    }
    const float amax = vmaxvq_f32(m);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    __fp16 h = (__fp16)d;
    memcpy(d16, &h, 2);
    int32x4_t s = vdupq_n_s32(0);
    int16x8_t q16[4];
    for (int j = 0; j < 4; j++) {
        int32x4_t a = vcvtaq_s32_f32(vmulq_n_f32(v[2 * j], id));
        int32x4_t b = vcvtaq_s32_f32(vmulq_n_f32(v[2 * j + 1], id));
        a = vmaxq_s32(vminq_s32(a, vdupq_n_s32(127)), vdupq_n_s32(-127));
        b = vmaxq_s32(vminq_s32(b, vdupq_n_s32(127)), vdupq_n_s32(-127));
        s = vaddq_s32(s, vaddq_s32(a, b));
        q16[j] = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
    }
    vst1q_s8(qs, vcombine_s8(vmovn_s16(q16[0]), vmovn_s16(q16[1])));
    vst1q_s8(qs + 16, vcombine_s8(vmovn_s16(q16[2]), vmovn_s16(q16[3])));
    if (sumq) *sumq = vaddvq_s32(s);
    return d;
}

static void quantize_q8_0(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / 32; i++) {
        uint8_t *b = y + i * sizeof(mote_block_q8_0);
        quantize_block_q8(x + i * 32, b, (int8_t *)b + offsetof(mote_block_q8_0, qs), NULL);
    }
}

/* q8_1: s = f16(sum(q) * d) with the f32 d, as the reference. */
static void quantize_q8_1(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    for (int64_t i = 0; i < n / 32; i++) {
        uint8_t *b = y + i * sizeof(mote_block_q8_1);
        int sumq;
        const float d =
            quantize_block_q8(x + i * 32, b, (int8_t *)b + offsetof(mote_block_q8_1, qs), &sumq);
        __fp16 s = (__fp16)((float)sumq * d);
        memcpy(b + offsetof(mote_block_q8_1, s), &s, 2);
    }
}

void mote__kernels_fill_neon_quant(mote_kernel_table *t) {
#define SET(T, name)                   \
    t[T].vec_dot = vec_dot_##name;     \
    t[T].vec_dot_4 = vec_dot_4_##name; \
    t[T].isa = "neon";
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
}

#endif /* __aarch64__ */
