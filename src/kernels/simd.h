/* simd.h — the hooks by which each instruction-set folder of src/kernels
 * puts its kernels into a kernel table. Internal to src/kernels (and the
 * tests); callers use mote__kernels_for.
 *
 * Each fill function overrides the entries of `tables` (indexed by type id,
 * MOTE_TYPE_COUNT long, already holding the scalar kernels) for which it
 * has a kernel, and sets their `isa`. It must only be called when
 * mote__isa_supported says the CPU runs that level; on another
 * architecture the function does not exist (its file compiles to nothing).
 */
#ifndef MOTE_KERNELS_SIMD_H
#define MOTE_KERNELS_SIMD_H

#include "kernels.h"

#if defined(__x86_64__)
void mote__kernels_fill_avx2_float(mote_kernel_table *tables);  /* x86/float_avx2.c */
void mote__kernels_fill_avx2_quant(mote_kernel_table *tables);  /* x86/quant_avx2.c */
void mote__kernels_fill_avx2_gemm(mote_kernel_table *tables);   /* x86/gemm_avx2.c */
void mote__kernels_fill_avx2_kquant(mote_kernel_table *tables); /* x86/kquant_avx2.c */
void mote__kernels_fill_avx2_gemv(mote_kernel_table *tables);   /* x86/gemv_avx2.c */
/* The gemv kernel of a type by variant, for the tests: 0 plain AVX2, 1
 * AVX-VNNI, 2 AVX-512 (q4_0 and q8_0: VNNI, VBMI; f16: F, BW, VL). NULL
 * when the type has none or this CPU lacks the variant. */
mote_gemv_fn mote__gemv_x86_variant(uint32_t type, int variant);
/* The q4_0 and q8_0 gemv kernels with AVX-512 (x86/gemv_avx512.c); NULL
 * for another type or where this CPU lacks VNNI, BW, VL or VBMI. */
mote_gemv_fn mote__gemv_avx512_q(uint32_t type);
/* Their prepared entries (kernels.h, mote_gemv_prep); NULL where
 * mote__gemv_avx512_q is. */
const mote_gemv_prep *mote__gemv_avx512_q_prep(uint32_t type);
/* The f32 gemv_t kernel by variant, for the tests: 0 AVX2, 2 AVX-512 (F,
 * BW, VL); NULL for another variant or where this CPU lacks it. */
mote_gemv_t_fn mote__gemv_t_x86_variant(int variant);
#endif
#if defined(__aarch64__)
void mote__kernels_fill_neon_float(mote_kernel_table *tables);  /* arm/float_neon.c */
void mote__kernels_fill_neon_quant(mote_kernel_table *tables);  /* arm/quant_neon.c */
void mote__kernels_fill_neon_gemm(mote_kernel_table *tables);   /* arm/gemm_neon.c */
void mote__kernels_fill_neon_kquant(mote_kernel_table *tables); /* arm/kquant_neon.c */
#endif

#endif /* MOTE_KERNELS_SIMD_H */
