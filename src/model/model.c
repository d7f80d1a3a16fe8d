/* model.c — loading a Llama-architecture model from GGUF, and the public
 * model and tokenizer functions of mote.h.
 *
 * Loading reads the hyper-parameters (llama.cpp's key names), checks every
 * tensor's presence, type and shape against them — so the forward pass never
 * meets a surprise — and points the matrices into the file's bytes (read
 * into memory or mapped: mote_load_mode). Not here: the
 * forward pass and the context (llama.c).
 */
#include "model.h"
#include <stdio.h>
#include <string.h>

/* ---- hyper-parameters ---- */

/* Read "<arch>.<suffix>" as u32 into *out; absent keys keep *out (the
 * default) when !required. */
static mote_status get_arch_u32(const mote_gguf *g, const char *arch, const char *suffix,
                                bool required, int32_t *out, mote_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (mote__gguf_find_key(g, key) < 0) {
        if (!required) return MOTE_OK;
        return mote__err(err, MOTE_ERR_FORMAT, "%s: missing key %s", mote__gguf_path(g), key);
    }
    uint32_t v = 0;
    mote_status s = mote__gguf_get_u32(g, key, &v, err);
    if (s) return s;
    if (v > INT32_MAX)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %s = %u is out of range", mote__gguf_path(g), key, v);
    *out = (int32_t)v;
    return MOTE_OK;
}

static mote_status get_arch_f32(const mote_gguf *g, const char *arch, const char *suffix,
                                float *out, mote_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (mote__gguf_find_key(g, key) < 0) return MOTE_OK;
    return mote__gguf_get_f32(g, key, out, err);
}

static mote_status read_hparams(const mote_gguf *g, const char *arch, mote_hparams *hp,
                                mote_error *err) {
    const char *path = mote__gguf_path(g);
    mote_status s;
    int32_t key_length = 0;
    memset(hp, 0, sizeof *hp);
    hp->rope_freq_base = 10000.0f;
    hp->rms_eps = 1e-5f;
    hp->n_ctx_train = 2048;
    if ((s = get_arch_u32(g, arch, "embedding_length", true, &hp->n_embd, err)) ||
        (s = get_arch_u32(g, arch, "block_count", true, &hp->n_layer, err)) ||
        (s = get_arch_u32(g, arch, "feed_forward_length", true, &hp->n_ff, err)) ||
        (s = get_arch_u32(g, arch, "attention.head_count", true, &hp->n_head, err)) ||
        (s = get_arch_u32(g, arch, "context_length", false, &hp->n_ctx_train, err)) ||
        (s = get_arch_u32(g, arch, "attention.key_length", false, &key_length, err)) ||
        (s = get_arch_f32(g, arch, "rope.freq_base", &hp->rope_freq_base, err)) ||
        (s = get_arch_f32(g, arch, "attention.layer_norm_rms_epsilon", &hp->rms_eps, err)))
        return s;
    hp->n_head_kv = hp->n_head;
    if ((s = get_arch_u32(g, arch, "attention.head_count_kv", false, &hp->n_head_kv, err))) return s;

    if (hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_ff <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0)
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: hyper-parameters must be positive (embedding %d, blocks %d, ffn %d, "
                         "heads %d, kv heads %d)",
                         path, hp->n_embd, hp->n_layer, hp->n_ff, hp->n_head, hp->n_head_kv);
    if (hp->n_layer > 4096 || hp->n_head > 4096)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: implausible block count %d or head count %d",
                         path, hp->n_layer, hp->n_head);
    if (hp->n_head % hp->n_head_kv != 0)
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: head_count %d is not a multiple of head_count_kv %d", path,
                         hp->n_head, hp->n_head_kv);
    if (key_length > 0) hp->head_dim = key_length;
    else if (hp->n_embd % hp->n_head == 0) hp->head_dim = hp->n_embd / hp->n_head;
    else
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: embedding_length %d is not a multiple of head_count %d", path,
                         hp->n_embd, hp->n_head);
    hp->n_rot = hp->head_dim;
    if ((s = get_arch_u32(g, arch, "rope.dimension_count", false, &hp->n_rot, err))) return s;
    if (hp->n_rot <= 0 || hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: rope.dimension_count %d must be even and at most the head size %d",
                         path, hp->n_rot, hp->head_dim);
    if (hp->n_ctx_train <= 0) hp->n_ctx_train = 2048;
    if (!(hp->rms_eps > 0.0f && hp->rms_eps < 1.0f))
        return mote__err(err, MOTE_ERR_FORMAT, "%s: layer_norm_rms_epsilon %g is out of range",
                         path, (double)hp->rms_eps);
    if (!(hp->rope_freq_base > 0.0f))
        return mote__err(err, MOTE_ERR_FORMAT, "%s: rope.freq_base %g must be positive", path,
                         (double)hp->rope_freq_base);
    return MOTE_OK;
}

/* ---- tensors ---- */

/* Find a tensor, check its dims are exactly (ne0, ne1) (ne1 = 1 for a
 * vector) and that its type can be computed with. */
