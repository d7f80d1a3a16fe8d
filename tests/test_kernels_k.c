/* test_kernels_k.c — the SIMD kernels of the 256-element types (q2_K, q3_K,
 * q4_K, q5_K, q6_K, tq1_0, tq2_0; src/kernels/x86/kquant_avx2.c and
 * arm/kquant_neon.c) and the q8_K activation quantizer against the scalar
 * reference of src/tensor/quant_k.c and quant_iq.c.
 *
 * Every SIMD level this CPU runs is tested in one run (the tables come from
 * mote__kernels_for_isa, whatever MOTE_ISA says); a last test goes through
 * mote__matvec, i.e. the level MOTE_ISA selects. Per type and level:
 *   - vec_dot and vec_dot_4 on several weight rows of 1..11 super-blocks,
 *     quantized from random floats (block scales from 1e-4 to 50, all-zero
 *     blocks) and raw random bytes (scales d, dmin over 2^-24..2^13, and a
 *     block of all-0xff bytes but its f16 scales: the largest levels and
 *     the unsigned scales at their maximum), against
 *     q8_K rows with block scales from 1e-20 to 1e20 and all-zero blocks,
 *     at activation strides that are and are not the row size (multiples of
 *     4: q8_K's f32 scale), within the
 *     tolerance below;
 *   - vec_dot and vec_dot_4 exactly equal to the reference when every
 *     float scale is 1 and the activations are small enough that every
 *     partial sum is an integer below 2^24 (any summation order is then
 *     exact): catches a wrong bit or nibble that a tolerance could hide;
 *   - quantize_act (f32 -> q8_K): the reference's bytes, on random rows,
 *     exact rounding ties, zero blocks, a block whose largest magnitude
 *     appears with both signs, and extreme magnitudes.
 * iq4_nl (32-element blocks, q8_0 activations) runs through the generic
 * loop of tests/test_kernels.c; its coverage is checked here.
 *
 * Tolerance: each super-block's integer sums are exact in both kernels;
 * they differ in the float scaling (a few roundings per super-block) and
 * in the order the nb = n / 256 block terms are added. The SIMD kernels
 * compute da sc qv y and db mn bsums separately (see kquant_avx2.c), each
 * at most |x_e| + |o_e| in size per element, where o_e is the weight's
 * offset (the value its levels give at qv = 0: -dmin m, -4 d sc, -32 d sc,
 * -d). So with u = 2^-24 and S = sum_e (|x_e| + 2 |o_e|) |y_e| over the
 * dequantized operands: |simd - ref| <= (2 nb + 16) u S. A decoding error
 * shows up as an error of order S / 256, far above it.
 */
#include "test.h"
#define TEST_RNG_SEED 0x13198A2E03707344ull
#include "test_rng.h"
#include "kernels/kernels.h"
#include "tensor/types.h"
#include <stddef.h>
#include <stdint.h>

/* ---- helpers ---- */


static const mote_type_traits *traits(uint32_t t) { return mote__type_traits(t); }

static size_t row_bytes(uint32_t type, int64_t n) {
    uint64_t b = 0;
    if (!mote__type_row_bytes(type, (uint64_t)n, &b)) return 0;
    return (size_t)b;
}

static void put_f16(uint8_t *p, float v) {
    mote_f16 h = mote__f32_to_f16(v);
    memcpy(p, &h, 2);
}

/* Where each type keeps its f16 scales and its levels (types.h). */
typedef struct {
    uint32_t type;
    int off_d, off_dmin;  /* -1: none */
    int lv_off, lv_len;   /* the bytes holding levels (zeroed for o_e) */
    int qv_max, sc_max, mn_max; /* largest |qv|, |sc|, |mn| (kquant_avx2.c) */
} ktype_info;

