/* test_train_ops.c — every training op's backward against central finite
 * differences, and the whole model's gradient too.
 *
 * Method. For each op a double-precision forward is written here, apart
 * from src/train (plain loops from the op's definition). The scalar loss is
 * L = sum(out * R) for a fixed random R, so the op's backward is run with
 * dout = R. Finite differences perturb each input element by +-h (h = 1e-5,
 * relative to max(1, |x|)) in the DOUBLE forward: their own error is
 * ~1e-10, far below what is being measured. The analytic gradient comes
 * from src/train's f32 forward + backward. Criterion, per input array:
 *   max_i |g_a - g_fd| / (|g_a| + |g_fd| + 1e-3 max_j |g_fd_j|)  <  tol
 * (relative per element; the floor keeps f32 noise on near-zero entries
 * from counting as a relative error), tol = 5e-4 for a single op and 1e-3
 * for the whole model (f32 rounding compounds through 2 blocks). The f32
 * forward itself must match the double forward within 1e-5 of max|out|.
 * Measured on x86-64 (AVX2/AVX-512 gemm, AVX2 attention) over 12 random
 * seeds: worst op error 1.5e-5 .. 9.6e-5 (attention's dq, where ds = p (dp
 * - p.dp) cancels), worst model error 5e-6 .. 3.0e-4 (the "#" line prints
 * them). A wrong factor or a missing term gives errors of
 * O(1e-2 .. 1): scaling one term of RMSNorm's backward by 0.99 gave 9e-3
 * for the op and 0.49 for the model.
 *
 * The matmul's blocked, threaded kernel is also checked against its scalar
 * reference on shapes that hit every tile edge and the K slicing.
 *
 * Model: dim 16, 2 layers, 4 heads, 2 KV heads, ffn 24, vocab 32, B 2,
 * T 8; a double forward of the same model built here from the op forwards;
 * 12 parameters sampled per tensor (all tensors), plus every element of
 * one norm vector; same criterion.
 */
#include "test.h"
#include "train/ops.c"
#include "train/matmul.c"
#include "train/attention.c"
#include "train/model.c"
#include "train/optim.c"

/* ---- helpers ---- */

static uint64_t g_rng = 12345;
static mote_threadpool *g_pool2; /* 2 threads, made in main */
static double urand(void) { /* [0, 1) */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}
static void fill(double *d, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) d[i] = scale * (2.0 * urand() - 1.0);
}
static float *to_f(const double *d, size_t n) {
    float *f = malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
    return f;
}
static double dot_r(const double *out, const double *R, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += out[i] * R[i];
    return s;
}

/* Finite differences of loss() w.r.t. x[idx[k]] for k < n_idx (every
 * element when idx == NULL and n_idx == n). */
typedef double (*loss_fn)(void *ctx);
static void fd_grad(loss_fn loss, void *ctx, double *x, const size_t *idx, size_t n_idx,
                    double *g_out) {
    for (size_t k = 0; k < n_idx; k++) {
        size_t i = idx ? idx[k] : k;
        double x0 = x[i], h = 1e-5 * (fabs(x0) > 1 ? fabs(x0) : 1);
        x[i] = x0 + h;
        double lp = loss(ctx);
        x[i] = x0 - h;
        double lm = loss(ctx);
        x[i] = x0;
        g_out[k] = (lp - lm) / (2 * h);
    }
}

/* The criterion of the header; returns the worst relative error. */
static double grad_err(const float *ga, const double *gfd, const size_t *idx, size_t n) {
    double mx = 0, worst = 0;
    for (size_t k = 0; k < n; k++) mx = fmax(mx, fabs(gfd[k]));
    for (size_t k = 0; k < n; k++) {
        double a = ga[idx ? idx[k] : k];
        double e = fabs(a - gfd[k]) / (fabs(a) + fabs(gfd[k]) + 1e-3 * mx + 1e-30);
        worst = fmax(worst, e);
    }
    return worst;
}

#define GRAD_TOL 5e-4
#define MODEL_GRAD_TOL 1e-3
static double g_worst_op;

#define CHECK_GRAD(name, ga, x, n, loss, ctx)                                           \
    do {                                                                                \
        double *gfd_ = malloc((n) * sizeof(double) + 8);                                \
        fd_grad(loss, ctx, x, NULL, n, gfd_);                                           \
        double e_ = grad_err(ga, gfd_, NULL, n);                                        \
        g_worst_op = fmax(g_worst_op, e_);                                              \
        T_CHECK(e_ < GRAD_TOL, "%s: gradient error %.3g >= %g", name, e_, GRAD_TOL);   \
        free(gfd_);                                                                     \
    } while (0)

