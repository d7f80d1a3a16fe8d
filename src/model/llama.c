/* llama.c — the inference context and the Llama forward pass.
 *
 * A context owns the KV cache, a thread pool and every work buffer, all
 * allocated once in mote_ctx_new for at most n_batch tokens at a time:
 * evaluating tokens allocates nothing. The forward pass follows llama.cpp's
 * LLM_ARCH_LLAMA graph: embedding, then per block RMSNorm, Q/K/V, RoPE
 * ("normal" mode: adjacent pairs, as GGUF stores Q/K rows permuted for it),
 * causal grouped-query attention, output projection and residual, RMSNorm,
 * SwiGLU feed-forward and residual; final RMSNorm and the output matrix.
 *
 * Batches and threads: mote_ctx_decode runs the layers over up to n_batch
 * tokens at once (one batched matrix product per weight, src/kernels/
 * matmul.c; token i attends to cache positions <= its own), as one job on
 * every thread of the pool. Inside the job, per-token work (norms,
 * quantizing activations, RoPE, residuals) is split by tokens, matrix
 * products by chunks of weight rows, attention by (block of ATT_BLOCK
 * tokens, run of heads) items, with barriers between the steps. Each
 * value is computed by one thread with the
 * same code whatever the thread count, so results are bit-identical for any
 * number of threads. Generation is the same path with one token, where
 * the per-token steps are split by elements instead, attention by parts
 * of MOTE_KV_PART positions (merged in a fixed order, kv_cache.h), and
 * each group of matrix products by lanes where its kernels ask for them
 * (group_matmul_lanes: each thread its share a chunk at a time, then what
 * is left of the others' from their backs), else by
 * shrinking row claims (group_matmul_one): the first claim of every
 * thread fixed, the rest from a counter; each thread lays out the
 * activation for the gemv kernel once per group (c->prep), and a
 * thread waiting at a barrier reads ahead the start of its next claim
 * (barrier_next).
 *
 * Not here: loading (model.c), kernels (src/kernels/), the pool itself
 * (src/core/threadpool.c).
 */
#include "model.h"
#include "kv_cache.h"
#include "lora.h"
#include "observer.h"
#include "../core/threadpool.h"
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#define DEFAULT_N_BATCH 512
#define MAX_N_BATCH (1 << 16)
#define N_ACT_BUFS 3 /* distinct activation types one input may need (q, k, v) */
/* Tokens of a batch whose attention is one item (mote__kv_attend_block):
 * the key rows are laid out for the gemm kernel once for that many
 * tokens, where a token an item laid them out for each token again. On
 * the development machine (TinyLlama's shape, q4_0, 2 threads) pp512
 * after 1536 tokens in the cache went from 121.7 to 159.2 tokens/s, pp512
 * from an empty cache 1.015 x (four alternating pairs); 16 measured level
 * with 8. Fixed, so that an item's rows (and the kernel each call takes)
 * do not depend on the thread count. */
#define ATT_BLOCK 8

/* One decode pass over a batch: the job every thread runs. Lives in the
 * context (no allocation per pass). */
typedef struct fwd_job {
    struct mote_ctx *c;
    const int32_t *tokens; /* (n_tok) */
    int32_t n_tok;
    int32_t pos0;          /* position of tokens[0] */
    int32_t out_first;     /* logits for tokens [out_first, n_tok) ... */
    float *out;            /* ... land here, n_vocab a row */
    /* Work counters of the dynamically split loops, used alternately: a
     * loop resets the other one, which the loop before it used; a barrier
     * always separates two loops (see claim_counter). */
    atomic_int counters[2];
    /* One token's lanes (group_matmul_lanes), used alternately like the
     * counters: per thread's lane, the units taken from its front (low 32
     * bits) and from its back (high 32 bits). */
    _Atomic uint64_t lanes[2][MOTE_MAX_THREADS];
} fwd_job;

struct mote_ctx {
    const mote_model *model;
    int32_t n_ctx;
    int32_t n_past;
    int32_t n_threads;
    int32_t n_batch;
    mote_threadpool *pool;
    mote_kv_cache kv; /* K and V of every layer and position (kv_cache.h) */
    /* Activations of a batch, n_batch rows each (llama2.c's RunState). */
    float *x;      /* (n_batch, n_embd) residual stream */
    float *x_alt;  /* (n_embd) the other residual buffer of one-token passes */
    float *xb;     /* (n_batch, n_embd) normed input of a block half */
    float *xb2;    /* (n_batch, n_embd) output of wo / w_down */
    float *q;      /* (n_batch, q_dim) */
    float *xo;     /* (n_batch, q_dim) attention output */
    float *hb;     /* (n_batch, n_ff) gate, then silu(gate) * up */
    float *hb2;    /* (n_batch, n_ff) up */
    float *att;    /* (n_threads, B * n_head / n_head_kv, n_ctx) scores of one
                    * item's query rows, per thread; B = min(ATT_BLOCK, n_batch) */
    float *att_qo; /* (n_threads, 2 * B * q_dim / n_head_kv) an item's
                    * queries and outputs, contiguous (mote__kv_attend_block) */
    float *att_part;  /* (n_parts, q_dim) one token's attention by parts of
                       * MOTE_KV_PART positions, before merging (kv_cache.h) */
    float *att_stats; /* (n_parts, n_head, 2) each part's max and sum */
    float *logits; /* (n_vocab) of the last evaluated token */
    float *inv_freq; /* (n_rot/2) RoPE frequencies */
    float *rope_cs;  /* (n_threads, n_rot) rope_table rows: a thread's token
                      * of a batch; row 0 a one-token pass's, shared */
    /* Quantized activations for the matrix products: N_ACT_BUFS buffers
     * of act_bytes, each (n_batch, stride) in some vec_dot_type. */
    void *act[N_ACT_BUFS];
    size_t act_bytes;
    /* (n_threads, prep_stride bytes) one token's activation prepared for
     * the gemv kernel of a group's weights (mote__matmul_prepare), a
     * thread's own; NULL when no weight's kernel prepares one */
    uint8_t *prep;
    size_t prep_stride;
    size_t min_claim; /* one-token claims' least weight bytes (GEMV_MIN_CLAIM_BYTES) */
    size_t lane_chunk; /* one-token lanes' chunk bytes (SIZE_MAX: the kernels'; 0: no lanes) */
    fwd_job job;
    mote_matmul_observer observer; /* NULL unless calibrating (observer.h) */
    void *observer_user;
    mote__lora_list lora; /* attached LoRA adapters (lora.h) */
};

mote_ctx_params mote_ctx_default_params(void) {
    return (mote_ctx_params){.n_ctx = 0, .n_threads = 0, .n_batch = DEFAULT_N_BATCH, .kv_type = NULL};
}

/* ---- matrix products over a group of weights sharing one input ---- */

/* Up to three weights applied to the same input rows (q/k/v, gate/up, or
 * one), with where each output goes, and the activation each reads. */
typedef struct mm_group {
    int n;
    const mote_matrix *w[3];
    float *y[3];
    size_t y_stride[3];  /* floats between output rows */
    const void *act[3];  /* filled by group_plan */
    size_t act_stride[3];
    int act_buf[3];      /* index into c->act, or -1: the f32 rows */
    const float *x;      /* the f32 input rows (for the observer) */
    size_t x_stride;
} mm_group;

