/* gemv_avx512.c — the q4_0 and q8_0 matrix-vector products of generation
 * with AVX-512 (F, BW, VL, VNNI, VBMI):
 *   y (n_rows) = W (n_rows, n) @ act (n), act a q8_0 row
 * reading each weight row as it lies in the file, 64 bytes at a time,
 * whatever the block boundaries. Chosen by gemv_avx2.c's table fill where
 * CPUID has these extensions (Ice Lake and later, Zen 4 and later).
 *
 * Why: generation reads every weight once per token, and on two cores the
 * block-at-a-time kernels (gemv_avx2.c) decoded q4_0 at about the speed a
 * core streams from memory (one thread, matrix in L2: 26 GB/s, against
 * about 29 GB/s of plain reads from memory on the development machine's
 * Zen 5 host), so stalls on memory added to the decoding time instead of
 * hiding behind it. Here a 64-byte load of a row goes through one integer
 * dot (VPDPBUSD) per nibble half and one scaling: about 11 instructions
 * per 64 bytes against 10 per 36 bytes. In L2, one thread: q4_0 26 -> 50-60
 * GB/s, q8_0 37 -> 75 GB/s (Zen 5 host, the q4_0 kernel then four rows at
 * a time).
 *
 * How: a row is a sequence of blocks of BS bytes (q4_0: 18, q8_0: 34), each
 * a 2-byte f16 scale then its quants. BS is 2 mod 4, so every 4-byte lane
 * of a 64-byte chunk (chunks start at the row's start) holds quant bytes of
 * one block only: a lane that straddles two blocks holds the last two
 * quant bytes of one and the scale of the next. Per call (or once for
 * many calls on one activation: the prepared entries, mote_gemv_prep),
 * the activation is laid out to match, chunk by chunk (chunk_act): the
 * activation quant each weight byte multiplies (0 on scale bytes and past
 * the row); per
 * lane, the weight offset's share (-8 or -128 times the sum of the lane's
 * activation quants, as the VPDPBUSD init: q4_0 nibbles are 0..15 and q8_0
 * quants are read as unsigned x + 128) and the activation scale of the
 * lane's block; and the permute index that brings each lane's weight scale
 * (in this chunk or the one before) into it. The layout repeats every
 * PERIOD chunks (lcm(BS, 64) bytes = 32 blocks), so it comes from a table
 * (chunk_pattern) built once. Per row and chunk, then: a load, the
 * unpacking (q4_0: a mask and a shift), the dots, a VPERMT2W of the scales,
 * one conversion each and an FMA into 16 f32 lanes. Rows: a call's blocks
 * of about a megabyte one after the other (simd.h), in a block q4_0 three
 * rows at a time, one from each third, q8_0 two, one from each half, with
 * the software prefetch that measured best (the kernels' comment); their
 * results reach y in bursts (simd.h).
 *
 * Sums: each block's integer dot is exact; a row's 16 lane accumulators
 * take its chunks in order and are added at the end, the same operations
 * whatever rows share the call (row splits over threads give the same
 * bits); another rounding than the reference's block order, within the
 * tolerance of tests/test_kernels.c.
 *
 * Contracts: n a multiple of 32; rows row_bytes apart, no alignment needed;
 * reads no byte outside the rows (the last chunk is a masked load; the
 * software prefetches may name lines up to about Q4_PF_AHEAD bytes past
 * them, which a prefetch never faults on); pure,
 * thread-safe, allocates nothing: the per-call layout lives on the stack
 * (up to GEMV512_MAX_BLOCKS blocks: at most about 115 KiB, q8_0), a
 * prepared one in the caller's memory, and 2 KiB of output bursts;
 * longer rows go to the plain AVX2 kernel (and have no prepared entry).
 * Compiles to nothing off x86-64;
 * target attributes, not -mavx512*, so the file builds with the x86
 * folder's AVX2 flags.
 */
#if defined(__x86_64__)
#include "../simd.h"
#include <immintrin.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define TARGET_512Q \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))

/* Longest row these kernels lay out on the stack: 16384 columns. */
#define GEMV512_MAX_BLOCKS 512
/* The layout of chunk k' of a period: what it is for every chunk k with
 * k mod PERIOD = k', counting blocks from the chunk's first. */
typedef struct chunk_pattern {
    uint8_t byte_idx[64]; /* quant byte i: its activation quant, at
                           * block * QPB + j of the compacted activation */
    uint16_t dx_idx[32];  /* lane l < 16: VPERMT2W index (words 0-31 the
                           * chunk before, 32-63 this one) of its block's
                           * scale */
    int32_t lane_blk[16]; /* lane l: its block */
    uint64_t quant_mask;  /* bit i: byte i is a quant (not a scale) */
    int32_t first_blk;    /* the chunk's first block, from the period's */
} chunk_pattern;

