/* ops.h — the differentiable operations of training (src/train/), f32.
 *
 * What it is: one forward and one backward function per operation of the
 * Llama block, in llm.c's style — plain loops over explicit shapes, the
 * activations a backward needs saved by its forward. N is the number of
 * token positions (B*T) of a batch; C the embedding width. What it is not:
 * the model (model.c strings these together) or inference (src/model/).
 *
 * Conventions:
 *   - Every backward ACCUMULATES (+=) into the gradients of its inputs and
 *     of its weights; the caller zeroes them. That makes residual branches
 *     and gradient accumulation over micro-batches free.
 *   - A matrix W of shape (OC, IC) is row-major: row o holds the IC inputs
 *     of output o — the layout GGUF stores (ne[0] = IC).
 *   - None of these allocate, except mote__tr_matmul_* which take a work
 *     area from the caller (see mote__tr_matmul_work_floats).
 *   - None check their arguments: the model validates shapes once.
 */
#ifndef MOTE_TRAIN_OPS_H
#define MOTE_TRAIN_OPS_H

#include "../core/core.h"
#include "../core/threadpool.h"

/* ---- running work on several threads ---- */

/* fn(ctx, begin, end, tid) over [0, n) cut into one contiguous chunk per
 * thread of the pool tp (src/core/threadpool.h; boundaries at multiples of
 * `grain`); chunk tid (0..threads-1) is the only one using per-thread
 * scratch slot tid. Returns when all chunks are done. tp NULL (or a pool of
 * one) runs fn(ctx, 0, n, 0) on the calling thread. Everywhere below,
 * `tp` means this: the threads an op may use, NULL for the caller's only. */
typedef void (*mote__tr_task_fn)(void *ctx, int64_t begin, int64_t end, int tid);
void mote__tr_parallel(int64_t n, int64_t grain, mote_threadpool *tp, mote__tr_task_fn fn, void *ctx);
/* Threads in tp (1 for NULL). */
int mote__tr_n_threads(const mote_threadpool *tp);

/* ---- embedding ---- */

/* out (N, C) = wte (V, C)[ids[n]]. ids must be in [0, V). */
void mote__tr_embed_fwd(float *out, const int32_t *ids, const float *wte, int64_t N, int64_t C);
/* dwte (V, C) += scatter of dout (N, C) into the rows ids[n]. */
void mote__tr_embed_bwd(float *dwte, const float *dout, const int32_t *ids, int64_t N, int64_t C);

/* ---- RMSNorm: out = x / sqrt(mean(x^2) + eps) * w ---- */

/* x (N, C), w (C) -> out (N, C); rstd (N) saved for backward. out may not
 * alias x (backward needs x). Rows split over tp's threads. */
void mote__tr_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, int64_t N,
                          int64_t C, float eps, mote_threadpool *tp);
/* dx (N, C) += ..., dw (C) += ... from dout (N, C) and the saved x, rstd. */
void mote__tr_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x,
                          const float *w, const float *rstd, int64_t N, int64_t C);

/* ---- matmul: out (N, OC) = inp (N, IC) @ W (OC, IC)^T (no bias) ----
 *
 * The threaded, cache-blocked versions (matmul.c) split rows over the
 * threads of tp and use AVX2+FMA when the CPU has them
 * (chosen at run time), else portable C. `work` must hold
 * mote__tr_matmul_work_floats(N, IC, OC) floats (the forward transposes W
 * into it).
 * The _ref versions are the plain triple loops that define the result. */
size_t mote__tr_matmul_work_floats(int64_t N, int64_t IC, int64_t OC);
/* out (N, OC) = inp (N, IC) @ W (OC, IC)^T (overwrites out). */
void mote__tr_matmul_fwd(float *out, const float *inp, const float *W, int64_t N, int64_t IC,
                         int64_t OC, float *work, mote_threadpool *tp);
/* dinp (N, IC) += dout (N, OC) @ W (OC, IC) (skipped if dinp is NULL);
 * dW (OC, IC) += dout^T (OC, N) @ inp (N, IC) (skipped if dW is NULL: a
 * frozen weight). */
void mote__tr_matmul_bwd(float *dinp, float *dW, const float *dout, const float *inp,
                         const float *W, int64_t N, int64_t IC, int64_t OC, float *work,
                         mote_threadpool *tp);
/* The same, except that dinp is overwritten (dinp = dout @ W) rather than
 * added to: saves zeroing a fresh gradient buffer. dW still accumulates. */
void mote__tr_matmul_bwd_set(float *dinp, float *dW, const float *dout, const float *inp,
                             const float *W, int64_t N, int64_t IC, int64_t OC, float *work,
                             mote_threadpool *tp);
void mote__tr_matmul_fwd_ref(float *out, const float *inp, const float *W, int64_t N, int64_t IC,
                             int64_t OC);
void mote__tr_matmul_bwd_ref(float *dinp, float *dW, const float *dout, const float *inp,
                             const float *W, int64_t N, int64_t IC, int64_t OC);

/* C (M, Nc) += A (M, K) @ B (K, Nc); row-major with leading dimensions
 * lda, ldb, ldc (in floats). The blocked kernel the matmuls use, exposed
 * for the tests. Rows of C are split over the threads of tp. */
void mote__tr_gemm(float *C, const float *A, const float *B, int64_t M, int64_t K, int64_t Nc,
                   int64_t lda, int64_t ldb, int64_t ldc, mote_threadpool *tp);