/* Assign each weight of g an activation: the f32 rows x (x_stride floats
 * apart) when its type computes on f32, else a buffer of c->act, shared by
 * weights with the same vec_dot_type. Deterministic: every thread computes
 * the same plan. Returns the number of buffers used. */
static int group_plan(const mote_ctx *c, mm_group *g, const float *x, size_t x_stride) {
    int n_bufs = 0;
    g->x = x;
    g->x_stride = x_stride;
    for (int i = 0; i < g->n; i++) {
        const mote_kernel_table *k = mote__kernels_for(g->w[i]->type);
        g->act_buf[i] = -1;
        if (!k->quantize_act) {
            g->act[i] = x;
            g->act_stride[i] = x_stride * sizeof(float);
            continue;
        }
        for (int j = 0; j < i && g->act_buf[i] < 0; j++) {
            const mote_kernel_table *kj = mote__kernels_for(g->w[j]->type);
            if (g->act_buf[j] >= 0 && kj->vec_dot_type == k->vec_dot_type &&
                kj->quantize_act == k->quantize_act) {
                g->act_buf[i] = g->act_buf[j];
                g->act[i] = g->act[j];
                g->act_stride[i] = g->act_stride[j];
            }
        }
        if (g->act_buf[i] < 0) {
            g->act_buf[i] = n_bufs;
            g->act[i] = c ? c->act[n_bufs] : NULL;
            g->act_stride[i] = mote__matmul_act_stride(g->w[i]->type, g->w[i]->n_cols);
            n_bufs++;
        }
    }
    return n_bufs;
}

/* Quantize rows [t0, t1) of x into every buffer the plan of g uses. */
static void group_quantize(const mm_group *g, const float *x, size_t x_stride, int64_t t0,
                           int64_t t1) {
    for (int i = 0; i < g->n; i++) {
        bool first = g->act_buf[i] >= 0;
        for (int j = 0; j < i && first; j++) first = g->act_buf[j] != g->act_buf[i];
        if (first)
            mote__matmul_quantize(g->w[i]->type, x, x_stride, g->w[i]->n_cols, (void *)g->act[i],
                                  g->act_stride[i], t0, t1);
    }
}

/* ---- one token: the per-token steps split by elements ----
 * With one token, the norms, residuals and activation quantizing would run
 * on one thread while the others wait at the next barrier (5-7% of a
 * token's time, measured). Instead every thread takes a share of the
 * elements, in whole blocks of the activation types. */

/* The block the activations of g are quantized in: the largest block of
 * its activation types (1, 32 or 256: each a multiple of the smaller). */
static int64_t group_act_block(const mm_group *g) {
    int64_t blk = 1;
    for (int i = 0; i < g->n; i++) {
        if (g->act_buf[i] < 0) continue;
        const int64_t b = mote__type_traits(mote__kernels_for(g->w[i]->type)->vec_dot_type)->block_size;
        if (b > blk) blk = b;
    }
    return blk;
}

/* This thread's share [e0, e1) of n elements, in whole blocks of blk (n
 * is a multiple of blk: the weights' rows are whole blocks). */
static void split_blocks(int64_t n, int64_t blk, int ith, int nth, int64_t *e0, int64_t *e1) {
    int64_t u0, u1;
    mote__split_range(n / blk, ith, nth, &u0, &u1);
    *e0 = u0 * blk;
    *e1 = ith == nth - 1 ? n : u1 * blk;
}

/* Quantize elements [e0, e1) (whole blocks) of the one activation row x
 * into every buffer the plan of g uses: the bytes mote__matmul_quantize
 * writes for them, without the gemm's per-block extras (one token never
 * runs the gemm). */
static void group_quantize_cols(const mm_group *g, const float *x, int64_t e0, int64_t e1) {
    for (int i = 0; i < g->n; i++) {
        bool first = g->act_buf[i] >= 0;
        for (int j = 0; j < i && first; j++) first = g->act_buf[j] != g->act_buf[i];
        if (!first || e1 <= e0) continue;
        const mote_kernel_table *k = mote__kernels_for(g->w[i]->type);
        const mote_type_traits *tr = mote__type_traits(k->vec_dot_type);
        k->quantize_act(x + e0, (uint8_t *)g->act[i] + (size_t)(e0 / tr->block_size) * tr->type_size,
                        e1 - e0);
    }
}

/* Every thread, one token: v = x + d (d NULL: v = x) into x_out (not
 * written when d is NULL), xb = rmsnorm(v) * w and xb quantized for g,
 * each thread its share of the elements. The scale is computed over all
 * of v on every thread (mote__rms_scale), so xb holds the bytes
 * mote__rmsnorm gives the batch path. x and d are only read here, by all
 * threads; x_out must be another buffer. */
static void norm_one(const mm_group *g, float *x_out, const float *x, const float *d, const float *w,
                     float *xb, int64_t n, float eps, int ith, int nth) {
    const float scale = mote__rms_scale(x, d, n, eps);
    int64_t e0, e1;
    split_blocks(n, group_act_block(g), ith, nth, &e0, &e1);
    mote__rms_apply(xb + e0, d ? x_out + e0 : NULL, x + e0, d ? d + e0 : NULL, w + e0, scale, e1 - e0);
    group_quantize_cols(g, xb, e0, e1);
}

/* The counter of the next dynamically split loop of this job. Every thread
 * calls it once per loop, in the same order (*seq counts the loops); thread
 * 0 resets the other counter (and the other set of nth lanes), which the
 * previous loop used and which the next loop will use — safe because a
 * barrier separates consecutive loops, and thread 0 cannot pass the one
 * after this loop before resetting. The loop's lanes: job->lanes[(*seq - 1)
 * & 1] after the call. */
static atomic_int *claim_counter(fwd_job *job, int ith, int nth, int *seq) {
    int s = (*seq)++;
    if (ith == 0) {
        atomic_store(&job->counters[(s + 1) & 1], 0);
        for (int k = 0; k < nth; k++) atomic_store(&job->lanes[(s + 1) & 1][k], 0);
    }
    return &job->counters[s & 1];
}

/* One token's claims (group_matmul_one): units of 8 rows (the gemv kernels'
 * row groups), and at least this many weight bytes a claim. */
#define GEMV_UNIT_ROWS 8
#define GEMV_MIN_CLAIM_BYTES (64 << 10)
/* The first claims: each thread's is this many thousandths of an equal
 * share of the group; the counter hands out the rest. Why so much: every
 * claim is a kernel call whose two streams start cold, and fewer, longer
 * ones read faster, while the counter's last, short claims still even out
 * the threads' ends. Alternating 16-token decoding rounds in one process,
 * 2 threads, against first claims of half the guided size (a quarter of
 * the group, then 3/16): q4_0 500 0.991 x, 750 0.998, 900 1.024 (quartiles
 * 1.006, 1.037), 950 1.025, 980 1.026 (15-21 rounds); q8_0 900 1.018
 * (1.014, 1.033), 950 1.015; f16 900 1.004; everything static (1000, no
 * counter) 0.988. The price: a thread the OS delays keeps 90% of its
 * share to itself, where before the others could take more of it. */