static double max_abs_diff_fd(const float *a, const double *b, size_t n, double *scale) {
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs(a[i] - b[i]));
        s = fmax(s, fabs(b[i]));
    }
    *scale = s;
    return m;
}
#define CHECK_FWD(name, got, want, n)                                                   \
    do {                                                                                \
        double sc_, d_ = max_abs_diff_fd(got, want, n, &sc_);                           \
        T_CHECK(d_ <= 1e-5 * sc_ + 1e-30, "%s forward: max diff %.3g vs max|out| %.3g",  \
                name, d_, sc_);                                                         \
    } while (0)

/* ---- double forwards (the definitions) ---- */

static void rmsnorm_d(double *out, const double *x, const double *w, int64_t N, int64_t C,
                      double eps) {
    for (int64_t n = 0; n < N; n++) {
        double ss = 0;
        for (int64_t i = 0; i < C; i++) ss += x[n * C + i] * x[n * C + i];
        double r = 1.0 / sqrt(ss / C + eps);
        for (int64_t i = 0; i < C; i++) out[n * C + i] = x[n * C + i] * r * w[i];
    }
}
static void matmul_d(double *out, const double *x, const double *W, int64_t N, int64_t IC,
                     int64_t OC) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < OC; o++) {
            double s = 0;
            for (int64_t i = 0; i < IC; i++) s += x[n * IC + i] * W[o * IC + i];
            out[n * OC + o] = s;
        }
}
static void rope_d(double *x, int64_t B, int64_t T, int H, int hd, int n_rot, double base) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < n_rot / 2; i++) {
                    double ang = (double)t * pow(base, -2.0 * i / n_rot);
                    double *p = x + ((b * T + t) * H + h) * hd + 2 * i;
                    double a = p[0], c = p[1];
                    p[0] = a * cos(ang) - c * sin(ang);
                    p[1] = a * sin(ang) + c * cos(ang);
                }
}
static void attention_d(double *out, const double *q, const double *k, const double *v, int64_t B,
                        int64_t T, int H, int Hkv, int hd) {
    double *s = malloc((size_t)T * sizeof(double));
    for (int64_t b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int kvh = h / (H / Hkv);
            for (int64_t t = 0; t < T; t++) {
                const double *qt = q + ((b * T + t) * H + h) * hd;
                double mx = -1e300, sum = 0;
                for (int64_t u = 0; u <= t; u++) {
                    const double *ku = k + ((b * T + u) * Hkv + kvh) * hd;
                    double d = 0;
                    for (int i = 0; i < hd; i++) d += qt[i] * ku[i];
                    s[u] = d / sqrt((double)hd);
                    mx = fmax(mx, s[u]);
                }
                for (int64_t u = 0; u <= t; u++) sum += (s[u] = exp(s[u] - mx));
                double *ot = out + ((b * T + t) * H + h) * hd;
                for (int i = 0; i < hd; i++) ot[i] = 0;
                for (int64_t u = 0; u <= t; u++) {
                    const double *vu = v + ((b * T + u) * Hkv + kvh) * hd;
                    for (int i = 0; i < hd; i++) ot[i] += s[u] / sum * vu[i];
                }
            }
        }
    free(s);
}
static void swiglu_d(double *out, const double *g, const double *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = g[i] / (1 + exp(-g[i])) * u[i];
}
/* Mean cross-entropy. */
static double ce_d(const double *logits, const int32_t *tg, int64_t N, int64_t V) {
    double total = 0;
    for (int64_t n = 0; n < N; n++) {
        const double *r = logits + n * V;
        double mx = -1e300, s = 0;
        for (int64_t i = 0; i < V; i++) mx = fmax(mx, r[i]);
        for (int64_t i = 0; i < V; i++) s += exp(r[i] - mx);
        total += log(s) - (r[tg[n]] - mx);
    }
    return total / N;
}

/* ---- per-op tests ---- */

typedef struct op_ctx {
    int64_t N, C, IC, OC, B, T;
    int H, Hkv, hd, n_rot;
    double *x, *w, *W, *R, *q, *k, *v, *g, *u, *out;
    const int32_t *ids;
} op_ctx;

static double loss_embed(void *p) {
    op_ctx *c = p;
    for (int64_t n = 0; n < c->N; n++)
        memcpy(c->out + n * c->C, c->W + (int64_t)c->ids[n] * c->C, (size_t)c->C * sizeof(double));
    return dot_r(c->out, c->R, (size_t)(c->N * c->C));
}

