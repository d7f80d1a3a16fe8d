/* exp_avx2.h — e^x on 8 float lanes with AVX2 + FMA, shared by the f32
 * element-wise kernels (float_avx2.c: SwiGLU, softmax) and the training
 * ops (src/train/simd.h).
 *
 * Compiled through a target attribute, not build flags, so that files
 * built without -mavx2 (src/train/) can include it; callers must check the
 * CPU first (cpu.h), as every AVX2 path does. */
#ifndef MOTE_KERNELS_X86_EXP_AVX2_H
#define MOTE_KERNELS_X86_EXP_AVX2_H

#include <immintrin.h>

/* e^x, 8 lanes: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two parts
 * so that n ln2 subtracts exactly), e^r by a degree-6 polynomial (Taylor's
 * coefficients adjusted for the interval, as in Cephes' expf), times 2^n
 * built in the exponent bits; within ~2 ulp of expf. Inputs below -87.3
 * give 0, above 88 give e^88 (finite); a NaN lane gives a finite value
 * (callers that care keep the NaN by other operands, as SwiGLU's x / (1 +
 * e^-x) does). */
static inline __attribute__((target("avx2,fma"))) __m256 mote__exp8_avx2(__m256 x) {
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

#endif /* MOTE_KERNELS_X86_EXP_AVX2_H */
