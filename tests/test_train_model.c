/* test_train_model.c — the trainable model as a whole: it agrees with
 * inference, reads and writes GGUF, accumulates gradients, and learns; the
 * optimizer pieces against hand-computed values; the public mote_trainer
 * API's accumulation; its error paths.
 *
 * Also, with `--dump DIR`, the data that tests/train_ref.sh checks against
 * the numpy reference (tests/ref/train_ref.py): a tiny model (dim 16, 2
 * layers, 4 heads, 2 KV heads, ffn 24, vocab 32, B 2, T 8) as GGUF, a
 * batch, the losses and raw gradients of two steps and the parameters
 * after each AdamW step (clipping active on the first).
 */
#include "test.h"
#include "train/ops.c"
#include "train/matmul.c"
#include "train/attention.c"
#include "train/model.c"
#include "train/optim.c"
#include "train/trainer.c"
#include <unistd.h>

static uint64_t g_rng = 99;
static double urand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

static const mote_tr_shape k_tiny = {.n_vocab = 32, .n_embd = 16, .n_layer = 2, .n_head = 4,
                                     .n_head_kv = 2, .n_ff = 24, .n_ctx = 8,
                                     .rope_freq_base = 10000.0f, .rms_eps = 1e-5f};

/* A model of shape s with weights large enough for clear signals:
 * matrices uniform with std ~1/sqrt(fan-in), norms 1 +- 0.3. */
static mote_tr_model *make_model(const mote_tr_shape *s, uint64_t seed) {
    mote_tr_model *m = NULL;
    mote_error err = {0};
    if (mote__tr_model_init(s, seed, &m, &err) != MOTE_OK) {
        fprintf(stderr, "init: %s\n", err.msg);
        return NULL;
    }
    g_rng = seed * 2654435761u + 1;
    for (int i = 0; i < m->n_tensors; i++) {
        const mote_tr_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        for (size_t j = 0; j < t->n; j++)
            p[j] = t->n_dims == 1 ? (float)(1 + 0.3 * (2 * urand() - 1))
                                  : (float)(1.7 * (2 * urand() - 1) / sqrt((double)t->ne[0]));
    }
    return m;
}

static char g_tmp[256];
static const char *tmp_path(const char *name) {
    static char buf[512];
    if (!g_tmp[0]) {
        snprintf(g_tmp, sizeof g_tmp, "/tmp/mote_train_test_XXXXXX");
        if (!mkdtemp(g_tmp)) return NULL;
    }
    snprintf(buf, sizeof buf, "%s/%s", g_tmp, name);
    return buf;
}

/* ---- agreement with inference ---- */

/* Save a model, load it with src/model (mote_model_load) and decode the
 * same tokens: the logits must agree with the training forward within
 * 1e-5 of 1 + max|logit| (both f32; summation orders differ). This pins
 * the tensor names, the layout, RoPE and GQA to inference's. */
static void test_inference_agrees(void) {
    mote_tr_shape s = k_tiny;
    s.n_ctx = 16;
    s.n_vocab = 40;
    s.n_embd = 32; /* head size 8: the vector attention path */
    mote_tr_model *tm = make_model(&s, 3);
    T_REQUIRE(tm, "init failed");
    const char *path = tmp_path("infer.gguf");
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    mote_error err = {0};
    T_REQUIRE(mote__tr_model_save(tm, p, NULL, "test", &err) == MOTE_OK, "save: %s", err.msg);
    int32_t ids[16];
    for (int i = 0; i < 16; i++) ids[i] = (int32_t)(urand() * s.n_vocab);
    T_REQUIRE(mote__tr_model_forward(tm, ids, NULL, 1, 16, NULL, &err) == MOTE_OK, "%s", err.msg);
    const float *tl = mote__tr_model_logits(tm);

    mote_model *im = NULL;
    mote_ctx *c = NULL;
    T_REQUIRE(mote_model_load(p, &im, &err) == MOTE_OK, "mote_model_load: %s", err.msg);
    float *il = malloc(16 * 40 * sizeof(float));
    T_CHECK(mote_ctx_new(im, NULL, &c, &err) == MOTE_OK, "%s", err.msg);
    if (c) T_CHECK(mote_ctx_decode(c, ids, 16, il, &err) == MOTE_OK, "%s", err.msg);
    if (c && !t_cur_failed) {
        double mx = 0, d = 0;
        for (int i = 0; i < 16 * 40; i++) {
            mx = fmax(mx, fabs(il[i]));
            d = fmax(d, fabs(il[i] - tl[i]));
        }
        T_CHECK(d <= 1e-5 * (1 + mx), "training and inference logits differ by %.3g (max %.3g)", d, mx);
        printf("#   training vs inference logits: max diff %.3g of max |logit| %.3g\n", d, mx);
    }
    free(il);
    mote_ctx_free(c);
    mote_model_free(im);
    mote__tr_model_free(tm);
}

