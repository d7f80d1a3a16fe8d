/* train.h — internal API of training (src/train/): a trainable Llama and
 * its optimizer.
 *
 * What it is: the model of model.c — every parameter in one contiguous f32
 * buffer laid out tensor after tensor under llama.cpp's GGUF names, one
 * gradient buffer of the same layout, the activations of the last forward
 * kept for backward — and the AdamW optimizer, gradient clipping and the
 * learning-rate schedule of optim.c. What it is not: inference (src/model/
 * runs a trained model once it is written as GGUF) or the ops themselves
 * (ops.h).
 *
 * Threads: a model is used by one thread at a time; its ops fan out over
 * the model's thread pool internally.
 */
#ifndef MOTE_TRAIN_H
#define MOTE_TRAIN_H

#include "../core/core.h"
#include "../core/threadpool.h"

/* The shape of a Llama model. head_dim = n_embd / n_head; n_rot = 0 means
 * head_dim (full rotary). n_ctx is the longest sequence (T) trained on and
 * what llama.context_length says when written. */
typedef struct mote_tr_shape {
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx, n_rot;
    float rope_freq_base; /* 10000 */
    float rms_eps;        /* 1e-5 */
} mote_tr_shape;

/* One tensor of the parameter buffer: GGUF name, dims as GGUF writes them
 * (ne[0] innermost: a (OC, IC) matrix is ne = {IC, OC}), where it starts
 * and how many floats it has. `decay`: whether AdamW applies weight decay
 * to it (see optim.c). */
typedef struct mote_tr_tensor {
    char name[48];
    int n_dims;
    int64_t ne[2];
    size_t offset, n;
    bool decay;
} mote_tr_tensor;

/* Views of one buffer (parameters or gradients), per layer. */
typedef struct mote_tr_layer {
    float *attn_norm; /* (C) */
    float *wq;        /* (n_head*hd, C) */
    float *wk, *wv;   /* (n_head_kv*hd, C) */
    float *wo;        /* (C, n_head*hd) */
    float *ffn_norm;  /* (C) */
    float *w_gate, *w_up; /* (F, C) */
    float *w_down;    /* (C, F) */
} mote_tr_layer;

typedef struct mote_tr_weights {
    float *tok_embd;  /* (V, C) */
    mote_tr_layer *layers;
    float *out_norm;  /* (C) */
    float *output;    /* (V, C); a model loaded with tied embeddings is untied */
} mote_tr_weights;

typedef struct mote_tr_model mote_tr_model;

/* Check a shape (all positive, heads dividing the width and each other,
 * even head size, sizes that fit memory arithmetic). */
mote_status mote__tr_shape_check(const mote_tr_shape *s, mote_error *err);

/* A model of shape s with seeded random weights: matrices and embeddings
 * N(0, 0.02) (the two residual projections, attn_output and ffn_down, are
 * scaled by 1/sqrt(2 n_layer) as GPT-2 does), norm weights 1. */
mote_status mote__tr_model_init(const mote_tr_shape *s, uint64_t seed, mote_tr_model **out,
                                mote_error *err);
/* Load a Llama GGUF whose tensors are F32, F16 or BF16 (converted to f32).
 * Tied embeddings are untied (output starts as a copy of token_embd). */
mote_status mote__tr_model_load(const char *path, mote_tr_model **out, mote_error *err);
/* The same for a frozen base (LoRA, lora.c): tensors of any type that
 * dequantizes; embeddings, norms and output are read as f32, the block
 * matrices are not loaded (lora.c computes those layers from the file).
 * Backward then computes input gradients only (norm weight gradients are
 * computed and ignored). It needs mote__tr_model_set_lora before a forward,
 * and cannot be saved. */
mote_status mote__tr_model_load_frozen(const char *path, mote_tr_model **out, mote_error *err);
void mote__tr_model_free(mote_tr_model *m);

/* Threads the ops use, the caller's included (default 1): starts a
 * persistent pool (src/core/threadpool.h) of that many; fails only if the
 * threads cannot be started (then the model runs on 1). */
