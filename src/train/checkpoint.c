/* checkpoint.c — training checkpoints: writing a trainer's whole state as
 * GGUF, and a trainer that continues from one (mote_trainer_save_checkpoint,
 * mote_trainer_resume, mote_train_state_free in mote.h).
 *
 * A checkpoint is the model exactly as mote_trainer_save writes it (llama.*
 * keys, the tokenizer, F32 tensors — `mote run` loads it as a model) plus:
 *   mote.checkpoint.version   u32 = 1
 *   mote.checkpoint.u64       u64[4]: AdamW's step, seed, the caller's
 *                             sampler RNG, the caller's data hash
 *   mote.train.lr, .lr_min, .beta1, .beta2, .eps, .weight_decay, .grad_clip  f32
 *   mote.train.warmup, .n_steps, .batch, .seq, .n_micro                      u32
 *   mote.train.train_loss     f32[step]: the loss of every step so far
 *   mote.train.val_loss       f32[n], mote.train.val_step i64[n]
 *   tensors mote.adamw.m, mote.adamw.v: AdamW's moments, 1-D F32 of
 *                             n_params, in the parameter buffer's layout
 * Every float is stored as the f32 it is in memory, so a resumed run
 * computes exactly what the uninterrupted one would (same thread count: the
 * kernels' reduction order depends on it).
 *
 * Reading treats the file as hostile: the GGUF reader bounds-checks the
 * header; here every key's presence and type, every array length and both
 * moment tensors' type and size are checked before anything is copied.
 * Not here: sampling batches or the data (the caller's, through the
 * mote_train_state it passes), LoRA training (refused).
 */
#include "train.h"
#include "../gguf/gguf.h"
#include "../tensor/types.h"
#include <math.h>
#include <string.h>

#define CKPT_VERSION 1

/* ---- writing ---- */

typedef struct save_ctx {
    const mote_tr_trainer_view *v;
    const mote_train_state *st;
} save_ctx;

static mote_status add_state(void *ctx, mote_gguf_writer *w, mote_error *err) {
    const save_ctx *c = ctx;
    const mote_train_params *p = c->v->p;
    const mote_tr_adamw *opt = c->v->opt;
    const mote_train_state *st = c->st;
    const uint64_t u64[4] = {(uint64_t)opt->t, p->seed, st->rng, st->data_hash};
    mote_status s;
    if ((s = mote__gguf_set_u32(w, "mote.checkpoint.version", CKPT_VERSION)) ||
        (s = mote__gguf_set_arr(w, "mote.checkpoint.u64", MOTE_GGUF_UINT64, u64, 4)) ||
        (s = mote__gguf_set_f32(w, "mote.train.lr", p->lr)) ||
        (s = mote__gguf_set_f32(w, "mote.train.lr_min", p->lr_min)) ||
        (s = mote__gguf_set_f32(w, "mote.train.beta1", p->beta1)) ||
        (s = mote__gguf_set_f32(w, "mote.train.beta2", p->beta2)) ||
        (s = mote__gguf_set_f32(w, "mote.train.eps", p->eps)) ||
        (s = mote__gguf_set_f32(w, "mote.train.weight_decay", p->weight_decay)) ||
        (s = mote__gguf_set_f32(w, "mote.train.grad_clip", p->grad_clip)) ||
        (s = mote__gguf_set_u32(w, "mote.train.warmup", (uint32_t)p->warmup)) ||
        (s = mote__gguf_set_u32(w, "mote.train.n_steps", (uint32_t)p->n_steps)) ||
        (s = mote__gguf_set_u32(w, "mote.train.batch", (uint32_t)st->batch)) ||
        (s = mote__gguf_set_u32(w, "mote.train.seq", (uint32_t)st->seq)) ||
        (s = mote__gguf_set_u32(w, "mote.train.n_micro", (uint32_t)st->n_micro)) ||
        (s = mote__gguf_set_arr(w, "mote.train.train_loss", MOTE_GGUF_FLOAT32, st->train_loss,
                                (uint64_t)st->n_train)) ||
        (s = mote__gguf_set_arr(w, "mote.train.val_loss", MOTE_GGUF_FLOAT32, st->val_loss,
                                (uint64_t)st->n_val)) ||
        (s = mote__gguf_set_arr(w, "mote.train.val_step", MOTE_GGUF_INT64, st->val_step,
                                (uint64_t)st->n_val)))
        return mote__err(err, s, "out of memory writing a checkpoint");
    const int64_t ne[1] = {(int64_t)opt->n};
    if ((s = mote__gguf_add_tensor(w, "mote.adamw.m", MOTE_TYPE_F32, 1, ne, opt->m, err)) ||
        (s = mote__gguf_add_tensor(w, "mote.adamw.v", MOTE_TYPE_F32, 1, ne, opt->v, err)))
        return s;
    return MOTE_OK;
}

