/* kv_cache.h — the KV cache of an inference context, in a chosen element
 * type (internal to src/model/).
 *
 * What it is: the K and V rows of every layer and position, stored as f32
 * (the default), f16/bf16 or a 32-block quantized type (q8_0, q5_1, q5_0,
 * q4_1, q4_0, iq4_nl: the set llama.cpp's --cache-type-k offers), and the
 * attention of one query head over them. One cache row holds the
 * n_head_kv * head_dim values of one position, quantized as a whole (so a
 * head narrower than a block, as stories260K's 8-wide heads, still works);
 * a row width that is not a multiple of the type's block is refused.
 *
 * Writing: the forward pass's matrix products write the f32 K/V rows of a
 * batch where mote__kv_k_rows / mote__kv_v_rows point (the cache itself
 * for f32, a staging area otherwise); after RoPE, mote__kv_store converts
 * each row once into the cache, and (every thread a share) dequantizes the
 * layer's rows 0..pos0+n-1 into an f32 window of one layer (V; K too when
 * heads sit inside blocks): each stored value is expanded once per layer
 * and batch, not once per query head and token. Reading: mote__kv_attend
 * computes softmax(q.k / sqrt(d)) @ v over positions 0..pos for the query
 * heads of one kv head (grouped-query attention reads each row once):
 *   - f32: the scores as one f32 matrix product of the key rows with the
 *     group's queries (gemv for one head, the gemm kernel from 4), values
 *     by the f32 table's gemv_t;
 *   - a head that covers whole blocks (head_dim a multiple of the block):
 *     scores through the type's own vec_dot on the stored rows, the query
 *     converted once to the type's activation type (f16, or q8_0 for the
 *     32-block types, as GGML's CPU backend does);
 *   - otherwise (a head inside a block): the f32 dot on the window;
 *   values: axpy over the window.
 * One token's attention can also go by parts of the positions, merged
 * afterwards (mote__kv_attend_part, mote__kv_attend_merge, below).
 * The window costs n_ctx * kv_dim floats (twice that with K): one layer of
 * an f32 cache, not counted by mote__kv_bytes.
 * Not here: RoPE, the projections, threads (the caller splits the heads).
 *
 * Threads: mote__kv_store is safe for disjoint rows; mote__kv_attend for
 * distinct `ith` (each thread has its own scratch).
 */
#ifndef MOTE_KV_CACHE_H
#define MOTE_KV_CACHE_H

#include "model.h"

typedef struct mote_kv_cache {
    uint32_t type;             /* element type of the cache rows */
    const mote_type_traits *tr;
    const mote_kernel_table *kt;
    int32_t n_layer, n_ctx, n_batch, n_threads, head_dim;
    size_t kv_dim;             /* values in one row: n_head_kv * head_dim */
    size_t row_bytes;          /* bytes of one stored row */
    int64_t block;             /* the type's block size (1 for float types) */
    bool per_head;             /* head_dim is a multiple of block */
    uint8_t *k, *v;            /* (n_layer, n_ctx, row_bytes) each */
    float *k_stage, *v_stage;  /* (n_batch, kv_dim) f32 rows before storing;
                                  NULL when the cache itself is f32 */
    size_t act_bytes;          /* per-thread bytes for the converted query */
    uint8_t *scratch;          /* (n_threads, scratch_stride) */
    size_t scratch_stride;
    float *win_k, *win_v;      /* (n_ctx, kv_dim) the current layer's rows as
                                  f32 (win_k NULL when per_head) */
} mote_kv_cache;

/* The type id of a cache type name ("f32", "f16", "q8_0", ...; NULL or ""
 * = f32); -1 with a message naming the supported ones when this build
 * offers no cache of that type. */
int mote__kv_type_parse(const char *name, mote_error *err);

/* Allocate a cache of `type` for the model's shape: n_ctx positions, a
 * staging area of n_batch rows, scratch for n_threads threads. Errors:
 * MOTE_ERR_INVALID_ARG when a row (n_head_kv * head_dim values) is not a
 * whole number of the type's blocks (the message says why), NOMEM. On
 * failure kv holds nothing to free (mote__kv_free is still safe). */
mote_status mote__kv_init(mote_kv_cache *kv, const mote_hparams *hp, uint32_t type,
                          int32_t n_ctx, int32_t n_batch, int32_t n_threads, mote_error *err);
void mote__kv_free(mote_kv_cache *kv);

/* Bytes of K and V storage together (staging and scratch not counted). */
uint64_t mote__kv_bytes(const mote_kv_cache *kv);
/* The same for another type and shape, without allocating (0 when the
 * type does not fit the rows). */
uint64_t mote__kv_bytes_for(const mote_hparams *hp, uint32_t type, int32_t n_ctx);

/* Where batch row t (position pos0 + t) of layer l's K (V) goes as f32:
 * rows kv_dim floats apart, valid for t < n_batch. */
float *mote__kv_k_rows(const mote_kv_cache *kv, int32_t l, int32_t pos0);
float *mote__kv_v_rows(const mote_kv_cache *kv, int32_t l, int32_t pos0);

/* Convert batch rows [t0, t1) of layer l (positions pos0 + t) from the
 * f32 rows above into the cache, and fill the f32 window with them and
 * with thread ith's share (of nth) of the rows 0..pos0-1. Every thread of
 * the batch calls it (with its own token range, maybe empty) before a
 * barrier; then mote__kv_attend may read layer l. Nothing to do for an
 * f32 cache. */