static void test_embedding_grad(void) {
    const int64_t N = 6, C = 5, V = 4;
    int32_t ids[6] = {1, 3, 1, 0, 1, 3}; /* repeats: the scatter must add */
    op_ctx c = {.N = N, .C = C, .ids = ids};
    c.W = malloc(V * C * sizeof(double)), c.R = malloc(N * C * sizeof(double));
    c.out = malloc(N * C * sizeof(double));
    fill(c.W, V * C, 1), fill(c.R, N * C, 1);
    float *Wf = to_f(c.W, V * C), *Rf = to_f(c.R, N * C), *out = calloc(N * C, 4), *dW = calloc(V * C, 4);
    mote__tr_embed_fwd(out, ids, Wf, N, C);
    loss_embed(&c);
    CHECK_FWD("embed", out, c.out, (size_t)(N * C));
    mote__tr_embed_bwd(dW, Rf, ids, N, C);
    CHECK_GRAD("embed dW", dW, c.W, (size_t)(V * C), loss_embed, &c);
    T_CHECK(dW[2 * C] == 0.0f, "row 2 is never looked up, its gradient is %g", dW[2 * C]);
    free(c.W), free(c.R), free(c.out), free(Wf), free(Rf), free(out), free(dW);
}

static double loss_rmsnorm(void *p) {
    op_ctx *c = p;
    rmsnorm_d(c->out, c->x, c->w, c->N, c->C, 1e-5);
    return dot_r(c->out, c->R, (size_t)(c->N * c->C));
}

static void test_rmsnorm_grad(void) {
    const int64_t N = 4, C = 12;
    op_ctx c = {.N = N, .C = C};
    c.x = malloc(N * C * 8), c.w = malloc(C * 8), c.R = malloc(N * C * 8), c.out = malloc(N * C * 8);
    fill(c.x, N * C, 2), fill(c.w, C, 1.5), fill(c.R, N * C, 1);
    float *x = to_f(c.x, N * C), *w = to_f(c.w, C), *R = to_f(c.R, N * C);
    float *out = calloc(N * C, 4), *rstd = calloc(N, 4), *dx = calloc(N * C, 4), *dw = calloc(C, 4);
    mote__tr_rmsnorm_fwd(out, rstd, x, w, N, C, 1e-5f, g_pool2);
    loss_rmsnorm(&c);
    CHECK_FWD("rmsnorm", out, c.out, (size_t)(N * C));
    mote__tr_rmsnorm_bwd(dx, dw, R, x, w, rstd, N, C);
    CHECK_GRAD("rmsnorm dx", dx, c.x, (size_t)(N * C), loss_rmsnorm, &c);
    CHECK_GRAD("rmsnorm dw", dw, c.w, (size_t)C, loss_rmsnorm, &c);
    free(c.x), free(c.w), free(c.R), free(c.out), free(x), free(w), free(R), free(out), free(rstd),
        free(dx), free(dw);
}

static double loss_matmul(void *p) {
    op_ctx *c = p;
    matmul_d(c->out, c->x, c->W, c->N, c->IC, c->OC);
    return dot_r(c->out, c->R, (size_t)(c->N * c->OC));
}

/* Gradients of the blocked matmul (2 threads) on a shape with tile edges. */
static void test_matmul_grad(void) {
    const int64_t N = 7, IC = 19, OC = 21;
    op_ctx c = {.N = N, .IC = IC, .OC = OC};
    c.x = malloc(N * IC * 8), c.W = malloc(OC * IC * 8), c.R = malloc(N * OC * 8), c.out = malloc(N * OC * 8);
    fill(c.x, N * IC, 1), fill(c.W, OC * IC, 1), fill(c.R, N * OC, 1);
    float *x = to_f(c.x, N * IC), *W = to_f(c.W, OC * IC), *R = to_f(c.R, N * OC);
    float *out = calloc(N * OC, 4), *dx = calloc(N * IC, 4), *dW = calloc(OC * IC, 4);
    float *work = calloc(mote__tr_matmul_work_floats(N, IC, OC), 4);
    mote__tr_matmul_fwd(out, x, W, N, IC, OC, work, g_pool2);
    loss_matmul(&c);
    CHECK_FWD("matmul", out, c.out, (size_t)(N * OC));
    mote__tr_matmul_bwd(dx, dW, R, x, W, N, IC, OC, work, g_pool2);
    CHECK_GRAD("matmul dinp", dx, c.x, (size_t)(N * IC), loss_matmul, &c);
    CHECK_GRAD("matmul dW", dW, c.W, (size_t)(OC * IC), loss_matmul, &c);
    free(c.x), free(c.W), free(c.R), free(c.out), free(x), free(W), free(R), free(out), free(dx),
        free(dW), free(work);
}

