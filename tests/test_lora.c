/* test_lora.c — LoRA: training adapters on a frozen base (src/train/lora.c)
 * and applying / merging them at inference (src/model/lora.c).
 *
 * What is checked, on tiny models written to a temporary folder:
 *   - the adapter gradients equal the chain rule through the full model's
 *     weight gradient at the merged weights W + s B A (dA = s B^T G,
 *     dB = s G A^T, G from model.c's full backward, itself checked against
 *     numpy by train_ref.sh): within 1e-4 of each tensor's max |grad|; and
 *     central finite differences of the loss agree on sampled entries;
 *   - a Q8_0 or Q4_0 base trains: its loss and adapter gradients are
 *     bit-identical to those of an F32 file holding the dequantized
 *     weights, and 30 steps on Q8_0 lower the loss; full training of a
 *     Q8_0 base is refused;
 *   - the adapter file carries llama.cpp's keys and shapes (lora_a ne
 *     [in, rank], lora_b ne [rank, out]) and the trained values bit for bit;
 *   - at inference an adapter at scale 0 gives bit-identical logits, at
 *     scale 1 the logits of the training forward (within 1e-4 of 1 + max
 *     |logit|), the same for 1 and 3 threads bit for bit, and the same as
 *     the merged model (within 1e-4 of 1 + max |logit|);
 *   - an adapter for another model (other shapes) is refused by attach and
 *     by merge, naming the tensor; a file that is not an adapter is refused.
 * With `--dump DIR`, the data tests/lora_ref.sh checks against the numpy
 * reference (tests/ref/lora_ref.py): base, adapter, batch, loss and the
 * adapter gradients of one step.
 */
#include "test.h"
#include "mote.h"
#include "train/train.h"
#include "gguf/gguf.h"
#include "tensor/types.h"
#include <unistd.h>

static uint64_t g_rng = 7;
static double urand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

/* Every row length a multiple of 32, so Q8_0 applies. */
static const mote_tr_shape k_shape = {.n_vocab = 48, .n_embd = 32, .n_layer = 2, .n_head = 4,
                                      .n_head_kv = 2, .n_ff = 64, .n_ctx = 16,
                                      .rope_freq_base = 10000.0f, .rms_eps = 1e-5f};
enum { B_ = 2, T_ = 8, RANK = 4 };
static const float ALPHA = 8.0f;

static char g_tmp[256];
static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    if (!g_tmp[0]) {
        snprintf(g_tmp, sizeof g_tmp, "/tmp/mote_lora_test_XXXXXX");
        if (!mkdtemp(g_tmp)) return "/nonexistent";
    }
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

/* A model of shape s with weights large enough for clear signals written
 * to path as F32. */
static bool write_base(const char *path, const mote_tr_shape *s, uint64_t seed) {
    mote_tr_model *m = NULL;
    mote_error err = {0};
    if (mote__tr_model_init(s, seed, &m, &err)) return false;
    g_rng = seed * 2654435761u + 1;
    float *p = mote__tr_model_params(m);
    for (int i = 0; i < mote__tr_model_n_tensors(m); i++) {
        const mote_tr_tensor *t = mote__tr_model_tensor(m, i);
        for (size_t j = 0; j < t->n; j++)
            p[t->offset + j] = t->n_dims == 1 ? (float)(1 + 0.3 * (2 * urand() - 1))
                                              : (float)(1.7 * (2 * urand() - 1) / sqrt((double)t->ne[0]));
    }
    bool ok = mote__tr_model_save(m, path, NULL, "lora-test", &err) == MOTE_OK;
    if (!ok) fprintf(stderr, "save: %s\n", err.msg);
    mote__tr_model_free(m);
    return ok;
}

/* Rewrite src with its block matrices quantized to `type` (q_path) and the
 * same values dequantized back to F32 (deq_path). */