static mote_status find_tensor(const mote_model *m, const char *name, int64_t ne0, int64_t ne1,
                               bool optional, const mote_gguf_tensor **out, mote_error *err) {
    const char *path = mote__gguf_path(m->gguf);
    const mote_gguf_tensor *t = mote__gguf_find_tensor(m->gguf, name);
    *out = t;
    if (!t) {
        if (optional) return MOTE_OK;
        return mote__err(err, MOTE_ERR_FORMAT, "%s: missing tensor %s", path, name);
    }
    int64_t rest = 1;
    for (int d = 1; d < t->n_dims; d++) rest *= t->ne[d]; /* checked by the reader */
    if (t->ne[0] != ne0 || rest != ne1 || t->n_dims > 2)
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: tensor %s has shape [%lld, %lld], expected [%lld, %lld]", path, name,
                         (long long)t->ne[0], (long long)rest, (long long)ne0, (long long)ne1);
    const mote_type_traits *tr = mote__type_traits(t->type);
    if (!tr || !tr->vec_dot_ref || !tr->dequantize_ref)
        return mote__err(err, MOTE_ERR_UNSUPPORTED,
                         "%s: tensor %s has type %s, which this build cannot compute with yet", path,
                         name, mote__type_name(t->type));
    return MOTE_OK;
}

static mote_status load_matrix(mote_model *m, const char *name, int64_t n_cols, int64_t n_rows,
                               mote_matrix *out, mote_error *err) {
    const mote_gguf_tensor *t;
    mote_status s = find_tensor(m, name, n_cols, n_rows, false, &t, err);
    if (s) return s;
    uint64_t rb = 0;
    mote__type_row_bytes(t->type, (uint64_t)n_cols, &rb); /* validated by the reader */
    *out = (mote_matrix){t->data, t->type, n_cols, n_rows, (size_t)rb};
    m->n_params += (uint64_t)(n_cols * n_rows);
    m->weight_bytes += t->nbytes;
    return MOTE_OK;
}

/* Convert a norm weight vector (any computable type) to f32 into *dst. */
static mote_status load_norm(mote_model *m, const char *name, float **dst, mote_error *err) {
    const mote_gguf_tensor *t;
    int64_t n = m->hp.n_embd;
    mote_status s = find_tensor(m, name, n, 1, false, &t, err);
    if (s) return s;
    const mote_type_traits *tr = mote__type_traits(t->type);
    if (n % tr->block_size != 0)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: tensor %s: %lld is not a multiple of %s's block",
                         mote__gguf_path(m->gguf), name, (long long)n, tr->name);
    tr->dequantize_ref(t->data, *dst, n);
    m->n_params += (uint64_t)n;
    m->weight_bytes += t->nbytes;
    *dst += n;
    return MOTE_OK;
}

static mote_status load_tensors(mote_model *m, mote_error *err) {
    const mote_hparams *hp = &m->hp;
    const mote_gguf_tensor *t;
    mote_status s;
    char name[96];

    /* The vocabulary size comes from the embedding matrix. */
    t = mote__gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!t) return mote__err(err, MOTE_ERR_FORMAT, "%s: missing tensor token_embd.weight", mote__gguf_path(m->gguf));
    if (t->n_dims != 2 || t->ne[1] > INT32_MAX)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: token_embd.weight must be 2-D", mote__gguf_path(m->gguf));
    m->hp.n_vocab = (int32_t)t->ne[1];
    if ((s = load_matrix(m, "token_embd.weight", hp->n_embd, hp->n_vocab, &m->tok_embd, err))) return s;

    size_t n_norms = (size_t)(2 * hp->n_layer + 1);
    m->norm_store = mote__calloc(n_norms * (size_t)hp->n_embd, sizeof(float));
    m->layers = mote__calloc((size_t)hp->n_layer, sizeof(mote_layer));
    if (!m->norm_store || !m->layers) return mote__err(err, MOTE_ERR_NOMEM, "out of memory loading the model");
    float *norm_cursor = m->norm_store;

    m->out_norm = norm_cursor;
    if ((s = load_norm(m, "output_norm.weight", &norm_cursor, err))) return s;
    if ((s = find_tensor(m, "output.weight", hp->n_embd, hp->n_vocab, true, &t, err))) return s;
    if (t) {
        if ((s = load_matrix(m, "output.weight", hp->n_embd, hp->n_vocab, &m->output, err))) return s;
    } else {
        m->output = m->tok_embd; /* tied embeddings */
    }

    int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    for (int32_t l = 0; l < hp->n_layer; l++) {
        mote_layer *L = &m->layers[l];
#define MAT(field, suffix, cols, rows)                                             \
        snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, suffix);            \
        if ((s = load_matrix(m, name, cols, rows, &L->field, err))) return s;
        L->attn_norm = norm_cursor;
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", (int)l);
        if ((s = load_norm(m, name, &norm_cursor, err))) return s;
        MAT(wq, "attn_q", hp->n_embd, q_dim)
        MAT(wk, "attn_k", hp->n_embd, kv_dim)
        MAT(wv, "attn_v", hp->n_embd, kv_dim)
        MAT(wo, "attn_output", q_dim, hp->n_embd)
        L->ffn_norm = norm_cursor;
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", (int)l);
        if ((s = load_norm(m, name, &norm_cursor, err))) return s;
        MAT(w_gate, "ffn_gate", hp->n_embd, hp->n_ff)
        MAT(w_up, "ffn_up", hp->n_embd, hp->n_ff)
        MAT(w_down, "ffn_down", hp->n_ff, hp->n_embd)