mote_status mote__tr_model_set_threads(mote_tr_model *m, int n_threads, mote_error *err);

const mote_tr_shape *mote__tr_model_shape(const mote_tr_model *m);
/* The parameter and gradient buffers (n_params floats each, same layout). */
size_t mote__tr_model_n_params(const mote_tr_model *m);
float *mote__tr_model_params(mote_tr_model *m);
float *mote__tr_model_grads(mote_tr_model *m);
const mote_tr_weights *mote__tr_model_weights(const mote_tr_model *m);
int mote__tr_model_n_tensors(const mote_tr_model *m);
const mote_tr_tensor *mote__tr_model_tensor(const mote_tr_model *m, int i);

/* Forward over a batch: ids and targets (B, T) row-major, every id in
 * [0, n_vocab), 1 <= T <= n_ctx. With targets, *loss receives the mean
 * cross-entropy over the B*T positions and the model keeps what backward
 * needs. Without targets (NULL) the logits are kept instead (see
 * mote__tr_model_logits) and loss may be NULL. Activation buffers are
 * allocated on the first call and again only when B*T or T changes. */
mote_status mote__tr_model_forward(mote_tr_model *m, const int32_t *ids, const int32_t *targets,
                                   int64_t B, int64_t T, float *loss, mote_error *err);
/* The logits (B*T, n_vocab) of the last forward without targets. */
const float *mote__tr_model_logits(const mote_tr_model *m);
/* Backward of the last forward with targets: ADDS dloss * d(loss)/d(param)
 * to the gradient buffer (dloss = 1 for one batch; 1/n for each of n
 * accumulated micro-batches). MOTE_ERR_INVALID_ARG if no such forward
 * preceded it. Overwrites the saved probabilities, so call it once per
 * forward. */
mote_status mote__tr_model_backward(mote_tr_model *m, float dloss, mote_error *err);
void mote__tr_model_zero_grad(mote_tr_model *m);

/* Write the model as an F32 Llama GGUF with the llama.* keys src/model
 * reads. vocab_path: a GGUF whose tokenizer.* keys are copied (its token
 * count must equal n_vocab), or NULL for none. name: general.name or NULL. */
mote_status mote__tr_model_save(const mote_tr_model *m, const char *path, const char *vocab_path,
                                const char *name, mote_error *err);
/* The same, with extra(ctx, w, err) adding keys and tensors (borrowed until
 * the write) before the file is written: checkpoint.c's optimizer state. */
typedef struct mote_gguf_writer mote_gguf_writer;
typedef mote_status (*mote_tr_save_extra)(void *ctx, mote_gguf_writer *w, mote_error *err);
mote_status mote__tr_model_save_ext(const mote_tr_model *m, const char *path, const char *vocab_path,
                                    const char *name, mote_tr_save_extra extra, void *ctx,
                                    mote_error *err);

/* ---- what checkpoint.c reads and restores of a trainer (trainer.c) ---- */
typedef struct mote_tr_trainer_view {
    mote_train_params *p;
    mote_tr_model *model;
    struct mote_tr_adamw *opt;
    bool lora;               /* LoRA training: checkpoints do not cover it */
} mote_tr_trainer_view;
void mote__trainer_view(mote_trainer *t, mote_tr_trainer_view *v);

/* ---- LoRA on a frozen base (lora.c) ----
 *
 * The block matrices, in the order of a block's tensors. */
enum { MOTE_TR_Q, MOTE_TR_K, MOTE_TR_V, MOTE_TR_O, MOTE_TR_GATE, MOTE_TR_UP, MOTE_TR_DOWN,
       MOTE_TR_N_MATS };
/* Their GGUF names: "attn_q", ... "ffn_down". */
extern const char *const mote__tr_mat_names[MOTE_TR_N_MATS];

typedef struct mote_tr_lora mote_tr_lora;

/* Adapters of rank r on the block matrices whose bit (1 << MOTE_TR_*) is
 * set in `targets`, for the frozen model m (mote__tr_model_load_frozen of
 * base_path, which lora.c maps again to read the matrices): A (r, IC)
 * uniform in +-1/sqrt(IC) from seed, B (OC, r) zero, y = W x + (alpha / r)
 * B A x. Attaches itself to m (m must outlive it). */
