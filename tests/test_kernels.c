/* test_kernels.c — the SIMD kernels of src/kernels (x86/ AVX2, arm/ NEON)
 * against the scalar reference kernels of src/tensor/quant_ref.c, and the
 * run-time choice of instruction set (src/kernels/cpu.c).
 *
 * Every level this CPU supports is tested in one run: the scalar table and
 * each SIMD table come from mote__kernels_for_isa, whatever MOTE_ISA says.
 * For each type with a SIMD kernel at that level:
 *   - vec_dot and vec_dot_4 on random rows of awkward sizes (one block, odd
 *     block counts, counts not a multiple of 8 blocks, float lengths not a
 *     multiple of 8, one element), within the tolerance derived below;
 *   - vec_dot and vec_dot_4 exactly equal to the reference when every scale
 *     is 1 (all sums are integers below 2^24, so any order is exact: this
 *     catches a wrong nibble order or bit that a tolerance could hide), on
 *     raw random bytes (q8_0 weights of -128 included);
 *   - vec_dot_4 with activation strides that are not the row size;
 *   - quantize_act and dequantize: byte-identical to the reference,
 *     including exact rounding ties (x * id = k + 1/2) and f16/bf16
 *     specials;
 *   - the f32 element-wise kernels (SwiGLU, softmax's exponentials)
 *     against double-precision formulas (test_elementwise).
 *
 * Tolerances (u = 2^-24, the f32 unit roundoff; S = sum_j |x_j * y_j| over
 * the dequantized operands, plus 3 |m_b| sum|y_j| per block for q4_1/q5_1):
 *   float types: the SIMD kernel fuses products into 8-lane accumulators
 *     (chains of at most n/8 additions, plus the reduction and a scalar tail
 *     of < 8), the reference rounds each product (f32 only) and sums in
 *     double: |simd - ref| <= (n/8 + 16) u S.
 *   block types: each block's integer dot is exact in both; the reference
 *     adds nb = n/32 rounded block terms in sequence, the SIMD kernel adds
 *     them over 8 lanes and 2 accumulators; with the m*s terms of q4_1/q5_1
 *     at most two roundings per block each: |simd - ref| <= (2 nb + 16) u S.
 *   A decoding error shows up as an error of order S, far above these.
 */
#include "test.h"
#define TEST_RNG_SEED 0x243F6A8885A308D3ull
#include "test_rng.h"
#include "kernels/kernels.h"
#include "tensor/types.h"
#include <stdint.h>

/* ---- helpers ---- */


/* n floats: uniform in [-1, 1) times a per-32-block scale, with an offset
 * on some blocks (so q4_1/q5_1 minima are not near zero). */
static void fill_random(float *x, int64_t n) {
    static const float scales[] = {1.0f, 0.01f, 50.0f, 3.0f, 1e-4f};
    for (int64_t i = 0; i < n; i++) {
        int64_t b = i / 32;
        float s = scales[b % 5];
        float off = (b % 3 == 2) ? 4.0f * s : 0.0f;
        x[i] = rng_f() * s + off;
    }
}

static const mote_type_traits *traits(uint32_t t) { return mote__type_traits(t); }

static size_t row_bytes(uint32_t type, int64_t n) {
    uint64_t b = 0;
    if (!mote__type_row_bytes(type, (uint64_t)n, &b)) return 0;
    return (size_t)b;
}

static bool is_block_type(uint32_t t) { return traits(t)->block_size == 32; }
/* q4_1 and q5_1 carry a min m at byte 2 of the block. */
static bool has_min(uint32_t t) { return t == MOTE_TYPE_Q4_1 || t == MOTE_TYPE_Q5_1; }

static void put_f16(uint8_t *p, float v) {
    mote_f16 h = mote__f32_to_f16(v);
    memcpy(p, &h, 2);
}
static float get_f16(const uint8_t *p) {
    mote_f16 h;
    memcpy(&h, p, 2);
    return mote__f16_to_f32(h);
}

/* The weight row (n elements of `type`) into w: from random floats through
 * the reference quantizer, or (raw) random bytes with finite scales put in. */
static void make_weights(uint32_t type, int64_t n, uint8_t *w, bool raw) {
    const mote_type_traits *tr = traits(type);
    float *x = malloc((size_t)n * sizeof(float));
    fill_random(x, n);
    tr->quantize_ref(x, w, n);
    free(x);
    if (!raw || !is_block_type(type)) return;
    const int64_t nb = n / 32;
    for (size_t i = 0; i < (size_t)nb * tr->type_size; i++) w[i] = (uint8_t)rng_u64();
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = w + b * tr->type_size;
        put_f16(blk, 0.001f + 0.05f * (rng_f() + 1.0f));
        if (has_min(type)) put_f16(blk + 2, rng_f());
    }
}

/* S of the tolerance (see the top comment) for weight row w (type) against
 * activation row a (its vec_dot_type), from the reference dequantizers. */
static double dot_scale(uint32_t type, int64_t n, const uint8_t *w, const uint8_t *a) {
    const mote_type_traits *tr = traits(type), *ta = traits(tr->vec_dot_type);
    float *xd = malloc((size_t)n * sizeof(float)), *yd = malloc((size_t)n * sizeof(float));
    tr->dequantize_ref(w, xd, n);
    ta->dequantize_ref(a, yd, n);
    double s = 0.0;
    for (int64_t j = 0; j < n; j++) {
        double m = has_min(type) ? 3.0 * fabs(get_f16(w + (j / 32) * tr->type_size + 2)) : 0.0;
        s += (fabs((double)xd[j]) + m) * fabs((double)yd[j]);
    }
    free(xd);
    free(yd);
    return s;
}

static double tolerance(uint32_t type, int64_t n, double S) {
    const double u = 0x1p-24;
    if (is_block_type(type)) return (2.0 * (double)(n / 32) + 16.0) * u * S;
    return ((double)n / 8.0 + 16.0) * u * S;
}

/* ---- the level under test (set by main before each t_run_one) ---- */

static mote_isa g_isa;
static uint32_t g_type;

static const mote_kernel_table *ref_table(void) {
    return mote__kernels_for_isa(g_type, MOTE_ISA_SCALAR);
}
static const mote_kernel_table *simd_table(void) { return mote__kernels_for_isa(g_type, g_isa); }