/* q4_0: 18-byte blocks, period 9 chunks; the nibbles of one byte pair with
 * two activation arrays of 16 quants a block (QPB 16). q8_0: 34-byte
 * blocks, period 17, one array of 32 (QPB 32). */
#define Q4_BS 18
#define Q4_PERIOD 9
#define Q8_BS 34
#define Q8_PERIOD 17
static chunk_pattern g_pat_q4[Q4_PERIOD], g_pat_q8[Q8_PERIOD];

static void patterns_build(chunk_pattern *pat, int period, int bs, int qpb) {
    for (int k = 0; k < period; k++) {
        chunk_pattern *p = &pat[k];
        memset(p, 0, sizeof *p);
        p->first_blk = 64 * k / bs;
        for (int i = 0; i < 64; i++) {
            const int pos = 64 * k + i, b = pos / bs, o = pos % bs;
            if (o < 2) continue;
            p->quant_mask |= (uint64_t)1 << i;
            /* q4_0: byte o - 2 of a block holds quants j and j + 16: the
             * two arrays are indexed alike */
            p->byte_idx[i] = (uint8_t)((b - p->first_blk) * qpb + (o - 2));
        }
        for (int l = 0; l < 16; l++) {
            const int b = (64 * k + 4 * l) / bs; /* the lane's quant bytes' block */
            p->lane_blk[l] = b - p->first_blk;
            p->dx_idx[l] = (uint16_t)(32 + b * bs / 2 - 32 * k);
        }
    }
}

/* One chunk's activation side (see the file's comment). */
typedef struct chunk_act {
    __m512i a0;   /* activation quant of each byte (q4_0: of its low nibble) */
    __m512i a1;   /* q4_0: of its high nibble; unused for q8_0 */
    __m512i init; /* per lane: minus the weight offset times its quants' sum */
    __m512 dy;    /* per lane: the activation scale of its block */
    __m512i dx_idx;
} chunk_act;

/* Lay out the q8_0 activation act (nb blocks) for weight rows of bs-byte
 * blocks: ch[0 .. chunks) and the byte mask of the last chunk into *tail
 * (all ones when the row is whole chunks). two_halves: q4_0 (activation
 * quants 0-15 of a block pair with low nibbles, 16-31 with high ones);
 * offset: the weight offset (8 or 128). Returns the number of chunks. */
TARGET_512Q static int64_t act_layout(const uint8_t *act, int64_t nb, const chunk_pattern *pat,
                                      int period, int bs, bool two_halves, int offset,
                                      chunk_act *ch, __mmask64 *tail) {
    const int qpb = two_halves ? 16 : 32;
    /* compacted quants (two arrays for q4_0) and f32 scales, zero padded
     * for the 128-byte and 16-float reads past the last block */
    uint8_t q0[GEMV512_MAX_BLOCKS * 32 + 128] __attribute__((aligned(64)));
    uint8_t q1[GEMV512_MAX_BLOCKS * 16 + 128] __attribute__((aligned(64)));
    float d[GEMV512_MAX_BLOCKS + 16];
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = act + b * 34;
        uint16_t h;
        memcpy(&h, blk, 2);
        d[b] = _cvtsh_ss(h);
        if (two_halves) {
            _mm_storeu_si128((__m128i *)(q0 + b * 16), _mm_loadu_si128((const __m128i *)(blk + 2)));
            _mm_storeu_si128((__m128i *)(q1 + b * 16), _mm_loadu_si128((const __m128i *)(blk + 18)));
        } else {
            _mm256_storeu_si256((__m256i *)(q0 + b * 32), _mm256_loadu_si256((const __m256i *)(blk + 2)));
        }
    }
    memset(q0 + nb * qpb, 0, 128);
    if (two_halves) memset(q1 + nb * 16, 0, 128);
    memset(d + nb, 0, 16 * sizeof(float));

    const int64_t bytes = nb * bs, n_chunks = (bytes + 63) / 64;
    const int rem = (int)(bytes - (n_chunks - 1) * 64); /* bytes of the last chunk, 1..64 */
    *tail = rem == 64 ? ~(__mmask64)0 : ((__mmask64)1 << rem) - 1;
    const __m512i off = _mm512_set1_epi8((char)offset);
    for (int64_t k = 0; k < n_chunks; k++) {
        const chunk_pattern *p = &pat[k % period];
        const int64_t blk0 = k / period * 32 + p->first_blk;
        const bool last = k == n_chunks - 1;
        const __mmask64 m = p->quant_mask & (last ? *tail : ~(__mmask64)0);
        const __mmask16 lanes = last ? (__mmask16)((1u << ((rem + 3) / 4)) - 1) : (__mmask16)0xffff;
        const __m512i idx = _mm512_loadu_si512(p->byte_idx);
        const uint8_t *s0 = q0 + blk0 * qpb;
        const __m512i a0 = _mm512_maskz_permutex2var_epi8(m, _mm512_loadu_si512(s0), idx,
                                                         _mm512_loadu_si512(s0 + 64));
        __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, a0);
        __m512i a1 = _mm512_setzero_si512();
        if (two_halves) {
            const uint8_t *s1 = q1 + blk0 * 16;
            a1 = _mm512_maskz_permutex2var_epi8(m, _mm512_loadu_si512(s1), idx,
                                                _mm512_loadu_si512(s1 + 64));
            sum = _mm512_dpbusd_epi32(sum, off, a1);
        }
        ch[k].a0 = a0;
        ch[k].a1 = a1;
        ch[k].init = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
        ch[k].dy = _mm512_maskz_permutexvar_ps(lanes, _mm512_loadu_si512(p->lane_blk),
                                               _mm512_loadu_ps(d + blk0));
        ch[k].dx_idx = _mm512_loadu_si512(p->dx_idx);
    }
    return n_chunks;
}

