/* gemm_neon.c — aarch64 gemm kernels (kernels.h, mote_gemm_fn) for prompt
 * batches of the 32-element block types q4_0, q5_0 and q8_0 against q8_0
 * activations, with the dot-product extension (SDOT by element).
 *
 * Not here: float weights (they take the per-row vec_dot_4 path on
 * aarch64), the matrix-vector kernels of generation (quant_neon.c), the
 * choice of gemm over the per-row path (matmul.c), the reference (gemm.c),
 * threads.
 *
 * How (as x86/gemm_avx2.c, with NEON's signed dot product): rows of W are
 * packed, a chunk at a time, into panels of 4 rows; per 32-element block, 8
 * vectors of 16 signed bytes, vector j holding quants 4j..4j+3 of each of
 * the 4 rows (row i in 32-bit lane i), then the 4 row scales as f32. For a
 * token, SDOT by element multiplies vector j by the token's 4 activation
 * quants 4j..4j+3 (one 32-bit lane of a 16-byte load of the block) and adds
 * each row's 4 products into its lane: after 8 steps every lane holds the
 * exact integer dot of its row's block. Then acc += float(dot) * (d_w *
 * d_a), one FMA per block, d_a the f32 scale of the activation extras
 * (gemm.c). A register tile is 2 panels (8 rows) x 4 tokens.
 *
 * Numerics: each output element is accumulated in its own lane, in block
 * order, from zero, whatever its place in the call; a K block boundary
 * stores and reloads the exact f32 sum. Results do not depend on how rows
 * are split over calls (tests/test_gemm.c).
 *
 * Buffers are on the stack (about 40 KiB): no allocation. Built with
 * -march=armv8.2-a+dotprod+fp16; only called after the HWCAP check. The
 * file compiles to nothing off aarch64.
 */
#if defined(__aarch64__)
#include "../simd.h"
#include <arm_neon.h>
#include <string.h>

enum qkind { QK_Q4_0, QK_Q5_0, QK_Q8_0 };

#define PANEL_ROWS 4
#define PANEL_BLOCK_BYTES 144 /* 8 x 16 quants, 4 f32 scales */
#define T_P 2                 /* panels per register tile */
#define T_NR 4                /* tokens per register tile */
#define Q_MC 64               /* weight rows packed at once */
#define Q_KB 32               /* blocks packed at once: 16 panels x 32 x 144 = 72 KiB */
#define Q_TC 128              /* tokens per pass over a packed chunk */

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static inline size_t block_bytes(enum qkind k) {
    return k == QK_Q4_0 ? sizeof(mote_block_q4_0)
                        : k == QK_Q5_0 ? sizeof(mote_block_q5_0) : sizeof(mote_block_q8_0);
}

static inline float f16_at(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

/* The block's 32 quants as signed values (q - offset), in element order. */
static void decode_signed(enum qkind k, const uint8_t *b, int8_t q[32]) {
    switch (k) {
    case QK_Q4_0: {
        const uint8_t *qs = b + offsetof(mote_block_q4_0, qs);
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)((qs[j] & 0x0f) - 8);
            q[j + 16] = (int8_t)((qs[j] >> 4) - 8);
        }
        break;
    }
    case QK_Q5_0: {
        const uint8_t *qs = b + offsetof(mote_block_q5_0, qs);
        uint32_t qh;
        memcpy(&qh, b + offsetof(mote_block_q5_0, qh), 4);
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)(((qs[j] & 0x0f) | ((qh >> j & 1u) << 4)) - 16);
            q[j + 16] = (int8_t)(((qs[j] >> 4) | ((qh >> (j + 16) & 1u) << 4)) - 16);
        }
        break;
    }
    default: memcpy(q, b + offsetof(mote_block_q8_0, qs), 32); break;
    }
}

/* Pack rows [0, rows) (rows <= 4) of w, blocks [b0, b0 + nbb), into nbb
 * panel blocks at dst. Missing rows get zero quants and scale. */
static void pack_w(enum qkind k, const uint8_t *w, size_t w_stride, int64_t rows, int64_t b0,
                   int64_t nbb, uint8_t *dst) {
    const size_t bs = block_bytes(k);
    for (int64_t b = 0; b < nbb; b++) {
        uint8_t *o = dst + (size_t)b * PANEL_BLOCK_BYTES;
        float d[PANEL_ROWS];
        for (int i = 0; i < PANEL_ROWS; i++) {
            int8_t q[32] = {0};
            d[i] = 0.0f;
            if (i < rows) {
                const uint8_t *blk = w + (size_t)i * w_stride + (size_t)(b0 + b) * bs;
                decode_signed(k, blk, q);
                d[i] = f16_at(blk);
            }
            for (int j = 0; j < 8; j++) memcpy(o + 16 * j + 4 * i, q + 4 * j, 4);
        }
        memcpy(o + 128, d, sizeof d);
    }
}

