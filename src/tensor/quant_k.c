/* quant_k.c — the K-quants (q2_K, q3_K, q4_K, q5_K, q6_K) and their
 * activation type q8_K: reference quantize (from f32), dequantize (to f32),
 * dot product with q8_K, and the importance-weighted quantizers
 * (quantize_w in the type table).
 *
 * Block layouts are GGML's (ggml-common.h; structs in types.h): super-blocks
 * of 256 values. The quantizers are GGML's algorithms (ggml-quants.c:
 * quantize_row_*_K_ref without an importance matrix, quantize_row_*_K_impl
 * with one), written for mote on the searches of quant_search.c. The dot
 * products follow GGML's generic code: exact integer sums per sub-block,
 * scaled by the sub-block scales in integers, then by d in float.
 *
 * Element order within a super-block (e = 0..255), as GGML packs it:
 *   2-bit fields (q2_K qs, q3_K qs): e = 128 h + 32 s + l (h 0..1, s 0..3,
 *     l 0..31) sits in byte qs[32 h + l], bits 2s..2s+1.
 *   q3_K hmask: bit e / 32 of byte hmask[e % 32].
 *   4-bit fields (q4_K/q5_K qs): e = 64 c + 32 k + l sits in byte
 *     qs[32 c + l], low nibble for k = 0, high for k = 1; q5_K's fifth bit
 *     is bit e / 32 of qh[e % 32].
 *   q6_K: e = 128 h + 32 s + l: low 4 bits in ql[64 h + 32 (s & 1) + l]
 *     (low nibble for s < 2, high for s >= 2), high 2 bits in
 *     qh[32 h + l] bits 2s..2s+1.
 *   Sub-block of e: e / 16 (q2_K, q3_K, q6_K, q8_K bsums) or e / 32
 *   (q4_K, q5_K).
 *   q4_K/q5_K 6-bit scale sc and min m of sub-block j (0..7): for j < 4,
 *     sc = scales[j] & 63, m = scales[j + 4] & 63; for j >= 4, sc =
 *     (scales[j + 4] & 15) | (scales[j - 4] >> 6) << 4, m = (scales[j + 4]
 *     >> 4) | (scales[j] >> 6) << 4.
 *   q3_K 6-bit scale of sub-block j (0..15), stored as sc + 32: low 4 bits in
 *     the low (j < 8) or high (j >= 8) nibble of scales[j % 8], high 2 bits
 *     in scales[8 + j % 4] at bits 2 (j / 4).
 *
 * Common contract: n counts elements; only whole super-blocks are touched
 * (a partial one and n <= 0 are ignored). Pure functions: thread-safe, no
 * allocation (working arrays are on the stack), never fail. Non-finite input
 * gives unspecified values without undefined behaviour.
 *
 * Not here: SIMD kernels (src/kernels/), i-quants and ternary types
 * (quant_iq.c), legacy 32-blocks (quant_ref.c, quant_w.c).
 */
#include "quant_search.h"
#include <math.h>

#define QK_K MOTE_QK_K

static inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- scale packing ---- */

