/* kv_cache.c — the KV cache in f32, f16/bf16 or a 32-block quantized type:
 * allocation, storing a batch's rows, and one head's attention over them.
 * The contract and the three read paths are described in kv_cache.h. Not
 * here: the forward pass (llama.c), the kernels (src/kernels/).
 */
#include "kv_cache.h"
#include <math.h>
#include <string.h>

/* The cache types this build offers: llama.cpp's --cache-type-k set. */
static const uint32_t kv_types[] = {MOTE_TYPE_F32,  MOTE_TYPE_F16,  MOTE_TYPE_BF16,
                                    MOTE_TYPE_Q8_0, MOTE_TYPE_Q5_1, MOTE_TYPE_Q5_0,
                                    MOTE_TYPE_Q4_1, MOTE_TYPE_Q4_0, MOTE_TYPE_IQ4_NL};
#define N_KV_TYPES (sizeof kv_types / sizeof kv_types[0])

int mote__kv_type_parse(const char *name, mote_error *err) {
    if (!name || !*name) return MOTE_TYPE_F32;
    int t = mote__type_from_name(name);
    for (size_t i = 0; t >= 0 && i < N_KV_TYPES; i++) {
        const mote_type_traits *tr = mote__type_traits((uint32_t)t);
        if ((uint32_t)t == kv_types[i] && tr && tr->quantize_ref && mote__kernels_for((uint32_t)t))
            return t;
    }
    mote__err(err, t < 0 ? MOTE_ERR_INVALID_ARG : MOTE_ERR_UNSUPPORTED,
              "KV cache type '%s' is not one this build offers (f32, f16, bf16, q8_0, q5_1, q5_0, "
              "q4_1, q4_0, iq4_nl)",
              name);
    return -1;
}

/* Bytes of one stored row of kv_dim values, or 0 when kv_dim is not a
 * whole number of blocks. */
static uint64_t row_bytes_of(uint32_t type, size_t kv_dim) {
    uint64_t rb = 0;
    return mote__type_row_bytes(type, (uint64_t)kv_dim, &rb) ? rb : 0;
}

uint64_t mote__kv_bytes_for(const mote_hparams *hp, uint32_t type, int32_t n_ctx) {
    uint64_t rb = row_bytes_of(type, (size_t)hp->n_head_kv * (size_t)hp->head_dim), total = 0;
    if (!rb || !mote__mul_u64(rb, 2u * (uint64_t)hp->n_layer * (uint64_t)n_ctx, &total)) return 0;
    return total;
}

uint64_t mote__kv_bytes(const mote_kv_cache *kv) {
    return 2u * (uint64_t)kv->n_layer * (uint64_t)kv->n_ctx * (uint64_t)kv->row_bytes;
}

mote_status mote__kv_init(mote_kv_cache *kv, const mote_hparams *hp, uint32_t type,
                          int32_t n_ctx, int32_t n_batch, int32_t n_threads, mote_error *err) {
    memset(kv, 0, sizeof *kv);
    kv->type = type;
    kv->tr = mote__type_traits(type);
    kv->kt = mote__kernels_for(type);
    if (!kv->tr || !kv->kt || !kv->tr->quantize_ref)
        return mote__err(err, MOTE_ERR_UNSUPPORTED, "KV cache type %s has no kernels in this build",
                         mote__type_name(type));
    kv->n_layer = hp->n_layer;
    kv->n_ctx = n_ctx;
    kv->n_batch = n_batch;
    kv->n_threads = n_threads;
    kv->head_dim = hp->head_dim;
    kv->kv_dim = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    kv->block = kv->tr->block_size;
    kv->row_bytes = (size_t)row_bytes_of(type, kv->kv_dim);
    if (!kv->row_bytes)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "KV cache type %s stores blocks of %lld values, but a cache row holds %zu "
                         "(%d KV heads x head size %d), not a multiple of it: use f32, f16 or bf16",
                         kv->tr->name, (long long)kv->block, kv->kv_dim, (int)hp->n_head_kv,
                         (int)hp->head_dim);
    kv->per_head = hp->head_dim % kv->block == 0;

    /* In huge pages where the OS gives them (mote__malloc_huge): attention
     * streams every stored position's row once a token, as the matrix
     * products stream the weights. */
    size_t cache = (size_t)hp->n_layer * (size_t)n_ctx * kv->row_bytes; /* bounded by the caller */
    /* Both halves are written below (zeroed, and so in memory at once): a
     * cache larger than the machine's memory would be killed part way
     * through, not refused. */
    const uint64_t mem = mote__phys_mem_bytes();
    if (mem && 2.0 * (double)cache > (double)mem)
        return mote__err(err, MOTE_ERR_NOMEM,
                         "the KV cache (%s, %d positions) needs %.1f GiB, more than this machine's %.1f GiB "
                         "of memory: use a shorter context or a smaller cache type",
                         kv->tr->name, (int)n_ctx, 2.0 * (double)cache / 1073741824.0,
                         (double)mem / 1073741824.0);
    kv->k = mote__malloc_huge(cache ? cache : 1);
    kv->v = mote__malloc_huge(cache ? cache : 1);
    if (kv->k) memset(kv->k, 0, cache);
    if (kv->v) memset(kv->v, 0, cache);
    bool ok = kv->k && kv->v;
    if (type != MOTE_TYPE_F32) {
        size_t stage = (size_t)n_batch * kv->kv_dim;
        kv->k_stage = mote__calloc(stage, sizeof(float));
        kv->v_stage = mote__calloc(stage, sizeof(float));
        ok = ok && kv->k_stage && kv->v_stage;
        /* Per thread: the query as the type's vec_dot_type (per-head path). */
        if (kv->per_head && kv->kt->quantize_act)
            kv->act_bytes = (size_t)((row_bytes_of(kv->kt->vec_dot_type, (size_t)hp->head_dim) + 63u) &
                                     ~(uint64_t)63u);
        kv->scratch_stride = kv->act_bytes ? kv->act_bytes : 64;
        kv->scratch = mote__malloc_aligned((size_t)n_threads * kv->scratch_stride, 64);
        /* The layer's rows as f32 (V always; K when heads sit inside
         * blocks): one layer's worth, reused by every layer. */
        size_t win = (size_t)n_ctx * kv->kv_dim;
        kv->win_v = mote__malloc(win * sizeof(float));
        if (!kv->per_head) kv->win_k = mote__malloc(win * sizeof(float));
        ok = ok && kv->scratch && kv->win_v && (kv->per_head || kv->win_k);
    }
    if (!ok) {
        mote__kv_free(kv);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory allocating a %s KV cache of %.1f MiB",
                         mote__type_name(type), 2.0 * (double)cache / 1048576.0);
    }
    return MOTE_OK;
}

