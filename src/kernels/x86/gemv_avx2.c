/* gemv_avx2.c — the matrix-vector products of generation (one token):
 *   y (n_rows) = W (n_rows, n) @ act (n)
 * for q4_0 and q8_0 weights (q8_0 activations) and f32 / f16 / bf16
 * weights (activations of the same type), AVX2 with AVX-VNNI and AVX-512
 * variants, chosen once from CPUID (the AVX-512 q4_0 and q8_0 kernels live
 * in gemv_avx512.c). The gemv entry of a kernel table (kernels.h), and
 * for q4_0 / q8_0 the gemv_prep entry where gemv_avx512.c has one; and the
 * f32 table's gemv_t, attention's weighted sum of value rows.
 *
 * Not here: one weight row against several activation rows (vec_dot_4 in
 * quant_avx2.c / float_avx2.c, the gemm of prompts in gemm_avx2.c), the
 * quantization of the activation, threads (callers split the rows).
 *
 * Why a separate kernel: generation reads every weight once per token, so
 * the kernel must consume weight bytes as fast as memory delivers them; a
 * loop of vec_dot calls spends most of its instructions on work that does
 * not depend on the weight row. Here, per call:
 *   - the activation's per-block values are computed once for all rows:
 *     its scale as f32 and the sum of its quants (so the 4-bit weights can
 *     enter the unsigned side of VPMADDUBSW / VPDPBUSD as they are stored,
 *     0..15, and the offset 8 comes off as 8 * sum afterwards: no sign
 *     tricks per row);
 *   - four weight rows go through each activation block together, sharing
 *     its load; a 4-bit block is unpacked with one variable shift and one
 *     mask; a weight scale is broadcast and converted in the vector unit.
 * Each row keeps one accumulator and adds its blocks in order, so a row's
 * result does not depend on which other rows share its call (row splits
 * over threads give bit-identical results). Every block's integer dot is
 * exact (q4_0: |q * y| <= 15 * 128, pairs fit int16; q8_0: the |x| sign(x) y
 * form, as in quant_avx2.c), so SIMD and reference differ only in the f32
 * scaling and summation order: the tolerance of tests/test_kernels.c.
 *
 * Contracts: n a multiple of 32 for the block types, any n for the float
 * types; rows row_bytes apart; no alignment needed beyond the element's
 * (2 bytes, 4 for f32 rows and vectors); pure, thread-safe, allocates
 * nothing (per-block activation values live on the stack: at most
 * GEMV_MAX_BLOCKS blocks, longer rows go through the per-row loop; so do
 * the results on their way to y, MOTE_GEMV_OUT_ROWS at a time: simd.h).
 * Compiles to nothing off x86-64; built with -mavx2 -mfma -mf16c, the VNNI
 * variants with a target attribute and used only where CPUID says so.
 */
#if defined(__x86_64__)
#include "../simd.h"
#include "avx2_util.h"
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Longest activation the block kernels take in one pass: 1024 blocks =
 * 32768 columns (8 KiB of stack for the per-block values). */
#define GEMV_MAX_BLOCKS (MOTE_GEMV_MAX_COLS / 32)
/* Software prefetch distance in groups of 4 rows. The hardware prefetcher
 * follows four interleaved streams that each end after a row (a row of 2048
 * q4_0 weights is 18 cache lines) worse than one long stream: without this
 * the 4-row loop streamed at half the speed of a one-row loop (Zen 5 host;
 * on the Xeon host even one stream needs help: Q1ROW_PF_AHEAD below). Each
 * step touches two lines of the group PF_GROUPS ahead (it consumes 4
 * blocks). */
#define PF_GROUPS 2

/* ---- helpers ---- */

/* The f16 at p (any alignment) as f32 in all 8 lanes. */
ALWAYS_INLINE __m256 bcast_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16((short)h));
}

/* Per-block values of a q8_0 activation row of nb blocks: d[b] its scale as
 * f32, s[b] the sum of its 32 quants. */
static void act_q8_prepare(const uint8_t *act, int64_t nb, float *d, int32_t *s) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = act + b * sizeof(mote_block_q8_0);
        uint16_t h;
        memcpy(&h, blk, 2);
        d[b] = _cvtsh_ss(h);
        const __m256i y = _mm256_loadu_si256((const __m256i *)(blk + 2));
        __m256i t = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, y), ones16);
        __m128i t4 = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
        t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, 0x4e));
        t4 = _mm_add_epi32(t4, _mm_shuffle_epi32(t4, 0xb1));
        s[b] = _mm_cvtsi128_si32(t4);
    }
}

/* The 32 quants (0..15) of the q4_0 block at b: element j < 16 is the low
 * nibble of qs[j], j + 16 its high nibble. One 16-byte load into both
 * halves, the upper half shifted right by 4 (in 32-bit lanes: the bits
 * shifted in from the next byte land in the high nibble, masked off). */
ALWAYS_INLINE __m256i q4_0_quants(const uint8_t *b) {
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b + 2)));
    const __m256i sh = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
    return _mm256_and_si256(_mm256_srlv_epi32(v, sh), _mm256_set1_epi8(0x0f));
}

