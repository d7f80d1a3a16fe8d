/* dispatch.c — the kernel entry points of kernels.h, implemented over the
 * scalar reference kernels in the type table. Single-threaded; the SIMD and
 * threaded versions of the speed work replace the inner calls, not the
 * interface. Not here: the kernels themselves (src/tensor/quant_ref.c). */
#include "kernels.h"
#include <math.h>

size_t mote__matvec_scratch_bytes(uint32_t type, int64_t n_cols) {
    const mote_type_traits *t = mote__type_traits(type);
    if (!t || t->vec_dot_type == MOTE_TYPE_F32) return 0;
    uint64_t bytes = 0;
    if (!mote__type_row_bytes(t->vec_dot_type, (uint64_t)n_cols, &bytes)) return 0;
    return (size_t)bytes;
}

void mote__matvec(const mote_matrix *w, const float *x, float *y, void *scratch) {
    const mote_type_traits *t = mote__type_traits(w->type);
    const void *xq = x;
    if (t->vec_dot_type != MOTE_TYPE_F32) {
        mote__type_traits(t->vec_dot_type)->quantize_ref(x, scratch, w->n_cols);
        xq = scratch;
    }
    const uint8_t *row = w->data;
    for (int64_t r = 0; r < w->n_rows; r++, row += w->row_bytes)
        y[r] = t->vec_dot_ref(w->n_cols, row, xq);
}

void mote__matrix_get_row(const mote_matrix *w, int64_t r, float *out) {
    const mote_type_traits *t = mote__type_traits(w->type);
    t->dequantize_ref((const uint8_t *)w->data + (size_t)r * w->row_bytes, out, w->n_cols);
}

void mote__rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps) {
    /* Sum of squares in double: n is small (<= a few thousand) and this keeps
     * the result independent of summation order. */
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / (double)n + eps));
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * weight[i];
}

void mote__softmax(float *x, int64_t n) {
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}
