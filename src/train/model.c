/* model.c — a trainable Llama: parameters, forward with loss, backward,
 * and reading/writing it as GGUF.
 *
 * Every parameter lives in one f32 buffer, tensor after tensor in the order
 * llama.cpp's converter writes them (token_embd, per block attn_norm,
 * attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up,
 * ffn_down, then output_norm, output), and the gradients in a second buffer
 * of the same layout, so the optimizer is one loop and saving is one
 * tensor table. The forward is the inference graph of src/model/llama.c
 * (RMSNorm, Q/K/V, RoPE in "normal" mode, causal GQA, output projection and
 * residual, RMSNorm, SwiGLU and residual, final RMSNorm, output) over a
 * whole batch at once, saving each activation that a backward needs — the
 * llm.c way. Not here: the ops (ops.c, matmul.c), the optimizer (optim.c).
 */
#include "train.h"
#include "ops.h"
#include "../gguf/gguf.h"
#include "../tensor/types.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Saved activations of one block, (N = B*T positions). */
typedef struct tr_layer_acts {
    float *ln1, *rstd1;     /* (N, C), (N) */
    float *q, *k, *v;       /* (N, qd), (N, kvd), (N, kvd): q and k after RoPE */
    float *att;             /* (B, H, T, T) probabilities */
    float *atty;            /* (N, qd) attention output before attn_output */
    float *res_mid;         /* (N, C) residual after the attention branch */
    float *ln2, *rstd2;     /* (N, C), (N) */
    float *gate, *up, *hact;/* (N, F) each; hact = silu(gate) * up */
} tr_layer_acts;

struct mote_tr_model {
    mote_tr_shape shape;
    int32_t head_dim, n_rot;
    int n_threads;
    mote_threadpool *pool;  /* n_threads > 1; NULL runs on the caller only */
    mote_tr_tensor *tensors;
    int n_tensors;
    size_t n_params;
    float *params, *grads;
    mote_tr_weights w, g;   /* views of params and grads */
    /* Activations of the last forward, for B*T = act_N, T = act_T. */
    int64_t act_N, act_T, B, T;
    float *act_store;       /* one allocation holding everything below */
    float **res;            /* n_layer + 1 residual streams (N, C): res[0] embeddings */
    tr_layer_acts *la;      /* n_layer */
    float *lnf, *rstdf;     /* (N, C), (N) */
    float *logits;          /* (N, V): logits, then probabilities, then dlogits */
    float *losses;          /* (N) */
    float *rope_cs, *rope_sn; /* (T, n_rot/2) */
    /* backward scratch */
    float *dres, *dln, *dq, *dk, *dv, *datty, *dgate, *dup, *dhact;
    float *att_scratch;     /* attention work area (ops.h) */
    float *mm_work;         /* matmul work area */
    int32_t *ids, *targets; /* (N) copies of the batch */
    bool have_targets, ready_for_backward;
    /* Frozen base (lora.c): the block matrices are not parameters here
     * (no storage in params), lora.c computes every block linear layer
     * (base plus adapters); nothing of this model is trained. */
    bool frozen;
    mote_tr_lora *lora;     /* not owned */
};

/* ---- shape and layout ---- */

mote_status mote__tr_shape_check(const mote_tr_shape *s, mote_error *err) {
    if (s->n_vocab <= 0 || s->n_embd <= 0 || s->n_layer <= 0 || s->n_head <= 0 ||
        s->n_head_kv <= 0 || s->n_ff <= 0 || s->n_ctx <= 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "model shape must be positive (vocab %d, dim %d, layers %d, heads %d, "
                         "kv heads %d, ffn %d, ctx %d)",
                         s->n_vocab, s->n_embd, s->n_layer, s->n_head, s->n_head_kv, s->n_ff,
                         s->n_ctx);
    if (s->n_vocab > (1 << 24) || s->n_embd > 65536 || s->n_layer > 1024 || s->n_head > 1024 ||
        s->n_ff > (1 << 20) || s->n_ctx > (1 << 20))
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "model shape is implausibly large (vocab %d, dim %d, layers %d, heads %d, "
                         "ffn %d, ctx %d)",
                         s->n_vocab, s->n_embd, s->n_layer, s->n_head, s->n_ff, s->n_ctx);
    if (s->n_embd % s->n_head != 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "dim %d is not a multiple of heads %d",
                         s->n_embd, s->n_head);
    if (s->n_head % s->n_head_kv != 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "heads %d is not a multiple of kv heads %d",
                         s->n_head, s->n_head_kv);
    int32_t hd = s->n_embd / s->n_head;
    int32_t n_rot = s->n_rot ? s->n_rot : hd;
    if (n_rot <= 0 || n_rot > hd || n_rot % 2 != 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "rotary dims %d must be even and at most the head size %d", n_rot, hd);
    if (!(s->rope_freq_base > 0.0f) || !(s->rms_eps > 0.0f && s->rms_eps < 1.0f))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "rope base %g or norm eps %g is out of range",
                         (double)s->rope_freq_base, (double)s->rms_eps);
    return MOTE_OK;
}