/* ---- the integer block dot, plain AVX2 or VNNI ---- */

/* u (unsigned bytes) . s (signed bytes) added to the 8 int32 lanes of acc. */
ALWAYS_INLINE __m256i dot_u8s8_avx2(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

#define DOT_AVX2(acc, u, s) dot_u8s8_avx2(acc, u, s)
#define DOT_VNNI(acc, u, s) _mm256_dpbusd_avx_epi32(acc, u, s)

/* Per-block values of the activation, stored the way the loops read them:
 * the scale as f32 and minus the sum of the quants times `mult` (the
 * weight's offset: 8 for q4_0, 128 for q8_0 under VNNI), divided over the
 * 8 int32 lanes the block's products land in. */
static void act_q8_prepare_neg(const uint8_t *act, int64_t nb, int32_t lane_mult, float *d,
                               int32_t *neg) {
    act_q8_prepare(act, nb, d, neg);
    for (int64_t b = 0; b < nb; b++) neg[b] = -neg[b] * lane_mult;
}

/* One block of one row into its accumulator: acc += dx dy (float) p, p the
 * block's integer dot DOT(init, QUANTS(block), y) in 8 int32 lanes. */
#define GEMV_ROW_BLOCK(acc, wr, bb, yq, init, dy, DOT, QUANTS, WSIZE)                           \
    do {                                                                                        \
        const uint8_t *blk_ = (wr) + (size_t)(bb) * WSIZE;                                      \
        const __m256i p_ = DOT(init, QUANTS(blk_), yq);                                         \
        acc = _mm256_fmadd_ps(_mm256_mul_ps(bcast_f16(blk_), dy), _mm256_cvtepi32_ps(p_), acc); \
    } while (0)
#define GEMV_ACT(bb) _mm256_loadu_si256((const __m256i *)(act + (bb) * 34 + 2))
#define GEMV_PREPARE(LANE_MULT)                                                                 \
    const uint8_t *w = vw, *act = vact;                                                         \
    const int64_t nb = n / 32;                                                                  \
    float d[GEMV_MAX_BLOCKS];                                                                   \
    int32_t neg[GEMV_MAX_BLOCKS];                                                               \
    act_q8_prepare_neg(act, nb, LANE_MULT, d, neg)

/* Four rows at a time, sharing each activation block; one accumulator per
 * row (four independent FMA chains), blocks in order; the rows after the
 * last group of 4 run the same steps alone. The 4 rows are 4 interleaved
 * streams that each end after a row, which the hardware prefetcher follows
 * badly (half speed from memory, measured): a software prefetch sweeps the
 * group PF_GROUPS ahead linearly, two lines per block step (the step
 * consumes 4 blocks, 72 bytes for q4_0). The q4_0 kernel: its decoding is
 * the bottleneck, which sharing the activation's loads relieves. */
#define DEF_GEMV_Q_4ROWS(NAME, TARGET, DOT, QUANTS, WSIZE, LANE_MULT)                           \
    TARGET static void NAME(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,         \
                            const void *vact, float *y) {                                        \
        GEMV_PREPARE(LANE_MULT);                                                                \
        GEMV_OUT_DECL;                                                                          \
        int64_t r = 0;                                                                          \
        for (; r + 4 <= n_rows; r += 4) {                                                       \
            const uint8_t *w0 = w + (size_t)r * row_bytes, *w1 = w0 + row_bytes;               \
            const uint8_t *w2 = w1 + row_bytes, *w3 = w2 + row_bytes;                           \
            const uint8_t *pf = w0 + PF_GROUPS * 4 * row_bytes;                                 \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                         \
            for (int64_t b = 0; b < nb; b++) {                                                  \
                _mm_prefetch((const char *)(pf + (size_t)b * 4 * WSIZE), _MM_HINT_T0);          \
                _mm_prefetch((const char *)(pf + (size_t)b * 4 * WSIZE + 64), _MM_HINT_T0);     \
                const __m256i yq = GEMV_ACT(b), init = _mm256_set1_epi32(neg[b]);               \
                const __m256 dy = _mm256_set1_ps(d[b]);                                         \
                GEMV_ROW_BLOCK(a0, w0, b, yq, init, dy, DOT, QUANTS, WSIZE);                    \
                GEMV_ROW_BLOCK(a1, w1, b, yq, init, dy, DOT, QUANTS, WSIZE);                    \
                GEMV_ROW_BLOCK(a2, w2, b, yq, init, dy, DOT, QUANTS, WSIZE);                    \
                GEMV_ROW_BLOCK(a3, w3, b, yq, init, dy, DOT, QUANTS, WSIZE);                    \
            }                                                                                   \
            GEMV_OUT_PUT(r, hsum256(a0));                                                       \
            GEMV_OUT_PUT(r + 1, hsum256(a1));                                                   \
            GEMV_OUT_PUT(r + 2, hsum256(a2));                                                   \
            GEMV_OUT_PUT(r + 3, hsum256(a3));                                                   \
        }                                                                                       \
        for (; r < n_rows; r++) {                                                               \
            const uint8_t *w0 = w + (size_t)r * row_bytes;                                      \
            __m256 a0 = _mm256_setzero_ps();                                                    \
            for (int64_t b = 0; b < nb; b++)                                                    \
                GEMV_ROW_BLOCK(a0, w0, b, GEMV_ACT(b), _mm256_set1_epi32(neg[b]),               \
                               _mm256_set1_ps(d[b]), DOT, QUANTS, WSIZE);                       \
            GEMV_OUT_PUT(r, hsum256(a0));                                                       \
        }                                                                                       \
        GEMV_OUT_END(n_rows);                                                                   \
    }

/* One row at a time (one sequential stream), four accumulators (blocks b
 * mod 4) added (a0 + a1) + (a2 + a3), the blocks after the last group of 4
 * into a0. The q8_0 kernel: it is bound by memory, not decoding. Each step
 * of 4 blocks prefetches its bytes Q1ROW_PF_AHEAD on into L2 (within the
 * call's rows): the hardware prefetcher alone keeps too few lines in
 * flight. The VNNI kernel on the development machine's Xeon host (forced
 * in place of the AVX-512 one), alternating 16-token decoding rounds in
 * one process, 8 rounds: 1.29 x without (2 KiB ahead 0.98 x 3 KiB, 2.5
 * KiB 1.00; into L1 instead of L2: 1.00 x without). The 4-row q4_0 kernel
 * above measured best as it is there (its prefetch into L2: 0.96-0.98). */
#define Q1ROW_PF_AHEAD 3072
#define DEF_GEMV_Q_1ROW(NAME, TARGET, DOT, QUANTS, WSIZE, LANE_MULT)                            \
    TARGET static void NAME(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,         \
                            const void *vact, float *y) {                                        \
        GEMV_PREPARE(LANE_MULT);                                                                \
        GEMV_OUT_DECL;                                                                          \
        for (int64_t r = 0; r < n_rows; r++) {                                                  \
            const uint8_t *w0 = w + (size_t)r * row_bytes;                                      \
            const size_t left = (size_t)(n_rows - r) * row_bytes;                               \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                         \
            int64_t b = 0;                                                                      \
            for (; b + 4 <= nb; b += 4) {                                                       \
                for (size_t o_ = (size_t)b * WSIZE + Q1ROW_PF_AHEAD, e_ = o_ + 4 * WSIZE;      \
                     o_ < e_ && o_ < left; o_ += 64)                                            \
                    _mm_prefetch((const char *)w0 + o_, _MM_HINT_T1);                           \
                GEMV_ROW_BLOCK(a0, w0, b, GEMV_ACT(b), _mm256_set1_epi32(neg[b]),               \
                               _mm256_set1_ps(d[b]), DOT, QUANTS, WSIZE);                       \
                GEMV_ROW_BLOCK(a1, w0, b + 1, GEMV_ACT(b + 1), _mm256_set1_epi32(neg[b + 1]),   \
                               _mm256_set1_ps(d[b + 1]), DOT, QUANTS, WSIZE);                   \
                GEMV_ROW_BLOCK(a2, w0, b + 2, GEMV_ACT(b + 2), _mm256_set1_epi32(neg[b + 2]),   \
                               _mm256_set1_ps(d[b + 2]), DOT, QUANTS, WSIZE);                   \
                GEMV_ROW_BLOCK(a3, w0, b + 3, GEMV_ACT(b + 3), _mm256_set1_epi32(neg[b + 3]),   \
                               _mm256_set1_ps(d[b + 3]), DOT, QUANTS, WSIZE);                   \
            }                                                                                   \
            for (; b < nb; b++)                                                                 \
                GEMV_ROW_BLOCK(a0, w0, b, GEMV_ACT(b), _mm256_set1_epi32(neg[b]),               \
                               _mm256_set1_ps(d[b]), DOT, QUANTS, WSIZE);                       \
            GEMV_OUT_PUT(r, hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)))); \
        }                                                                                       \
        GEMV_OUT_END(n_rows);                                                                   \
    }

