/* quant_iq.c — IQ4_NL (4-bit indices into a fixed non-linear table) and the
 * ternary types TQ1_0 and TQ2_0: reference quantize, dequantize, dot product
 * with the activation type (q8_0 for iq4_nl, q8_K for the ternary types) and
 * the importance-weighted quantizers.
 *
 * Layouts are GGML's (ggml-common.h; structs in types.h):
 *   iq4_nl (32 values, 18 bytes): f16 d, qs[16]; element j < 16 is the low
 *     nibble of qs[j], element j + 16 its high nibble; x = d * kvalues[q]
 *     with kvalues = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25,
 *     38, 53, 69, 89, 113}.
 *   tq2_0 (256, 66 bytes): qs[64], f16 d; element e = 128 c + 32 n + m
 *     (c 0..1, n 0..3, m 0..31) is bits 2n..2n+1 of qs[32 c + m], holding
 *     t + 1 (0, 1, 2); x = d * t.
 *   tq1_0 (256, 54 bytes): qs[48], qh[4], f16 d. Trits t + 1 in base 3,
 *     first trit most significant, 5 to a byte: elements m + 32 n (m 0..31,
 *     n 0..4) in qs[m]; 160 + m + 16 n (m 0..15) in qs[32 + m]; and 240 + j
 *     + 4 n (j 0..3, n 0..3) in qh[j] (4 trits and a zero trit). A byte
 *     holding the 5-trit number v stores ceil(v * 256 / 243), so trit n is
 *     read as ((uint8_t)(byte * 3^n) * 3) >> 8.
 * The quantizers are GGML's (ggml-quants.c: quantize_row_iq4_nl_ref,
 * quantize_iq4_nl, quantize_row_tq1_0_ref, quantize_row_tq2_0_ref), plus, for
 * the ternary types with an importance matrix (GGML ignores it there), an
 * exact weighted search written for mote.
 *
 * Common contract as in quant_k.c: whole blocks only, pure, thread-safe, no
 * allocation, no undefined behaviour on non-finite input.
 *
 * Not here: the other i-quants (iq2_*, iq3_*, iq1_*, iq4_xs), SIMD.
 */
#include "quant_search.h"
#include <math.h>
#include <stdlib.h>

#define QK_K MOTE_QK_K

static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                         1,    13,   25,  38,  53,  69,  89,  113};

/* ---- iq4_nl ---- */

/* Index of the table value nearest to v (ties go up; NaN gives 0). */
static inline int best_index_iq4nl(float v) {
    const float v2 = v + v;
    int idx = 0;
    for (int j = 1; j < 16; j++)
        if (v2 >= (float)(kvalues_iq4nl[j - 1] + kvalues_iq4nl[j])) idx = j;
    return idx;
}

/* One block of 32: scale search as GGML's quantize_row_iq4_nl_impl with one
 * block per super-block. weight: qw * sqrt(sigma2 + x^2) with importance
 * weights, else x^2. ntry < 0 is the reference (one least-squares fit);
 * ntry > 0 also tries 2 ntry + 1 scales around -max / kvalues[0] and
 * re-assigns the indices at the chosen scale. */
static void iq4_nl_block(const float *xb, const float *qw, int ntry, mote_block_iq4_nl *y) {
    float weight[MOTE_QK4_NL];
    uint8_t L[MOTE_QK4_NL];
    float sigma2 = 0.0f;
    for (int j = 0; j < MOTE_QK4_NL; j++) sigma2 += xb[j] * xb[j];
    sigma2 *= 2.0f / MOTE_QK4_NL;
    for (int j = 0; j < MOTE_QK4_NL; j++)
        weight[j] = qw ? qw[j] * sqrtf(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < MOTE_QK4_NL; j++) {
        if (fabsf(xb[j]) > amax) {
            amax = fabsf(xb[j]);
            max = xb[j];
        }
    }
    float d = 0.0f;
    memset(L, 0, sizeof L);
    if (amax >= MOTE_GROUP_MAX_EPS) {
        d = ntry > 0 ? -max / kvalues_iq4nl[0] : max / kvalues_iq4nl[0];
        float id = 1.0f / d, sumqx = 0.0f, sumq2 = 0.0f;
        for (int j = 0; j < MOTE_QK4_NL; j++) {
            L[j] = (uint8_t)best_index_iq4nl(id * xb[j]);
            const float q = kvalues_iq4nl[L[j]];
            sumqx += weight[j] * q * xb[j];
            sumq2 += weight[j] * q * q;
        }
        d = sumq2 > 0.0f ? sumqx / sumq2 : 0.0f;
        float best = d * sumqx;
        for (int itry = -ntry; itry <= ntry; itry++) {
            id = ((float)itry + kvalues_iq4nl[0]) / max;
            sumqx = sumq2 = 0.0f;
            for (int j = 0; j < MOTE_QK4_NL; j++) {
                const float q = kvalues_iq4nl[best_index_iq4nl(id * xb[j])];
                sumqx += weight[j] * q * xb[j];
                sumq2 += weight[j] * q * q;
            }
            if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
    }
    if (ntry > 0) { /* also for a zero block, as GGML: every index is then 8 (level 1) */
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < MOTE_QK4_NL; j++) L[j] = (uint8_t)best_index_iq4nl(id * xb[j]);
    }
    y->d = mote__f32_to_f16(d);
    for (int j = 0; j < MOTE_QK4_NL / 2; j++)
        y->qs[j] = (uint8_t)(L[j] | L[j + MOTE_QK4_NL / 2] << 4);
}

