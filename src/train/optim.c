/* optim.c — the optimizer side of training: AdamW with decoupled weight
 * decay, global-norm gradient clipping, and the learning-rate schedule
 * (linear warm-up, then cosine decay).
 *
 * Weight decay rule (llm.c's): decay the 2-D tensors — every matrix, the
 * token embeddings and the output projection — and never the 1-D RMSNorm
 * weights, whose scale is not a capacity to regularize. The flag is set per
 * tensor by model.c (mote_tr_tensor.decay).
 *
 * Gradient accumulation over micro-batches needs nothing here: the model's
 * backward adds into the gradient buffer, so a step is
 *   zero_grad; for each of n micro-batches: forward, backward(dloss = 1/n);
 *   clip; adamw_step
 * and the gradient is that of the mean loss over all n micro-batches.
 * Not here: the model (model.c).
 */
#include "train.h"
#include <math.h>
#include <string.h>

mote_status mote__tr_adamw_init(mote_tr_adamw *opt, size_t n_params, float beta1, float beta2,
                                float eps, float weight_decay, mote_error *err) {
    memset(opt, 0, sizeof *opt);
    if (!(beta1 >= 0.0f && beta1 < 1.0f) || !(beta2 >= 0.0f && beta2 < 1.0f) || !(eps > 0.0f) ||
        !(weight_decay >= 0.0f))
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "AdamW needs 0 <= beta1, beta2 < 1, eps > 0 and weight decay >= 0 "
                         "(got %g, %g, %g, %g)",
                         (double)beta1, (double)beta2, (double)eps, (double)weight_decay);
    opt->m = mote__calloc(n_params, sizeof(float));
    opt->v = mote__calloc(n_params, sizeof(float));
    if (!opt->m || !opt->v) {
        mote__tr_adamw_free(opt);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory for the AdamW state of %zu parameters",
                         n_params);
    }
    opt->beta1 = beta1;
    opt->beta2 = beta2;
    opt->eps = eps;
    opt->weight_decay = weight_decay;
    opt->n = n_params;
    return MOTE_OK;
}

void mote__tr_adamw_free(mote_tr_adamw *opt) {
    mote__free(opt->m);
    mote__free(opt->v);
    opt->m = opt->v = NULL;
}

/* The update of n parameters p (moments m, v) from g, at step opt->t. */
static void adamw_update(const mote_tr_adamw *opt, float *p, float *m, float *v, const float *g,
                         size_t n, float lr, float wd) {
    const float b1 = opt->beta1, b2 = opt->beta2;
    /* Bias corrections in double: 1 - b2^t is tiny for small t. */
    const float corr1 = (float)(1.0 - pow((double)b1, (double)opt->t));
    const float corr2 = (float)(1.0 - pow((double)b2, (double)opt->t));
    for (size_t j = 0; j < n; j++) {
        float mj = b1 * m[j] + (1.0f - b1) * g[j];
        float vj = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
        m[j] = mj;
        v[j] = vj;
        float mhat = mj / corr1, vhat = vj / corr2;
        p[j] -= lr * (mhat / (sqrtf(vhat) + opt->eps) + wd * p[j]);
    }
}

void mote__tr_adamw_step(mote_tr_adamw *opt, mote_tr_model *model, float lr) {
    opt->t++;
    float *params = mote__tr_model_params(model);
    const float *grads = mote__tr_model_grads(model);
    for (int i = 0; i < mote__tr_model_n_tensors(model); i++) {
        const mote_tr_tensor *t = mote__tr_model_tensor(model, i);
        const float wd = t->decay ? opt->weight_decay : 0.0f;
        adamw_update(opt, params + t->offset, opt->m + t->offset, opt->v + t->offset,
                     grads + t->offset, t->n, lr, wd);
    }
}

void mote__tr_adamw_step_flat(mote_tr_adamw *opt, float *params, const float *grads, float lr) {
    opt->t++;
    adamw_update(opt, params, opt->m, opt->v, grads, opt->n, lr, opt->weight_decay);
}

double mote__tr_grad_norm(const float *g, size_t n) {
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
    return sqrt(ss);
}

double mote__tr_grad_clip(float *g, size_t n, float max_norm) {
    double norm = mote__tr_grad_norm(g, n);
    if (max_norm > 0.0f && norm > (double)max_norm) {
        float scale = (float)((double)max_norm / norm);
        for (size_t i = 0; i < n; i++) g[i] *= scale;
    }
    return norm;
}

float mote__tr_lr_at(int64_t step, int64_t warmup, int64_t n_steps, float lr_max, float lr_min) {
    if (step < 0) step = 0;
    if (warmup > 0 && step < warmup) return lr_max * (float)(step + 1) / (float)warmup;
    int64_t span = n_steps - 1 - warmup;
    if (span <= 0) return lr_max;
    double progress = (double)(step - warmup) / (double)span;
    if (progress > 1.0) progress = 1.0;
    return lr_min + (float)(0.5 * (1.0 + cos(3.141592653589793 * progress))) * (lr_max - lr_min);
}