static const ktype_info g_types[] = {
    {MOTE_TYPE_Q2_K, offsetof(mote_block_q2_K, d), offsetof(mote_block_q2_K, dmin),
     offsetof(mote_block_q2_K, qs), 64, 3, 15, 15},
    {MOTE_TYPE_Q3_K, offsetof(mote_block_q3_K, d), -1, 0, 96, 7, 32, 128},
    {MOTE_TYPE_Q4_K, offsetof(mote_block_q4_K, d), offsetof(mote_block_q4_K, dmin),
     offsetof(mote_block_q4_K, qs), 128, 15, 63, 63},
    {MOTE_TYPE_Q5_K, offsetof(mote_block_q5_K, d), offsetof(mote_block_q5_K, dmin),
     offsetof(mote_block_q5_K, qh), 160, 31, 63, 63},
    {MOTE_TYPE_Q6_K, offsetof(mote_block_q6_K, d), -1, 0, 192, 63, 128, 4096},
    {MOTE_TYPE_TQ1_0, offsetof(mote_block_tq1_0, d), -1, 0, 52, 2, 1, 1},
    {MOTE_TYPE_TQ2_0, offsetof(mote_block_tq2_0, d), -1, 0, 64, 3, 1, 1},
};
#define N_TYPES (sizeof g_types / sizeof g_types[0])

static const ktype_info *g_ti;
static mote_isa g_isa;

/* A random finite f16 value of either sign, magnitude 2^-24 .. 2^12. */
static float random_scale(void) {
    const int e = (int)(rng_u64() % 37) - 24;
    const float v = ldexpf(1.0f + 0.5f * (rng_f() + 1.0f), e);
    return rng_u64() & 1 ? -v : v;
}

/* One weight row of nb super-blocks into w. raw = 0: quantized by the
 * reference from random floats, block scales varying, every fourth block
 * zero. raw = 1: random bytes with random finite scales; block 1 (when
 * there is one) all 0xff bytes but its scales. */
static void make_weights(int64_t nb, uint8_t *w, int raw) {
    const mote_type_traits *tr = traits(g_ti->type);
    const int64_t n = nb * MOTE_QK_K;
    if (!raw) {
        static const float scales[] = {1.0f, 0.01f, 50.0f, 1e-4f};
        float *x = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++) {
            const int64_t b = i / MOTE_QK_K;
            const float off = (b % 3 == 1) ? 0.5f : 0.0f; /* mins away from zero */
            x[i] = b % 4 == 3 ? 0.0f : (rng_f() + off) * scales[b % 4];
        }
        tr->quantize_ref(x, w, n);
        free(x);
        return;
    }
    for (size_t i = 0; i < (size_t)nb * tr->type_size; i++) w[i] = (uint8_t)rng_u64();
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = w + b * tr->type_size;
        if (b == 1) memset(blk, 0xff, tr->type_size);
        put_f16(blk + g_ti->off_d, random_scale());
        if (g_ti->off_dmin >= 0) put_f16(blk + g_ti->off_dmin, random_scale());
    }
}

/* One q8_K activation row of nb blocks into a: block scales 1e-20..1e20,
 * every fifth block zero. */
static void make_act(int64_t nb, uint8_t *a) {
    static const float scales[] = {1.0f, 1e-3f, 1e3f, 1e-20f, 1e20f};
    const int64_t n = nb * MOTE_QK_K;
    float *x = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        const int64_t b = i / MOTE_QK_K;
        x[i] = b % 5 == 4 ? 0.0f : rng_f() * scales[(b + i / 64) % 5 == 4 ? 0 : b % 5];
    }
    traits(MOTE_TYPE_Q8_K)->quantize_ref(x, a, n);
    free(x);
}

/* S of the tolerance (top comment) for weight row w against q8_K row a. */
static double dot_scale(int64_t nb, const uint8_t *w, const uint8_t *a) {
    const mote_type_traits *tr = traits(g_ti->type);
    const int64_t n = nb * MOTE_QK_K;
    float *xd = malloc((size_t)n * sizeof(float)), *od = malloc((size_t)n * sizeof(float));
    float *yd = malloc((size_t)n * sizeof(float));
    uint8_t *w0 = malloc((size_t)nb * tr->type_size);
    memcpy(w0, w, (size_t)nb * tr->type_size);
    for (int64_t b = 0; b < nb; b++) memset(w0 + b * tr->type_size + g_ti->lv_off, 0, (size_t)g_ti->lv_len);
    tr->dequantize_ref(w, xd, n);
    tr->dequantize_ref(w0, od, n);
    traits(MOTE_TYPE_Q8_K)->dequantize_ref(a, yd, n);
    double s = 0.0;
    for (int64_t j = 0; j < n; j++) s += (fabs((double)xd[j]) + 2.0 * fabs((double)od[j])) * fabs((double)yd[j]);
    free(xd);
    free(od);
    free(yd);
    free(w0);
    return s;
}

