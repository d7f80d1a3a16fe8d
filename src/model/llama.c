/* llama.c — the inference context and the Llama forward pass.
 *
 * A context owns the KV cache and every work buffer, all allocated once in
 * mote_ctx_new: evaluating tokens allocates nothing. The forward pass follows
 * llama.cpp's LLM_ARCH_LLAMA graph: embedding, then per block RMSNorm,
 * Q/K/V, RoPE ("normal" mode: adjacent pairs, as GGUF stores Q/K rows
 * permuted for it), causal grouped-query attention, output projection and
 * residual, RMSNorm, SwiGLU feed-forward and residual; final RMSNorm and the
 * output matrix. One token at a time; batched prompt processing belongs to
 * the speed work. Not here: loading (model.c), kernels (src/kernels/).
 */
#include "model.h"
#include <math.h>
#include <string.h>

struct mote_ctx {
    const mote_model *model;
    int32_t n_ctx;
    int32_t n_past;
    int32_t n_threads;
    /* KV cache: (n_layer, n_ctx, kv_dim) each, f32. */
    float *k_cache, *v_cache;
    /* Activations (llama2.c's RunState). */
    float *x;      /* (n_embd) residual stream */
    float *xb;     /* (max(n_embd, q_dim)) normed input / attention output */
    float *xb2;    /* (n_embd) */
    float *q;      /* (q_dim) */
    float *hb;     /* (n_ff) */
    float *hb2;    /* (n_ff) */
    float *att;    /* (n_ctx) scores of one head */
    float *logits; /* (n_vocab) */
    float *inv_freq; /* (n_rot/2) RoPE frequencies */
    void *scratch;   /* quantized activation for mote__matvec */
};

mote_ctx_params mote_ctx_default_params(void) {
    return (mote_ctx_params){.n_ctx = 0, .n_threads = 0};
}

/* The largest matvec scratch any matrix of the model needs. */
static size_t max_scratch(const mote_model *m) {
    size_t best = mote__matvec_scratch_bytes(m->output.type, m->output.n_cols);
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        const mote_layer *L = &m->layers[l];
        const mote_matrix *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) {
            size_t b = mote__matvec_scratch_bytes(mats[i]->type, mats[i]->n_cols);
            if (b > best) best = b;
        }
    }
    return best;
}

mote_status mote_ctx_new(const mote_model *m, const mote_ctx_params *p, mote_ctx **out,
                         mote_error *err) {
    *out = NULL;
    const mote_hparams *hp = &m->hp;
    mote_ctx_params params = p ? *p : mote_ctx_default_params();
    int32_t n_ctx = params.n_ctx > 0 ? params.n_ctx : hp->n_ctx_train;
    if (params.n_ctx < 0 || n_ctx > (1 << 22))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "context length %d is out of range (1..%d)",
                         (int)params.n_ctx, 1 << 22);
    mote_ctx *c = mote__calloc(1, sizeof *c);
    if (!c) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    c->model = m;
    c->n_ctx = n_ctx;
    c->n_threads = params.n_threads;

    size_t kv_dim = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    size_t q_dim = (size_t)hp->n_head * (size_t)hp->head_dim;
    size_t cache = (size_t)hp->n_layer * (size_t)n_ctx * kv_dim; /* bounded: layers, ctx, dims checked */
    size_t xb_len = q_dim > (size_t)hp->n_embd ? q_dim : (size_t)hp->n_embd;
    c->k_cache = mote__calloc(cache, sizeof(float));
    c->v_cache = mote__calloc(cache, sizeof(float));
    c->x = mote__calloc((size_t)hp->n_embd, sizeof(float));
    c->xb = mote__calloc(xb_len, sizeof(float));
    c->xb2 = mote__calloc((size_t)hp->n_embd, sizeof(float));
    c->q = mote__calloc(q_dim, sizeof(float));
    c->hb = mote__calloc((size_t)hp->n_ff, sizeof(float));
    c->hb2 = mote__calloc((size_t)hp->n_ff, sizeof(float));
    c->att = mote__calloc((size_t)n_ctx, sizeof(float));
    c->logits = mote__calloc((size_t)hp->n_vocab, sizeof(float));
    c->inv_freq = mote__calloc((size_t)hp->n_rot / 2, sizeof(float));
    c->scratch = mote__malloc_aligned(max_scratch(m) + 64, 64);
    if (!c->k_cache || !c->v_cache || !c->x || !c->xb || !c->xb2 || !c->q || !c->hb || !c->hb2 ||
        !c->att || !c->logits || !c->inv_freq || !c->scratch) {
        mote_ctx_free(c);
        return mote__err(err, MOTE_ERR_NOMEM,
                         "out of memory allocating a context of %d tokens (KV cache %.1f MiB)",
                         (int)n_ctx, 2.0 * (double)cache * 4.0 / 1048576.0);
    }
    /* theta_i = base^(-2i/n_rot), as llama.cpp's rope with freq_scale 1. */
    for (int32_t i = 0; i < hp->n_rot / 2; i++)
        c->inv_freq[i] = powf(hp->rope_freq_base, -2.0f * (float)i / (float)hp->n_rot);
    *out = c;
    return MOTE_OK;
}

void mote_ctx_free(mote_ctx *c) {
    if (!c) return;
    mote__free(c->k_cache);
    mote__free(c->v_cache);
    mote__free(c->x);
    mote__free(c->xb);
    mote__free(c->xb2);
    mote__free(c->q);
    mote__free(c->hb);
    mote__free(c->hb2);
    mote__free(c->att);
    mote__free(c->logits);
    mote__free(c->inv_freq);
    mote__free_aligned(c->scratch);
    mote__free(c);
}

