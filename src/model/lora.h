/* lora.h — LoRA adapters at inference (lora.c): what a context holds of
 * the adapters attached to it, and the one call the forward pass makes.
 *
 * The forward pass (llama.c) calls mote__lora_apply after each block
 * matrix product, on the rows of the tokens the calling thread owns, before
 * anything reads those rows: y += scale B (A x) for each attached adapter
 * with a pair on that matrix. Each row is computed by one thread with the
 * same code whatever the thread count, so results stay bit-identical
 * across thread counts.
 */
#ifndef MOTE_MODEL_LORA_H
#define MOTE_MODEL_LORA_H

#include "../core/core.h"

#define MOTE_LORA_MAX_ATTACHED 8

/* The block matrices, in the order of a block's tensors (as in training). */
enum { MOTE_LORA_Q, MOTE_LORA_K, MOTE_LORA_V, MOTE_LORA_O, MOTE_LORA_GATE, MOTE_LORA_UP,
       MOTE_LORA_DOWN, MOTE_LORA_N_MATS };

typedef struct mote__lora_list {
    int n;                                        /* attached adapters */
    const struct mote_lora *lora[MOTE_LORA_MAX_ATTACHED];
    float scale[MOTE_LORA_MAX_ATTACHED];          /* user scale x alpha / rank */
    float *scratch;                               /* (n_threads, max_rank) */
    int32_t max_rank, n_threads;
} mote__lora_list;

/* Rows t in [t0, t1): y[t] (y_stride floats apart) += scale B A x[t] (x
 * rows x_stride floats apart) for every attached adapter that adapts
 * matrix k of block `layer`. ith: the calling thread (its scratch row).
 * Does nothing when no adapter is attached. Allocates nothing. */
void mote__lora_apply(const mote__lora_list *ll, int32_t layer, int k, const float *x,
                      size_t x_stride, float *y, size_t y_stride, int64_t t0, int64_t t1, int ith);
void mote__lora_list_free(mote__lora_list *ll);

/* llama.c's context, as lora.c needs it: its model and its adapter list. */
struct mote_ctx;
const struct mote_model *mote__ctx_model(const struct mote_ctx *c);
mote__lora_list *mote__ctx_lora_list(struct mote_ctx *c);

#endif /* MOTE_MODEL_LORA_H */