static const mote_kernel_table *ref_table(void) {
    return mote__kernels_for_isa(g_ti->type, MOTE_ISA_SCALAR);
}
static const mote_kernel_table *simd_table(void) { return mote__kernels_for_isa(g_ti->type, g_isa); }

/* ---- tests ---- */

/* vec_dot and vec_dot_4 within tolerance: 3 weight rows per length and
 * kind, 4 activation rows at 3 strides. */
static void test_vec_dot_random(void) {
    const mote_kernel_table *ref = ref_table(), *simd = simd_table();
    T_REQUIRE(ref && simd && simd->vec_dot_type == MOTE_TYPE_Q8_K, "no q8_K kernel table");
    static const int64_t counts[] = {1, 2, 3, 5, 8, 11};
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        const int64_t nb = counts[ci], n = nb * MOTE_QK_K;
        const size_t wb = row_bytes(g_ti->type, n), ab = row_bytes(MOTE_TYPE_Q8_K, n);
        T_REQUIRE(wb && ab, "row size of n=%lld", (long long)n);
        /* q8_K rows need 4-byte alignment (d is an f32 the reference reads
         * in place); beyond that any stride: +4 leaves the rows at every
         * 16- and 32-byte misalignment */
        const size_t strides[] = {ab, ab + 4, ab + 40};
        uint8_t *w = malloc(wb), *act = malloc(4 * (ab + 40)), *tmp = malloc(ab);
        for (int raw = 0; raw < 2; raw++)
            for (int wr = 0; wr < 3; wr++) {
                make_weights(nb, w, raw);
                for (int si = 0; si < 3; si++) {
                    const size_t stride = strides[si];
                    memset(act, 0xA5, 4 * (ab + 40));
                    for (int r = 0; r < 4; r++) {
                        make_act(nb, tmp);
                        memcpy(act + r * stride, tmp, ab);
                    }
                    float out4[4] = {NAN, NAN, NAN, NAN};
                    simd->vec_dot_4(n, w, act, stride, out4);
                    for (int r = 0; r < 4; r++) {
                        const uint8_t *a = act + r * stride;
                        const double want = ref->vec_dot(n, w, a);
                        const double tol = (2.0 * (double)nb + 16.0) * 0x1p-24 * dot_scale(nb, w, a);
                        const double got = simd->vec_dot(n, w, a);
                        T_CHECK(fabs(got - want) <= tol,
                                "vec_dot nb=%lld raw=%d row %d stride %zu: %.9g vs reference %.9g "
                                "(tolerance %.3g)",
                                (long long)nb, raw, r, stride, got, want, tol);
                        T_CHECK(fabs(out4[r] - want) <= tol,
                                "vec_dot_4 nb=%lld raw=%d stride=%zu row %d: %.9g vs reference "
                                "%.9g (tolerance %.3g)",
                                (long long)nb, raw, stride, r, out4[r], want, tol);
                    }
                }
            }
        free(w);
        free(act);
        free(tmp);
    }
}

/* Every float scale 1, random level and scale bytes, activations in
 * -ymax..ymax with ymax such that sum_e (qv_max sc_max + mn_max) ymax <
 * 2^24: both kernels then compute the exact integer result. */
