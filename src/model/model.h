/* model.h — internal definition of a loaded model (src/model/).
 *
 * mote_model holds the hyper-parameters read from GGUF metadata, views of
 * the weight matrices (pointing into the mmap: loading copies no matrix),
 * the norm weights converted to f32 (small), and the tokenizer. It is
 * read-only after mote_model_load and may be shared by several contexts.
 */
#ifndef MOTE_MODEL_H
#define MOTE_MODEL_H

#include "../gguf/gguf.h"
#include "../kernels/kernels.h"
#include "../tokenizer/tokenizer.h"

typedef struct mote_hparams {
    int32_t n_vocab;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;    /* n_embd / n_head unless attention.key_length says */
    int32_t n_ff;
    int32_t n_ctx_train;
    int32_t n_rot;       /* rope.dimension_count: leading dims rotated per head */
    float rope_freq_base;
    float rms_eps;
} mote_hparams;

typedef struct mote_layer {
    const float *attn_norm; /* (n_embd) */
    mote_matrix wq;         /* (n_head*head_dim, n_embd) */
    mote_matrix wk;         /* (n_head_kv*head_dim, n_embd) */
    mote_matrix wv;         /* (n_head_kv*head_dim, n_embd) */
    mote_matrix wo;         /* (n_embd, n_head*head_dim) */
    const float *ffn_norm;  /* (n_embd) */
    mote_matrix w_gate;     /* (n_ff, n_embd) */
    mote_matrix w_up;       /* (n_ff, n_embd) */
    mote_matrix w_down;     /* (n_embd, n_ff) */
} mote_layer;

struct mote_model {
    mote_gguf *gguf;         /* owns the bytes the matrices point into */
    bool from_memory;        /* loaded by mote_model_load_memory */
    mote_vocab *vocab;       /* NULL when the file has no tokenizer */
    char arch[32];
    char *name;
    mote_hparams hp;
    mote_matrix tok_embd;    /* (n_vocab, n_embd) */
    const float *out_norm;   /* (n_embd) */
    mote_matrix output;      /* (n_vocab, n_embd); tok_embd when tied */
    mote_layer *layers;      /* n_layer */
    float *norm_store;       /* f32 copies of every norm weight */
    uint64_t n_params, weight_bytes;
};

/* Build a vocab from an open GGUF (vocab.c). */
mote_status mote__vocab_from_gguf(const mote_gguf *g, mote_vocab **out, mote_error *err);

/* Tests only: the smallest claim of a one-token matrix product, in weight
 * bytes (llama.c's claims; default 64 KiB, at least one unit of 8 rows).
 * A small value splits even a small model's matrices over the threads, so
 * that thread-count tests run the fixed first claims and the counter. */
void mote__ctx_set_min_claim(struct mote_ctx *c, size_t bytes);
/* Tests and benchmarks only: the chunk of one token's lanes in weight
 * bytes, for the groups whose kernels ask for lanes (default SIZE_MAX:
 * each kernel's mote_gemv_prep lane_chunk; at least one unit of 8 rows);
 * 0 takes every group by the claims instead. */
void mote__ctx_set_lane_chunk(struct mote_ctx *c, size_t bytes);

#endif /* MOTE_MODEL_H */