mote_status mote_trainer_save_checkpoint(mote_trainer *t, const char *path, const char *vocab_path,
                                         const mote_train_state *st, mote_error *err) {
    if (!t || !path || !st)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "a checkpoint needs a trainer, a path and a state");
    mote_tr_trainer_view v;
    mote__trainer_view(t, &v);
    if (v.lora)
        return mote__err(err, MOTE_ERR_UNSUPPORTED, "checkpoints of LoRA training are not supported");
    if (st->n_train != v.opt->t || st->n_train < 0 || st->n_val < 0 ||
        (st->n_train && !st->train_loss) || (st->n_val && (!st->val_loss || !st->val_step)) ||
        st->batch <= 0 || st->seq <= 0 || st->n_micro <= 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "checkpoint state: %lld train losses for %lld steps, %lld val losses, "
                         "batch %d x %d x %d",
                         (long long)st->n_train, (long long)v.opt->t, (long long)st->n_val,
                         st->batch, st->seq, st->n_micro);
    save_ctx c = {&v, st};
    return mote__tr_model_save_ext(v.model, path, vocab_path, "mote-checkpoint", add_state, &c, err);
}

/* ---- reading ---- */

void mote_train_state_free(mote_train_state *st) {
    if (!st) return;
    mote__free(st->train_loss);
    mote__free(st->val_loss);
    mote__free(st->val_step);
    st->train_loss = st->val_loss = NULL;
    st->val_step = NULL;
    st->n_train = st->n_val = 0;
}

/* A u32 key that must be present and within [lo, hi]. */
static mote_status req_u32(const mote_gguf *g, const char *key, uint32_t lo, uint32_t hi,
                           int32_t *out, mote_error *err) {
    uint32_t v;
    mote_status s = mote__gguf_get_u32(g, key, &v, err);
    if (s) return s;
    if (v < lo || v > hi)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %s = %u is out of range (%u..%u)",
                         mote__gguf_path(g), key, v, lo, hi);
    *out = (int32_t)v;
    return MOTE_OK;
}

static mote_status req_f32(const mote_gguf *g, const char *key, float *out, mote_error *err) {
    mote_status s = mote__gguf_get_f32(g, key, out, err);
    if (!s && !isfinite(*out))
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %s is not a finite number", mote__gguf_path(g), key);
    return s;
}

/* A fixed-size array key of element type `type` and exactly n elements,
 * copied into a new buffer (*out NULL when n is 0). */
static mote_status req_arr(const mote_gguf *g, const char *key, mote_gguf_vtype type, size_t elem,
                           uint64_t n, void **out, mote_error *err) {
    mote_gguf_vtype et;
    uint64_t have;
    const void *data;
    *out = NULL;
    mote_status s = mote__gguf_get_arr(g, key, &et, &have, &data, err);
    if (s) return s;
    if (et != type || have != n)
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: %s has %llu elements of type %d, expected %llu of type %d",
                         mote__gguf_path(g), key, (unsigned long long)have, (int)et,
                         (unsigned long long)n, (int)type);
    if (n == 0) return MOTE_OK;
    if (!(*out = mote__malloc((size_t)n * elem)))
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory reading %s", key);
    memcpy(*out, data, (size_t)n * elem);
    return MOTE_OK;
}

static mote_status moment_tensor(const mote_gguf *g, const char *name, size_t n,
                                 const mote_gguf_tensor **out, mote_error *err) {
    const mote_gguf_tensor *t = mote__gguf_find_tensor(g, name);
    *out = t;
    if (!t) return mote__err(err, MOTE_ERR_FORMAT, "%s: missing tensor %s", mote__gguf_path(g), name);
    if (t->type != MOTE_TYPE_F32 || t->n_dims != 1 || (uint64_t)t->ne[0] != (uint64_t)n)
        return mote__err(err, MOTE_ERR_FORMAT,
                         "%s: tensor %s must be 1-D F32 of %zu values (the model's parameters)",
                         mote__gguf_path(g), name, n);
    return MOTE_OK;
}