/* The blocked kernel against the scalar reference: shapes crossing the
 * 6-row, 32/16/8-column tiles and the 256-long K slices, 1 and 2 threads,
 * every instruction set this CPU has (C, AVX2, AVX-512); dinp through
 * mote__tr_matmul_bwd_set (overwriting garbage). Tolerance: 1e-5
 * of the largest |value| (f32 sums in another order). */
static void test_matmul_blocked_vs_ref(void) {
    for (int level = 0; level <= 2; level++) {
    if (mote__tr_gemm_limit_isa(level) != level) break; /* the CPU lacks it */
    const int64_t shapes[][3] = {{1, 1, 1}, {5, 3, 7}, {13, 64, 172}, {37, 300, 45}, {300, 33, 24}, {64, 520, 9}, {7, 40, 50}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t N = shapes[si][0], IC = shapes[si][1], OC = shapes[si][2];
        float *x = malloc(N * IC * 4), *W = malloc(OC * IC * 4), *d = malloc(N * OC * 4);
        for (int64_t i = 0; i < N * IC; i++) x[i] = (float)(2 * urand() - 1);
        for (int64_t i = 0; i < OC * IC; i++) W[i] = (float)(2 * urand() - 1);
        for (int64_t i = 0; i < N * OC; i++) d[i] = (float)(2 * urand() - 1);
        float *o_ref = calloc(N * OC, 4), *dx_ref = calloc(N * IC, 4), *dW_ref = calloc(OC * IC, 4);
        mote__tr_matmul_fwd_ref(o_ref, x, W, N, IC, OC);
        mote__tr_matmul_bwd_ref(dx_ref, dW_ref, d, x, W, N, IC, OC);
        for (int nt = 1; nt <= 2; nt++) {
            float *o = calloc(N * OC, 4), *dx = calloc(N * IC, 4), *dW = calloc(OC * IC, 4);
            float *work = calloc(mote__tr_matmul_work_floats(N, IC, OC), 4);
            mote__tr_matmul_fwd(o, x, W, N, IC, OC, work, (nt == 1 ? NULL : g_pool2));
            /* dinp through the overwriting variant, over garbage */
            for (int64_t i = 0; i < N * IC; i++) dx[i] = 7.0f;
            mote__tr_matmul_bwd_set(dx, dW, d, x, W, N, IC, OC, work, (nt == 1 ? NULL : g_pool2));
            const float *got[3] = {o, dx, dW}, *want[3] = {o_ref, dx_ref, dW_ref};
            const int64_t len[3] = {N * OC, N * IC, OC * IC};
            const char *what[3] = {"out", "dinp", "dW"};
            for (int j = 0; j < 3; j++) {
                double mx = 0, err = 0;
                for (int64_t i = 0; i < len[j]; i++) {
                    mx = fmax(mx, fabs(want[j][i]));
                    err = fmax(err, fabs(got[j][i] - want[j][i]));
                }
                T_CHECK(err <= 1e-5 * mx, "%s of (%lld,%lld)x(%lld,%lld)^T, %d threads: max diff %.3g vs max %.3g (%s)",
                        what[j], (long long)N, (long long)IC, (long long)OC, (long long)IC, nt, err, mx,
                        mote__tr_gemm_isa());
            }
            free(o), free(dx), free(dW), free(work);
        }
        free(x), free(W), free(d), free(o_ref), free(dx_ref), free(dW_ref);
    }
    }
    mote__tr_gemm_limit_isa(2);
}

static double loss_rope(void *p) {
    op_ctx *c = p;
    size_t n = (size_t)(c->B * c->T * c->H * c->hd);
    memcpy(c->out, c->x, n * sizeof(double));
    rope_d(c->out, c->B, c->T, c->H, c->hd, c->n_rot, 10000.0);
    return dot_r(c->out, c->R, n);
}