/* The real stories260K loaded for training reproduces the reference run's
 * golden logits after BOS (within 1e-4 each, as test_model.c). */
static void test_load_stories_golden(void) {
    const char *assets = t_assets();
    if (!assets) T_SKIP("../shared/assets/models/stories260K.gguf is absent");
    char path[4200];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", assets);
    mote_tr_model *m = NULL;
    mote_error err = {0};
    T_REQUIRE(mote__tr_model_load(path, &m, &err) == MOTE_OK, "%s", err.msg);
    const mote_tr_shape *s = mote__tr_model_shape(m);
    T_CHECK(s->n_embd == 64 && s->n_layer == 5 && s->n_head == 8 && s->n_head_kv == 4 &&
                s->n_vocab == 512 && s->n_ff == 172,
            "shape %d %d %d %d %d %d", s->n_embd, s->n_layer, s->n_head, s->n_head_kv, s->n_vocab,
            s->n_ff);
    int32_t bos = 1;
    T_REQUIRE(mote__tr_model_forward(m, &bos, NULL, 1, 1, NULL, &err) == MOTE_OK, "%s", err.msg);
    const float *l = mote__tr_model_logits(m);
    const float want[5] = {-6.222911f, 8.404342f, -6.223737f, -6.222542f, -6.221951f};
    double sum = 0;
    for (int i = 0; i < 512; i++) sum += l[i];
    for (int i = 0; i < 5; i++)
        T_CHECK(fabsf(l[i] - want[i]) <= 1e-4f, "logit %d = %.6f, golden %.6f", i, l[i], want[i]);
    T_CHECK(fabs(sum - -1070.171674) <= 512 * 1e-4, "logit sum %.6f, golden -1070.171674", sum);
    mote__tr_model_free(m);
}

/* save -> load gives the same parameters bit for bit, and a vocab GGUF's
 * tokenizer rides along (so `mote run` can tokenize). */