void mote__kv_store(mote_kv_cache *kv, int32_t l, int32_t pos0, int64_t t0, int64_t t1, int ith,
                    int nth);

/* For the n_q query heads of one token that share one kv head (rows of qh,
 * head_dim apart): out row i (head_dim) = softmax(qh_i . k_t * att_scale)
 * @ v_t over positions t = 0..pos of layer l, where k_t, v_t are the
 * head_dim values at kv_off in row t; out rows head_dim apart. Each key
 * and value row is read once for the group. att: n_q rows of scratch,
 * att_stride >= pos + 1 floats apart. ith: the calling thread
 * (0..n_threads-1). A head's result does not depend on n_q once n_q >= 4
 * (the f32 gemm's per-element contract), nor on which thread computes it.
 * Allocates nothing. */
void mote__kv_attend(mote_kv_cache *kv, int ith, int32_t l, const float *qh, int32_t n_q,
                     size_t kv_off, int32_t pos, float att_scale, float *att, size_t att_stride,
                     float *out);

/* mote__kv_attend for n_tok consecutive tokens at once (positions pos ..
 * pos + n_tok - 1), the n_q query heads of each at q + j q_stride (floats;
 * head_dim apart), out rows likewise at out + j out_stride: one matrix
 * product of the key rows with all n_tok x n_q queries, so the keys are
 * read (and laid out for the gemm kernel) once per block rather than once
 * per token; each token's rows attend to its own positions only. The
 * bytes of n_tok mote__kv_attend calls where n_q >= 4 (the gemm kernel's
 * per-element contract; a call of fewer rows takes the gemv kernel, whose
 * sums round differently). att: n_tok x n_q rows of
 * att_stride >= pos + n_tok floats; scratch: 2 n_tok n_q head_dim floats. */
void mote__kv_attend_block(mote_kv_cache *kv, int ith, int32_t l, const float *q, size_t q_stride,
                           int32_t n_tok, int32_t n_q, size_t kv_off, int32_t pos, float att_scale,
                           float *att, size_t att_stride, float *scratch, float *out, size_t out_stride);

/* One token's attention split by positions (flash decoding): the
 * positions 0..pos in parts of MOTE_KV_PART, each part of each kv head a
 * unit of work, merged afterwards. Why: a thread then reads whole cache
 * rows from a run of positions, where a split by heads has every thread
 * read its heads' 256 bytes of each 1 KiB row at that stride, which on the
 * development machine streamed from memory at about 6 GB/s a thread, so
 * that attention took 18% of a token at 448 positions (TinyLlama's shape,
 * q4_0, 2 threads; its K and V rows are 3.8% of the bytes). Measured
 * there in one process against the split by heads, alternating rounds of
 * 16 tokens: 1.09 x at 448 positions, 1.25 x at 1536; generating 128
 * tokens from an empty cache, q4_0 1.018 x, q8_0 1.004, f16 1.009 (parts
 * of 128 positions; of 64 and 32 the units' fixed costs weigh more).
 *
 * mote__kv_attend_part: as mote__kv_attend over positions [t0, t1) only
 * (t0 < t1 <= pos + 1): out rows = the softmax over those positions @
 * their values; stats[2 i] = query head i's largest raw score in the part,
 * stats[2 i + 1] = its softmax's sum (mote_softmax_fn). A part of
 * positions [0, pos + 1) gives mote__kv_attend's bytes.
 *
 * mote__kv_attend_merge: columns [e0, e1) of the n_head * head_dim output
 * row y from the n_parts parts' out rows (outs + p out_stride, the same
 * columns) and stats (stats + p stats_stride, two floats a query head):
 * y = sum over p of w_p out_p / sum of w_p, w_p = sum_p e^((max_p - max) *
 * att_scale), max the largest max_p; in part order, so the result does not
 * depend on which thread computed a part. One part: its row copied. */
#define MOTE_KV_PART 128
/* Read the K and V rows of positions [t0, t1) of layer l that attention
 * reads (the stored rows, or the f32 window's for a quantized cache) a
 * line at a time, in address order (one load a 64-byte line), before a
 * thread's units of that part: a sequential sweep the hardware prefetcher
 * follows.
 * Why: the units then find the rows in L2; left to the units' own reads
 * (each kv head's slice of a row, then the next) one thread read them at
 * about 5.5 GB/s on the development machine, with the sweep first about
 * 13 (both with the arithmetic; decoding at 448 positions 1.049 x). */
void mote__kv_read_ahead(const mote_kv_cache *kv, int32_t l, int32_t t0, int32_t t1);
void mote__kv_attend_part(mote_kv_cache *kv, int ith, int32_t l, const float *qh, int32_t n_q,
                          size_t kv_off, int32_t t0, int32_t t1, float att_scale, float *att,
                          size_t att_stride, float *out, float *stats);
void mote__kv_attend_merge(int32_t n_parts, const float *outs, size_t out_stride, const float *stats,
                           size_t stats_stride, int32_t head_dim, float att_scale, int64_t e0,
                           int64_t e1, float *y);

#endif /* MOTE_KV_CACHE_H */