mote_status mote__tr_lora_new(mote_tr_model *m, const char *base_path, int32_t rank, float alpha,
                              unsigned targets, uint64_t seed, mote_tr_lora **out, mote_error *err);
void mote__tr_lora_free(mote_tr_lora *lo);
/* Every A then B, slot by slot (layer-major), and their gradients. */
size_t mote__tr_lora_n_params(const mote_tr_lora *lo);
float *mote__tr_lora_params(mote_tr_lora *lo);
float *mote__tr_lora_grads(mote_tr_lora *lo);
/* Room for the saved activations of N positions (model.c calls it before a
 * forward). */
mote_status mote__tr_lora_reserve(mote_tr_lora *lo, int64_t N, mote_error *err);
/* Matrix k of block l over inp (N, IC): out (N, OC) = inp @ W^T, plus
 * scale (inp @ A^T) @ B^T when adapted (saving inp @ A^T for backward).
 * work: model.c's matmul work area. */
void mote__tr_lora_fwd(mote_tr_lora *lo, int32_t l, int k, float *out, const float *inp, int64_t N,
                       float *work, mote_threadpool *tp);
/* Its backward: dinp = (set) or += (!set) dout @ W_eff; dA, dB += ... */
void mote__tr_lora_bwd(mote_tr_lora *lo, int32_t l, int k, bool set, float *dinp,
                       const float *dout, const float *inp, int64_t N, float *work,
                       mote_threadpool *tp);
/* Write the adapters in llama.cpp's LoRA GGUF format (lora.c's header). */
mote_status mote__tr_lora_save(const mote_tr_lora *lo, const char *path, mote_error *err);
/* Parse "attn_q,ffn_up,..." (or "all") into target bits; an error names an
 * unknown name. */
mote_status mote__tr_lora_parse_targets(const char *list, unsigned *targets, mote_error *err);
/* Frozen models call the adapters of lo for their block matrices. */
void mote__tr_model_set_lora(mote_tr_model *m, mote_tr_lora *lora);

/* ---- optimizer (optim.c) ----
 *
 * AdamW as Loshchilov & Hutter (PyTorch's AdamW, llm.c's update):
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
 *   p -= lr (m / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps) + wd p)
 * with the weight decay wd applied only to tensors whose `decay` flag is
 * set: the 2-D ones (matrices and embeddings), never the 1-D norm weights —
 * llm.c's rule. */
typedef struct mote_tr_adamw {
    float beta1, beta2, eps, weight_decay;
    int64_t t;  /* steps taken */
    size_t n;
    float *m, *v; /* (n) moments */
} mote_tr_adamw;

mote_status mote__tr_adamw_init(mote_tr_adamw *opt, size_t n_params, float beta1, float beta2,
                                float eps, float weight_decay, mote_error *err);
void mote__tr_adamw_free(mote_tr_adamw *opt);
/* One step with learning rate lr over every tensor of the model, from its
 * gradient buffer. */
void mote__tr_adamw_step(mote_tr_adamw *opt, mote_tr_model *m, float lr);
/* One step over a flat buffer of opt->n parameters (all decayed): the
 * adapters of lora.c. */
void mote__tr_adamw_step_flat(mote_tr_adamw *opt, float *params, const float *grads, float lr);

/* The global L2 norm of g (n), accumulated in double. */
double mote__tr_grad_norm(const float *g, size_t n);
/* If the global norm exceeds max_norm (> 0), scale g so it equals max_norm.
 * Returns the norm before clipping. */
double mote__tr_grad_clip(float *g, size_t n, float max_norm);
/* Learning rate at step (0-based) of n_steps: linear warm-up over the first
 * `warmup` steps to lr_max (step i gives lr_max (i+1)/warmup), then cosine
 * decay from lr_max to lr_min at the last step. */
float mote__tr_lr_at(int64_t step, int64_t warmup, int64_t n_steps, float lr_max, float lr_min);

#endif /* MOTE_TRAIN_H */
