/* quant_w.c — importance-weighted quantization of the legacy 32-blocks
 * (q4_0, q4_1, q5_0, q5_1, q8_0), the weight-ignoring quantize_w of the float
 * and activation types (f32, f16, bf16, q8_1), and mote__row_has_nonfinite.
 *
 * With an importance matrix the legacy types follow llama.cpp's
 * quantize_q4_0/q4_1/q5_0/q5_1 (ggml-quants.c): weights qw * sqrt(sigma2 +
 * x^2), sigma2 the row's mean square, and a weighted scale search per block
 * (make_qx_quants for the symmetric types, make_qkx_quants with a min for
 * q4_1/q5_1). GGML ignores the weights for q8_0; mote searches its scale too
 * (below). Without an importance matrix each type uses its reference
 * quantizer (quant_ref.c), as GGML does.
 *
 * Block layouts and element order: quant_ref.c. Contract as in
 * quant_search.h: pure, thread-safe, no allocation, no undefined behaviour
 * on non-finite input.
 *
 * Not here: the reference quantizers themselves, the K-quants (quant_k.c),
 * iq4_nl and the ternary types (quant_iq.c).
 */
#include "quant_search.h"
#include <math.h>

/* Reference quantizers of quant_ref.c. */
void mote__quantize_f32_ref(const float *x, void *y, int64_t n);
void mote__quantize_f16_ref(const float *x, void *y, int64_t n);
void mote__quantize_bf16_ref(const float *x, void *y, int64_t n);
void mote__quantize_q4_0_ref(const float *x, void *y, int64_t n);
void mote__quantize_q4_1_ref(const float *x, void *y, int64_t n);
void mote__quantize_q5_0_ref(const float *x, void *y, int64_t n);
void mote__quantize_q5_1_ref(const float *x, void *y, int64_t n);
void mote__quantize_q8_0_ref(const float *x, void *y, int64_t n);
void mote__quantize_q8_1_ref(const float *x, void *y, int64_t n);

#define QK 32

static inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* sigma2 of a row: its mean square (llama.cpp's choice for these types). */
static float row_sigma2(const float *x, int64_t n) {
    float sum_x2 = 0.0f;
    for (int64_t j = 0; j < n; j++) sum_x2 += x[j] * x[j];
    return sum_x2 / (float)n;
}

static void block_weights(const float *xb, const float *qw, float sigma2, float weight[QK]) {
    for (int j = 0; j < QK; j++) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
}

static void store_qh(uint8_t qh[4], uint32_t v) {
    for (int k = 0; k < 4; k++) qh[k] = (uint8_t)(v >> (8 * k));
}

/* ---- q4_0 / q5_0: symmetric, levels -8..7 / -16..15 ---- */

static void q4_0_row(const float *x, void *vy, int64_t n, const float *qw) {
    mote_block_q4_0 *y = vy;
    if (!qw) {
        mote__quantize_q4_0_ref(x, y, n);
        return;
    }
    const float sigma2 = row_sigma2(x, n);
    float weight[QK];
    int8_t L[QK];
    for (int64_t ib = 0; ib < n / QK; ib++) {
        const float *xb = x + QK * ib;
        block_weights(xb, qw + QK * ib, sigma2, weight);
        const float d = mote__make_qx_quants(QK, 8, xb, L, 1, weight);
        y[ib].d = mote__f32_to_f16(d);
        for (int j = 0; j < QK / 2; j++) y[ib].qs[j] = (uint8_t)(L[j] | L[j + QK / 2] << 4);
    }
}

static void q5_0_row(const float *x, void *vy, int64_t n, const float *qw) {
    mote_block_q5_0 *y = vy;
    if (!qw) {
        mote__quantize_q5_0_ref(x, y, n);
        return;
    }
    const float sigma2 = row_sigma2(x, n);
    float weight[QK];
    int8_t L[QK];
    for (int64_t ib = 0; ib < n / QK; ib++) {
        const float *xb = x + QK * ib;
        block_weights(xb, qw + QK * ib, sigma2, weight);
        const float d = mote__make_qx_quants(QK, 16, xb, L, 1, weight);
        y[ib].d = mote__f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; j++) {
            y[ib].qs[j] = (uint8_t)((L[j] & 0xF) | (L[j + QK / 2] & 0xF) << 4);
            qh |= (uint32_t)(L[j] >> 4) << j;
            qh |= (uint32_t)(L[j + QK / 2] >> 4) << (j + QK / 2);
        }
        store_qh(y[ib].qh, qh);
    }
}

/* ---- q4_1 / q5_1: x ~ d * l + m, levels 0..15 / 0..31 ---- */

