/* trainer.c — the public training API of mote.h (mote_trainer_*): a model
 * of model.c, its AdamW state and the step counter that drives the
 * learning-rate schedule.
 *
 * A step is: zero the gradients; forward + backward over each micro-batch
 * with dloss = 1/n_micro (so the gradient is that of the mean loss);
 * clip the global norm; AdamW with the scheduled learning rate. Not here:
 * the model (model.c), the optimizer's arithmetic (optim.c), reading
 * training text (the command line does that).
 */
#include "train.h"
#include <string.h>

struct mote_trainer {
    mote_train_params p;
    mote_tr_model *model;
    mote_tr_adamw opt;
    mote_tr_lora *lora; /* LoRA on a frozen model: only the adapters train */
};

mote_train_params mote_train_default_params(void) {
    return (mote_train_params){
        .seed = 1, .n_threads = 1, .lr = 1e-3f, .lr_min = 1e-4f, .warmup = 10, .n_steps = 100,
        .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f, .grad_clip = 1.0f,
    };
}

mote_status mote_trainer_new(const mote_train_params *p, const char *init_path,
                             mote_trainer **out, mote_error *err) {
    *out = NULL;
    if (!p) return mote__err(err, MOTE_ERR_INVALID_ARG, "no training parameters");
    if (!(p->lr > 0.0f) || !(p->lr_min >= 0.0f) || p->warmup < 0 || p->n_steps <= 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "learning rate %g (min %g), warm-up %d and steps %d are out of range",
                         (double)p->lr, (double)p->lr_min, p->warmup, p->n_steps);
    mote_trainer *t = mote__calloc(1, sizeof *t);
    if (!t) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    t->p = *p;
    mote_status s;
    if (init_path) {
        s = mote__tr_model_load(init_path, &t->model, err);
    } else {
        mote_tr_shape sh = {.n_vocab = p->n_vocab, .n_embd = p->n_embd, .n_layer = p->n_layer,
                            .n_head = p->n_head, .n_head_kv = p->n_head_kv, .n_ff = p->n_ff,
                            .n_ctx = p->n_ctx, .rope_freq_base = 10000.0f, .rms_eps = 1e-5f};
        s = mote__tr_model_init(&sh, p->seed, &t->model, err);
    }
    if (!s)
        s = mote__tr_adamw_init(&t->opt, mote__tr_model_n_params(t->model), p->beta1, p->beta2,
                                p->eps, p->weight_decay, err);
    if (!s) s = mote__tr_model_set_threads(t->model, p->n_threads, err);
    if (s) {
        mote_trainer_free(t);
        return s;
    }
    *out = t;
    return MOTE_OK;
}

mote_status mote_trainer_new_lora(const mote_train_params *p, const char *base_path,
                                  const mote_lora_train_params *lp, mote_trainer **out,
                                  mote_error *err) {
    *out = NULL;
    if (!p || !lp || !base_path)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "LoRA training needs parameters and a base model");
    if (!(p->lr > 0.0f) || !(p->lr_min >= 0.0f) || p->warmup < 0 || p->n_steps <= 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "learning rate %g (min %g), warm-up %d and steps %d are out of range",
                         (double)p->lr, (double)p->lr_min, p->warmup, p->n_steps);
    unsigned targets;
    mote_status s = mote__tr_lora_parse_targets(lp->targets, &targets, err);
    if (s) return s;
    mote_trainer *t = mote__calloc(1, sizeof *t);
    if (!t) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    t->p = *p;
    s = mote__tr_model_load_frozen(base_path, &t->model, err);
    if (!s)
        s = mote__tr_lora_new(t->model, base_path, lp->rank, lp->alpha, targets, p->seed, &t->lora,
                              err);
    if (!s)
        s = mote__tr_adamw_init(&t->opt, mote__tr_lora_n_params(t->lora), p->beta1, p->beta2,
                                p->eps, p->weight_decay, err);
    if (!s) s = mote__tr_model_set_threads(t->model, p->n_threads, err);
    if (s) {
        mote_trainer_free(t);
        return s;
    }
    *out = t;
    return MOTE_OK;
}

