/* calib.c — calibration runs: evaluate a model over a text file in chunks
 * with an observer on every matrix input (for `mote imatrix` and AWQ), and
 * the names of the matrices the observer sees.
 *
 * What it is: tokenizing the file, cutting it into chunks of n_ctx tokens
 * (BOS, then n_ctx - 1 tokens of text, as llama.cpp's imatrix tool does),
 * evaluating each chunk from an empty cache with logits for every position
 * (so output.weight sees every token too), and the running perplexity of
 * the chunks for the progress line. What it is not: what is collected (the
 * observers live in imatrix.c and awq.c) or a perplexity tool.
 */
#include "compress.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const g_suffix[MOTE_MAT_COUNT] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "output"};

void mote__matrix_name(int32_t layer, int kind, char *buf, size_t cap) {
    if (kind == MOTE_MAT_OUTPUT || layer < 0) snprintf(buf, cap, "output.weight");
    else snprintf(buf, cap, "blk.%d.%s.weight", (int)layer, g_suffix[kind]);
}

const char *mote__printable(const char *name, char *buf, size_t cap) {
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++) buf[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
    buf[i] = '\0';
    return buf;
}

bool mote__model_matrix_id(const mote_model *m, const mote_matrix *w, int32_t *layer, int *kind) {
    if (w == &m->output) {
        *layer = -1;
        *kind = MOTE_MAT_OUTPUT;
        return true;
    }
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        const mote_layer *L = &m->layers[l];
        const mote_matrix *mats[MOTE_MAT_OUTPUT] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                                    &L->w_gate, &L->w_up, &L->w_down};
        for (int k = 0; k < MOTE_MAT_OUTPUT; k++) {
            if (mats[k] == w) {
                *layer = l;
                *kind = k;
                return true;
            }
        }
    }
    return false;
}

/* Tokenize the whole file (no special tokens added or parsed). */
static mote_status tokenize_file(const mote_vocab *v, const char *path, int32_t **ids_out,
                                 int64_t *n_out, mote_error *err) {
    mote_file_map fm;
    mote_status s = mote__file_map(path, &fm, err);
    if (s) return s;
    int64_t cap = (int64_t)fm.size + 16, n = 0;
    int32_t *ids = mote__malloc((size_t)cap * sizeof *ids);
    if (!ids) {
        mote__file_unmap(&fm);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory tokenizing %s", path);
    }
    s = mote_tokenize(v, (const char *)fm.data, (size_t)fm.size, 0, ids, cap, &n, err);
    if (s == MOTE_ERR_RANGE) { /* more tokens than bytes: not expected, but allowed */
        int32_t *p = mote__realloc(ids, (size_t)n * sizeof *ids);
        if (!p) s = mote__err(err, MOTE_ERR_NOMEM, "out of memory tokenizing %s", path);
        else s = mote_tokenize(v, (const char *)fm.data, (size_t)fm.size, 0, (ids = p), n, &n, err);
    }
    mote__file_unmap(&fm);
    if (s) {
        mote__free(ids);
        return s;
    }
    *ids_out = ids;
    *n_out = n;
    return MOTE_OK;
}

mote_status mote__calib_run(const mote_model *m, const char *text_path, const mote_calib_params *p,
                            mote_matmul_observer fn, void *user, int32_t *n_done,
                            int32_t *chunk_tokens, mote_error *err) {
    const mote_vocab *v = mote_model_vocab(m);
    if (!v)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "the model has no tokenizer: calibration needs one to read %s", text_path);
    int32_t n_ctx = p->n_ctx > 0 ? p->n_ctx : 512;
    if (n_ctx > m->hp.n_ctx_train) n_ctx = m->hp.n_ctx_train;
    if (n_ctx < 2)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "calibration chunks of %d tokens are too short",
                         (int)n_ctx);
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    mote_status s = tokenize_file(v, text_path, &ids, &n_ids, err);
    if (s) return s;
    const int32_t bos = mote_vocab_bos(v);
    const int32_t per_chunk = bos >= 0 ? n_ctx - 1 : n_ctx; /* text tokens per chunk */
    int64_t n_chunks = n_ids / per_chunk;
    if (p->n_chunks > 0 && n_chunks > p->n_chunks) n_chunks = p->n_chunks;
    if (n_chunks < 1) {
        mote__free(ids);
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "%s: %lld tokens, fewer than one calibration chunk of %d (use a longer "
                         "text or a smaller context)",
                         text_path, (long long)n_ids, (int)n_ctx);
    }
    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_threads = p->n_threads;
    mote_ctx *c = NULL;
    int32_t *chunk = mote__malloc((size_t)n_ctx * sizeof *chunk);
    float *logits = mote__malloc((size_t)n_ctx * (size_t)m->hp.n_vocab * sizeof *logits);
    if (!chunk || !logits) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory for a calibration chunk of %d tokens",
                      (int)n_ctx);
        goto done;
    }
    if ((s = mote_ctx_new(m, &cp, &c, err))) goto done;
    mote__ctx_set_observer(c, fn, user);
    double nll = 0.0;
    int64_t n_pred = 0;
    for (int64_t ci = 0; ci < n_chunks; ci++) {
        int32_t n = 0;
        if (bos >= 0) chunk[n++] = bos;
        memcpy(chunk + n, ids + ci * per_chunk, (size_t)per_chunk * sizeof *chunk);
        n += per_chunk;
        mote_ctx_reset(c);
        if ((s = mote_ctx_decode(c, chunk, n, logits, err))) goto done;
        /* next-token log-likelihood of the chunk, for the progress line */
        for (int32_t t = 0; t + 1 < n; t++) {
            const float *row = logits + (size_t)t * m->hp.n_vocab;
            float mx = row[0];
            for (int32_t j = 1; j < m->hp.n_vocab; j++) mx = row[j] > mx ? row[j] : mx;
            double sum = 0.0;
            for (int32_t j = 0; j < m->hp.n_vocab; j++) sum += exp((double)(row[j] - mx));
            nll += log(sum) + (double)mx - (double)row[chunk[t + 1]];
            n_pred++;
        }
        if (p->progress)
            p->progress(p->progress_user, (int32_t)(ci + 1), (int32_t)n_chunks,
                        n_pred ? exp(nll / (double)n_pred) : 0.0);
    }
    if (n_done) *n_done = (int32_t)n_chunks;
    if (chunk_tokens) *chunk_tokens = n_ctx;
done:
    mote_ctx_free(c);
    mote__free(chunk);
    mote__free(logits);
    mote__free(ids);
    return s;
}