/* q4_K / q5_K: 8 (scale, min) pairs of 6 bits in 12 bytes. */
static void get_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Inverse of get_scale_min_k4 for all 8 pairs (ls, lm in 0..63). */
static void set_scales_min_k4(uint8_t scales[12], const uint8_t ls[8], const uint8_t lm[8]) {
    memset(scales, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            scales[j] = ls[j];
            scales[j + 4] = lm[j];
        } else {
            scales[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            scales[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            scales[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

/* q3_K: 16 stored 6-bit values (sc + 32, 0..63) in 12 bytes. */
static void set_scales_q3(uint8_t scales[12], const int l6[16]) {
    memset(scales, 0, 12);
    for (int j = 0; j < 16; j++) {
        int l = l6[j];
        if (j < 8)
            scales[j] = (uint8_t)(l & 0xF);
        else
            scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
        scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
    }
}

/* Signed scale (-32..31) of sub-block j of a q3_K block. */
static int get_scale_q3(const uint8_t scales[12], int j) {
    int lo = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    int hi = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

/* ---- element packing ---- */

/* 256 2-bit levels (0..3) into 64 bytes. */
static void pack_2bit(uint8_t qs[64], const uint8_t L[QK_K]) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *Lh = L + 128 * h + l;
            qs[32 * h + l] = (uint8_t)(Lh[0] | Lh[32] << 2 | Lh[64] << 4 | Lh[96] << 6);
        }
}
static inline int get_2bit(const uint8_t qs[64], int e) {
    return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

/* 256 4-bit levels (0..15) into 128 bytes. */
static void pack_4bit(uint8_t qs[128], const uint8_t L[QK_K]) {
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++)
            qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
}
static inline int get_4bit(const uint8_t qs[128], int e) {
    uint8_t b = qs[32 * (e / 64) + e % 32];
    return (e % 64) < 32 ? b & 0xF : b >> 4;
}

/* ---- q2_K ---- */

/* Requantize every value with the stored (rounded) scales and pack: what both
 * q2_K quantizers end with. Sub-blocks whose scale is 0 keep their levels. */
static void q2_K_finish(const float *x, mote_block_q2_K *y, uint8_t L[QK_K]) {
    const float dm_all = mote__f16_to_f32(y->d), mm_all = mote__f16_to_f32(y->dmin);
    for (int j = 0; j < QK_K / 16; j++) {
        const float d = dm_all * (float)(y->scales[j] & 0xF);
        if (d == 0.0f) continue;
        const float m = mm_all * (float)(y->scales[j] >> 4);
        for (int ii = 0; ii < 16; ii++)
            L[16 * j + ii] = (uint8_t)clamp_int(mote__nearest_int((x[16 * j + ii] + m) / d), 0, 3);
    }
    pack_2bit(y->qs, L);
}

void mote__quantize_q2_K_ref(const float *x, void *vy, int64_t n) {
    mote_block_q2_K *y = vy;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[QK_K / 16], scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max_scale = 0.0f, max_min = 0.0f; /* the min is subtracted: both >= 0 */
        for (int j = 0; j < QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = mote__make_qkx_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j],
                                              Laux, -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0.0f) {
            const float iscale = 15.0f / max_scale;
            for (int j = 0; j < QK_K / 16; j++)
                y[i].scales[j] = (uint8_t)clamp_int(mote__nearest_int(iscale * scales[j]), 0, 15);
            y[i].d = mote__f32_to_f16(max_scale / 15.0f);
        } else {
            memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = mote__f32_to_f16(0.0f);
        }
        if (max_min > 0.0f) {
            const float iscale = 15.0f / max_min;
            for (int j = 0; j < QK_K / 16; j++)
                y[i].scales[j] |=
                    (uint8_t)(clamp_int(mote__nearest_int(iscale * mins[j]), 0, 15) << 4);
            y[i].dmin = mote__f32_to_f16(max_min / 15.0f);
        } else {
            y[i].dmin = mote__f32_to_f16(0.0f);
        }
        q2_K_finish(x, &y[i], L);
    }
}

/* With importance weights qw (256 per super-block): weights qw * sqrt(sigma2
 * + x^2), a finer (scale, min) search per sub-block, and the super-block
 * scales fitted to the sub-block scales weighted by each sub-block's total
 * weight. */
static void quantize_q2_K_imatrix(const float *x, mote_block_q2_K *y, int64_t n,
                                  const float *qw_row) {
    uint8_t L[QK_K], Laux[16], Ls[QK_K / 16], Lm[QK_K / 16];
    float mins[QK_K / 16], scales[QK_K / 16], sw[QK_K / 16], weight[16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float sumx2 = 0.0f;
        for (int j = 0; j < QK_K; j++) sumx2 += x[j] * x[j];
        const float sigma2 = sumx2 / QK_K;
        for (int j = 0; j < QK_K / 16; j++) {
            const float *qw = qw_row + QK_K * i + 16 * j;
            sw[j] = 0.0f;
            for (int l = 0; l < 16; l++) {
                weight[l] = qw[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
                sw[j] += weight[l];
            }
            scales[j] = mote__make_qkx_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j],
                                              Laux, -0.9f, 0.05f, 36, false);
        }
        const float dm = mote__make_qp_quants(QK_K / 16, 15, scales, Ls, sw);
        const float mm = mote__make_qp_quants(QK_K / 16, 15, mins, Lm, sw);
        y[i].d = mote__f32_to_f16(dm);
        y[i].dmin = mote__f32_to_f16(mm);
        for (int j = 0; j < QK_K / 16; j++) y[i].scales[j] = (uint8_t)(Ls[j] | Lm[j] << 4);
        q2_K_finish(x, &y[i], L);
    }
}

void mote__dequantize_q2_K_ref(const void *vx, float *y, int64_t n) {
    const mote_block_q2_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = mote__f16_to_f32(x[i].d), dmin = mote__f16_to_f32(x[i].dmin);
        for (int e = 0; e < QK_K; e++) {
            const uint8_t sc = x[i].scales[e / 16];
            y[e] = d * (float)(sc & 0xF) * (float)get_2bit(x[i].qs, e) - dmin * (float)(sc >> 4);
        }
    }
}