/* The integer dots of one row chunk raw against its activation c: q4_0
 * nibbles (low and high), q8_0 quants read as unsigned x + 128. */
#define DOT_Q4(raw, c)                                                                             \
    _mm512_dpbusd_epi32(_mm512_dpbusd_epi32((c)->init, _mm512_and_si512(raw, low4), (c)->a0),      \
                        _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4), (c)->a1)
#define DOT_Q8(raw, c) _mm512_dpbusd_epi32((c)->init, _mm512_xor_si512(raw, flip), (c)->a0)

/* One chunk of one row into acc: prev the row's chunk before (its scales
 * may be this chunk's lanes'), raw this one. */
#define CHUNK_STEP(acc, prev, raw, c, DOT)                                                         \
    do {                                                                                           \
        const __m512i p_ = DOT(raw, c);                                                            \
        const __m512 dx_ = _mm512_cvtph_ps(                                                        \
            _mm512_castsi512_si256(_mm512_permutex2var_epi16(prev, (c)->dx_idx, raw)));            \
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dx_, (c)->dy), _mm512_cvtepi32_ps(p_), acc);           \
        prev = raw;                                                                                \
    } while (0)

/* The start of a kernel call: the first `ahead` bytes of the rows at w
 * (what the loop's own prefetches will not cover) are prefetched at once
 * rather than waited for line by line. */
#define GEMV512_PREFETCH_AHEAD(w, AHEAD)                                                            \
    do {                                                                                            \
        size_t ahead_ = (AHEAD);                                                                    \
        if (ahead_ > (size_t)n_rows * row_bytes) ahead_ = (size_t)n_rows * row_bytes;               \
        for (size_t o = 0; o < ahead_; o += 64)                                                     \
            _mm_prefetch((const char *)(w) + o, _MM_HINT_T0);                                       \
    } while (0)

/* A prepared activation (mote_gemv_prep): this header, then the chunks'
 * layouts, 64-byte aligned. */
typedef struct prep_head {
    int64_t nf;      /* chunks [0, nf) whole loads, chunk nf the masked last */
    __mmask64 tail;  /* the last chunk's byte mask */
    uint8_t pad[48];
} prep_head;
_Static_assert(sizeof(prep_head) == 64, "the chunks after the header stay 64-byte aligned");

/* One row (at w0) into OUT: its chunks in order from a zero accumulator;
 * PF: each step prefetches the line PF bytes ahead (0: none). */
#define GEMV512_ROW(DOT, PF, OUT)                                                                   \
    do {                                                                                            \
        __m512 a0 = _mm512_setzero_ps();                                                            \
        __m512i p0 = _mm512_setzero_si512(); /* chunk 0 takes no scale from before */               \
        for (int64_t k = 0; k <= nf; k++) {                                                         \
            if (PF) _mm_prefetch((const char *)(w0 + (size_t)k * 64 + (PF)), _MM_HINT_T0);          \
            const __m512i raw_ = k < nf ? _mm512_loadu_si512(w0 + (size_t)k * 64)                   \
                                        : _mm512_maskz_loadu_epi8(tail, w0 + (size_t)k * 64);       \
            CHUNK_STEP(a0, p0, raw_, &ch[k], DOT);                                                  \
        }                                                                                           \
        OUT = _mm512_reduce_add_ps(a0);                                                             \
    } while (0)