#define GEMV_FIRST_CLAIM_PERMILLE 900
/* Groups whose kernels ask for lanes (mote_gemv_prep's lane_chunk: q4_0
 * and q8_0 with AVX-512, measured in gemv_avx512.c) go by lanes instead
 * (group_matmul_lanes): each thread takes its own equal share in order, a
 * chunk of that many weight bytes at a time, and a thread done with its
 * own takes what is left of the others' from their backs. The f16 kernel
 * lost with lanes on the development machine (gemv_avx512.c says by how
 * much), so it keeps the claims. */

/* How one token's group is claimed (group_matmul_one): its units, the
 * first nth claims (fixed: thread k's is the kth) and the smallest claim. */
typedef struct claim_plan {
    int64_t units;     /* of the whole group */
    int64_t end[3];    /* units of matrices 0..i */
    int64_t first_end; /* units of the first nth claims: the counter counts on from here */
    int64_t min_take;
} claim_plan;

/* The size of the claim that starts at unit `start`. */
static int64_t claim_take(const claim_plan *cp, int64_t start, int nth) {
    int64_t take = (cp->units - start) / (2 * nth);
    if (take < cp->min_take) take = cp->min_take;
    return take > cp->units - start ? cp->units - start : take;
}

/* The plan of g for nth threads with claims of at least min_claim weight
 * bytes, and thread ith's first claim [*u0, *u1) (empty when the group has
 * fewer units than the threads' first claims need). False when the group
 * has too many rows for the int counter. */
static bool claim_plan_init(const mm_group *g, size_t min_claim, int ith, int nth, claim_plan *cp,
                            int64_t *u0, int64_t *u1) {
    cp->units = 0;
    for (int i = 0; i < g->n; i++) {
        cp->units += (g->w[i]->n_rows + GEMV_UNIT_ROWS - 1) / GEMV_UNIT_ROWS;
        cp->end[i] = cp->units;
    }
    if (cp->units > INT_MAX / 2) return false; /* the counter is an int: every thread agrees */
    const size_t unit_bytes = g->w[0]->row_bytes * GEMV_UNIT_ROWS;
    cp->min_take = (int64_t)((min_claim + unit_bytes - 1) / (unit_bytes ? unit_bytes : 1));
    if (cp->min_take < 1) cp->min_take = 1;
    int64_t start = 0;
    *u0 = *u1 = 0;
    for (int k = 0; k < nth; k++) {
        int64_t take = cp->units * GEMV_FIRST_CLAIM_PERMILLE / (1000 * (int64_t)nth);
        if (take < cp->min_take) take = cp->min_take;
        if (take > cp->units - start) take = cp->units - start;
        if (k == ith) *u0 = start, *u1 = start + take;
        start += take;
    }
    cp->first_end = start;
    return true;
}

/* The piece of units [u, stop) of g that lies in one matrix: its index
 * *i and rows [*r0, *r1); returns the unit after the piece. */
static int64_t claim_piece(const mm_group *g, const claim_plan *cp, int64_t u, int64_t stop, int *i,
                           int64_t *r0, int64_t *r1) {
    int k = 0;
    while (u >= cp->end[k]) k++;
    const int64_t base = k ? cp->end[k - 1] : 0, e = stop < cp->end[k] ? stop : cp->end[k];
    *i = k;
    *r0 = (u - base) * GEMV_UNIT_ROWS;
    *r1 = (e - base) * GEMV_UNIT_ROWS;
    if (*r1 > g->w[k]->n_rows) *r1 = g->w[k]->n_rows;
    return e;
}

/* Units [u, stop) of g, possibly over two or three matrices, computed by
 * this thread. prep: this thread's prepared-activation buffer (c->prep's
 * share), or NULL for the plain kernels; *prepped: the matrix of g whose
 * type and activation prep now holds, -1 for none (updated here). */
static void claim_run(const mm_group *g, const claim_plan *cp, int64_t u, int64_t stop, uint8_t *prep,
                      int *prepped) {
    while (u < stop) {
        int i;
        int64_t r0, r1;
        u = claim_piece(g, cp, u, stop, &i, &r0, &r1);
        if (!prep || mote__matmul_prep_bytes(g->w[i]) == 0) {
            mote__matmul_rows(g->w[i], g->act[i], g->act_stride[i], 1, g->y[i], g->y_stride[i], r0, r1);
            continue;
        }
        /* prep holds the activation prepared for matrix *prepped's type and
         * act (-1: none yet); matrices of the group sharing both share it */
        if (*prepped < 0 || g->w[*prepped]->type != g->w[i]->type || g->act[*prepped] != g->act[i] ||
            g->w[*prepped]->n_cols != g->w[i]->n_cols) {
            mote__matmul_prepare(g->w[i], g->act[i], prep);
            *prepped = i;
        }
        mote__matmul_rows_prepared(g->w[i], prep, g->y[i], r0, r1);
    }
}

/* The chunk bytes of one token's lanes for group g with nth threads, 0
 * where g goes by claims: more than one thread, and every weight's kernel
 * asking for lanes (mote__matmul_lane_chunk); the smallest of their
 * chunks (a group of q4_0 and q8_0 matrices, from a file mixing them),
 * unless the context sets one (lane_chunk: SIZE_MAX for the kernels'). */
static size_t lanes_used(const mm_group *g, size_t lane_chunk, int nth) {
    if (nth < 2 || lane_chunk == 0) return 0;
    size_t least = SIZE_MAX;
    for (int i = 0; i < g->n; i++) {
        const size_t c = mote__matmul_lane_chunk(g->w[i]);
        if (c == 0) return 0;
        if (c < least) least = c;
    }
    return lane_chunk != SIZE_MAX ? lane_chunk : least;
}

/* Lane k of nth (units [*start, *end) of plan cp) and its chunk in units
 * for chunks of chunk_bytes (at least one unit). */
static int64_t lane_of(const mm_group *g, const claim_plan *cp, size_t chunk_bytes, int k, int nth,
                       int64_t *start, int64_t *end) {
    *start = cp->units * k / nth;
    *end = cp->units * (k + 1) / nth;
    const int64_t chunk = (int64_t)(chunk_bytes / (g->w[0]->row_bytes * GEMV_UNIT_ROWS));
    return chunk > 0 ? chunk : 1;
}

/* Every thread, one token, where lanes_used (chunks of chunk_bytes):
 * thread ith takes units of its own lane from the front, a chunk at a
 * time, then goes over the other
 * lanes in turn (ith + 1, ith + 2, ...) taking from their backs a quarter
 * of what is left (at least cp.min_take) until every lane is empty. Each
 * lane's state is one atomic word (front taken, back taken: lanes[k],
 * zero at the start of the group), so every unit is computed exactly
 * once; which thread computes it does not change its value (the gemv
 * kernels are split-invariant). False, before computing anything, when
 * the group has too many rows for the 32-bit halves. */