static bool write_quant(const char *src, uint32_t type, const char *q_path, const char *deq_path) {
    mote_gguf *g = NULL;
    mote_error err = {0};
    if (mote_gguf_open(src, &g, &err)) return false;
    mote_gguf_writer *wq = mote__gguf_writer_new(), *wd = mote__gguf_writer_new();
    const mote_type_traits *q8 = mote__type_traits(type);
    void *bufs[64];
    int nb = 0;
    bool ok = wq && wd;
    for (int64_t i = 0; ok && i < mote_gguf_n_kv(g); i++)
        ok = !mote__gguf_set_from(wq, g, i) && !mote__gguf_set_from(wd, g, i);
    for (int64_t i = 0; ok && i < mote__gguf_n_tensors(g); i++) {
        const mote_gguf_tensor *t = mote__gguf_tensor(g, i);
        if (t->n_dims == 2 && !strncmp(t->name, "blk.", 4) && nb + 2 <= 64) {
            int64_t n = t->ne[0] * t->ne[1];
            void *q = malloc((size_t)(n / 32) * q8->type_size);
            float *d = malloc((size_t)n * sizeof(float));
            bufs[nb++] = q, bufs[nb++] = d;
            q8->quantize_ref(t->data, q, n);
            q8->dequantize_ref(q, d, n);
            ok = !mote__gguf_add_tensor(wq, t->name, type, 2, t->ne, q, &err) &&
                 !mote__gguf_add_tensor(wd, t->name, MOTE_TYPE_F32, 2, t->ne, d, &err);
        } else {
            ok = !mote__gguf_add_tensor(wq, t->name, t->type, t->n_dims, t->ne, t->data, &err) &&
                 !mote__gguf_add_tensor(wd, t->name, t->type, t->n_dims, t->ne, t->data, &err);
        }
    }
    ok = ok && !mote__gguf_write(wq, q_path, &err) && !mote__gguf_write(wd, deq_path, &err);
    for (int i = 0; i < nb; i++) free(bufs[i]);
    mote__gguf_writer_free(wq);
    mote__gguf_writer_free(wd);
    mote_gguf_close(g);
    return ok;
}

/* A frozen model of base with adapters (all seven targets, rank RANK,
 * alpha ALPHA); with random_b, B is drawn too (it starts at zero, which
 * would hide A's gradient and the adapter's effect). */
static bool make_lora(const char *base, bool random_b, mote_tr_model **m, mote_tr_lora **lo) {
    mote_error err = {0};
    *m = NULL, *lo = NULL;
    if (mote__tr_model_load_frozen(base, m, &err) ||
        mote__tr_lora_new(*m, base, RANK, ALPHA, (1u << MOTE_TR_N_MATS) - 1, 11, lo, &err)) {
        fprintf(stderr, "lora: %s\n", err.msg);
        return false;
    }
    if (random_b) {
        /* B of each slot follows its A: walk the layout of lora.c */
        const mote_tr_shape *s = mote__tr_model_shape(*m);
        const int64_t C = s->n_embd, F = s->n_ff, hd = C / s->n_head;
        const int64_t dims[7][2] = {{C, hd * s->n_head}, {C, hd * s->n_head_kv}, {C, hd * s->n_head_kv},
                                    {hd * s->n_head, C}, {C, F}, {C, F}, {F, C}};
        float *p = mote__tr_lora_params(*lo);
        g_rng = 12345;
        for (int l = 0; l < s->n_layer; l++)
            for (int k = 0; k < 7; k++) {
                p += RANK * dims[k][0];
                for (int64_t j = 0; j < dims[k][1] * RANK; j++) *p++ = (float)(0.6 * (2 * urand() - 1));
            }
    }
    return true;
}

static void batch(int32_t *ids, int32_t *tg, int n, int V, uint64_t seed) {
    g_rng = seed;
    for (int i = 0; i < n; i++) ids[i] = (int32_t)(urand() * V), tg[i] = (int32_t)(urand() * V);
}

/* The tensor of a full model called name. */
static const mote_tr_tensor *find(mote_tr_model *m, const char *name) {
    for (int i = 0; i < mote__tr_model_n_tensors(m); i++)
        if (!strcmp(mote__tr_model_tensor(m, i)->name, name)) return mote__tr_model_tensor(m, i);
    return NULL;
}

