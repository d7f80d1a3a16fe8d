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

/* The x86 gemv kernels hand their rows' results to y in bursts: each
 * output stream collects up to this many floats in a buffer on the stack
 * (which stays in L1) and copies them out when it is full and at the end
 * of the call (the AVX-512 kernels: of each block). Why: a store of each
 * row's result straight into y, whose lines the weight stream has pushed
 * out of L1 by then, slowed the stream
 * by 7-8% on the development machine's Xeon host. Measured there with a
 * read-only loop of the AVX-512 kernels' shape (two rows from the call's
 * halves, the same prefetch), one thread, 512 MiB of q4_0 rows: 16.3-17.2
 * GB/s storing each row's sum into y, 17.5-18.8 with no stores or with
 * every store to one L1-resident place; bursts of 64, 256, 1024 or 4096
 * rows 1.007, 1.037, 1.061, 1.021 x the row-by-row stores (two threads:
 * 1.027, 1.059, 1.071, 1.077). A prefetch for writing 8 rows ahead did
 * not help (1.009), so it is not the stores' latency alone; without
 * hardware counters on that VM the cause is not pinned down. Decoding,
 * alternating 16-token rounds in one process, 2 threads, bursts against
 * row-by-row stores: AVX-512 q4_0 1.044 x (quartiles 1.032, 1.061; 21
 * rounds), q8_0 1.051 x (1.043, 1.062; 15 rounds), f16 1.012 x (1.008,
 * 1.020; 15 rounds: a row is 4 KiB, so a quarter as many stores a byte);
 * for q4_0 bursts of 256 and 4096 rows level with 1024 (1.014, 1.004), 64
 * slower (0.986). The AVX2 kernels over the same 512 MiB, two threads,
 * calls split into bursts of 1024: q4_0 1.057 x (VNNI 1.065), q8_0 1.023
 * x (VNNI 1.010). Then 256 against 1024 (15 rounds each): q8_0 1.015 x
 * (quartiles 1.008, 1.025), q4_0 1.001, 128 no better; at 256 the buffer
 * (1 KiB a stream) is back in use before the stream has pushed it out of
 * L2 (q8_0: 1.1 MiB of weights between its uses, against 4.4 at 1024). */
#define MOTE_GEMV_OUT_ROWS 256

/* A compiler barrier for the streaming gemv kernels: no memory access
 * moves across it, so a software prefetch between two of them is emitted
 * where the source puts it (GCC otherwise moves prefetches, towards the
 * top of a loop's step; the kernels say what their place measured). It
 * emits no instruction. */
#define MOTE_PIN __asm__ volatile("" ::: "memory")

/* The AVX-512 gemv kernels (f16, q4_0, q8_0) read a call's rows in blocks
 * of about MOTE_GEMV_BLOCK_BYTES of weights, one block after the other,
 * and split each block, not the whole call, into their side-by-side
 * streams (halves or thirds): a thread's streams then lie within a
 * megabyte of each other instead of up to half its share of a matrix
 * apart. Why that is faster is not measured (no hardware counters on the
 * development VM). What was measured there (Xeon host, 2026-11-27):
 * alone, two threads each streaming half of 1 GiB of f16 rows of 2048
 * columns through the kernel in calls of 32, 128, 256, 512, 1024 rows or
 * one call: 0.935, 0.956, 0.968, 0.963, 0.954 and 0.949 of the bandwidth
 * meter (medians of 7 rounds). Decoding synthetic TinyLlama models in
 * one process, alternating 16-token rounds, medians of the per-round
 * ratios to whole calls: f16 blocks of 512 KiB 1.003, 768 KiB 1.013,
 * 1 MiB 1.016 and 1.020, 1.5 MiB 1.015, 2 MiB 1.013 (2 threads), 1 MiB
 * 1.021 (1 thread); q8_0 512 KiB 1.018, 1 MiB 1.016, 2 MiB 0.992 (2
 * threads), 1 MiB 1.014 (1 thread), and on a LLaMA-7B shape 1 MiB 1.009;
 * q4_0 1 MiB 1.005 with its lanes of 640 KiB (src/model/llama.c: calls
 * of at most a chunk, mostly one block), 1.032 on one thread. This code
 * against one block a call, 2 threads, 14 rounds: f16 1.024, q8_0 1.019,
 * q4_0 1.017 (quartiles 1.011-1.034, 1.004-1.055, 0.988-1.048).
 * src/core/membw.c's MEMBW_BLOCK_WORDS reads as the kernels do: keep the
 * two equal. */
#define MOTE_GEMV_BLOCK_BYTES ((size_t)1 << 20)

/* The blocks of a call of n_rows >= 1 rows of row_bytes each: its bytes
 * over MOTE_GEMV_BLOCK_BYTES rounded up, at least 1 and at most n_rows
 * (n_rows 0: one empty block, which the kernels' loops skip).
 * Block b of nb is rows [mote__gemv_block_first(b, nb, n_rows),
 * mote__gemv_block_first(b + 1, nb, n_rows)): sizes differ by one row at
 * most. */
static inline int64_t mote__gemv_block_count(int64_t n_rows, size_t row_bytes) {
    const size_t bytes = (size_t)n_rows * row_bytes;
    const int64_t nb = (int64_t)((bytes + MOTE_GEMV_BLOCK_BYTES - 1) / MOTE_GEMV_BLOCK_BYTES);
    return nb < 1 ? 1 : nb > n_rows ? n_rows : nb;
}
static inline int64_t mote__gemv_block_first(int64_t b, int64_t nb, int64_t n_rows) {
    return b * n_rows / nb;
}

/* The one-output-stream form, for a kernel writing y[r] for r = 0, 1, ...
 * n_rows - 1 in order: GEMV_OUT_DECL in the kernel's scope, GEMV_OUT_PUT(r,
 * value) for each row, GEMV_OUT_END(n_rows) after the last. */
#define GEMV_OUT_DECL                                                                              \
    float gemv_out_[MOTE_GEMV_OUT_ROWS];                                                           \
    int64_t gemv_out_base_ = 0
#define GEMV_OUT_PUT(r, value)                                                                     \
    do {                                                                                           \
        gemv_out_[(r) - gemv_out_base_] = (value);                                                 \
        if ((r) - gemv_out_base_ == MOTE_GEMV_OUT_ROWS - 1) {                                      \
            memcpy(y + gemv_out_base_, gemv_out_, sizeof gemv_out_);                               \
            gemv_out_base_ += MOTE_GEMV_OUT_ROWS;                                                  \
        }                                                                                          \
    } while (0)
#define GEMV_OUT_END(n_rows)                                                                       \
    memcpy(y + gemv_out_base_, gemv_out_, (size_t)((n_rows) - gemv_out_base_) * sizeof(float))
#endif
#if defined(__aarch64__)
void mote__kernels_fill_neon_float(mote_kernel_table *tables);  /* arm/float_neon.c */
void mote__kernels_fill_neon_quant(mote_kernel_table *tables);  /* arm/quant_neon.c */
void mote__kernels_fill_neon_gemm(mote_kernel_table *tables);   /* arm/gemm_neon.c */
void mote__kernels_fill_neon_kquant(mote_kernel_table *tables); /* arm/kquant_neon.c */
#endif

#endif /* MOTE_KERNELS_SIMD_H */