/* Lengths to try: whole blocks for block types, any count for floats. */
static const int64_t g_block_counts[] = {1, 2, 3, 7, 9, 16, 31, 33, 128, 130};
static const int64_t g_float_lens[] = {1, 7, 8, 9, 31, 32, 33, 100, 255, 1003, 4096, 4100};

static int n_lengths(void) {
    return is_block_type(g_type) ? (int)(sizeof g_block_counts / sizeof g_block_counts[0])
                                 : (int)(sizeof g_float_lens / sizeof g_float_lens[0]);
}
static int64_t length_at(int i) {
    return is_block_type(g_type) ? g_block_counts[i] * 32 : g_float_lens[i];
}

/* vec_dot and vec_dot_4 against the reference, within tolerance; random
 * and raw weights; four activation rows at several strides. */
static void test_vec_dot_random(void) {
    const mote_kernel_table *ref = ref_table(), *simd = simd_table();
    T_REQUIRE(ref && simd, "no kernel table");
    const mote_type_traits *ta = traits(simd->vec_dot_type);
    const size_t elem_align = simd->vec_dot_type == MOTE_TYPE_F32 ? 4 : 2;
    for (int li = 0; li < n_lengths(); li++) {
        const int64_t n = length_at(li);
        const size_t wb = row_bytes(g_type, n), ab = row_bytes(simd->vec_dot_type, n);
        T_REQUIRE(wb && ab, "row size of n=%lld", (long long)n);
        /* strides: packed, +1 element, +3 elements, +a block and a bit */
        const size_t strides[] = {ab, ab + elem_align, ab + 3 * elem_align, ab + 40};
        uint8_t *w = malloc(wb), *act = malloc(4 * (ab + 40)), *tmp = malloc(ab);
        float *x = malloc((size_t)n * sizeof(float));
        for (int raw = 0; raw < 2; raw++) {
            make_weights(g_type, n, w, raw);
            for (int si = 0; si < 4; si++) {
                const size_t stride = strides[si];
                memset(act, 0xA5, 4 * (ab + 40));
                for (int r = 0; r < 4; r++) {
                    fill_random(x, n);
                    ta->quantize_ref(x, tmp, n);
                    memcpy(act + r * stride, tmp, ab);
                }
                float out4[4] = {NAN, NAN, NAN, NAN};
                if (simd->vec_dot_4) simd->vec_dot_4(n, w, act, stride, out4);
                for (int r = 0; r < 4; r++) {
                    const uint8_t *a = act + r * stride;
                    const double want = ref->vec_dot(n, w, a);
                    const double tol = tolerance(g_type, n, dot_scale(g_type, n, w, a));
                    if (r == 0) {
                        const double got = simd->vec_dot(n, w, a);
                        T_CHECK(fabs(got - want) <= tol,
                                "vec_dot n=%lld raw=%d: %.9g vs reference %.9g (tolerance %.3g)",
                                (long long)n, raw, got, want, tol);
                    }
                    if (simd->vec_dot_4)
                        T_CHECK(fabs(out4[r] - want) <= tol,
                                "vec_dot_4 n=%lld raw=%d stride=%zu row %d: %.9g vs reference "
                                "%.9g (tolerance %.3g)",
                                (long long)n, raw, stride, r, out4[r], want, tol);
                }
            }
        }
        free(w);
        free(act);
        free(tmp);
        free(x);
    }
}

/* Block types: every scale 1 (and m, s small integers), random quant bytes
 * in weights and activations (activations kept in -127..127, as the
 * quantizers write them): each result is an integer below 2^24 whatever the
 * order of summation, so SIMD must equal the reference exactly. */
static void test_vec_dot_exact(void) {
    if (!is_block_type(g_type)) T_SKIP("float type: covered by the tolerance test");
    const mote_kernel_table *ref = ref_table(), *simd = simd_table();
    T_REQUIRE(ref && simd, "no kernel table");
    const mote_type_traits *tw = traits(g_type), *ta = traits(simd->vec_dot_type);
    const int64_t counts[] = {1, 3, 8, 13, 32};
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        const int64_t nb = counts[ci], n = nb * 32;
        const size_t stride = nb * ta->type_size + 6;
        uint8_t *w = malloc(nb * tw->type_size), *act = malloc(4 * stride);
        for (size_t i = 0; i < nb * tw->type_size; i++) w[i] = (uint8_t)rng_u64();
        for (size_t i = 0; i < 4 * stride; i++) {
            int8_t v = (int8_t)rng_u64();
            act[i] = (uint8_t)(v == -128 ? 127 : v);
        }
        for (int64_t b = 0; b < nb; b++) {
            put_f16(w + b * tw->type_size, 1.0f);
            if (has_min(g_type)) put_f16(w + b * tw->type_size + 2, (float)(rng_u64() % 7) - 3.0f);
            for (int r = 0; r < 4; r++) {
                uint8_t *ab = act + r * stride + b * ta->type_size;
                put_f16(ab, 1.0f);
                if (simd->vec_dot_type == MOTE_TYPE_Q8_1)
                    put_f16(ab + 2, (float)(rng_u64() % 2001) - 1000.0f);
            }
        }
        float out4[4] = {NAN, NAN, NAN, NAN};
        if (simd->vec_dot_4) simd->vec_dot_4(n, w, act, stride, out4);
        for (int r = 0; r < 4; r++) {
            const float want = ref->vec_dot(n, w, act + r * stride);
            const float got = simd->vec_dot(n, w, act + r * stride);
            T_CHECK(got == want, "vec_dot nb=%lld row %d: %.9g, reference %.9g", (long long)nb, r,
                    got, want);
            if (simd->vec_dot_4)
                T_CHECK(out4[r] == want, "vec_dot_4 nb=%lld row %d: %.9g, reference %.9g",
                        (long long)nb, r, out4[r], want);
        }
        free(w);
        free(act);
    }
}

/* quantize_act: the same bytes as the reference quantizer of the
 * activation type, on random rows, rows with exact rounding ties, zero
 * blocks and (f16/bf16) special values. */