/* q8_0 plain AVX2: |x| (unsigned) . sign(x) y, pairs at most 2 * 128 * 127
 * (no saturation); the init is 0 (LANE_MULT 0). VNNI: x + 128 (unsigned,
 * 0..255) . y, minus 128 sum(y) through the init (VPDPBUSD sums in int32:
 * no saturation). q4_0 (both): the stored nibbles 0..15 . y, minus 8 sum(y)
 * through the init. */
#define Q8_QUANTS_AVX2(p) _mm256_loadu_si256((const __m256i *)((p) + 2))
#define Q8_DOT_AVX2(init, x, yq) \
    dot_u8s8_avx2(init, _mm256_sign_epi8(x, x), _mm256_sign_epi8(yq, x))
#define Q8_QUANTS_VNNI(p) \
    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)((p) + 2)), _mm256_set1_epi8((char)0x80))

#define TARGET_AVX2
#define TARGET_VNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
DEF_GEMV_Q_4ROWS(gemv_q4_0_avx2, TARGET_AVX2, DOT_AVX2, q4_0_quants, 18, 1)
DEF_GEMV_Q_4ROWS(gemv_q4_0_vnni, TARGET_VNNI, DOT_VNNI, q4_0_quants, 18, 1)
DEF_GEMV_Q_1ROW(gemv_q8_0_avx2, TARGET_AVX2, Q8_DOT_AVX2, Q8_QUANTS_AVX2, 34, 0)
DEF_GEMV_Q_1ROW(gemv_q8_0_vnni, TARGET_VNNI, DOT_VNNI, Q8_QUANTS_VNNI, 34, 16)

