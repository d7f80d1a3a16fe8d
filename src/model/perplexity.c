/* perplexity.c — mote_perplexity: how well a model predicts a text
 * (perplexity, bits per byte) and how far its predictions are from saved
 * base logits (KL divergence, top-token agreement).
 *
 * Windows. The text is tokenized without special tokens and cut into
 * non-overlapping windows of the context's n_ctx positions. When the vocab
 * adds BOS to a text (its add_bos_token, which llama.cpp's perplexity also
 * follows), each window is BOS followed by the next n_ctx - 1 text tokens
 * and every text token is scored (predicted from BOS and the window's
 * tokens before it): every byte of the text is counted once. Otherwise a
 * window is n_ctx text tokens and all its positions after the first are
 * scored (the first token of each window is context only). This is not
 * llama.cpp's scheme (which scores only the second half of each window), so
 * perplexities differ from llama-perplexity's: more tokens are scored
 * with little context.
 *
 * Numbers: per scored token the negative log-likelihood nll = logsumexp(z)
 * - z[target] (in double); ppl = exp(mean nll) with the standard error
 * ppl * sd(nll) / sqrt(n - 1); bits per byte = sum nll / ln 2 / the bytes
 * the scored tokens decode to (mote_token_to_piece after the token before
 * each in the text: for a BOS model, the whole text). KL(base || model) per
 * position over the vocabulary, with its mean, standard error, 99th
 * percentile (nearest rank) and maximum; same_top: the share of positions
 * where the model's most likely token is the base's.
 *
 * Not here: the file layout of saved logits (logits_file.c), the forward
 * pass (llama.c).
 */
#include "model.h"
#include "logits_file.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

mote_ppl_params mote_ppl_default_params(void) {
    return (mote_ppl_params){.save_logits = NULL, .kl_base = NULL, .progress = NULL, .progress_user = NULL};
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* lp (n) = log softmax(z); returns the argmax. */
static int32_t log_softmax(const float *z, int32_t n, double *lp) {
    int32_t top = 0;
    for (int32_t j = 1; j < n; j++)
        if (z[j] > z[top]) top = j;
    double mx = z[top], sum = 0.0;
    for (int32_t j = 0; j < n; j++) sum += exp((double)z[j] - mx);
    double lse = mx + log(sum);
    for (int32_t j = 0; j < n; j++) lp[j] = (double)z[j] - lse;
    return top;
}

/* Everything one run holds; freed by ppl_free. */
typedef struct ppl_run {
    int32_t *ids;          /* the text's tokens */
    int32_t *win;          /* one window */
    float *logits;         /* (n_batch, n_vocab) */
    double *lp, *lp_base;  /* (n_vocab) */
    double *kl;            /* (n_scored) with a base */
    uint16_t *qrow;        /* (n_vocab) for writing rows */
    mote_file_map base;
    FILE *save;
    char *save_tmp;
} ppl_run;

static void ppl_free(ppl_run *r) {
    mote__free(r->ids);
    mote__free(r->win);
    mote__free(r->logits);
    mote__free(r->lp);
    mote__free(r->lp_base);
    mote__free(r->kl);
    mote__free(r->qrow);
    mote__file_unmap(&r->base);
    if (r->save) {
        fclose(r->save);
        remove(r->save_tmp);
    }
    mote__free(r->save_tmp);
}

/* Check a base file's header against this run. */
static mote_status check_base(const mote_logits_header *h, const char *path, int32_t n_vocab,
                              int32_t n_ctx, uint32_t flags, int64_t n_text, uint64_t hash,
                              int64_t n_scored, mote_error *err) {
    if (h->n_vocab != (uint32_t)n_vocab)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "%s: the base logits are over a vocabulary of %u tokens (model '%s'), this "
                         "model has %d: they are not comparable",
                         path, h->n_vocab, h->model, (int)n_vocab);
    if (h->n_ctx != (uint32_t)n_ctx)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "%s: the base logits were computed with windows of %u tokens, this run uses "
                         "%d: pass -c %u",
                         path, h->n_ctx, (int)n_ctx, h->n_ctx);
    if (h->flags != flags)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "%s: the base model's windows %s with BOS, this model's %s", path,
                         h->flags & MOTE_LOGITS_FLAG_BOS ? "start" : "do not start",
                         flags & MOTE_LOGITS_FLAG_BOS ? "do" : "do not");
    if (h->n_tokens != (uint64_t)n_text || h->tokens_hash != hash)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "%s: the base logits are of another text or tokenization (%llu tokens, "
                         "this text has %lld%s)",
                         path, (unsigned long long)h->n_tokens, (long long)n_text,
                         h->n_tokens == (uint64_t)n_text ? " but other ids" : "");
    if (h->n_rows != (uint64_t)n_scored)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %llu rows, this run scores %lld positions", path,
                         (unsigned long long)h->n_rows, (long long)n_scored);
    return MOTE_OK;
}