/* x (n) q2_K . y (n) q8_K: per super-block
 *   y.d * (d * sum_s sc_s * sum_e q_e yq_e  -  dmin * sum_s m_s * bsums_s),
 * both sums exact in int (|sum| < 16 * 15 * 3 * 127 * 16). */
float mote__vec_dot_q2_K_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_q2_K *x = vx;
    const mote_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *yq = y[i].qs;
        int isum = 0, msum = 0;
        /* Elements 128 h + 32 s + l: bits 2s of qs[32 h + l]; sub-block
         * 8 h + 2 s for l < 16, 8 h + 2 s + 1 for l >= 16. */
        for (int h = 0; h < 2; h++)
            for (int s = 0; s < 4; s++) {
                const uint8_t *qs = x[i].qs + 32 * h;
                const int8_t *ys = yq + 128 * h + 32 * s;
                const int sb = 8 * h + 2 * s;
                int lo = 0, hi = 0;
                for (int l = 0; l < 16; l++) lo += ((qs[l] >> (2 * s)) & 3) * ys[l];
                for (int l = 16; l < 32; l++) hi += ((qs[l] >> (2 * s)) & 3) * ys[l];
                isum += (x[i].scales[sb] & 0xF) * lo + (x[i].scales[sb + 1] & 0xF) * hi;
            }
        for (int sb = 0; sb < QK_K / 16; sb++) msum += (x[i].scales[sb] >> 4) * y[i].bsums[sb];
        const float dall = y[i].d * mote__f16_to_f32(x[i].d);
        const float dmin = y[i].d * mote__f16_to_f32(x[i].dmin);
        sum += dall * (float)isum - dmin * (float)msum;
    }
    return sum;
}

/* ---- q3_K ---- */

/* Pack levels L (0..7) into hmask (bit 2) and qs (bits 0..1). */
static void q3_K_pack(mote_block_q3_K *y, uint8_t L[QK_K]) {
    memset(y->hmask, 0, sizeof y->hmask);
    for (int e = 0; e < QK_K; e++) {
        if (L[e] > 3) {
            y->hmask[e % 32] |= (uint8_t)(1u << (e / 32));
            L[e] -= 4;
        }
    }
    pack_2bit(y->qs, L);
}

/* Requantize with the stored scales (levels l + 4, l in -4..3), then pack.
 * Sub-blocks whose scale is 0 keep their levels. */
