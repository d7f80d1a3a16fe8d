/* cpu.h — what the CPU can run, found at run time, and the instruction-set
 * levels the kernel tables are built for.
 *
 * x86-64 reads CPUID and XGETBV (the OS must save the YMM state for AVX2 to
 * be usable); aarch64 reads getauxval(AT_HWCAP). Nothing here is decided at
 * compile time by -march: one binary runs on any CPU of its architecture.
 * The environment variable MOTE_ISA (scalar, avx2, neon) lowers the level
 * the kernel tables use, for tests and benchmarks.
 *
 * Not here: the kernels (src/kernels/x86, src/kernels/arm), the tables
 * (dispatch.c).
 */
#ifndef MOTE_CPU_H
#define MOTE_CPU_H

#include <stdbool.h>

/* Kernel levels, lowest first. A level is usable when the CPU has every
 * feature its kernels were compiled for and this build contains them. */
typedef enum mote_isa {
    MOTE_ISA_SCALAR = 0, /* the reference kernels of src/tensor/quant_ref.c */
    MOTE_ISA_AVX2 = 1,   /* x86-64 with AVX2 + FMA + F16C (src/kernels/x86) */
    MOTE_ISA_NEON = 2,   /* aarch64 with the dot-product extension (src/kernels/arm) */
    MOTE_ISA_COUNT
} mote_isa;

/* Features found on this CPU (all false on other architectures). Filled on
 * first call; thread-safe. The AVX-512/VNNI fields choose variants of the
 * gemm and gemv kernels (x86/gemm_avx2.c, x86/gemv_avx2.c); no table level
 * is built on them. */
typedef struct mote_cpu_features {
    bool avx2, fma, f16c;         /* each also requires the OS to save YMM */
    bool avx512f, avx512_vnni, avx_vnni;
    bool avx512vl, avx512bw;      /* with avx512f (the gemm's AVX-512 variant) */
    bool avx512vbmi;              /* with avx512f (the q4_0 gemv's AVX-512 variant) */
    bool neon, dotprod, fp16;     /* aarch64: ASIMD, ASIMDDP, FPHP+ASIMDHP */
} mote_cpu_features;

const mote_cpu_features *mote__cpu_features(void);

/* True when `isa`'s kernels are in this build and the CPU runs them
 * (MOTE_ISA_SCALAR always). */
bool mote__isa_supported(mote_isa isa);

/* The level the kernel tables use: the best supported one, or the one
 * MOTE_ISA names if that is supported (an unknown or unsupported name is
 * ignored). Read once; thread-safe. */
mote_isa mote__isa_active(void);

/* The level MOTE_ISA = `env` would select (env NULL or empty: none set):
 * what mote__isa_active computes from the real environment, exposed so the
 * tests can check the rule without a new process. */
mote_isa mote__isa_choose(const char *env);

/* "scalar", "avx2", "neon"; "unknown" out of range. */
const char *mote__isa_name(mote_isa isa);

#endif /* MOTE_CPU_H */