void mote__kv_free(mote_kv_cache *kv) {
    if (!kv) return;
    mote__free_aligned(kv->k);
    mote__free_aligned(kv->v);
    mote__free(kv->k_stage);
    mote__free(kv->v_stage);
    mote__free_aligned(kv->scratch);
    mote__free(kv->win_k);
    mote__free(kv->win_v);
    kv->k = kv->v = kv->scratch = NULL;
    kv->win_k = kv->win_v = NULL;
    kv->k_stage = kv->v_stage = NULL;
}

/* Row pos of layer l in a cache array. */
static inline uint8_t *cache_row(const mote_kv_cache *kv, uint8_t *base, int32_t l, int32_t pos) {
    return base + ((size_t)l * (size_t)kv->n_ctx + (size_t)pos) * kv->row_bytes;
}

float *mote__kv_k_rows(const mote_kv_cache *kv, int32_t l, int32_t pos0) {
    return kv->k_stage ? kv->k_stage : (float *)(void *)cache_row(kv, kv->k, l, pos0);
}

float *mote__kv_v_rows(const mote_kv_cache *kv, int32_t l, int32_t pos0) {
    return kv->v_stage ? kv->v_stage : (float *)(void *)cache_row(kv, kv->v, l, pos0);
}

/* Row pos of layer l, as stored, into the f32 windows. */
static void window_row(mote_kv_cache *kv, int32_t l, int32_t pos) {
    const int64_t n = (int64_t)kv->kv_dim;
    kv->kt->dequantize(cache_row(kv, kv->v, l, pos), kv->win_v + (size_t)pos * kv->kv_dim, n);
    if (kv->win_k)
        kv->kt->dequantize(cache_row(kv, kv->k, l, pos), kv->win_k + (size_t)pos * kv->kv_dim, n);
}

void mote__kv_store(mote_kv_cache *kv, int32_t l, int32_t pos0, int64_t t0, int64_t t1, int ith,
                    int nth) {
    if (!kv->k_stage) return;
    for (int64_t t = t0; t < t1; t++) {
        int32_t pos = pos0 + (int32_t)t;
        kv->tr->quantize_ref(kv->k_stage + (size_t)t * kv->kv_dim, cache_row(kv, kv->k, l, pos),
                             (int64_t)kv->kv_dim);
        kv->tr->quantize_ref(kv->v_stage + (size_t)t * kv->kv_dim, cache_row(kv, kv->v, l, pos),
                             (int64_t)kv->kv_dim);
        window_row(kv, l, pos);
    }
    /* The rows of earlier batches, split over the threads. */
    int64_t r0 = (int64_t)pos0 * ith / nth, r1 = (int64_t)pos0 * (ith + 1) / nth;
    for (int64_t pos = r0; pos < r1; pos++) window_row(kv, l, (int32_t)pos);
}