/* ---- gradients ---- */

static void test_grad_chain_rule(void) {
    const char *base = tmp_path("base.gguf");
    char bp[512];
    snprintf(bp, sizeof bp, "%s", base);
    T_REQUIRE(write_base(bp, &k_shape, 3), "writing the base failed");
    mote_tr_model *fm = NULL, *full = NULL;
    mote_tr_lora *lo = NULL;
    mote_error err = {0};
    T_REQUIRE(make_lora(bp, true, &fm, &lo), "adapters failed");
    int32_t ids[B_ * T_], tg[B_ * T_];
    batch(ids, tg, B_ * T_, k_shape.n_vocab, 5);
    float loss_l = 0, loss_f = 0;
    memset(mote__tr_lora_grads(lo), 0, mote__tr_lora_n_params(lo) * sizeof(float));
    T_REQUIRE(!mote__tr_model_forward(fm, ids, tg, B_, T_, &loss_l, &err), "%s", err.msg);
    T_REQUIRE(!mote__tr_model_backward(fm, 1.0f, &err), "%s", err.msg);

    /* the full model at the merged weights */
    T_REQUIRE(!mote__tr_model_load(bp, &full, &err), "%s", err.msg);
    const float s = ALPHA / RANK;
    const float *lp = mote__tr_lora_params(lo), *lg = mote__tr_lora_grads(lo);
    float *fp = mote__tr_model_params(full);
    const float *cur = lp;
    for (int l = 0; l < k_shape.n_layer; l++)
        for (int k = 0; k < MOTE_TR_N_MATS; k++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, mote__tr_mat_names[k]);
            const mote_tr_tensor *t = find(full, name);
            const int64_t IC = t->ne[0], OC = t->ne[1];
            const float *A = cur, *Bm = cur + RANK * IC;
            cur += RANK * (IC + OC);
            for (int64_t o = 0; o < OC; o++)
                for (int64_t i = 0; i < IC; i++) {
                    double d = 0;
                    for (int r = 0; r < RANK; r++) d += (double)Bm[o * RANK + r] * A[r * IC + i];
                    fp[t->offset + o * IC + i] += (float)(s * d);
                }
        }
    mote__tr_model_zero_grad(full);
    T_REQUIRE(!mote__tr_model_forward(full, ids, tg, B_, T_, &loss_f, &err), "%s", err.msg);
    T_REQUIRE(!mote__tr_model_backward(full, 1.0f, &err), "%s", err.msg);
    T_CHECK(fabsf(loss_l - loss_f) <= 1e-5f * loss_f, "loss %.7f with adapters, %.7f merged", loss_l, loss_f);
    const float *G = mote__tr_model_grads(full);
    double worst = 0;
    cur = lp;
    const float *gcur = lg;
    for (int l = 0; l < k_shape.n_layer; l++)
        for (int k = 0; k < MOTE_TR_N_MATS; k++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, mote__tr_mat_names[k]);
            const mote_tr_tensor *t = find(full, name);
            const int64_t IC = t->ne[0], OC = t->ne[1];
            const float *A = cur, *Bm = cur + RANK * IC, *dA = gcur, *dB = gcur + RANK * IC;
            const float *Gw = G + t->offset;
            double ma = 0, mb = 0, ea = 0, eb = 0;
            for (int r = 0; r < RANK; r++)
                for (int64_t i = 0; i < IC; i++) { /* dA = s B^T G */
                    double ref = 0;
                    for (int64_t o = 0; o < OC; o++) ref += (double)Bm[o * RANK + r] * Gw[o * IC + i];
                    ref *= s;
                    ma = fmax(ma, fabs(ref));
                    ea = fmax(ea, fabs(ref - dA[r * IC + i]));
                }
            for (int64_t o = 0; o < OC; o++)
                for (int r = 0; r < RANK; r++) { /* dB = s G A^T */
                    double ref = 0;
                    for (int64_t i = 0; i < IC; i++) ref += (double)Gw[o * IC + i] * A[r * IC + i];
                    ref *= s;
                    mb = fmax(mb, fabs(ref));
                    eb = fmax(eb, fabs(ref - dB[o * RANK + r]));
                }
            T_CHECK(ma > 0 && mb > 0, "%s: zero reference gradient", name);
            worst = fmax(worst, fmax(ea / ma, eb / mb));
            cur += RANK * (IC + OC);
            gcur += RANK * (IC + OC);
        }
    T_CHECK(worst <= 1e-4, "adapter gradients differ from the chain rule by %.3g of max |grad|", worst);
    printf("#   loss %.6f (merged %.6f); adapter grads vs chain rule: worst %.2g of max |grad|\n",
           loss_l, loss_f, worst);

    /* central differences of the loss on a few entries */
    float *p = mote__tr_lora_params(lo);
    const size_t n = mote__tr_lora_n_params(lo);
    double fd_worst = 0;
    g_rng = 77;
    for (int trial = 0; trial < 8; trial++) {
        size_t j = (size_t)(urand() * (double)n);
        float keep = p[j], h = 1e-2f, lp1 = 0, lm1 = 0;
        p[j] = keep + h;
        mote__tr_model_forward(fm, ids, tg, B_, T_, &lp1, &err);
        p[j] = keep - h;
        mote__tr_model_forward(fm, ids, tg, B_, T_, &lm1, &err);
        p[j] = keep;
        double fd = ((double)lp1 - lm1) / (2.0 * h), e = fabs(fd - lg[j]);
        T_CHECK(e <= 2e-3 + 2e-2 * fabs(lg[j]), "entry %zu: finite difference %.6g, gradient %.6g", j, fd, lg[j]);
        fd_worst = fmax(fd_worst, e);
    }
    printf("#   finite differences (h 1e-2, f32 loss): worst |fd - grad| %.2g\n", fd_worst);
    mote__tr_lora_free(lo);
    mote__tr_model_free(fm);
    mote__tr_model_free(full);
}

