/* simd.h — small AVX2 helpers shared by the training ops (src/train/):
 * a vector e^x (the kernels' one) and horizontal sum and max of 8 floats.
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
#include "../kernels/x86/exp_avx2.h"
#include <immintrin.h>
#define MOTE_TR_SIMD_X86 1
#define MOTE_TR_AVX2 __attribute__((target("avx2,fma")))

/* e^x, 8 lanes: the kernels' (src/kernels/x86/exp_avx2.h), within ~2 ulp
 * of expf. */
#define mote__tr_exp8 mote__exp8_avx2

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