static void test_quantize_act(void) {
    const mote_kernel_table *ref = ref_table(), *simd = simd_table();
    T_REQUIRE(ref && simd, "no kernel table");
    if (!simd->quantize_act) T_SKIP("activations are f32");
    if (simd->quantize_act == ref->quantize_act) T_SKIP("no SIMD quantizer for this type");
    const int64_t n = 32 * 40;
    const size_t ab = row_bytes(simd->vec_dot_type, n);
    float *x = malloc(n * sizeof(float));
    uint8_t *want = malloc(ab), *got = malloc(ab);
    for (int pass = 0; pass < 4; pass++) {
        fill_random(x, n);
        if (pass == 1) {
            /* ties: amax 127 makes d = 1 and id = 1, so k + 0.5 is an exact
             * tie (roundf goes away from zero, half-to-even would not) */
            for (int64_t i = 0; i < n; i++)
                x[i] = (i % 32 == 0) ? 127.0f : (float)((int64_t)(rng_u64() % 253) - 126) + 0.5f;
        }
        if (pass == 2) {
            for (int64_t i = 0; i < 64; i++) x[i] = 0.0f; /* two zero blocks */
            for (int64_t i = 64; i < n; i++) x[i] *= 1e-30f; /* f16 underflow */
        }
        if (pass == 3 && !is_block_type(simd->vec_dot_type)) {
            const float sp[] = {INFINITY, -INFINITY, NAN, -NAN, 65504.0f, 65520.0f, 65519.0f,
                                1e-8f, 5.96e-8f, 2.98e-8f, 3e38f, -0.0f, 1.00048828125f,
                                1.0009765625f, 1.00146484375f, 1.00390625f, 1.01171875f,
                                -1.00390625f};
            for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) x[3 * i + 1] = sp[i];
        }
        for (int64_t len = n; len > 0; len = len == n ? (is_block_type(simd->vec_dot_type) ? 32 : 13) : 0) {
            memset(want, 0, ab);
            memset(got, 0, ab);
            ref->quantize_act(x, want, len);
            simd->quantize_act(x, got, len);
            size_t bytes = row_bytes(simd->vec_dot_type, len);
            size_t k = 0;
            while (k < bytes && want[k] == got[k]) k++;
            T_CHECK(k == bytes, "pass %d n=%lld: first differing byte %zu: %02x, reference %02x",
                    pass, (long long)len, k, got[k], want[k]);
        }
    }
    free(x);
    free(want);
    free(got);
}

/* dequantize: the same floats (bit for bit) as the reference, on quantized
 * and raw random rows. */
static void test_dequantize(void) {
    const mote_kernel_table *ref = ref_table(), *simd = simd_table();
    T_REQUIRE(ref && simd, "no kernel table");
    if (simd->dequantize == ref->dequantize) T_SKIP("no SIMD dequantizer for this type");
    const int64_t lens[] = {32, 96, 32 * 33, 7, 1003};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const int64_t n = lens[li];
        if (n % traits(g_type)->block_size) continue;
        uint8_t *w = malloc(row_bytes(g_type, n));
        float *want = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
        for (int raw = 0; raw < 2; raw++) {
            make_weights(g_type, n, w, raw);
            ref->dequantize(w, want, n);
            simd->dequantize(w, got, n);
            T_CHECK(memcmp(want, got, n * sizeof(float)) == 0,
                    "n=%lld raw=%d: differs from the reference", (long long)n, raw);
        }
        free(w);
        free(want);
        free(got);
    }
}

/* ---- the choice of level ---- */

/* On x86-64 Linux, /proc/cpuinfo's flags (the kernel's own CPUID reading)
 * must agree with ours about AVX2+FMA+F16C. */
static void test_cpu_detect(void) {
    const mote_cpu_features *f = mote__cpu_features();
#if defined(__x86_64__) && defined(__linux__)
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp) T_SKIP("no /proc/cpuinfo");
    char line[8192];
    bool avx2 = false, fma = false, f16c = false, found = false;
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        found = true;
        avx2 = strstr(line, " avx2") != NULL;
        fma = strstr(line, " fma") != NULL;
        f16c = strstr(line, " f16c") != NULL;
        break;
    }
    fclose(fp);
    if (!found) T_SKIP("no flags line in /proc/cpuinfo");
    T_CHECK(f->avx2 == avx2 && f->fma == fma && f->f16c == f16c,
            "detected avx2=%d fma=%d f16c=%d, /proc/cpuinfo says %d %d %d", f->avx2, f->fma,
            f->f16c, avx2, fma, f16c);
    T_CHECK(mote__isa_supported(MOTE_ISA_AVX2) == (avx2 && fma && f16c), "avx2 level");
    T_CHECK(!mote__isa_supported(MOTE_ISA_NEON), "neon on x86-64");
#elif defined(__aarch64__)
    T_CHECK(f->neon, "aarch64 without ASIMD");
    T_CHECK(mote__isa_supported(MOTE_ISA_NEON) == f->dotprod, "neon level follows dotprod");
    T_CHECK(!mote__isa_supported(MOTE_ISA_AVX2), "avx2 on aarch64");
#else
    (void)f;
    T_SKIP("no feature detection on this architecture");
#endif
}

/* MOTE_ISA lowers the level, never raises it; unknown names are ignored;
 * the active level is what the environment selects; the per-type tables
 * the model uses are the active level's. */
