/* attention.c — causal grouped-query attention for training, forward and
 * backward, vectorized along the key positions.
 *
 * For each (batch row b, KV head j) a thread packs K and V of that head
 * transposed, Kt and Vt (hd, Tp) with Tp = T rounded up to 8, so that every
 * inner loop runs over 8 consecutive key positions at a time:
 *   forward   s[t2]  = sum_i q[i] Kt[i][t2]          (FMA per i over t2)
 *             p      = softmax(s * scale) over t2 <= t (vector exp)
 *             out[i] += p[t2] V[t2][i]                (hd a multiple of 8)
 *   backward  dp[t2] = sum_i dout[i] Vt[i][t2];  dVt[i][t2] += dout[i] p[t2]
 *             ds     = p (dp - p.dp) scale
 *             dq[i] += ds . Kt[i];                   dKt[i][t2] += q[i] ds[t2]
 * and dKt, dVt go back into dk, dv at the end (one thread owns a KV head).
 * Taken on x86-64 CPUs with AVX2 and FMA (checked at run time; MOTE_ISA=
 * scalar turns it off) when hd is a multiple of 8; otherwise the scalar
 * reference in ops.c runs. Not here:
 * the other ops.
 */
#include "ops.h"
#include "../kernels/cpu.h"
#include "simd.h"
#include <math.h>
#include <string.h>

#ifdef MOTE_TR_SIMD_X86
#define MOTE_TR_ATT_X86 1
#endif

static int64_t pad8(int64_t n) { return (n + 7) & ~(int64_t)7; }

/* Per thread: Kt, Vt, dKt, dVt (hd, Tp) and four rows of Tp. */
static size_t per_thread(int64_t T, int32_t hd) {
    return (size_t)(4 * (int64_t)hd * pad8(T) + 4 * pad8(T));
}

size_t mote__tr_attention_scratch_floats(int64_t B, int64_t T, int32_t n_head, int32_t hd,
                                         int n_threads) {
    size_t ref = (size_t)(B * n_head * T);
    size_t vec = (size_t)(n_threads < 1 ? 1 : n_threads) * per_thread(T, hd);
    return ref > vec ? ref : vec;
}

#ifdef MOTE_TR_ATT_X86

typedef struct att_args {
    float *out, *att, *dq, *dk, *dv, *scratch;
    const float *q, *k, *v, *dout, *att_in;
    int64_t B, T;
    int32_t H, Hkv, hd;
} att_args;

/* Kt, Vt (hd, Tp) of KV head kvh of row b; columns >= T are 0. */
static void pack_kv(float *Kt, float *Vt, const float *k, const float *v, int64_t b, int64_t T,
                    int64_t Tp, int32_t Hkv, int32_t kvh, int32_t hd) {
    for (int32_t i = 0; i < hd; i++) {
        memset(Kt + i * Tp + T, 0, (size_t)(Tp - T) * sizeof(float));
        if (Vt) memset(Vt + i * Tp + T, 0, (size_t)(Tp - T) * sizeof(float));
    }
    for (int64_t t = 0; t < T; t++) {
        const float *kr = k + ((b * T + t) * Hkv + kvh) * hd;
        const float *vr = v + ((b * T + t) * Hkv + kvh) * hd;
        for (int32_t i = 0; i < hd; i++) {
            Kt[i * Tp + t] = kr[i];
            if (Vt) Vt[i * Tp + t] = vr[i];
        }
    }
}