/* Both kernels: several rows at a time sharing each chunk's activation
 * side (its loads; what is left per row is the weights' own work, for
 * q4_0 the costlier unpacking), taken from the parts of a block's rows
 * (q4_0: thirds, row i of each; q8_0: halves; blocks of about 1 MiB,
 * simd.h), so they are linear streams up to a few hundred KiB apart,
 * each step prefetching each stream's line PF bytes on
 * (the last chunk's step included, so no line is left to a miss). The
 * parts' last rows, where they differ in length, go two or one at a time
 * with the same steps.
 *
 * Three streams for q4_0, two for q8_0 (Xeon host, 2026-11-27): decoding
 * in one process, 15 rounds each, three against two: q4_0 1.023 x, 1.026,
 * 1.023 in three series (quartiles about 1.015, 1.04), q8_0 1.001, 1.006,
 * 0.990; over 512 MiB of rows (two threads, a barrier a matrix) q4_0
 * 1.020-1.031, q8_0 1.048-1.065, four streams 0.93-0.97 for both. Why q8_0
 * gains in the loop and not in decoding is open; its layout per row is
 * twice q4_0's (320 bytes a chunk: 30 KiB of L1 for w_down's 5632
 * columns), a guess.
 *
 * How it came to this, on two hosts of the development machine. On the
 * Zen 5 host (about 48 GB/s on two threads, 24 a core): q4_0 four
 * adjacent rows at a time decoded 75 tokens/s against 61 with one row;
 * q8_0 one row at a time with its software prefetch about 0.95 of the
 * bandwidth roofline against 0.8 with q4_0's four rows and 0.6 without
 * the prefetch; taking q8_0's rows from the call's two halves in turn
 * (two streams far apart keep more lines in flight per core: one thread
 * streamed at most about 22 GB/s with one, against about 27 of plain
 * reads) tg roofline 0.87-0.97 (median 0.94) against 0.85-0.88 (0.86),
 * four rounds; four streams (the quarters) 0.80-0.84 against 0.91-0.95.
 * On the Xeon host (about 30 GB/s, 15 a core; alternating 32-token
 * decoding rounds in one process, 8-12 rounds, medians): q4_0 four
 * adjacent rows (T0 prefetch two groups ahead) 35 tokens/s, one row 48,
 * two adjacent rows 46, then in another series two adjacent rows 51.4,
 * this scheme 60.2 (1.17 x; 2 KiB ahead 1.00 x 3, 4 KiB 0.96); one thread
 * from the last-level cache (bench/kernels, 16 MiB): four adjacent rows
 * 26.7-27.5 GB/s, two 25.5-27.7, one 23.0-23.7, this scheme 29.4. q8_0:
 * this scheme 1.022 x one row from each half in turn (10 rounds; quartiles
 * 1.016, 1.024); for one row, 3 KiB ahead 1.04 x 4 KiB, 2 KiB 0.97, 6 KiB
 * 0.95, an L2 prefetch (T1) 0.97-1.00 x T0, the barrier read-ahead 0, 64
 * or 128 KiB level. Also tried for two adjacent q4_0 rows, all slower: an
 * L2 prefetch (0.93), the distance counted from the pair's second row
 * (0.93), an L2 prefetch 6-12 KiB ahead on top (0.90-0.95). */
/* The distance PF of each kernel's prefetches. q8_0's two streams, 2 KiB
 * against the 3 KiB q4_0's three keep (2026-11-27, Xeon host, decoding in
 * one process, 2 threads, 16-24 rounds of 16 tokens each, medians of the
 * per-round ratios to 3 KiB): only the loop's distance moved, 1.5 KiB
 * 1.012, 2 KiB 1.021 / 1.003 / 1.017, 2.5 KiB 1.012, 4 and 5 KiB 0.965;
 * this build (the call's first prefetches 2 KiB too) 1.003 and 1.014 at
 * 8-24 positions, 1.007 at 96-112. q4_0's three streams, the loop alone
 * at 2 KiB: 1.008 / 1.008 / 1.004 (2.5 KiB 1.011 / 1.007), but the whole
 * change 1.004 and 1.001 (first quartiles 0.988-0.989): left at 3 KiB. */
#define Q4_PF_AHEAD 3072
#define Q8_PF_AHEAD 2048
/* Rows ra and rb (in scope) together into OUT_A and OUT_B: their chunks in
 * order, each step prefetching both streams, the last chunk a masked load.
 * Each row gets GEMV512_ROW's steps exactly. Each stream's prefetch is
 * pinned (simd.h, MOTE_PIN) right before its chunk's step, where both
 * stood at the step's top before (unpinned, the same interleaving had
 * measured level: 0.996-1.004): q8_0 decoding, alternating 16-token rounds in one
 * process, 1.015 / 1.011 / 1.014 x (21-25 rounds, quartiles 1.007-1.026),
 * on a LLaMA-7B shape 1.007 (9 rounds; Xeon host, 2026-11-27). The same
 * in GEMV512_THREE_ROWS measured q4_0 0.994 and 0.980, so it is not done
 * there (q4_0 takes this macro only for a block's last rows). */