/* ---- f16 / bf16 weights, activation of the same type ----
 * The activation (exact in f32) is converted once per call; each row then
 * costs one load-and-convert and one FMA per 8 weights, against vec_dot's
 * two conversions, so two threads stream f16 rows at memory speed. Per row
 * the same sum as vec_dot_f16 / vec_dot_bf16 (float_avx2.c: both expand
 * AVX2_DOT_ORDERED of avx2_util.h); the products of two f16 (or two bf16)
 * are exact in f32, so the result is bit-identical to vec_dot
 * (tests/test_kernels.c checks it). The f32 copy lives on the stack: at
 * most MOTE_GEMV_MAX_COLS floats (128 KiB), which the callers ensure.
 * LOAD8 turns 8 elements into an __m256, SCALAR one into a float.
 *
 * Each step of 32 weights (one 64-byte line) prefetches the line
 * F16_PF_AHEAD bytes on into L2, within the call's rows: left to the
 * hardware prefetcher the loop keeps too few lines in flight (see the
 * AVX-512 kernel below). This kernel forced on the development machine's
 * Xeon host (which has AVX-512), alternating 16-token decoding rounds in
 * one process, 8 rounds: 1.32 x without the prefetch (T0 1.22; 2 KiB
 * ahead 1.19, 4 KiB 1.24); the call's two halves in turn 1.006 x, not
 * worth the code here. */
#define F16_PF_AHEAD 3072
/* AVX2_DOT_ORDERED_PF's step hook for the row at w with `left` bytes of
 * its call from w on. */
#define FLOAT16_PF_STEP(i)                                                                        \
    do {                                                                                          \
        const size_t pf_ = (size_t)(i) * 2 + F16_PF_AHEAD;                                        \
        if (pf_ < left) _mm_prefetch((const char *)w + pf_, _MM_HINT_T1);                         \
    } while (0)
#define DEF_GEMV_FLOAT16(NAME, LOAD8, SCALAR)                                                     \
    static void NAME(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,                 \
                     const void *vact, float *y) {                                                \
        float a[MOTE_GEMV_MAX_COLS] __attribute__((aligned(32)));                                 \
        const uint16_t *act = vact;                                                               \
        int64_t i = 0;                                                                            \
        for (; i + 8 <= n; i += 8) _mm256_store_ps(a + i, LOAD8(act + i));                        \
        for (; i < n; i++) a[i] = SCALAR(act[i]);                                                 \
        GEMV_OUT_DECL;                                                                            \
        for (int64_t r = 0; r < n_rows; r++) {                                                    \
            const uint16_t *w = (const uint16_t *)((const uint8_t *)vw + (size_t)r * row_bytes);  \
            const size_t left = (size_t)(n_rows - r) * row_bytes;                                 \
            float yr_;                                                                            \
            AVX2_DOT_ORDERED_PF(yr_, n, w, a, LOAD8, _mm256_load_ps, SCALAR, AVX2_F32_SCALAR,     \
                                FLOAT16_PF_STEP);                                                 \
            GEMV_OUT_PUT(r, yr_);                                                                 \
        }                                                                                         \
        GEMV_OUT_END(n_rows);                                                                     \
    }
DEF_GEMV_FLOAT16(gemv_f16_avx2, load_f16x8, _cvtsh_ss)
DEF_GEMV_FLOAT16(gemv_bf16_avx2, load_bf16x8, bf16_scalar)