static void add_tensor(mote_tr_model *m, const char *name, int64_t ne0, int64_t ne1, size_t *off) {
    mote_tr_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = ne1 > 0 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 > 0 ? ne1 : 1;
    t->n = (size_t)(t->ne[0] * t->ne[1]);
    t->offset = *off;
    t->decay = t->n_dims == 2;
    *off += t->n;
}

/* Point the views of w at buffer `base` using the tensor table. */
static void bind_views(mote_tr_model *m, mote_tr_weights *w, float *base) {
    int i = 0;
    w->tok_embd = base + m->tensors[i++].offset;
    for (int32_t l = 0; l < m->shape.n_layer; l++) {
        mote_tr_layer *L = &w->layers[l];
        L->attn_norm = base + m->tensors[i++].offset;
        L->wq = base + m->tensors[i++].offset;
        L->wk = base + m->tensors[i++].offset;
        L->wv = base + m->tensors[i++].offset;
        L->wo = base + m->tensors[i++].offset;
        L->ffn_norm = base + m->tensors[i++].offset;
        L->w_gate = base + m->tensors[i++].offset;
        L->w_up = base + m->tensors[i++].offset;
        L->w_down = base + m->tensors[i++].offset;
    }
    w->out_norm = base + m->tensors[i++].offset;
    w->output = base + m->tensors[i++].offset;
}

/* *out = the tensor of file g that parameter tensor t is read from
 * (output.weight falls back to token_embd.weight: tied embeddings),
 * checked for presence, shape and a float type; an error naming the file
 * and tensor otherwise. */
static mote_status file_tensor(const mote_gguf *g, const mote_tr_tensor *t, bool frozen,
                               const mote_gguf_tensor **out, mote_error *err) {
    const char *path = mote__gguf_path(g);
    const char *name = t->name;
    if (!strcmp(name, "output.weight") && !mote__gguf_find_tensor(g, name)) name = "token_embd.weight";
    const mote_gguf_tensor *gt = mote__gguf_find_tensor(g, name);
    *out = gt;
    if (!gt) return mote__err(err, MOTE_ERR_FORMAT, "%s: missing tensor %s", path, name);
    int64_t rest = 1;
    for (int d = 1; d < gt->n_dims; d++) rest *= gt->ne[d]; /* bounded by the reader */
    if (gt->n_dims > 2 || gt->ne[0] != t->ne[0] || rest != t->ne[1])
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: tensor %s has shape [%lld, %lld], expected [%lld, %lld]", path, name,
                         (long long)gt->ne[0], (long long)rest, (long long)t->ne[0],
                         (long long)t->ne[1]);
    if (frozen) { /* any type that dequantizes: nothing here is trained */
        const mote_type_traits *tr = mote__type_traits(gt->type);
        if (!tr || !tr->dequantize_ref)
            return mote__err(err, MOTE_ERR_UNSUPPORTED, "%s: tensor %s is %s, which this build cannot read",
                             path, name, mote__type_name(gt->type));
        return MOTE_OK;
    }
    if (gt->type != MOTE_TYPE_F32 && gt->type != MOTE_TYPE_F16 && gt->type != MOTE_TYPE_BF16)
        return mote__err(err, MOTE_ERR_UNSUPPORTED,
                         "%s: tensor %s is %s; training needs F32, F16 or BF16 weights", path,
                         name, mote__type_name(gt->type));
    return MOTE_OK;
}

/* Allocate a model of shape s with zeroed parameters and gradients. With
 * `file`, every tensor must first be found in it (file_tensor): the sizes
 * are then those of data the file holds, so a hostile header cannot make
 * this allocate more than a few times the file's size. */