static void test_isa_choice(void) {
    mote_isa best = MOTE_ISA_SCALAR;
    for (int i = 0; i < MOTE_ISA_COUNT; i++)
        if (mote__isa_supported((mote_isa)i)) best = (mote_isa)i;
    T_CHECK(mote__isa_supported(MOTE_ISA_SCALAR), "scalar unsupported");
    T_CHECK(mote__isa_choose(NULL) == best, "no MOTE_ISA: %s, best %s",
            mote__isa_name(mote__isa_choose(NULL)), mote__isa_name(best));
    T_CHECK(mote__isa_choose("scalar") == MOTE_ISA_SCALAR, "MOTE_ISA=scalar");
    T_CHECK(mote__isa_choose("bogus") == best, "unknown name not ignored");
    T_CHECK(mote__isa_choose("avx2") == (best == MOTE_ISA_AVX2 ? MOTE_ISA_AVX2 : best),
            "MOTE_ISA=avx2 gave %s", mote__isa_name(mote__isa_choose("avx2")));
    T_CHECK(mote__isa_choose("neon") == best, "MOTE_ISA=neon gave %s",
            mote__isa_name(mote__isa_choose("neon")));
    T_CHECK(mote__isa_active() == mote__isa_choose(getenv("MOTE_ISA")), "active level");
    T_CHECK(strcmp(mote__isa_name(MOTE_ISA_AVX2), "avx2") == 0 &&
                strcmp(mote__isa_name(MOTE_ISA_NEON), "neon") == 0 &&
                strcmp(mote__isa_name((mote_isa)99), "unknown") == 0,
            "names");
    T_CHECK(mote__kernels_for(MOTE_TYPE_Q4_0) ==
                mote__kernels_for_isa(MOTE_TYPE_Q4_0, mote__isa_active()),
            "mote__kernels_for is not the active level's table");
    T_CHECK(mote__kernels_for(9999) == NULL && mote__kernels_for_isa(MOTE_TYPE_F32, (mote_isa)99) == NULL,
            "out-of-range lookups");
}

/* ---- gemv: the matrix-vector product of generation ----
 * Every gemv kernel of the level (the table's, and on x86 each variant:
 * plain AVX2, and AVX-VNNI and AVX-512 where the CPU has them) on random matrices of
 * awkward shapes (1 to 13 rows: groups of 4 and remainders; 1 to 520
 * blocks: rows that end inside a 64-byte chunk or exactly on one, and
 * past the AVX-512 kernels' stack layout): each y[r] within the vec_dot
 * tolerance above of the reference vec_dot of that row; the same y bit for bit when the rows are split
 * into two calls at any point (a row's result must not depend on its
 * neighbours: threads split rows); and, with every scale 1 (integer sums,
 * exact in any order), equal to the reference exactly. Float weights
 * (f16): equal to the level's vec_dot bit for bit, except the AVX-512
 * variant (16-lane sums, another order: the tolerance only). */
#if defined(__x86_64__)
#include "kernels/simd.h"
#endif

/* The kernels to test into out; ordered[i] (may be NULL): whether kernel i
 * sums in vec_dot's order (all but the x86 AVX-512 variant). */
static int gemv_kernels(mote_gemv_fn out[4], bool ordered[4]) {
    int n = 0;
    const mote_kernel_table *k = simd_table();
    if (k && k->gemv) out[n++] = k->gemv;
    mote_gemv_fn v512 = NULL;
#if defined(__x86_64__)
    if (g_isa == MOTE_ISA_AVX2) v512 = mote__gemv_x86_variant(g_type, 2);
    for (int v = 0; v < 3; v++) {
        mote_gemv_fn f = g_isa == MOTE_ISA_AVX2 ? mote__gemv_x86_variant(g_type, v) : NULL;
        bool seen = false;
        for (int i = 0; i < n; i++) seen = seen || out[i] == f;
        if (f && !seen && n < 4) out[n++] = f;
    }
#endif
    for (int i = 0; i < n && ordered; i++) ordered[i] = out[i] != v512;
    return n;
}