static void test_save_load_roundtrip(void) {
    mote_tr_model *m = make_model(&k_tiny, 5), *m2 = NULL;
    T_REQUIRE(m, "init failed");
    char p[512];
    snprintf(p, sizeof p, "%s", tmp_path("rt.gguf"));
    mote_error err = {0};
    T_REQUIRE(mote__tr_model_save(m, p, NULL, NULL, &err) == MOTE_OK, "%s", err.msg);
    T_REQUIRE(mote__tr_model_load(p, &m2, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(m2->n_params == m->n_params, "n_params %zu vs %zu", m2->n_params, m->n_params);
    T_CHECK(!memcmp(m->params, m2->params, m->n_params * sizeof(float)), "parameters differ");
    mote__tr_model_free(m2);
    mote__tr_model_free(m);

    const char *assets = t_assets();
    if (!assets) return;
    char vocab[4200];
    snprintf(vocab, sizeof vocab, "%s/models/stories260K.gguf", assets);
    mote_tr_shape s = k_tiny;
    s.n_vocab = 512;
    m = make_model(&s, 6);
    T_REQUIRE(m, "init failed");
    T_CHECK(mote__tr_model_save(m, p, vocab, "with-vocab", &err) == MOTE_OK, "%s", err.msg);
    mote_model *im = NULL;
    T_CHECK(mote_model_load(p, &im, &err) == MOTE_OK, "%s", err.msg);
    if (im) {
        const mote_vocab *v = mote_model_vocab(im);
        T_CHECK(v && mote_vocab_n_tokens(v) == 512 && mote_vocab_bos(v) == 1,
                "the tokenizer was not copied");
        mote_model_free(im);
    }
    mote__tr_model_free(m);
    /* A vocab of another size is refused. */
    m = make_model(&k_tiny, 6);
    T_CHECK(mote__tr_model_save(m, p, vocab, NULL, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "512 tokens"),
            "vocab size mismatch: %s", err.msg);
    mote__tr_model_free(m);
}

/* A GGUF with F16 matrices, F32 norms and no output.weight (tied) loads
 * for training: every value is the f16 value exactly, and output starts as
 * a copy of token_embd. A Q8_0 matrix is refused, naming the tensor. */
static void test_load_f16_tied(void) {
    mote_tr_shape sh = k_tiny;
    sh.n_embd = 32; /* rows of 32: a whole Q8_0 block */
    mote_tr_model *m = make_model(&sh, 12), *m2 = NULL;
    T_REQUIRE(m, "init failed");
    const mote_type_traits *f16 = mote__type_traits(MOTE_TYPE_F16);
    const mote_type_traits *q8 = mote__type_traits(MOTE_TYPE_Q8_0);
    T_REQUIRE(f16 && f16->quantize_ref && f16->dequantize_ref && q8 && q8->quantize_ref, "no f16/q8_0 traits");
    uint16_t *half = malloc(m->n_params * 2);
    void *q8buf = malloc(m->n_params * 2 + 64);
    float *want = malloc(m->n_params * sizeof(float));
    char p[512];
    snprintf(p, sizeof p, "%s", tmp_path("f16.gguf"));
    mote_error err = {0};
    for (int pass = 0; pass < 2; pass++) { /* 0: F16, 1: one matrix Q8_0 */
        mote_gguf_writer *w = mote__gguf_writer_new();
        T_REQUIRE(w, "writer");
        mote__gguf_set_str(w, "general.architecture", "llama");
        mote__gguf_set_u32(w, "llama.embedding_length", 32);
        mote__gguf_set_u32(w, "llama.block_count", 2);
        mote__gguf_set_u32(w, "llama.feed_forward_length", 24);
        mote__gguf_set_u32(w, "llama.attention.head_count", 4);
        mote__gguf_set_u32(w, "llama.attention.head_count_kv", 2);
        mote__gguf_set_u32(w, "llama.context_length", 8);
        for (int i = 0; i < m->n_tensors; i++) {
            const mote_tr_tensor *t = &m->tensors[i];
            if (!strcmp(t->name, "output.weight")) continue; /* tied */
            const float *src = m->params + t->offset;
            if (t->n_dims == 1) {
                memcpy(want + t->offset, src, t->n * sizeof(float));
                mote__gguf_add_tensor(w, t->name, MOTE_TYPE_F32, 1, t->ne, src, &err);
            } else if (pass == 1 && i == 2) {
                q8->quantize_ref(src, q8buf, (int64_t)t->n);
                mote__gguf_add_tensor(w, t->name, MOTE_TYPE_Q8_0, 2, t->ne, q8buf, &err);
            } else {
                f16->quantize_ref(src, half + t->offset, (int64_t)t->n);
                f16->dequantize_ref(half + t->offset, want + t->offset, (int64_t)t->n);
                mote__gguf_add_tensor(w, t->name, MOTE_TYPE_F16, 2, t->ne, half + t->offset, &err);
            }
        }
        T_CHECK(mote__gguf_write(w, p, &err) == MOTE_OK, "write: %s", err.msg);
        mote__gguf_writer_free(w);
        mote_status st = mote__tr_model_load(p, &m2, &err);
        if (pass == 1) {
            T_CHECK(st == MOTE_ERR_UNSUPPORTED && strstr(err.msg, "blk.0.attn_q.weight") && !m2,
                    "a Q8_0 matrix: %s", err.msg);
            break;
        }
        T_REQUIRE(st == MOTE_OK, "%s", err.msg);
        const mote_tr_tensor *out = &m2->tensors[m2->n_tensors - 1];
        T_CHECK(!strcmp(out->name, "output.weight"), "last tensor %s", out->name);
        memcpy(want + out->offset, want, out->n * sizeof(float)); /* token_embd is first */
        T_CHECK(!memcmp(want, m2->params, m2->n_params * sizeof(float)),
                "loaded values differ from the f16 values");
        mote__tr_model_free(m2);
        m2 = NULL;
    }
    unlink(p);
    free(half), free(q8buf), free(want);
    mote__tr_model_free(m);
}

/* ---- gradients ---- */

/* Two micro-batches of one sequence each with dloss = 1/2 accumulate the
 * gradient of the two-sequence batch (within 1e-5 of the largest entry). */
static void test_grad_accumulation(void) {
    mote_tr_model *m = make_model(&k_tiny, 9);
    T_REQUIRE(m, "init failed");
    mote__tr_model_set_threads(m, 2, NULL);
    int32_t ids[16], tg[16];
    for (int i = 0; i < 16; i++) ids[i] = (int32_t)(urand() * 32), tg[i] = (int32_t)(urand() * 32);
    mote_error err = {0};
    float l_full, l0, l1;
    mote__tr_model_zero_grad(m);
    T_REQUIRE(mote__tr_model_forward(m, ids, tg, 2, 8, &l_full, &err) == MOTE_OK, "%s", err.msg);
    T_REQUIRE(mote__tr_model_backward(m, 1.0f, &err) == MOTE_OK, "%s", err.msg);
    float *full = malloc(m->n_params * sizeof(float));
    memcpy(full, m->grads, m->n_params * sizeof(float));
    mote__tr_model_zero_grad(m);
    T_REQUIRE(mote__tr_model_forward(m, ids, tg, 1, 8, &l0, &err) == MOTE_OK, "%s", err.msg);
    T_REQUIRE(mote__tr_model_backward(m, 0.5f, &err) == MOTE_OK, "%s", err.msg);
    T_REQUIRE(mote__tr_model_forward(m, ids + 8, tg + 8, 1, 8, &l1, &err) == MOTE_OK, "%s", err.msg);
    T_REQUIRE(mote__tr_model_backward(m, 0.5f, &err) == MOTE_OK, "%s", err.msg);
    double mx = 0, d = 0;
    for (size_t i = 0; i < m->n_params; i++) {
        mx = fmax(mx, fabs(full[i]));
        d = fmax(d, fabs(full[i] - m->grads[i]));
    }
    T_CHECK(mx > 0 && d <= 1e-5 * mx, "accumulated gradient differs by %.3g (max %.3g)", d, mx);
    T_CHECK(fabsf(l_full - 0.5f * (l0 + l1)) <= 1e-5f * l_full, "loss %g vs (%g + %g)/2", l_full, l0, l1);
    /* A second backward without a new forward is refused. */
    T_CHECK(mote__tr_model_backward(m, 1.0f, &err) == MOTE_ERR_INVALID_ARG, "double backward accepted");
    free(full);
    mote__tr_model_free(m);
}

/* ---- optimizer ---- */

/* AdamW over two steps against the update written out by hand in double,
 * for a decayed matrix element and a norm element (no decay). */
static void test_adamw_by_hand(void) {
    mote_tr_model *m = make_model(&k_tiny, 11);
    T_REQUIRE(m, "init failed");
    mote_tr_adamw opt;
    mote_error err = {0};
    const double b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, lr[2] = {0.01, 0.003};
    T_REQUIRE(mote__tr_adamw_init(&opt, m->n_params, (float)b1, (float)b2, (float)eps, (float)wd, &err) == MOTE_OK,
              "%s", err.msg);
    const size_t mat = m->tensors[2].offset + 5; /* blk.0.attn_q: decayed */
    const size_t nrm = m->tensors[1].offset + 3; /* blk.0.attn_norm: not */
    T_CHECK(m->tensors[2].decay && !m->tensors[1].decay, "decay flags wrong");
    const float g[2][2] = {{0.25f, -0.002f}, {-0.5f, 0.004f}};
    double p[2] = {m->params[mat], m->params[nrm]}, mm[2] = {0, 0}, vv[2] = {0, 0};
    const size_t other = mat + 1, other_n = nrm + 1;
    const double other0 = m->params[other];
    const float other_n0 = m->params[other_n];
    for (int step = 0; step < 2; step++) {
        mote__tr_model_zero_grad(m);
        m->grads[mat] = g[step][0];
        m->grads[nrm] = g[step][1];
        mote__tr_adamw_step(&opt, m, (float)lr[step]);
        for (int j = 0; j < 2; j++) {
            mm[j] = b1 * mm[j] + (1 - b1) * g[step][j];
            vv[j] = b2 * vv[j] + (1 - b2) * (double)g[step][j] * g[step][j];
            double mh = mm[j] / (1 - pow(b1, step + 1)), vh = vv[j] / (1 - pow(b2, step + 1));
            p[j] -= lr[step] * (mh / (sqrt(vh) + eps) + (j == 0 ? wd : 0) * p[j]);
        }
        T_CHECK(fabs(m->params[mat] - p[0]) <= 1e-6 && fabs(m->params[nrm] - p[1]) <= 1e-6,
                "step %d: %.8f %.8f, by hand %.8f %.8f", step + 1, m->params[mat], m->params[nrm],
                p[0], p[1]);
    }
    /* Elements whose gradient stayed 0: decay alone moves a matrix element
     * (p (1 - lr1 wd)(1 - lr2 wd)); a norm element does not move. */
    T_CHECK(fabs(m->params[other] - other0 * (1 - lr[0] * wd) * (1 - lr[1] * wd)) <= 1e-7,
            "zero-gradient matrix element %.9f, want %.9f", m->params[other],
            other0 * (1 - lr[0] * wd) * (1 - lr[1] * wd));
    T_CHECK(m->params[other_n] == other_n0, "zero-gradient norm element moved");
    mote__tr_adamw_free(&opt);
    mote__tr_model_free(m);
}

static void test_clip_and_schedule(void) {
    float g[3] = {3, 4, 0};
    double n = mote__tr_grad_clip(g, 3, 10.0f);
    T_CHECK(n == 5.0 && g[0] == 3 && g[1] == 4, "no clip below the limit: norm %g, %g %g", n, g[0], g[1]);
    n = mote__tr_grad_clip(g, 3, 1.0f);
    T_CHECK(n == 5.0 && fabsf(g[0] - 0.6f) < 1e-7f && fabsf(g[1] - 0.8f) < 1e-7f && g[2] == 0,
            "clip to 1: norm %g, %g %g", n, g[0], g[1]);
    /* warm-up 10 of 110 steps from 0.1 to 1.0 (peak) */
    T_CHECK(fabsf(mote__tr_lr_at(0, 10, 110, 1.0f, 0.1f) - 0.1f) < 1e-7f, "step 0");
    T_CHECK(fabsf(mote__tr_lr_at(4, 10, 110, 1.0f, 0.1f) - 0.5f) < 1e-7f, "step 4");
    T_CHECK(fabsf(mote__tr_lr_at(9, 10, 110, 1.0f, 0.1f) - 1.0f) < 1e-7f, "step 9");
    T_CHECK(fabsf(mote__tr_lr_at(10, 10, 110, 1.0f, 0.1f) - 1.0f) < 1e-6f, "step 10 is the peak");
    double want = 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 50.0 / 99.0));
    T_CHECK(fabs(mote__tr_lr_at(60, 10, 110, 1.0f, 0.1f) - want) < 1e-6, "step 60: %g want %g",
            mote__tr_lr_at(60, 10, 110, 1.0f, 0.1f), want);
    T_CHECK(fabsf(mote__tr_lr_at(109, 10, 110, 1.0f, 0.1f) - 0.1f) < 1e-6f, "last step is lr_min");
}