static void q4_1_row(const float *x, void *vy, int64_t n, const float *qw) {
    mote_block_q4_1 *y = vy;
    if (!qw) {
        mote__quantize_q4_1_ref(x, y, n);
        return;
    }
    const float sigma2 = row_sigma2(x, n);
    float weight[QK];
    uint8_t L[QK], Laux[QK];
    for (int64_t ib = 0; ib < n / QK; ib++) {
        const float *xb = x + QK * ib;
        block_weights(xb, qw + QK * ib, sigma2, weight);
        float min;
        const float d =
            mote__make_qkx_quants(QK, 15, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = mote__f32_to_f16(d);
        y[ib].m = mote__f32_to_f16(-min);
        for (int j = 0; j < QK / 2; j++) y[ib].qs[j] = (uint8_t)(L[j] | L[j + QK / 2] << 4);
    }
}

static void q5_1_row(const float *x, void *vy, int64_t n, const float *qw) {
    mote_block_q5_1 *y = vy;
    if (!qw) {
        mote__quantize_q5_1_ref(x, y, n);
        return;
    }
    const float sigma2 = row_sigma2(x, n);
    float weight[QK];
    uint8_t L[QK], Laux[QK];
    for (int64_t ib = 0; ib < n / QK; ib++) {
        const float *xb = x + QK * ib;
        block_weights(xb, qw + QK * ib, sigma2, weight);
        float min;
        const float d =
            mote__make_qkx_quants(QK, 31, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = mote__f32_to_f16(d);
        y[ib].m = mote__f32_to_f16(-min);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; j++) {
            y[ib].qs[j] = (uint8_t)((L[j] & 0xF) | (L[j + QK / 2] & 0xF) << 4);
            qh |= (uint32_t)(L[j] >> 4) << j;
            qh |= (uint32_t)(L[j + QK / 2] >> 4) << (j + QK / 2);
        }
        store_qh(y[ib].qh, qh);
    }
}

/* ---- q8_0: levels -127..127 ----
 * mote's own weighted search (GGML has none): for 19 candidate inverse
 * scales (127 + 0.1 is) / amax, is = -9..9, round and clamp the levels and
 * take the weighted least-squares scale sum(w x l) / sum(w l^2); keep the
 * candidate whose fit lowers the weighted error most (sumlx^2 / suml2). The
 * reference's choice (is = 0, d = amax / 127) is among the candidates, but
 * is itself refitted, so the result is never worse than it in the weighted
 * error before the f16 rounding of d. */
static float q8_0_search(const float *xb, const float *w, int8_t q[QK]) {
    float amax = 0.0f;
    for (int j = 0; j < QK; j++)
        if (fabsf(xb[j]) > amax) amax = fabsf(xb[j]);
    if (!(amax >= MOTE_GROUP_MAX_EPS)) {
        memset(q, 0, QK);
        return 0.0f;
    }
    float best_gain = -1.0f, best_d = amax / 127.0f;
    int best_is = 0;
    for (int is = -9; is <= 9; is++) {
        const float iscale = (127.0f + 0.1f * (float)is) / amax;
        float sumlx = 0.0f, suml2 = 0.0f;
        for (int j = 0; j < QK; j++) {
            const int l = clamp_int(mote__nearest_int(iscale * xb[j]), -127, 127);
            sumlx += w[j] * xb[j] * (float)l;
            suml2 += w[j] * (float)l * (float)l;
        }
        if (suml2 > 0.0f && sumlx * sumlx / suml2 > best_gain) {
            best_gain = sumlx * sumlx / suml2;
            best_d = sumlx / suml2;
            best_is = is;
        }
    }
    const float iscale = (127.0f + 0.1f * (float)best_is) / amax;
    for (int j = 0; j < QK; j++) q[j] = (int8_t)clamp_int(mote__nearest_int(iscale * xb[j]), -127, 127);
    return best_d;
}

static void q8_0_row(const float *x, void *vy, int64_t n, const float *qw) {
    mote_block_q8_0 *y = vy;
    if (!qw) {
        mote__quantize_q8_0_ref(x, y, n);
        return;
    }
    const float sigma2 = row_sigma2(x, n);
    float weight[QK];
    for (int64_t ib = 0; ib < n / QK; ib++) {
        const float *xb = x + QK * ib;
        block_weights(xb, qw + QK * ib, sigma2, weight);
        y[ib].d = mote__f32_to_f16(q8_0_search(xb, weight, y[ib].qs));
    }
}

/* ---- types without a weighted search: the weights are ignored ---- */

#define IGNORING_ROW(t)                                                          \
    static void t##_row(const float *x, void *y, int64_t n, const float *qw) {   \
        (void)qw;                                                                \
        mote__quantize_##t##_ref(x, y, n);                                       \
    }
IGNORING_ROW(f32)
IGNORING_ROW(f16)
IGNORING_ROW(bf16)
IGNORING_ROW(q8_1)

#define QUANTIZE_W(t, block_size, block_bytes)                                              \
    size_t mote__quantize_w_##t(const float *x, void *y, int64_t n_rows, int64_t n_per_row, \
                                const float *imatrix) {                                     \
        return mote__quantize_rows(x, y, n_rows, n_per_row, imatrix, block_size,            \
                                   block_bytes, t##_row);                                   \
    }
QUANTIZE_W(f32, 1, sizeof(float))
QUANTIZE_W(f16, 1, sizeof(mote_f16))
QUANTIZE_W(bf16, 1, sizeof(mote_bf16))
QUANTIZE_W(q4_0, QK, sizeof(mote_block_q4_0))
QUANTIZE_W(q4_1, QK, sizeof(mote_block_q4_1))
QUANTIZE_W(q5_0, QK, sizeof(mote_block_q5_0))
QUANTIZE_W(q5_1, QK, sizeof(mote_block_q5_1))
QUANTIZE_W(q8_0, QK, sizeof(mote_block_q8_0))
QUANTIZE_W(q8_1, QK, sizeof(mote_block_q8_1))

/* ---- input check ---- */

bool mote__row_has_nonfinite(const float *x, int64_t n, int64_t *index) {
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            if (index) *index = i;
            return true;
        }
    }
    if (index) *index = -1;
    return false;
}