#undef MAT
    }
    return MOTE_OK;
}

/* ---- public ---- */

/* The model of an open GGUF (taken over: freed with the model, also on
 * failure); path names it in messages. */
static mote_status model_from_gguf(mote_gguf *g, const char *path, mote_model **out, mote_error *err) {
    *out = NULL;
    mote_model *m = mote__calloc(1, sizeof *m);
    if (!m) {
        mote_gguf_close(g);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    }
    m->gguf = g;
    mote_status s;

    const char *arch;
    uint64_t arch_len;
    if ((s = mote__gguf_get_str(m->gguf, "general.architecture", &arch, &arch_len, err))) goto fail;
    if (arch_len >= sizeof m->arch) arch_len = sizeof m->arch - 1;
    memcpy(m->arch, arch, arch_len);
    m->arch[arch_len] = '\0';
    if (strcmp(m->arch, "llama") != 0) {
        s = mote__err(err, MOTE_ERR_UNSUPPORTED,
                      "%s: architecture '%s' is not supported by this build (supported: llama)", path,
                      m->arch);
        goto fail;
    }
    const char *name = "";
    uint64_t name_len = 0;
    if (mote__gguf_find_key(m->gguf, "general.name") >= 0 &&
        (s = mote__gguf_get_str(m->gguf, "general.name", &name, &name_len, err)))
        goto fail;
    if (!(m->name = mote__strndup(name, (size_t)name_len))) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((s = read_hparams(m->gguf, m->arch, &m->hp, err))) goto fail;
    if ((s = load_tensors(m, err))) goto fail;

    if (mote__gguf_find_key(m->gguf, "tokenizer.ggml.tokens") >= 0) {
        if ((s = mote__vocab_from_gguf(m->gguf, &m->vocab, err))) goto fail;
        if (mote_vocab_n_tokens(m->vocab) != m->hp.n_vocab) {
            s = mote__err(err, MOTE_ERR_FORMAT,
                          "%s: the tokenizer has %d tokens but token_embd.weight has %d rows", path,
                          mote_vocab_n_tokens(m->vocab), m->hp.n_vocab);
            goto fail;
        }
    }
    *out = m;
    return MOTE_OK;
fail:
    mote_model_free(m);
    return s;
}

mote_status mote_model_load_with(const char *path, mote_load_mode mode, mote_model **out,
                                 mote_error *err) {
    *out = NULL;
    mote_gguf *g = NULL;
    mote_status s = mote__gguf_open_file(path, mode, &g, err);
    if (s) return s;
    return model_from_gguf(g, path, out, err);
}

mote_status mote_model_load(const char *path, mote_model **out, mote_error *err) {
    return mote_model_load_with(path, MOTE_LOAD_AUTO, out, err);
}

mote_status mote_model_load_memory(const void *data, uint64_t size, const char *name,
                                   mote_model **out, mote_error *err) {
    *out = NULL;
    if (!data || !name) return mote__err(err, MOTE_ERR_INVALID_ARG, "no model data given");
    mote_gguf *g = NULL;
    mote_status s = mote__gguf_open_memory(data, size, name, &g, err);
    if (s) return s;
    s = model_from_gguf(g, name, out, err);
    if (!s) (*out)->from_memory = true;
    return s;
}

void mote_model_free(mote_model *m) {
    if (!m) return;
    mote_vocab_free(m->vocab);
    mote__free(m->layers);
    mote__free(m->norm_store);
    mote__free(m->name);
    mote_gguf_close(m->gguf);
    mote__free(m);
}

void mote_model_get_info(const mote_model *m, mote_model_info *info) {
    const mote_hparams *hp = &m->hp;
    *info = (mote_model_info){
        .arch = m->arch, .name = m->name, .n_vocab = hp->n_vocab, .n_embd = hp->n_embd,
        .n_layer = hp->n_layer, .n_head = hp->n_head, .n_head_kv = hp->n_head_kv,
        .n_ff = hp->n_ff, .n_ctx_train = hp->n_ctx_train,
        .bos_id = m->vocab ? mote_vocab_bos(m->vocab) : -1,
        .eos_id = m->vocab ? mote_vocab_eos(m->vocab) : -1,
        .n_params = m->n_params, .weight_bytes = m->weight_bytes,
        .storage = mote__gguf_is_read(m->gguf) ? "read" : m->from_memory ? "memory" : "mmap",
    };
}

const mote_vocab *mote_model_vocab(const mote_model *m) { return m->vocab; }