static mote_status model_alloc(const mote_tr_shape *s, const mote_gguf *file, bool frozen,
                               mote_tr_model **out, mote_error *err) {
    *out = NULL;
    mote_status st = mote__tr_shape_check(s, err);
    if (st) return st;
    mote_tr_model *m = mote__calloc(1, sizeof *m);
    if (!m) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    m->shape = *s;
    m->head_dim = s->n_embd / s->n_head;
    m->n_rot = s->n_rot ? s->n_rot : m->head_dim;
    m->shape.n_rot = m->n_rot;
    m->n_threads = 1;
    const int64_t C = s->n_embd, F = s->n_ff, V = s->n_vocab;
    const int64_t qd = (int64_t)s->n_head * m->head_dim, kvd = (int64_t)s->n_head_kv * m->head_dim;
    m->tensors = mote__calloc((size_t)(9 * s->n_layer + 3), sizeof(mote_tr_tensor));
    m->w.layers = mote__calloc((size_t)s->n_layer, sizeof(mote_tr_layer));
    m->g.layers = mote__calloc((size_t)s->n_layer, sizeof(mote_tr_layer));
    if (!m->tensors || !m->w.layers || !m->g.layers) goto nomem;
    size_t off = 0;
    char name[48];
    add_tensor(m, "token_embd.weight", C, V, &off);
    for (int32_t l = 0; l < s->n_layer; l++) {
#define T(suffix, ne0, ne1)                                                 \
        snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, suffix);     \
        add_tensor(m, name, ne0, ne1, &off);
        T("attn_norm", C, 0)
        T("attn_q", C, qd)
        T("attn_k", C, kvd)
        T("attn_v", C, kvd)
        T("attn_output", qd, C)
        T("ffn_norm", C, 0)
        T("ffn_gate", C, F)
        T("ffn_up", C, F)
        T("ffn_down", F, C)
#undef T
    }
    add_tensor(m, "output_norm.weight", C, 0, &off);
    add_tensor(m, "output.weight", C, V, &off);
    if (frozen) { /* the block matrices take no room: lora.c reads them from the file */
        m->frozen = true;
        off = 0;
        for (int i = 0; i < m->n_tensors; i++) {
            mote_tr_tensor *t = &m->tensors[i];
            if (t->n_dims == 2 && !strncmp(t->name, "blk.", 4)) t->n = 0;
            t->offset = off;
            off += t->n;
        }
    }
    m->n_params = off;
    for (int i = 0; file && i < m->n_tensors; i++) {
        const mote_gguf_tensor *gt;
        if ((st = file_tensor(file, &m->tensors[i], frozen, &gt, err))) {
            mote__tr_model_free(m);
            return st;
        }
    }
    m->params = mote__calloc(off, sizeof(float));
    m->grads = mote__calloc(off, sizeof(float));
    if (!m->params || !m->grads) {
        mote__tr_model_free(m);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory for %zu parameters (%.1f MiB twice)",
                         off, (double)off * 4.0 / 1048576.0);
    }
    bind_views(m, &m->w, m->params);
    bind_views(m, &m->g, m->grads);
    *out = m;
    return MOTE_OK;
nomem:
    mote__tr_model_free(m);
    return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
}