/* ---- a quantized base ---- */

static void test_quantized_base(void) {
    char bp[512], qp[512], dp[512];
    snprintf(bp, sizeof bp, "%s", tmp_path("base.gguf"));
    snprintf(qp, sizeof qp, "%s", tmp_path("base_quant.gguf"));
    snprintf(dp, sizeof dp, "%s", tmp_path("base_deq.gguf"));
    mote_error err = {0};
    int32_t ids[B_ * T_], tg[B_ * T_];
    batch(ids, tg, B_ * T_, k_shape.n_vocab, 9);
    T_REQUIRE(write_base(bp, &k_shape, 3), "writing the base failed");
    const uint32_t types[2] = {MOTE_TYPE_Q4_0, MOTE_TYPE_Q8_0}; /* Q8_0 last: used below */
    for (int ti = 0; ti < 2; ti++) {
        T_REQUIRE(write_quant(bp, types[ti], qp, dp), "writing the %s bases failed", mote__type_name(types[ti]));
        mote_tr_model *mq = NULL, *md = NULL;
        mote_tr_lora *lq = NULL, *ld = NULL;
        T_REQUIRE(make_lora(qp, true, &mq, &lq) && make_lora(dp, true, &md, &ld), "adapters failed");
        float l1 = 0, l2 = 0;
        T_REQUIRE(!mote__tr_model_set_threads(mq, 2, &err), "%s", err.msg);
        T_REQUIRE(!mote__tr_model_forward(mq, ids, tg, B_, T_, &l1, &err) && !mote__tr_model_backward(mq, 1, &err), "%s", err.msg);
        T_REQUIRE(!mote__tr_model_forward(md, ids, tg, B_, T_, &l2, &err) && !mote__tr_model_backward(md, 1, &err), "%s", err.msg);
        T_CHECK(l1 == l2, "%s base loss %.9g, its dequantized F32 copy %.9g", mote__type_name(types[ti]), l1, l2);
        T_CHECK(!memcmp(mote__tr_lora_grads(lq), mote__tr_lora_grads(ld), mote__tr_lora_n_params(lq) * sizeof(float)),
                "adapter gradients differ between the %s base and its dequantized copy", mote__type_name(types[ti]));
        mote__tr_lora_free(lq), mote__tr_lora_free(ld);
        mote__tr_model_free(mq), mote__tr_model_free(md);
    }

    /* the public API: a Q8_0 base trains with LoRA, and not whole */
    mote_train_params p = mote_train_default_params();
    p.lr = 1e-2f, p.warmup = 2, p.n_steps = 30, p.n_threads = 2;
    mote_lora_train_params lp = {.rank = 4, .alpha = 8, .targets = "attn_q,attn_v,ffn_down"};
    mote_trainer *tr = NULL;
    T_REQUIRE(!mote_trainer_new_lora(&p, qp, &lp, &tr, &err), "%s", err.msg);
    T_CHECK(mote_trainer_n_params(tr) == (uint64_t)(2 * 4 * ((32 + 32) + (32 + 16) + (64 + 32))),
            "adapter parameter count %llu", (unsigned long long)mote_trainer_n_params(tr));
    float first = 0, last = 0;
    for (int i = 0; i < 30; i++) {
        float l;
        T_REQUIRE(!mote_trainer_step(tr, ids, tg, B_, T_, 1, &l, NULL, &err), "%s", err.msg);
        if (i == 0) first = l;
        last = l;
    }
    T_CHECK(last < first - 0.5f, "LoRA on a Q8_0 base: loss %.4f -> %.4f in 30 steps", first, last);
    printf("#   LoRA on a Q8_0 base: loss %.4f -> %.4f in 30 steps on one batch\n", first, last);
    mote_trainer_free(tr);
    tr = NULL;
    T_CHECK(mote_trainer_new(&p, qp, &tr, &err) == MOTE_ERR_UNSUPPORTED && strstr(err.msg, "q8_0"),
            "full training of a Q8_0 base: %s", err.msg);
    mote_trainer_free(tr);
    lp.targets = "attn_q,attn_z";
    T_CHECK(mote_trainer_new_lora(&p, qp, &lp, &tr, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "attn_z"),
            "unknown target: %s", err.msg);
    lp.targets = NULL, lp.rank = 40;
    T_CHECK(mote_trainer_new_lora(&p, qp, &lp, &tr, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "rank"),
            "rank above a matrix's side: %s", err.msg);
}