static void test_rope_grad(void) {
    for (int partial = 0; partial <= 1; partial++) {
        op_ctx c = {.B = 2, .T = 6, .H = 3, .hd = 8, .n_rot = partial ? 4 : 8};
        size_t n = (size_t)(c.B * c.T * c.H * c.hd);
        c.x = malloc(n * 8), c.R = malloc(n * 8), c.out = malloc(n * 8);
        fill(c.x, n, 1), fill(c.R, n, 1);
        float *x = to_f(c.x, n), *dx = to_f(c.R, n);
        float *cs = malloc(c.T * 4 * 4), *sn = malloc(c.T * 4 * 4);
        mote__tr_rope_table(cs, sn, c.T, c.n_rot, 10000.0f);
        mote__tr_rope_fwd(x, cs, sn, c.B, c.T, c.H, c.hd, c.n_rot);
        loss_rope(&c);
        CHECK_FWD(partial ? "rope partial" : "rope", x, c.out, n);
        mote__tr_rope_bwd(dx, cs, sn, c.B, c.T, c.H, c.hd, c.n_rot);
        CHECK_GRAD(partial ? "rope partial dx" : "rope dx", dx, c.x, n, loss_rope, &c);
        free(c.x), free(c.R), free(c.out), free(x), free(dx), free(cs), free(sn);
    }
}

static double loss_attn(void *p) {
    op_ctx *c = p;
    attention_d(c->out, c->q, c->k, c->v, c->B, c->T, c->H, c->Hkv, c->hd);
    return dot_r(c->out, c->R, (size_t)(c->B * c->T * c->H * c->hd));
}

/* Grouped (2 query heads per KV head) and plain; head size 6 (the scalar
 * path) and 8 (the AVX2 path where the CPU has it); T 5 and 13 (a partial
 * 8-block of keys). */
static void test_attention_grad(void) {
    const int cases[4][3] = {{2, 6, 5}, {4, 6, 5}, {2, 8, 13}, {1, 8, 11}}; /* Hkv, hd, T */
    for (int ci = 0; ci < 4; ci++) {
        op_ctx c = {.B = 2, .T = cases[ci][2], .H = 4, .Hkv = cases[ci][0], .hd = cases[ci][1]};
        size_t nq = (size_t)(c.B * c.T * c.H * c.hd), nk = (size_t)(c.B * c.T * c.Hkv * c.hd);
        c.q = malloc(nq * 8), c.k = malloc(nk * 8), c.v = malloc(nk * 8), c.R = malloc(nq * 8);
        c.out = malloc(nq * 8);
        fill(c.q, nq, 1.5), fill(c.k, nk, 1.5), fill(c.v, nk, 1), fill(c.R, nq, 1);
        float *q = to_f(c.q, nq), *k = to_f(c.k, nk), *v = to_f(c.v, nk), *R = to_f(c.R, nq);
        float *out = calloc(nq, 4), *att = calloc(c.B * c.H * c.T * c.T, 4);
        float *dq = calloc(nq, 4), *dk = calloc(nk, 4), *dv = calloc(nk, 4);
        float *scratch = calloc(mote__tr_attention_scratch_floats(c.B, c.T, c.H, c.hd, 2), 4);
        mote__tr_attention_fwd(out, att, q, k, v, c.B, c.T, c.H, c.Hkv, c.hd, scratch, g_pool2);
        loss_attn(&c);
        CHECK_FWD("attention", out, c.out, nq);
        mote__tr_attention_bwd(dq, dk, dv, R, q, k, v, att, c.B, c.T, c.H, c.Hkv, c.hd, scratch, g_pool2);
        char name[64];
        snprintf(name, sizeof name, "attention hd %d kv %d T %d dq", c.hd, c.Hkv, (int)c.T);
        CHECK_GRAD(name, dq, c.q, nq, loss_attn, &c);
        name[strlen(name) - 2] = 'k';
        CHECK_GRAD(name, dk, c.k, nk, loss_attn, &c);
        name[strlen(name) - 2] = 'v';
        CHECK_GRAD(name, dv, c.v, nk, loss_attn, &c);
        free(c.q), free(c.k), free(c.v), free(c.R), free(c.out), free(q), free(k), free(v), free(R),
            free(out), free(att), free(dq), free(dk), free(dv), free(scratch);
    }
}

/* The dispatched attention (AVX2 where present) against the scalar
 * reference on a training-sized shape: outputs, probabilities and all three
 * gradients within 1e-5 of the largest |value| (the vector exp is within a
 * few ulp of expf; sums run in another order). */