/* ---- init ---- */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A standard normal from two uniforms (Box-Muller). */
static double randn(uint64_t *s) {
    double u1 = ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(splitmix64(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

mote_status mote__tr_model_init(const mote_tr_shape *s, uint64_t seed, mote_tr_model **out,
                                mote_error *err) {
    mote_status st = model_alloc(s, NULL, false, out, err);
    if (st) return st;
    mote_tr_model *m = *out;
    uint64_t rng = seed ^ 0x6d6f7465u; /* "mote" */
    const double std = 0.02, std_res = 0.02 / sqrt(2.0 * s->n_layer);
    for (int i = 0; i < m->n_tensors; i++) {
        const mote_tr_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        if (t->n_dims == 1) {
            for (size_t j = 0; j < t->n; j++) p[j] = 1.0f;
            continue;
        }
        bool residual = strstr(t->name, "attn_output") || strstr(t->name, "ffn_down");
        double sd = residual ? std_res : std;
        for (size_t j = 0; j < t->n; j++) p[j] = (float)(sd * randn(&rng));
    }
    return MOTE_OK;
}

/* ---- load ---- */

static mote_status get_u32_key(const mote_gguf *g, const char *key, bool required, int32_t *out,
                               mote_error *err) {
    if (mote__gguf_find_key(g, key) < 0) {
        if (!required) return MOTE_OK;
        return mote__err(err, MOTE_ERR_FORMAT, "%s: missing key %s", mote__gguf_path(g), key);
    }
    uint32_t v;
    mote_status s = mote__gguf_get_u32(g, key, &v, err);
    if (s) return s;
    if (v > INT32_MAX)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %s = %u is out of range", mote__gguf_path(g), key, v);
    *out = (int32_t)v;
    return MOTE_OK;
}

static mote_status model_load(const char *path, bool frozen, mote_tr_model **out, mote_error *err) {
    *out = NULL;
    mote_gguf *g = NULL;
    mote_status s = mote_gguf_open(path, &g, err);
    if (s) return s;
    const char *arch;
    uint64_t arch_len;
    if ((s = mote__gguf_get_str(g, "general.architecture", &arch, &arch_len, err))) goto done;
    if (arch_len != 5 || memcmp(arch, "llama", 5) != 0) {
        s = mote__err(err, MOTE_ERR_UNSUPPORTED, "%s: architecture '%.*s' cannot be trained (only llama)",
                      path, (int)(arch_len > 32 ? 32 : arch_len), arch);
        goto done;
    }
    mote_tr_shape sh = {.rope_freq_base = 10000.0f, .rms_eps = 1e-5f, .n_ctx = 2048};
    int32_t key_length = 0;
    if ((s = get_u32_key(g, "llama.embedding_length", true, &sh.n_embd, err)) ||
        (s = get_u32_key(g, "llama.block_count", true, &sh.n_layer, err)) ||
        (s = get_u32_key(g, "llama.feed_forward_length", true, &sh.n_ff, err)) ||
        (s = get_u32_key(g, "llama.attention.head_count", true, &sh.n_head, err)) ||
        (s = get_u32_key(g, "llama.context_length", false, &sh.n_ctx, err)) ||
        (s = get_u32_key(g, "llama.attention.key_length", false, &key_length, err)) ||
        (s = get_u32_key(g, "llama.rope.dimension_count", false, &sh.n_rot, err)))
        goto done;
    sh.n_head_kv = sh.n_head;
    if ((s = get_u32_key(g, "llama.attention.head_count_kv", false, &sh.n_head_kv, err))) goto done;
    if (mote__gguf_find_key(g, "llama.rope.freq_base") >= 0 &&
        (s = mote__gguf_get_f32(g, "llama.rope.freq_base", &sh.rope_freq_base, err)))
        goto done;
    if (mote__gguf_find_key(g, "llama.attention.layer_norm_rms_epsilon") >= 0 &&
        (s = mote__gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &sh.rms_eps, err)))
        goto done;
    if (sh.n_head > 0 && key_length > 0 && key_length * sh.n_head != sh.n_embd) {
        s = mote__err(err, MOTE_ERR_UNSUPPORTED,
                      "%s: attention.key_length %d x heads %d differs from the width %d", path,
                      key_length, sh.n_head, sh.n_embd);
        goto done;
    }
    const mote_gguf_tensor *te = mote__gguf_find_tensor(g, "token_embd.weight");
    if (!te || te->n_dims != 2 || te->ne[1] > INT32_MAX) {
        s = mote__err(err, MOTE_ERR_FORMAT, "%s: token_embd.weight is missing or not 2-D", path);
        goto done;
    }
    sh.n_vocab = (int32_t)te->ne[1];
    if ((s = mote__tr_shape_check(&sh, err))) {
        char msg[sizeof err->msg]; /* name the file in the message */
        if (err) {
            snprintf(msg, sizeof msg, "%.200s: %.300s", path, err->msg);
            s = mote__err(err, MOTE_ERR_FORMAT, "%s", msg);
        }
        goto done;
    }
    mote_tr_model *m = NULL;
    if ((s = model_alloc(&sh, g, frozen, &m, err))) goto done;
    for (int i = 0; i < m->n_tensors; i++) { /* all checked by model_alloc */
        const mote_tr_tensor *t = &m->tensors[i];
        const mote_gguf_tensor *gt = NULL;
        file_tensor(g, t, frozen, &gt, NULL);
        if (t->n) mote__type_traits(gt->type)->dequantize_ref(gt->data, m->params + t->offset, (int64_t)t->n);
    }
    *out = m;
done:
    mote_gguf_close(g);
    return s;
}

mote_status mote__tr_model_load(const char *path, mote_tr_model **out, mote_error *err) {
    return model_load(path, false, out, err);
}

mote_status mote__tr_model_load_frozen(const char *path, mote_tr_model **out, mote_error *err) {
    return model_load(path, true, out, err);
}

void mote__tr_model_set_lora(mote_tr_model *m, mote_tr_lora *lora) { m->lora = lora; }

/* ---- accessors ---- */

static void free_acts(mote_tr_model *m) {
    mote__free(m->act_store);
    mote__free(m->res);
    mote__free(m->la);
    mote__free(m->ids);
    m->act_store = NULL;
    m->res = NULL;
    m->la = NULL;
    m->ids = m->targets = NULL;
    m->act_N = m->act_T = 0;
    m->ready_for_backward = false;
}

void mote__tr_model_free(mote_tr_model *m) {
    if (!m) return;
    free_acts(m);
    mote__threadpool_free(m->pool);
    mote__free(m->tensors);
    mote__free(m->w.layers);
    mote__free(m->g.layers);
    mote__free(m->params);
    mote__free(m->grads);
    mote__free(m);
}

mote_status mote__tr_model_set_threads(mote_tr_model *m, int n_threads, mote_error *err) {
    int nt = n_threads < 1 ? 1 : n_threads > MOTE_MAX_THREADS ? MOTE_MAX_THREADS : n_threads;
    if (nt == m->n_threads) return MOTE_OK;
    free_acts(m); /* per-thread scratch is sized for the count */
    mote__threadpool_free(m->pool);
    m->pool = NULL;
    m->n_threads = 1;
    if (nt > 1) {
        mote_status s = mote__threadpool_new(nt, &m->pool, err);
        if (s) return s;
        m->n_threads = nt;
    }
    return MOTE_OK;
}
const mote_tr_shape *mote__tr_model_shape(const mote_tr_model *m) { return &m->shape; }
size_t mote__tr_model_n_params(const mote_tr_model *m) { return m->n_params; }
float *mote__tr_model_params(mote_tr_model *m) { return m->params; }
float *mote__tr_model_grads(mote_tr_model *m) { return m->grads; }
const mote_tr_weights *mote__tr_model_weights(const mote_tr_model *m) { return &m->w; }
int mote__tr_model_n_tensors(const mote_tr_model *m) { return m->n_tensors; }
const mote_tr_tensor *mote__tr_model_tensor(const mote_tr_model *m, int i) {
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}
const float *mote__tr_model_logits(const mote_tr_model *m) { return m->logits; }
void mote__tr_model_zero_grad(mote_tr_model *m) {
    memset(m->grads, 0, m->n_params * sizeof(float));
}

/* ---- activations ---- */

/* Allocate every activation and scratch buffer for N = B*T positions of
 * sequences of T, in one block. */
static mote_status alloc_acts(mote_tr_model *m, int64_t B, int64_t T, mote_error *err) {
    const mote_tr_shape *s = &m->shape;
    const int64_t N = B * T, C = s->n_embd, F = s->n_ff, V = s->n_vocab, L = s->n_layer;
    const int64_t H = s->n_head;
    const int64_t qd = H * m->head_dim, kvd = (int64_t)s->n_head_kv * m->head_dim;
    const int64_t half = m->n_rot / 2;
    free_acts(m);
    /* Per layer: ln1, res_mid, ln2 (C) + rstd1, rstd2 (1) + q, atty (qd) +
     * k, v (kvd) + gate, up, hact (F) per position, + att (H T) per position. */
    double per_layer = (double)N * (3.0 * C + 2 + 2.0 * qd + 2.0 * kvd + 3.0 * F + (double)H * T);
    double total = per_layer * L + (double)N * C * (L + 1) /* res */ + N * (C + 1.0 + V + 1) +
                   2.0 * T * half +
                   (double)N * (2.0 * C + 2.0 * qd + 2.0 * kvd + 3.0 * F);
    const size_t att_scratch = mote__tr_attention_scratch_floats(B, T, s->n_head, m->head_dim,
                                                                 m->n_threads);
    total += (double)att_scratch;
    size_t work = 0;
    {
        const int64_t shapes[][2] = {{C, qd}, {C, kvd}, {qd, C}, {C, F}, {F, C}, {C, V}};
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            size_t w = mote__tr_matmul_work_floats(N, shapes[i][0], shapes[i][1]);
            if (w > work) work = w;
        }
    }
    total += (double)work;
    if (total * 4.0 > 1e12)
        return mote__err(err, MOTE_ERR_NOMEM, "a batch of %lld x %lld needs %.1f GiB of activations",
                         (long long)B, (long long)T, total * 4.0 / 1073741824.0);
    m->act_store = mote__malloc((size_t)total * sizeof(float));
    m->res = mote__calloc((size_t)L + 1, sizeof(float *));
    m->la = mote__calloc((size_t)L, sizeof(tr_layer_acts));
    m->ids = mote__calloc((size_t)(2 * N), sizeof(int32_t));
    if (!m->act_store || !m->res || !m->la || !m->ids) {
        free_acts(m);
        return mote__err(err, MOTE_ERR_NOMEM,
                         "out of memory for the activations of a %lld x %lld batch (%.1f MiB)",
                         (long long)B, (long long)T, total * 4.0 / 1048576.0);
    }
    m->targets = m->ids + N;
    float *p = m->act_store;
#define TAKE(n) (p += (n), p - (n))
    for (int64_t l = 0; l <= L; l++) m->res[l] = TAKE(N * C);
    for (int64_t l = 0; l < L; l++) {
        tr_layer_acts *a = &m->la[l];
        a->ln1 = TAKE(N * C);
        a->rstd1 = TAKE(N);
        a->q = TAKE(N * qd);
        a->k = TAKE(N * kvd);
        a->v = TAKE(N * kvd);
        a->att = TAKE(N * H * T);
        a->atty = TAKE(N * qd);
        a->res_mid = TAKE(N * C);
        a->ln2 = TAKE(N * C);
        a->rstd2 = TAKE(N);
        a->gate = TAKE(N * F);
        a->up = TAKE(N * F);
        a->hact = TAKE(N * F);
    }
    m->lnf = TAKE(N * C);
    m->rstdf = TAKE(N);
    m->logits = TAKE(N * V);
    m->losses = TAKE(N);
    m->rope_cs = TAKE(T * half);
    m->rope_sn = TAKE(T * half);
    m->dres = TAKE(N * C);
    m->dln = TAKE(N * C);
    m->dq = TAKE(N * qd);
    m->dk = TAKE(N * kvd);
    m->dv = TAKE(N * kvd);
    m->datty = TAKE(N * qd);
    m->dgate = TAKE(N * F);
    m->dup = TAKE(N * F);
    m->dhact = TAKE(N * F);
    m->att_scratch = TAKE((int64_t)att_scratch);
    m->mm_work = TAKE((int64_t)work);
#undef TAKE
    mote__tr_rope_table(m->rope_cs, m->rope_sn, T, m->n_rot, s->rope_freq_base);
    m->act_N = N;
    m->act_T = T;
    return MOTE_OK;
}

/* ---- linear layers of the blocks ----
 *
 * Matrix k (MOTE_TR_Q ... MOTE_TR_DOWN) of block l. A frozen model hands
 * them to lora.c (the base read from its file, plus the adapters);
 * otherwise W is this model's parameter and dW its gradient. */

static void linear_fwd(mote_tr_model *m, int32_t l, int k, float *out, const float *inp,
                       const float *W, int64_t N, int64_t IC, int64_t OC) {
    if (m->frozen) mote__tr_lora_fwd(m->lora, l, k, out, inp, N, m->mm_work, m->pool);
    else mote__tr_matmul_fwd(out, inp, W, N, IC, OC, m->mm_work, m->pool);
}

/* dinp = (set) or += (!set) dout @ W; dW += dout^T @ inp (not when frozen). */
static void linear_bwd(mote_tr_model *m, int32_t l, int k, bool set, float *dinp, float *dW,
                       const float *dout, const float *inp, const float *W, int64_t N,
                       int64_t IC, int64_t OC) {
    if (m->frozen) mote__tr_lora_bwd(m->lora, l, k, set, dinp, dout, inp, N, m->mm_work, m->pool);
    else if (set) mote__tr_matmul_bwd_set(dinp, dW, dout, inp, W, N, IC, OC, m->mm_work, m->pool);
    else mote__tr_matmul_bwd(dinp, dW, dout, inp, W, N, IC, OC, m->mm_work, m->pool);
}

/* ---- forward ---- */

mote_status mote__tr_model_forward(mote_tr_model *m, const int32_t *ids, const int32_t *targets,
                                   int64_t B, int64_t T, float *loss, mote_error *err) {
    const mote_tr_shape *s = &m->shape;
    if (B <= 0 || T <= 0 || T > s->n_ctx || B > (1 << 20))
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "batch %lld x %lld is out of range (sequence length 1..%d)", (long long)B,
                         (long long)T, s->n_ctx);
    const int64_t N = B * T;
    for (int64_t n = 0; n < N; n++) {
        if (ids[n] < 0 || ids[n] >= s->n_vocab)
            return mote__err(err, MOTE_ERR_INVALID_ARG,
                             "token id %d at position %lld is out of range (vocabulary %d)",
                             (int)ids[n], (long long)n, s->n_vocab);
        if (targets && (targets[n] < 0 || targets[n] >= s->n_vocab))
            return mote__err(err, MOTE_ERR_INVALID_ARG,
                             "target id %d at position %lld is out of range (vocabulary %d)",
                             (int)targets[n], (long long)n, s->n_vocab);
    }
    if (m->frozen && !m->lora)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "a frozen model needs its adapters (lora.c)");
    if (N != m->act_N || T != m->act_T) {
        mote_status st = alloc_acts(m, B, T, err);
        if (st) return st;
    }
    if (m->frozen) {
        mote_status st = mote__tr_lora_reserve(m->lora, N, err);
        if (st) return st;
    }
    m->B = B;
    m->T = T;
    m->ready_for_backward = false;
    memcpy(m->ids, ids, (size_t)N * sizeof(int32_t));
    if (targets) memcpy(m->targets, targets, (size_t)N * sizeof(int32_t));

    mote_threadpool *nt = m->pool;
    const int64_t C = s->n_embd, F = s->n_ff, V = s->n_vocab;
    const int32_t H = s->n_head, Hkv = s->n_head_kv, hd = m->head_dim;
    const int64_t qd = (int64_t)H * hd, kvd = (int64_t)Hkv * hd;

    mote__tr_embed_fwd(m->res[0], m->ids, m->w.tok_embd, N, C);
    for (int32_t l = 0; l < s->n_layer; l++) {
        const mote_tr_layer *W = &m->w.layers[l];
        tr_layer_acts *a = &m->la[l];
        const float *x = m->res[l];
        /* attention branch: x (N, C) -> res_mid (N, C) */
        mote__tr_rmsnorm_fwd(a->ln1, a->rstd1, x, W->attn_norm, N, C, s->rms_eps, nt);
        linear_fwd(m, l, MOTE_TR_Q, a->q, a->ln1, W->wq, N, C, qd);
        linear_fwd(m, l, MOTE_TR_K, a->k, a->ln1, W->wk, N, C, kvd);
        linear_fwd(m, l, MOTE_TR_V, a->v, a->ln1, W->wv, N, C, kvd);
        mote__tr_rope_fwd(a->q, m->rope_cs, m->rope_sn, B, T, H, hd, m->n_rot);
        mote__tr_rope_fwd(a->k, m->rope_cs, m->rope_sn, B, T, Hkv, hd, m->n_rot);
        mote__tr_attention_fwd(a->atty, a->att, a->q, a->k, a->v, B, T, H, Hkv, hd,
                               m->att_scratch, nt);
        linear_fwd(m, l, MOTE_TR_O, m->dres, a->atty, W->wo, N, qd, C); /* dres: scratch */
        mote__tr_residual_fwd(a->res_mid, x, m->dres, N * C);
        /* feed-forward branch: res_mid -> res[l+1] */
        mote__tr_rmsnorm_fwd(a->ln2, a->rstd2, a->res_mid, W->ffn_norm, N, C, s->rms_eps, nt);
        linear_fwd(m, l, MOTE_TR_GATE, a->gate, a->ln2, W->w_gate, N, C, F);
        linear_fwd(m, l, MOTE_TR_UP, a->up, a->ln2, W->w_up, N, C, F);
        mote__tr_swiglu_fwd(a->hact, a->gate, a->up, N * F, nt);
        linear_fwd(m, l, MOTE_TR_DOWN, m->dres, a->hact, W->w_down, N, F, C);
        mote__tr_residual_fwd(m->res[l + 1], a->res_mid, m->dres, N * C);
    }
    mote__tr_rmsnorm_fwd(m->lnf, m->rstdf, m->res[s->n_layer], m->w.out_norm, N, C, s->rms_eps, nt);
    mote__tr_matmul_fwd(m->logits, m->lnf, m->w.output, N, C, V, m->mm_work, nt);
    if (targets) {
        double l = mote__tr_crossentropy_fwd(m->logits, m->losses, m->targets, N, V, nt);
        if (loss) *loss = (float)l;
        m->ready_for_backward = true;
    }
    return MOTE_OK;
}