static void test_gemv(void) {
    mote_gemv_fn kern[4];
    bool ordered[4];
    const int n_kern = gemv_kernels(kern, ordered);
    if (n_kern == 0) T_SKIP("no gemv kernel for this type");
    const mote_kernel_table *ref = ref_table(), *simd = simd_table();
    const mote_type_traits *tw = traits(g_type), *ta = traits(simd->vec_dot_type);
    static const int64_t rows[] = {1, 3, 4, 5, 7, 13};
    static const int64_t blocks[] = {1, 3, 9, 32, 33, 130, 520};
    for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
        const int64_t n = blocks[bi] * (is_block_type(g_type) ? 32 : 1);
        const size_t wb = row_bytes(g_type, n), ab = row_bytes(simd->vec_dot_type, n);
        for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
            const int64_t nr = rows[ri];
            /* rows an element's alignment apart beyond their size: 2
             * bytes (what the f16 fields of the blocks need), 4 for f32 */
            const size_t stride = wb + (g_type == MOTE_TYPE_F32 ? 4 : 2);
            uint8_t *w = malloc(stride * (size_t)nr), *act = malloc(ab);
            float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)nr * sizeof(float));
            float *y2 = malloc((size_t)nr * sizeof(float));
            for (int64_t r = 0; r < nr; r++) make_weights(g_type, n, w + (size_t)r * stride, r % 2);
            fill_random(x, n);
            ta->quantize_ref(x, act, n);
            for (int ki = 0; ki < n_kern; ki++) {
                kern[ki](n, w, stride, nr, act, y);
                for (int64_t r = 0; r < nr && !t_cur_failed; r++) {
                    const uint8_t *wr = w + (size_t)r * stride;
                    const double want = ref->vec_dot(n, wr, act);
                    const double tol = tolerance(g_type, n, dot_scale(g_type, n, wr, act));
                    T_CHECK(fabs(y[r] - want) <= tol,
                            "kernel %d n=%lld rows=%lld row %lld: %.9g vs reference %.9g "
                            "(tolerance %.3g)", ki, (long long)n, (long long)nr, (long long)r,
                            y[r], want, tol);
                    /* float weights: the level's vec_dot sum, bit for bit
                     * (the prompt path and generation agree exactly) */
                    if (!is_block_type(g_type) && ordered[ki]) {
                        const float same = simd->vec_dot(n, wr, act);
                        T_CHECK(memcmp(&y[r], &same, sizeof same) == 0,
                                "kernel %d n=%lld row %lld: %.9g, vec_dot %.9g (want identical)",
                                ki, (long long)n, (long long)r, y[r], same);
                    }
                }
                for (int64_t split = 1; split < nr && !t_cur_failed; split++) {
                    kern[ki](n, w, stride, split, act, y2);
                    kern[ki](n, w + (size_t)split * stride, stride, nr - split, act, y2 + split);
                    T_CHECK(memcmp(y, y2, (size_t)nr * sizeof(float)) == 0,
                            "kernel %d n=%lld rows=%lld: split at %lld changes the result", ki,
                            (long long)n, (long long)nr, (long long)split);
                }
            }
            /* the prepared entries (one activation laid out for many
             * calls): the table gemv's bytes, whole and split */
            const mote_gemv_prep *gp = simd->gemv_prep;
            const size_t pb = gp ? gp->bytes(n) : 0;
            if (pb > 0 && !t_cur_failed) {
                void *prep = aligned_alloc(64, (pb + 63) / 64 * 64);
                memset(prep, 0xa5, (pb + 63) / 64 * 64); /* nothing left from before */
                gp->prepare(n, act, prep);
                simd->gemv(n, w, stride, nr, act, y);
                for (int64_t split = 0; split < nr && !t_cur_failed; split++) {
                    gp->gemv(n, w, stride, split, prep, y2);
                    gp->gemv(n, w + (size_t)split * stride, stride, nr - split, prep, y2 + split);
                    T_CHECK(memcmp(y, y2, (size_t)nr * sizeof(float)) == 0,
                            "prepared gemv n=%lld rows=%lld split at %lld: not the gemv's bytes",
                            (long long)n, (long long)nr, (long long)split);
                }
                free(prep);
                /* the read-ahead of a call on rows [r0, r1): the call's own
                 * bytes, the first range from row r0 */
                const mote_matrix mw = {w, g_type, n, nr, stride};
                for (int64_t r0 = 0; r0 < nr && !t_cur_failed; r0++)
                    for (int64_t r1 = r0 + 1; r1 <= nr && !t_cur_failed; r1++) {
                        const void *rp[MOTE_GEMV_MAX_STREAMS];
                        size_t rb[MOTE_GEMV_MAX_STREAMS];
                        const int nra = mote__matmul_read_ahead(&mw, r0, r1, rp, rb);
                        const uint8_t *lo = w + (size_t)r0 * stride, *hi = w + (size_t)r1 * stride;
                        T_CHECK(nra >= 0 && nra <= MOTE_GEMV_MAX_STREAMS &&
                                    (nra == 0 || rp[0] == (const void *)lo),
                                "read-ahead of rows [%lld, %lld): %d ranges", (long long)r0,
                                (long long)r1, nra);
                        for (int k = 0; k < nra; k++)
                            T_CHECK((const uint8_t *)rp[k] >= lo && (const uint8_t *)rp[k] + rb[k] <= hi,
                                    "read-ahead range %d of rows [%lld, %lld) leaves them", k,
                                    (long long)r0, (long long)r1);
                    }
            }
            /* integer case: every scale 1, raw quants (activations -127..127) */
            if (is_block_type(g_type)) {
                for (size_t i = 0; i < stride * (size_t)nr; i++) w[i] = (uint8_t)rng_u64();
                for (size_t i = 0; i < ab; i++) {
                    int8_t v = (int8_t)rng_u64();
                    act[i] = (uint8_t)(v == -128 ? 127 : v);
                }
                for (int64_t r = 0; r < nr; r++)
                    for (int64_t b = 0; b < n / 32; b++)
                        put_f16(w + (size_t)r * stride + (size_t)b * tw->type_size, 1.0f);
                for (int64_t b = 0; b < n / 32; b++) put_f16(act + (size_t)b * ta->type_size, 1.0f);
                for (int ki = 0; ki < n_kern; ki++) {
                    kern[ki](n, w, stride, nr, act, y);
                    for (int64_t r = 0; r < nr && !t_cur_failed; r++) {
                        const float want = ref->vec_dot(n, w + (size_t)r * stride, act);
                        T_CHECK(y[r] == want, "kernel %d exact n=%lld row %lld: %.9g, reference %.9g",
                                ki, (long long)n, (long long)r, y[r], want);
                    }
                }
            }
            free(w);
            free(act);
            free(x);
            free(y);
            free(y2);
        }
    }
}

/* gemv_t of the f32 table (attention's weighted sum of value rows), every
 * variant of the level: y0 + sum_r a[r] W[r] against a double-precision sum
 * within (n_rows + 2) * 2^-24 * (|y0| + sum |a w|) per element (one
 * rounding a row), for column counts around the register chunks (8, 32,
 * 64) and 1 to 65 rows with padded rows, for 1, 4 and 5 vectors at once
 * (rows of a and y padded too, the padding left alone); every variant and
 * vector count gives the bytes of one-vector calls (each element adds the
 * rows in the same order, fused). */
