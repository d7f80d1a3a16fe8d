/* avx2_util.h — small AVX2 helpers shared by the x86 kernel files
 * (float_avx2.c, quant_avx2.c, kquant_avx2.c, gemv_avx2.c, gemm_avx2.c):
 * horizontal sum, unaligned f16 / bf16 loads, Q4/Q5 nibble and high-bit
 * unpacking.
 * Included only by files compiled with the x86 SIMD flags (the Makefile
 * gives them to src/kernels/x86/ alone); not a kernel table of its own. */
#ifndef MOTE_KERNELS_X86_AVX2_UTIL_H
#define MOTE_KERNELS_X86_AVX2_UTIL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#ifndef ALWAYS_INLINE
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#endif

/* The sum of v's 8 lanes. */
ALWAYS_INLINE float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Eight f16 (unaligned) -> eight f32. */
ALWAYS_INLINE __m256 load_f16x8(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* Eight bf16 (unaligned) -> eight f32: the bf16 bits are the top half of
 * the f32. */
ALWAYS_INLINE __m256 load_bf16x8(const uint16_t *p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

/* One bf16 as f32. */
ALWAYS_INLINE float bf16_scalar(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* out = x (n) . y (n), the float types' dot product in one fixed order:
 * four accumulators over steps of 32, then steps of 8 into the first, a
 * scalar tail, added (a0 + a1) + (a2 + a3) + tail. LOADX / LOADY turn 8
 * elements at a pointer into an __m256, SCALARX / SCALARY one element into
 * a float. vec_dot (float_avx2.c) and the f16/bf16 gemv (gemv_avx2.c)
 * both expand this, so their results are bit-identical. The _PF form runs
 * STEP(i) at the start of each step of 32 elements from i (the gemv's
 * software prefetch), which leaves the arithmetic as it is. */
#define AVX2_DOT_ORDERED(out, n, x, y, LOADX, LOADY, SCALARX, SCALARY)                           \
    AVX2_DOT_ORDERED_PF(out, n, x, y, LOADX, LOADY, SCALARX, SCALARY, AVX2_NO_STEP)
#define AVX2_NO_STEP(i) ((void)0)
#define AVX2_DOT_ORDERED_PF(out, n, x, y, LOADX, LOADY, SCALARX, SCALARY, STEP)                   \
    do {                                                                                         \
        __m256 d0_ = _mm256_setzero_ps(), d1_ = d0_, d2_ = d0_, d3_ = d0_;                       \
        int64_t i_ = 0;                                                                          \
        for (; i_ + 32 <= (n); i_ += 32) {                                                       \
            STEP(i_);                                                                            \
            d0_ = _mm256_fmadd_ps(LOADX((x) + i_), LOADY((y) + i_), d0_);                        \
            d1_ = _mm256_fmadd_ps(LOADX((x) + i_ + 8), LOADY((y) + i_ + 8), d1_);                \
            d2_ = _mm256_fmadd_ps(LOADX((x) + i_ + 16), LOADY((y) + i_ + 16), d2_);              \
            d3_ = _mm256_fmadd_ps(LOADX((x) + i_ + 24), LOADY((y) + i_ + 24), d3_);              \
        }                                                                                        \
        for (; i_ + 8 <= (n); i_ += 8) d0_ = _mm256_fmadd_ps(LOADX((x) + i_), LOADY((y) + i_), d0_); \
        float t_ = 0.0f;                                                                         \
        for (; i_ < (n); i_++) t_ += SCALARX((x)[i_]) * SCALARY((y)[i_]);                        \
        (out) = hsum256(_mm256_add_ps(_mm256_add_ps(d0_, d1_), _mm256_add_ps(d2_, d3_))) + t_;   \
    } while (0)
#define AVX2_F32_SCALAR(v) (v)

/* The f16 at p (any alignment) as f32. */
ALWAYS_INLINE float load_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* 16 bytes of nibbles -> 32 bytes: element j < 16 is the low nibble of
 * qs[j], element j + 16 its high nibble (GGML's q4/q5 order). */
ALWAYS_INLINE __m256i unpack_nibbles(const uint8_t *qs) {
    const __m128i lo = _mm_loadu_si128((const __m128i *)qs);
    const __m128i hi = _mm_srli_epi16(lo, 4);
    return _mm256_and_si256(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(0x0f));
}

/* 32 bits (little-endian bytes at qh) -> 32 bytes, byte j = 0xff if bit j
 * is set, else 0. Byte j is taken from qh byte j/8 and tested against
 * 1 << (j % 8). */
ALWAYS_INLINE __m256i expand_bits(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), pick);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

#endif
