/* ops.c — forward/backward pairs of the training operations other than the
 * matmul (matmul.c): embedding, RMSNorm, RoPE, SwiGLU, residual add,
 * softmax cross-entropy, and the scalar reference of causal grouped-query
 * attention (the vectorized one, and the dispatch, are in attention.c).
 *
 * Plain loops over the shapes stated in ops.h; the ops that cost more than
 * a pass over memory (attention, cross-entropy, SwiGLU, RMSNorm forward)
 * split their independent rows over the pool's threads. Not here: the
 * model (model.c), the optimizer (optim.c).
 */
#include "ops.h"
#include "simd.h"
#include "../kernels/cpu.h"
#include <math.h>
#include <string.h>

/* Whether the AVX2 loops below may run (CPU and OS; MOTE_ISA=scalar off). */
static bool use_avx2(void) {
#ifdef MOTE_TR_SIMD_X86
    const mote_cpu_features *f = mote__cpu_features();
    return f->avx2 && f->fma && mote__isa_active() != MOTE_ISA_SCALAR;
#else
    return false;
#endif
}

/* ---- embedding ---- */

void mote__tr_embed_fwd(float *out, const int32_t *ids, const float *wte, int64_t N, int64_t C) {
    for (int64_t n = 0; n < N; n++)
        memcpy(out + n * C, wte + (int64_t)ids[n] * C, (size_t)C * sizeof(float));
}

void mote__tr_embed_bwd(float *dwte, const float *dout, const int32_t *ids, int64_t N, int64_t C) {
    for (int64_t n = 0; n < N; n++) {
        float *row = dwte + (int64_t)ids[n] * C;
        const float *d = dout + n * C;
        for (int64_t i = 0; i < C; i++) row[i] += d[i];
    }
}

/* ---- RMSNorm ---- */

typedef struct rms_args {
    float *out, *rstd;
    const float *x, *w;
    int64_t C;
    float eps;
} rms_args;

static void rmsnorm_fwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    const rms_args *a = ctx;
    const int64_t C = a->C;
    (void)tid;
    for (int64_t n = begin; n < end; n++) {
        const float *xn = a->x + n * C;
        float *on = a->out + n * C;
        double ss = 0.0;
        for (int64_t i = 0; i < C; i++) ss += (double)xn[i] * xn[i];
        float r = (float)(1.0 / sqrt(ss / (double)C + (double)a->eps));
        a->rstd[n] = r;
        for (int64_t i = 0; i < C; i++) on[i] = xn[i] * r * a->w[i];
    }
}

void mote__tr_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, int64_t N,
                          int64_t C, float eps, mote_threadpool *tp) {
    rms_args a = {out, rstd, x, w, C, eps};
    mote__tr_parallel(N, 64, tp, rmsnorm_fwd_task, &a);
}

/* With xh = x * r (r = rstd) and out = xh * w:
 *   dw += dout * xh
 *   dxh = dout * w
 *   dx = r * (dxh - xh * mean(dxh * xh))
 * (r depends on every x_i: d r / d x_i = -r^3 x_i / C.) */
void mote__tr_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x,
                          const float *w, const float *rstd, int64_t N, int64_t C) {
    for (int64_t n = 0; n < N; n++) {
        const float *xn = x + n * C, *dn = dout + n * C;
        float *dxn = dx + n * C;
        const float r = rstd[n];
        double dot = 0.0; /* sum dxh * xh */
        for (int64_t i = 0; i < C; i++) {
            float xh = xn[i] * r;
            dw[i] += dn[i] * xh;
            dot += (double)(dn[i] * w[i]) * xh;
        }
        const float mean = (float)(dot / (double)C);
        for (int64_t i = 0; i < C; i++) {
            float xh = xn[i] * r;
            dxn[i] += r * (dn[i] * w[i] - xh * mean);
        }
    }
}

/* ---- RoPE ---- */

