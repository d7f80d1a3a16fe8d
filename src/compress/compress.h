/* compress.h — internal API shared by the files of src/compress/: running a
 * model over calibration text with an observer on every matrix input
 * (calib.c), importance matrices in llama.cpp's GGUF layout (imatrix.c),
 * AWQ scale search (awq.c), and the whole-model quantizer that uses them
 * (quantize.c, behind mote_quantize_model of mote.h).
 *
 * Not public: include/mote.h has the entry points the command line uses.
 */
#ifndef MOTE_COMPRESS_H
#define MOTE_COMPRESS_H

#include "../model/model.h"
#include "../model/observer.h"

/* ---- calibration runs (calib.c) ---- */

/* Which weight of the model `w` is (a pointer into m's layers, or &m->output)
 * and its GGUF tensor name ("blk.3.ffn_down.weight"). *layer gets the block
 * (-1 for output.weight), *kind one of MOTE_MAT_*. false when w is not one
 * of the model's matrices. */
enum { MOTE_MAT_Q, MOTE_MAT_K, MOTE_MAT_V, MOTE_MAT_O, MOTE_MAT_GATE, MOTE_MAT_UP, MOTE_MAT_DOWN,
       MOTE_MAT_OUTPUT, MOTE_MAT_COUNT };
bool mote__model_matrix_id(const mote_model *m, const mote_matrix *w, int32_t *layer, int *kind);
/* "blk.%d.<suffix>.weight" for (layer, kind), or "output.weight". */
void mote__matrix_name(int32_t layer, int kind, char *buf, size_t cap);
/* A tensor name from a file, fit for a one-line message: bytes outside
 * printable ASCII become '?'. Returns buf. */
const char *mote__printable(const char *name, char *buf, size_t cap);

typedef struct mote_calib_params {
    int32_t n_ctx;     /* tokens per chunk, BOS included (0 = 512; capped at the model's) */
    int32_t n_chunks;  /* most chunks evaluated (0 = every whole chunk of the text) */
    int32_t n_threads; /* 0 = physical cores */
    /* After each chunk (may be NULL): chunks done, of total, and the
     * perplexity of the text so far (next-token predictions of the chunks). */
    void (*progress)(void *user, int32_t done, int32_t total, double ppl);
    void *progress_user;
} mote_calib_params;

/* Tokenize the text file at text_path (no special tokens parsed), cut it
 * into chunks of n_ctx - 1 tokens, and evaluate each chunk with BOS in
 * front (when the vocab has one) in a fresh context, with `fn` observing
 * every matrix input. The text must give at least one whole chunk
 * (MOTE_ERR_INVALID_ARG naming the token count otherwise). *n_done (may be
 * NULL) gets the chunks evaluated, *chunk_tokens (may be NULL) n_ctx. */
mote_status mote__calib_run(const mote_model *m, const char *text_path, const mote_calib_params *p,
                            mote_matmul_observer fn, void *user, int32_t *n_done,
                            int32_t *chunk_tokens, mote_error *err);

/* ---- importance matrices (imatrix.c) ----
 * llama.cpp's GGUF layout (llama-imatrix since mid 2025): general.type =
 * "imatrix", imatrix.datasets (string array), imatrix.chunk_count and
 * imatrix.chunk_size (u32), and per weight tensor NAME two F32 tensors:
 * NAME.in_sum2 (ne[0] = the weight's input width: the sum over tokens of
 * x_j^2) and NAME.counts (one value: the number of tokens). The importance
 * of input channel j is in_sum2[j] / counts. */

typedef struct mote_imatrix_entry {
    char name[64];   /* the weight tensor's name */
    int64_t n;       /* input width */
    float *values;   /* n mean squares (in_sum2 / counts; 1 where counts is 0) */
} mote_imatrix_entry;

typedef struct mote_imatrix {
    mote_imatrix_entry *e;
    int64_t n_entries;
    uint32_t chunk_count, chunk_size;
    char dataset[256]; /* the first dataset name, "" if none */
} mote_imatrix;

/* Parse an imatrix GGUF already open (bounds-checked by the GGUF reader):
 * at least one .in_sum2 tensor; each an F32 vector with a .counts partner
 * of one F32 (3-D expert imatrices are refused), its values finite and
 * non-negative, and their ratios finite. Other tensors are ignored, as
 * llama.cpp does. `name` is used in errors. */