static bool group_matmul_lanes(_Atomic uint64_t *lanes, const mm_group *g, size_t min_claim,
                               size_t chunk_bytes, uint8_t *prep, int ith, int nth) {
    claim_plan cp;
    int64_t u0, u1;
    if (!claim_plan_init(g, min_claim, ith, nth, &cp, &u0, &u1)) return false;
    int prepped = -1;
    for (int j = 0; j < nth; j++) {
        const int k = (ith + j) % nth;
        int64_t start, end;
        const int64_t chunk = lane_of(g, &cp, chunk_bytes, k, nth, &start, &end);
        for (;;) {
            uint64_t st = atomic_load(&lanes[k]), next;
            int64_t a, b;
            do {
                const int64_t front = (int64_t)(uint32_t)st, back = (int64_t)(st >> 32);
                const int64_t lo = start + front, hi = end - back;
                if (lo >= hi) goto lane_done;
                int64_t take = j == 0 ? chunk : (hi - lo) / 4;
                if (j > 0 && take < cp.min_take) take = cp.min_take;
                if (take > hi - lo) take = hi - lo;
                if (j == 0) { /* own lane: from the front */
                    a = lo, b = lo + take;
                    next = (uint64_t)(front + take) | ((uint64_t)back << 32);
                } else { /* another's: from the back */
                    a = hi - take, b = hi;
                    next = (uint64_t)front | ((uint64_t)(back + take) << 32);
                }
            } while (!atomic_compare_exchange_weak(&lanes[k], &st, next));
            claim_run(g, &cp, a, b, prep, &prepped);
        }
    lane_done:;
    }
    return true;
}

/* Where thread ith should read ahead for its first claim of g (its first
 * matrix's rows: mote__matmul_read_ahead) into pf[]; returns how many
 * ranges. With lanes (lanes_used), the first claim is its lane's first
 * chunk. */
static int claim_read_ahead(const mm_group *g, size_t min_claim, size_t lane_chunk, int ith, int nth,
                            mote_prefetch_range pf[MOTE_GEMV_MAX_STREAMS]) {
    claim_plan cp;
    int64_t u0, u1;
    if (!claim_plan_init(g, min_claim, ith, nth, &cp, &u0, &u1)) return 0;
    const size_t chunk_bytes = lanes_used(g, lane_chunk, nth);
    if (chunk_bytes) {
        const int64_t chunk = lane_of(g, &cp, chunk_bytes, ith, nth, &u0, &u1);
        if (u1 - u0 > chunk) u1 = u0 + chunk;
    }
    if (u1 <= u0) return 0;
    int i;
    int64_t r0, r1;
    claim_piece(g, &cp, u0, u1, &i, &r0, &r1);
    const void *p[MOTE_GEMV_MAX_STREAMS];
    size_t bytes[MOTE_GEMV_MAX_STREAMS];
    const int n = mote__matmul_read_ahead(g->w[i], r0, r1, p, bytes);
    for (int k = 0; k < n; k++) pf[k] = (mote_prefetch_range){p[k], bytes[k]};
    return n;
}

/* Every thread, one token: the group's rows, in units of GEMV_UNIT_ROWS
 * concatenated over its matrices. The first nth claims are the threads'
 * own in order (thread ith the ith), each GEMV_FIRST_CLAIM_PERMILLE of an
 * equal share; the rest is taken from the counter in shrinking ranges
 * (guided self-scheduling): each claim half of what a thread's share of
 * the remaining units would be, at least GEMV_MIN_CLAIM_BYTES of weights.
 * Why: the first claims are long contiguous streams, and the last ones
 * short, so the threads reach the barrier after the group nearly together
 * (fixed chunks of 1/8 of a group left a thread waiting up to a chunk's
 * time at every barrier: with shrinking claims, barrier waits fell to
 * about a third on a 16-core Xeon, tg_replay's instrumented runs); and a
 * thread knows its first claim before the group starts (claim_read_ahead:
 * read ahead while it waits at the barriers before). Which thread computes
 * a row never changes its value (the gemv kernels are split-invariant).
 * prep: this thread's prepared-activation buffer or NULL (claim_run).
 * False, before computing anything, when the group has too many rows for
 * the int counter. */
static bool group_matmul_one(atomic_int *ctr, const mm_group *g, size_t min_claim, uint8_t *prep,
                             int ith, int nth) {
    claim_plan cp;
    int64_t u0, u1;
    if (!claim_plan_init(g, min_claim, ith, nth, &cp, &u0, &u1)) return false;
    int prepped = -1;
    claim_run(g, &cp, u0, u1, prep, &prepped);
    for (;;) {
        int start = atomic_load(ctr), take;
        do {
            if (cp.first_end + start >= cp.units) return true;
            take = (int)claim_take(&cp, cp.first_end + start, nth);
        } while (!atomic_compare_exchange_weak(ctr, &start, start + take));
        claim_run(g, &cp, cp.first_end + start, cp.first_end + start + take, prep, &prepped);
    }
}

/* Every thread: compute the products of g for n_tok rows, taking chunks of
 * weight rows from a shared counter until none are left (one token:
 * group_matmul_lanes where lanes_used, else group_matmul_one's shrinking
 * claims). */
static void group_matmul(fwd_job *job, const mm_group *g, int64_t n_tok, int ith, int nth,
                         int *seq) {
    atomic_int *ctr = claim_counter(job, ith, nth, seq);
    if (ith == 0 && job->c->observer) /* calibration (observer.h): reads x only */
        for (int i = 0; i < g->n; i++)
            job->c->observer(job->c->observer_user, g->w[i], g->x, g->x_stride, n_tok);
    uint8_t *prep = job->c->prep ? job->c->prep + (size_t)ith * job->c->prep_stride : NULL;
    const size_t chunk_bytes = n_tok == 1 ? lanes_used(g, job->c->lane_chunk, nth) : 0;
    if (chunk_bytes &&
        group_matmul_lanes(job->lanes[(*seq - 1) & 1], g, job->c->min_claim, chunk_bytes, prep, ith, nth))
        return;
    if (n_tok == 1 && group_matmul_one(ctr, g, job->c->min_claim, prep, ith, nth)) return;
    int64_t chunk[3], n_chunks[3], total = 0;
    for (int i = 0; i < g->n; i++) {
        chunk[i] = mote__matmul_chunk_rows(g->w[i], n_tok, nth);
        n_chunks[i] = (g->w[i]->n_rows + chunk[i] - 1) / chunk[i];
        total += n_chunks[i];
    }
    for (;;) {
        int64_t k = atomic_fetch_add(ctr, 1);
        if (k >= total) break;
        int i = 0;
        while (k >= n_chunks[i]) k -= n_chunks[i++];
        int64_t r0 = k * chunk[i], r1 = r0 + chunk[i];
        if (r1 > g->w[i]->n_rows) r1 = g->w[i]->n_rows;
        mote__matmul_rows(g->w[i], g->act[i], g->act_stride[i], n_tok, g->y[i], g->y_stride[i], r0,
                          r1);
    }
}

/* ---- context ---- */

/* The weights of group `which` of layer l (0 q/k/v, 1 wo, 2 gate/up, 3
 * down); l = n_layer: the output matrix. The one description of the
 * groups: the forward pass computes them, act_needs sizes for them, the
 * barriers read ahead for them. */
static mm_group layer_group(const mote_model *m, int32_t l, int which) {
    if (l >= m->hp.n_layer) return (mm_group){.n = 1, .w = {&m->output}};
    const mote_layer *L = &m->layers[l];
    switch (which) {
    case 0: return (mm_group){.n = 3, .w = {&L->wq, &L->wk, &L->wv}};
    case 1: return (mm_group){.n = 1, .w = {&L->wo}};
    case 2: return (mm_group){.n = 2, .w = {&L->w_gate, &L->w_up}};
    default: return (mm_group){.n = 1, .w = {&L->w_down}};
    }
}