void mote__tr_rope_table(float *cs, float *sn, int64_t T, int32_t n_rot, float freq_base) {
    const int32_t half = n_rot / 2;
    for (int32_t i = 0; i < half; i++) {
        /* As llama.c: inv_freq = base^(-2i/n_rot) in float, angle in float. */
        float inv_freq = powf(freq_base, -2.0f * (float)i / (float)n_rot);
        for (int64_t t = 0; t < T; t++) {
            float theta = (float)t * inv_freq;
            cs[t * half + i] = cosf(theta);
            sn[t * half + i] = sinf(theta);
        }
    }
}

/* Rotate every pair by the table's angle times `dir` (+1 forward, -1 back). */
static void rope_apply(float *x, const float *cs, const float *sn, int64_t B, int64_t T,
                       int32_t n_heads, int32_t head_dim, int32_t n_rot, float dir) {
    const int32_t half = n_rot / 2;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            const float *c = cs + t * half, *s = sn + t * half;
            float *row = x + (b * T + t) * (int64_t)n_heads * head_dim;
            for (int32_t h = 0; h < n_heads; h++) {
                float *p = row + (int64_t)h * head_dim;
                for (int32_t i = 0; i < half; i++) {
                    float a = p[2 * i], bb = p[2 * i + 1];
                    float si = dir * s[i];
                    p[2 * i] = a * c[i] - bb * si;
                    p[2 * i + 1] = a * si + bb * c[i];
                }
            }
        }
}

void mote__tr_rope_fwd(float *x, const float *cs, const float *sn, int64_t B, int64_t T,
                       int32_t n_heads, int32_t head_dim, int32_t n_rot) {
    rope_apply(x, cs, sn, B, T, n_heads, head_dim, n_rot, 1.0f);
}

void mote__tr_rope_bwd(float *dx, const float *cs, const float *sn, int64_t B, int64_t T,
                       int32_t n_heads, int32_t head_dim, int32_t n_rot) {
    /* y = R x with R orthogonal, so dx = R^T dy: the rotation by -angle. */
    rope_apply(dx, cs, sn, B, T, n_heads, head_dim, n_rot, -1.0f);
}

/* ---- attention: the scalar reference (attention.c dispatches) ---- */

typedef struct attn_args {
    float *out, *att, *dq, *dk, *dv, *datt;
    const float *q, *k, *v, *dout, *att_in;
    int64_t B, T;
    int32_t n_head, n_head_kv, hd;
} attn_args;

/* Forward for the (b, h) pairs [begin, end). */
static void attn_fwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const attn_args *a = ctx;
    const int64_t T = a->T, H = a->n_head, Hkv = a->n_head_kv, hd = a->hd;
    const int64_t group = H / Hkv;
    const float scale = 1.0f / sqrtf((float)hd);
    for (int64_t bh = begin; bh < end; bh++) {
        const int64_t b = bh / H, h = bh % H, kvh = h / group;
        for (int64_t t = 0; t < T; t++) {
            const float *qt = a->q + ((b * T + t) * H + h) * hd;
            float *row = a->att + (bh * T + t) * T;
            float mx = -INFINITY;
            for (int64_t t2 = 0; t2 <= t; t2++) {
                const float *kt = a->k + ((b * T + t2) * Hkv + kvh) * hd;
                float s = 0.0f;
                for (int64_t i = 0; i < hd; i++) s += qt[i] * kt[i];
                s *= scale;
                row[t2] = s;
                if (s > mx) mx = s;
            }
            float sum = 0.0f;
            for (int64_t t2 = 0; t2 <= t; t2++) {
                float e = expf(row[t2] - mx);
                row[t2] = e;
                sum += e;
            }
            const float inv = 1.0f / sum;
            for (int64_t t2 = 0; t2 <= t; t2++) row[t2] *= inv;
            for (int64_t t2 = t + 1; t2 < T; t2++) row[t2] = 0.0f;
            float *ot = a->out + ((b * T + t) * H + h) * hd;
            for (int64_t i = 0; i < hd; i++) ot[i] = 0.0f;
            for (int64_t t2 = 0; t2 <= t; t2++) {
                const float *vt = a->v + ((b * T + t2) * Hkv + kvh) * hd;
                const float p = row[t2];
                for (int64_t i = 0; i < hd; i++) ot[i] += p * vt[i];
            }
        }
    }
}