static void test_vec_dot_exact(void) {
    const mote_kernel_table *ref = ref_table(), *simd = simd_table();
    T_REQUIRE(ref && simd, "no kernel table");
    const size_t ws = traits(g_ti->type)->type_size, as = sizeof(mote_block_q8_K);
    const double per_elem = (double)g_ti->qv_max * g_ti->sc_max + g_ti->mn_max;
    int tested = 0;
    for (int64_t nb = 1; nb <= 4; nb++) {
        const int ymax = (int)floor((0x1p24 - 1.0) / (256.0 * (double)nb * per_elem));
        if (ymax < 2) continue;
        const int64_t n = nb * MOTE_QK_K;
        const size_t stride = nb * as + 12;
        uint8_t *w = malloc(nb * ws), *act = malloc(4 * stride);
        for (int rep = 0; rep < 8; rep++) {
            for (size_t i = 0; i < nb * ws; i++) w[i] = (uint8_t)rng_u64();
            for (int64_t b = 0; b < nb; b++) {
                put_f16(w + b * ws + g_ti->off_d, 1.0f);
                if (g_ti->off_dmin >= 0) put_f16(w + b * ws + g_ti->off_dmin, 1.0f);
                for (int r = 0; r < 4; r++) {
                    mote_block_q8_K blk;
                    blk.d = 1.0f;
                    for (int j = 0; j < MOTE_QK_K; j++)
                        blk.qs[j] = (int8_t)((int)(rng_u64() % (uint64_t)(2 * ymax + 1)) - ymax);
                    for (int s = 0; s < MOTE_QK_K / 16; s++) {
                        int sum = 0;
                        for (int j = 0; j < 16; j++) sum += blk.qs[16 * s + j];
                        blk.bsums[s] = (int16_t)sum;
                    }
                    memcpy(act + r * stride + b * as, &blk, as);
                }
            }
            float out4[4] = {NAN, NAN, NAN, NAN};
            simd->vec_dot_4(n, w, act, stride, out4);
            for (int r = 0; r < 4; r++) {
                const float want = ref->vec_dot(n, w, act + r * stride);
                const float got = simd->vec_dot(n, w, act + r * stride);
                T_CHECK(got == want, "vec_dot nb=%lld ymax=%d row %d: %.9g, reference %.9g",
                        (long long)nb, ymax, r, got, want);
                T_CHECK(out4[r] == want, "vec_dot_4 nb=%lld ymax=%d row %d: %.9g, reference %.9g",
                        (long long)nb, ymax, r, out4[r], want);
            }
        }
        tested++;
        free(w);
        free(act);
    }
    T_CHECK(tested > 0, "no block count small enough for exact sums");
}

/* quantize_act: the reference's bytes. */
static void test_quantize_q8_K(void) {
    const mote_kernel_table *ref = mote__kernels_for_isa(MOTE_TYPE_Q4_K, MOTE_ISA_SCALAR);
    const mote_kernel_table *simd = mote__kernels_for_isa(MOTE_TYPE_Q4_K, g_isa);
    T_REQUIRE(ref && simd && ref->quantize_act && simd->quantize_act, "no q8_K quantizer");
    if (simd->quantize_act == ref->quantize_act) T_SKIP("no SIMD q8_K quantizer at this level");
    const int64_t n = 256 * 9;
    const size_t ab = row_bytes(MOTE_TYPE_Q8_K, n);
    float *x = malloc(n * sizeof(float));
    uint8_t *want = malloc(ab), *got = malloc(ab);
    for (int pass = 0; pass < 6; pass++) {
        for (int64_t i = 0; i < n; i++) x[i] = rng_f() * (i / 256 % 2 ? 3.0f : 0.02f);
        if (pass == 1) {
            /* ties: max -127 makes iscale 1, so k + 1/2 is an exact tie
             * (half to even, not away from zero) */
            for (int64_t i = 0; i < n; i++)
                x[i] = (i % 256 == 7) ? -127.0f : (float)((int64_t)(rng_u64() % 253) - 126) + 0.5f;
        }
        if (pass == 2) {
            for (int64_t i = 0; i < 512; i++) x[i] = 0.0f; /* two zero blocks */
            for (int64_t i = 600; i < 700; i++) x[i] = -0.0f;
        }
        if (pass == 3) {
            /* largest magnitude with both signs: the first one decides the
             * sign of d; in block 1 the negative comes first */
            for (int64_t b = 0; b < n / 256; b++) {
                x[b * 256 + 10 + b] = (b % 2) ? -5.0f : 5.0f;
                x[b * 256 + 200 - b] = (b % 2) ? 5.0f : -5.0f;
            }
        }
        if (pass == 4)
            for (int64_t i = 0; i < n; i++) x[i] *= (i / 256 % 3 == 0) ? 1e30f : (i / 256 % 3 == 1 ? 1e-30f : 1e-40f);
        if (pass == 5) /* one nonzero element per block */
            for (int64_t i = 0; i < n; i++) x[i] = (i % 256 == (i / 256) * 29 % 256) ? rng_f() : 0.0f;
        for (int64_t len = n; len > 0; len = len == n ? 256 : 0) {
            memset(want, 0x5A, ab);
            memset(got, 0x5A, ab);
            ref->quantize_act(x, want, len);
            simd->quantize_act(x, got, len);
            const size_t bytes = row_bytes(MOTE_TYPE_Q8_K, len);
            size_t k = 0;
            while (k < ab && want[k] == got[k]) k++;
            T_CHECK(k == ab, "pass %d n=%lld: first differing byte %zu (of %zu written): %02x, "
                    "reference %02x", pass, (long long)len, k, bytes, got[k], want[k]);
        }
    }
    free(x);
    free(want);
    free(got);
}