/* "avx512", "avx2" or "c": what mote__tr_gemm runs on this CPU. */
const char *mote__tr_gemm_isa(void);
/* Use no instruction set above `level` (0 C, 1 AVX2, 2 AVX-512: the
 * default) even if the CPU has it — for tests that cover every path.
 * Returns the level now in use. Not thread-safe with gemms in flight. */
int mote__tr_gemm_limit_isa(int level);

/* ---- RoPE, "normal" mode (adjacent pairs), as src/model/llama.c ----
 *
 * x (B, T, n_heads, head_dim) in place: for pair i < n_rot/2 of every
 * head, (x[2i], x[2i+1]) at position t is rotated by the angle
 * t * freq_base^(-2i/n_rot) (positions restart at 0 for each sequence).
 * cs, sn: (T, n_rot/2) tables from mote__tr_rope_table. Backward rotates the
 * gradient by the opposite angle (the rotation is orthogonal), also in
 * place. */
void mote__tr_rope_table(float *cs, float *sn, int64_t T, int32_t n_rot, float freq_base);
void mote__tr_rope_fwd(float *x, const float *cs, const float *sn, int64_t B, int64_t T,
                       int32_t n_heads, int32_t head_dim, int32_t n_rot);
void mote__tr_rope_bwd(float *dx, const float *cs, const float *sn, int64_t B, int64_t T,
                       int32_t n_heads, int32_t head_dim, int32_t n_rot);

/* ---- causal grouped-query attention ----
 *
 * q (B, T, n_head, hd), k and v (B, T, n_head_kv, hd); query head h reads
 * KV head h / (n_head / n_head_kv). For each (b, h, t):
 *   att[t2] = softmax over t2 <= t of q[t].k[t2] / sqrt(hd)
 *   out[t]  = sum_t2 att[t2] v[t2]
 * out (B, T, n_head, hd); att (B, n_head, T, T) saved probabilities (the
 * entries t2 > t are written as 0). Backward: dq += ..., dk += ..., dv +=
 * ... from dout (B, T, n_head, hd) and the saved q, k, v, att.
 * Work is split over (b, KV head) pairs across tp's threads (dk and dv are
 * shared by the query heads of a group, so one thread owns each).
 * `scratch`: mote__tr_attention_scratch_floats(B, T, n_head, hd, n_threads)
 * floats. attention.c runs AVX2+FMA code when the CPU has it and hd is a
 * multiple of 8 (exp by a polynomial, within ~2 ulp of expf); the _ref
 * functions (ops.c) are the scalar definitions, also the fallback. */
size_t mote__tr_attention_scratch_floats(int64_t B, int64_t T, int32_t n_head, int32_t hd,
                                         int n_threads);
void mote__tr_attention_fwd(float *out, float *att, const float *q, const float *k,
                            const float *v, int64_t B, int64_t T, int32_t n_head,
                            int32_t n_head_kv, int32_t hd, float *scratch, mote_threadpool *tp);
void mote__tr_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *q,
                            const float *k, const float *v, const float *att, int64_t B,
                            int64_t T, int32_t n_head, int32_t n_head_kv, int32_t hd,
                            float *scratch, mote_threadpool *tp);
void mote__tr_attention_fwd_ref(float *out, float *att, const float *q, const float *k,
                                const float *v, int64_t B, int64_t T, int32_t n_head,
                                int32_t n_head_kv, int32_t hd, mote_threadpool *tp);
/* datt: scratch of B * n_head * T floats. */
void mote__tr_attention_bwd_ref(float *dq, float *dk, float *dv, float *datt, const float *dout,
                                const float *q, const float *k, const float *v, const float *att,
                                int64_t B, int64_t T, int32_t n_head, int32_t n_head_kv, int32_t hd,
                                mote_threadpool *tp);

/* ---- SwiGLU: out = silu(gate) * up, silu(g) = g / (1 + e^-g) ---- */

/* gate, up, out: (n). Split over tp's threads. */
void mote__tr_swiglu_fwd(float *out, const float *gate, const float *up, int64_t n, mote_threadpool *tp);
/* dgate += dout * up * silu'(gate), dup += dout * silu(gate). */
void mote__tr_swiglu_bwd(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, int64_t n, mote_threadpool *tp);

/* ---- residual: out = a + b, all (n); backward is dout added to both ---- */

void mote__tr_residual_fwd(float *out, const float *a, const float *b, int64_t n);
/* da += dout, db += dout. */
void mote__tr_residual_bwd(float *da, float *db, const float *dout, int64_t n);

/* ---- softmax cross-entropy, mean over positions ----
 *
 * logits (N, V), targets (N) in [0, V) -> returns
 *   loss = (1/N) sum_n -log softmax(logits[n])[targets[n]]
 * and overwrites logits with the probabilities (N, V) (what backward needs;
 * an f32 row of exp would overflow for large logits, so the max is
 * subtracted first). losses (N), if not NULL, receives each position's
 * loss. Summed in double. */
double mote__tr_crossentropy_fwd(float *probs_inout, float *losses, const int32_t *targets,
                                 int64_t N, int64_t V, mote_threadpool *tp);
/* dlogits (N, V) = (probs - onehot(targets)) * dloss / N (overwrites;
 * may alias probs). */
void mote__tr_crossentropy_bwd(float *dlogits, const float *probs, const int32_t *targets,
                               int64_t N, int64_t V, float dloss, mote_threadpool *tp);

#endif /* MOTE_TRAIN_OPS_H */
