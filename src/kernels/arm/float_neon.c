/* float_neon.c — NEON kernels for the float weight types f32, f16 and bf16
 * on aarch64: vec_dot, vec_dot_4 (one weight row against 4 activation
 * rows), the f32 <-> f16 / bf16 conversions used as quantize_act and
 * dequantize, and the f32 element-wise kernels of the forward pass (SwiGLU,
 * attention's softmax).
 *
 * Not here: the block types (quant_neon.c), the decision to use these
 * (dispatch.c, after getauxval says the CPU has the dot-product extension
 * this folder is compiled for), threads.
 *
 * Numerics: f16 and bf16 are widened to f32 (exact) and products fused
 * into 4-lane f32 accumulators (4 of them), reduced at the end: rounding
 * error at most about (n/4 + 8) * 2^-24 * sum|x_i*y_i|, within the
 * (n/8 + 16) u S tolerance tests/test_kernels.c applies for n >= 32 and
 * far inside it below (the reference sums in double). f32 -> f16 uses the
 * FCVTN instruction with the default round-to-nearest-even mode, f32 ->
 * bf16 integer rounding as the reference: both give the reference's bytes.
 *
 * Contracts as in src/tensor/quant_ref.c (arrays need only element
 * alignment; pure; thread-safe; no allocation). Compiles to nothing off
 * aarch64; built with -march=armv8.2-a+dotprod+fp16.
 */
#if defined(__aarch64__)
#include "../simd.h"
#include <arm_neon.h>
#include <string.h>

static inline float f16_scalar(uint16_t h) {
    __fp16 v;
    memcpy(&v, &h, 2);
    return (float)v;
}

static inline float bf16_scalar(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* 4 elements at p -> float32x4 */
static inline float32x4_t load_f32x4(const float *p) { return vld1q_f32(p); }
static inline float32x4_t load_f16x4(const uint16_t *p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
static inline float32x4_t load_bf16x4(const uint16_t *p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

#define SCALAR_F32(v) (v)
#define SCALAR_F16(v) f16_scalar(v)
#define SCALAR_BF16(v) bf16_scalar(v)

#define DEF_VEC_DOT(NAME, T, LOAD, SCALAR)                                                 \
    static float NAME(int64_t n, const void *vx, const void *vy) {                         \
        const T *x = vx, *y = vy;                                                          \
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;                     \
        int64_t i = 0;                                                                     \
        for (; i + 16 <= n; i += 16) {                                                     \
            a0 = vfmaq_f32(a0, LOAD(x + i), LOAD(y + i));                                  \
            a1 = vfmaq_f32(a1, LOAD(x + i + 4), LOAD(y + i + 4));                          \
            a2 = vfmaq_f32(a2, LOAD(x + i + 8), LOAD(y + i + 8));                          \
            a3 = vfmaq_f32(a3, LOAD(x + i + 12), LOAD(y + i + 12));                        \
        }                                                                                  \
        for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, LOAD(x + i), LOAD(y + i));           \
        float tail = 0.0f;                                                                 \
        for (; i < n; i++) tail += SCALAR(x[i]) * SCALAR(y[i]);                            \
        return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) + tail;         \
    }

/* One weight row w (n) against act rows r = 0..3 at act + r * stride bytes. */
#define DEF_VEC_DOT_4(NAME, T, LOAD, SCALAR)                                               \
    static void NAME(int64_t n, const void *vw, const void *act, size_t stride,            \
                     float out[4]) {                                                       \
        const T *w = vw;                                                                   \
        const T *y0 = act;                                                                 \
        const T *y1 = (const T *)((const char *)act + stride);                             \
        const T *y2 = (const T *)((const char *)act + 2 * stride);                         \
        const T *y3 = (const T *)((const char *)act + 3 * stride);                         \
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;                     \
        float32x4_t b0 = a0, b1 = a0, b2 = a0, b3 = a0;                                    \
        int64_t i = 0;                                                                     \
        for (; i + 8 <= n; i += 8) {                                                       \
            const float32x4_t wa = LOAD(w + i), wb = LOAD(w + i + 4);                      \
            a0 = vfmaq_f32(a0, wa, LOAD(y0 + i));                                          \
            a1 = vfmaq_f32(a1, wa, LOAD(y1 + i));                                          \
            a2 = vfmaq_f32(a2, wa, LOAD(y2 + i));                                          \
            a3 = vfmaq_f32(a3, wa, LOAD(y3 + i));                                          \
            b0 = vfmaq_f32(b0, wb, LOAD(y0 + i + 4));                                      \
            b1 = vfmaq_f32(b1, wb, LOAD(y1 + i + 4));                                      \
            b2 = vfmaq_f32(b2, wb, LOAD(y2 + i + 4));                                      \
            b3 = vfmaq_f32(b3, wb, LOAD(y3 + i + 4));                                      \
        }                                                                                  \
        float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;                                  \
        for (; i < n; i++) {                                                               \
            const float wi = SCALAR(w[i]);                                                 \
            t0 += wi * SCALAR(y0[i]);                                                      \
            t1 += wi * SCALAR(y1[i]);                                                      \
            t2 += wi * SCALAR(y2[i]);                                                      \
            t3 += wi * SCALAR(y3[i]);                                                      \
        }                                                                                  \
        out[0] = vaddvq_f32(vaddq_f32(a0, b0)) + t0;                                       \
        out[1] = vaddvq_f32(vaddq_f32(a1, b1)) + t1;                                       \
        out[2] = vaddvq_f32(vaddq_f32(a2, b2)) + t2;                                       \
        out[3] = vaddvq_f32(vaddq_f32(a3, b3)) + t3;                                       \
    }

DEF_VEC_DOT(vec_dot_f32, float, load_f32x4, SCALAR_F32)
DEF_VEC_DOT_4(vec_dot_4_f32, float, load_f32x4, SCALAR_F32)
DEF_VEC_DOT(vec_dot_f16, uint16_t, load_f16x4, SCALAR_F16)
DEF_VEC_DOT_4(vec_dot_4_f16, uint16_t, load_f16x4, SCALAR_F16)
DEF_VEC_DOT(vec_dot_bf16, uint16_t, load_bf16x4, SCALAR_BF16)
DEF_VEC_DOT_4(vec_dot_4_bf16, uint16_t, load_bf16x4, SCALAR_BF16)

/* ---- conversions ---- */

/* f32 (n) -> f16 (n), round to nearest even (FPCR default). */
static void quantize_f16(const float *x, void *vy, int64_t n) {
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++) {
        __fp16 h = (__fp16)x[i];
        memcpy(y + i, &h, 2);
    }
}

