/* matmul.c — the batched matrix product of prompt processing:
 *   Y (n_tok, n_rows) = X (n_tok, n_cols) @ W (n_rows, n_cols)^T
 * over any weight type with kernels, in three steps the caller sequences
 * (so that it can split each one over threads with a barrier between):
 *   1. mote__matmul_quantize: convert the activation rows to the weight
 *      type's vec_dot_type once (rows split over threads);
 *   2. mote__matmul_chunk_rows: how many weight rows make one unit of work;
 *   3. mote__matmul_rows: the products for a range of weight rows and every
 *      token. With GEMM_MIN_TOK tokens or more and a gemm kernel for the
 *      type (kernels.h; x86/gemm_avx2.c, arm/gemm_neon.c), that kernel:
 *      packed weight panels and register tiles of rows x tokens. Otherwise
 *      cache-blocked per row: the weight rows of the range form a tile
 *      sized to stay in L2 while it is reused for every group of 4 tokens,
 *      whose activation rows stay in L1; vec_dot_4 (one weight row against
 *      4 activation rows) where the CPU has it, vec_dot for the tokens left
 *      over after the groups of 4.
 * Each element Y[t][r] is computed with the same operations whatever range
 * or thread computes it (the gemm kernels promise it for any split; on the
 * per-row path, vec_dot_4 when t lies in a whole group of 4 counted from
 * token 0 and vec_dot otherwise): results do not depend on how the rows
 * are split over threads. With n_tok = 1 this is the matrix-vector product
 * of mote__matvec (same quantization, same vec_dot).
 *
 * For one token, also the prepared path (mote__matmul_prepare,
 * mote__matmul_rows_prepared): the activation laid out once for the gemv
 * kernel and reused by every row range a thread takes of the matrices that
 * share it, and where a waiting thread should read ahead of its next range
 * (mote__matmul_read_ahead).
 *
 * Not here: threads (the caller splits; src/core/threadpool.c runs), the
 * kernels themselves (the per-type table of dispatch.c), allocation.
 */
#include "kernels.h"

/* Bytes of weight rows one tile may hold: they are re-read for every group
 * of 4 tokens, so they should stay in L2 (256 KiB and up on the CPUs mote
 * targets) next to the activation rows and the output. */
#define WEIGHT_TILE_BYTES (128u * 1024u)

/* Batches of at least this many tokens go to the type's gemm kernel (when
 * it has one): below it, packing a weight tile costs more than it saves. */
#define GEMM_MIN_TOK 4

/* Weight rows per unit of work on the gemm path: whole register panels (16
 * rows, two of 8), at most GEMM_MAX_CHUNK (the packed tile must stay in
 * L2 while every token passes over it). */
#define GEMM_ROW_ALIGN 16
#define GEMM_MAX_CHUNK 128

static bool use_gemm(const mote_kernel_table *k, int64_t n_tok) {
    return k && k->gemm && n_tok >= GEMM_MIN_TOK;
}

size_t mote__matmul_act_stride(uint32_t type, int64_t n_cols) {
    const mote_kernel_table *k = mote__kernels_for(type);
    if (!k || !k->quantize_act || n_cols <= 0) return 0;
    uint64_t bytes = 0;
    if (!mote__type_row_bytes(k->vec_dot_type, (uint64_t)n_cols, &bytes)) return 0;
    /* q8_0 rows carry the gemm extras (kernels.h) after their blocks. */
    if (k->vec_dot_type == MOTE_TYPE_Q8_0)
        bytes = mote__q8_act_extras_offset(n_cols) + (uint64_t)(n_cols / 32) * 8u;
    return (size_t)((bytes + 63u) & ~(uint64_t)63u);
}

void mote__matmul_quantize(uint32_t type, const float *x, size_t x_stride, int64_t n_cols,
                           void *act, size_t act_stride, int64_t t0, int64_t t1) {
    const mote_kernel_table *k = mote__kernels_for(type);
    if (!k || !k->quantize_act) return;
    for (int64_t t = t0; t < t1; t++) {
        uint8_t *row = (uint8_t *)act + (size_t)t * act_stride;
        k->quantize_act(x + (size_t)t * x_stride, row, n_cols);
        if (k->vec_dot_type == MOTE_TYPE_Q8_0) mote__q8_act_extras(row, n_cols);
    }
}

int64_t mote__matmul_chunk_rows(const mote_matrix *w, int64_t n_tok, int nth) {
    if (nth < 1) nth = 1;
    /* A few chunks per thread, so that a thread the OS delays does not hold
     * the others up: they take the chunks it has not started. */
    int64_t balanced = (w->n_rows + 4 * (int64_t)nth - 1) / (4 * (int64_t)nth);
    /* One token (the gemv kernels): whole groups of 8 rows, which the
     * row-group kernels take without a slower remainder. */
    if (n_tok <= 1) return balanced < 8 ? 8 : (balanced + 7) / 8 * 8;
    if (use_gemm(mote__kernels_for(w->type), n_tok)) {
        int64_t c = (balanced + GEMM_ROW_ALIGN - 1) / GEMM_ROW_ALIGN * GEMM_ROW_ALIGN;
        return c > GEMM_MAX_CHUNK ? GEMM_MAX_CHUNK : c;
    }
    int64_t tile = (int64_t)(WEIGHT_TILE_BYTES / (w->row_bytes ? w->row_bytes : 1));
    if (tile > balanced) tile = balanced;
    return tile < 4 ? 4 : tile;
}