static void q3_K_finish(const float *x, mote_block_q3_K *y, uint8_t L[QK_K]) {
    const float d_all = mote__f16_to_f32(y->d);
    for (int j = 0; j < QK_K / 16; j++) {
        const float d = d_all * (float)get_scale_q3(y->scales, j);
        if (d == 0.0f) continue;
        for (int ii = 0; ii < 16; ii++)
            L[16 * j + ii] =
                (uint8_t)(clamp_int(mote__nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
    }
    q3_K_pack(y, L);
}

void mote__quantize_q3_K_ref(const float *x, void *vy, int64_t n) {
    mote_block_q3_K *y = vy;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    int l6[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max_scale = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K / 16; j++) {
            scales[j] = mote__make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_scale != 0.0f) {
            const float iscale = -32.0f / max_scale;
            for (int j = 0; j < QK_K / 16; j++)
                l6[j] = clamp_int(mote__nearest_int(iscale * scales[j]), -32, 31) + 32;
            set_scales_q3(y[i].scales, l6);
            y[i].d = mote__f32_to_f16(1.0f / iscale);
        } else {
            memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = mote__f32_to_f16(0.0f);
        }
        q3_K_finish(x, &y[i], (uint8_t *)L);
    }
}

/* With importance weights (or x^2 when qw_row is NULL): sub-block scales
 * fitted by make_qx_quants under qw * sqrt(sigma2 + x^2), then the 6-bit
 * scales fitted to them weighted by each sub-block's total weight. */
static void quantize_q3_K_imatrix(const float *x, mote_block_q3_K *y, int64_t n,
                                  const float *qw_row) {
    int8_t L[QK_K], Ls[QK_K / 16];
    float scales[QK_K / 16], weight[16], sw[QK_K / 16];
    int l6[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float sumx2 = 0.0f;
        for (int j = 0; j < QK_K; j++) sumx2 += x[j] * x[j];
        const float sigma2 = 2.0f * sumx2 / QK_K;
        for (int j = 0; j < QK_K / 16; j++) {
            const float *xb = x + 16 * j;
            if (qw_row) {
                const float *qw = qw_row + QK_K * i + 16 * j;
                for (int l = 0; l < 16; l++) weight[l] = qw[l] * sqrtf(sigma2 + xb[l] * xb[l]);
            } else {
                for (int l = 0; l < 16; l++) weight[l] = xb[l] * xb[l];
            }
            float sumw = 0.0f;
            for (int l = 0; l < 16; l++) sumw += weight[l];
            sw[j] = sumw;
            scales[j] = mote__make_qx_quants(16, 4, xb, L + 16 * j, 1, weight);
        }
        const float d_block = mote__make_qx_quants(QK_K / 16, 32, scales, Ls, 1, sw);
        for (int j = 0; j < QK_K / 16; j++) l6[j] = Ls[j];
        set_scales_q3(y[i].scales, l6);
        y[i].d = mote__f32_to_f16(d_block);
        q3_K_finish(x, &y[i], (uint8_t *)L);
    }
}

void mote__dequantize_q3_K_ref(const void *vx, float *y, int64_t n) {
    const mote_block_q3_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = mote__f16_to_f32(x[i].d);
        for (int e = 0; e < QK_K; e++) {
            const int hbit = (x[i].hmask[e % 32] >> (e / 32)) & 1;
            const int q = get_2bit(x[i].qs, e) - (hbit ? 0 : 4);
            y[e] = d * (float)get_scale_q3(x[i].scales, e / 16) * (float)q;
        }
    }
}

/* x (n) q3_K . y (n) q8_K: per super-block y.d * d * sum_s (sc_s) * sum_e
 * q_e yq_e, q in -4..3, exact in int. */
float mote__vec_dot_q3_K_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_q3_K *x = vx;
    const mote_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sc[QK_K / 16];
        for (int j = 0; j < QK_K / 16; j++) sc[j] = get_scale_q3(x[i].scales, j);
        int isum = 0;
        /* Element 128 h + 32 s + l: bits 2s of qs[32 h + l], high bit
         * 4 h + s of hmask[l]. */
        for (int h = 0; h < 2; h++)
            for (int s = 0; s < 4; s++) {
                const uint8_t *qs = x[i].qs + 32 * h;
                const int8_t *ys = y[i].qs + 128 * h + 32 * s;
                const int hb = 4 * h + s, sb = 8 * h + 2 * s;
                const uint8_t *hm = x[i].hmask;
                int lo = 0, hi = 0;
                for (int l = 0; l < 16; l++)
                    lo += (((qs[l] >> (2 * s)) & 3) - 4 + 4 * ((hm[l] >> hb) & 1)) * ys[l];
                for (int l = 16; l < 32; l++)
                    hi += (((qs[l] >> (2 * s)) & 3) - 4 + 4 * ((hm[l] >> hb) & 1)) * ys[l];
                isum += sc[sb] * lo + sc[sb + 1] * hi;
            }
        sum += y[i].d * mote__f16_to_f32(x[i].d) * (float)isum;
    }
    return sum;
}

/* ---- q4_K and q5_K (same scales; q5_K has 5-bit levels) ---- */