static void test_attention_vs_ref(void) {
    const int64_t B = 2, T = 70;
    const int H = 8, Hkv = 4, hd = 32;
    size_t nq = (size_t)(B * T * H * hd), nk = (size_t)(B * T * Hkv * hd), na = (size_t)(B * H * T * T);
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4), *d = malloc(nq * 4);
    for (size_t i = 0; i < nq; i++) q[i] = (float)(2 * urand() - 1), d[i] = (float)(2 * urand() - 1);
    for (size_t i = 0; i < nk; i++) k[i] = (float)(3 * urand() - 1.5), v[i] = (float)(2 * urand() - 1);
    float *o[2], *att[2], *dq[2], *dk[2], *dv[2];
    for (int r = 0; r < 2; r++) {
        o[r] = calloc(nq, 4), att[r] = calloc(na, 4), dq[r] = calloc(nq, 4), dk[r] = calloc(nk, 4), dv[r] = calloc(nk, 4);
    }
    float *scratch = calloc(mote__tr_attention_scratch_floats(B, T, H, hd, 2), 4);
    mote__tr_attention_fwd_ref(o[0], att[0], q, k, v, B, T, H, Hkv, hd, NULL);
    mote__tr_attention_bwd_ref(dq[0], dk[0], dv[0], scratch, d, q, k, v, att[0], B, T, H, Hkv, hd, NULL);
    mote__tr_attention_fwd(o[1], att[1], q, k, v, B, T, H, Hkv, hd, scratch, g_pool2);
    mote__tr_attention_bwd(dq[1], dk[1], dv[1], d, q, k, v, att[1], B, T, H, Hkv, hd, scratch, g_pool2);
    const float *got[5] = {o[1], att[1], dq[1], dk[1], dv[1]}, *want[5] = {o[0], att[0], dq[0], dk[0], dv[0]};
    const size_t len[5] = {nq, na, nq, nk, nk};
    const char *what[5] = {"out", "att", "dq", "dk", "dv"};
    for (int j = 0; j < 5; j++) {
        double mx = 0, err = 0;
        for (size_t i = 0; i < len[j]; i++) {
            mx = fmax(mx, fabs(want[j][i]));
            err = fmax(err, fabs(got[j][i] - want[j][i]));
        }
        T_CHECK(err <= 1e-5 * mx, "%s: max diff %.3g vs max %.3g", what[j], err, mx);
    }
    /* causality: nothing above the diagonal */
    for (int64_t t = 0; t < T; t++)
        for (int64_t u = t + 1; u < T; u++) T_CHECK(att[1][t * T + u] == 0.0f, "att[%lld][%lld] != 0", (long long)t, (long long)u);
    for (int r = 0; r < 2; r++) free(o[r]), free(att[r]), free(dq[r]), free(dk[r]), free(dv[r]);
    free(q), free(k), free(v), free(d), free(scratch);
}

static double loss_swiglu(void *p) {
    op_ctx *c = p;
    swiglu_d(c->out, c->g, c->u, c->N);
    return dot_r(c->out, c->R, (size_t)c->N);
}

static void test_swiglu_grad(void) {
    op_ctx c = {.N = 43};
    c.g = malloc(43 * 8), c.u = malloc(43 * 8), c.R = malloc(43 * 8), c.out = malloc(43 * 8);
    fill(c.g, 43, 6), fill(c.u, 43, 2), fill(c.R, 43, 1);
    float *g = to_f(c.g, 43), *u = to_f(c.u, 43), *R = to_f(c.R, 43), *out = calloc(43, 4);
    float *dg = calloc(43, 4), *du = calloc(43, 4);
    mote__tr_swiglu_fwd(out, g, u, 43, g_pool2);
    loss_swiglu(&c);
    CHECK_FWD("swiglu", out, c.out, 43);
    mote__tr_swiglu_bwd(dg, du, R, g, u, 43, g_pool2);
    CHECK_GRAD("swiglu dgate", dg, c.g, 43, loss_swiglu, &c);
    CHECK_GRAD("swiglu dup", du, c.u, 43, loss_swiglu, &c);
    free(c.g), free(c.u), free(c.R), free(c.out), free(g), free(u), free(R), free(out), free(dg), free(du);
}

/* Residual: out = a + b, so both gradients are R exactly; and accumulation
 * (+=) into non-zero gradients. */
static void test_residual_grad(void) {
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {-1, 0.5f, 2, 0, 9}, out[5];
    float R[5] = {0.5f, -2, 3, 0.25f, 1}, da[5] = {1, 1, 1, 1, 1}, db[5] = {0};
    mote__tr_residual_fwd(out, a, b, 5);
    mote__tr_residual_bwd(da, db, R, 5);
    for (int i = 0; i < 5; i++) {
        T_CHECK(out[i] == a[i] + b[i], "out[%d] = %g", i, out[i]);
        T_CHECK(da[i] == 1 + R[i] && db[i] == R[i], "da[%d] = %g, db = %g", i, da[i], db[i]);
    }
}