mote_status mote_perplexity(mote_ctx *c, const char *text, size_t len, const mote_ppl_params *p,
                            mote_ppl_result *res, mote_error *err) {
    memset(res, 0, sizeof *res);
    const mote_ppl_params params = p ? *p : mote_ppl_default_params();
    const mote_model *m = mote_ctx_model(c);
    const mote_vocab *v = m->vocab;
    const int32_t n_vocab = m->hp.n_vocab, n_ctx = mote_ctx_n_ctx(c), n_batch = mote_ctx_n_batch(c);
    if (!v) return mote__err(err, MOTE_ERR_INVALID_ARG, "the model has no tokenizer: it cannot read a text");
    if (len == 0) return mote__err(err, MOTE_ERR_INVALID_ARG, "the text is empty: nothing to score");
    if (n_ctx < 2)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "a window of %d token cannot score anything (at least 2)",
                         (int)n_ctx);
    if (n_ctx > m->hp.n_ctx_train)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "a window of %d tokens is longer than the model's context of %d: perplexity "
                         "beyond it measures positions the model never saw",
                         (int)n_ctx, (int)m->hp.n_ctx_train);

    ppl_run r;
    memset(&r, 0, sizeof r);
    mote_status s;
    int64_t n_text = 0;
    mote_tokenize(v, text, len, 0, NULL, 0, &n_text, NULL);
    if (!(r.ids = mote__malloc((size_t)(n_text > 0 ? n_text : 1) * sizeof(int32_t))))
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory tokenizing %zu bytes", len);
    if ((s = mote_tokenize(v, text, len, 0, r.ids, n_text, &n_text, err))) goto done;

    /* Windows start with BOS when the vocab adds one to a text (its
     * add_bos_token): the empty text with special tokens shows it. */
    const int32_t bos = mote_vocab_bos(v);
    int32_t probe[8];
    int64_t n_probe = 0;
    mote_tokenize(v, "", 0, MOTE_TOKENIZE_ADD_SPECIAL, probe, 8, &n_probe, NULL);
    const bool use_bos = bos >= 0 && n_probe >= 1 && probe[0] == bos;
    const int64_t per_win = use_bos ? n_ctx - 1 : n_ctx; /* text tokens per window */
    const int64_t n_windows = (n_text + per_win - 1) / per_win;
    int64_t n_scored = 0;
    for (int64_t w = 0; w < n_windows; w++) {
        int64_t k = n_text - w * per_win < per_win ? n_text - w * per_win : per_win;
        n_scored += use_bos ? k : k - 1;
    }
    if (n_scored < 1) {
        s = mote__err(err, MOTE_ERR_INVALID_ARG,
                      "the text is %lld token%s: a window needs at least 2 tokens to score one "
                      "(this model's vocab starts a text with no BOS)",
                      (long long)n_text, n_text == 1 ? "" : "s");
        goto done;
    }
    const uint32_t flags = use_bos ? MOTE_LOGITS_FLAG_BOS : 0;
    const uint64_t hash = mote__logits_hash_ids(r.ids, n_text);

    r.win = mote__malloc((size_t)n_ctx * sizeof(int32_t));
    r.logits = mote__malloc((size_t)n_batch * (size_t)n_vocab * sizeof(float));
    r.lp = mote__malloc((size_t)n_vocab * sizeof(double));
    r.lp_base = mote__malloc((size_t)n_vocab * sizeof(double));
    r.qrow = mote__malloc((size_t)n_vocab * sizeof(uint16_t));
    if (params.kl_base) r.kl = mote__malloc((size_t)n_scored * sizeof(double));
    if (!r.win || !r.logits || !r.lp || !r.lp_base || !r.qrow || (params.kl_base && !r.kl)) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory for %d logits rows of %d tokens", (int)n_batch,
                      (int)n_vocab);
        goto done;
    }

    mote_logits_header base_h, save_h;
    if (params.kl_base) {
        if ((s = mote__file_map(params.kl_base, &r.base, err))) goto done;
        if (!r.base.data) {
            s = mote__err(err, MOTE_ERR_FORMAT, "%s: the file is empty, not saved logits", params.kl_base);
            goto done;
        }
        if ((s = mote__logits_parse_header(r.base.data, r.base.size, params.kl_base, &base_h, err)) ||
            (s = check_base(&base_h, params.kl_base, n_vocab, n_ctx, flags, n_text, hash, n_scored, err)))
            goto done;
        snprintf(res->base_model, sizeof res->base_model, "%s", base_h.model);
    }
    if (params.save_logits) {
        size_t pl = strlen(params.save_logits);
        if (!(r.save_tmp = mote__malloc(pl + 5))) {
            s = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
            goto done;
        }
        memcpy(r.save_tmp, params.save_logits, pl);
        memcpy(r.save_tmp + pl, ".tmp", 5);
        if (!(r.save = fopen(r.save_tmp, "wb"))) {
            s = mote__err(err, MOTE_ERR_IO, "%s: cannot open for writing", r.save_tmp);
            goto done;
        }
        save_h = (mote_logits_header){.version = 1, .n_vocab = (uint32_t)n_vocab, .n_ctx = (uint32_t)n_ctx,
                                      .flags = flags, .n_tokens = (uint64_t)n_text,
                                      .n_rows = (uint64_t)n_scored, .tokens_hash = hash};
        snprintf(save_h.model, sizeof save_h.model, "%s", m->name ? m->name : "");
        if (!mote__logits_write_header(r.save, &save_h)) {
            s = mote__err(err, MOTE_ERR_IO, "%s: write failed", r.save_tmp);
            goto done;
        }
    }

    double nll_sum = 0.0, nll_sq = 0.0;
    int64_t row = 0, n_bytes = 0, n_same = 0;
    char piece[1024];
    for (int64_t w = 0; w < n_windows; w++) {
        /* The window: text tokens [t0, t0 + k), after BOS when there is one. */
        const int64_t t0 = w * per_win;
        const int64_t k = n_text - t0 < per_win ? n_text - t0 : per_win;
        int32_t n_win = 0;
        if (use_bos) r.win[n_win++] = bos;
        for (int64_t i = 0; i < k; i++) r.win[n_win++] = r.ids[t0 + i];
        /* Window position j predicts position j + 1, which is text token
         * t0 + j (with BOS) or t0 + j + 1 (without). */
        const int64_t text_of_next = use_bos ? t0 : t0 + 1;
        mote_ctx_reset(c);
        for (int32_t b0 = 0; b0 < n_win; b0 += n_batch) {
            int32_t nb = n_win - b0 < n_batch ? n_win - b0 : n_batch;
            if ((s = mote_ctx_decode(c, r.win + b0, nb, r.logits, err))) goto done;
            for (int32_t i = 0; i < nb; i++) {
                int32_t j = b0 + i;
                if (j + 1 >= n_win) break; /* the last position predicts nothing here */
                int64_t ti = text_of_next + j;
                int32_t target = r.ids[ti];
                int32_t top = log_softmax(r.logits + (size_t)i * n_vocab, n_vocab, r.lp);
                double nll = -r.lp[target];
                nll_sum += nll;
                nll_sq += nll * nll;
                int32_t prev = ti > 0 ? r.ids[ti - 1] : (use_bos ? bos : -1);
                int nbytes = mote_token_to_piece(v, prev, target, piece, (int)sizeof piece);
                if (nbytes > 0) n_bytes += nbytes;
                if (r.save && !mote__logits_write_row(r.save, r.lp, n_vocab, top, r.qrow)) {
                    s = mote__err(err, MOTE_ERR_IO, "%s: write failed", r.save_tmp);
                    goto done;
                }
                if (r.kl) {
                    int32_t base_top;
                    if ((s = mote__logits_read_row(r.base.data, &base_h, (uint64_t)row, params.kl_base,
                                                   r.lp_base, &base_top, err)))
                        goto done;
                    double kl = 0.0;
                    for (int32_t t = 0; t < n_vocab; t++)
                        kl += exp(r.lp_base[t]) * (r.lp_base[t] - r.lp[t]);
                    r.kl[row] = kl > 0.0 ? kl : 0.0; /* rounding can dip below 0 */
                    n_same += top == base_top;
                }
                row++;
            }
        }
        if (params.progress) params.progress(params.progress_user, w + 1, n_windows, exp(nll_sum / (double)row));
    }

    if (r.save) {
        FILE *f = r.save;
        r.save = NULL;
        if (fclose(f) != 0 || rename(r.save_tmp, params.save_logits) != 0) {
            remove(r.save_tmp);
            s = mote__err(err, MOTE_ERR_IO, "%s: write failed", params.save_logits);
            goto done;
        }
    }
    const double n = (double)row;
    res->n_tokens = n_text;
    res->n_windows = n_windows;
    res->n_scored = row;
    res->n_bytes = n_bytes;
    res->n_ctx = n_ctx;
    res->bos_windows = use_bos;
    res->nll_mean = nll_sum / n;
    res->ppl = exp(res->nll_mean);
    double var = nll_sq / n - res->nll_mean * res->nll_mean;
    res->ppl_err = row > 1 && var > 0.0 ? res->ppl * sqrt(var / (n - 1.0)) : 0.0;
    res->bits_per_byte = n_bytes > 0 ? nll_sum / log(2.0) / (double)n_bytes : 0.0;
    if (r.kl) {
        double sum = 0.0, sq = 0.0;
        for (int64_t i = 0; i < row; i++) {
            sum += r.kl[i];
            sq += r.kl[i] * r.kl[i];
        }
        res->has_kl = 1;
        res->kld_mean = sum / n;
        double kv = sq / n - res->kld_mean * res->kld_mean;
        res->kld_err = row > 1 && kv > 0.0 ? sqrt(kv / (n - 1.0)) : 0.0;
        qsort(r.kl, (size_t)row, sizeof(double), cmp_double);
        int64_t rank = (int64_t)ceil(0.99 * n); /* nearest rank, 1-based */
        res->kld_p99 = r.kl[(rank < 1 ? 1 : rank) - 1];
        res->kld_max = r.kl[row - 1];
        res->same_top = (double)n_same / n;
    }
    s = MOTE_OK;
done:
    ppl_free(&r);
    return s;
}