/* f16 with AVX-512 (F, BW, VL): 16 weights per conversion and FMA, half
 * the instructions of the AVX2 kernel, which two threads could not run fast
 * enough to keep up with memory on the development machine. One row at a
 * time, four accumulators of 16 lanes, a masked tail (the masked elements
 * are never read); the activation converted to f32 once per call. Its
 * sum runs in another order than vec_dot_f16 (16 lanes): the result is
 * within the f16 tolerance of tests/test_kernels.c, not bit for bit
 * vec_dot's; each row's order is fixed, so row splits stay identical.
 *
 * Streaming: left to the hardware prefetcher this loop read at about 0.80
 * of a plain read of the same bytes on two threads (the f32 activation's
 * loads and the conversions keep fewer lines in flight than a bare load
 * loop). Each step therefore prefetches the lines F16_PF_AHEAD bytes on
 * into L2 (T1), and row r of a block's first half
 * is read side by side with row h + r of its second (two streams, as the
 * q4_0 and q8_0 kernels of gemv_avx512.c). Measured in one process,
 * alternating 16-token decoding rounds on a synthetic TinyLlama f16 model,
 * 2 threads, 10 rounds each, medians of per-round ratios: one stream with
 * the L2 prefetch 3 KiB ahead 1.24 x no prefetch (T0: 3 KiB 1.18, 2 KiB
 * 1.16, 4 KiB 1.09; T1 2 KiB 0.91 and 4 KiB 1.00 x T1 3 KiB); two
 * streams (a row from each half in
 * turn) 1.03 x one (with 1.5, 2 or 4 KiB ahead 0.94-0.98 x 3 KiB); the two
 * rows side by side, sharing the activation's loads, 1.016 x (quartiles
 * 1.012, 1.018) and 1.008 x in another series of that (with 2 KiB ahead
 * 0.996 x 3 KiB, 4 KiB 0.954; into L1, T0, 3 KiB 0.975, 2 KiB 0.981).
 * No prepared entry (mote_gemv_prep): converting the activation once per
 * matrix group instead of per call, and reading ahead at the barriers
 * (16 or 128 KiB), both measured level with this (12 and 10 rounds).
 * The prefetches are not bounded by the call's rows (a prefetch never
 * faults; past the call it names at most F16_PF_AHEAD bytes of whatever
 * follows, once a call). The four prefetches of a step are spread evenly
 * over its eight FMAs, one before each pair, and compiler barriers
 * (simd.h, MOTE_PIN) keep them there: left free, GCC moved them (of the
 * source's order before, two at the top and two mid-step, it emitted the
 * first row's two at the top, the second's after the first FMA and before
 * the fifth). (Their place had been measured before: unbounded, with each
 * stream's second line between the first line's FMAs and the second's,
 * 1.026 / 1.019 / 1.023 x the same with four bounds checks at the step's
 * top; alone, all four pinned at the top read 0.97-0.98 x GCC's order.)
 * Pinned and even against GCC's order, 2026-11-27, Xeon host: alone, two
 * threads over 1 GiB, 1.035 / 1.033 x (41 rounds, quartiles 1.024-1.048);
 * decoding, alternating 16-token rounds, 1.049 / 1.045, then 1.023 / 1.022
 * (21-25 rounds, quartiles 1.013-1.056). The same order unpinned (two
 * steps a loop): 0.981 x GCC's. With the pinned order, 2 and 2.5 KiB ahead measured level with 3
 * KiB, and 3.5 and 4 KiB 0.96 x; two steps a loop, and the activation held
 * in registers by force, level. */
#define TARGET_512F __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define F16X16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))

/* Rows w0 and w1 (n f16 each) . a (n f32, 64-byte aligned) into *y0 and
 * *y1, side by side (two streams: a block's two halves), each step's
 * activation loads shared; n16 = n rounded down to 16, tail the mask of
 * the last n - n16 lanes. Each row sums in four 16-lane accumulators of
 * its own in a fixed order, so its result does not depend on the other
 * row (w1 == w0 computes one row alone). Prefetches the lines F16_PF_AHEAD
 * bytes past each step, wherever they lie. */
TARGET_512F static inline __attribute__((always_inline)) void
f16_two_rows_avx512(const uint16_t *w0, const uint16_t *w1, int64_t n, const float *a, int64_t n16,
                    __mmask16 tail, float *y0, float *y1) {
    __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, e0 = d0, e1 = d0, e2 = d0, e3 = d0;
    int64_t j = 0;
    for (; j + 64 <= n; j += 64) {
        const size_t pf = (size_t)j * 2 + F16_PF_AHEAD;
        const __m512 a0 = _mm512_load_ps(a + j), a1 = _mm512_load_ps(a + j + 16);
        const __m512 a2 = _mm512_load_ps(a + j + 32), a3 = _mm512_load_ps(a + j + 48);
        MOTE_PIN;
        _mm_prefetch((const char *)w0 + pf, _MM_HINT_T1);
        MOTE_PIN;
        d0 = _mm512_fmadd_ps(F16X16(w0 + j), a0, d0);
        MOTE_PIN;
        e0 = _mm512_fmadd_ps(F16X16(w1 + j), a0, e0);
        MOTE_PIN;
        _mm_prefetch((const char *)w1 + pf, _MM_HINT_T1);
        MOTE_PIN;
        d1 = _mm512_fmadd_ps(F16X16(w0 + j + 16), a1, d1);
        MOTE_PIN;
        e1 = _mm512_fmadd_ps(F16X16(w1 + j + 16), a1, e1);
        MOTE_PIN;
        _mm_prefetch((const char *)w0 + pf + 64, _MM_HINT_T1);
        MOTE_PIN;
        d2 = _mm512_fmadd_ps(F16X16(w0 + j + 32), a2, d2);
        MOTE_PIN;
        e2 = _mm512_fmadd_ps(F16X16(w1 + j + 32), a2, e2);
        MOTE_PIN;
        _mm_prefetch((const char *)w1 + pf + 64, _MM_HINT_T1);
        MOTE_PIN;
        d3 = _mm512_fmadd_ps(F16X16(w0 + j + 48), a3, d3);
        MOTE_PIN;
        e3 = _mm512_fmadd_ps(F16X16(w1 + j + 48), a3, e3);
    }
    for (; j < n16; j += 16) {
        const __m512 aj = _mm512_load_ps(a + j);
        d0 = _mm512_fmadd_ps(F16X16(w0 + j), aj, d0);
        e0 = _mm512_fmadd_ps(F16X16(w1 + j), aj, e0);
    }
    if (tail) {
        const __m512 at = _mm512_maskz_loadu_ps(tail, a + n16);
        d1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w0 + n16)), at, d1);
        e1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w1 + n16)), at, e1);
    }
    *y0 = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(d0, d1), _mm512_add_ps(d2, d3)));
    *y1 = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(e0, e1), _mm512_add_ps(e2, e3)));
}