/* Requantize with the stored scales and mins into levels 0..nmax. */
static void k4_requantize(const float *x, const uint8_t scales[12], mote_f16 dh, mote_f16 dminh,
                          int nmax, uint8_t L[QK_K]) {
    const float d_all = mote__f16_to_f32(dh), m_all = mote__f16_to_f32(dminh);
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t sc, m;
        get_scale_min_k4(j, scales, &sc, &m);
        const float d = d_all * (float)sc;
        if (d == 0.0f) continue;
        const float dm = m_all * (float)m;
        for (int ii = 0; ii < 32; ii++)
            L[32 * j + ii] = (uint8_t)clamp_int(mote__nearest_int((x[32 * j + ii] + dm) / d), 0, nmax);
    }
}

/* The reference (no importance matrix) scale choice of q4_K/q5_K: per
 * sub-block of 32 a (scale, min) search weighted by av_x + |x|, then both
 * quantized to 6 bits against their maxima. Fills scales, d, dmin and L. */
static void k4_choose_ref(const float *x, int nmax, float rmin, float rdelta, int nstep,
                          uint8_t scales_out[12], mote_f16 *dh, mote_f16 *dminh, uint8_t L[QK_K]) {
    uint8_t Laux[32], ls[8], lm[8];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < QK_K / 32; j++) {
        float sum_x2 = 0.0f;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = mote__make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                          rmin, rdelta, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < QK_K / 32; j++) {
        ls[j] = (uint8_t)clamp_int(mote__nearest_int(inv_scale * scales[j]), 0, 63);
        lm[j] = (uint8_t)clamp_int(mote__nearest_int(inv_min * mins[j]), 0, 63);
    }
    set_scales_min_k4(scales_out, ls, lm);
    *dh = mote__f32_to_f16(max_scale / 63.0f);
    *dminh = mote__f32_to_f16(max_min / 63.0f);
    k4_requantize(x, scales_out, *dh, *dminh, nmax, L);
}

/* The importance-weighted choice: weights qw * sqrt(sigma2 + x^2) (or av_x +
 * |x| when qw_block is NULL), a finer search per sub-block, and the 6-bit
 * scales and mins fitted by make_qp_quants weighted per sub-block. */
static void k4_choose_imatrix(const float *x, const float *qw_block, int nmax,
                              uint8_t scales_out[12], mote_f16 *dh, mote_f16 *dminh,
                              uint8_t L[QK_K]) {
    uint8_t Laux[32], Ls[QK_K / 32], Lm[QK_K / 32];
    float weights[32], sw[QK_K / 32], mins[QK_K / 32], scales[QK_K / 32];
    float sum_x2 = 0.0f;
    for (int l = 0; l < QK_K; l++) sum_x2 += x[l] * x[l];
    const float sigma2 = 2.0f * sum_x2 / QK_K;
    const float av_x = sqrtf(sigma2);
    for (int j = 0; j < QK_K / 32; j++) {
        if (qw_block) {
            const float *qw = qw_block + 32 * j;
            for (int l = 0; l < 32; l++)
                weights[l] = qw[l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
        } else {
            for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        }
        float sumw = 0.0f;
        for (int l = 0; l < 32; l++) sumw += weights[l];
        sw[j] = sumw;
        scales[j] = mote__make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                          -0.9f, 0.05f, 36, false);
    }
    const float d_block = mote__make_qp_quants(QK_K / 32, 63, scales, Ls, sw);
    const float m_block = mote__make_qp_quants(QK_K / 32, 63, mins, Lm, sw);
    set_scales_min_k4(scales_out, Ls, Lm);
    *dh = mote__f32_to_f16(d_block);
    *dminh = mote__f32_to_f16(m_block);
    k4_requantize(x, scales_out, *dh, *dminh, nmax, L);
}

static void q4_K_quantize_blocks(const float *x, mote_block_q4_K *y, int64_t n, const float *qw,
                                 bool weighted) {
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        if (weighted)
            k4_choose_imatrix(x, qw ? qw + QK_K * i : NULL, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
        else
            k4_choose_ref(x, 15, -1.0f, 0.1f, 20, y[i].scales, &y[i].d, &y[i].dmin, L);
        pack_4bit(y[i].qs, L);
    }
}

void mote__quantize_q4_K_ref(const float *x, void *y, int64_t n) {
    q4_K_quantize_blocks(x, y, n, NULL, false);
}