static MOTE_TR_AVX2 void att_fwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    const att_args *a = ctx;
    const int64_t T = a->T, Tp = pad8(T), H = a->H, Hkv = a->Hkv, hd = a->hd;
    const int64_t group = H / Hkv;
    const float scale = 1.0f / sqrtf((float)hd);
    float *Kt = a->scratch + (size_t)tid * per_thread(T, a->hd);
    float *s = Kt + 4 * hd * Tp;
    for (int64_t bk = begin; bk < end; bk++) {
        const int64_t b = bk / Hkv, kvh = bk % Hkv;
        pack_kv(Kt, NULL, a->k, a->v, b, T, Tp, a->Hkv, (int32_t)kvh, a->hd);
        for (int64_t h = kvh * group; h < (kvh + 1) * group; h++) {
            for (int64_t t = 0; t < T; t++) {
                const float *qt = a->q + ((b * T + t) * H + h) * hd;
                const int64_t n = t + 1, nb = pad8(n);
                /* scores over whole 8-blocks; entries >= n are masked below */
                for (int64_t j = 0; j < nb; j += 8) {
                    __m256 acc = _mm256_setzero_ps();
                    for (int64_t i = 0; i < hd; i++)
                        acc = _mm256_fmadd_ps(_mm256_set1_ps(qt[i]), _mm256_loadu_ps(Kt + i * Tp + j), acc);
                    _mm256_storeu_ps(s + j, _mm256_mul_ps(acc, _mm256_set1_ps(scale)));
                }
                for (int64_t j = n; j < nb; j++) s[j] = -INFINITY;
                __m256 mx8 = _mm256_set1_ps(-INFINITY);
                for (int64_t j = 0; j < nb; j += 8) mx8 = _mm256_max_ps(mx8, _mm256_loadu_ps(s + j));
                const __m256 mx = _mm256_set1_ps(mote__tr_hmax8(mx8));
                __m256 sum8 = _mm256_setzero_ps();
                for (int64_t j = 0; j < nb; j += 8) {
                    __m256 e = mote__tr_exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), mx));
                    _mm256_storeu_ps(s + j, e);
                    sum8 = _mm256_add_ps(sum8, e);
                }
                const __m256 inv = _mm256_set1_ps(1.0f / mote__tr_hsum8(sum8));
                for (int64_t j = 0; j < nb; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), inv));
                for (int64_t j = n; j < nb; j++) s[j] = 0.0f; /* exactly 0 past t */
                float *row = a->att + ((b * H + h) * T + t) * T;
                memcpy(row, s, (size_t)n * sizeof(float));
                memset(row + n, 0, (size_t)(T - n) * sizeof(float));
                /* out[t] = sum p[t2] v[t2], 8 dims at a time */
                float *ot = a->out + ((b * T + t) * H + h) * hd;
                for (int64_t i = 0; i < hd; i += 8) {
                    __m256 acc = _mm256_setzero_ps();
                    for (int64_t t2 = 0; t2 < n; t2++)
                        acc = _mm256_fmadd_ps(_mm256_set1_ps(s[t2]),
                                              _mm256_loadu_ps(a->v + ((b * T + t2) * Hkv + kvh) * hd + i), acc);
                    _mm256_storeu_ps(ot + i, acc);
                }
            }
        }
    }
}