static void test_gemv_t(void) {
    mote_gemv_t_fn kern[3];
    int n_kern = 0;
    const mote_kernel_table *k = simd_table();
    if (k && k->gemv_t) kern[n_kern++] = k->gemv_t;
#if defined(__x86_64__)
    for (int v = 0; v <= 2; v += 2) {
        mote_gemv_t_fn f = g_isa == MOTE_ISA_AVX2 ? mote__gemv_t_x86_variant(v) : NULL;
        if (f && (n_kern == 0 || f != kern[0])) kern[n_kern++] = f;
    }
#endif
    if (n_kern == 0) T_SKIP("this level has no f32 gemv_t kernel");
    static const int64_t cols[] = {1, 7, 8, 31, 33, 64, 100, 130};
    static const int64_t rows[] = {1, 2, 17, 65};
    /* 1 vector; 4 (the kernels' group); 5 (a group and one more) */
    static const int32_t n_as[] = {1, 4, 5};
    for (size_t ci = 0; ci < sizeof cols / sizeof cols[0]; ci++) {
        for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
            for (size_t ai = 0; ai < sizeof n_as / sizeof n_as[0]; ai++) {
                const int64_t n = cols[ci], nr = rows[ri], stride = n + 3;
                const int32_t n_a = n_as[ai];
                const size_t a_stride = (size_t)nr + 2, y_stride = (size_t)n + 5;
                float *w = malloc((size_t)(stride * nr) * sizeof(float));
                float *a = malloc((size_t)n_a * a_stride * sizeof(float));
                float *y0 = malloc((size_t)n_a * y_stride * sizeof(float));
                float *y = malloc((size_t)n_a * y_stride * sizeof(float));
                float *one = malloc((size_t)n_a * y_stride * sizeof(float));
                fill_random(w, stride * nr);
                fill_random(a, (int64_t)((size_t)n_a * a_stride));
                fill_random(y0, (int64_t)((size_t)n_a * y_stride));
                for (int ki = 0; ki < n_kern && !t_cur_failed; ki++) {
                    memcpy(y, y0, (size_t)n_a * y_stride * sizeof(float));
                    kern[ki](n, w, (size_t)stride * sizeof(float), nr, n_a, a, a_stride, y, y_stride);
                    for (int32_t i = 0; i < n_a; i++) {
                        const float *ai_ = a + (size_t)i * a_stride, *y0i = y0 + (size_t)i * y_stride;
                        const float *yi = y + (size_t)i * y_stride;
                        for (int64_t j = 0; j < n && !t_cur_failed; j++) {
                            double want = y0i[j], mag = fabs(y0i[j]);
                            for (int64_t r = 0; r < nr; r++) {
                                want += (double)ai_[r] * w[r * stride + j];
                                mag += fabs((double)ai_[r] * w[r * stride + j]);
                            }
                            const double tol = (double)(nr + 2) * 0x1p-24 * mag;
                            T_CHECK(fabs(yi[j] - want) <= tol,
                                    "kernel %d n=%lld rows=%lld vector %d of %d col %lld: %.9g vs %.9g (tolerance %.3g)",
                                    ki, (long long)n, (long long)nr, i, n_a, (long long)j, yi[j], want, tol);
                        }
                        /* the padding between the y rows is not written */
                        for (size_t j = (size_t)n; j < y_stride && !t_cur_failed; j++)
                            T_CHECK(yi[j] == y0i[j], "kernel %d wrote past column %lld of vector %d", ki,
                                    (long long)n, i);
                    }
                    /* the bytes of one-vector calls of kernel 0, whatever n_a */
                    memcpy(one, y0, (size_t)n_a * y_stride * sizeof(float));
                    for (int32_t i = 0; i < n_a; i++)
                        kern[0](n, w, (size_t)stride * sizeof(float), nr, 1, a + (size_t)i * a_stride, 0,
                                one + (size_t)i * y_stride, 0);
                    T_CHECK(memcmp(one, y, (size_t)n_a * y_stride * sizeof(float)) == 0,
                            "kernel %d n=%lld rows=%lld %d vectors: not the bytes of one-vector calls of kernel 0",
                            ki, (long long)n, (long long)nr, n_a);
                }
                free(w);
                free(a);
                free(y0);
                free(y);
                free(one);
            }
        }
    }
}

/* The f32 table's element-wise kernels against double-precision formulas:
 *   swiglu: g / (1 + e^-g) * u within 8 ulp of the result (the vector
 *     e^x is within ~2 ulp of expf; the division and the product round
 *     once each) or 1e-30 absolute (gates below -87, where e^-g is
 *     clamped: the true value is below 1e-35); a NaN gate stays NaN; any
 *     split of the range gives the same bytes (the tail takes the vector
 *     path);
 *   softmax: each e^((x - max) s) / sum within 8 ulp (or 1e-37 absolute,
 *     underflow) of the double-precision result from the same float
 *     argument ((x - max) and its product with s round to float, as the
 *     contract says), at scale s 1 and 1/8; the sum it returns within 8
 *     ulp of the double-precision sum, the max it stores exact.
 * Lengths 1 .. 4100, not multiples of the vector width. Prints the largest
 * errors measured. */
static void test_elementwise(void) {
    const mote_kernel_table *k = simd_table();
    if (!k || !k->swiglu || !k->softmax) T_SKIP("this level has no f32 element-wise kernels");
    static const int64_t lens[] = {1, 3, 7, 8, 9, 17, 100, 1003, 4100};
    double worst_sw = 0.0, worst_ex = 0.0;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0] && !t_cur_failed; li++) {
        const int64_t n = lens[li];
        float *g = malloc((size_t)n * sizeof(float)), *u = malloc((size_t)n * sizeof(float));
        float *got = malloc((size_t)n * sizeof(float)), *split = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++) {
            /* gates over [-100, 100] with most near 0, where SiLU bends */
            const float r = rng_f();
            g[i] = i % 5 == 0 ? 100.0f * r : 6.0f * r;
            u[i] = 3.0f * rng_f();
        }
        memcpy(got, g, (size_t)n * sizeof(float));
        k->swiglu(n, got, u);
        for (int64_t i = 0; i < n && !t_cur_failed; i++) {
            const double want = (double)g[i] / (1.0 + exp(-(double)g[i])) * u[i];
            const double err = fabs(got[i] - want), tol = 8.0 * 0x1p-24 * fabs(want) + 1e-30;
            if (want != 0.0 && fabs(want) > 1e-30 && err / fabs(want) > worst_sw) worst_sw = err / fabs(want);
            T_CHECK(err <= tol, "swiglu n=%lld [%lld]: g %.9g u %.9g: %.9g vs %.9g", (long long)n,
                    (long long)i, g[i], u[i], got[i], want);
        }
        for (int64_t cut = 1; cut < n && !t_cur_failed; cut += n / 3 + 1) {
            memcpy(split, g, (size_t)n * sizeof(float));
            k->swiglu(cut, split, u);
            k->swiglu(n - cut, split + cut, u + cut);
            T_CHECK(memcmp(split, got, (size_t)n * sizeof(float)) == 0,
                    "swiglu n=%lld split at %lld: other bytes", (long long)n, (long long)cut);
        }

        /* softmax scores: spread over about [-60, 0] below their max */
        for (int si = 0; si < 2 && !t_cur_failed; si++) {
            const float scale = si ? 0.125f : 1.0f;
            float max = -INFINITY;
            for (int64_t i = 0; i < n; i++) {
                g[i] = (30.0f * rng_f() - 30.0f + (i % 7 == 3 ? 20.0f : 0.0f)) / scale;
                if (g[i] > max) max = g[i];
            }
            memcpy(got, g, (size_t)n * sizeof(float));
            float got_max = NAN;
            const double got_sum = k->softmax(n, got, scale, &got_max);
            double want_sum = 0.0;
            for (int64_t i = 0; i < n; i++) want_sum += exp((double)((g[i] - max) * scale));
            T_CHECK(got_max == max, "softmax n=%lld: max %.9g, want %.9g", (long long)n, got_max, max);
            T_CHECK(fabs(got_sum - want_sum) <= 8.0 * 0x1p-24 * want_sum,
                    "softmax n=%lld scale %g: sum %.12g, want %.12g", (long long)n, scale, got_sum, want_sum);
            for (int64_t i = 0; i < n && !t_cur_failed; i++) {
                const float d = (g[i] - max) * scale; /* rounded as the contract says */
                const double want = exp((double)d) / want_sum;
                const double err = fabs(got[i] - want);
                if (want > 1e-37 && err / want > worst_ex) worst_ex = err / want;
                T_CHECK(err <= 8.0 * 0x1p-24 * want + 1e-37, "softmax n=%lld scale %g [%lld]: %.9g vs %.9g",
                        (long long)n, scale, (long long)i, got[i], want);
            }
        }
        free(g);
        free(u);
        free(got);
        free(split);
    }
    float g1 = NAN, u1 = 1.0f;
    k->swiglu(1, &g1, &u1);
    T_CHECK(isnan(g1), "swiglu of a NaN gate: %g, not NaN", g1);
    printf("#   largest relative errors: swiglu %.3g, softmax %.3g (in ulp: %.2f, %.2f)\n", worst_sw, worst_ex,
           worst_sw / 0x1p-24, worst_ex / 0x1p-24);
}