#define GEMV512_TWO_ROWS(DOT, PF, OUT_A, OUT_B)                                                     \
    do {                                                                                            \
        const uint8_t *w0 = w + (size_t)ra * row_bytes, *w1 = w + (size_t)rb * row_bytes;           \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;                                                   \
        __m512i p0 = _mm512_setzero_si512(), p1 = p0;                                               \
        for (int64_t k = 0; k < nf; k++) {                                                          \
            const size_t o = (size_t)k * 64;                                                        \
            _mm_prefetch((const char *)(w0 + o + (PF)), _MM_HINT_T0);                               \
            MOTE_PIN;                                                                               \
            CHUNK_STEP(a0, p0, _mm512_loadu_si512(w0 + o), &ch[k], DOT);                            \
            MOTE_PIN;                                                                               \
            _mm_prefetch((const char *)(w1 + o + (PF)), _MM_HINT_T0);                               \
            MOTE_PIN;                                                                               \
            CHUNK_STEP(a1, p1, _mm512_loadu_si512(w1 + o), &ch[k], DOT);                            \
        }                                                                                           \
        const size_t o = (size_t)nf * 64;                                                           \
        _mm_prefetch((const char *)(w0 + o + (PF)), _MM_HINT_T0);                                   \
        _mm_prefetch((const char *)(w1 + o + (PF)), _MM_HINT_T0);                                   \
        CHUNK_STEP(a0, p0, _mm512_maskz_loadu_epi8(tail, w0 + o), &ch[nf], DOT);                    \
        CHUNK_STEP(a1, p1, _mm512_maskz_loadu_epi8(tail, w1 + o), &ch[nf], DOT);                    \
        OUT_A = _mm512_reduce_add_ps(a0);                                                           \
        OUT_B = _mm512_reduce_add_ps(a1);                                                           \
    } while (0)

/* Rows ra, rb and rc (in scope) together into OUT_A, OUT_B and OUT_C, as
 * GEMV512_TWO_ROWS does two: each row GEMV512_ROW's steps exactly. */
#define GEMV512_THREE_ROWS(DOT, PF, OUT_A, OUT_B, OUT_C)                                            \
    do {                                                                                            \
        const uint8_t *w0 = w + (size_t)ra * row_bytes, *w1 = w + (size_t)rb * row_bytes;           \
        const uint8_t *w2 = w + (size_t)rc * row_bytes;                                             \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0;                                          \
        __m512i p0 = _mm512_setzero_si512(), p1 = p0, p2 = p0;                                      \
        for (int64_t k = 0; k < nf; k++) {                                                          \
            const size_t o = (size_t)k * 64;                                                        \
            _mm_prefetch((const char *)(w0 + o + (PF)), _MM_HINT_T0);                               \
            _mm_prefetch((const char *)(w1 + o + (PF)), _MM_HINT_T0);                               \
            _mm_prefetch((const char *)(w2 + o + (PF)), _MM_HINT_T0);                               \
            CHUNK_STEP(a0, p0, _mm512_loadu_si512(w0 + o), &ch[k], DOT);                            \
            CHUNK_STEP(a1, p1, _mm512_loadu_si512(w1 + o), &ch[k], DOT);                            \
            CHUNK_STEP(a2, p2, _mm512_loadu_si512(w2 + o), &ch[k], DOT);                            \
        }                                                                                           \
        const size_t o = (size_t)nf * 64;                                                           \
        _mm_prefetch((const char *)(w0 + o + (PF)), _MM_HINT_T0);                                   \
        _mm_prefetch((const char *)(w1 + o + (PF)), _MM_HINT_T0);                                   \
        _mm_prefetch((const char *)(w2 + o + (PF)), _MM_HINT_T0);                                   \
        CHUNK_STEP(a0, p0, _mm512_maskz_loadu_epi8(tail, w0 + o), &ch[nf], DOT);                    \
        CHUNK_STEP(a1, p1, _mm512_maskz_loadu_epi8(tail, w1 + o), &ch[nf], DOT);                    \
        CHUNK_STEP(a2, p2, _mm512_maskz_loadu_epi8(tail, w2 + o), &ch[nf], DOT);                    \
        OUT_A = _mm512_reduce_add_ps(a0);                                                           \
        OUT_B = _mm512_reduce_add_ps(a1);                                                           \
        OUT_C = _mm512_reduce_add_ps(a2);                                                           \
    } while (0)

/* How a block's rows are split into streams read side by side (STREAMS of
 * DEF_GEMV512_RUN): their first rows into first[] (stream k to first[k +
 * 1], the last to n_rows). Three parts of n_a >= n_b >= n_c rows, n_a -
 * n_c <= 1; or two halves, the first rounded up. */