/* ---- the adapter file ---- */

static void test_adapter_file(void) {
    char bp[512], ap[512];
    snprintf(bp, sizeof bp, "%s", tmp_path("base.gguf"));
    snprintf(ap, sizeof ap, "%s", tmp_path("adapter.gguf"));
    T_REQUIRE(write_base(bp, &k_shape, 3), "writing the base failed");
    mote_tr_model *m = NULL;
    mote_tr_lora *lo = NULL;
    mote_error err = {0};
    T_REQUIRE(make_lora(bp, true, &m, &lo), "adapters failed");
    T_REQUIRE(!mote__tr_lora_save(lo, ap, &err), "%s", err.msg);
    mote_gguf *g = NULL;
    T_REQUIRE(!mote_gguf_open(ap, &g, &err), "%s", err.msg);
    const char *v;
    uint64_t len;
    float alpha = 0;
    T_CHECK(!mote__gguf_get_str(g, "general.type", &v, &len, &err) && len == 7 && !memcmp(v, "adapter", 7), "general.type");
    T_CHECK(!mote__gguf_get_str(g, "adapter.type", &v, &len, &err) && len == 4 && !memcmp(v, "lora", 4), "adapter.type");
    T_CHECK(!mote__gguf_get_str(g, "general.architecture", &v, &len, &err) && len == 5 && !memcmp(v, "llama", 5), "arch");
    T_CHECK(!mote__gguf_get_f32(g, "adapter.lora.alpha", &alpha, &err) && alpha == ALPHA, "alpha %g", alpha);
    T_CHECK(mote__gguf_n_tensors(g) == 2 * 7 * k_shape.n_layer, "%lld tensors", (long long)mote__gguf_n_tensors(g));
    const float *cur = mote__tr_lora_params(lo);
    const int64_t outs[7] = {32, 16, 16, 32, 64, 64, 32}, ins[7] = {32, 32, 32, 32, 32, 32, 64};
    for (int l = 0; l < k_shape.n_layer; l++)
        for (int k = 0; k < 7; k++) {
            char na[96], nb[96];
            snprintf(na, sizeof na, "blk.%d.%s.weight.lora_a", l, mote__tr_mat_names[k]);
            snprintf(nb, sizeof nb, "blk.%d.%s.weight.lora_b", l, mote__tr_mat_names[k]);
            const mote_gguf_tensor *ta = mote__gguf_find_tensor(g, na), *tb = mote__gguf_find_tensor(g, nb);
            T_REQUIRE(ta && tb, "missing %s or %s", na, nb);
            T_CHECK(ta->type == MOTE_TYPE_F32 && ta->n_dims == 2 && ta->ne[0] == ins[k] && ta->ne[1] == RANK,
                    "%s has ne [%lld, %lld]", na, (long long)ta->ne[0], (long long)ta->ne[1]);
            T_CHECK(tb->type == MOTE_TYPE_F32 && tb->n_dims == 2 && tb->ne[0] == RANK && tb->ne[1] == outs[k],
                    "%s has ne [%lld, %lld]", nb, (long long)tb->ne[0], (long long)tb->ne[1]);
            T_CHECK(!memcmp(ta->data, cur, (size_t)(RANK * ins[k]) * 4) &&
                        !memcmp(tb->data, cur + RANK * ins[k], (size_t)(RANK * outs[k]) * 4),
                    "%s: values differ from the trained ones", na);
            cur += RANK * (ins[k] + outs[k]);
        }
    mote_gguf_close(g);
    mote_lora *ad = NULL;
    T_REQUIRE(!mote_lora_open(ap, &ad, &err), "%s", err.msg);
    T_CHECK(mote_lora_n_pairs(ad) == 14 && mote_lora_rank(ad) == RANK && mote_lora_alpha(ad) == ALPHA,
            "pairs %d rank %d alpha %g", mote_lora_n_pairs(ad), mote_lora_rank(ad), mote_lora_alpha(ad));
    mote_lora_free(ad);
    /* a tensor name with a newline (found by fuzz_lora): an error of one line */
    {
        FILE *f = fopen(ap, "rb");
        T_REQUIRE(f, "cannot reopen %s", ap);
        static char bytes[1 << 20];
        size_t n = fread(bytes, 1, sizeof bytes, f);
        fclose(f);
        const char *name = "blk.0.attn_q.weight.lora_a";
        char *hit = memmem(bytes, n, name, strlen(name));
        T_REQUIRE(hit, "%s not in the file", name);
        hit[11] = '\n';
        const char *bad = tmp_path("adapter-newline.gguf");
        f = fopen(bad, "wb");
        T_REQUIRE(f && fwrite(bytes, 1, n, f) == n, "cannot write %s", bad);
        fclose(f);
        T_CHECK(mote_lora_open(bad, &ad, &err) == MOTE_ERR_FORMAT && !strchr(err.msg, '\n') &&
                    strstr(err.msg, "blk.0.attn_?.weight.lora_a has no"),
                "a name with a newline: %s", err.msg);
    }
    /* a model is not an adapter */
    T_CHECK(mote_lora_open(bp, &ad, &err) == MOTE_ERR_FORMAT && strstr(err.msg, "general.type"),
            "a model opened as an adapter: %s", err.msg);
    mote__tr_lora_free(lo);
    mote__tr_model_free(m);
}