static void dequantize_f16(const void *vx, float *y, int64_t n) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, load_f16x4(x + i));
    for (; i < n; i++) y[i] = f16_scalar(x[i]);
}

/* f32 (n) -> bf16 (n) as mote__f32_to_bf16: add 0x7fff + the lowest kept
 * bit, keep the top half; a NaN keeps its top bits with the quiet bit. */
static void quantize_bf16(const float *x, void *vy, int64_t n) {
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32x4_t u = vreinterpretq_u32_f32(vld1q_f32(x + i));
        const uint32x4_t is_nan =
            vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));
        const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
        const uint32x4_t rounded =
            vshrq_n_u32(vaddq_u32(u, vaddq_u32(vdupq_n_u32(0x7fff), lsb)), 16);
        const uint32x4_t nan = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(64));
        vst1_u16(y + i, vmovn_u32(vbslq_u32(is_nan, nan, rounded)));
    }
    for (; i < n; i++) y[i] = mote__f32_to_bf16(x[i]);
}

static void dequantize_bf16(const void *vx, float *y, int64_t n) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, load_bf16x4(x + i));
    for (; i < n; i++) y[i] = bf16_scalar(x[i]);
}

/* ---- element-wise f32: SwiGLU and softmax ---- */

/* e^x, 4 lanes: the same reduction and polynomial as x86/exp_avx2.h (x = n
 * ln2 + r, |r| <= ln2/2, degree 6, times 2^n in the exponent bits); within
 * ~2 ulp of expf; below -87.3 gives 0, above 88 gives e^88. */
static inline float32x4_t exp4(float32x4_t x) {
    const float32x4_t lo = vdupq_n_f32(-87.3f);
    const uint32x4_t under = vcltq_f32(x, lo);
    x = vminq_f32(vmaxq_f32(x, lo), vdupq_n_f32(88.0f));
    const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    const float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(y), under));
}