static int gemv512_thirds(int64_t n_rows, int64_t first[]) {
    const int64_t n_a = (n_rows + 2) / 3, n_b = (n_rows - n_a + 1) / 2;
    first[0] = 0, first[1] = n_a, first[2] = n_a + n_b;
    return 3;
}
static int gemv512_halves(int64_t n_rows, int64_t first[]) {
    first[0] = 0, first[1] = (n_rows + 1) / 2;
    return 2;
}

/* The mote_gemv_prep streams entries: the streams a call of n_rows >= 1
 * rows starts with, those of its first block (simd.h,
 * MOTE_GEMV_BLOCK_BYTES): their first rows into first[0 .. k) and the
 * block's end into first[k] (k + 1 entries: 4 for thirds, 3 for halves);
 * returns k. */
static int64_t gemv512_first_block_rows(int64_t n_rows, size_t row_bytes) {
    return mote__gemv_block_first(1, mote__gemv_block_count(n_rows, row_bytes), n_rows);
}
static int gemv512_call_thirds(int64_t n_rows, size_t row_bytes, int64_t first[]) {
    const int64_t end = gemv512_first_block_rows(n_rows, row_bytes);
    first[3] = end;
    return gemv512_thirds(end, first);
}
static int gemv512_call_halves(int64_t n_rows, size_t row_bytes, int64_t first[]) {
    const int64_t end = gemv512_first_block_rows(n_rows, row_bytes);
    first[2] = end;
    return gemv512_halves(end, first);
}

/* Each kernel is a loop over the rows given the chunks' layout (NAME_run),
 * called by the gemv entry after laying out the activation on the stack
 * (rows longer than that layout go to the plain AVX2 kernel) and by the
 * prepared entry with the caller's layout (DEF_GEMV512_ENTRIES); both
 * prefetch the start of the rows first (the first stream's; NAME_block the
 * other streams' of each block). NAME_run reads the call's blocks in
 * order (simd.h, MOTE_GEMV_BLOCK_BYTES), NAME_block one block. DOT is the
 * type's chunk dot, which reads the constant KNAME (all bytes KBYTE:
 * q4_0's nibble mask, q8_0's sign flip); STREAMS splits a block's rows
 * (gemv512_thirds or gemv512_halves). The rows' results reach y in bursts
 * of MOTE_GEMV_OUT_ROWS a stream (simd.h). */
#define DEF_GEMV512_RUN(NAME, DOT, KNAME, KBYTE, STREAMS, PF)                                       \
    TARGET_512Q static inline __attribute__((always_inline)) void NAME##_block(                     \
        const uint8_t *w, size_t row_bytes, int64_t n_rows, const chunk_act *ch, int64_t nf,        \
        __mmask64 tail, float *y) {                                                                 \
        const __m512i KNAME = _mm512_set1_epi8((char)(KBYTE));                                      \
        int64_t first[MOTE_GEMV_MAX_STREAMS];                                                       \
        const int n_s = STREAMS(n_rows, first);                                                     \
        const int64_t end_b = n_s > 2 ? first[2] : n_rows; /* the second stream's end */           \
        const int64_t n_a = first[1], n_b = end_b - first[1], n_c = n_rows - end_b;                 \
        const uint8_t *wb = w + (size_t)first[1] * row_bytes;                                       \
        const uint8_t *wc = w + (size_t)end_b * row_bytes;                                          \
        for (size_t o = 0; o < (PF); o += 64) {                                                     \
            if (n_b) _mm_prefetch((const char *)(wb + o), _MM_HINT_T0);                             \
            if (n_c) _mm_prefetch((const char *)(wc + o), _MM_HINT_T0);                             \
        }                                                                                           \
        float oa[MOTE_GEMV_OUT_ROWS], ob[MOTE_GEMV_OUT_ROWS], oc[MOTE_GEMV_OUT_ROWS];               \
        for (int64_t i0 = 0; i0 < n_a; i0 += MOTE_GEMV_OUT_ROWS) {                                  \
            const int64_t i1 = n_a - i0 > MOTE_GEMV_OUT_ROWS ? i0 + MOTE_GEMV_OUT_ROWS : n_a;       \
            const int64_t b1 = i1 < n_b ? i1 : n_b, c1 = i1 < n_c ? i1 : n_c;                       \
            for (int64_t i = i0; i < c1; i++) {                                                     \
                const int64_t ra = i, rb = n_a + i, rc = n_a + n_b + i;                             \
                GEMV512_THREE_ROWS(DOT, PF, oa[i - i0], ob[i - i0], oc[i - i0]);                    \
            }                                                                                       \
            for (int64_t i = c1 > i0 ? c1 : i0; i < b1; i++) {                                      \
                const int64_t ra = i, rb = n_a + i;                                                 \
                GEMV512_TWO_ROWS(DOT, PF, oa[i - i0], ob[i - i0]);                                  \
            }                                                                                       \
            for (int64_t i = b1 > i0 ? b1 : i0; i < i1; i++) { /* the first part's last row */      \
                const uint8_t *w0 = w + (size_t)i * row_bytes;                                      \
                GEMV512_ROW(DOT, PF, oa[i - i0]);                                                   \
            }                                                                                       \
            memcpy(y + i0, oa, (size_t)(i1 - i0) * sizeof(float));                                  \
            if (b1 > i0) memcpy(y + n_a + i0, ob, (size_t)(b1 - i0) * sizeof(float));               \
            if (c1 > i0) memcpy(y + n_a + n_b + i0, oc, (size_t)(c1 - i0) * sizeof(float));         \
        }                                                                                           \
    }                                                                                               \
    TARGET_512Q static void NAME##_run(const uint8_t *w, size_t row_bytes, int64_t n_rows,          \
                                       const chunk_act *ch, int64_t nf, __mmask64 tail, float *y) { \
        const int64_t nb = mote__gemv_block_count(n_rows, row_bytes);                               \
        for (int64_t b = 0; b < nb; b++) {                                                          \
            const int64_t r0 = mote__gemv_block_first(b, nb, n_rows);                               \
            const int64_t r1 = mote__gemv_block_first(b + 1, nb, n_rows);                           \
            NAME##_block(w + (size_t)r0 * row_bytes, row_bytes, r1 - r0, ch, nf, tail, y + r0);     \
        }                                                                                           \
    }

