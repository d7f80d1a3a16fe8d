/* dispatch.c — the kernel entry points of kernels.h and the per-type kernel
 * tables behind them: one set of tables per instruction-set level (cpu.h),
 * each filled from the scalar reference kernels and then overridden by that
 * level's SIMD kernels. Not here: the kernels themselves (scalar reference in
 * src/tensor/quant_ref.c, SIMD in src/kernels/x86 and src/kernels/arm). */
#include "kernels.h"
#include "simd.h"
#include <math.h>
#include <pthread.h>
#include <string.h>

static mote_kernel_table g_tables[MOTE_ISA_COUNT][MOTE_TYPE_COUNT];
static bool g_has_table[MOTE_TYPE_COUNT];
static mote_isa g_active;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
/* Which variant the AVX2 table's matrix kernels of type t run, read off the
 * pointers the fill functions chose: 2 when its gemm or gemv is the AVX-512
 * one, 1 AVX-VNNI, 0 plain AVX2 (a variant the same as plain AVX2 does not
 * count). Names the table's isa ("avx2+avx512"), so what `mote bench`
 * reports cannot drift from what runs. */
static int x86_variant(uint32_t t, const mote_kernel_table *k) {
    for (int v = 2; v >= 1; v--) {
        const mote_gemm_fn g = mote__gemm_x86_variant(t, v);
        const mote_gemv_fn m = mote__gemv_x86_variant(t, v);
        if ((g && g == k->gemm && g != mote__gemm_x86_variant(t, 0)) ||
            (m && m == k->gemv && m != mote__gemv_x86_variant(t, 0)))
            return v;
    }
    return 0;
}
#endif

/* Fill every level's tables from the scalar reference kernels of the type
 * table, then let each supported level override the entries it has SIMD
 * kernels for (the CPU check is mote__isa_supported). Levels the CPU lacks
 * keep the scalar tables, so any level can be asked for safely. */
static void tables_init(void) {
    for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++) {
        const mote_type_traits *tr = mote__type_traits(t);
        if (!tr || !tr->vec_dot_ref || !tr->dequantize_ref) continue;
        const mote_type_traits *act = mote__type_traits(tr->vec_dot_type);
        g_tables[MOTE_ISA_SCALAR][t] = (mote_kernel_table){
            .vec_dot = tr->vec_dot_ref,
            .vec_dot_4 = NULL,
            .quantize_act = tr->vec_dot_type == MOTE_TYPE_F32 ? NULL : act->quantize_ref,
            .dequantize = tr->dequantize_ref,
            .vec_dot_type = tr->vec_dot_type,
            .isa = "scalar",
        };
        g_has_table[t] = true;
    }
    for (int isa = 1; isa < MOTE_ISA_COUNT; isa++)
        for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++) g_tables[isa][t] = g_tables[0][t];
#if defined(__x86_64__)
    if (mote__isa_supported(MOTE_ISA_AVX2)) {
        mote__kernels_fill_avx2_float(g_tables[MOTE_ISA_AVX2]);
        mote__kernels_fill_avx2_quant(g_tables[MOTE_ISA_AVX2]);
        mote__kernels_fill_avx2_gemm(g_tables[MOTE_ISA_AVX2]);
        mote__kernels_fill_avx2_kquant(g_tables[MOTE_ISA_AVX2]);
        mote__kernels_fill_avx2_gemv(g_tables[MOTE_ISA_AVX2]);
        for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++) {
            mote_kernel_table *k = &g_tables[MOTE_ISA_AVX2][t];
            int v = g_has_table[t] && strcmp(k->isa, "avx2") == 0 ? x86_variant(t, k) : 0;
            if (v) k->isa = v == 2 ? "avx2+avx512" : "avx2+avxvnni";
        }
    }
#endif
#if defined(__aarch64__)
    if (mote__isa_supported(MOTE_ISA_NEON)) {
        mote__kernels_fill_neon_float(g_tables[MOTE_ISA_NEON]);
        mote__kernels_fill_neon_quant(g_tables[MOTE_ISA_NEON]);
        mote__kernels_fill_neon_gemm(g_tables[MOTE_ISA_NEON]);
        mote__kernels_fill_neon_kquant(g_tables[MOTE_ISA_NEON]);
    }
#endif
    g_active = mote__isa_active();
}

const mote_kernel_table *mote__kernels_for_isa(uint32_t type, mote_isa isa) {
    pthread_once(&g_once, tables_init);
    if (type >= MOTE_TYPE_COUNT || !g_has_table[type] || !mote__isa_supported(isa)) return NULL;
    return &g_tables[isa][type];
}

const mote_kernel_table *mote__kernels_for(uint32_t type) {
    pthread_once(&g_once, tables_init);
    return type < MOTE_TYPE_COUNT && g_has_table[type] ? &g_tables[g_active][type] : NULL;
}

size_t mote__matvec_scratch_bytes(uint32_t type, int64_t n_cols) {
    const mote_type_traits *t = mote__type_traits(type);
    if (!t || t->vec_dot_type == MOTE_TYPE_F32) return 0;
    uint64_t bytes = 0;
    if (!mote__type_row_bytes(t->vec_dot_type, (uint64_t)n_cols, &bytes)) return 0;
    return (size_t)bytes;
}