static double loss_ce(void *p) {
    op_ctx *c = p;
    return ce_d(c->x, c->ids, c->N, c->C);
}

static void test_crossentropy_grad(void) {
    const int64_t N = 5, V = 19; /* two 8-blocks and a tail */
    int32_t tg[5] = {0, 18, 3, 3, 7};
    op_ctx c = {.N = N, .C = V, .ids = tg};
    c.x = malloc(N * V * 8);
    fill(c.x, N * V, 4);
    c.x[2 * V + 3] = 40; /* a confident row: the max must be subtracted */
    float *x = to_f(c.x, N * V), *losses = calloc(N, 4);
    double loss = mote__tr_crossentropy_fwd(x, losses, tg, N, V, g_pool2);
    double want = ce_d(c.x, tg, N, V);
    T_CHECK(fabs(loss - want) <= 1e-6 * fmax(1, fabs(want)), "loss %.9g, want %.9g", loss, want);
    double loss2 = 0;
    for (int i = 0; i < N; i++) loss2 += losses[i];
    T_CHECK(fabs(loss2 / N - loss) < 1e-6, "per-position losses do not average to the loss");
    mote__tr_crossentropy_bwd(x, x, tg, N, V, 1.0f, g_pool2);
    CHECK_GRAD("cross-entropy dlogits", x, c.x, (size_t)(N * V), loss_ce, &c);
    free(c.x), free(x), free(losses);
}

/* ---- the whole model ---- */

typedef struct model_ctx {
    const mote_tr_model *m;
    double *p; /* parameters in the model's layout, double */
    const int32_t *ids, *tg;
    int64_t B, T;
} model_ctx;

/* The model's mean loss in double, from the op forwards above. */
static double loss_model(void *vp) {
    model_ctx *c = vp;
    const mote_tr_model *m = c->m;
    const mote_tr_shape *s = &m->shape;
    const int64_t B = c->B, T = c->T, N = B * T, C = s->n_embd, F = s->n_ff, V = s->n_vocab;
    const int H = s->n_head, Hkv = s->n_head_kv, hd = m->head_dim;
    const int64_t qd = (int64_t)H * hd, kvd = (int64_t)Hkv * hd;
    double *x = malloc(N * C * 8), *h = malloc(N * C * 8), *q = malloc(N * qd * 8);
    double *k = malloc(N * kvd * 8), *v = malloc(N * kvd * 8), *ao = malloc(N * qd * 8);
    double *t = malloc(N * C * 8), *g = malloc(N * F * 8), *u = malloc(N * F * 8);
    double *a = malloc(N * F * 8), *logits = malloc(N * V * 8);
    int ti = 0;
#define P(i) (c->p + m->tensors[i].offset)
    const double *emb = P(ti++);
    for (int64_t n = 0; n < N; n++) memcpy(x + n * C, emb + (int64_t)c->ids[n] * C, (size_t)C * 8);
    for (int l = 0; l < s->n_layer; l++) {
        const double *an = P(ti), *wq = P(ti + 1), *wk = P(ti + 2), *wv = P(ti + 3), *wo = P(ti + 4);
        const double *fn = P(ti + 5), *wg = P(ti + 6), *wu = P(ti + 7), *wd = P(ti + 8);
        ti += 9;
        rmsnorm_d(h, x, an, N, C, s->rms_eps);
        matmul_d(q, h, wq, N, C, qd);
        matmul_d(k, h, wk, N, C, kvd);
        matmul_d(v, h, wv, N, C, kvd);
        rope_d(q, B, T, H, hd, m->n_rot, s->rope_freq_base);
        rope_d(k, B, T, Hkv, hd, m->n_rot, s->rope_freq_base);
        attention_d(ao, q, k, v, B, T, H, Hkv, hd);
        matmul_d(t, ao, wo, N, qd, C);
        for (int64_t i = 0; i < N * C; i++) x[i] += t[i];
        rmsnorm_d(h, x, fn, N, C, s->rms_eps);
        matmul_d(g, h, wg, N, C, F);
        matmul_d(u, h, wu, N, C, F);
        swiglu_d(a, g, u, N * F);
        matmul_d(t, a, wd, N, F, C);
        for (int64_t i = 0; i < N * C; i++) x[i] += t[i];
    }
    rmsnorm_d(h, x, P(ti), N, C, s->rms_eps);
    matmul_d(logits, h, P(ti + 1), N, C, V);
#undef P
    double loss = ce_d(logits, c->tg, N, V);
    free(x), free(h), free(q), free(k), free(v), free(ao), free(t), free(g), free(u), free(a), free(logits);
    return loss;
}