/* 60 AdamW steps on one fixed batch (memorizing it) take the loss from
 * ~ln(32) to under a quarter of where it started. */
static void test_learns(void) {
    mote_tr_model *m = NULL;
    mote_error err = {0};
    T_REQUIRE(mote__tr_model_init(&k_tiny, 1, &m, &err) == MOTE_OK, "%s", err.msg);
    mote__tr_model_set_threads(m, 2, NULL);
    int32_t ids[32], tg[32];
    for (int i = 0; i < 32; i++) ids[i] = (int32_t)(urand() * 32);
    for (int i = 0; i < 32; i++) tg[i] = (i % 8 == 7) ? (int32_t)(urand() * 32) : ids[i + 1];
    mote_tr_adamw opt;
    T_REQUIRE(mote__tr_adamw_init(&opt, m->n_params, 0.9f, 0.95f, 1e-8f, 0.0f, &err) == MOTE_OK, "%s", err.msg);
    float first = 0, loss = 0;
    for (int step = 0; step < 60; step++) {
        mote__tr_model_zero_grad(m);
        T_REQUIRE(mote__tr_model_forward(m, ids, tg, 4, 8, &loss, &err) == MOTE_OK, "%s", err.msg);
        if (step == 0) first = loss;
        T_REQUIRE(mote__tr_model_backward(m, 1.0f, &err) == MOTE_OK, "%s", err.msg);
        mote__tr_grad_clip(m->grads, m->n_params, 1.0f);
        mote__tr_adamw_step(&opt, m, mote__tr_lr_at(step, 5, 60, 1e-2f, 1e-3f));
    }
    T_CHECK(fabsf(first - logf(32)) < 0.1f, "initial loss %g, ln 32 = %g", first, logf(32));
    T_CHECK(loss < 0.25f * first, "loss went from %g to %g", first, loss);
    printf("#   memorizing one batch: loss %.4f -> %.4f in 60 steps\n", first, loss);
    mote__tr_adamw_free(&opt);
    mote__tr_model_free(m);
}