static inline float32x4_t swiglu4(float32x4_t g, float32x4_t u) {
    const float32x4_t e = exp4(vnegq_f32(g));
    return vmulq_f32(vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), e)), u);
}

/* mote_swiglu_fn: 4 at a time, the tail through a zero-padded copy (the
 * same operations, so any split of a range gives the same bytes). */
static void swiglu_f32(int64_t n, float *g, const float *u) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(g + i, swiglu4(vld1q_f32(g + i), vld1q_f32(u + i)));
    if (i < n) {
        float tg[4] = {0}, tu[4] = {0};
        memcpy(tg, g + i, (size_t)(n - i) * sizeof(float));
        memcpy(tu, u + i, (size_t)(n - i) * sizeof(float));
        vst1q_f32(tg, swiglu4(vld1q_f32(tg), vld1q_f32(tu)));
        memcpy(g + i, tg, (size_t)(n - i) * sizeof(float));
    }
}

/* mote_softmax_fn: a pass for the max, one for the exponentials and their
 * sum (4 float lanes, added in double), one to normalize; the tail through
 * zero-padded copies. */
static double softmax_f32(int64_t n, float *x, float scale, float *max_out) {
    const int64_t n4 = n & ~(int64_t)3;
    float max = x[0];
    if (n4 > 0) {
        float32x4_t mx = vld1q_f32(x);
        for (int64_t i = 4; i < n4; i += 4) mx = vmaxnmq_f32(mx, vld1q_f32(x + i));
        max = vmaxnmvq_f32(mx);
    }
    for (int64_t i = n4; i < n; i++)
        if (x[i] > max) max = x[i];
    const float32x4_t m = vdupq_n_f32(max), s = vdupq_n_f32(scale);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n4; i += 4) {
        const float32x4_t e = exp4(vmulq_f32(vsubq_f32(vld1q_f32(x + i), m), s));
        vst1q_f32(x + i, e);
        acc = vaddq_f32(acc, e);
    }
    float lanes[4];
    vst1q_f32(lanes, acc);
    double sum = ((double)lanes[0] + lanes[1]) + ((double)lanes[2] + lanes[3]);
    float t[4] = {0};
    if (n4 < n) {
        memcpy(t, x + n4, (size_t)(n - n4) * sizeof(float));
        vst1q_f32(t, exp4(vmulq_f32(vsubq_f32(vld1q_f32(t), m), s)));
        for (int64_t j = 0; j < n - n4; j++) sum += t[j];
    }
    const float32x4_t inv = vdupq_n_f32((float)(1.0 / sum));
    for (int64_t i = 0; i < n4; i += 4) vst1q_f32(x + i, vmulq_f32(vld1q_f32(x + i), inv));
    if (n4 < n) {
        vst1q_f32(t, vmulq_f32(vld1q_f32(t), inv));
        memcpy(x + n4, t, (size_t)(n - n4) * sizeof(float));
    }
    if (max_out) *max_out = max;
    return sum;
}

void mote__kernels_fill_neon_float(mote_kernel_table *t) {
    t[MOTE_TYPE_F32].vec_dot = vec_dot_f32;
    t[MOTE_TYPE_F32].vec_dot_4 = vec_dot_4_f32;
    t[MOTE_TYPE_F32].swiglu = swiglu_f32;
    t[MOTE_TYPE_F32].softmax = softmax_f32;
    t[MOTE_TYPE_F32].isa = "neon";

    t[MOTE_TYPE_F16].vec_dot = vec_dot_f16;
    t[MOTE_TYPE_F16].vec_dot_4 = vec_dot_4_f16;
    t[MOTE_TYPE_F16].quantize_act = quantize_f16;
    t[MOTE_TYPE_F16].dequantize = dequantize_f16;
    t[MOTE_TYPE_F16].isa = "neon";

    t[MOTE_TYPE_BF16].vec_dot = vec_dot_bf16;
    t[MOTE_TYPE_BF16].vec_dot_4 = vec_dot_4_bf16;
    t[MOTE_TYPE_BF16].quantize_act = quantize_bf16;
    t[MOTE_TYPE_BF16].dequantize = dequantize_bf16;
    t[MOTE_TYPE_BF16].isa = "neon";
}

#endif /* __aarch64__ */