/* ---- inference: scale 0, training agreement, merge, another model ---- */

static float *decode(const char *model_path, const mote_lora *ad, float scale, int threads,
                     const int32_t *ids, int n) {
    mote_model *m = NULL;
    mote_ctx *c = NULL;
    mote_error err = {0};
    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_threads = threads;
    float *out = malloc((size_t)n * 48 * sizeof(float));
    bool ok = !mote_model_load(model_path, &m, &err) && !mote_ctx_new(m, &cp, &c, &err) &&
              (!ad || !mote_ctx_lora_attach(c, ad, scale, &err)) && !mote_ctx_decode(c, ids, n, out, &err);
    if (!ok) {
        fprintf(stderr, "decode: %s\n", err.msg);
        free(out);
        out = NULL;
    }
    mote_ctx_free(c);
    mote_model_free(m);
    return out;
}

static double max_diff(const float *a, const float *b, int n, double *mx) {
    double d = 0;
    *mx = 0;
    for (int i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i])), *mx = fmax(*mx, fabs(a[i]));
    return d;
}

static void test_inference(void) {
    char bp[512], ap[512], mp[512], op[512], xp[512];
    snprintf(bp, sizeof bp, "%s", tmp_path("base.gguf"));
    snprintf(ap, sizeof ap, "%s", tmp_path("adapter.gguf"));
    snprintf(mp, sizeof mp, "%s", tmp_path("merged.gguf"));
    snprintf(op, sizeof op, "%s", tmp_path("other.gguf"));
    snprintf(xp, sizeof xp, "%s", tmp_path("never.gguf"));
    T_REQUIRE(write_base(bp, &k_shape, 3), "writing the base failed");
    mote_tr_model *tm = NULL;
    mote_tr_lora *lo = NULL;
    mote_error err = {0};
    T_REQUIRE(make_lora(bp, true, &tm, &lo), "adapters failed");
    T_REQUIRE(!mote__tr_lora_save(lo, ap, &err), "%s", err.msg);
    enum { N = 12 };
    int32_t ids[N], tg[N];
    batch(ids, tg, N, k_shape.n_vocab, 21);
    T_REQUIRE(!mote__tr_model_forward(tm, ids, NULL, 1, N, NULL, &err), "%s", err.msg);
    const float *train_logits = mote__tr_model_logits(tm);
    mote_lora *ad = NULL;
    T_REQUIRE(!mote_lora_open(ap, &ad, &err), "%s", err.msg);

    float *none = decode(bp, NULL, 0, 2, ids, N), *zero = decode(bp, ad, 0.0f, 2, ids, N);
    float *one = decode(bp, ad, 1.0f, 3, ids, N), *one1 = decode(bp, ad, 1.0f, 1, ids, N);
    T_REQUIRE(none && zero && one && one1, "decoding failed");
    double mx, d;
    T_CHECK(!memcmp(none, zero, N * 48 * sizeof(float)), "an adapter at scale 0 changed the logits");
    T_CHECK(!memcmp(one, one1, N * 48 * sizeof(float)), "adapter logits differ between 1 and 3 threads");
    d = max_diff(one, none, N * 48, &mx);
    T_CHECK(d > 0.1, "the adapter at scale 1 hardly changes the logits (%.3g)", d);
    d = max_diff(one, train_logits, N * 48, &mx);
    T_CHECK(d <= 1e-4 * (1 + mx), "inference with the adapter vs the training forward: %.3g (max %.3g)", d, mx);
    printf("#   adapter applied at inference vs training forward: max diff %.2g of max |logit| %.3g\n", d, mx);

    const mote_lora *list[1] = {ad};
    float sc[1] = {1.0f};
    T_REQUIRE(!mote_lora_merge(bp, list, sc, 1, mp, NULL, &err), "merge: %s", err.msg);
    float *merged = decode(mp, NULL, 0, 2, ids, N);
    T_REQUIRE(merged, "decoding the merged model failed");
    d = max_diff(merged, one, N * 48, &mx);
    T_CHECK(d <= 1e-4 * (1 + mx), "merged vs applied: %.3g (max %.3g)", d, mx);
    printf("#   merged (f32) vs applied adapter: max diff %.2g of max |logit| %.3g\n", d, mx);

    /* another model: the same names, another feed-forward width */
    mote_tr_shape other = k_shape;
    other.n_ff = 96;
    T_REQUIRE(write_base(op, &other, 4), "writing the other base failed");
    mote_model *om = NULL;
    mote_ctx *oc = NULL;
    T_REQUIRE(!mote_model_load(op, &om, &err) && !mote_ctx_new(om, NULL, &oc, &err), "%s", err.msg);
    T_CHECK(mote_ctx_lora_attach(oc, ad, 1.0f, &err) == MOTE_ERR_FORMAT && strstr(err.msg, "another model") &&
                strstr(err.msg, "ffn_gate"),
            "attach to another model: %s", err.msg);
    T_CHECK(mote_lora_merge(op, list, sc, 1, xp, NULL, &err) == MOTE_ERR_FORMAT && access(xp, F_OK) != 0,
            "merge into another model: %s", err.msg);
    mote_ctx_free(oc);
    mote_model_free(om);
    oc = NULL, om = NULL;
    const char *assets = t_assets();
    if (assets) { /* and a real model of another shape */
        char sp[4200];
        snprintf(sp, sizeof sp, "%s/models/stories260K.gguf", assets);
        T_CHECK(!mote_model_load(sp, &om, &err) && !mote_ctx_new(om, NULL, &oc, &err), "%s", err.msg);
        if (oc)
            T_CHECK(mote_ctx_lora_attach(oc, ad, 1.0f, &err) == MOTE_ERR_FORMAT && strstr(err.msg, "another model"),
                    "attach to stories260K: %s", err.msg);
        mote_ctx_free(oc);
        mote_model_free(om);
    } else {
        printf("#   ../shared/assets is absent: the stories260K refusal is not checked\n");
    }
    free(none), free(zero), free(one), free(one1), free(merged);
    mote_lora_free(ad);
    mote__tr_lora_free(lo);
    mote__tr_model_free(tm);
}