mote_status mote_trainer_resume(const char *path, int32_t n_threads, mote_trainer **out,
                                mote_train_state *st, mote_error *err) {
    *out = NULL;
    if (!path || !st) return mote__err(err, MOTE_ERR_INVALID_ARG, "resume needs a path and a state");
    memset(st, 0, sizeof *st);
    mote_gguf *g = NULL;
    mote_trainer *t = NULL;
    uint64_t *u64 = NULL;
    mote_status s = mote_gguf_open(path, &g, err);
    if (s) return s;
    if (mote__gguf_find_key(g, "mote.checkpoint.version") < 0) {
        s = mote__err(err, MOTE_ERR_FORMAT,
                      "%s: not a training checkpoint (no mote.checkpoint.version; write one with "
                      "mote train --checkpoint-every)", path);
        goto fail;
    }
    int32_t version;
    if ((s = req_u32(g, "mote.checkpoint.version", CKPT_VERSION, CKPT_VERSION, &version, err))) goto fail;
    if ((s = req_arr(g, "mote.checkpoint.u64", MOTE_GGUF_UINT64, 8, 4, (void **)&u64, err))) goto fail;
    mote_train_params p = mote_train_default_params();
    p.n_threads = n_threads;
    p.seed = u64[1];
    if ((s = req_f32(g, "mote.train.lr", &p.lr, err)) ||
        (s = req_f32(g, "mote.train.lr_min", &p.lr_min, err)) ||
        (s = req_f32(g, "mote.train.beta1", &p.beta1, err)) ||
        (s = req_f32(g, "mote.train.beta2", &p.beta2, err)) ||
        (s = req_f32(g, "mote.train.eps", &p.eps, err)) ||
        (s = req_f32(g, "mote.train.weight_decay", &p.weight_decay, err)) ||
        (s = req_f32(g, "mote.train.grad_clip", &p.grad_clip, err)) ||
        (s = req_u32(g, "mote.train.n_steps", 1, 1u << 30, &p.n_steps, err)) ||
        (s = req_u32(g, "mote.train.warmup", 0, (uint32_t)p.n_steps, &p.warmup, err)) ||
        (s = req_u32(g, "mote.train.batch", 1, 1u << 16, &st->batch, err)) ||
        (s = req_u32(g, "mote.train.seq", 1, 1u << 16, &st->seq, err)) ||
        (s = req_u32(g, "mote.train.n_micro", 1, 1u << 16, &st->n_micro, err)))
        goto fail;
    const uint64_t step = u64[0];
    if (step > (uint64_t)p.n_steps) {
        s = mote__err(err, MOTE_ERR_FORMAT, "%s: step %llu is past the run's %d steps", path,
                      (unsigned long long)step, p.n_steps);
        goto fail;
    }
    st->rng = u64[2];
    st->data_hash = u64[3];
    st->n_steps = p.n_steps;
    st->n_train = (int64_t)step;
    if ((s = req_arr(g, "mote.train.train_loss", MOTE_GGUF_FLOAT32, 4, step, (void **)&st->train_loss, err)))
        goto fail;
    {
        mote_gguf_vtype et;
        uint64_t n_val;
        const void *data;
        if ((s = mote__gguf_get_arr(g, "mote.train.val_loss", &et, &n_val, &data, err))) goto fail;
        if (n_val > step + 1) {
            s = mote__err(err, MOTE_ERR_FORMAT, "%s: %llu validation losses for %llu steps", path,
                          (unsigned long long)n_val, (unsigned long long)step);
            goto fail;
        }
        st->n_val = (int64_t)n_val;
        if ((s = req_arr(g, "mote.train.val_loss", MOTE_GGUF_FLOAT32, 4, n_val, (void **)&st->val_loss, err)) ||
            (s = req_arr(g, "mote.train.val_step", MOTE_GGUF_INT64, 8, n_val, (void **)&st->val_step, err)))
            goto fail;
    }
    /* the weights: the model loader checks every tensor against the file */
    if ((s = mote_trainer_new(&p, path, &t, err))) goto fail;
    mote_tr_trainer_view v;
    mote__trainer_view(t, &v);
    const mote_gguf_tensor *tm, *tv;
    if ((s = moment_tensor(g, "mote.adamw.m", v.opt->n, &tm, err)) ||
        (s = moment_tensor(g, "mote.adamw.v", v.opt->n, &tv, err)))
        goto fail;
    memcpy(v.opt->m, tm->data, v.opt->n * sizeof(float));
    memcpy(v.opt->v, tv->data, v.opt->n * sizeof(float));
    v.opt->t = (int64_t)step;
    mote__free(u64);
    mote_gguf_close(g);
    *out = t;
    return MOTE_OK;
fail:
    mote__free(u64);
    mote_trainer_free(t);
    mote_train_state_free(st);
    mote_gguf_close(g);
    return s;
}