void mote__dequantize_q4_K_ref(const void *vx, float *y, int64_t n) {
    const mote_block_q4_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = mote__f16_to_f32(x[i].d), dmin = mote__f16_to_f32(x[i].dmin);
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            get_scale_min_k4(j, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            for (int e = 32 * j; e < 32 * j + 32; e++) y[e] = d1 * (float)get_4bit(x[i].qs, e) - m1;
        }
    }
}

/* x (n) q4_K . y (n) q8_K: per super-block
 *   y.d * (d * sum_j sc_j * sum_e q_e yq_e  -  dmin * sum_j m_j * (bsums
 *   of the two 16-halves of sub-block j)), exact in int. */
float mote__vec_dot_q4_K_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_q4_K *x = vx;
    const mote_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int isum = 0, msum = 0;
        for (int c = 0; c < 4; c++) { /* sub-blocks 2c (low nibbles), 2c + 1 (high) */
            const uint8_t *qs = x[i].qs + 32 * c;
            const int8_t *ys = y[i].qs + 64 * c;
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; l++) {
                lo += (qs[l] & 0xF) * ys[l];
                hi += (qs[l] >> 4) * ys[32 + l];
            }
            uint8_t sc0, m0, sc1, m1;
            get_scale_min_k4(2 * c, x[i].scales, &sc0, &m0);
            get_scale_min_k4(2 * c + 1, x[i].scales, &sc1, &m1);
            isum += sc0 * lo + sc1 * hi;
            msum += m0 * (y[i].bsums[4 * c] + y[i].bsums[4 * c + 1]) +
                    m1 * (y[i].bsums[4 * c + 2] + y[i].bsums[4 * c + 3]);
        }
        sum += y[i].d * mote__f16_to_f32(x[i].d) * (float)isum -
               y[i].d * mote__f16_to_f32(x[i].dmin) * (float)msum;
    }
    return sum;
}

static void q5_K_pack(mote_block_q5_K *y, const uint8_t L[QK_K]) {
    uint8_t lo[QK_K];
    memset(y->qh, 0, sizeof y->qh);
    for (int e = 0; e < QK_K; e++) {
        if (L[e] > 15) y->qh[e % 32] |= (uint8_t)(1u << (e / 32));
        lo[e] = L[e] & 15;
    }
    pack_4bit(y->qs, lo);
}

static inline int get_q5(const mote_block_q5_K *x, int e) {
    return get_4bit(x->qs, e) | ((x->qh[e % 32] >> (e / 32)) & 1) << 4;
}

static void q5_K_quantize_blocks(const float *x, mote_block_q5_K *y, int64_t n, const float *qw,
                                 bool weighted) {
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        if (weighted)
            k4_choose_imatrix(x, qw ? qw + QK_K * i : NULL, 31, y[i].scales, &y[i].d, &y[i].dmin, L);
        else
            k4_choose_ref(x, 31, -0.5f, 0.1f, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
        q5_K_pack(&y[i], L);
    }
}

void mote__quantize_q5_K_ref(const float *x, void *y, int64_t n) {
    q5_K_quantize_blocks(x, y, n, NULL, false);
}

void mote__dequantize_q5_K_ref(const void *vx, float *y, int64_t n) {
    const mote_block_q5_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = mote__f16_to_f32(x[i].d), dmin = mote__f16_to_f32(x[i].dmin);
        for (int j = 0; j < QK_K / 32; j++) {
            uint8_t sc, m;
            get_scale_min_k4(j, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            for (int e = 32 * j; e < 32 * j + 32; e++) y[e] = d1 * (float)get_q5(&x[i], e) - m1;
        }
    }
}

/* x (n) q5_K . y (n) q8_K: as q4_K with 5-bit levels. */
float mote__vec_dot_q5_K_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_q5_K *x = vx;
    const mote_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int isum = 0, msum = 0;
        for (int c = 0; c < 4; c++) { /* fifth bits: 2c and 2c + 1 of qh[l] */
            const uint8_t *qs = x[i].qs + 32 * c, *qh = x[i].qh;
            const int8_t *ys = y[i].qs + 64 * c;
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; l++) {
                lo += ((qs[l] & 0xF) | ((qh[l] >> (2 * c)) & 1) << 4) * ys[l];
                hi += ((qs[l] >> 4) | ((qh[l] >> (2 * c + 1)) & 1) << 4) * ys[32 + l];
            }
            uint8_t sc0, m0, sc1, m1;
            get_scale_min_k4(2 * c, x[i].scales, &sc0, &m0);
            get_scale_min_k4(2 * c + 1, x[i].scales, &sc1, &m1);
            isum += sc0 * lo + sc1 * hi;
            msum += m0 * (y[i].bsums[4 * c] + y[i].bsums[4 * c + 1]) +
                    m1 * (y[i].bsums[4 * c + 2] + y[i].bsums[4 * c + 3]);
        }
        sum += y[i].d * mote__f16_to_f32(x[i].d) * (float)isum -
               y[i].d * mote__f16_to_f32(x[i].dmin) * (float)msum;
    }
    return sum;
}