void mote__tr_attention_fwd_ref(float *out, float *att, const float *q, const float *k,
                            const float *v, int64_t B, int64_t T, int32_t n_head,
                            int32_t n_head_kv, int32_t hd, mote_threadpool *tp) {
    attn_args a = {.out = out, .att = att, .q = q, .k = k, .v = v, .B = B, .T = T,
                   .n_head = n_head, .n_head_kv = n_head_kv, .hd = hd};
    mote__tr_parallel(B * n_head, 1, tp, attn_fwd_task, &a);
}

/* Backward for the (b, kv head) pairs [begin, end): every query head of the
 * group, so that dk and dv rows are written by one thread only.
 *   s[t2] = scale q_t . k_t2,  p = softmax(s),  o_t = sum p[t2] v_t2
 *   dp[t2] = dout_t . v_t2,    dv_t2 += p[t2] dout_t
 *   ds[t2] = p[t2] (dp[t2] - sum_j p[j] dp[j])
 *   dq_t += scale sum ds[t2] k_t2,  dk_t2 += scale ds[t2] q_t */
static void attn_bwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    const attn_args *a = ctx;
    const int64_t T = a->T, H = a->n_head, Hkv = a->n_head_kv, hd = a->hd;
    const int64_t group = H / Hkv;
    const float scale = 1.0f / sqrtf((float)hd);
    for (int64_t bk = begin; bk < end; bk++) {
        const int64_t b = bk / Hkv, kvh = bk % Hkv;
        for (int64_t h = kvh * group; h < (kvh + 1) * group; h++) {
            float *dp = a->datt + (b * H + h) * T;
            for (int64_t t = 0; t < T; t++) {
                const float *p = a->att_in + ((b * H + h) * T + t) * T;
                const float *dot = a->dout + ((b * T + t) * H + h) * hd;
                const float *qt = a->q + ((b * T + t) * H + h) * hd;
                float *dqt = a->dq + ((b * T + t) * H + h) * hd;
                float pdp = 0.0f;
                for (int64_t t2 = 0; t2 <= t; t2++) {
                    const float *vt = a->v + ((b * T + t2) * Hkv + kvh) * hd;
                    float *dvt = a->dv + ((b * T + t2) * Hkv + kvh) * hd;
                    float s = 0.0f;
                    for (int64_t i = 0; i < hd; i++) {
                        s += dot[i] * vt[i];
                        dvt[i] += p[t2] * dot[i];
                    }
                    dp[t2] = s;
                    pdp += p[t2] * s;
                }
                for (int64_t t2 = 0; t2 <= t; t2++) {
                    const float ds = p[t2] * (dp[t2] - pdp) * scale;
                    const float *kt = a->k + ((b * T + t2) * Hkv + kvh) * hd;
                    float *dkt = a->dk + ((b * T + t2) * Hkv + kvh) * hd;
                    for (int64_t i = 0; i < hd; i++) {
                        dqt[i] += ds * kt[i];
                        dkt[i] += ds * qt[i];
                    }
                }
            }
        }
    }
}

void mote__tr_attention_bwd_ref(float *dq, float *dk, float *dv, float *datt, const float *dout,
                            const float *q, const float *k, const float *v, const float *att,
                            int64_t B, int64_t T, int32_t n_head, int32_t n_head_kv, int32_t hd,
                            mote_threadpool *tp) {
    attn_args a = {.dq = dq, .dk = dk, .dv = dv, .datt = datt, .dout = dout, .q = q, .k = k,
                   .v = v, .att_in = att, .B = B, .T = T, .n_head = n_head,
                   .n_head_kv = n_head_kv, .hd = hd};
    mote__tr_parallel(B * n_head_kv, 1, tp, attn_bwd_task, &a);
}