/* The second stream's first row: the rows of a block of n_rows are
 * taken from [0, h) and [h, n_rows) side by side. */
static int64_t f16_half(int64_t n_rows) { return (n_rows + 1) / 2; }

/* y[r] = row r of w . a for r < n_rows, a the activation as f32 (n,
 * 64-byte aligned), for one block of a call (simd.h,
 * MOTE_GEMV_BLOCK_BYTES): row r of the first half [0, h) side by side
 * with row h + r of the second, an odd block's row h - 1 alone; each
 * half's first F16_PF_AHEAD bytes prefetched first; the results reach y
 * in bursts of MOTE_GEMV_OUT_ROWS a half (simd.h). */
TARGET_512F static void f16_block_avx512(int64_t n, const uint8_t *w, size_t row_bytes,
                                         int64_t n_rows, const float *a, float *y) {
    const int64_t n16 = n & ~(int64_t)15;
    const __mmask16 tail = (__mmask16)((1u << (n - n16)) - 1);
    const int64_t h = f16_half(n_rows);
    const size_t mid = (size_t)h * row_bytes, end = (size_t)n_rows * row_bytes;
    for (size_t o = 0; o < F16_PF_AHEAD; o += 64) {
        if (o < mid) _mm_prefetch((const char *)w + o, _MM_HINT_T0);
        if (mid + o < end) _mm_prefetch((const char *)w + mid + o, _MM_HINT_T0);
    }
    float ya[MOTE_GEMV_OUT_ROWS], yb[MOTE_GEMV_OUT_ROWS]; /* the halves' outputs (simd.h) */
    for (int64_t r0 = 0; r0 < h; r0 += MOTE_GEMV_OUT_ROWS) {
        const int64_t r1 = h - r0 > MOTE_GEMV_OUT_ROWS ? r0 + MOTE_GEMV_OUT_ROWS : h;
        const int64_t s1 = r1 < n_rows - h ? r1 : n_rows - h; /* second half's rows */
        for (int64_t r = r0; r < r1; r++) {
            const size_t o1 = (size_t)r * row_bytes, o2 = (size_t)(h + r) * row_bytes;
            if (r < s1) {
                f16_two_rows_avx512((const uint16_t *)(w + o1), (const uint16_t *)(w + o2), n, a, n16,
                                    tail, &ya[r - r0], &yb[r - r0]);
            } else { /* an odd block's row h - 1, alone (its lines hit twice in L1) */
                float unused;
                f16_two_rows_avx512((const uint16_t *)(w + o1), (const uint16_t *)(w + o1), n, a, n16,
                                    tail, &ya[r - r0], &unused);
            }
        }
        memcpy(y + r0, ya, (size_t)(r1 - r0) * sizeof(float));
        memcpy(y + h + r0, yb, (size_t)(s1 - r0) * sizeof(float));
    }
}

/* act (n f16) -> a (n f32), exact. */
TARGET_512F static void f16_act_avx512(int64_t n, const uint16_t *act, float *a) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(a + i, F16X16(act + i));
    for (; i < n; i++) a[i] = _cvtsh_ss(act[i]);
}

/* The f16 table's gemv (mote_gemv_fn) where the CPU has AVX-512 F, BW and
 * VL: the activation converted on the stack, then the call's blocks in
 * order (simd.h). */
TARGET_512F static void gemv_f16_avx512(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,
                                        const void *vact, float *y) {
    float a[MOTE_GEMV_MAX_COLS] __attribute__((aligned(64)));
    f16_act_avx512(n, vact, a);
    const int64_t nb = mote__gemv_block_count(n_rows, row_bytes);
    for (int64_t b = 0; b < nb; b++) {
        const int64_t r0 = mote__gemv_block_first(b, nb, n_rows);
        const int64_t r1 = mote__gemv_block_first(b + 1, nb, n_rows);
        f16_block_avx512(n, (const uint8_t *)vw + (size_t)r0 * row_bytes, row_bytes, r1 - r0, a,
                         y + r0);
    }
}

#undef F16X16

/* AVX-512 F, BW and VL (masked 16-bit loads): Skylake-X and later, Zen 4
 * and later. */
static bool has_avx512_f16(void) {
    const mote_cpu_features *f = mote__cpu_features();
    return f->avx512f && f->avx512bw && f->avx512vl;
}

