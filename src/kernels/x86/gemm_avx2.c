/* gemm_avx2.c — x86-64 gemm kernels (kernels.h, mote_gemm_fn) for prompt
 * batches: f32 and f16 weights with AVX2+FMA (and an AVX-512 variant), and
 * the 32-element block types q4_0, q5_0 and q8_0 against q8_0 activations
 * with AVX-VNNI, AVX-512 VNNI or plain AVX2.
 *
 * Not here: the matrix-vector kernels of generation (float_avx2.c,
 * quant_avx2.c), the choice of gemm over the per-row path (matmul.c), the
 * reference (gemm.c), threads (the caller splits rows).
 *
 * How (the usual BLIS structure, with the weights as the packed "A"):
 *   - Rows of W are packed, a chunk at a time, into panels whose vector
 *     lanes are 8 consecutive rows: each SIMD register then holds one value
 *     for 8 output rows, and the activation value it meets is broadcast.
 *     So y[t][r..r+8] is one register and no horizontal sums are needed.
 *   - Float: panels of 16 rows (two registers; 32 rows with AVX-512) of
 *     F_KC elements as f32, transposed; a 16 x 6 (32 x 12) register tile of
 *     accumulators takes an FMA per weight register and token per element.
 *     f16 weights and activations are converted once, when packed.
 *   - Integers: panels of 8 rows; per 32-element block, 8 registers of
 *     (4 consecutive quants of each of the 8 rows) as unsigned bytes
 *     q + offset (q4_0: the nibble itself; q5_0: the 5-bit value; q8_0:
 *     q + 128), and the 8 row scales as f32. For each token 4 activation
 *     bytes are broadcast and VPDPBUSD adds the 4 products into each row's
 *     int32 lane; the lane starts at -offset * sum(a) (the extras of the
 *     activation row, gemm.c), so it ends at the exact integer dot. Then
 *     acc += float(dot) * (d_w * d_a), one FMA per block. Without VNNI,
 *     VPMADDUBSW + VPMADDWD do the same when the unsigned operand is at most
 *     31 (q4_0, q5_0: no int16 saturation); q8_0 then has no gemm here.
 *
 * Numerics: every output element is accumulated in its own lane, in order
 * of k (float) or of blocks (integers), from zero; a tile edge only pads
 * lanes or leaves registers unused, and a K block boundary stores and
 * reloads the exact f32 sum. So each element's value does not depend on
 * where it lies in a call, nor on how rows are split over threads. Float
 * sums are sequential f32 FMA chains of n_cols terms (tests/test_gemm.c
 * derives its tolerance from that); integer blocks are exact, as in the
 * reference, whose per-block f32 terms are added in the same order.
 *
 * Buffers are on the stack (about 140 KiB at most): no allocation. Built
 * with -mavx2 -mfma -mf16c; the VNNI and AVX-512 parts are inline assembly
 * or functions with target attributes, called only after the CPUID check.
 */
#if defined(__x86_64__)
#include "../simd.h"
#include "avx2_util.h"
#include <immintrin.h>
#include <stdalign.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni")))

/* ---- helpers ---- */

/* Transpose 8 rows of 8 32-bit values: afterwards v[j] holds element j of
 * each input row, row i in lane i. */