/* The types each level must cover (a fill function that forgot one would
 * otherwise silently leave it untested on scalar). */
static void test_coverage(void) {
    static const uint32_t avx2_types[] = {MOTE_TYPE_F32, MOTE_TYPE_F16, MOTE_TYPE_BF16,
                                          MOTE_TYPE_Q4_0, MOTE_TYPE_Q4_1, MOTE_TYPE_Q5_0,
                                          MOTE_TYPE_Q5_1, MOTE_TYPE_Q8_0};
    static const uint32_t neon_types[] = {MOTE_TYPE_F32, MOTE_TYPE_F16, MOTE_TYPE_Q4_0,
                                          MOTE_TYPE_Q5_0, MOTE_TYPE_Q5_1, MOTE_TYPE_Q8_0};
    const uint32_t *want = g_isa == MOTE_ISA_AVX2 ? avx2_types : neon_types;
    size_t n_want = g_isa == MOTE_ISA_AVX2 ? sizeof avx2_types / sizeof avx2_types[0]
                                           : sizeof neon_types / sizeof neon_types[0];
    for (size_t i = 0; i < n_want; i++) {
        const mote_kernel_table *k = mote__kernels_for_isa(want[i], g_isa);
        const char *lvl = mote__isa_name(g_isa); /* "avx2", or "avx2+avx512" with variants */
        T_CHECK(k && strncmp(k->isa, lvl, strlen(lvl)) == 0 && k->vec_dot_4,
                "%s has no %s kernels", mote__type_name(want[i]), mote__isa_name(g_isa));
    }
}

/* One call of nr rows of n elements through every gemv kernel of the
 * level: each row against the reference, then the same call split in two
 * at each of splits[] (ascending, below nr), byte for byte; the prepared
 * entry (if any) split at prep_split, byte for byte the table gemv's;
 * its streams entry's first streams within the rows. */
static void gemv_call_check(int64_t n, int64_t nr, const int64_t *splits, size_t n_splits,
                            int64_t prep_split) {
    mote_gemv_fn kern[4];
    const int n_kern = gemv_kernels(kern, NULL);
    const mote_kernel_table *ref = ref_table(), *simd = simd_table();
    const mote_type_traits *ta = traits(simd->vec_dot_type);
    const size_t stride = row_bytes(g_type, n), ab = row_bytes(simd->vec_dot_type, n);
    uint8_t *w = malloc(stride * (size_t)nr), *act = malloc(ab);
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)nr * sizeof(float));
    float *y2 = malloc((size_t)nr * sizeof(float));
    for (int64_t r = 0; r < nr; r++) make_weights(g_type, n, w + (size_t)r * stride, false);
    fill_random(x, n);
    ta->quantize_ref(x, act, n);
    for (int ki = 0; ki < n_kern && !t_cur_failed; ki++) {
        memset(y, 0xff, (size_t)nr * sizeof(float)); /* NaN: a row left unwritten fails */
        kern[ki](n, w, stride, nr, act, y);
        for (int64_t r = 0; r < nr && !t_cur_failed; r++) {
            const uint8_t *wr = w + (size_t)r * stride;
            const double want = ref->vec_dot(n, wr, act);
            const double tol = tolerance(g_type, n, dot_scale(g_type, n, wr, act));
            T_CHECK(fabs(y[r] - want) <= tol, "kernel %d row %lld of %lld: %.9g vs reference %.9g",
                    ki, (long long)r, (long long)nr, y[r], want);
        }
        for (size_t si = 0; si < n_splits && !t_cur_failed; si++) {
            const int64_t sp = splits[si];
            memset(y2, 0xff, (size_t)nr * sizeof(float));
            kern[ki](n, w, stride, sp, act, y2);
            kern[ki](n, w + (size_t)sp * stride, stride, nr - sp, act, y2 + sp);
            T_CHECK(memcmp(y, y2, (size_t)nr * sizeof(float)) == 0,
                    "kernel %d, %lld rows split at %lld: not the whole call's bytes", ki,
                    (long long)nr, (long long)sp);
        }
    }
    const mote_gemv_prep *gp = simd->gemv_prep;
    const size_t pb = gp ? gp->bytes(n) : 0;
    if (pb > 0 && !t_cur_failed) {
        void *prep = aligned_alloc(64, (pb + 63) / 64 * 64);
        gp->prepare(n, act, prep);
        simd->gemv(n, w, stride, nr, act, y);
        memset(y2, 0xff, (size_t)nr * sizeof(float));
        gp->gemv(n, w, stride, prep_split, prep, y2);
        gp->gemv(n, w + (size_t)prep_split * stride, stride, nr - prep_split, prep, y2 + prep_split);
        T_CHECK(memcmp(y, y2, (size_t)nr * sizeof(float)) == 0,
                "prepared gemv, %lld rows split at %lld: not the gemv's bytes", (long long)nr,
                (long long)prep_split);
        free(prep);
        /* the streams a call starts with: within its rows, in order, and
         * (x86) exactly its first block's */
        const int64_t counts[] = {1, 2, 3, nr};
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0] && !t_cur_failed; ci++) {
            const int64_t c = counts[ci];
            int64_t first[MOTE_GEMV_MAX_STREAMS + 1];
            const int k = gp->streams(c, stride, first);
            T_CHECK(k >= 1 && k <= MOTE_GEMV_MAX_STREAMS, "streams of %lld rows: %d", (long long)c, k);
            if (k < 1 || k > MOTE_GEMV_MAX_STREAMS) break;
            T_CHECK(first[0] == 0 && first[k] >= 1 && first[k] <= c,
                    "streams of %lld rows: the first at %lld, the end %lld", (long long)c,
                    (long long)first[0], (long long)first[k]);
            for (int i = 0; i < k && !t_cur_failed; i++)
                T_CHECK(first[i] <= first[i + 1], "streams of %lld rows: stream %d at %lld after %lld",
                        (long long)c, i, (long long)first[i], (long long)first[i + 1]);
#if defined(__x86_64__)
            const int64_t end = mote__gemv_block_first(1, mote__gemv_block_count(c, stride), c);
            T_CHECK(first[k] == end, "streams of %lld rows end at %lld, the first block at %lld",
                    (long long)c, (long long)first[k], (long long)end);
#endif
        }
    }
    free(w), free(act), free(x), free(y), free(y2);
}