/* The entries of a kernel around NAME_run: the gemv (mote_gemv_fn), and
 * for mote_gemv_prep the layout's size, the layout, the prepared gemv and
 * their table (with the streams of a call's first block, the read-ahead
 * and the lane chunk). */
#define DEF_GEMV512_ENTRIES(NAME, BS, PAT, PERIOD, TWO, OFFSET, FALLBACK_TYPE, AHEAD, STREAMS, LANES) \
    TARGET_512Q static void NAME(int64_t n, const void *vw, size_t row_bytes, int64_t n_rows,       \
                                 const void *vact, float *y) {                                      \
        const int64_t nb = n / 32;                                                                  \
        if (nb > GEMV512_MAX_BLOCKS) {                                                              \
            mote__gemv_x86_variant(FALLBACK_TYPE, 0)(n, vw, row_bytes, n_rows, vact, y);            \
            return;                                                                                 \
        }                                                                                           \
        GEMV512_PREFETCH_AHEAD(vw, AHEAD); /* in flight while the activation is laid out */        \
        chunk_act ch[(GEMV512_MAX_BLOCKS * BS + 63) / 64];                                          \
        __mmask64 tail;                                                                             \
        const int64_t nf = act_layout(vact, nb, PAT, PERIOD, BS, TWO, OFFSET, ch, &tail) - 1;       \
        NAME##_run(vw, row_bytes, n_rows, ch, nf, tail, y);                                         \
    }                                                                                               \
    static size_t NAME##_prep_bytes(int64_t n) {                                                    \
        const int64_t nb = n / 32;                                                                  \
        if (nb < 1 || nb > GEMV512_MAX_BLOCKS) return 0;                                            \
        return sizeof(prep_head) + (size_t)((nb * BS + 63) / 64) * sizeof(chunk_act);               \
    }                                                                                               \
    TARGET_512Q static void NAME##_prepare(int64_t n, const void *vact, void *prep) {               \
        prep_head *h = prep;                                                                        \
        h->nf = act_layout(vact, n / 32, PAT, PERIOD, BS, TWO, OFFSET, (chunk_act *)(h + 1),        \
                           &h->tail) - 1;                                                           \
    }                                                                                               \
    TARGET_512Q static void NAME##_prepared(int64_t n, const void *vw, size_t row_bytes,            \
                                            int64_t n_rows, const void *prep, float *y) {           \
        (void)n;                                                                                    \
        GEMV512_PREFETCH_AHEAD(vw, AHEAD);                                                          \
        const prep_head *h = prep;                                                                  \
        NAME##_run(vw, row_bytes, n_rows, (const chunk_act *)(h + 1), h->nf, h->tail, y);           \
    }                                                                                               \
    static const mote_gemv_prep NAME##_prep = {NAME##_prep_bytes, NAME##_prepare, NAME##_prepared,   \
                                               STREAMS, READ_AHEAD_BYTES, LANES};

DEF_GEMV512_RUN(gemv_q4_0_avx512, DOT_Q4, low4, 0x0f, gemv512_thirds, Q4_PF_AHEAD)
DEF_GEMV512_RUN(gemv_q8_0_avx512, DOT_Q8, flip, 0x80, gemv512_halves, Q8_PF_AHEAD)