void mote__matvec(const mote_matrix *w, const float *x, float *y, void *scratch) {
    const mote_kernel_table *k = mote__kernels_for(w->type);
    const void *xq = x;
    if (k->quantize_act) {
        k->quantize_act(x, scratch, w->n_cols);
        xq = scratch;
    }
    if (k->gemv && w->n_cols <= MOTE_GEMV_MAX_COLS) {
        k->gemv(w->n_cols, w->data, w->row_bytes, w->n_rows, xq, y);
        return;
    }
    const uint8_t *row = w->data;
    for (int64_t r = 0; r < w->n_rows; r++, row += w->row_bytes)
        y[r] = k->vec_dot(w->n_cols, row, xq);
}

void mote__matrix_get_row(const mote_matrix *w, int64_t r, float *out) {
    const mote_kernel_table *k = mote__kernels_for(w->type);
    k->dequantize((const uint8_t *)w->data + (size_t)r * w->row_bytes, out, w->n_cols);
}

float mote__rms_scale(const float *x, const float *d, int64_t n, float eps) {
    /* Sum of squares in double: n is small (<= a few thousand) and this
     * keeps the result nearly independent of summation order; four
     * accumulators (elements i mod 4), so that the adds do not wait on
     * each other, added (s0 + s1) + (s2 + s3). */
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t i = 0;
#define RMS_V(j) (d ? x[j] + d[j] : x[j])
    for (; i + 4 <= n; i += 4) {
        const double v0 = RMS_V(i), v1 = RMS_V(i + 1), v2 = RMS_V(i + 2), v3 = RMS_V(i + 3);
        s0 += v0 * v0, s1 += v1 * v1, s2 += v2 * v2, s3 += v3 * v3;
    }
    for (; i < n; i++) {
        const double v = RMS_V(i);
        s0 += v * v;
    }
#undef RMS_V
    return (float)(1.0 / sqrt(((s0 + s1) + (s2 + s3)) / (double)n + eps));
}

void mote__rms_apply(float *restrict y, float *restrict x_out, const float *restrict x,
                     const float *restrict d, const float *restrict w, float scale, int64_t n) {
    /* Eight independent elements a step, which compilers vectorize at
     * -O2 (GCC 12 left the plain loop scalar: 1.1% of q4_0 decoding);
     * each element (x + d) * scale * w in that order, whatever the step. */
    int64_t i = 0;
    if (d) {
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) {
                const float v = x[i + j] + d[i + j];
                x_out[i + j] = v;
                y[i + j] = v * scale * w[i + j];
            }
        for (; i < n; i++) {
            const float v = x[i] + d[i];
            x_out[i] = v;
            y[i] = v * scale * w[i];
        }
    } else {
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) y[i + j] = x[i + j] * scale * w[i + j];
        for (; i < n; i++) y[i] = x[i] * scale * w[i];
    }
}

void mote__rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps) {
    mote__rms_apply(out, NULL, x, NULL, weight, mote__rms_scale(x, NULL, n, eps), n);
}

/* One a/y pair of mote__gemv_t_f32's portable loop. */
static void gemv_t1_f32(int64_t n, const float *w, size_t row_bytes, int64_t n_rows, const float *a,
                        float *y) {
    /* Eight independent lanes per step, which compilers vectorize at -O2
     * (no reassociation: the same result with or without it). */
    for (int64_t r = 0; r < n_rows; r++) {
        const float *restrict v = (const float *)(const void *)((const uint8_t *)w + (size_t)r * row_bytes);
        const float ar = a[r];
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) {
            y[j + 0] += ar * v[j + 0];
            y[j + 1] += ar * v[j + 1];
            y[j + 2] += ar * v[j + 2];
            y[j + 3] += ar * v[j + 3];
            y[j + 4] += ar * v[j + 4];
            y[j + 5] += ar * v[j + 5];
            y[j + 6] += ar * v[j + 6];
            y[j + 7] += ar * v[j + 7];
        }
        for (; j < n; j++) y[j] += ar * v[j];
    }
}

void mote__gemv_t_f32(int64_t n, const float *w, size_t row_bytes, int64_t n_rows, int32_t n_a,
                      const float *a, size_t a_stride, float *y, size_t y_stride) {
    const mote_kernel_table *k = mote__kernels_for(MOTE_TYPE_F32);
    if (k && k->gemv_t) {
        k->gemv_t(n, w, row_bytes, n_rows, n_a, a, a_stride, y, y_stride);
        return;
    }
    for (int32_t i = 0; i < n_a; i++)
        gemv_t1_f32(n, w, row_bytes, n_rows, a + (size_t)i * a_stride, y + (size_t)i * y_stride);
}

/* The portable softmax and swiglu (expf per element; the sum in double). */
static double softmax_ref(int64_t n, float *x, float scale, float *max_out) {
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf((x[i] - max) * scale);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
    if (max_out) *max_out = max;
    return sum;
}

static void swiglu_ref(int64_t n, float *g, const float *u) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

double mote__softmax(float *x, int64_t n, float scale, float *max_out) {
    const mote_kernel_table *k = mote__kernels_for(MOTE_TYPE_F32);
    return k && k->softmax ? k->softmax(n, x, scale, max_out) : softmax_ref(n, x, scale, max_out);
}

void mote__swiglu(float *g, const float *u, int64_t n) {
    const mote_kernel_table *k = mote__kernels_for(MOTE_TYPE_F32);
    if (k && k->swiglu) k->swiglu(n, g, u);
    else swiglu_ref(n, g, u);
}