void mote_trainer_free(mote_trainer *t) {
    if (!t) return;
    mote__tr_lora_free(t->lora);
    mote__tr_adamw_free(&t->opt);
    mote__tr_model_free(t->model);
    mote__free(t);
}

void mote_trainer_shape(const mote_trainer *t, int32_t *n_vocab, int32_t *n_embd,
                        int32_t *n_layer, int32_t *n_head, int32_t *n_head_kv, int32_t *n_ff,
                        int32_t *n_ctx) {
    const mote_tr_shape *s = mote__tr_model_shape(t->model);
    if (n_vocab) *n_vocab = s->n_vocab;
    if (n_embd) *n_embd = s->n_embd;
    if (n_layer) *n_layer = s->n_layer;
    if (n_head) *n_head = s->n_head;
    if (n_head_kv) *n_head_kv = s->n_head_kv;
    if (n_ff) *n_ff = s->n_ff;
    if (n_ctx) *n_ctx = s->n_ctx;
}

uint64_t mote_trainer_n_params(const mote_trainer *t) {
    if (t->lora) return (uint64_t)mote__tr_lora_n_params(t->lora);
    return (uint64_t)mote__tr_model_n_params(t->model);
}

int64_t mote_trainer_n_steps_done(const mote_trainer *t) { return t->opt.t; }

float mote_trainer_next_lr(const mote_trainer *t) {
    return mote__tr_lr_at(t->opt.t, t->p.warmup, t->p.n_steps, t->p.lr, t->p.lr_min);
}

mote_status mote_trainer_step(mote_trainer *t, const int32_t *ids, const int32_t *targets,
                              int32_t batch, int32_t seq, int32_t n_micro, float *loss,
                              float *grad_norm, mote_error *err) {
    if (!ids || !targets || batch <= 0 || seq <= 0 || n_micro <= 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "a step needs ids, targets and positive batch %d, length %d, micro-batches %d",
                         batch, seq, n_micro);
    mote_tr_model *m = t->model;
    const size_t per = (size_t)batch * (size_t)seq;
    double total = 0.0;
    float *g = t->lora ? mote__tr_lora_grads(t->lora) : mote__tr_model_grads(m);
    const size_t n_g = t->lora ? mote__tr_lora_n_params(t->lora) : mote__tr_model_n_params(m);
    memset(g, 0, n_g * sizeof(float));
    for (int32_t i = 0; i < n_micro; i++) {
        float l = 0.0f;
        mote_status s = mote__tr_model_forward(m, ids + i * per, targets + i * per, batch, seq, &l, err);
        if (!s) s = mote__tr_model_backward(m, 1.0f / (float)n_micro, err);
        if (s) return s;
        total += l;
    }
    double norm = mote__tr_grad_clip(g, n_g, t->p.grad_clip);
    if (t->lora)
        mote__tr_adamw_step_flat(&t->opt, mote__tr_lora_params(t->lora), g, mote_trainer_next_lr(t));
    else
        mote__tr_adamw_step(&t->opt, m, mote_trainer_next_lr(t));
    if (loss) *loss = (float)(total / n_micro);
    if (grad_norm) *grad_norm = (float)norm;
    return MOTE_OK;
}

mote_status mote_trainer_eval(mote_trainer *t, const int32_t *ids, const int32_t *targets,
                              int32_t batch, int32_t seq, float *loss, mote_error *err) {
    if (!ids || !targets)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "eval needs ids and targets");
    return mote__tr_model_forward(t->model, ids, targets, batch, seq, loss, err);
}

mote_status mote_trainer_save(const mote_trainer *t, const char *path, const char *vocab_path,
                              mote_error *err) {
    if (t->lora) return mote__tr_lora_save(t->lora, path, err);
    return mote__tr_model_save(t->model, path, vocab_path, "mote-trained", err);
}

void mote__trainer_view(mote_trainer *t, mote_tr_trainer_view *v) {
    v->p = &t->p;
    v->model = t->model;
    v->opt = &t->opt;
    v->lora = t->lora != NULL;
}