/* Where the n products of g go: y[i], rows y_stride[i] floats apart. */
static void group_outputs(mm_group *g, float *const *y, const size_t *y_stride) {
    for (int i = 0; i < g->n; i++) {
        g->y[i] = y[i];
        g->y_stride[i] = y_stride[i];
    }
}

/* The most activation buffers one group of the model needs, and the bytes
 * each must hold for n_batch rows; the bytes of the largest prepared
 * activation into *prep_bytes (0: none prepares one). */
static int act_needs(const mote_model *m, int32_t n_batch, size_t *bytes, size_t *prep_bytes) {
    size_t stride = 0;
    *prep_bytes = 0;
    int n_bufs = 1;
    for (int32_t l = 0; l <= m->hp.n_layer; l++) { /* n_layer: the output matrix */
        mm_group g[4];
        const int n_g = l < m->hp.n_layer ? 4 : 1;
        for (int i = 0; i < n_g; i++) g[i] = layer_group(m, l, i);
        for (int i = 0; i < n_g; i++) {
            int nb = group_plan(NULL, &g[i], NULL, 0);
            if (nb > n_bufs) n_bufs = nb;
            for (int j = 0; j < g[i].n; j++) {
                size_t s = mote__matmul_act_stride(g[i].w[j]->type, g[i].w[j]->n_cols);
                if (s > stride) stride = s;
                s = mote__matmul_prep_bytes(g[i].w[j]);
                if (s > *prep_bytes) *prep_bytes = s;
            }
        }
    }
    *bytes = stride * (size_t)n_batch;
    return n_bufs;
}

mote_status mote_ctx_new(const mote_model *m, const mote_ctx_params *p, mote_ctx **out,
                         mote_error *err) {
    *out = NULL;
    const mote_hparams *hp = &m->hp;
    mote_ctx_params params = p ? *p : mote_ctx_default_params();
    int32_t n_ctx = params.n_ctx > 0 ? params.n_ctx : hp->n_ctx_train;
    if (params.n_ctx < 0 || n_ctx > (1 << 22))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "context length %d is out of range (1..%d)",
                         (int)params.n_ctx, 1 << 22);
    if (params.n_threads < 0 || params.n_threads > MOTE_MAX_THREADS)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "thread count %d is out of range (1..%d, 0 = default)",
                         (int)params.n_threads, MOTE_MAX_THREADS);
    if (params.n_batch < 0 || params.n_batch > MAX_N_BATCH)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "batch size %d is out of range (1..%d, 0 = default)",
                         (int)params.n_batch, MAX_N_BATCH);
    int kv_type = mote__kv_type_parse(params.kv_type, err);
    if (kv_type < 0) return err ? err->code : MOTE_ERR_INVALID_ARG;
    int32_t n_threads = params.n_threads > 0 ? params.n_threads : (int32_t)mote__cpu_physical_cores();
    int32_t n_batch = params.n_batch > 0 ? params.n_batch : DEFAULT_N_BATCH;
    if (n_batch > n_ctx) n_batch = n_ctx;

    mote_ctx *c = mote__calloc(1, sizeof *c);
    if (!c) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    c->model = m;
    c->n_ctx = n_ctx;
    c->n_threads = n_threads;
    c->n_batch = n_batch;
    c->min_claim = GEMV_MIN_CLAIM_BYTES;
    c->lane_chunk = SIZE_MAX; /* the kernels' (mote__matmul_lane_chunk) */

    const size_t nb = (size_t)n_batch;
    size_t q_dim = (size_t)hp->n_head * (size_t)hp->head_dim;
    /* the cache's size is bounded: layers, ctx and dims are checked */
    mote_status s = mote__kv_init(&c->kv, hp, (uint32_t)kv_type, n_ctx, n_batch, n_threads, err);
    if (s) {
        mote_ctx_free(c);
        return s;
    }
    c->x = mote__calloc(nb * (size_t)hp->n_embd, sizeof(float));
    c->x_alt = mote__calloc((size_t)hp->n_embd, sizeof(float));
    c->xb = mote__calloc(nb * (size_t)hp->n_embd, sizeof(float));
    c->xb2 = mote__calloc(nb * (size_t)hp->n_embd, sizeof(float));
    c->q = mote__calloc(nb * q_dim, sizeof(float));
    c->xo = mote__calloc(nb * q_dim, sizeof(float));
    c->hb = mote__calloc(nb * (size_t)hp->n_ff, sizeof(float));
    c->hb2 = mote__calloc(nb * (size_t)hp->n_ff, sizeof(float));
    /* an attention item's query rows: up to ATT_BLOCK tokens (no more than a batch holds) */
    const size_t item_rows = (nb < ATT_BLOCK ? nb : ATT_BLOCK) * (size_t)(hp->n_head / hp->n_head_kv);
    c->att = mote__calloc((size_t)n_threads * item_rows * (size_t)n_ctx, sizeof(float));
    c->att_qo = mote__calloc((size_t)n_threads * 2 * item_rows * (size_t)hp->head_dim, sizeof(float));
    const size_t n_parts = ((size_t)n_ctx + MOTE_KV_PART - 1) / MOTE_KV_PART;
    c->att_part = mote__calloc(n_parts * q_dim, sizeof(float));
    c->att_stats = mote__calloc(n_parts * (size_t)hp->n_head * 2, sizeof(float));
    c->logits = mote__calloc((size_t)hp->n_vocab, sizeof(float));
    c->inv_freq = mote__calloc((size_t)hp->n_rot / 2, sizeof(float));
    c->rope_cs = mote__calloc((size_t)n_threads * (size_t)hp->n_rot, sizeof(float));
    size_t prep_bytes;
    int n_act = act_needs(m, n_batch, &c->act_bytes, &prep_bytes);
    bool act_ok = true;
    for (int i = 0; i < n_act; i++)
        act_ok = act_ok && (c->act[i] = mote__malloc_aligned(c->act_bytes + 64, 64)) != NULL;
    if (prep_bytes) {
        c->prep_stride = (prep_bytes + 63) & ~(size_t)63; /* each thread's 64-byte aligned */
        act_ok = act_ok && (c->prep = mote__malloc_aligned(c->prep_stride * (size_t)n_threads, 64));
    }
    if (!c->x || !c->x_alt || !c->xb || !c->xb2 || !c->q || !c->xo || !c->hb || !c->hb2 || !c->att ||
        !c->att_qo || !c->att_part || !c->att_stats || !c->logits || !c->inv_freq || !c->rope_cs || !act_ok) {
        double mib = ((double)mote__kv_bytes(&c->kv) +
                      (double)nb * (4.0 * (double)(3 * hp->n_embd + 2 * q_dim + 2 * hp->n_ff)) +
                      (double)n_act * (double)c->act_bytes +
                      (double)c->prep_stride * (double)n_threads) / 1048576.0;
        mote_ctx_free(c);
        return mote__err(err, MOTE_ERR_NOMEM,
                         "out of memory allocating a context of %d tokens, batch %d (%.1f MiB)",
                         (int)n_ctx, (int)n_batch, mib);
    }
    s = mote__threadpool_new(n_threads, &c->pool, err);
    if (s) {
        mote_ctx_free(c);
        return s;
    }
    /* theta_i = base^(-2i/n_rot), as llama.cpp's rope with freq_scale 1. */
    for (int32_t i = 0; i < hp->n_rot / 2; i++)
        c->inv_freq[i] = powf(hp->rope_freq_base, -2.0f * (float)i / (float)hp->n_rot);
    *out = c;
    return MOTE_OK;
}