void mote__quantize_iq4_nl_ref(const float *x, void *vy, int64_t n) {
    mote_block_iq4_nl *y = vy;
    for (int64_t i = 0; i < n / MOTE_QK4_NL; i++) iq4_nl_block(x + i * MOTE_QK4_NL, NULL, -1, &y[i]);
}

void mote__dequantize_iq4_nl_ref(const void *vx, float *y, int64_t n) {
    const mote_block_iq4_nl *x = vx;
    for (int64_t i = 0; i < n / MOTE_QK4_NL; i++, y += MOTE_QK4_NL) {
        const float d = mote__f16_to_f32(x[i].d);
        for (int j = 0; j < MOTE_QK4_NL / 2; j++) {
            y[j] = d * (float)kvalues_iq4nl[x[i].qs[j] & 0xF];
            y[j + MOTE_QK4_NL / 2] = d * (float)kvalues_iq4nl[x[i].qs[j] >> 4];
        }
    }
}

/* x (n) iq4_nl . y (n) q8_0: per block dx * dy * sum_j kvalues[q_j] yq_j,
 * exact in int; summed in float. */
float mote__vec_dot_iq4_nl_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_iq4_nl *x = vx;
    const mote_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / MOTE_QK4_NL; i++) {
        int isum = 0;
        for (int j = 0; j < MOTE_QK4_NL / 2; j++) {
            isum += kvalues_iq4nl[x[i].qs[j] & 0xF] * y[i].qs[j];
            isum += kvalues_iq4nl[x[i].qs[j] >> 4] * y[i].qs[j + MOTE_QK4_NL / 2];
        }
        sum += mote__f16_to_f32(x[i].d) * mote__f16_to_f32(y[i].d) * (float)isum;
    }
    return sum;
}

/* GGML's quantize_iq4_nl: with or without importance weights the 15-scale
 * search (ntry 7); without, weighted by x^2. */
static void iq4_nl_row(const float *x, void *vy, int64_t n, const float *qw) {
    mote_block_iq4_nl *y = vy;
    for (int64_t i = 0; i < n / MOTE_QK4_NL; i++)
        iq4_nl_block(x + i * MOTE_QK4_NL, qw ? qw + i * MOTE_QK4_NL : NULL, 7, &y[i]);
}

size_t mote__quantize_w_iq4_nl(const float *x, void *y, int64_t n_rows, int64_t n_per_row,
                               const float *imatrix) {
    return mote__quantize_rows(x, y, n_rows, n_per_row, imatrix, MOTE_QK4_NL,
                               sizeof(mote_block_iq4_nl), iq4_nl_row);
}

/* ---- ternary: shared pieces ---- */

/* t in {-1, 0, 1} for v = x / d: lroundf(v) as GGML computes it (|v| <= 1
 * for finite input), clamped; NaN gives 0. */
static inline int trit_of(float v) {
    if (v <= -0.5f) return -1;
    if (v >= 0.5f) return 1;
    return 0;
}

/* GGML's reference choice: d = max |x|, t = round(x / d). */
static float tq_ref_trits(const float *x, int8_t t[QK_K]) {
    float amax = 0.0f;
    for (int j = 0; j < QK_K; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]);
    const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
    for (int j = 0; j < QK_K; j++) t[j] = (int8_t)trit_of(x[j] * id);
    return amax;
}

typedef struct { float ax; int idx; } abs_index;