/* ---- attention ---- */

/* att[i * att_stride + t] = q_i . k_t for the n_q query rows q
 * (hd apart) and the n f32 key rows k (rb bytes apart): one matrix product
 * with the keys as weight rows (mote__matmul_rows), so each key row is read
 * once for the whole group of query heads — and, from 4 heads on, through
 * the f32 gemm kernel where the table has one (each element the same
 * operations wherever it lies in the call, kernels.h). One head goes
 * through the gemv kernel, as vec_dot bit for bit. */
static void scores_f32(int32_t hd, const float *k, size_t rb, int32_t n, const float *q, int32_t n_q,
                       float *att, size_t att_stride) {
    const mote_matrix keys = {.data = k, .type = MOTE_TYPE_F32, .n_cols = hd, .n_rows = n, .row_bytes = rb};
    mote__matmul_rows(&keys, q, (size_t)hd * sizeof(float), n_q, att, att_stride, 0, n);
}

/* Attention of the n_q query rows qh over the n positions t0 .. t0+n-1
 * of layer l (mote__kv_attend, mote__kv_attend_part, mote__kv_attend_block):
 * out rows = softmax over those positions @ their values; stats (may be
 * NULL) receives each row's largest raw score and the softmax's sum. The
 * rows are n_q / per_tok tokens of per_tok heads at consecutive
 * positions, the last at t0 + n - 1: a row of the token d before the last
 * attends to the first n - d positions only (its scores beyond are set to
 * 0, so the value sum adds exact zeros: the bytes of a call with n - d). */
static void attend_range(mote_kv_cache *kv, int ith, int32_t l, const float *qh, int32_t n_q,
                         int32_t per_tok, size_t kv_off, int32_t t0, int32_t n, float att_scale,
                         float *att, size_t att_stride, float *out, float *stats) {
    const int32_t hd = kv->head_dim;
    const uint8_t *kl = cache_row(kv, kv->k, l, t0), *vl = cache_row(kv, kv->v, l, t0);
    const size_t rb = kv->row_bytes, win_rb = kv->kv_dim * sizeof(float);
    const size_t win_off = (size_t)t0 * kv->kv_dim + kv_off; /* position t0 in the window */
    /* the value rows as f32: the cache's own, or the window */
    const bool f32 = kv->type == MOTE_TYPE_F32;
    const float *vf = f32 ? (const float *)(const void *)vl + kv_off : kv->win_v + win_off;
    const size_t v_rb = f32 ? rb : win_rb;

    if (f32) {
        scores_f32(hd, (const float *)(const void *)kl + kv_off, rb, n, qh, n_q, att, att_stride);
    } else if (kv->per_head) {
        /* The head covers whole blocks: its bytes start at block kv_off/B;
         * each query goes to the type's activation type once. */
        uint8_t *qa = kv->scratch + (size_t)ith * kv->scratch_stride;
        const mote_kernel_table *kt = kv->kt;
        const size_t off = (size_t)(kv_off / (size_t)kv->block) * kv->tr->type_size;
        for (int32_t i = 0; i < n_q; i++) {
            const float *qi = qh + (size_t)i * hd;
            const void *q = qi;
            if (kt->quantize_act) {
                kt->quantize_act(qi, qa, hd);
                q = qa;
            }
            float *ai = att + (size_t)i * att_stride;
            for (int32_t t = 0; t < n; t++) ai[t] = kt->vec_dot(hd, kl + (size_t)t * rb + off, q);
        }
    } else {
        /* The head lies inside blocks shared with other heads: the f32
         * window (mote__kv_store dequantized the layer's rows). */
        scores_f32(hd, kv->win_k + win_off, win_rb, n, qh, n_q, att, att_stride);
    }
    /* the scale goes in with the softmax (one pass less over the scores) */
    const int32_t last_tok = n_q / per_tok - 1;
    for (int32_t i = 0; i < n_q; i++) {
        float *ai = att + (size_t)i * att_stride, mx;
        const int32_t d = last_tok - i / per_tok; /* tokens before the last */
        const double sum = mote__softmax(ai, n - d, att_scale, &mx);
        if (d) memset(ai + (n - d), 0, (size_t)d * sizeof(float));
        if (stats) stats[2 * i] = mx, stats[2 * i + 1] = (float)sum;
    }
    memset(out, 0, (size_t)n_q * (size_t)hd * sizeof(float));
    mote__gemv_t_f32(hd, vf, v_rb, n, n_q, att, att_stride, out, (size_t)hd);
}

void mote__kv_attend(mote_kv_cache *kv, int ith, int32_t l, const float *qh, int32_t n_q,
                     size_t kv_off, int32_t pos, float att_scale, float *att, size_t att_stride,
                     float *out) {
    attend_range(kv, ith, l, qh, n_q, n_q, kv_off, 0, pos + 1, att_scale, att, att_stride, out, NULL);
}