/* ---- backward ---- */

mote_status mote__tr_model_backward(mote_tr_model *m, float dloss, mote_error *err) {
    if (!m->ready_for_backward)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "backward needs a forward with targets just before it");
    m->ready_for_backward = false;
    const mote_tr_shape *s = &m->shape;
    mote_threadpool *nt = m->pool;
    const int64_t B = m->B, T = m->T, N = B * T;
    const int64_t C = s->n_embd, F = s->n_ff, V = s->n_vocab;
    const int32_t H = s->n_head, Hkv = s->n_head_kv, hd = m->head_dim;
    const int64_t qd = (int64_t)H * hd, kvd = (int64_t)Hkv * hd;

    /* loss -> logits -> final norm -> dres = d res[n_layer] */
    mote__tr_crossentropy_bwd(m->logits, m->logits, m->targets, N, V, dloss, nt);
    mote__tr_matmul_bwd_set(m->dln, m->frozen ? NULL : m->g.output, m->logits, m->lnf, m->w.output, N, C, V,
                            m->mm_work, nt);
    memset(m->dres, 0, (size_t)(N * C) * sizeof(float));
    mote__tr_rmsnorm_bwd(m->dres, m->g.out_norm, m->dln, m->res[s->n_layer], m->w.out_norm,
                         m->rstdf, N, C);

    for (int32_t l = s->n_layer - 1; l >= 0; l--) {
        const mote_tr_layer *W = &m->w.layers[l];
        mote_tr_layer *G = &m->g.layers[l];
        tr_layer_acts *a = &m->la[l];
        /* feed-forward: dres is d res[l+1]; the residual passes it to res_mid */
        linear_bwd(m, l, MOTE_TR_DOWN, true, m->dhact, G->w_down, m->dres, a->hact, W->w_down, N, F, C);
        memset(m->dgate, 0, (size_t)(N * F) * sizeof(float));
        memset(m->dup, 0, (size_t)(N * F) * sizeof(float));
        mote__tr_swiglu_bwd(m->dgate, m->dup, m->dhact, a->gate, a->up, N * F, nt);
        linear_bwd(m, l, MOTE_TR_GATE, true, m->dln, G->w_gate, m->dgate, a->ln2, W->w_gate, N, C, F);
        linear_bwd(m, l, MOTE_TR_UP, false, m->dln, G->w_up, m->dup, a->ln2, W->w_up, N, C, F);
        mote__tr_rmsnorm_bwd(m->dres, G->ffn_norm, m->dln, a->res_mid, W->ffn_norm, a->rstd2, N, C);
        /* attention: dres is now d res_mid; the residual passes it to res[l] */
        linear_bwd(m, l, MOTE_TR_O, true, m->datty, G->wo, m->dres, a->atty, W->wo, N, qd, C);
        memset(m->dq, 0, (size_t)(N * qd) * sizeof(float));
        memset(m->dk, 0, (size_t)(N * kvd) * sizeof(float));
        memset(m->dv, 0, (size_t)(N * kvd) * sizeof(float));
        mote__tr_attention_bwd(m->dq, m->dk, m->dv, m->datty, a->q, a->k, a->v, a->att, B, T, H,
                               Hkv, hd, m->att_scratch, nt);
        mote__tr_rope_bwd(m->dq, m->rope_cs, m->rope_sn, B, T, H, hd, m->n_rot);
        mote__tr_rope_bwd(m->dk, m->rope_cs, m->rope_sn, B, T, Hkv, hd, m->n_rot);
        linear_bwd(m, l, MOTE_TR_Q, true, m->dln, G->wq, m->dq, a->ln1, W->wq, N, C, qd);
        linear_bwd(m, l, MOTE_TR_K, false, m->dln, G->wk, m->dk, a->ln1, W->wk, N, C, kvd);
        linear_bwd(m, l, MOTE_TR_V, false, m->dln, G->wv, m->dv, a->ln1, W->wv, N, C, kvd);
        mote__tr_rmsnorm_bwd(m->dres, G->attn_norm, m->dln, m->res[l], W->attn_norm, a->rstd1, N, C);
    }
    if (!m->frozen) mote__tr_embed_bwd(m->g.tok_embd, m->dres, m->ids, N, C);
    return MOTE_OK;
}

