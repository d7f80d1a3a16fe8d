/* gemm.c — the architecture-independent parts of the prompt matrix product
 * (the gemm entry of a kernel table, kernels.h): the per-block extras of
 * q8_0 activation rows that the SIMD gemm kernels read, and the scalar
 * reference gemm that defines their correct output.
 *
 * Not here: the SIMD gemm kernels (x86/gemm_avx2.c), the choice between the
 * gemm and the per-row path (matmul.c), threads.
 *
 * Why extras: the integer gemm kernels multiply unsigned weight bytes
 * (w + offset) by signed activation bytes, one instruction per 4 products
 * (VPDPBUSD / VPMADDUBSW need one operand unsigned), and subtract offset *
 * sum(a) per block afterwards; and they scale each block by an f32 product
 * of scales. Both per-block activation values are computed once here, when
 * the row is quantized, rather than once per weight tile.
 */
#include "kernels.h"
#include <string.h>

size_t mote__q8_act_extras_offset(int64_t n_cols) {
    return ((size_t)(n_cols / 32) * sizeof(mote_block_q8_0) + 3u) & ~(size_t)3u;
}

void mote__q8_act_extras(void *row, int64_t n_cols) {
    const int64_t nb = n_cols / 32;
    uint8_t *base = row;
    uint8_t *ext = base + mote__q8_act_extras_offset(n_cols);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = base + (size_t)b * sizeof(mote_block_q8_0);
        mote_f16 d16;
        memcpy(&d16, blk + offsetof(mote_block_q8_0, d), sizeof d16);
        const float d = mote__f16_to_f32(d16);
        const int8_t *qs = (const int8_t *)(blk + offsetof(mote_block_q8_0, qs));
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) sum += qs[j];
        const int32_t neg = -sum;
        memcpy(ext + (size_t)b * 4, &d, 4);
        memcpy(ext + (size_t)(nb + b) * 4, &neg, 4);
    }
}

void mote__gemm_ref(uint32_t type, const mote_gemm_args *a) {
    const mote_type_traits *tr = mote__type_traits(type);
    for (int64_t t = 0; t < a->n_tok; t++) {
        const uint8_t *act = (const uint8_t *)a->act + (size_t)t * a->act_stride;
        float *y = a->y + (size_t)t * a->y_stride;
        for (int64_t r = 0; r < a->n_rows; r++)
            y[r] = tr->vec_dot_ref(a->n_cols, (const uint8_t *)a->w + (size_t)r * a->w_stride, act);
    }
}

#if !defined(__x86_64__)
mote_gemm_fn mote__gemm_x86_variant(uint32_t type, int variant) {
    (void)type;
    (void)variant;
    return NULL;
}
#endif