/* The (4 * np) x nr tile over blocks [b0, b0 + nbb) of the packed panels at
 * wp (panel p at wp + p * panel_step) and tokens t0.. of act:
 * c[t * ldc + 4p + i] (+)= row (4p + i) . token t. */
static inline __attribute__((always_inline)) void
ukr(const int np, const int nr, const uint8_t *wp, size_t panel_step, const uint8_t *act,
    size_t act_stride, size_t ext, int64_t t0, int64_t b0, int64_t nbb, float *c, size_t ldc,
    bool load) {
    float32x4_t acc[T_P][T_NR];
    const uint8_t *aq[T_NR];
    const float *ad[T_NR];
#pragma GCC unroll 4
    for (int t = 0; t < nr; t++) {
        const uint8_t *row = act + (size_t)(t0 + t) * act_stride;
        aq[t] = row + (size_t)b0 * sizeof(mote_block_q8_0) + offsetof(mote_block_q8_0, qs);
        ad[t] = (const float *)(const void *)(row + ext) + b0;
#pragma GCC unroll 2
        for (int p = 0; p < np; p++)
            acc[p][t] = load ? vld1q_f32(c + t * ldc + 4 * p) : vdupq_n_f32(0.0f);
    }
    for (int64_t b = 0; b < nbb; b++) {
        const uint8_t *wb = wp + (size_t)b * PANEL_BLOCK_BYTES;
        int8x16_t lo[T_NR], hi[T_NR];
        int32x4_t s[T_P][T_NR];
#pragma GCC unroll 4
        for (int t = 0; t < nr; t++) {
            lo[t] = vld1q_s8((const int8_t *)(aq[t] + (size_t)b * sizeof(mote_block_q8_0)));
            hi[t] = vld1q_s8((const int8_t *)(aq[t] + (size_t)b * sizeof(mote_block_q8_0) + 16));
#pragma GCC unroll 2
            for (int p = 0; p < np; p++) s[p][t] = vdupq_n_s32(0);
        }
        /* step j: quants 4j..4j+3 of the 4 rows against lane j % 4 of the
         * token's low (j < 4) or high 16 bytes; lanes must be literals */
#define STEP(J, A, LANE)                                                                       \
    do {                                                                                       \
        int8x16_t wv[T_P];                                                                     \
        _Pragma("GCC unroll 2") for (int p = 0; p < np; p++)                                   \
            wv[p] = vld1q_s8((const int8_t *)(wb + p * panel_step + 16 * (J)));                \
        _Pragma("GCC unroll 4") for (int t = 0; t < nr; t++)                                   \
            _Pragma("GCC unroll 2") for (int p = 0; p < np; p++)                               \
                s[p][t] = vdotq_laneq_s32(s[p][t], wv[p], A[t], LANE);                         \
    } while (0)
        STEP(0, lo, 0);
        STEP(1, lo, 1);
        STEP(2, lo, 2);
        STEP(3, lo, 3);
        STEP(4, hi, 0);
        STEP(5, hi, 1);
        STEP(6, hi, 2);
        STEP(7, hi, 3);
#undef STEP
#pragma GCC unroll 4
        for (int t = 0; t < nr; t++) {
            const float da = ad[t][b];
#pragma GCC unroll 2
            for (int p = 0; p < np; p++) {
                const float32x4_t scale =
                    vmulq_n_f32(vld1q_f32((const float *)(const void *)(wb + p * panel_step + 128)), da);
                acc[p][t] = vfmaq_f32(acc[p][t], vcvtq_f32_s32(s[p][t]), scale);
            }
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < nr; t++)
#pragma GCC unroll 2
        for (int p = 0; p < np; p++) vst1q_f32(c + t * ldc + 4 * p, acc[p][t]);
}

static void ukr_n(int np, int nr, const uint8_t *wp, size_t panel_step, const uint8_t *act,
                  size_t act_stride, size_t ext, int64_t t0, int64_t b0, int64_t nbb, float *c,
                  size_t ldc, bool load) {
#define CASE(NP, NR)                                                                          \
    case (NP) * 8 + (NR):                                                                     \
        ukr(NP, NR, wp, panel_step, act, act_stride, ext, t0, b0, nbb, c, ldc, load);         \
        break;
    switch (np * 8 + nr) {
        CASE(1, 1) CASE(1, 2) CASE(1, 3) CASE(1, 4)
        CASE(2, 1) CASE(2, 2) CASE(2, 3) CASE(2, 4)
    default: break;
    }
#undef CASE
}

/* Loops, outside in: chunks of Q_MC weight rows; K blocks of Q_KB blocks
 * (the chunk's panels packed once per block); chunks of Q_TC tokens; pairs
 * of panels; groups of T_NR tokens. */
static void gemm_q(const mote_gemm_args *a, enum qkind kind) {
    _Static_assert(Q_MC % (PANEL_ROWS * T_P) == 0, "whole tiles per chunk");
    uint8_t wbuf[(Q_MC / PANEL_ROWS) * Q_KB * PANEL_BLOCK_BYTES] __attribute__((aligned(64)));
    float tile[T_NR * PANEL_ROWS * T_P];
    const int64_t nb = a->n_cols / 32;
    const size_t ext = mote__q8_act_extras_offset(a->n_cols);
    const uint8_t *w = a->w, *act = a->act;
    for (int64_t r0 = 0; r0 < a->n_rows; r0 += Q_MC) {
        const int64_t m_rows = min64(Q_MC, a->n_rows - r0);
        const int64_t n_panels = (m_rows + PANEL_ROWS - 1) / PANEL_ROWS;
        for (int64_t b0 = 0; b0 < nb; b0 += Q_KB) {
            const int64_t nbb = min64(Q_KB, nb - b0);
            const size_t panel_step = (size_t)nbb * PANEL_BLOCK_BYTES;
            const bool load = b0 > 0;
            for (int64_t p = 0; p < n_panels; p++)
                pack_w(kind, w + (size_t)(r0 + PANEL_ROWS * p) * a->w_stride, a->w_stride,
                       min64(PANEL_ROWS, m_rows - PANEL_ROWS * p), b0, nbb, wbuf + p * panel_step);
            for (int64_t tc0 = 0; tc0 < a->n_tok; tc0 += Q_TC) {
                const int64_t tc1 = min64(a->n_tok, tc0 + Q_TC);
                for (int64_t p = 0; p < n_panels; p += T_P) {
                    const int np = (int)min64(T_P, n_panels - p);
                    const int64_t p_rows = min64(PANEL_ROWS * np, m_rows - PANEL_ROWS * p);
                    const uint8_t *wp = wbuf + p * panel_step;
                    for (int64_t t0 = tc0; t0 < tc1; t0 += T_NR) {
                        const int nr = (int)min64(T_NR, tc1 - t0);
                        float *c = a->y + (size_t)t0 * a->y_stride + r0 + PANEL_ROWS * p;
                        if (p_rows == PANEL_ROWS * np) {
                            ukr_n(np, nr, wp, panel_step, act, a->act_stride, ext, t0, b0, nbb, c,
                                  a->y_stride, load);
                            continue;
                        }
                        /* edge panel: through a full tile */
                        const size_t ldc = (size_t)(PANEL_ROWS * np);
                        memset(tile, 0, sizeof tile);
                        if (load)
                            for (int t = 0; t < nr; t++)
                                memcpy(tile + t * ldc, c + t * a->y_stride,
                                       (size_t)p_rows * sizeof(float));
                        ukr_n(np, nr, wp, panel_step, act, a->act_stride, ext, t0, b0, nbb, tile,
                              ldc, load);
                        for (int t = 0; t < nr; t++)
                            memcpy(c + t * a->y_stride, tile + t * ldc,
                                   (size_t)p_rows * sizeof(float));
                    }
                }
            }
        }
    }
}

static void gemm_q4_0(const mote_gemm_args *a) { gemm_q(a, QK_Q4_0); }
static void gemm_q5_0(const mote_gemm_args *a) { gemm_q(a, QK_Q5_0); }
static void gemm_q8_0(const mote_gemm_args *a) { gemm_q(a, QK_Q8_0); }

void mote__kernels_fill_neon_gemm(mote_kernel_table *t) {
    t[MOTE_TYPE_Q4_0].gemm = gemm_q4_0;
    t[MOTE_TYPE_Q5_0].gemm = gemm_q5_0;
    t[MOTE_TYPE_Q8_0].gemm = gemm_q8_0;
}

#endif /* __aarch64__ */