int32_t mote_ctx_n_ctx(const mote_ctx *c) { return c->n_ctx; }
int32_t mote_ctx_n_past(const mote_ctx *c) { return c->n_past; }
void mote_ctx_reset(mote_ctx *c) { c->n_past = 0; }
const float *mote_ctx_logits(const mote_ctx *c) { return c->logits; }

/* Rotate the first n_rot dims of each of n_heads heads (head_dim apart) by
 * pos * inv_freq, adjacent pairs (x[2i], x[2i+1]). */
static void rope(float *v, int32_t n_heads, int32_t head_dim, int32_t n_rot,
                 const float *inv_freq, int32_t pos) {
    for (int32_t i = 0; i < n_rot / 2; i++) {
        float theta = (float)pos * inv_freq[i];
        float cs = cosf(theta), sn = sinf(theta);
        for (int32_t h = 0; h < n_heads; h++) {
            float *p = v + (size_t)h * head_dim + 2 * i;
            float a = p[0], b = p[1];
            p[0] = a * cs - b * sn;
            p[1] = a * sn + b * cs;
        }
    }
}

/* Evaluate one token at position pos (< n_ctx); logits land in c->logits. */
static void forward_token(mote_ctx *c, int32_t token, int32_t pos) {
    const mote_model *m = c->model;
    const mote_hparams *hp = &m->hp;
    const int32_t hd = hp->head_dim, n_embd = hp->n_embd;
    const size_t kv_dim = (size_t)hp->n_head_kv * hd;
    const int32_t group = hp->n_head / hp->n_head_kv;
    const float att_scale = 1.0f / sqrtf((float)hd);
    float *x = c->x;

    mote__matrix_get_row(&m->tok_embd, token, x);

    for (int32_t l = 0; l < hp->n_layer; l++) {
        const mote_layer *L = &m->layers[l];
        float *k_layer = c->k_cache + (size_t)l * c->n_ctx * kv_dim;
        float *v_layer = c->v_cache + (size_t)l * c->n_ctx * kv_dim;
        float *k = k_layer + (size_t)pos * kv_dim;
        float *v = v_layer + (size_t)pos * kv_dim;

        /* attention: xb (n_embd) -> q (q_dim), k, v (kv_dim) */
        mote__rmsnorm(c->xb, x, L->attn_norm, n_embd, hp->rms_eps);
        mote__matvec(&L->wq, c->xb, c->q, c->scratch);
        mote__matvec(&L->wk, c->xb, k, c->scratch);
        mote__matvec(&L->wv, c->xb, v, c->scratch);
        rope(c->q, hp->n_head, hd, hp->n_rot, c->inv_freq, pos);
        rope(k, hp->n_head_kv, hd, hp->n_rot, c->inv_freq, pos);

        for (int32_t h = 0; h < hp->n_head; h++) {
            const float *qh = c->q + (size_t)h * hd;
            const size_t kv_off = (size_t)(h / group) * hd;
            for (int32_t t = 0; t <= pos; t++) {
                const float *kt = k_layer + (size_t)t * kv_dim + kv_off;
                float s = 0.0f;
                for (int32_t i = 0; i < hd; i++) s += qh[i] * kt[i];
                c->att[t] = s * att_scale;
            }
            mote__softmax(c->att, pos + 1);
            float *out = c->xb + (size_t)h * hd; /* xb is free again: reuse it */
            memset(out, 0, (size_t)hd * sizeof(float));
            for (int32_t t = 0; t <= pos; t++) {
                const float *vt = v_layer + (size_t)t * kv_dim + kv_off;
                const float a = c->att[t];
                for (int32_t i = 0; i < hd; i++) out[i] += a * vt[i];
            }
        }
        mote__matvec(&L->wo, c->xb, c->xb2, c->scratch);
        for (int32_t i = 0; i < n_embd; i++) x[i] += c->xb2[i];

        /* feed-forward: down(silu(gate x) * up x) */
        mote__rmsnorm(c->xb, x, L->ffn_norm, n_embd, hp->rms_eps);
        mote__matvec(&L->w_gate, c->xb, c->hb, c->scratch);
        mote__matvec(&L->w_up, c->xb, c->hb2, c->scratch);
        for (int32_t i = 0; i < hp->n_ff; i++) {
            float g = c->hb[i];
            c->hb[i] = g / (1.0f + expf(-g)) * c->hb2[i];
        }
        mote__matvec(&L->w_down, c->hb, c->xb2, c->scratch);
        for (int32_t i = 0; i < n_embd; i++) x[i] += c->xb2[i];
    }

    mote__rmsnorm(x, x, m->out_norm, n_embd, hp->rms_eps);
    mote__matvec(&m->output, x, c->logits, c->scratch);
}

mote_status mote_ctx_decode(mote_ctx *c, const int32_t *tokens, int32_t n, float *logits,
                            mote_error *err) {
    const int32_t n_vocab = c->model->hp.n_vocab;
    if (n < 0) return mote__err(err, MOTE_ERR_INVALID_ARG, "negative token count %d", (int)n);
    if (n > c->n_ctx - c->n_past)
        return mote__err(err, MOTE_ERR_RANGE,
                         "%d tokens do not fit the context: %d of %d positions are used", (int)n,
                         (int)c->n_past, (int)c->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return mote__err(err, MOTE_ERR_INVALID_ARG, "token id %d is out of range (vocabulary %d)",
                             (int)tokens[i], (int)n_vocab);
    for (int32_t i = 0; i < n; i++) {
        forward_token(c, tokens[i], c->n_past);
        c->n_past++;
        if (logits) memcpy(logits + (size_t)i * n_vocab, c->logits, (size_t)n_vocab * sizeof(float));
    }
    return MOTE_OK;
}