/* ---- SwiGLU ---- */

typedef struct swiglu_args {
    float *out, *dgate, *dup;
    const float *gate, *up, *dout;
    bool avx2;
} swiglu_args;

#ifdef MOTE_TR_SIMD_X86
/* 8 at a time up to the last whole 8; returns where the scalar tail starts. */
static MOTE_TR_AVX2 int64_t swiglu_fwd_avx2(const swiglu_args *a, int64_t begin, int64_t end) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
        __m256 g = _mm256_loadu_ps(a->gate + i);
        __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, mote__tr_exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
        _mm256_storeu_ps(a->out + i, _mm256_mul_ps(_mm256_mul_ps(g, s), _mm256_loadu_ps(a->up + i)));
    }
    return i;
}

static MOTE_TR_AVX2 int64_t swiglu_bwd_avx2(const swiglu_args *a, int64_t begin, int64_t end) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = begin;
    for (; i + 8 <= end; i += 8) {
        __m256 g = _mm256_loadu_ps(a->gate + i), d = _mm256_loadu_ps(a->dout + i);
        __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, mote__tr_exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
        /* dgate += d up s (1 + g (1 - s)); dup += d g s */
        __m256 dsilu = _mm256_mul_ps(s, _mm256_fmadd_ps(g, _mm256_sub_ps(one, s), one));
        __m256 du = _mm256_mul_ps(d, _mm256_loadu_ps(a->up + i));
        _mm256_storeu_ps(a->dgate + i, _mm256_fmadd_ps(du, dsilu, _mm256_loadu_ps(a->dgate + i)));
        _mm256_storeu_ps(a->dup + i, _mm256_fmadd_ps(d, _mm256_mul_ps(g, s), _mm256_loadu_ps(a->dup + i)));
    }
    return i;
}
#endif

static void swiglu_fwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    const swiglu_args *a = ctx;
    (void)tid;
#ifdef MOTE_TR_SIMD_X86
    if (a->avx2) begin = swiglu_fwd_avx2(a, begin, end);
#endif
    for (int64_t i = begin; i < end; i++) {
        float g = a->gate[i];
        a->out[i] = g / (1.0f + expf(-g)) * a->up[i];
    }
}

void mote__tr_swiglu_fwd(float *out, const float *gate, const float *up, int64_t n, mote_threadpool *tp) {
    swiglu_args a = {.out = out, .gate = gate, .up = up, .avx2 = use_avx2()};
    mote__tr_parallel(n, 4096, tp, swiglu_fwd_task, &a);
}

/* silu(g) = g s, s = sigmoid(g); silu'(g) = s (1 + g (1 - s)). */
static void swiglu_bwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    const swiglu_args *a = ctx;
    (void)tid;
#ifdef MOTE_TR_SIMD_X86
    if (a->avx2) begin = swiglu_bwd_avx2(a, begin, end);
#endif
    for (int64_t i = begin; i < end; i++) {
        float g = a->gate[i];
        float s = 1.0f / (1.0f + expf(-g));
        a->dgate[i] += a->dout[i] * a->up[i] * s * (1.0f + g * (1.0f - s));
        a->dup[i] += a->dout[i] * g * s;
    }
}

void mote__tr_swiglu_bwd(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, int64_t n, mote_threadpool *tp) {
    swiglu_args a = {.dgate = dgate, .dup = dup, .gate = gate, .up = up, .dout = dout,
                     .avx2 = use_avx2()};
    mote__tr_parallel(n, 4096, tp, swiglu_bwd_task, &a);
}

/* ---- residual ---- */