void mote__kv_attend_block(mote_kv_cache *kv, int ith, int32_t l, const float *q, size_t q_stride,
                           int32_t n_tok, int32_t n_q, size_t kv_off, int32_t pos, float att_scale,
                           float *att, size_t att_stride, float *scratch, float *out, size_t out_stride) {
    const size_t row = (size_t)n_q * (size_t)kv->head_dim; /* one token's rows, floats */
    if (n_tok == 1) { /* no copies needed */
        mote__kv_attend(kv, ith, l, q, n_q, kv_off, pos, att_scale, att, att_stride, out);
        return;
    }
    float *qb = scratch, *ob = scratch + (size_t)n_tok * row;
    for (int32_t j = 0; j < n_tok; j++)
        memcpy(qb + (size_t)j * row, q + (size_t)j * q_stride, row * sizeof(float));
    attend_range(kv, ith, l, qb, n_tok * n_q, n_q, kv_off, 0, pos + n_tok, att_scale, att, att_stride, ob,
                 NULL);
    for (int32_t j = 0; j < n_tok; j++)
        memcpy(out + (size_t)j * out_stride, ob + (size_t)j * row, row * sizeof(float));
}

void mote__kv_attend_part(mote_kv_cache *kv, int ith, int32_t l, const float *qh, int32_t n_q,
                          size_t kv_off, int32_t t0, int32_t t1, float att_scale, float *att,
                          size_t att_stride, float *out, float *stats) {
    attend_range(kv, ith, l, qh, n_q, n_q, kv_off, t0, t1 - t0, att_scale, att, att_stride, out, stats);
}

/* One load a 64-byte line of [p, p + bytes), folded into *sum. */
static void read_lines(const uint8_t *p, size_t bytes, uint64_t *sum) {
    for (size_t o = 0; o < bytes; o += 64) {
        uint64_t w;
        memcpy(&w, p + o, sizeof w);
        *sum ^= w;
    }
}

void mote__kv_read_ahead(const mote_kv_cache *kv, int32_t l, int32_t t0, int32_t t1) {
    /* the rows attend_range reads: the stored ones, or the f32 window's
     * (V always for a quantized cache, K too where heads share blocks) */
    const size_t n = (size_t)(t1 - t0), win_rb = kv->kv_dim * sizeof(float);
    const bool f32 = kv->type == MOTE_TYPE_F32, k_stored = f32 || kv->per_head;
    uint64_t sum = 0;
    if (k_stored) read_lines(cache_row(kv, kv->k, l, t0), n * kv->row_bytes, &sum);
    else read_lines((const uint8_t *)(kv->win_k + (size_t)t0 * kv->kv_dim), n * win_rb, &sum);
    if (f32) read_lines(cache_row(kv, kv->v, l, t0), n * kv->row_bytes, &sum);
    else read_lines((const uint8_t *)(kv->win_v + (size_t)t0 * kv->kv_dim), n * win_rb, &sum);
    volatile uint64_t keep = sum; /* the loads are the point: keep them */
    (void)keep;
}

void mote__kv_attend_merge(int32_t n_parts, const float *outs, size_t out_stride, const float *stats,
                           size_t stats_stride, int32_t head_dim, float att_scale, int64_t e0,
                           int64_t e1, float *y) {
    if (n_parts == 1) { /* the whole softmax in one part: its rows as they are */
        memcpy(y + e0, outs + e0, (size_t)(e1 - e0) * sizeof(float));
        return;
    }
    for (int64_t j0 = e0; j0 < e1;) {
        const int64_t h = j0 / head_dim, j1 = (h + 1) * head_dim < e1 ? (h + 1) * head_dim : e1;
        float max = stats[2 * h];
        for (int32_t p = 1; p < n_parts; p++) {
            const float m = stats[(size_t)p * stats_stride + 2 * h];
            max = m > max ? m : max;
        }
        /* part p's weight: its softmax sum, rescaled from its own max to
         * the row's: sum_p * e^((max_p - max) * scale) */
        double total = 0.0;
        for (int32_t p = 0; p < n_parts; p++) {
            const float *st = stats + (size_t)p * stats_stride + 2 * h;
            const float w = st[1] * expf((st[0] - max) * att_scale);
            const float *o = outs + (size_t)p * out_stride;
            total += w;
            if (p == 0)
                for (int64_t j = j0; j < j1; j++) y[j] = w * o[j];
            else
                for (int64_t j = j0; j < j1; j++) y[j] += w * o[j];
        }
        const float inv = (float)(1.0 / total);
        for (int64_t j = j0; j < j1; j++) y[j] *= inv;
        j0 = j1;
    }
}