/* ---- q6_K ---- */

static void q6_K_pack(mote_block_q6_K *y, const int8_t L[QK_K]) {
    for (int h = 0; h < 2; h++) {
        const int8_t *Lh = L + 128 * h;
        uint8_t *ql = y->ql + 64 * h, *qh = y->qh + 32 * h;
        for (int l = 0; l < 32; l++) {
            ql[l] = (uint8_t)((Lh[l] & 0xF) | (Lh[l + 64] & 0xF) << 4);
            ql[l + 32] = (uint8_t)((Lh[l + 32] & 0xF) | (Lh[l + 96] & 0xF) << 4);
            qh[l] = (uint8_t)((Lh[l] >> 4) | (Lh[l + 32] >> 4) << 2 | (Lh[l + 64] >> 4) << 4 |
                              (Lh[l + 96] >> 4) << 6);
        }
    }
}

static inline int get_q6(const mote_block_q6_K *x, int e) {
    const int h = e / 128, s = (e % 128) / 32, l = e % 32;
    const uint8_t b = x->ql[64 * h + 32 * (s & 1) + l];
    const int lo = s < 2 ? b & 0xF : b >> 4;
    const int hi = (x->qh[32 * h + l] >> (2 * s)) & 3;
    return (lo | hi << 4) - 32;
}

/* Sub-block scales by make_qx_quants (x^2 weights, or qw as given), the
 * largest-magnitude one maps to -128, then requantize to levels -32..31. */
static void q6_K_quantize_blocks(const float *x, mote_block_q6_K *y, int64_t n, const float *qw) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int ib = 0; ib < QK_K / 16; ib++) {
            scales[ib] = mote__make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1,
                                              qw ? qw + QK_K * i + 16 * ib : NULL);
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (!(max_abs_scale >= MOTE_GROUP_MAX_EPS)) {
            memset(&y[i], 0, sizeof y[i]); /* d = +0 */
            continue;
        }
        const float iscale = -128.0f / max_scale;
        y[i].d = mote__f32_to_f16(1.0f / iscale);
        for (int ib = 0; ib < QK_K / 16; ib++)
            y[i].scales[ib] = (int8_t)clamp_int(mote__nearest_int(iscale * scales[ib]), -128, 127);
        const float d_all = mote__f16_to_f32(y[i].d);
        for (int j = 0; j < QK_K / 16; j++) {
            const float d = d_all * (float)y[i].scales[j];
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] =
                    (int8_t)(clamp_int(mote__nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
        }
        q6_K_pack(&y[i], L);
    }
}

void mote__quantize_q6_K_ref(const float *x, void *y, int64_t n) {
    q6_K_quantize_blocks(x, y, n, NULL);
}

void mote__dequantize_q6_K_ref(const void *vx, float *y, int64_t n) {
    const mote_block_q6_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = mote__f16_to_f32(x[i].d);
        for (int e = 0; e < QK_K; e++)
            y[e] = d * (float)x[i].scales[e / 16] * (float)get_q6(&x[i], e);
    }
}

/* x (n) q6_K . y (n) q8_K: per super-block y.d * d * sum_s sc_s * sum_e
 * (q_e - 32) yq_e, exact in int (|sum| < 16 * 128 * 32 * 127 * 16). */
