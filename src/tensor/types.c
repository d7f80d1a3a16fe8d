/* types.c — the table of tensor types (names, block sizes, bytes per block,
 * reference kernels) and exact f16/bf16 conversions.
 *
 * Sizes are GGML's for every type id GGML defines, so that a GGUF file with
 * any of them can be validated and listed even where this build has no
 * kernel for the type (its function pointers are NULL). The reference
 * kernels themselves live in quant_ref.c (float and legacy 32-block types),
 * quant_k.c (K-quants, q8_K) and quant_iq.c (iq4_nl, tq1_0, tq2_0); the
 * importance-weighted quantizers in quant_w.c, quant_k.c and quant_iq.c.
 */
#include "types.h"
#include <string.h>
#include <strings.h>

/* Reference kernels (quant_ref.c). Declared here, not in types.h: callers go
 * through the traits table. */
#define MOTE_REF_DECL(t)                                              \
    void mote__quantize_##t##_ref(const float *x, void *y, int64_t n); \
    void mote__dequantize_##t##_ref(const void *x, float *y, int64_t n); \
    float mote__vec_dot_##t##_ref(int64_t n, const void *x, const void *y);
MOTE_REF_DECL(f32)
MOTE_REF_DECL(f16)
MOTE_REF_DECL(bf16)
MOTE_REF_DECL(q4_0)
MOTE_REF_DECL(q4_1)
MOTE_REF_DECL(q5_0)
MOTE_REF_DECL(q5_1)
MOTE_REF_DECL(q8_0)
MOTE_REF_DECL(q8_1)
/* quant_k.c */
MOTE_REF_DECL(q2_K)
MOTE_REF_DECL(q3_K)
MOTE_REF_DECL(q4_K)
MOTE_REF_DECL(q5_K)
MOTE_REF_DECL(q6_K)
MOTE_REF_DECL(q8_K)
/* quant_iq.c */
MOTE_REF_DECL(iq4_nl)
MOTE_REF_DECL(tq1_0)
MOTE_REF_DECL(tq2_0)

/* Importance-weighted quantizers (quant_w.c, quant_k.c, quant_iq.c). */
#define MOTE_W_DECL(t)                                                                  \
    size_t mote__quantize_w_##t(const float *x, void *y, int64_t n_rows, int64_t n_per_row, \
                                const float *imatrix);
MOTE_W_DECL(f32)
MOTE_W_DECL(f16)
MOTE_W_DECL(bf16)
MOTE_W_DECL(q4_0)
MOTE_W_DECL(q4_1)
MOTE_W_DECL(q5_0)
MOTE_W_DECL(q5_1)
MOTE_W_DECL(q8_0)
MOTE_W_DECL(q8_1)
MOTE_W_DECL(q2_K)
MOTE_W_DECL(q3_K)
MOTE_W_DECL(q4_K)
MOTE_W_DECL(q5_K)
MOTE_W_DECL(q6_K)
MOTE_W_DECL(q8_K)
MOTE_W_DECL(iq4_nl)
MOTE_W_DECL(tq1_0)
MOTE_W_DECL(tq2_0)

#define REF(t) mote__quantize_##t##_ref, mote__dequantize_##t##_ref, mote__vec_dot_##t##_ref
#define W(t) mote__quantize_w_##t

/* Block sizes and byte sizes of the K-quants and others follow GGML's
 * definitions (QK_K = 256). */