static int cmp_abs_desc(const void *a, const void *b) {
    const abs_index *p = a, *q = b;
    if (p->ax > q->ax) return -1;
    if (p->ax < q->ax) return 1;
    return p->idx - q->idx; /* deterministic order on ties */
}

/* The exact minimiser of sum_j w_j (x_j - d t_j)^2 over d and t in {-1, 0,
 * 1}^256: for a given d the best t sets the k values of largest |x| to
 * sign(x) and the rest to 0, and for a given set the best d is S / W with S
 * = sum w |x|, W = sum w over it, lowering the error by S^2 / W; so scan k
 * over |x| sorted downwards and keep the largest S^2 / W. Falls back to the
 * reference choice when no weight is positive. */
static float tq_weighted_trits(const float *x, const float *w, int8_t t[QK_K]) {
    abs_index order[QK_K];
    for (int j = 0; j < QK_K; j++) {
        const float ax = fabsf(x[j]);
        order[j].ax = ax == ax ? ax : 0.0f; /* NaN sorts as 0 */
        order[j].idx = j;
    }
    qsort(order, QK_K, sizeof order[0], cmp_abs_desc);
    double s = 0.0, wsum = 0.0, best_gain = 0.0;
    int best_k = 0;
    for (int k = 1; k <= QK_K; k++) {
        const int j = order[k - 1].idx;
        s += (double)w[j] * order[k - 1].ax;
        wsum += (double)w[j];
        if (wsum > 0.0 && s * s / wsum > best_gain) {
            best_gain = s * s / wsum;
            best_k = k;
        }
    }
    if (best_k == 0) return tq_ref_trits(x, t);
    s = wsum = 0.0;
    memset(t, 0, QK_K);
    for (int k = 0; k < best_k; k++) {
        const int j = order[k].idx;
        s += (double)w[j] * order[k].ax;
        wsum += (double)w[j];
        t[j] = (int8_t)(x[j] < 0.0f ? -1 : 1);
    }
    return (float)(s / wsum);
}

/* ---- tq1_0 ---- */

/* Store the 5 (or 4 plus a zero) trits v (base-3 number, 0..242) in a byte. */
static inline uint8_t tq1_byte(int v) { return (uint8_t)((v * 256 + 242) / 243); }

static void tq1_0_pack(mote_block_tq1_0 *y, const int8_t t[QK_K], float d) {
    y->d = mote__f32_to_f16(d);
    for (int m = 0; m < 32; m++) {
        int v = 0;
        for (int n = 0; n < 5; n++) v = v * 3 + t[m + 32 * n] + 1;
        y->qs[m] = tq1_byte(v);
    }
    for (int m = 0; m < 16; m++) {
        int v = 0;
        for (int n = 0; n < 5; n++) v = v * 3 + t[160 + m + 16 * n] + 1;
        y->qs[32 + m] = tq1_byte(v);
    }
    for (int j = 0; j < 4; j++) {
        int v = 0;
        for (int n = 0; n < 4; n++) v = v * 3 + t[240 + j + 4 * n] + 1;
        y->qh[j] = tq1_byte(v * 3);
    }
}

/* Trit n (0 = most significant) of a stored byte, as -1, 0 or 1. */
static inline int tq1_trit(uint8_t b, int n) {
    const unsigned pow3 = n == 0 ? 1 : n == 1 ? 3 : n == 2 ? 9 : n == 3 ? 27 : 81;
    const unsigned q = (b * pow3) & 0xFF;
    return (int)((q * 3) >> 8) - 1;
}

/* Trit of element e (-1, 0 or 1). */
static inline int tq1_get(const mote_block_tq1_0 *x, int e) {
    if (e < 160) return tq1_trit(x->qs[e % 32], e / 32);
    if (e < 240) return tq1_trit(x->qs[32 + (e - 160) % 16], (e - 160) / 16);
    return tq1_trit(x->qh[(e - 240) % 4], (e - 240) / 4);
}

void mote__quantize_tq1_0_ref(const float *x, void *vy, int64_t n) {
    mote_block_tq1_0 *y = vy;
    int8_t t[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        const float d = tq_ref_trits(x, t);
        tq1_0_pack(&y[i], t, d);
    }
}

void mote__dequantize_tq1_0_ref(const void *vx, float *y, int64_t n) {
    const mote_block_tq1_0 *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = mote__f16_to_f32(x[i].d);
        for (int e = 0; e < QK_K; e++) y[e] = (float)tq1_get(&x[i], e) * d;
    }
}