static MOTE_TR_AVX2 void att_bwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    const att_args *a = ctx;
    const int64_t T = a->T, Tp = pad8(T), H = a->H, Hkv = a->Hkv, hd = a->hd;
    const int64_t group = H / Hkv;
    const float scale = 1.0f / sqrtf((float)hd);
    float *Kt = a->scratch + (size_t)tid * per_thread(T, a->hd);
    float *Vt = Kt + hd * Tp, *dKt = Vt + hd * Tp, *dVt = dKt + hd * Tp;
    float *p = dVt + hd * Tp, *dp = p + Tp;
    for (int64_t bk = begin; bk < end; bk++) {
        const int64_t b = bk / Hkv, kvh = bk % Hkv;
        pack_kv(Kt, Vt, a->k, a->v, b, T, Tp, a->Hkv, (int32_t)kvh, a->hd);
        memset(dKt, 0, (size_t)(2 * hd * Tp) * sizeof(float)); /* dKt and dVt */
        for (int64_t h = kvh * group; h < (kvh + 1) * group; h++) {
            for (int64_t t = 0; t < T; t++) {
                const int64_t n = t + 1, nb = pad8(n);
                const float *prow = a->att_in + ((b * H + h) * T + t) * T;
                memcpy(p, prow, (size_t)n * sizeof(float));
                for (int64_t j = n; j < nb; j++) p[j] = 0.0f;
                const float *dot = a->dout + ((b * T + t) * H + h) * hd;
                const float *qt = a->q + ((b * T + t) * H + h) * hd;
                float *dqt = a->dq + ((b * T + t) * H + h) * hd;
                /* dp = dout . v[t2]; dv[t2] += p[t2] dout */
                __m256 pdp8 = _mm256_setzero_ps();
                for (int64_t j = 0; j < nb; j += 8) {
                    const __m256 pj = _mm256_loadu_ps(p + j);
                    __m256 acc = _mm256_setzero_ps();
                    for (int64_t i = 0; i < hd; i++) {
                        const __m256 di = _mm256_set1_ps(dot[i]);
                        acc = _mm256_fmadd_ps(di, _mm256_loadu_ps(Vt + i * Tp + j), acc);
                        float *dvp = dVt + i * Tp + j;
                        _mm256_storeu_ps(dvp, _mm256_fmadd_ps(di, pj, _mm256_loadu_ps(dvp)));
                    }
                    _mm256_storeu_ps(dp + j, acc);
                    pdp8 = _mm256_fmadd_ps(pj, acc, pdp8);
                }
                const __m256 pdp = _mm256_set1_ps(mote__tr_hsum8(pdp8)), sc = _mm256_set1_ps(scale);
                /* ds = p (dp - p.dp) scale, in dp */
                for (int64_t j = 0; j < nb; j += 8) {
                    __m256 ds = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(p + j),
                                                            _mm256_sub_ps(_mm256_loadu_ps(dp + j), pdp)), sc);
                    _mm256_storeu_ps(dp + j, ds);
                }
                /* dq[i] += ds . Kt[i]; dKt[i] += q[i] ds */
                for (int64_t i = 0; i < hd; i++) {
                    const __m256 qi = _mm256_set1_ps(qt[i]);
                    __m256 acc = _mm256_setzero_ps();
                    const float *kr = Kt + i * Tp;
                    float *dkr = dKt + i * Tp;
                    for (int64_t j = 0; j < nb; j += 8) {
                        const __m256 ds = _mm256_loadu_ps(dp + j);
                        acc = _mm256_fmadd_ps(ds, _mm256_loadu_ps(kr + j), acc);
                        _mm256_storeu_ps(dkr + j, _mm256_fmadd_ps(qi, ds, _mm256_loadu_ps(dkr + j)));
                    }
                    dqt[i] += mote__tr_hsum8(acc);
                }
            }
        }
        for (int64_t t = 0; t < T; t++) {
            float *dkr = a->dk + ((b * T + t) * Hkv + kvh) * hd;
            float *dvr = a->dv + ((b * T + t) * Hkv + kvh) * hd;
            for (int64_t i = 0; i < hd; i++) {
                dkr[i] += dKt[i * Tp + t];
                dvr[i] += dVt[i * Tp + t];
            }
        }
    }
}

/* CPU features from src/kernels/cpu.h; MOTE_ISA=scalar forces the
 * reference. */
static bool att_use_avx2(int32_t hd) {
    const mote_cpu_features *f = mote__cpu_features();
    return f->avx2 && f->fma && mote__isa_active() != MOTE_ISA_SCALAR && hd % 8 == 0;
}
#endif

void mote__tr_attention_fwd(float *out, float *att, const float *q, const float *k,
                            const float *v, int64_t B, int64_t T, int32_t n_head,
                            int32_t n_head_kv, int32_t hd, float *scratch, mote_threadpool *tp) {
#ifdef MOTE_TR_ATT_X86
    if (att_use_avx2(hd)) {
        att_args a = {.out = out, .att = att, .scratch = scratch, .q = q, .k = k, .v = v, .B = B,
                      .T = T, .H = n_head, .Hkv = n_head_kv, .hd = hd};
        mote__tr_parallel(B * n_head_kv, 1, tp, att_fwd_task, &a);
        return;
    }
#endif
    (void)scratch;
    mote__tr_attention_fwd_ref(out, att, q, k, v, B, T, n_head, n_head_kv, hd, tp);
}

void mote__tr_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *q,
                            const float *k, const float *v, const float *att, int64_t B,
                            int64_t T, int32_t n_head, int32_t n_head_kv, int32_t hd,
                            float *scratch, mote_threadpool *tp) {
#ifdef MOTE_TR_ATT_X86
    if (att_use_avx2(hd)) {
        att_args a = {.dq = dq, .dk = dk, .dv = dv, .scratch = scratch, .q = q, .k = k, .v = v,
                      .dout = dout, .att_in = att, .B = B, .T = T, .H = n_head, .Hkv = n_head_kv,
                      .hd = hd};
        mote__tr_parallel(B * n_head_kv, 1, tp, att_bwd_task, &a);
        return;
    }
#endif
    mote__tr_attention_bwd_ref(dq, dk, dv, scratch, dout, q, k, v, att, B, T, n_head, n_head_kv,
                               hd, tp);
}