ALWAYS_INLINE void transpose8(__m256 v[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    const __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
    const __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    v[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    v[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    v[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    v[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    v[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    v[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    v[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    v[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Ask for bytes [0, n) at p to come into L2 (weights still in DRAM are
 * fetched while the previous block is computed, instead of on first use). */
static inline void prefetch_l2(const uint8_t *p, size_t n) {
    for (size_t o = 0; o < n; o += 64) _mm_prefetch((const char *)(p + o), _MM_HINT_T1);
}

/* ==== float weights (f32, f16) ==== */

#define F_NR 6      /* tokens per AVX2 register tile (16 x 6: 12 accumulators) */
#define F_NR512 12  /* tokens per AVX-512 register tile (32 x 12: 24) */
#define F_KC 256    /* elements per K block (AVX2: a 16 KiB panel in L1) */
#define F_KC512 128 /* elements per K block (AVX-512: a 16 KiB panel in L1) */
#define F_MC 128    /* weight rows packed at once: 128 KiB of f32 */
#define F_TC 48     /* tokens packed at once: 48 KiB of f32 */

/* 8 elements from k of a row of f32 or f16, as f32. */
ALWAYS_INLINE __m256 load8(const uint8_t *row, int64_t k, bool f16) {
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * k)));
    return _mm256_loadu_ps((const float *)(row + 4 * k));
}
ALWAYS_INLINE float load1(const uint8_t *row, int64_t k, bool f16) {
    if (f16) return load_f16(row + 2 * k);
    float v;
    memcpy(&v, row + 4 * k, 4);
    return v;
}

/* Pack rows [0, rows) of w (rows <= mr, rows w_stride bytes apart),
 * elements [k0, k0 + kc), as f32 into dst[k * mr + i]; rows past `rows`
 * are zero. mr: 16 or 32. */
static void pack_w_float(bool f16, int mr, const uint8_t *w, size_t w_stride, int64_t rows,
                         int64_t k0, int64_t kc, float *dst) {
    for (int g = 0; g < mr; g += 8) {
        const int64_t n_valid = rows - g;
        if (n_valid >= 8) {
            const uint8_t *rp[8];
            for (int i = 0; i < 8; i++) rp[i] = w + (size_t)(g + i) * w_stride;
            int64_t k = 0;
            for (; k + 8 <= kc; k += 8) {
                __m256 v[8];
                for (int i = 0; i < 8; i++) v[i] = load8(rp[i], k0 + k, f16);
                transpose8(v);
                for (int j = 0; j < 8; j++) _mm256_store_ps(dst + (k + j) * mr + g, v[j]);
            }
            for (; k < kc; k++)
                for (int i = 0; i < 8; i++) dst[k * mr + g + i] = load1(rp[i], k0 + k, f16);
        } else {
            /* a short group (the edge of the rows): the same transposes,
             * the missing rows as zero vectors */
            const int nv = n_valid > 0 ? (int)n_valid : 0;
            int64_t k = 0;
            for (; k + 8 <= kc; k += 8) {
                __m256 v[8];
                for (int i = 0; i < 8; i++)
                    v[i] = i < nv ? load8(w + (size_t)(g + i) * w_stride, k0 + k, f16)
                                  : _mm256_setzero_ps();
                transpose8(v);
                for (int j = 0; j < 8; j++) _mm256_store_ps(dst + (k + j) * mr + g, v[j]);
            }
            for (; k < kc; k++)
                for (int i = 0; i < 8; i++)
                    dst[k * mr + g + i] =
                        i < nv ? load1(w + (size_t)(g + i) * w_stride, k0 + k, f16) : 0.0f;
        }
    }
}

/* Tokens [0, n) of act (rows stride bytes apart), elements [k0, k0 + kc),
 * as f32 into dst[t * kc + k]. */
static void pack_act_float(bool f16, const uint8_t *act, size_t stride, int64_t n, int64_t k0,
                           int64_t kc, float *dst) {
    const size_t esz = f16 ? 2 : 4;
    for (int64_t t = 0; t < n; t++) {
        const uint8_t *row = act + (size_t)t * stride;
        float *d = dst + t * kc;
        /* rows are kc elements of a long stride apart: too short a run for
         * the hardware prefetcher, so ask for a later row's block now */
        if (t + 4 < n) prefetch_l2(row + 4 * stride + (size_t)k0 * esz, (size_t)kc * esz);
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) _mm256_storeu_ps(d + k, load8(row, k0 + k, f16));
        for (; k < kc; k++) d[k] = load1(row, k0 + k, f16);
    }
}

/* The 16 x nr tile: c[t * ldc + i] (+)= sum_k wp[k * 16 + i] * ap[t * kc + k]
 * for rows i < 16, tokens t < nr. load: start from c, else from zero. */
ALWAYS_INLINE void ukr_float(const int nr, int64_t kc, const float *wp, const float *ap, float *c,
                             size_t ldc, bool load) {
    __m256 c0[F_NR], c1[F_NR];
#pragma GCC unroll 8
    for (int t = 0; t < nr; t++) {
        c0[t] = load ? _mm256_loadu_ps(c + t * ldc) : _mm256_setzero_ps();
        c1[t] = load ? _mm256_loadu_ps(c + t * ldc + 8) : _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m256 w0 = _mm256_load_ps(wp + k * 16), w1 = _mm256_load_ps(wp + k * 16 + 8);
#pragma GCC unroll 8
        for (int t = 0; t < nr; t++) {
            const __m256 a = _mm256_broadcast_ss(ap + t * kc + k);
            c0[t] = _mm256_fmadd_ps(w0, a, c0[t]);
            c1[t] = _mm256_fmadd_ps(w1, a, c1[t]);
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < nr; t++) {
        _mm256_storeu_ps(c + t * ldc, c0[t]);
        _mm256_storeu_ps(c + t * ldc + 8, c1[t]);
    }
}

static void ukr_float_n(int nr, int64_t kc, const float *wp, const float *ap, float *c, size_t ldc,
                        bool load) {
    switch (nr) {
    case 1: ukr_float(1, kc, wp, ap, c, ldc, load); break;
    case 2: ukr_float(2, kc, wp, ap, c, ldc, load); break;
    case 3: ukr_float(3, kc, wp, ap, c, ldc, load); break;
    case 4: ukr_float(4, kc, wp, ap, c, ldc, load); break;
    case 5: ukr_float(5, kc, wp, ap, c, ldc, load); break;
    default: ukr_float(6, kc, wp, ap, c, ldc, load); break;
    }
}

/* The AVX-512 tile: 32 rows (two registers) x nr <= 12 tokens. */
AVX512_TARGET static inline __attribute__((always_inline)) void
ukr_float512(const int nr, int64_t kc, const float *wp, const float *ap, float *c, size_t ldc,
             bool load) {
    __m512 c0[F_NR512], c1[F_NR512];
#pragma GCC unroll 16
    for (int t = 0; t < nr; t++) {
        c0[t] = load ? _mm512_loadu_ps(c + t * ldc) : _mm512_setzero_ps();
        c1[t] = load ? _mm512_loadu_ps(c + t * ldc + 16) : _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m512 w0 = _mm512_load_ps(wp + k * 32), w1 = _mm512_load_ps(wp + k * 32 + 16);
#pragma GCC unroll 16
        for (int t = 0; t < nr; t++) {
            const __m512 a = _mm512_set1_ps(ap[t * kc + k]);
            c0[t] = _mm512_fmadd_ps(w0, a, c0[t]);
            c1[t] = _mm512_fmadd_ps(w1, a, c1[t]);
        }
    }
#pragma GCC unroll 16
    for (int t = 0; t < nr; t++) {
        _mm512_storeu_ps(c + t * ldc, c0[t]);
        _mm512_storeu_ps(c + t * ldc + 16, c1[t]);
    }
}

AVX512_TARGET static void ukr_float512_n(int nr, int64_t kc, const float *wp, const float *ap,
                                         float *c, size_t ldc, bool load) {
    switch (nr) {
    case 1: ukr_float512(1, kc, wp, ap, c, ldc, load); break;
    case 2: ukr_float512(2, kc, wp, ap, c, ldc, load); break;
    case 3: ukr_float512(3, kc, wp, ap, c, ldc, load); break;
    case 4: ukr_float512(4, kc, wp, ap, c, ldc, load); break;
    case 5: ukr_float512(5, kc, wp, ap, c, ldc, load); break;
    case 6: ukr_float512(6, kc, wp, ap, c, ldc, load); break;
    case 7: ukr_float512(7, kc, wp, ap, c, ldc, load); break;
    case 8: ukr_float512(8, kc, wp, ap, c, ldc, load); break;
    case 9: ukr_float512(9, kc, wp, ap, c, ldc, load); break;
    case 10: ukr_float512(10, kc, wp, ap, c, ldc, load); break;
    case 11: ukr_float512(11, kc, wp, ap, c, ldc, load); break;
    default: ukr_float512(12, kc, wp, ap, c, ldc, load); break;
    }
}

/* The float gemm. wide: the AVX-512 tile (32 x 12), else AVX2 (16 x 6).
 * Loops, outside in: chunks of F_MC weight rows; K blocks of F_KC (the
 * chunk is packed once per block, in L2); chunks of F_TC tokens (packed
 * once, in L2); panels of mr rows (in L1); groups of nr tokens. */
static void gemm_float(const mote_gemm_args *a, bool f16, bool wide) {
    alignas(64) float wbuf[F_MC * F_KC];
    alignas(64) float abuf[F_TC * F_KC];
    alignas(64) float tile[F_NR512 * 32];
    const int mr = wide ? 32 : 16, nr_max = wide ? F_NR512 : F_NR;
    const int64_t kc_max = wide ? F_KC512 : F_KC;
    const uint8_t *w = a->w, *act = a->act;
    const int64_t n = a->n_cols;
    for (int64_t r0 = 0; r0 < a->n_rows; r0 += F_MC) {
        const int64_t m_rows = min64(F_MC, a->n_rows - r0);
        for (int64_t k0 = 0; k0 < n; k0 += kc_max) {
            const int64_t kc = min64(kc_max, n - k0);
            const bool load = k0 > 0;
            for (int64_t p = 0; p * mr < m_rows; p++)
                pack_w_float(f16, mr, w + (size_t)(r0 + p * mr) * a->w_stride, a->w_stride,
                             min64(mr, m_rows - p * mr), k0, kc, wbuf + p * mr * kc);
            if (k0 + kc < n) /* the next block of these rows, while this one computes */
                for (int64_t r = 0; r < m_rows; r++)
                    prefetch_l2(w + (size_t)(r0 + r) * a->w_stride + (size_t)(k0 + kc) * (f16 ? 2 : 4),
                                (size_t)min64(kc_max, n - k0 - kc) * (f16 ? 2 : 4));
            for (int64_t tc0 = 0; tc0 < a->n_tok; tc0 += F_TC) {
                const int64_t tc = min64(F_TC, a->n_tok - tc0);
                pack_act_float(f16, act + (size_t)tc0 * a->act_stride, a->act_stride, tc, k0, kc,
                               abuf);
                for (int64_t p = 0; p * mr < m_rows; p++) {
                    const int64_t p_rows = min64(mr, m_rows - p * mr);
                    const float *wp = wbuf + p * mr * kc;
                    for (int64_t t0 = 0; t0 < tc; t0 += nr_max) {
                        const int nr = (int)min64(nr_max, tc - t0);
                        float *c = a->y + (size_t)(tc0 + t0) * a->y_stride + r0 + p * mr;
                        float *dst = c;
                        size_t ldc = a->y_stride;
                        if (p_rows < mr) { /* edge panel: through a full tile */
                            dst = tile;
                            ldc = (size_t)mr;
                            memset(tile, 0, sizeof tile);
                            if (load)
                                for (int t = 0; t < nr; t++)
                                    memcpy(tile + t * mr, c + t * a->y_stride,
                                           (size_t)p_rows * sizeof(float));
                        }
                        if (wide)
                            ukr_float512_n(nr, kc, wp, abuf + t0 * kc, dst, ldc, load);
                        else
                            ukr_float_n(nr, kc, wp, abuf + t0 * kc, dst, ldc, load);
                        if (dst == tile)
                            for (int t = 0; t < nr; t++)
                                memcpy(c + t * a->y_stride, tile + t * mr,
                                       (size_t)p_rows * sizeof(float));
                    }
                }
            }
        }
    }
}

static void gemm_f32(const mote_gemm_args *a) { gemm_float(a, false, false); }
static void gemm_f16(const mote_gemm_args *a) { gemm_float(a, true, false); }
static void gemm_f32_512(const mote_gemm_args *a) { gemm_float(a, false, true); }
static void gemm_f16_512(const mote_gemm_args *a) { gemm_float(a, true, true); }

/* ==== 32-element block types against q8_0 activations ==== */

enum qkind { QK_Q4_0, QK_Q5_0, QK_Q8_0 };
enum qmode { QM_AVX2, QM_VNNI, QM_VNNI512 };

#define Q_PANEL_BYTES 288 /* per 8-row panel and block: 8 x 32 quants, 8 f32 scales */
#define Q_P 2             /* panels per register tile */
#define Q_NR 3            /* tokens per register tile, 16 registers */
#define Q_NR512 6         /* tokens per register tile, 32 registers */
#define Q_MC 64           /* weight rows packed at once */
#define Q_KB 32           /* blocks packed at once: Q_MC / 8 * Q_KB * 288 = 72 KiB */
#define Q_TC 128          /* tokens per pass over a packed chunk (their rows stay in L2) */

ALWAYS_INLINE size_t q_block_bytes(enum qkind k) {
    return k == QK_Q4_0 ? sizeof(mote_block_q4_0)
                        : k == QK_Q5_0 ? sizeof(mote_block_q5_0) : sizeof(mote_block_q8_0);
}
/* log2 of the offset added to make the quants unsigned. */
ALWAYS_INLINE int q_shift(enum qkind k) { return k == QK_Q4_0 ? 3 : k == QK_Q5_0 ? 4 : 7; }

/* The block's quants + offset as 32 unsigned bytes in element order. */
ALWAYS_INLINE __m256i decode_unsigned(enum qkind k, const uint8_t *b) {
    switch (k) {
    case QK_Q4_0: return unpack_nibbles(b + offsetof(mote_block_q4_0, qs));
    case QK_Q5_0:
        return _mm256_or_si256(unpack_nibbles(b + offsetof(mote_block_q5_0, qs)),
                               _mm256_and_si256(expand_bits(b + offsetof(mote_block_q5_0, qh)),
                                                _mm256_set1_epi8(0x10)));
    default:
        return _mm256_xor_si256(
            _mm256_loadu_si256((const __m256i *)(b + offsetof(mote_block_q8_0, qs))),
            _mm256_set1_epi8((char)0x80));
    }
}

/* Pack rows [0, rows) (rows <= 8) of w, blocks [b0, b0 + nbb), into nbb
 * panel blocks at dst: 8 vectors (vector j: quants 4j..4j+3 of row i in
 * lane i), then the 8 row scales. Missing rows get zero quants and scale. */
static void pack_w_q(enum qkind k, const uint8_t *w, size_t w_stride, int64_t rows, int64_t b0,
                     int64_t nbb, uint8_t *dst) {
    const size_t bs = q_block_bytes(k);
    for (int64_t b = 0; b < nbb; b++) {
        __m256 v[8];
        alignas(32) float d[8];
        for (int i = 0; i < 8; i++) {
            if (i < rows) {
                const uint8_t *blk = w + (size_t)i * w_stride + (size_t)(b0 + b) * bs;
                v[i] = _mm256_castsi256_ps(decode_unsigned(k, blk));
                d[i] = load_f16(blk);
            } else {
                v[i] = _mm256_setzero_ps();
                d[i] = 0.0f;
            }
        }
        transpose8(v);
        uint8_t *o = dst + (size_t)b * Q_PANEL_BYTES;
        for (int j = 0; j < 8; j++) _mm256_store_ps((float *)(o + 32 * j), v[j]);
        _mm256_store_ps((float *)(o + 256), _mm256_load_ps(d));
    }
}

/* acc + the products of 4-byte groups: unsigned bytes u times signed bytes
 * s, summed in 4s into the 8 int32 lanes. */
ALWAYS_INLINE __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s, enum qmode mode) {
    if (mode == QM_VNNI) {
        __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "x"(s));
        return acc;
    }
    if (mode == QM_VNNI512) {
        __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
        return acc;
    }
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s),
                                                   _mm256_set1_epi16(1)));
}

/* Where token t's data for block b of an activation row lies. */
typedef struct q_act {
    const uint8_t *act; /* row of token 0 */
    size_t stride;
    size_t ext;         /* byte offset of the f32 scales; int32 -sums follow */
    int64_t nb;         /* blocks per row */
} q_act;

/* The (8 * np) x nr tile over blocks [b0, b0 + nbb): np panels at wp
 * (panel p at wp + p * panel_step), tokens t < nr of qa starting at token
 * t0; c[t * ldc + 8p + i] (+)= row (8p + i) . token t. */
ALWAYS_INLINE void ukr_q(const int np, const int nr, const enum qmode mode, int shift,
                         const uint8_t *wp, size_t panel_step, const q_act *qa, int64_t t0,
                         int64_t b0, int64_t nbb, float *c, size_t ldc, bool load) {
    __m256 acc[Q_P][Q_NR512];
    const uint8_t *aq[Q_NR512];
    const float *ad[Q_NR512];
    const int32_t *an[Q_NR512];
#pragma GCC unroll 8
    for (int t = 0; t < nr; t++) {
        const uint8_t *row = qa->act + (size_t)(t0 + t) * qa->stride;
        aq[t] = row + (size_t)b0 * sizeof(mote_block_q8_0) + offsetof(mote_block_q8_0, qs);
        ad[t] = (const float *)(row + qa->ext) + b0;
        an[t] = (const int32_t *)(row + qa->ext) + qa->nb + b0;
#pragma GCC unroll 2
        for (int p = 0; p < np; p++)
            acc[p][t] = load ? _mm256_loadu_ps(c + t * ldc + 8 * p) : _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nbb; b++) {
        const uint8_t *wb = wp + (size_t)b * Q_PANEL_BYTES;
        __m256i s[Q_P][Q_NR512];
#pragma GCC unroll 8
        for (int t = 0; t < nr; t++) {
            const __m256i corr = _mm256_slli_epi32(_mm256_set1_epi32(an[t][b]), shift);
#pragma GCC unroll 2
            for (int p = 0; p < np; p++) s[p][t] = corr;
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m256i wv[Q_P];
#pragma GCC unroll 2
            for (int p = 0; p < np; p++)
                wv[p] = _mm256_load_si256((const __m256i *)(wb + p * panel_step + 32 * j));
#pragma GCC unroll 8
            for (int t = 0; t < nr; t++) {
                int32_t q4;
                memcpy(&q4, aq[t] + (size_t)b * sizeof(mote_block_q8_0) + 4 * j, 4);
                const __m256i av = _mm256_set1_epi32(q4);
#pragma GCC unroll 2
                for (int p = 0; p < np; p++) s[p][t] = dot_u8s8(s[p][t], wv[p], av, mode);
            }
        }
#pragma GCC unroll 8
        for (int t = 0; t < nr; t++) {
            const __m256 da = _mm256_broadcast_ss(ad[t] + b);
#pragma GCC unroll 2
            for (int p = 0; p < np; p++) {
                const __m256 scale =
                    _mm256_mul_ps(_mm256_load_ps((const float *)(wb + p * panel_step + 256)), da);
                acc[p][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[p][t]), scale, acc[p][t]);
            }
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < nr; t++)
#pragma GCC unroll 2
        for (int p = 0; p < np; p++) _mm256_storeu_ps(c + t * ldc + 8 * p, acc[p][t]);
}

typedef void (*ukr_q_fn)(int np, int nr, int shift, const uint8_t *wp, size_t panel_step,
                         const q_act *qa, int64_t t0, int64_t b0, int64_t nbb, float *c,
                         size_t ldc, bool load);

#define UKR_Q_CASE(NP, NR, MODE)                                                            \
    case (NP) * 16 + (NR):                                                                  \
        ukr_q(NP, NR, MODE, shift, wp, panel_step, qa, t0, b0, nbb, c, ldc, load);          \
        break;

static void ukr_q_avx2(int np, int nr, int shift, const uint8_t *wp, size_t panel_step,
                       const q_act *qa, int64_t t0, int64_t b0, int64_t nbb, float *c, size_t ldc,
                       bool load) {
    switch (np * 16 + nr) {
        UKR_Q_CASE(1, 1, QM_AVX2) UKR_Q_CASE(1, 2, QM_AVX2) UKR_Q_CASE(1, 3, QM_AVX2)
        UKR_Q_CASE(2, 1, QM_AVX2) UKR_Q_CASE(2, 2, QM_AVX2) UKR_Q_CASE(2, 3, QM_AVX2)
    default: break;
    }
}

static void ukr_q_vnni(int np, int nr, int shift, const uint8_t *wp, size_t panel_step,
                       const q_act *qa, int64_t t0, int64_t b0, int64_t nbb, float *c, size_t ldc,
                       bool load) {
    switch (np * 16 + nr) {
        UKR_Q_CASE(1, 1, QM_VNNI) UKR_Q_CASE(1, 2, QM_VNNI) UKR_Q_CASE(1, 3, QM_VNNI)
        UKR_Q_CASE(2, 1, QM_VNNI) UKR_Q_CASE(2, 2, QM_VNNI) UKR_Q_CASE(2, 3, QM_VNNI)
    default: break;
    }
}

AVX512_TARGET static void ukr_q_vnni512(int np, int nr, int shift, const uint8_t *wp,
                                        size_t panel_step, const q_act *qa, int64_t t0,
                                        int64_t b0, int64_t nbb, float *c, size_t ldc, bool load) {
    switch (np * 16 + nr) {
        UKR_Q_CASE(1, 1, QM_VNNI512) UKR_Q_CASE(1, 2, QM_VNNI512)
        UKR_Q_CASE(1, 3, QM_VNNI512) UKR_Q_CASE(1, 4, QM_VNNI512)
        UKR_Q_CASE(1, 5, QM_VNNI512) UKR_Q_CASE(1, 6, QM_VNNI512)
        UKR_Q_CASE(2, 1, QM_VNNI512) UKR_Q_CASE(2, 2, QM_VNNI512)
        UKR_Q_CASE(2, 3, QM_VNNI512) UKR_Q_CASE(2, 4, QM_VNNI512)
        UKR_Q_CASE(2, 5, QM_VNNI512) UKR_Q_CASE(2, 6, QM_VNNI512)
    default: break;
    }
}

/* The integer gemm. Loops, outside in: chunks of Q_MC weight rows; K
 * blocks of Q_KB blocks (the chunk's panels are packed once per block, in
 * L2); chunks of Q_TC tokens (their activation rows stay in L2); pairs of
 * panels (in L1); groups of nr tokens. */
static void gemm_q(const mote_gemm_args *a, enum qkind kind, enum qmode mode) {
    alignas(64) uint8_t wbuf[(Q_MC / 8) * Q_KB * Q_PANEL_BYTES];
    alignas(64) float tile[Q_NR512 * 8 * Q_P];
    const ukr_q_fn ukr = mode == QM_VNNI512 ? ukr_q_vnni512 : mode == QM_VNNI ? ukr_q_vnni
                                                                              : ukr_q_avx2;
    const int nr_max = mode == QM_VNNI512 ? Q_NR512 : Q_NR, shift = q_shift(kind);
    const int64_t nb = a->n_cols / 32;
    const q_act qa = {.act = a->act,
                      .stride = a->act_stride,
                      .ext = mote__q8_act_extras_offset(a->n_cols),
                      .nb = nb};
    const uint8_t *w = a->w;
    for (int64_t r0 = 0; r0 < a->n_rows; r0 += Q_MC) {
        const int64_t m_rows = min64(Q_MC, a->n_rows - r0);
        const int64_t n_panels = (m_rows + 7) / 8;
        for (int64_t b0 = 0; b0 < nb; b0 += Q_KB) {
            const int64_t nbb = min64(Q_KB, nb - b0);
            const size_t panel_step = (size_t)nbb * Q_PANEL_BYTES;
            const bool load = b0 > 0;
            for (int64_t p = 0; p < n_panels; p++)
                pack_w_q(kind, w + (size_t)(r0 + 8 * p) * a->w_stride, a->w_stride,
                         min64(8, m_rows - 8 * p), b0, nbb, wbuf + p * panel_step);
            { /* the next block of these rows (or the next rows), while this one computes */
                const int64_t nr0 = b0 + nbb < nb ? r0 : r0 + Q_MC;
                const int64_t nb0 = b0 + nbb < nb ? b0 + nbb : 0;
                const int64_t n_pf = min64(Q_MC, a->n_rows - nr0);
                for (int64_t r = 0; r < n_pf; r++)
                    prefetch_l2(w + (size_t)(nr0 + r) * a->w_stride + (size_t)nb0 * q_block_bytes(kind),
                                (size_t)min64(Q_KB, nb - nb0) * q_block_bytes(kind));
            }
            for (int64_t tc0 = 0; tc0 < a->n_tok; tc0 += Q_TC) {
                const int64_t tc1 = min64(a->n_tok, tc0 + Q_TC);
                for (int64_t p = 0; p < n_panels; p += Q_P) {
                    const int np = (int)min64(Q_P, n_panels - p);
                    const int64_t p_rows = min64(8 * np, m_rows - 8 * p);
                    const uint8_t *wp = wbuf + p * panel_step;
                    for (int64_t t0 = tc0; t0 < tc1; t0 += nr_max) {
                        const int nr = (int)min64(nr_max, tc1 - t0);
                        float *c = a->y + (size_t)t0 * a->y_stride + r0 + 8 * p;
                        if (p_rows == 8 * np) {
                            ukr(np, nr, shift, wp, panel_step, &qa, t0, b0, nbb, c, a->y_stride,
                                load);
                            continue;
                        }
                        /* edge panel: through a full tile */
                        const size_t ldc = (size_t)(8 * np);
                        memset(tile, 0, sizeof tile);
                        if (load)
                            for (int t = 0; t < nr; t++)
                                memcpy(tile + t * ldc, c + t * a->y_stride,
                                       (size_t)p_rows * sizeof(float));
                        ukr(np, nr, shift, wp, panel_step, &qa, t0, b0, nbb, tile, ldc, load);
                        for (int t = 0; t < nr; t++)
                            memcpy(c + t * a->y_stride, tile + t * ldc,
                                   (size_t)p_rows * sizeof(float));
                    }
                }
            }
        }
    }
}

#define DEF_Q(NAME, KIND, MODE, SUFFIX) \
    static void gemm_##NAME##_##SUFFIX(const mote_gemm_args *a) { gemm_q(a, KIND, MODE); }
DEF_Q(q4_0, QK_Q4_0, QM_AVX2, avx2)
DEF_Q(q4_0, QK_Q4_0, QM_VNNI, vnni)
DEF_Q(q4_0, QK_Q4_0, QM_VNNI512, vnni512)
DEF_Q(q5_0, QK_Q5_0, QM_AVX2, avx2)
DEF_Q(q5_0, QK_Q5_0, QM_VNNI, vnni)
DEF_Q(q5_0, QK_Q5_0, QM_VNNI512, vnni512)
/* q8_0 has no plain AVX2 variant: q + 128 reaches 255, and VPMADDUBSW would
 * saturate its int16 pair sums. */
DEF_Q(q8_0, QK_Q8_0, QM_VNNI, vnni)
DEF_Q(q8_0, QK_Q8_0, QM_VNNI512, vnni512)

/* ---- choice ---- */

static bool has_avx512(void) {
    const mote_cpu_features *f = mote__cpu_features();
    return f->avx512f && f->avx512_vnni && f->avx512vl && f->avx512bw;
}

mote_gemm_fn mote__gemm_x86_variant(uint32_t type, int variant) {
    if (!mote__isa_supported(MOTE_ISA_AVX2)) return NULL;
    if (variant == 1 && !mote__cpu_features()->avx_vnni) return NULL;
    if (variant == 2 && !has_avx512()) return NULL;
    switch (type) {
    case MOTE_TYPE_F32: return variant == 2 ? gemm_f32_512 : variant == 0 ? gemm_f32 : NULL;
    case MOTE_TYPE_F16: return variant == 2 ? gemm_f16_512 : variant == 0 ? gemm_f16 : NULL;
    case MOTE_TYPE_Q4_0:
        return variant == 2 ? gemm_q4_0_vnni512 : variant == 1 ? gemm_q4_0_vnni : gemm_q4_0_avx2;
    case MOTE_TYPE_Q5_0:
        return variant == 2 ? gemm_q5_0_vnni512 : variant == 1 ? gemm_q5_0_vnni : gemm_q5_0_avx2;
    case MOTE_TYPE_Q8_0:
        return variant == 2 ? gemm_q8_0_vnni512 : variant == 1 ? gemm_q8_0_vnni : NULL;
    default: return NULL;
    }
}

void mote__kernels_fill_avx2_gemm(mote_kernel_table *t) {
    static const uint32_t types[] = {MOTE_TYPE_F32, MOTE_TYPE_F16, MOTE_TYPE_Q4_0, MOTE_TYPE_Q5_0,
                                     MOTE_TYPE_Q8_0};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        mote_gemm_fn best = NULL;
        for (int v = 0; v < 3; v++) {
            mote_gemm_fn f = mote__gemm_x86_variant(types[i], v);
            if (f) best = f;
        }
        t[types[i]].gemm = best;
    }
}

#endif /* __x86_64__ */