/* x (n) tq1_0 . y (n) q8_K: per block d * y.d * sum_e t_e yq_e, exact in int. */
float mote__vec_dot_tq1_0_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_tq1_0 *x = vx;
    const mote_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *yq = y[i].qs;
        int isum = 0;
        for (int k = 0; k < 5; k++)
            for (int m = 0; m < 32; m++) isum += tq1_trit(x[i].qs[m], k) * yq[m + 32 * k];
        for (int k = 0; k < 5; k++)
            for (int m = 0; m < 16; m++) isum += tq1_trit(x[i].qs[32 + m], k) * yq[160 + m + 16 * k];
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 4; j++) isum += tq1_trit(x[i].qh[j], k) * yq[240 + j + 4 * k];
        sum += (float)isum * mote__f16_to_f32(x[i].d) * y[i].d;
    }
    return sum;
}

/* ---- tq2_0 ---- */

static void tq2_0_pack(mote_block_tq2_0 *y, const int8_t t[QK_K], float d) {
    y->d = mote__f32_to_f16(d);
    for (int c = 0; c < 2; c++)
        for (int m = 0; m < 32; m++) {
            const int8_t *tc = t + 128 * c + m;
            y->qs[32 * c + m] =
                (uint8_t)((tc[0] + 1) | (tc[32] + 1) << 2 | (tc[64] + 1) << 4 | (tc[96] + 1) << 6);
        }
}

static inline int tq2_get(const mote_block_tq2_0 *x, int e) {
    return ((x->qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3) - 1;
}

void mote__quantize_tq2_0_ref(const float *x, void *vy, int64_t n) {
    mote_block_tq2_0 *y = vy;
    int8_t t[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        const float d = tq_ref_trits(x, t);
        tq2_0_pack(&y[i], t, d);
    }
}

/* Code 3 (t = 2) never comes from a quantizer; it dequantizes to 2 d, as in
 * GGML. */
void mote__dequantize_tq2_0_ref(const void *vx, float *y, int64_t n) {
    const mote_block_tq2_0 *x = vx;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = mote__f16_to_f32(x[i].d);
        for (int e = 0; e < QK_K; e++) y[e] = (float)tq2_get(&x[i], e) * d;
    }
}

/* x (n) tq2_0 . y (n) q8_K: per block d * y.d * sum_e t_e yq_e, exact in int. */
float mote__vec_dot_tq2_0_ref(int64_t n, const void *vx, const void *vy) {
    const mote_block_tq2_0 *x = vx;
    const mote_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int isum = 0;
        for (int c = 0; c < 2; c++)
            for (int k = 0; k < 4; k++) {
                const uint8_t *qs = x[i].qs + 32 * c;
                const int8_t *ys = y[i].qs + 128 * c + 32 * k;
                for (int m = 0; m < 32; m++) isum += (((qs[m] >> (2 * k)) & 3) - 1) * ys[m];
            }
        sum += (float)isum * mote__f16_to_f32(x[i].d) * y[i].d;
    }
    return sum;
}

/* ---- importance-weighted entry points ----
 * Without an importance matrix: GGML's reference (d = max |x|). With one:
 * the exact weighted search above, on the importance weights themselves. */

static void tq1_0_row(const float *x, void *vy, int64_t n, const float *qw) {
    mote_block_tq1_0 *y = vy;
    int8_t t[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *xb = x + i * QK_K;
        const float d = qw ? tq_weighted_trits(xb, qw + i * QK_K, t) : tq_ref_trits(xb, t);
        tq1_0_pack(&y[i], t, d);
    }
}

static void tq2_0_row(const float *x, void *vy, int64_t n, const float *qw) {
    mote_block_tq2_0 *y = vy;
    int8_t t[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *xb = x + i * QK_K;
        const float d = qw ? tq_weighted_trits(xb, qw + i * QK_K, t) : tq_ref_trits(xb, t);
        tq2_0_pack(&y[i], t, d);
    }
}

size_t mote__quantize_w_tq1_0(const float *x, void *y, int64_t n_rows, int64_t n_per_row,
                              const float *imatrix) {
    return mote__quantize_rows(x, y, n_rows, n_per_row, imatrix, QK_K, sizeof(mote_block_tq1_0),
                               tq1_0_row);
}

size_t mote__quantize_w_tq2_0(const float *x, void *y, int64_t n_rows, int64_t n_per_row,
                              const float *imatrix) {
    return mote__quantize_rows(x, y, n_rows, n_per_row, imatrix, QK_K, sizeof(mote_block_tq2_0),
                               tq2_0_row);
}