float mote__vec_dot_q6_K_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_q6_K *x = vx;
    const mote_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sub[QK_K / 16];
        /* Element 128 h + 32 s + l: see q6_K_pack; sub-block 8 h + 2 s +
         * l / 16. */
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
            const int8_t *ys = y[i].qs + 128 * h;
            for (int half = 0; half < 2; half++) {
                int s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int l = 16 * half; l < 16 * half + 16; l++) {
                    s0 += (((ql[l] & 0xF) | (qh[l] & 3) << 4) - 32) * ys[l];
                    s1 += (((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32) * ys[l + 32];
                    s2 += (((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32) * ys[l + 64];
                    s3 += (((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32) * ys[l + 96];
                }
                sub[8 * h + half] = s0;
                sub[8 * h + half + 2] = s1;
                sub[8 * h + half + 4] = s2;
                sub[8 * h + half + 6] = s3;
            }
        }
        int isum = 0;
        for (int s = 0; s < QK_K / 16; s++) isum += x[i].scales[s] * sub[s];
        sum += y[i].d * mote__f16_to_f32(x[i].d) * (float)isum;
    }
    return sum;
}

/* ---- q8_K: x = d * q, d = max / -127 (f32), bsums per 16 ---- */

void mote__quantize_q8_K_ref(const float *x, void *vy, int64_t n) {
    mote_block_q8_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.0f) { /* also all NaN; bsums zeroed too (GGML leaves them unset) */
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* -127, not -128: keeps every q in -127..127 (GGML changed this for
         * its SIMD kernels, which take |q| with a sign trick). */
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++)
            y[i].qs[j] = (int8_t)clamp_int(mote__nearest_int(iscale * x[j]), -128, 127);
        for (int j = 0; j < QK_K / 16; j++) {
            int s = 0;
            for (int k = 0; k < 16; k++) s += y[i].qs[16 * j + k];
            y[i].bsums[j] = (int16_t)s;
        }
        y[i].d = 1.0f / iscale;
    }
}

void mote__dequantize_q8_K_ref(const void *vx, float *y, int64_t n) {
    const mote_block_q8_K *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K)
        for (int j = 0; j < QK_K; j++) y[j] = x[i].d * (float)x[i].qs[j];
}

/* x (n) q8_K . y (n) q8_K: for completeness (GGML has no such kernel; q8_K
 * is an activation type). */
float mote__vec_dot_q8_K_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_q8_K *x = vx, *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int isum = 0;
        for (int j = 0; j < QK_K; j++) isum += x[i].qs[j] * y[i].qs[j];
        sum += x[i].d * y[i].d * (float)isum;
    }
    return sum;
}

/* ---- importance-weighted entry points (mote_quantize_w_fn) ----
 * Without an importance matrix GGML quantizes K-quants with the reference
 * quantizers above (quantize_q*_K with quant_weights == NULL), and so do
 * these. */

static void q2_K_row(const float *x, void *y, int64_t n, const float *qw) {
    if (qw)
        quantize_q2_K_imatrix(x, y, n, qw);
    else
        mote__quantize_q2_K_ref(x, y, n);
}
static void q3_K_row(const float *x, void *y, int64_t n, const float *qw) {
    if (qw)
        quantize_q3_K_imatrix(x, y, n, qw);
    else
        mote__quantize_q3_K_ref(x, y, n);
}
static void q4_K_row(const float *x, void *y, int64_t n, const float *qw) {
    q4_K_quantize_blocks(x, y, n, qw, qw != NULL);
}
static void q5_K_row(const float *x, void *y, int64_t n, const float *qw) {
    q5_K_quantize_blocks(x, y, n, qw, qw != NULL);
}
static void q6_K_row(const float *x, void *y, int64_t n, const float *qw) {
    q6_K_quantize_blocks(x, y, n, qw);
}
/* q8_K is an activation type: no weighted search, the weights are ignored. */
static void q8_K_row(const float *x, void *y, int64_t n, const float *qw) {
    (void)qw;
    mote__quantize_q8_K_ref(x, y, n);
}

#define QUANTIZE_W(t)                                                                      \
    size_t mote__quantize_w_##t(const float *x, void *y, int64_t n_rows, int64_t n_per_row, \
                                const float *imatrix) {                                    \
        return mote__quantize_rows(x, y, n_rows, n_per_row, imatrix, QK_K,                 \
                                   sizeof(mote_block_##t), t##_row);                       \
    }
QUANTIZE_W(q2_K)
QUANTIZE_W(q3_K)
QUANTIZE_W(q4_K)
QUANTIZE_W(q5_K)
QUANTIZE_W(q6_K)
QUANTIZE_W(q8_K)