void mote__tr_residual_fwd(float *out, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void mote__tr_residual_bwd(float *da, float *db, const float *dout, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

/* ---- softmax cross-entropy ---- */

typedef struct ce_args {
    float *probs, *losses;
    const float *src; /* backward: the probabilities (may equal probs) */
    const int32_t *targets;
    int64_t V;
    float scale; /* backward: dloss / N */
    bool avx2;
} ce_args;

#ifdef MOTE_TR_SIMD_X86
/* row[i] = e^(row[i] - mx) for the whole 8-blocks of the row; their sum
 * (partial sums in double per block) is added to *sum. Returns where the
 * scalar tail starts. */
static MOTE_TR_AVX2 int64_t ce_exp_avx2(float *row, int64_t V, float mx, double *sum) {
    const __m256 m = _mm256_set1_ps(mx);
    int64_t i = 0;
    double total = 0.0;
    for (; i + 8 <= V; i += 8) {
        __m256 e = mote__tr_exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), m));
        _mm256_storeu_ps(row + i, e);
        total += mote__tr_hsum8(e);
    }
    *sum += total;
    return i;
}
#endif

static void ce_fwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ce_args *a = ctx;
    const int64_t V = a->V;
    for (int64_t n = begin; n < end; n++) {
        float *row = a->probs + n * V;
        float mx = -INFINITY;
        for (int64_t i = 0; i < V; i++)
            if (row[i] > mx) mx = row[i];
        const float logit_t = row[a->targets[n]];
        double sum = 0.0;
        int64_t i0 = 0;
#ifdef MOTE_TR_SIMD_X86
        if (a->avx2) i0 = ce_exp_avx2(row, V, mx, &sum);
#endif
        for (int64_t i = i0; i < V; i++) {
            float e = expf(row[i] - mx);
            row[i] = e;
            sum += e;
        }
        const float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < V; i++) row[i] *= inv;
        /* -log p_t = log(sum) - (logit_t - max): exact even when p_t underflows. */
        a->losses[n] = (float)(log(sum) - (double)(logit_t - mx));
    }
}

double mote__tr_crossentropy_fwd(float *probs_inout, float *losses, const int32_t *targets,
                                 int64_t N, int64_t V, mote_threadpool *tp) {
    /* Without a `losses` array the per-position losses go through a stack
     * buffer, 256 positions at a time. */
    float chunk[256];
    double total = 0.0;
    if (losses) {
        ce_args a = {probs_inout, losses, NULL, targets, V, 0.0f, use_avx2()};
        mote__tr_parallel(N, 1, tp, ce_fwd_task, &a);
        for (int64_t n = 0; n < N; n++) total += losses[n];
    } else {
        for (int64_t n0 = 0; n0 < N; n0 += 256) {
            int64_t m = N - n0 < 256 ? N - n0 : 256;
            ce_args a = {probs_inout + n0 * V, chunk, NULL, targets + n0, V, 0.0f, use_avx2()};
            mote__tr_parallel(m, 1, tp, ce_fwd_task, &a);
            for (int64_t n = 0; n < m; n++) total += chunk[n];
        }
    }
    return N > 0 ? total / (double)N : 0.0;
}

static void ce_bwd_task(void *ctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    ce_args *a = ctx;
    const int64_t V = a->V;
    for (int64_t n = begin; n < end; n++) {
        float *row = a->probs + n * V; /* dlogits out */
        const float *src = a->src + n * V;
        for (int64_t i = 0; i < V; i++) row[i] = src[i] * a->scale;
        row[a->targets[n]] -= a->scale;
    }
}

void mote__tr_crossentropy_bwd(float *dlogits, const float *probs, const int32_t *targets,
                               int64_t N, int64_t V, float dloss, mote_threadpool *tp) {
    ce_args a = {dlogits, NULL, probs, targets, V, N > 0 ? dloss / (float)N : 0.0f, false};
    mote__tr_parallel(N, 1, tp, ce_bwd_task, &a);
}
