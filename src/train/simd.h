/* simd.h — small AVX2 helpers shared by the training ops (src/train/):
 * a vector e^x and horizontal sum and max of 8 floats.
 *
 * Each function is compiled for AVX2+FMA through a target attribute, not
 * by build flags, so callers must first check at run time that the CPU has
 * them (src/kernels/cpu.h) — see attention.c and ops.c. Defines
 * MOTE_TR_SIMD_X86 where these exist (x86-64 with GCC or Clang). Not here:
 * the matmul tiles (matmul.c).
 */
#ifndef MOTE_TRAIN_SIMD_H
#define MOTE_TRAIN_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MOTE_TR_SIMD_X86 1
#define MOTE_TR_AVX2 __attribute__((target("avx2,fma")))

/* e^x, 8 lanes: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-6
 * polynomial (the Taylor coefficients, adjusted as in Cephes' expf), times
 * 2^n built in the exponent bits; within ~2 ulp of expf. Inputs below
 * -87.3 give 0, above 88 give e^88 (finite). */
static inline MOTE_TR_AVX2 __m256 mote__tr_exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, y);
}

static inline MOTE_TR_AVX2 float mote__tr_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline MOTE_TR_AVX2 float mote__tr_hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#endif
#endif /* MOTE_TRAIN_SIMD_H */