/* Each K type, iq4_nl and the q8_K quantizer have kernels of this level. */
static void test_coverage(void) {
    const char *want = mote__isa_name(g_isa);
    for (size_t i = 0; i < N_TYPES; i++) {
        const mote_kernel_table *k = mote__kernels_for_isa(g_types[i].type, g_isa);
        T_CHECK(k && strcmp(k->isa, want) == 0 && k->vec_dot_4,
                "%s has no %s vec_dot/vec_dot_4", mote__type_name(g_types[i].type), want);
    }
    const mote_kernel_table *k = mote__kernels_for_isa(MOTE_TYPE_IQ4_NL, g_isa);
    T_CHECK(k && strcmp(k->isa, want) == 0 && k->vec_dot_4, "iq4_nl has no %s kernels", want);
}

/* mote__matvec (the level MOTE_ISA selects, activation quantized by that
 * level) against the reference row by row, for every K type. */
static void test_matvec_active(void) {
    const int64_t n_rows = 7, n_cols = 3 * MOTE_QK_K;
    float *x = malloc(n_cols * sizeof(float)), *y = malloc(n_rows * sizeof(float));
    for (int64_t i = 0; i < n_cols; i++) x[i] = rng_f() * (i < 256 ? 0.1f : 2.0f);
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        g_ti = &g_types[ti];
        const size_t wb = row_bytes(g_ti->type, n_cols);
        uint8_t *w = malloc(wb * n_rows);
        for (int64_t r = 0; r < n_rows; r++) make_weights(n_cols / MOTE_QK_K, w + r * wb, (int)(r % 2));
        const mote_matrix m = {w, g_ti->type, n_cols, n_rows, wb};
        const size_t sb = mote__matvec_scratch_bytes(g_ti->type, n_cols);
        uint8_t *scratch = mote__malloc_aligned(sb, 64), *act = malloc(sb);
        mote__matvec(&m, x, y, scratch);
        traits(MOTE_TYPE_Q8_K)->quantize_ref(x, act, n_cols);
        for (int64_t r = 0; r < n_rows; r++) {
            const double want = traits(g_ti->type)->vec_dot_ref(n_cols, w + r * wb, act);
            const double tol = (2.0 * 3 + 16.0) * 0x1p-24 * dot_scale(3, w + r * wb, act);
            T_CHECK(fabs(y[r] - want) <= tol, "%s row %lld: %.9g vs reference %.9g (tolerance %.3g)",
                    mote__type_name(g_ti->type), (long long)r, y[r], want, tol);
        }
        mote__free_aligned(scratch);
        free(act);
        free(w);
    }
    free(x);
    free(y);
}

int main(void) {
    (void)t_assets;
    T_RUN(test_matvec_active);
    int n_levels = 0;
    for (int isa = 1; isa < MOTE_ISA_COUNT; isa++) {
        if (!mote__isa_supported((mote_isa)isa)) continue;
        n_levels++;
        g_isa = (mote_isa)isa;
        const char *in = mote__isa_name(g_isa);
        char name[128];
        snprintf(name, sizeof name, "%s_kquant_coverage", in);
        t_run_one(test_coverage, name);
        snprintf(name, sizeof name, "%s_q8_K_quantize_act", in);
        t_run_one(test_quantize_q8_K, name);
        for (size_t ti = 0; ti < N_TYPES; ti++) {
            g_ti = &g_types[ti];
            const char *tn = mote__type_name(g_ti->type);
            snprintf(name, sizeof name, "%s_%s_vec_dot", in, tn);
            t_run_one(test_vec_dot_random, name);
            snprintf(name, sizeof name, "%s_%s_vec_dot_exact", in, tn);
            t_run_one(test_vec_dot_exact, name);
        }
    }
    if (n_levels == 0)
        printf("skip - kquant_simd_kernels: this CPU (or build) has no SIMD level, only scalar\n");
    return t_exit();
}