static const mote_type_traits g_traits[MOTE_TYPE_COUNT] = {
    [MOTE_TYPE_F32] = {"f32", 1, 4, false, REF(f32), MOTE_TYPE_F32, W(f32)},
    [MOTE_TYPE_F16] = {"f16", 1, 2, false, REF(f16), MOTE_TYPE_F16, W(f16)},
    [MOTE_TYPE_Q4_0] = {"q4_0", 32, 18, true, REF(q4_0), MOTE_TYPE_Q8_0, W(q4_0)},
    [MOTE_TYPE_Q4_1] = {"q4_1", 32, 20, true, REF(q4_1), MOTE_TYPE_Q8_1, W(q4_1)},
    [MOTE_TYPE_Q5_0] = {"q5_0", 32, 22, true, REF(q5_0), MOTE_TYPE_Q8_0, W(q5_0)},
    [MOTE_TYPE_Q5_1] = {"q5_1", 32, 24, true, REF(q5_1), MOTE_TYPE_Q8_1, W(q5_1)},
    [MOTE_TYPE_Q8_0] = {"q8_0", 32, 34, true, REF(q8_0), MOTE_TYPE_Q8_0, W(q8_0)},
    [MOTE_TYPE_Q8_1] = {"q8_1", 32, 36, true, REF(q8_1), MOTE_TYPE_Q8_1, W(q8_1)},
    [MOTE_TYPE_Q2_K] = {"q2_K", 256, 84, true, REF(q2_K), MOTE_TYPE_Q8_K, W(q2_K)},
    [MOTE_TYPE_Q3_K] = {"q3_K", 256, 110, true, REF(q3_K), MOTE_TYPE_Q8_K, W(q3_K)},
    [MOTE_TYPE_Q4_K] = {"q4_K", 256, 144, true, REF(q4_K), MOTE_TYPE_Q8_K, W(q4_K)},
    [MOTE_TYPE_Q5_K] = {"q5_K", 256, 176, true, REF(q5_K), MOTE_TYPE_Q8_K, W(q5_K)},
    [MOTE_TYPE_Q6_K] = {"q6_K", 256, 210, true, REF(q6_K), MOTE_TYPE_Q8_K, W(q6_K)},
    [MOTE_TYPE_Q8_K] = {"q8_K", 256, 292, true, REF(q8_K), MOTE_TYPE_Q8_K, W(q8_K)},
    [16] = {"iq2_xxs", 256, 66, true, NULL, NULL, NULL, MOTE_TYPE_Q8_K},
    [17] = {"iq2_xs", 256, 74, true, NULL, NULL, NULL, MOTE_TYPE_Q8_K},
    [18] = {"iq3_xxs", 256, 98, true, NULL, NULL, NULL, MOTE_TYPE_Q8_K},
    [19] = {"iq1_s", 256, 50, true, NULL, NULL, NULL, MOTE_TYPE_Q8_K},
    [MOTE_TYPE_IQ4_NL] = {"iq4_nl", 32, 18, true, REF(iq4_nl), MOTE_TYPE_Q8_0, W(iq4_nl)},
    [21] = {"iq3_s", 256, 110, true, NULL, NULL, NULL, MOTE_TYPE_Q8_K},
    [22] = {"iq2_s", 256, 82, true, NULL, NULL, NULL, MOTE_TYPE_Q8_K},
    [23] = {"iq4_xs", 256, 136, true, NULL, NULL, NULL, MOTE_TYPE_Q8_K},
    [MOTE_TYPE_I8] = {"i8", 1, 1, false, NULL, NULL, NULL, MOTE_TYPE_I8},
    [MOTE_TYPE_I16] = {"i16", 1, 2, false, NULL, NULL, NULL, MOTE_TYPE_I16},
    [MOTE_TYPE_I32] = {"i32", 1, 4, false, NULL, NULL, NULL, MOTE_TYPE_I32},
    [MOTE_TYPE_I64] = {"i64", 1, 8, false, NULL, NULL, NULL, MOTE_TYPE_I64},
    [MOTE_TYPE_F64] = {"f64", 1, 8, false, NULL, NULL, NULL, MOTE_TYPE_F64},
    [29] = {"iq1_m", 256, 56, true, NULL, NULL, NULL, MOTE_TYPE_Q8_K},
    [MOTE_TYPE_BF16] = {"bf16", 1, 2, false, REF(bf16), MOTE_TYPE_BF16, W(bf16)},
    [MOTE_TYPE_TQ1_0] = {"tq1_0", 256, 54, true, REF(tq1_0), MOTE_TYPE_Q8_K, W(tq1_0)},
    [MOTE_TYPE_TQ2_0] = {"tq2_0", 256, 66, true, REF(tq2_0), MOTE_TYPE_Q8_K, W(tq2_0)},
    [39] = {"mxfp4", 32, 17, true, NULL, NULL, NULL, MOTE_TYPE_Q8_0},
};

const mote_type_traits *mote__type_traits(uint32_t type) {
    if (type >= MOTE_TYPE_COUNT || g_traits[type].name == NULL) return NULL;
    return &g_traits[type];
}

const char *mote__type_name(uint32_t type) {
    const mote_type_traits *t = mote__type_traits(type);
    return t ? t->name : "unknown";
}

int mote__type_from_name(const char *name) {
    for (int i = 0; i < MOTE_TYPE_COUNT; i++)
        if (g_traits[i].name && strcasecmp(g_traits[i].name, name) == 0) return i;
    return -1;
}

bool mote__type_row_bytes(uint32_t type, uint64_t n, uint64_t *bytes) {
    const mote_type_traits *t = mote__type_traits(type);
    if (!t || n % (uint64_t)t->block_size != 0) return false;
    return mote__mul_u64(n / (uint64_t)t->block_size, t->type_size, bytes);
}

/* ---- f16 / bf16 ---- */

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float mote__f16_to_f32(mote_f16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000u | (man << 13));
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

mote_f16 mote__f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf or nan (keep nan quiet and non-zero) */
        return (mote_f16)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0));
    if (ax >= 0x477ff000u) return (mote_f16)(sign | 0x7c00); /* rounds to inf */
    if (ax < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (ax < 0x33000000u) return (mote_f16)sign; /* < half the smallest subnormal */
        uint32_t e = ax >> 23;
        uint32_t m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (mote_f16)(sign | r);
    }
    uint32_t r = ((ax >> 13) - (112u << 10));
    uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (mote_f16)(sign | r);
}

float mote__bf16_to_f32(mote_bf16 h) { return bits_f32((uint32_t)h << 16); }

mote_bf16 mote__f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (mote_bf16)((x >> 16) | 64); /* quiet nan */
    return (mote_bf16)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}