mote_status mote__imatrix_from_gguf(const mote_gguf *g, const char *name, mote_imatrix **out,
                                    mote_error *err);
/* Open and parse the file at path. */
mote_status mote__imatrix_read(const char *path, mote_imatrix **out, mote_error *err);
void mote__imatrix_free(mote_imatrix *im);
/* The entry for a weight tensor name, or NULL. */
const mote_imatrix_entry *mote__imatrix_find(const mote_imatrix *im, const char *name);

/* ---- AWQ (awq.c) ---- */

/* Per layer: the input-channel scales s chosen for each group of matrices
 * sharing an input, NULL where the group kept s = 1. Applying them: the
 * group's weight columns are multiplied by s and the producer of its input
 * divides by s — attn: attn_norm /= s, q/k/v columns *= s; ffn: ffn_norm
 * /= s, gate/up columns *= s; down: ffn_up rows /= s, ffn_down columns *=
 * s; o: attn_v rows /= s_kv, attn_output columns *= s (s tied across the
 * query heads that share a KV head, s_kv one head's worth per KV head). */
enum { MOTE_AWQ_ATTN, MOTE_AWQ_O, MOTE_AWQ_FFN, MOTE_AWQ_DOWN, MOTE_AWQ_GROUPS };
typedef struct mote_awq_layer {
    float *s[MOTE_AWQ_GROUPS]; /* attn, ffn: n_embd; o: q_dim; down: n_ff */
    float *s_kv;               /* o only: kv_dim (the scale of each attn_v row) */
    float alpha[MOTE_AWQ_GROUPS];
    double err_rtn[MOTE_AWQ_GROUPS], err_awq[MOTE_AWQ_GROUPS]; /* output error, alpha 0 vs chosen */
} mote_awq_layer;

typedef struct mote_awq {
    int32_t n_layer;
    mote_awq_layer *layers;
    int32_t n_chunks;         /* calibration chunks evaluated */
    int64_t n_rows;           /* activation rows the search used per group */
} mote_awq;

/* The quantization the search must assume for one matrix: its output type
 * and the importance weights it will be quantized with (NULL: none). */
typedef struct mote_awq_target {
    uint32_t type;
    const float *imatrix;
} mote_awq_target;
/* targets(user, layer, kind) for kind MOTE_MAT_Q..MOTE_MAT_DOWN. */
typedef mote_awq_target (*mote_awq_target_fn)(void *user, int32_t layer, int kind);

typedef struct mote_awq_params {
    mote_calib_params calib;
    int32_t n_grid;   /* alpha in {0, 1/n_grid, ..., (n_grid-1)/n_grid} (0 = 20) */
    int64_t max_rows; /* activation rows kept per group for the search (0 = 256) */
    /* Weight rows of each matrix the search quantizes per alpha: all when
     * the matrix has no more, else this many at an even stride (0 = 512):
     * the error summed over them estimates the whole matrix's, and
     * quantizing every row 20 times is most of the search's time. */
    int64_t max_weight_rows;
    /* After each layer's search (may be NULL). */
    void (*progress)(void *user, int32_t layer, int32_t n_layer, const mote_awq_layer *res);
    void *progress_user;
} mote_awq_params;

/* Run m over the calibration text, then for every layer and group search
 * alpha on the activations kept, quantizing with targets(). Groups whose
 * matrices all have float types (f32/f16/bf16) keep s = 1. */
mote_status mote__awq_search(const mote_model *m, const char *text_path, const mote_awq_params *p,
                             mote_awq_target_fn targets, void *targets_user, mote_awq **out,
                             mote_error *err);
void mote__awq_free(mote_awq *a);

/* ---- the whole-model quantizer (quantize.c) ---- */

/* mote_quantize_model with AWQ scales given (not searched; p->awq_text_path
 * is then ignored): for tests of the folding, which must leave an
 * unquantized model's outputs unchanged. given_awq NULL: as
 * mote_quantize_model. */
mote_status mote__quantize_with_awq(const char *in_path, const char *out_path,
                                    const mote_quantize_params *p, const mote_awq *given_awq,
                                    mote_quantize_summary *summary, mote_error *err);

#endif /* MOTE_COMPRESS_H */