/* ---- --dump DIR: the data of tests/lora_ref.sh ---- */

static int dump(const char *dir) {
    char bp[600], ap[600], p[600];
    snprintf(bp, sizeof bp, "%s/model.gguf", dir);
    snprintf(ap, sizeof ap, "%s/lora.gguf", dir);
    mote_tr_model *m = NULL;
    mote_tr_lora *lo = NULL;
    mote_error err = {0};
    if (!write_base(bp, &k_shape, 3) || !make_lora(bp, true, &m, &lo) || mote__tr_lora_save(lo, ap, &err)) {
        fprintf(stderr, "dump: %s\n", err.msg);
        return 1;
    }
    int32_t ids[B_ * T_], tg[B_ * T_];
    batch(ids, tg, B_ * T_, k_shape.n_vocab, 5);
    float loss = 0;
    if (mote__tr_model_forward(m, ids, tg, B_, T_, &loss, &err) || mote__tr_model_backward(m, 1.0f, &err)) {
        fprintf(stderr, "dump: %s\n", err.msg);
        return 1;
    }
    snprintf(p, sizeof p, "%s/meta.txt", dir);
    FILE *f = fopen(p, "w");
    if (!f) return 1;
    fprintf(f, "B %d\nT %d\nids", B_, T_);
    for (int i = 0; i < B_ * T_; i++) fprintf(f, " %d", ids[i]);
    fprintf(f, "\ntargets");
    for (int i = 0; i < B_ * T_; i++) fprintf(f, " %d", tg[i]);
    fprintf(f, "\nloss %.9g\n", loss);
    fclose(f);
    snprintf(p, sizeof p, "%s/grads.bin", dir);
    f = fopen(p, "wb");
    if (!f) return 1;
    size_t n = mote__tr_lora_n_params(lo);
    bool ok = fwrite(mote__tr_lora_grads(lo), sizeof(float), n, f) == n;
    ok = fclose(f) == 0 && ok;
    mote__tr_lora_free(lo);
    mote__tr_model_free(m);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--dump")) return dump(argv[2]);
    T_RUN(test_grad_chain_rule);
    T_RUN(test_quantized_base);
    T_RUN(test_adapter_file);
    T_RUN(test_inference);
    if (g_tmp[0]) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    }
    return t_exit();
}