static mote_tr_model *tiny_model(uint64_t seed, double scale) {
    mote_tr_shape s = {.n_vocab = 32, .n_embd = 16, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
                       .n_ff = 24, .n_ctx = 8, .rope_freq_base = 10000.0f, .rms_eps = 1e-5f};
    mote_tr_model *m = NULL;
    mote_error err = {0};
    if (mote__tr_model_init(&s, seed, &m, &err) != MOTE_OK) {
        fprintf(stderr, "init: %s\n", err.msg);
        return NULL;
    }
    /* Larger, varied weights than the training init so that every
     * gradient is well above f32 noise; norms around 1 but not equal. */
    for (int i = 0; i < m->n_tensors; i++) {
        const mote_tr_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        for (size_t j = 0; j < t->n; j++)
            p[j] = t->n_dims == 1 ? (float)(1 + 0.3 * (2 * urand() - 1))
                                  : (float)(scale * (2 * urand() - 1) / sqrt((double)t->ne[0]) * 1.7);
    }
    return m;
}

static void test_model_grad(void) {
    mote_tr_model *m = tiny_model(7, 1.0);
    T_REQUIRE(m, "init failed");
    mote__tr_model_set_threads(m, 2, NULL);
    const int64_t B = 2, T = 8;
    int32_t ids[16], tg[16];
    for (int i = 0; i < 16; i++) ids[i] = (int32_t)(urand() * 32), tg[i] = (int32_t)(urand() * 32);
    float loss = 0;
    mote_error err = {0};
    T_REQUIRE(mote__tr_model_forward(m, ids, tg, B, T, &loss, &err) == MOTE_OK, "%s", err.msg);
    mote__tr_model_zero_grad(m);
    T_REQUIRE(mote__tr_model_backward(m, 1.0f, &err) == MOTE_OK, "%s", err.msg);

    model_ctx c = {m, malloc(m->n_params * 8), ids, tg, B, T};
    for (size_t i = 0; i < m->n_params; i++) c.p[i] = m->params[i];
    double want = loss_model(&c);
    T_CHECK(fabs(loss - want) <= 1e-5 * want, "f32 loss %.8g vs double %.8g", loss, want);

    double worst = 0;
    const char *worst_name = "";
    for (int ti = 0; ti < m->n_tensors; ti++) {
        const mote_tr_tensor *t = &m->tensors[ti];
        size_t n_idx = t->n_dims == 1 && ti == 1 ? t->n : 12; /* blk.0.attn_norm: all of it */
        size_t idx[64];
        for (size_t k = 0; k < n_idx; k++) idx[k] = t->offset + (size_t)(urand() * (double)t->n);
        if (n_idx == t->n)
            for (size_t k = 0; k < n_idx; k++) idx[k] = t->offset + k;
        double gfd[64];
        fd_grad(loss_model, &c, c.p, idx, n_idx, gfd);
        double e = grad_err(m->grads, gfd, idx, n_idx);
        if (e > worst) worst = e, worst_name = t->name;
        T_CHECK(e < MODEL_GRAD_TOL, "%s: gradient error %.3g >= %g", t->name, e, MODEL_GRAD_TOL);
    }
    printf("#   model gradient vs finite differences: worst error %.3g (%s); worst op %.3g; gemm %s\n",
           worst, worst_name, g_worst_op, mote__tr_gemm_isa());
    free(c.p);
    mote__tr_model_free(m);
}

int main(void) {
    (void)t_assets;
    mote_error err = {0};
    if (mote__threadpool_new(2, &g_pool2, &err)) {
        printf("not ok - thread pool: %s\n", err.msg);
        return 1;
    }
    T_RUN(test_embedding_grad);
    T_RUN(test_rmsnorm_grad);
    T_RUN(test_matmul_grad);
    T_RUN(test_matmul_blocked_vs_ref);
    T_RUN(test_rope_grad);
    T_RUN(test_attention_grad);
    T_RUN(test_attention_vs_ref);
    T_RUN(test_swiglu_grad);
    T_RUN(test_residual_grad);
    T_RUN(test_crossentropy_grad);
    T_RUN(test_model_grad);
    mote__threadpool_free(g_pool2);
    return t_exit();
}