void mote__matmul_rows(const mote_matrix *w, const void *act, size_t act_stride, int64_t n_tok,
                       float *y, size_t y_stride, int64_t r0, int64_t r1) {
    const mote_kernel_table *k = mote__kernels_for(w->type);
    const int64_t n = w->n_cols;
    const uint8_t *a = act;
    const uint8_t *w0 = (const uint8_t *)w->data + (size_t)r0 * w->row_bytes;
    if (n_tok == 1 && k->gemv && n <= MOTE_GEMV_MAX_COLS) {
        k->gemv(n, w0, w->row_bytes, r1 - r0, act, y + r0);
        return;
    }
    if (use_gemm(k, n_tok)) {
        const mote_gemm_args args = {
            .n_cols = n,
            .w = w0,
            .w_stride = w->row_bytes,
            .n_rows = r1 - r0,
            .act = act,
            .act_stride = act_stride,
            .n_tok = n_tok,
            .y = y + r0,
            .y_stride = y_stride,
        };
        k->gemm(&args);
        return;
    }
    const int64_t n_groups = k->vec_dot_4 ? n_tok / 4 : 0;

    /* Whole groups of 4 tokens: their 4 activation rows stay in L1 while
     * every weight row of the tile passes (from L2) against them. */
    for (int64_t g = 0; g < n_groups; g++) {
        const uint8_t *ag = a + (size_t)(4 * g) * act_stride;
        float *yg = y + (size_t)(4 * g) * y_stride;
        const uint8_t *row = w0;
        for (int64_t r = r0; r < r1; r++, row += w->row_bytes) {
            float out[4];
            k->vec_dot_4(n, row, ag, act_stride, out);
            yg[r] = out[0];
            yg[y_stride + (size_t)r] = out[1];
            yg[2 * y_stride + (size_t)r] = out[2];
            yg[3 * y_stride + (size_t)r] = out[3];
        }
    }
    /* The remaining tokens (all of them without vec_dot_4), one by one. */
    for (int64_t t = 4 * n_groups; t < n_tok; t++) {
        const uint8_t *at = a + (size_t)t * act_stride;
        float *yt = y + (size_t)t * y_stride;
        const uint8_t *row = w0;
        for (int64_t r = r0; r < r1; r++, row += w->row_bytes) yt[r] = k->vec_dot(n, row, at);
    }
}

/* The prepared entries of W's kernel where they apply to it (rows within
 * the gemv's limit), else NULL. */
static const mote_gemv_prep *gemv_prep_of(const mote_matrix *w) {
    const mote_kernel_table *k = mote__kernels_for(w->type);
    if (!k || !k->gemv || !k->gemv_prep || w->n_cols > MOTE_GEMV_MAX_COLS) return NULL;
    return k->gemv_prep;
}

size_t mote__matmul_prep_bytes(const mote_matrix *w) {
    const mote_gemv_prep *p = gemv_prep_of(w);
    return p ? p->bytes(w->n_cols) : 0;
}

void mote__matmul_prepare(const mote_matrix *w, const void *act, void *prep) {
    gemv_prep_of(w)->prepare(w->n_cols, act, prep);
}

void mote__matmul_rows_prepared(const mote_matrix *w, const void *prep, float *y, int64_t r0,
                                int64_t r1) {
    gemv_prep_of(w)->gemv(w->n_cols, (const uint8_t *)w->data + (size_t)r0 * w->row_bytes,
                          w->row_bytes, r1 - r0, prep, y + r0);
}

size_t mote__matmul_lane_chunk(const mote_matrix *w) {
    const mote_gemv_prep *p = gemv_prep_of(w);
    return p ? p->lane_chunk : 0;
}

int mote__matmul_read_ahead(const mote_matrix *w, int64_t r0, int64_t r1,
                            const void *p[MOTE_GEMV_MAX_STREAMS], size_t bytes[MOTE_GEMV_MAX_STREAMS]) {
    const mote_gemv_prep *gp = gemv_prep_of(w);
    if (!gp || gp->read_ahead == 0 || r1 <= r0) return 0;
    int64_t first[MOTE_GEMV_MAX_STREAMS + 1];
    const int n = gp->streams(r1 - r0, w->row_bytes, first);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const int64_t end = first[i + 1];
        if (end <= first[i]) continue; /* an empty stream */
        const size_t len = (size_t)(end - first[i]) * w->row_bytes;
        p[k] = (const uint8_t *)w->data + (size_t)(r0 + first[i]) * w->row_bytes;
        bytes[k++] = len < gp->read_ahead ? len : gp->read_ahead;
    }
    return k;
}