/* ---- f32: attention's scores and weighted value sums ----
 * gemv: per row the sum of vec_dot_f32 (AVX2_DOT_ORDERED), bit for bit,
 * without a call per row: one head's attention scores are one call over
 * all stored positions. gemv_t (kernels.h): y_i += sum_r a_i[r] W[r] for
 * the query heads of one kv head, columns in chunks held in registers
 * while the rows stream through them, one FMA per row and 8 or 16 columns:
 * four heads at a time (AVX2: 16 columns each, AVX-512: 64), each row's
 * chunk loaded once for the four, then single heads (32 / 64 columns).
 * Each element adds the rows in order, so every variant and head count
 * gives the same bytes. */
static void gemv_f32_avx2(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,
                          const void *vact, float *y) {
    const float *act = vact;
    for (int64_t r = 0; r < n_rows; r++) {
        const float *w = (const float *)(const void *)((const uint8_t *)vw + (size_t)r * row_bytes);
        AVX2_DOT_ORDERED(y[r], n, w, act, _mm256_loadu_ps, _mm256_loadu_ps, AVX2_F32_SCALAR, AVX2_F32_SCALAR);
    }
}

#define GEMV_T_ROW(r) ((const float *)(const void *)((const uint8_t *)vw + (size_t)(r) * row_bytes))
/* One a/y pair: columns [j, j + 4 W) at a time while they last, four
 * accumulators of W floats (type V) held over all rows. */
#define GEMV_T_CHUNKS(V, W, LOAD, STORE, SET1, FMA)                                       \
    for (; j + 4 * (W) <= n; j += 4 * (W)) {                                              \
        V y0 = LOAD(y + j), y1 = LOAD(y + j + (W)), y2 = LOAD(y + j + 2 * (W));              \
        V y3 = LOAD(y + j + 3 * (W));                                                      \
        for (int64_t r = 0; r < n_rows; r++) {                                            \
            const float *w = GEMV_T_ROW(r) + j;                                           \
            const V ar = SET1(a[r]);                                                      \
            y0 = FMA(ar, LOAD(w), y0);                                                    \
            y1 = FMA(ar, LOAD(w + (W)), y1);                                              \
            y2 = FMA(ar, LOAD(w + 2 * (W)), y2);                                          \
            y3 = FMA(ar, LOAD(w + 3 * (W)), y3);                                          \
        }                                                                                 \
        STORE(y + j, y0);                                                                 \
        STORE(y + j + (W), y1);                                                           \
        STORE(y + j + 2 * (W), y2);                                                       \
        STORE(y + j + 3 * (W), y3);                                                       \
    }

/* Four a/y pairs (a query group's heads) at once: columns [j, j + NV W)
 * at a time, 4 x NV accumulators, each row's NV vectors loaded once for
 * the four. Per element the same FMA chain as GEMV_T_CHUNKS, so the same
 * bytes as four single calls. */
#define GEMV_T_CHUNKS4(A, Y, V, W, NV, LOAD, STORE, SET1, FMA)                                  \
    for (; j + (NV) * (W) <= n; j += (NV) * (W)) {                                        \
        V acc[4][NV];                                                                     \
        _Pragma("GCC unroll 4") for (int h = 0; h < 4; h++)                               \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++)                        \
                acc[h][v] = LOAD((Y) + (size_t)h * y_stride + j + v * (W));                  \
        for (int64_t r = 0; r < n_rows; r++) {                                            \
            const float *w = GEMV_T_ROW(r) + j;                                           \
            V wv[NV];                                                                     \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++) wv[v] = LOAD(w + v * (W)); \
            _Pragma("GCC unroll 4") for (int h = 0; h < 4; h++) {                         \
                const V ar = SET1((A)[(size_t)h * a_stride + (size_t)r]);                   \
                _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++)                    \
                    acc[h][v] = FMA(ar, wv[v], acc[h][v]);                                \
            }                                                                             \
        }                                                                                 \
        _Pragma("GCC unroll 4") for (int h = 0; h < 4; h++)                               \
            _Pragma("GCC unroll 4") for (int v = 0; v < (NV); v++)                        \
                STORE((Y) + (size_t)h * y_stride + j + v * (W), acc[h][v]);                  \
    }

/* One a/y pair over columns [0, n). */
static void gemv_t1_f32_avx2(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,
                             const float *a, float *y) {
    int64_t j = 0;
    GEMV_T_CHUNKS(__m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps)
    for (; j + 8 <= n; j += 8) {
        __m256 y0 = _mm256_loadu_ps(y + j);
        for (int64_t r = 0; r < n_rows; r++)
            y0 = _mm256_fmadd_ps(_mm256_set1_ps(a[r]), _mm256_loadu_ps(GEMV_T_ROW(r) + j), y0);
        _mm256_storeu_ps(y + j, y0);
    }
    for (; j < n; j++) {
        float v = y[j];
        for (int64_t r = 0; r < n_rows; r++) v = fmaf(a[r], GEMV_T_ROW(r)[j], v);
        y[j] = v;
    }
}

/* mote_gemv_t_fn from a one-pair kernel ONE: vectors four at a time over
 * the columns of whole NV x W chunks, the rest (columns and vectors)
 * through ONE, whose per-element operations are the same. */