/* What a thread waiting for its next call reads ahead of each stream
 * (mote_gemv_prep): in alternating decoding rounds in one process, q4_0
 * 1.021 (first and third quartiles of 150 rounds 1.002, 1.035) of the
 * speed without, 1.050 with the prepared activation too; q8_0 1.016.
 * 64 KiB measured about the same. */
#define READ_AHEAD_BYTES (128u << 10)

/* One token's q4_0 and q8_0 products go by lanes (mote_gemv_prep's
 * lane_chunk; src/model/llama.c, group_matmul_lanes): q4_0 in chunks of
 * 640 KiB, q8_0 of 512 KiB. Alternating 16-token decoding rounds in one
 * process, 2 threads, medians of the per-round ratios to the claims (Xeon
 * host, 2026-11-27). Before the blocks (simd.h, MOTE_GEMV_BLOCK_BYTES), on
 * TinyLlama's shape: q4_0 chunks of 384 KiB 1.013, 512 KiB 1.050, 640 KiB
 * 1.072, 1.045 and 1.037, 768 KiB 1.064, 1 MiB 1.021, 1.5 MiB 1.040; q8_0
 * 384 KiB 1.014, 512 KiB 1.038, 640 KiB 1.031 and 1.016, 768 KiB 1.036,
 * 1 MiB 0.993, 1.5 MiB 0.956. On a LLaMA-7B shape (4096 columns) q4_0
 * 1.041 at 640 KiB (1.006 at 1280), but q8_0 0.979 at 640 KiB, so q8_0
 * stayed on the claims then. With the blocks, q8_0: TinyLlama 512 KiB
 * 1.013 (21 rounds), 640 KiB 1.000 and 1.009, 768 KiB 0.996; 7B shape
 * 512 KiB 1.020 and 1.017 (9 and 11 rounds), 640 KiB 0.991, 1.006 and
 * 1.009. With a competing process on the same 2 CPUs (busy 1 ms in 10, or
 * 0.3 ms in 5.3: what a desktop's background work does to a thread),
 * q8_0 512 KiB 1.038 and 1.032, 640 KiB 1.046, 1.050 and 1.033: a thread
 * the OS delays holds one chunk, not 90% of its share. Why lanes win in
 * a quiet moment is not measured (no hardware counters on that host): a
 * thread's streams lie within one chunk instead of megabytes apart, and
 * the read-ahead at the barrier covers much of the first chunk (three
 * streams x 128 KiB of 640 KiB for q4_0, two x 128 KiB of 512 KiB for
 * q8_0). The
 * f16 kernel has no prepared entry; with one (the activation converted
 * once, the read-ahead at the barriers) and lanes of 640 KiB, 1 MiB and
 * 2 MiB it measured 0.986, 0.995 and 0.987, and with the competing
 * process 0.983 (1 MiB), so f16 stays on the claims. */
#define Q4_LANE_CHUNK (640u << 10)
#define Q8_LANE_CHUNK (512u << 10)

DEF_GEMV512_ENTRIES(gemv_q4_0_avx512, Q4_BS, g_pat_q4, Q4_PERIOD, true, 8, MOTE_TYPE_Q4_0,
                    Q4_PF_AHEAD, gemv512_call_thirds, Q4_LANE_CHUNK)
DEF_GEMV512_ENTRIES(gemv_q8_0_avx512, Q8_BS, g_pat_q8, Q8_PERIOD, false, 128, MOTE_TYPE_Q8_0,
                    Q8_PF_AHEAD, gemv512_call_halves, Q8_LANE_CHUNK)

static pthread_once_t g_pat_once = PTHREAD_ONCE_INIT;
static void patterns_init(void) {
    patterns_build(g_pat_q4, Q4_PERIOD, Q4_BS, 16);
    patterns_build(g_pat_q8, Q8_PERIOD, Q8_BS, 32);
}

/* AVX-512 with VNNI, BW, VL and VBMI (VPERMT2B). */
static bool has_avx512_q(void) {
    const mote_cpu_features *f = mote__cpu_features();
    return f->avx512f && f->avx512_vnni && f->avx512bw && f->avx512vl && f->avx512vbmi;
}

mote_gemv_fn mote__gemv_avx512_q(uint32_t type) {
    if (!mote__isa_supported(MOTE_ISA_AVX2) || !has_avx512_q()) return NULL;
    pthread_once(&g_pat_once, patterns_init);
    return type == MOTE_TYPE_Q4_0 ? gemv_q4_0_avx512 : type == MOTE_TYPE_Q8_0 ? gemv_q8_0_avx512 : NULL;
}

const mote_gemv_prep *mote__gemv_avx512_q_prep(uint32_t type) {
    if (!mote__gemv_avx512_q(type)) return NULL;
    return type == MOTE_TYPE_Q4_0 ? &gemv_q4_0_avx512_prep : &gemv_q8_0_avx512_prep;
}

#endif /* __x86_64__ */