void mote_ctx_free(mote_ctx *c) {
    if (!c) return;
    mote__threadpool_free(c->pool);
    mote__kv_free(&c->kv);
    mote__lora_list_free(&c->lora);
    mote__free(c->x);
    mote__free(c->x_alt);
    mote__free(c->xb);
    mote__free(c->xb2);
    mote__free(c->q);
    mote__free(c->xo);
    mote__free(c->hb);
    mote__free(c->hb2);
    mote__free(c->att);
    mote__free(c->att_qo);
    mote__free(c->att_part);
    mote__free(c->att_stats);
    mote__free(c->logits);
    mote__free(c->inv_freq);
    mote__free(c->rope_cs);
    for (int i = 0; i < N_ACT_BUFS; i++) mote__free_aligned(c->act[i]);
    mote__free_aligned(c->prep);
    mote__free(c);
}

int32_t mote_ctx_n_ctx(const mote_ctx *c) { return c->n_ctx; }
int32_t mote_ctx_n_past(const mote_ctx *c) { return c->n_past; }
int32_t mote_ctx_n_threads(const mote_ctx *c) { return c->n_threads; }
int32_t mote_ctx_n_batch(const mote_ctx *c) { return c->n_batch; }
uint64_t mote_ctx_kv_bytes(const mote_ctx *c) { return mote__kv_bytes(&c->kv); }
const mote_model *mote_ctx_model(const mote_ctx *c) { return c->model; }
const char *mote_ctx_kv_type(const mote_ctx *c) { return mote__type_name(c->kv.type); }
void mote_ctx_reset(mote_ctx *c) { c->n_past = 0; }
mote_status mote_ctx_truncate(mote_ctx *c, int32_t n, mote_error *err) {
    /* Rows below n stay as stored: a later batch writes rows from its own
     * position on, and refills the f32 window of a quantized cache from
     * the stored rows (kv_cache.h). */
    if (n < 0 || n > c->n_past)
        return mote__err(err, MOTE_ERR_RANGE, "cannot keep %d positions: the context holds %d",
                         (int)n, (int)c->n_past);
    c->n_past = n;
    return MOTE_OK;
}
const mote_model *mote__ctx_model(const mote_ctx *c) { return c->model; }
mote__lora_list *mote__ctx_lora_list(mote_ctx *c) { return &c->lora; }
void mote__ctx_set_min_claim(mote_ctx *c, size_t bytes) { c->min_claim = bytes; }
void mote__ctx_set_lane_chunk(mote_ctx *c, size_t bytes) { c->lane_chunk = bytes; }
void mote__ctx_set_observer(mote_ctx *c, mote_matmul_observer fn, void *user) {
    c->observer = fn;
    c->observer_user = user;
}
const float *mote_ctx_logits(const mote_ctx *c) { return c->logits; }

/* ---- forward pass ---- */

/* cs (n_rot) = cos, sin of pos * inv_freq[i] for each i: RoPE's factors at
 * one position, the same for every layer and for q and k. */
static void rope_table(float *cs, int32_t n_rot, const float *inv_freq, int32_t pos) {
    for (int32_t i = 0; i < n_rot / 2; i++) {
        float theta = (float)pos * inv_freq[i];
        cs[2 * i] = cosf(theta);
        cs[2 * i + 1] = sinf(theta);
    }
}

/* Rotate the first n_rot dims of heads [h0, h1) of v (head_dim apart) by
 * the factors cs of rope_table, adjacent pairs (x[2i], x[2i+1]). */
static void rope_heads(float *v, int32_t h0, int32_t h1, int32_t head_dim, int32_t n_rot,
                       const float *cs) {
    for (int32_t h = h0; h < h1; h++) {
        float *p = v + (size_t)h * head_dim;
        for (int32_t i = 0; i < n_rot / 2; i++) {
            float a = p[2 * i], b = p[2 * i + 1];
            p[2 * i] = a * cs[2 * i] - b * cs[2 * i + 1];
            p[2 * i + 1] = a * cs[2 * i + 1] + b * cs[2 * i];
        }
    }
}

/* A barrier of the forward pass, the next products being group `which`
 * of layer l (layer_group). In a one-token pass a thread that waits reads
 * ahead the start of its first claim of them: the time the others still
 * take (the tail of a matrix product, mostly) goes into streaming the
 * weights it will read next. Why only there: with many tokens the products
 * are compute-bound. */
static void barrier_next(mote_ctx *c, bool one, int32_t l, int which, int ith, int nth) {
    mote_prefetch_range pf[MOTE_GEMV_MAX_STREAMS];
    int n_pf = 0;
    if (one) {
        const mm_group g = layer_group(c->model, l, which);
        n_pf = claim_read_ahead(&g, c->min_claim, c->lane_chunk, ith, nth, pf);
    }
    mote__threadpool_barrier_prefetch(c->pool, pf, n_pf);
}

/* The job of one batch, run on every thread (ith of nth). Steps are
 * separated by barriers where a step reads what other threads wrote;
 * `mine` is this thread's share [t0, t1) of the tokens. */