#define DEF_GEMV_T(NAME, ONE, TARGET, V, W, NV, LOAD, STORE, SET1, FMA)                           \
    TARGET static void NAME(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,           \
                            int32_t n_a, const float *a, size_t a_stride, float *y, size_t y_stride) { \
        int32_t i = 0;                                                                            \
        for (; i + 4 <= n_a; i += 4) {                                                            \
            const float *a4 = a + (size_t)i * a_stride;                                           \
            float *y4 = y + (size_t)i * y_stride;                                                 \
            int64_t j = 0;                                                                        \
            GEMV_T_CHUNKS4(a4, y4, V, W, NV, LOAD, STORE, SET1, FMA)                              \
            if (j < n)                                                                            \
                for (int h = 0; h < 4; h++)                                                       \
                    ONE(n - j, (const float *)vw + j, row_bytes, n_rows, a4 + (size_t)h * a_stride, \
                        y4 + (size_t)h * y_stride + j);                                           \
        }                                                                                         \
        for (; i < n_a; i++)                                                                      \
            ONE(n, vw, row_bytes, n_rows, a + (size_t)i * a_stride, y + (size_t)i * y_stride);    \
    }

TARGET_512F static void gemv_t1_f32_avx512(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,
                                           const float *a, float *y) {
    int64_t j = 0;
    GEMV_T_CHUNKS(__m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps)
    for (; j < n; j += 16) {
        const __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 y0 = _mm512_maskz_loadu_ps(m, y + j);
        for (int64_t r = 0; r < n_rows; r++)
            y0 = _mm512_fmadd_ps(_mm512_set1_ps(a[r]), _mm512_maskz_loadu_ps(m, GEMV_T_ROW(r) + j), y0);
        _mm512_mask_storeu_ps(y + j, m, y0);
    }
}

DEF_GEMV_T(gemv_t_f32_avx2, gemv_t1_f32_avx2, , __m256, 8, 2, _mm256_loadu_ps, _mm256_storeu_ps,
           _mm256_set1_ps, _mm256_fmadd_ps)
DEF_GEMV_T(gemv_t_f32_avx512, gemv_t1_f32_avx512, TARGET_512F, __m512, 16, 4, _mm512_loadu_ps,
           _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps)
#undef DEF_GEMV_T
#undef GEMV_T_CHUNKS
#undef GEMV_T_CHUNKS4
#undef GEMV_T_ROW

/* ---- table ---- */

mote_gemv_fn mote__gemv_x86_variant(uint32_t type, int variant) {
    if (!mote__isa_supported(MOTE_ISA_AVX2)) return NULL;
    if (variant == 1 && !mote__cpu_features()->avx_vnni) return NULL;
    if (variant == 2)
        return type == MOTE_TYPE_F16 ? (has_avx512_f16() ? gemv_f16_avx512 : NULL)
                                     : mote__gemv_avx512_q(type);
    switch (type) {
    case MOTE_TYPE_Q4_0: return variant == 1 ? gemv_q4_0_vnni : gemv_q4_0_avx2;
    case MOTE_TYPE_Q8_0: return variant == 1 ? gemv_q8_0_vnni : gemv_q8_0_avx2;
    case MOTE_TYPE_F32: return variant == 0 ? gemv_f32_avx2 : NULL;
    case MOTE_TYPE_F16: return gemv_f16_avx2;
    case MOTE_TYPE_BF16: return gemv_bf16_avx2;
    default: return NULL;
    }
}

mote_gemv_t_fn mote__gemv_t_x86_variant(int variant) {
    if (!mote__isa_supported(MOTE_ISA_AVX2)) return NULL;
    if (variant == 0) return gemv_t_f32_avx2;
    return variant == 2 && has_avx512_f16() ? gemv_t_f32_avx512 : NULL;
}

void mote__kernels_fill_avx2_gemv(mote_kernel_table *t) {
    const mote_cpu_features *f = mote__cpu_features();
    const mote_gemv_fn q4_512 = mote__gemv_avx512_q(MOTE_TYPE_Q4_0);
    const mote_gemv_fn q8_512 = mote__gemv_avx512_q(MOTE_TYPE_Q8_0);
    t[MOTE_TYPE_Q4_0].gemv = q4_512 ? q4_512 : f->avx_vnni ? gemv_q4_0_vnni : gemv_q4_0_avx2;
    t[MOTE_TYPE_Q8_0].gemv = q8_512 ? q8_512 : f->avx_vnni ? gemv_q8_0_vnni : gemv_q8_0_avx2;
    t[MOTE_TYPE_Q4_0].gemv_prep = mote__gemv_avx512_q_prep(MOTE_TYPE_Q4_0);
    t[MOTE_TYPE_Q8_0].gemv_prep = mote__gemv_avx512_q_prep(MOTE_TYPE_Q8_0);
    t[MOTE_TYPE_F32].gemv = gemv_f32_avx2;
    t[MOTE_TYPE_F32].gemv_t = has_avx512_f16() ? gemv_t_f32_avx512 : gemv_t_f32_avx2;
    t[MOTE_TYPE_F16].gemv = has_avx512_f16() ? gemv_f16_avx512 : gemv_f16_avx2;
    t[MOTE_TYPE_BF16].gemv = gemv_bf16_avx2;
}

#endif /* __x86_64__ */