/* ---- save ---- */

mote_status mote__tr_model_save(const mote_tr_model *m, const char *path, const char *vocab_path,
                                const char *name, mote_error *err) {
    return mote__tr_model_save_ext(m, path, vocab_path, name, NULL, NULL, err);
}

mote_status mote__tr_model_save_ext(const mote_tr_model *m, const char *path, const char *vocab_path,
                                    const char *name, mote_tr_save_extra extra, void *ctx,
                                    mote_error *err) {
    const mote_tr_shape *s = &m->shape;
    mote_gguf *vocab = NULL;
    mote_status st = MOTE_OK;
    if (m->frozen)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "a model with a frozen base is not saved whole: save its adapters");
    if (vocab_path) {
        if ((st = mote_gguf_open(vocab_path, &vocab, err))) return st;
        mote_gguf_vtype et;
        uint64_t n_tok = 0;
        const void *data;
        if (mote__gguf_find_key(vocab, "tokenizer.ggml.tokens") < 0) {
            st = mote__err(err, MOTE_ERR_FORMAT, "%s: no tokenizer.ggml.tokens (not a vocab GGUF)",
                           vocab_path);
            goto done;
        }
        if ((st = mote__gguf_get_arr(vocab, "tokenizer.ggml.tokens", &et, &n_tok, &data, err))) goto done;
        if (n_tok != (uint64_t)s->n_vocab) {
            st = mote__err(err, MOTE_ERR_INVALID_ARG,
                           "%s has %llu tokens but the model's vocabulary is %d", vocab_path,
                           (unsigned long long)n_tok, s->n_vocab);
            goto done;
        }
    }
    mote_gguf_writer *w = mote__gguf_writer_new();
    if (!w) {
        st = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = mote__gguf_set_str(w, "general.architecture", "llama")) ||
        (st = mote__gguf_set_str(w, "general.name", name ? name : "mote-trained")) ||
        (st = mote__gguf_set_u32(w, "general.file_type", 0)) || /* all F32 */
        (st = mote__gguf_set_u32(w, "llama.context_length", (uint32_t)s->n_ctx)) ||
        (st = mote__gguf_set_u32(w, "llama.embedding_length", (uint32_t)s->n_embd)) ||
        (st = mote__gguf_set_u32(w, "llama.feed_forward_length", (uint32_t)s->n_ff)) ||
        (st = mote__gguf_set_u32(w, "llama.block_count", (uint32_t)s->n_layer)) ||
        (st = mote__gguf_set_u32(w, "llama.attention.head_count", (uint32_t)s->n_head)) ||
        (st = mote__gguf_set_u32(w, "llama.attention.head_count_kv", (uint32_t)s->n_head_kv)) ||
        (st = mote__gguf_set_u32(w, "llama.rope.dimension_count", (uint32_t)m->n_rot)) ||
        (st = mote__gguf_set_f32(w, "llama.rope.freq_base", s->rope_freq_base)) ||
        (st = mote__gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", s->rms_eps)) ||
        (st = mote__gguf_set_u32(w, "llama.vocab_size", (uint32_t)s->n_vocab))) {
        mote__err(err, st, "out of memory writing %s", path);
        goto done_w;
    }
    if (vocab) {
        for (int64_t i = 0; i < mote_gguf_n_kv(vocab); i++) {
            if (strncmp(mote_gguf_kv_key(vocab, i), "tokenizer.", 10) != 0) continue;
            if ((st = mote__gguf_set_from(w, vocab, i))) {
                mote__err(err, st, "out of memory copying the tokenizer of %s", vocab_path);
                goto done_w;
            }
        }
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const mote_tr_tensor *t = &m->tensors[i];
        if ((st = mote__gguf_add_tensor(w, t->name, MOTE_TYPE_F32, t->n_dims, t->ne,
                                        m->params + t->offset, err)))
            goto done_w;
    }
    if (extra && (st = extra(ctx, w, err))) goto done_w;
    st = mote__gguf_write(w, path, err);
done_w:
    mote__gguf_writer_free(w);
done:
    mote_gguf_close(vocab);
    return st;
}