static void forward_batch(void *arg, int ith, int nth) {
    fwd_job *job = arg;
    mote_ctx *c = job->c;
    mote_threadpool *tp = c->pool;
    const mote_model *m = c->model;
    const mote_hparams *hp = &m->hp;
    const int32_t hd = hp->head_dim, n_embd = hp->n_embd, n_ff = hp->n_ff;
    const int64_t n_tok = job->n_tok;
    const int32_t pos0 = job->pos0;
    const size_t kv_dim = (size_t)hp->n_head_kv * hd, q_dim = (size_t)hp->n_head * hd;
    const int32_t group = hp->n_head / hp->n_head_kv;
    const float att_scale = 1.0f / sqrtf((float)hd);
    const size_t item_rows = (size_t)(c->n_batch < ATT_BLOCK ? c->n_batch : ATT_BLOCK) * (size_t)group;
    float *att = c->att + (size_t)ith * item_rows * (size_t)c->n_ctx;
    float *att_qo = c->att_qo + (size_t)ith * 2 * item_rows * (size_t)hd;
    /* Attention items of a batch: ATT_BLOCK tokens x query heads of one kv
     * head, a kv head's whole group (its rows read once for all of them),
     * halved while there are too few items for the threads — only down to
     * multiples of 4, where a head's scores do not depend on the group
     * size (mote__kv_attend). */
    int32_t sub = group;
    const int64_t n_blocks = (n_tok + ATT_BLOCK - 1) / ATT_BLOCK;
    while (sub % 8 == 0 && n_blocks * (hp->n_head / sub) < 4 * (int64_t)nth) sub /= 2;
    /* one token's attention: parts of MOTE_KV_PART positions (kv_cache.h) */
    const int32_t n_parts = (pos0 + MOTE_KV_PART) / MOTE_KV_PART;
    int seq = 0;
    int64_t t0, t1;
    mote__split_range(n_tok, ith, nth, &t0, &t1);
    /* One token (generation, no LoRA): the per-token steps split by
     * elements (norm_one). The residual stream then alternates between
     * c->x and c->x_alt: a step that adds to it writes the other buffer,
     * because every thread reads all of the old one; `pending` is the
     * output of wo / w_down not yet added (the next norm adds it). */
    const bool one = n_tok == 1 && c->lora.n == 0;
    float *xc = c->x, *xn = c->x_alt;
    const float *pending = NULL;
#define SWAP_RESIDUAL()          \
    do {                         \
        float *tmp_ = xc;        \
        xc = xn;                 \
        xn = tmp_;               \
    } while (0)

    for (int64_t t = t0; t < t1; t++)
        mote__matrix_get_row(&m->tok_embd, job->tokens[t], c->x + (size_t)t * n_embd);
    if (one) {
        if (ith == 0) rope_table(c->rope_cs, hp->n_rot, c->inv_freq, pos0);
        barrier_next(c, one, 0, 0, ith, nth); /* every thread reads the whole row, and the table */
    }

    for (int32_t l = 0; l < hp->n_layer; l++) {
        const mote_layer *L = &m->layers[l];
        /* K and V rows of this batch as f32: the cache rows pos0.. for an
         * f32 cache, else staging rows stored after RoPE (kv_cache.h) */
        float *k_new = mote__kv_k_rows(&c->kv, l, pos0), *v_new = mote__kv_v_rows(&c->kv, l, pos0);

        /* attention: xb (n_tok, n_embd) -> q (n_tok, q_dim), and k, v
         * (n_tok, kv_dim) */
        mm_group qkv = layer_group(m, l, 0);
        group_outputs(&qkv, (float *[]){c->q, k_new, v_new}, (size_t[]){q_dim, kv_dim, kv_dim});
        group_plan(c, &qkv, c->xb, (size_t)n_embd);
        if (one) {
            norm_one(&qkv, xn, xc, pending, L->attn_norm, c->xb, n_embd, hp->rms_eps, ith, nth);
            if (pending) SWAP_RESIDUAL();
            pending = NULL;
        } else {
            for (int64_t t = t0; t < t1; t++)
                mote__rmsnorm(c->xb + (size_t)t * n_embd, c->x + (size_t)t * n_embd, L->attn_norm,
                              n_embd, hp->rms_eps);
            group_quantize(&qkv, c->xb, (size_t)n_embd, t0, t1);
        }
        barrier_next(c, one, l, 0, ith, nth);
        group_matmul(job, &qkv, n_tok, ith, nth, &seq);
        barrier_next(c, one, l, 1, ith, nth);
        mote__lora_apply(&c->lora, l, MOTE_LORA_Q, c->xb, n_embd, c->q, q_dim, t0, t1, ith);
        mote__lora_apply(&c->lora, l, MOTE_LORA_K, c->xb, n_embd, k_new, kv_dim, t0, t1, ith);
        mote__lora_apply(&c->lora, l, MOTE_LORA_V, c->xb, n_embd, v_new, kv_dim, t0, t1, ith);
        if (one) { /* q's heads split over the threads; k on the thread
                    * that stores it (mote__kv_store below reads it) */
            int64_t h0, h1;
            mote__split_range(hp->n_head, ith, nth, &h0, &h1);
            rope_heads(c->q, (int32_t)h0, (int32_t)h1, hd, hp->n_rot, c->rope_cs);
            if (t1 > t0) rope_heads(k_new, 0, hp->n_head_kv, hd, hp->n_rot, c->rope_cs);
        } else {
            float *cs = c->rope_cs + (size_t)ith * hp->n_rot;
            for (int64_t t = t0; t < t1; t++) {
                rope_table(cs, hp->n_rot, c->inv_freq, pos0 + (int32_t)t);
                rope_heads(c->q + (size_t)t * q_dim, 0, hp->n_head, hd, hp->n_rot, cs);
                rope_heads(k_new + (size_t)t * kv_dim, 0, hp->n_head_kv, hd, hp->n_rot, cs);
            }
        }
        mote__kv_store(&c->kv, l, pos0, t0, t1, ith, nth);
        barrier_next(c, one, l, 1, ith, nth);

        if (one) {
            /* one token: (part of MOTE_KV_PART positions, kv head) units,
             * part by part, a contiguous run of them a thread (each reads
             * whole cache rows); merged into xo below (kv_cache.h) */
            int64_t u0, u1;
            mote__split_range((int64_t)n_parts * hp->n_head_kv, ith, nth, &u0, &u1);
            for (int64_t u = u0; u < u1; u++) {
                const int32_t part = (int32_t)(u / hp->n_head_kv), g = (int32_t)(u % hp->n_head_kv);
                const int32_t p0 = part * MOTE_KV_PART;
                const int32_t p1 = p0 + MOTE_KV_PART < pos0 + 1 ? p0 + MOTE_KV_PART : pos0 + 1;
                const size_t h = (size_t)g * (size_t)group;
                if (g == 0 || u == u0) mote__kv_read_ahead(&c->kv, l, p0, p1);
                mote__kv_attend_part(&c->kv, ith, l, c->q + h * hd, group, (size_t)g * hd, p0, p1,
                                     att_scale, att, (size_t)c->n_ctx,
                                     c->att_part + (size_t)part * q_dim + h * hd,
                                     c->att_stats + ((size_t)part * hp->n_head + h) * 2);
            }
        } else {
            /* causal attention: (block of ATT_BLOCK tokens, run of `sub`
             * query heads of one kv head) items taken from a counter */
            atomic_int *ctr = claim_counter(job, ith, nth, &seq);
            const int64_t per_blk = hp->n_head / sub, n_items = n_blocks * per_blk;
            for (;;) {
                int64_t k = atomic_fetch_add(ctr, 1);
                if (k >= n_items) break;
                const int64_t t = k / per_blk * ATT_BLOCK, h = k % per_blk * sub;
                const int32_t nb = (int32_t)(n_tok - t < ATT_BLOCK ? n_tok - t : ATT_BLOCK);
                mote__kv_attend_block(&c->kv, ith, l, c->q + (size_t)t * q_dim + (size_t)h * hd, q_dim,
                                      nb, sub, (size_t)(h / group) * hd, pos0 + (int32_t)t, att_scale,
                                      att, (size_t)c->n_ctx, att_qo,
                                      c->xo + (size_t)t * q_dim + (size_t)h * hd, q_dim);
            }
        }
        barrier_next(c, one, l, 1, ith, nth);

        /* output projection: xo (n_tok, q_dim) -> xb2 (n_tok, n_embd) */
        mm_group wo = layer_group(m, l, 1);
        group_outputs(&wo, (float *[]){c->xb2}, (size_t[]){(size_t)n_embd});
        group_plan(c, &wo, c->xo, q_dim);
        if (one) {
            int64_t e0, e1;
            split_blocks((int64_t)q_dim, group_act_block(&wo), ith, nth, &e0, &e1);
            mote__kv_attend_merge(n_parts, c->att_part, q_dim, c->att_stats, (size_t)hp->n_head * 2,
                                  hd, att_scale, e0, e1, c->xo);
            group_quantize_cols(&wo, c->xo, e0, e1);
        } else {
            group_quantize(&wo, c->xo, q_dim, t0, t1);
        }
        barrier_next(c, one, l, 1, ith, nth);
        group_matmul(job, &wo, n_tok, ith, nth, &seq);
        barrier_next(c, one, l, 2, ith, nth);
        mote__lora_apply(&c->lora, l, MOTE_LORA_O, c->xo, q_dim, c->xb2, n_embd, t0, t1, ith);

        /* residual, then feed-forward: down(silu(gate x) * up x) */
        mm_group ffn = layer_group(m, l, 2);
        group_outputs(&ffn, (float *[]){c->hb, c->hb2}, (size_t[]){(size_t)n_ff, (size_t)n_ff});
        group_plan(c, &ffn, c->xb, (size_t)n_embd);
        if (one) {
            norm_one(&ffn, xn, xc, c->xb2, L->ffn_norm, c->xb, n_embd, hp->rms_eps, ith, nth);
            SWAP_RESIDUAL();
        } else {
            for (int64_t t = t0; t < t1; t++) {
                float *xt = c->x + (size_t)t * n_embd;
                const float *dt = c->xb2 + (size_t)t * n_embd;
                for (int32_t i = 0; i < n_embd; i++) xt[i] += dt[i];
                mote__rmsnorm(c->xb + (size_t)t * n_embd, xt, L->ffn_norm, n_embd, hp->rms_eps);
            }
            group_quantize(&ffn, c->xb, (size_t)n_embd, t0, t1);
        }
        barrier_next(c, one, l, 2, ith, nth);
        group_matmul(job, &ffn, n_tok, ith, nth, &seq);
        barrier_next(c, one, l, 3, ith, nth);
        if (c->lora.n) { /* SwiGLU below is split by elements, not tokens */
            mote__lora_apply(&c->lora, l, MOTE_LORA_GATE, c->xb, n_embd, c->hb, n_ff, t0, t1, ith);
            mote__lora_apply(&c->lora, l, MOTE_LORA_UP, c->xb, n_embd, c->hb2, n_ff, t0, t1, ith);
            mote__threadpool_barrier(tp);
        }
        mm_group down = layer_group(m, l, 3);
        group_outputs(&down, (float *[]){c->xb2}, (size_t[]){(size_t)n_embd});
        group_plan(c, &down, c->hb, (size_t)n_ff);
        {
            /* SwiGLU, split by elements so that one token uses every
             * thread; with one token each thread also quantizes its part
             * for w_down (whole blocks), without a barrier between */
            int64_t e0, e1;
            if (one) split_blocks(n_ff, group_act_block(&down), ith, nth, &e0, &e1);
            else mote__split_range(n_tok * n_ff, ith, nth, &e0, &e1);
            mote__swiglu(c->hb + e0, c->hb2 + e0, e1 - e0);
            if (one) group_quantize_cols(&down, c->hb, e0, e1);
        }
        if (!one) {
            mote__threadpool_barrier(tp);
            group_quantize(&down, c->hb, (size_t)n_ff, t0, t1);
        }
        barrier_next(c, one, l, 3, ith, nth);
        group_matmul(job, &down, n_tok, ith, nth, &seq);
        barrier_next(c, one, l + 1, 0, ith, nth);
        mote__lora_apply(&c->lora, l, MOTE_LORA_DOWN, c->hb, n_ff, c->xb2, n_embd, t0, t1, ith);
        if (one) {
            pending = c->xb2; /* added by the next norm */
            continue;
        }
        for (int64_t t = t0; t < t1; t++) {
            float *xt = c->x + (size_t)t * n_embd;
            const float *dt = c->xb2 + (size_t)t * n_embd;
            for (int32_t i = 0; i < n_embd; i++) xt[i] += dt[i];
        }
        /* the next layer's norm reads only this thread's own tokens: no
         * barrier needed here */
    }

    /* Final norm and the output matrix, for tokens [out_first, n_tok)
     * only: xb row i holds token out_first + i. */
    const int64_t first = job->out_first, n_out = n_tok - first;
    if (n_out <= 0) return;
    mm_group outg = layer_group(m, hp->n_layer, 0);
    group_outputs(&outg, (float *[]){job->out}, (size_t[]){(size_t)hp->n_vocab});
    group_plan(c, &outg, c->xb, (size_t)n_embd);
    if (one) {
        norm_one(&outg, xn, xc, pending, m->out_norm, c->xb, n_embd, hp->rms_eps, ith, nth);
    } else {
        int64_t o0 = t0 > first ? t0 : first, o1 = t1;
        for (int64_t t = o0; t < o1; t++)
            mote__rmsnorm(c->xb + (size_t)(t - first) * n_embd, c->x + (size_t)t * n_embd, m->out_norm,
                          n_embd, hp->rms_eps);
        /* Each thread quantizes the rows it just normed; the previous
         * readers of xb and the activation buffers finished before the
         * last barrier. */
        if (o1 > o0) group_quantize(&outg, c->xb, (size_t)n_embd, o0 - first, o1 - first);
    }
    barrier_next(c, one, hp->n_layer, 0, ith, nth);
    group_matmul(job, &outg, n_out, ith, nth, &seq);
#undef SWAP_RESIDUAL
}