/* ---- the public API ---- */

/* mote_trainer_step with two micro-batches of one sequence equals one step
 * on the batch of both (same seed, same first update within 1e-6), and the
 * trainer's first learning rate is the warm-up's lr / warmup. */
static void test_trainer_accumulates(void) {
    mote_train_params p = mote_train_default_params();
    p.n_vocab = 32, p.n_embd = 16, p.n_layer = 2, p.n_head = 4, p.n_head_kv = 2, p.n_ff = 24;
    p.n_ctx = 8, p.n_threads = 2, p.lr = 1e-2f, p.warmup = 2, p.n_steps = 10, p.grad_clip = 0.0f;
    mote_trainer *a = NULL, *b = NULL;
    mote_error err = {0};
    T_REQUIRE(mote_trainer_new(&p, NULL, &a, &err) == MOTE_OK, "%s", err.msg);
    T_REQUIRE(mote_trainer_new(&p, NULL, &b, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(fabsf(mote_trainer_next_lr(a) - 5e-3f) < 1e-9f, "first lr %g", mote_trainer_next_lr(a));
    int32_t ids[16], tg[16];
    for (int i = 0; i < 16; i++) ids[i] = (int32_t)(urand() * 32), tg[i] = (int32_t)(urand() * 32);
    float la, lb, na, nb;
    T_REQUIRE(mote_trainer_step(a, ids, tg, 2, 8, 1, &la, &na, &err) == MOTE_OK, "%s", err.msg);
    T_REQUIRE(mote_trainer_step(b, ids, tg, 1, 8, 2, &lb, &nb, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(fabsf(la - lb) <= 1e-6f * la && fabsf(na - nb) <= 1e-5f * na,
            "loss %g vs %g, norm %g vs %g", la, lb, na, nb);
    const float *pa = mote__tr_model_params(a->model), *pb = mote__tr_model_params(b->model);
    size_t n = (size_t)mote_trainer_n_params(a);
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs(pa[i] - pb[i]));
    T_CHECK(d <= 1e-6, "parameters after one step differ by %.3g", d);
    T_CHECK(mote_trainer_n_steps_done(a) == 1, "steps done %lld", (long long)mote_trainer_n_steps_done(a));
    T_CHECK(mote_trainer_step(a, ids, tg, 1, 9, 1, &la, NULL, &err) == MOTE_ERR_INVALID_ARG,
            "a sequence longer than n_ctx was accepted");
    mote_trainer_free(a);
    mote_trainer_free(b);
}

/* ---- errors ---- */

static void test_errors(void) {
    mote_tr_model *m = NULL;
    mote_error err = {0};
    mote_tr_shape bad = k_tiny;
    bad.n_head_kv = 3;
    T_CHECK(mote__tr_model_init(&bad, 1, &m, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "kv heads"),
            "4 heads over 3 kv heads: %s", err.msg);
    bad = k_tiny;
    bad.n_embd = 18; /* head size 4.5 */
    T_CHECK(mote__tr_model_init(&bad, 1, &m, &err) == MOTE_ERR_INVALID_ARG, "dim 18 / 4 heads accepted");
    T_REQUIRE(mote__tr_model_init(&k_tiny, 1, &m, &err) == MOTE_OK, "%s", err.msg);
    int32_t ids[9] = {1, 2, 3, 4, 5, 6, 7, 32, 0}, tg[9] = {0};
    T_CHECK(mote__tr_model_forward(m, ids, tg, 1, 8, NULL, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "token id 32"),
            "id 32 of 32: %s", err.msg);
    T_CHECK(mote__tr_model_forward(m, ids, tg, 1, 9, NULL, &err) == MOTE_ERR_INVALID_ARG,
            "T 9 > n_ctx 8 accepted");
    tg[2] = -1;
    ids[7] = 0;
    T_CHECK(mote__tr_model_forward(m, ids, tg, 1, 8, NULL, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "target id -1"),
            "target -1: %s", err.msg);
    T_CHECK(mote__tr_model_backward(m, 1.0f, &err) == MOTE_ERR_INVALID_ARG, "backward without forward");
    mote__tr_model_free(m);
    T_CHECK(mote__tr_model_load("/nonexistent/x.gguf", &m, &err) == MOTE_ERR_IO && !m,
            "missing file: %s", err.msg);
}

/* ---- --dump DIR: the data of tests/train_ref.sh ---- */

static int write_floats(const char *dir, const char *name, const float *x, size_t n) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    size_t w = fwrite(x, sizeof(float), n, f);
    return fclose(f) == 0 && w == n;
}

static int dump(const char *dir) {
    mote_tr_model *m = make_model(&k_tiny, 21);
    if (!m) return 1;
    mote__tr_model_set_threads(m, 2, NULL);
    mote_error err = {0};
    char p[1024];
    snprintf(p, sizeof p, "%s/model.gguf", dir);
    if (mote__tr_model_save(m, p, NULL, "train-ref", &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const int B = 2, T = 8;
    int32_t ids[16], tg[16];
    g_rng = 4242;
    for (int i = 0; i < 16; i++) ids[i] = (int32_t)(urand() * 32), tg[i] = (int32_t)(urand() * 32);
    const float b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f, lr[2] = {1e-2f, 5e-3f};
    mote_tr_adamw opt;
    if (mote__tr_adamw_init(&opt, m->n_params, b1, b2, eps, wd, &err)) return 1;
    snprintf(p, sizeof p, "%s/meta.txt", dir);
    FILE *meta = fopen(p, "w");
    if (!meta) return 1;
    fprintf(meta, "B %d\nT %d\nids", B, T);
    for (int i = 0; i < 16; i++) fprintf(meta, " %d", ids[i]);
    fprintf(meta, "\ntargets");
    for (int i = 0; i < 16; i++) fprintf(meta, " %d", tg[i]);
    fprintf(meta, "\nbeta1 %.9g\nbeta2 %.9g\neps %.9g\nweight_decay %.9g\nn_params %zu\n", b1, b2,
            eps, wd, m->n_params);
    float *graw = malloc(m->n_params * sizeof(float));
    for (int step = 0; step < 2; step++) {
        float loss;
        mote__tr_model_zero_grad(m);
        if (mote__tr_model_forward(m, ids, tg, B, T, &loss, &err) ||
            mote__tr_model_backward(m, 1.0f, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        memcpy(graw, m->grads, m->n_params * sizeof(float));
        /* Clip to half the norm on step 1 (so clipping acts), not on step 2. */
        double norm = mote__tr_grad_norm(m->grads, m->n_params);
        float clip = step == 0 ? (float)(0.5 * norm) : (float)(10.0 * norm);
        mote__tr_grad_clip(m->grads, m->n_params, clip);
        mote__tr_adamw_step(&opt, m, lr[step]);
        fprintf(meta, "step%d loss %.9g lr %.9g clip %.9g\n", step + 1, loss, lr[step], clip);
        char name[64];
        snprintf(name, sizeof name, "grads%d.bin", step + 1);
        if (!write_floats(dir, name, graw, m->n_params)) return 1;
        snprintf(name, sizeof name, "params%d.bin", step + 1);
        if (!write_floats(dir, name, m->params, m->n_params)) return 1;
    }
    fclose(meta);
    free(graw);
    mote__tr_adamw_free(&opt);
    mote__tr_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--dump")) return dump(argv[2]);
    T_RUN(test_inference_agrees);
    T_RUN(test_load_stories_golden);
    T_RUN(test_save_load_roundtrip);
    T_RUN(test_load_f16_tied);
    T_RUN(test_grad_accumulation);
    T_RUN(test_adamw_by_hand);
    T_RUN(test_clip_and_schedule);
    T_RUN(test_learns);
    T_RUN(test_trainer_accumulates);
    T_RUN(test_errors);
    if (g_tmp[0]) {
        unlink(tmp_path("infer.gguf"));
        unlink(tmp_path("rt.gguf"));
        rmdir(g_tmp);
    }
    return t_exit();
}