/* Calls over thousands of rows (kernels that handle a call's rows in
 * pieces, such as the x86 kernels' bursts of 256 outputs a stream): an
 * odd call of 4099 short rows, split at the pieces' edges and in the
 * middle. */
static void test_gemv_many_rows(void) {
    static const int64_t splits[] = {1, 255, 256, 257, 1023, 1024, 1025, 2049, 2050, 4098};
    gemv_call_check(is_block_type(g_type) ? 64 : 40, 4099, splits, sizeof splits / sizeof splits[0],
                    2050);
}

/* Many short rows in several blocks: streams of thousands of rows, so
 * the bursts of output (256 a stream) and the blocks both have edges
 * inside the call (q4_0 70001 rows of 64 elements: 2.4 MB, 3 blocks of
 * about 23,000 rows; f16 of 40: 5.6 MB, 6 blocks). */
static void test_gemv_many_blocks(void) {
    static const int64_t splits[] = {1, 23333, 35000, 70000};
    gemv_call_check(is_block_type(g_type) ? 64 : 40, 70001, splits, sizeof splits / sizeof splits[0],
                    35000);
}

/* Calls of several megabytes (the x86 AVX-512 kernels read a call in
 * blocks of about MOTE_GEMV_BLOCK_BYTES, each split into its streams,
 * simd.h): 2901 rows of 2080 elements (1000 for float types; q4_0 3.4 MB,
 * q8_0 6.4 MB, f16 5.8 MB: 4-7 blocks of odd and even row counts), split
 * in the middle of a block, at one row and at the last. */
static void test_gemv_long_calls(void) {
    static const int64_t splits[] = {1, 400, 1450, 1451, 2900};
    gemv_call_check(is_block_type(g_type) ? 2080 : 1000, 2901, splits,
                    sizeof splits / sizeof splits[0], 1451);
}

int main(void) {
    (void)t_assets;
    T_RUN(test_cpu_detect);
    T_RUN(test_isa_choice);
    int n_levels = 0;
    for (int isa = 1; isa < MOTE_ISA_COUNT; isa++) {
        if (!mote__isa_supported((mote_isa)isa)) continue;
        n_levels++;
        g_isa = (mote_isa)isa;
        char name[128];
        snprintf(name, sizeof name, "%s_coverage", mote__isa_name(g_isa));
        t_run_one(test_coverage, name);
        g_type = MOTE_TYPE_F32;
        snprintf(name, sizeof name, "%s_f32_gemv_t", mote__isa_name(g_isa));
        t_run_one(test_gemv_t, name);
        snprintf(name, sizeof name, "%s_f32_elementwise", mote__isa_name(g_isa));
        t_run_one(test_elementwise, name);
        for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++) {
            const mote_kernel_table *k = mote__kernels_for_isa(t, g_isa);
            if (!k || strcmp(k->isa, "scalar") == 0) continue;
            if (traits(t)->block_size == MOTE_QK_K) continue; /* tests/test_kernels_k.c */
            const mote_kernel_table *ref = mote__kernels_for_isa(t, MOTE_ISA_SCALAR);
            g_type = t;
            const char *tn = mote__type_name(t), *in = mote__isa_name(g_isa);
            snprintf(name, sizeof name, "%s_%s_vec_dot", in, tn);
            t_run_one(test_vec_dot_random, name);
            if (is_block_type(t)) {
                snprintf(name, sizeof name, "%s_%s_vec_dot_exact", in, tn);
                t_run_one(test_vec_dot_exact, name);
            }
            mote_gemv_fn gk[4];
            if (gemv_kernels(gk, NULL) > 0) {
                snprintf(name, sizeof name, "%s_%s_gemv", in, tn);
                t_run_one(test_gemv, name);
                snprintf(name, sizeof name, "%s_%s_gemv_many_rows", in, tn);
                t_run_one(test_gemv_many_rows, name);
                snprintf(name, sizeof name, "%s_%s_gemv_long_calls", in, tn);
                t_run_one(test_gemv_long_calls, name);
                snprintf(name, sizeof name, "%s_%s_gemv_many_blocks", in, tn);
                t_run_one(test_gemv_many_blocks, name);
            }
            if (k->quantize_act && k->quantize_act != ref->quantize_act) {
                snprintf(name, sizeof name, "%s_%s_quantize_act", in, tn);
                t_run_one(test_quantize_act, name);
            }
            if (k->dequantize != ref->dequantize) {
                snprintf(name, sizeof name, "%s_%s_dequantize", in, tn);
                t_run_one(test_dequantize, name);
            }
        }
    }
    if (n_levels == 0)
        printf("skip - simd_kernels: this CPU (or build) has no SIMD level, only scalar\n");
    return t_exit();
}