mote_status mote_ctx_decode(mote_ctx *c, const int32_t *tokens, int32_t n, float *logits,
                            mote_error *err) {
    const int32_t n_vocab = c->model->hp.n_vocab;
    if (n < 0) return mote__err(err, MOTE_ERR_INVALID_ARG, "negative token count %d", (int)n);
    if (n > c->n_ctx - c->n_past)
        return mote__err(err, MOTE_ERR_RANGE,
                         "%d tokens do not fit the context: %d of %d positions are used", (int)n,
                         (int)c->n_past, (int)c->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return mote__err(err, MOTE_ERR_INVALID_ARG, "token id %d is out of range (vocabulary %d)",
                             (int)tokens[i], (int)n_vocab);
    for (int32_t i = 0; i < n; i += c->n_batch) {
        int32_t nb = n - i < c->n_batch ? n - i : c->n_batch;
        bool last = i + nb == n;
        fwd_job *job = &c->job;
        job->c = c;
        job->tokens = tokens + i;
        job->n_tok = nb;
        job->pos0 = c->n_past;
        if (logits) {
            job->out_first = 0;
            job->out = logits + (size_t)i * n_vocab;
        } else {
            job->out_first = last ? nb - 1 : nb; /* only the very last row */
            job->out = c->logits;
        }
        atomic_store(&job->counters[0], 0);
        atomic_store(&job->counters[1], 0);
        for (int k = 0; k < c->n_threads; k++) {
            atomic_store(&job->lanes[0][k], 0);
            atomic_store(&job->lanes[1][k], 0);
        }
        mote__threadpool_run(c->pool, forward_batch, job);
        c->n_past += nb;
        if (logits && last)
            memcpy(c->logits, logits + (size_t)(n - 1) * n_vocab, (size_t)n_vocab * sizeof(float));
    }
    return MOTE_OK;
}
