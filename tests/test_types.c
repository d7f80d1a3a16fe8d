/* test_types.c — the tensor type table and the scalar reference kernels
 * (src/tensor/types.c, src/tensor/quant_ref.c).
 *
 * What is checked:
 *   - block sizes and bytes per block for every GGML type id, and the
 *     kernels and activation types of the types this build computes with;
 *   - f16/bf16 conversions: exhaustive round trips, every rounding boundary,
 *     overflow, subnormals;
 *   - byte-exact blocks for inputs whose quantization is derived by hand
 *     from GGML's format definition (the expected bytes are literals);
 *   - round-trip error bounds on random data, one stated bound per type;
 *   - each dot product against the double-precision dot of the
 *     dequantized operands;
 *   - edge cases: zero blocks, constant blocks, one huge value, negative
 *     maxima, partial blocks, non-finite input.
 */
#include "test.h"
#include "test_rng.h"
#include "tensor/types.h"
#include <float.h>
#include <stdint.h>

/* ---- helpers ---- */


static float bits_f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Value of an f16 bit pattern computed independently of types.c, in
 * double: sign * man * 2^-24 (subnormal) or (1024 + man) * 2^(exp-25). */
static double f16_value(uint16_t h) {
    int exp = (h >> 10) & 31, man = h & 1023;
    double v = exp == 0 ? ldexp(man, -24) : ldexp(1024 + man, exp - 25);
    if (exp == 31) v = man ? NAN : INFINITY;
    return (h & 0x8000) ? -v : v;
}

static const mote_type_traits *traits(uint32_t t) { return mote__type_traits(t); }

/* Fill n floats: uniform in [-1, 1) times a per-block scale, plus a
 * per-block offset on some blocks (the min/max types must track it). */
static void fill_random(float *x, int64_t n) {
    static const float scales[] = {1.0f, 0.01f, 50.0f, 3.0f};
    for (int64_t i = 0; i < n; i++) {
        int64_t b = i / 32;
        float s = scales[b % 4];
        float off = (b % 3 == 2) ? 10.0f * s : 0.0f;
        x[i] = rng_f() * s + off;
    }
}

/* ---- struct sizes and the type table ---- */

/* GGML's numbers (ggml.h type ids; ggml-common.h block structs; QK_K = 256):
 *   f32 1/4, f16 1/2, q4_0 32/18 (d + 16 nibble bytes), q4_1 32/20 (d, m +
 *   16), q5_0 32/22 (d + qh[4] + 16), q5_1 32/24, q8_0 32/34 (d + 32),
 *   q8_1 32/36 (d, s + 32), q2_K 256/84, q3_K 256/110, q4_K 256/144,
 *   q5_K 256/176, q6_K 256/210, q8_K 256/292 (float d + 256 + 16 int16),
 *   iq2_xxs 256/66, iq2_xs 256/74, iq3_xxs 256/98, iq1_s 256/50,
 *   iq4_nl 32/18, iq3_s 256/110, iq2_s 256/82, iq4_xs 256/136, i8 1/1,
 *   i16 1/2, i32 1/4, i64 1/8, f64 1/8, iq1_m 256/56, bf16 1/2,
 *   tq1_0 256/54, tq2_0 256/66, mxfp4 32/17. Ids 4, 5, 31-33, 36-38 are
 *   removed types. */
static void test_type_table(void) {
    static const struct { uint32_t id; const char *name; int64_t bs; size_t ts; } want[] = {
        {0, "f32", 1, 4},        {1, "f16", 1, 2},        {2, "q4_0", 32, 18},
        {3, "q4_1", 32, 20},     {6, "q5_0", 32, 22},     {7, "q5_1", 32, 24},
        {8, "q8_0", 32, 34},     {9, "q8_1", 32, 36},     {10, "q2_K", 256, 84},
        {11, "q3_K", 256, 110},  {12, "q4_K", 256, 144},  {13, "q5_K", 256, 176},
        {14, "q6_K", 256, 210},  {15, "q8_K", 256, 292},  {16, "iq2_xxs", 256, 66},
        {17, "iq2_xs", 256, 74}, {18, "iq3_xxs", 256, 98}, {19, "iq1_s", 256, 50},
        {20, "iq4_nl", 32, 18},  {21, "iq3_s", 256, 110}, {22, "iq2_s", 256, 82},
        {23, "iq4_xs", 256, 136}, {24, "i8", 1, 1},       {25, "i16", 1, 2},
        {26, "i32", 1, 4},       {27, "i64", 1, 8},       {28, "f64", 1, 8},
        {29, "iq1_m", 256, 56},  {30, "bf16", 1, 2},      {34, "tq1_0", 256, 54},
        {35, "tq2_0", 256, 66},  {39, "mxfp4", 32, 17},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const mote_type_traits *t = traits(want[i].id);
        T_CHECK(t != NULL, "type %u missing", want[i].id);
        if (!t) continue;
        T_CHECK(strcmp(t->name, want[i].name) == 0, "type %u named %s", want[i].id, t->name);
        T_CHECK(t->block_size == want[i].bs, "%s block %lld", t->name, (long long)t->block_size);
        T_CHECK(t->type_size == want[i].ts, "%s size %zu", t->name, t->type_size);
        T_CHECK(mote__type_from_name(want[i].name) == (int)want[i].id, "%s lookup", want[i].name);
    }
    static const uint32_t removed[] = {4, 5, 31, 32, 33, 36, 37, 38, 40, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++)
        T_CHECK(traits(removed[i]) == NULL, "id %u should be unknown", removed[i]);

    T_CHECK(sizeof(mote_block_q4_0) == 18 && sizeof(mote_block_q4_1) == 20 &&
                sizeof(mote_block_q5_0) == 22 && sizeof(mote_block_q5_1) == 24 &&
                sizeof(mote_block_q8_0) == 34 && sizeof(mote_block_q8_1) == 36,
            "block struct sizes");
}

/* The types with reference kernels, and what GGML pairs them with. */
static const struct { uint32_t type, dot_type; } g_kernel_types[] = {
    {MOTE_TYPE_F32, MOTE_TYPE_F32},   {MOTE_TYPE_F16, MOTE_TYPE_F16},
    {MOTE_TYPE_BF16, MOTE_TYPE_BF16}, {MOTE_TYPE_Q4_0, MOTE_TYPE_Q8_0},
    {MOTE_TYPE_Q4_1, MOTE_TYPE_Q8_1}, {MOTE_TYPE_Q5_0, MOTE_TYPE_Q8_0},
    {MOTE_TYPE_Q5_1, MOTE_TYPE_Q8_1}, {MOTE_TYPE_Q8_0, MOTE_TYPE_Q8_0},
    {MOTE_TYPE_Q8_1, MOTE_TYPE_Q8_1},
};
#define N_KERNEL_TYPES (sizeof g_kernel_types / sizeof g_kernel_types[0])

static void test_kernel_traits(void) {
    for (size_t i = 0; i < N_KERNEL_TYPES; i++) {
        const mote_type_traits *t = traits(g_kernel_types[i].type);
        T_REQUIRE(t != NULL, "type %u", g_kernel_types[i].type);
        T_CHECK(t->quantize_ref && t->dequantize_ref && t->vec_dot_ref, "%s kernels", t->name);
        T_CHECK(t->vec_dot_type == g_kernel_types[i].dot_type, "%s vec_dot_type %d", t->name,
                (int)t->vec_dot_type);
        T_CHECK(t->is_quantized == (t->block_size > 1), "%s is_quantized", t->name);
    }
}

/* ---- f16 ---- */

static void test_f16_exhaustive(void) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mote__f16_to_f32((mote_f16)h);
        double want = f16_value((uint16_t)h);
        if (want != want) {
            T_CHECK(f != f, "0x%04x should decode to NaN", h);
            mote_f16 back = mote__f32_to_f16(f);
            T_CHECK((back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0 &&
                        (back & 0x8000) == (h & 0x8000),
                    "NaN 0x%04x came back as 0x%04x", h, back);
            continue;
        }
        T_CHECK((double)f == want, "0x%04x decoded to %a, want %a", h, f, want);
        T_CHECK((signbit(f) != 0) == ((h & 0x8000) != 0), "0x%04x sign", h);
        mote_f16 back = mote__f32_to_f16(f);
        T_CHECK(back == h, "0x%04x round-tripped to 0x%04x", h, back);
    }
}

/* Every rounding boundary: the midpoint between two adjacent positive
 * finite halves is exactly representable in f32 (12 significant bits); it
 * must round to the even one, and the f32 neighbours of the midpoint to the
 * nearer half. Negative values mirror. */
static void test_f16_rounding(void) {
    for (uint32_t h = 0; h < 0x7bff; h++) { /* h and h + 1 both finite */
        double lo = f16_value((uint16_t)h), hi = f16_value((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2);
        T_REQUIRE((double)mid == (lo + hi) / 2, "midpoint of 0x%04x not exact", h);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        T_CHECK(mote__f32_to_f16(mid) == even, "mid above 0x%04x -> 0x%04x", h,
                mote__f32_to_f16(mid));
        T_CHECK(mote__f32_to_f16(-mid) == (even | 0x8000), "-mid above 0x%04x", h);
        T_CHECK(mote__f32_to_f16(nextafterf(mid, 0.0f)) == h, "below mid of 0x%04x", h);
        T_CHECK(mote__f32_to_f16(nextafterf(mid, INFINITY)) == h + 1, "above mid of 0x%04x", h);
    }
    /* Named cases. */
    T_CHECK(mote__f32_to_f16(1.0f + 0x1p-11f) == 0x3c00, "1+2^-11 ties to even 1.0");
    T_CHECK(mote__f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02, "1+3*2^-11 ties to even");
    T_CHECK(mote__f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01, "just above tie");
    /* Overflow: 65504 is the largest half; the midpoint to the next power
     * (65520) and above round to inf. */
    T_CHECK(mote__f32_to_f16(65504.0f) == 0x7bff, "65504");
    T_CHECK(mote__f32_to_f16(65519.99f) == 0x7bff, "65519.99 stays finite");
    T_CHECK(mote__f32_to_f16(65520.0f) == 0x7c00, "65520 -> inf");
    T_CHECK(mote__f32_to_f16(1e10f) == 0x7c00 && mote__f32_to_f16(-1e10f) == 0xfc00, "big -> inf");
    T_CHECK(mote__f32_to_f16(FLT_MAX) == 0x7c00, "FLT_MAX -> inf");
    T_CHECK(mote__f32_to_f16(INFINITY) == 0x7c00 && mote__f32_to_f16(-INFINITY) == 0xfc00, "inf");
    mote_f16 qn = mote__f32_to_f16(NAN);
    T_CHECK((qn & 0x7c00) == 0x7c00 && (qn & 0x3ff), "NaN stays NaN (0x%04x)", qn);
    /* Subnormals: 2^-24 is the smallest; half of it ties to 0. */
    T_CHECK(mote__f32_to_f16(0x1p-24f) == 0x0001, "2^-24");
    T_CHECK(mote__f32_to_f16(0x1p-25f) == 0x0000, "2^-25 ties to 0");
    T_CHECK(mote__f32_to_f16(0x1p-25f + 0x1p-40f) == 0x0001, "just above 2^-25");
    T_CHECK(mote__f32_to_f16(3 * 0x1p-25f) == 0x0002, "1.5 * 2^-24 ties to 2");
    T_CHECK(mote__f32_to_f16(0x1p-14f - 0x1p-25f) == 0x0400, "largest tie rounds to normal");
    T_CHECK(mote__f32_to_f16(0x1p-26f) == 0x0000, "2^-26 -> 0");
    T_CHECK(mote__f32_to_f16(FLT_TRUE_MIN) == 0x0000, "f32 subnormal -> 0");
    T_CHECK(mote__f32_to_f16(-0x1p-24f) == 0x8001, "-2^-24");
    T_CHECK(mote__f32_to_f16(-0.0f) == 0x8000, "-0");
    T_CHECK(mote__f16_to_f32(0x0001) == 0x1p-24f && mote__f16_to_f32(0x03ff) == 1023 * 0x1p-24f,
            "subnormal decode");
}

/* ---- bf16 ---- */

static void test_bf16(void) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mote__bf16_to_f32((mote_bf16)h);
        T_CHECK(f_bits(f) == h << 16, "bf16 0x%04x decode", h);
        mote_bf16 back = mote__f32_to_bf16(f);
        if (f != f)
            T_CHECK((back & 0x7f80) == 0x7f80 && (back & 0x7f) && (back & 0x8000) == (h & 0x8000),
                    "bf16 NaN 0x%04x -> 0x%04x", h, back);
        else
            T_CHECK(back == h, "bf16 0x%04x round-tripped to 0x%04x", h, back);
    }
    /* Every boundary: the f32 with low half 0x8000 is the midpoint. */
    for (uint32_t h = 0; h < 0x7f7f; h++) {
        uint32_t mid = h << 16 | 0x8000;
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        T_CHECK(mote__f32_to_bf16(bits_f(mid)) == even, "bf16 mid above 0x%04x", h);
        T_CHECK(mote__f32_to_bf16(bits_f(mid - 1)) == h, "bf16 below mid 0x%04x", h);
        T_CHECK(mote__f32_to_bf16(bits_f(mid + 1)) == h + 1, "bf16 above mid 0x%04x", h);
        T_CHECK(mote__f32_to_bf16(bits_f(mid | 0x80000000u)) == (even | 0x8000), "bf16 -mid");
    }
    T_CHECK(mote__f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80, "1+2^-8 ties to even");
    T_CHECK(mote__f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82, "1+3*2^-8 ties to even");
    /* FLT_MAX is above the midpoint of the largest bf16 and inf. */
    T_CHECK(mote__f32_to_bf16(FLT_MAX) == 0x7f80, "FLT_MAX -> inf");
    T_CHECK(mote__f32_to_bf16(-INFINITY) == 0xff80, "-inf");
    T_CHECK(mote__f32_to_bf16(bits_f(0x00010000u)) == 0x0001, "bf16 subnormal");
    T_CHECK(mote__f32_to_bf16(bits_f(0x00008000u)) == 0x0000, "bf16 subnormal tie to 0");
    T_CHECK(mote__f32_to_bf16(bits_f(0x00018000u)) == 0x0002, "bf16 subnormal tie to 2");
    mote_bf16 qn = mote__f32_to_bf16(bits_f(0x7f800001u)); /* NaN with low payload only */
    T_CHECK((qn & 0x7f80) == 0x7f80 && (qn & 0x7f), "bf16 NaN stays NaN (0x%04x)", qn);
}

/* ---- hand-derived block layouts ---- */

static int quantize_one(uint32_t type, const float *x, uint8_t *out, size_t want_size) {
    const mote_type_traits *t = traits(type);
    if (!t || t->type_size != want_size) return 0;
    memset(out, 0xa5, want_size);
    t->quantize_ref(x, out, 32);
    return 1;
}

static void check_bytes(const char *what, const uint8_t *got, const uint8_t *want, size_t n) {
    for (size_t i = 0; i < n; i++) {
        T_CHECK(got[i] == want[i], "%s: byte %zu is 0x%02x, want 0x%02x", what, i, got[i],
                want[i]);
        if (got[i] != want[i]) return;
    }
}

/* f16 bit patterns used below: 1.0 = 0x3c00, 0.5 = 0x3800, -0.5 = 0xb800,
 * 0.25 = 0x3400, -1.0 = 0xbc00, 2.0 = 0x4000, 6.0 = 0x4600. Stored
 * little-endian: 1.0 is the bytes 00 3c. */

static void test_layout_q4_0(void) {
    /* A: x[j] = j - 8 (j < 16), x[16+j] = 7 - j (j < 14), x[30] = -0.5,
     * x[31] = 0.5. The signed max is -8 (x[0]): d = -8 / -8 = 1, id = 1,
     * q = trunc(x + 8.5): q[j] = j, q[16+j] = 15 - j, q[30] = trunc(8.0) =
     * 8, q[31] = trunc(9.0) = 9. qs[j] = q[j] | q[16+j] << 4. */
    float x[32];
    for (int j = 0; j < 16; j++) x[j] = (float)(j - 8);
    for (int j = 0; j < 14; j++) x[16 + j] = (float)(7 - j);
    x[30] = -0.5f;
    x[31] = 0.5f;
    static _Alignas(16) const uint8_t want_a[18] = {0x00, 0x3c, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96,
                                       0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x8e, 0x9f};
    _Alignas(16) uint8_t got[18];
    T_REQUIRE(quantize_one(MOTE_TYPE_Q4_0, x, got, 18), "q4_0 traits");
    check_bytes("q4_0 A", got, want_a, 18);

    /* B: a positive maximum and the clamp. x[0] = 4, x[1] = -4 (same
     * magnitude, later: the first wins), x[2] = 0.25, x[3] = -0.25, rest 0.
     * d = 4 / -8 = -0.5 (0xb800), id = -2. q = trunc(-2x + 8.5):
     * x[0] -> 0.5 -> 0; x[1] -> 16.5 -> 16, clamped to 15; x[2] -> 8.0 -> 8;
     * x[3] -> 9.0 -> 9; zeros -> 8. qs[0] = 0 | 8 << 4, qs[1] = 15 | 8 << 4,
     * qs[2] = 0x88, qs[3] = 0x89, rest 0x88. */
    float xb[32] = {4.0f, -4.0f, 0.25f, -0.25f};
    static _Alignas(16) const uint8_t want_b[18] = {0x00, 0xb8, 0x80, 0x8f, 0x88, 0x89, 0x88, 0x88, 0x88,
                                       0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88};
    T_REQUIRE(quantize_one(MOTE_TYPE_Q4_0, xb, got, 18), "q4_0 traits");
    check_bytes("q4_0 B", got, want_b, 18);
    /* And back: the clamped -4 comes back as (15 - 8) * -0.5 = -3.5. */
    float y[32];
    traits(MOTE_TYPE_Q4_0)->dequantize_ref(want_b, y, 32);
    T_CHECK(y[0] == 4.0f && y[1] == -3.5f && y[2] == 0.0f && y[3] == -0.5f && y[31] == 0.0f,
            "q4_0 B dequantized %g %g %g %g", y[0], y[1], y[2], y[3]);
}

static void test_layout_q4_1(void) {
    /* x[j] = 2 + j/2 (j < 16), x[16+j] = 9.5 - j/2 (j < 15), x[31] = 2.25.
     * min = 2, max = 9.5: d = 7.5 / 15 = 0.5 (0x3800), m = 2 (0x4000),
     * id = 2; q = trunc((x - 2) * 2 + 0.5): q[j] = j, q[16+j] = 15 - j,
     * q[31] = trunc(1.0) = 1 (a tie rounds up). */
    float x[32];
    for (int j = 0; j < 16; j++) x[j] = 2.0f + 0.5f * (float)j;
    for (int j = 0; j < 15; j++) x[16 + j] = 9.5f - 0.5f * (float)j;
    x[31] = 2.25f;
    static _Alignas(16) const uint8_t want[20] = {0x00, 0x38, 0x00, 0x40, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5,
                                     0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x1f};
    _Alignas(16) uint8_t got[20];
    T_REQUIRE(quantize_one(MOTE_TYPE_Q4_1, x, got, 20), "q4_1 traits");
    check_bytes("q4_1", got, want, 20);
}

/* The 5-bit values used for both q5 layouts: every value 0..31 once, in an
 * order where low nibbles, halves and high bits all differ. */
static const int g_q5[32] = {0, 31, 17, 2,  16, 15, 1, 30, 8,  24, 3, 19, 12, 28, 5,  21,
                             9, 26, 4,  20, 11, 27, 6, 22, 14, 29, 7, 23, 10, 25, 13, 18};
/* Derived from g_q5:
 *   qs[j] = (q[j] & 15) | (q[16+j] & 15) << 4:
 *     j0 0|9 -> 90, j1 15|10 -> af, j2 1|4 -> 41, j3 2|4 -> 42, j4 0|11 -> b0,
 *     j5 15|11 -> bf, j6 1|6 -> 61, j7 14|6 -> 6e, j8 8|14 -> e8, j9 8|13 -> d8,
 *     j10 3|7 -> 73, j11 3|7 -> 73, j12 12|10 -> ac, j13 12|9 -> 9c,
 *     j14 5|13 -> d5, j15 5|2 -> 25.
 *   qh bit k = q[k] >= 16: k = 1, 2, 4, 7 (byte 0: 0x96); 9, 11, 13, 15
 *     (byte 1: 0xaa); 17, 19, 21, 23 (byte 2: 0xaa); 25, 27, 29, 31 (byte 3:
 *     0xaa). As a little-endian uint32: 0xaaaaaa96. */
#define Q5_QH 0x96, 0xaa, 0xaa, 0xaa
#define Q5_QS 0x90, 0xaf, 0x41, 0x42, 0xb0, 0xbf, 0x61, 0x6e, 0xe8, 0xd8, 0x73, 0x73, \
              0xac, 0x9c, 0xd5, 0x25

static void test_layout_q5_0(void) {
    /* x[k] = (q[k] - 16) / 4. The signed max is -4 (q = 0 at k = 0):
     * d = -4 / -16 = 0.25 (0x3400), id = 4, q = trunc(4x + 16.5) = q[k]. */
    float x[32];
    for (int k = 0; k < 32; k++) x[k] = (float)(g_q5[k] - 16) * 0.25f;
    static _Alignas(16) const uint8_t want[22] = {0x00, 0x34, Q5_QH, Q5_QS};
    _Alignas(16) uint8_t got[22];
    T_REQUIRE(quantize_one(MOTE_TYPE_Q5_0, x, got, 22), "q5_0 traits");
    check_bytes("q5_0", got, want, 22);
    float y[32];
    traits(MOTE_TYPE_Q5_0)->dequantize_ref(want, y, 32);
    for (int k = 0; k < 32; k++) T_CHECK(y[k] == x[k], "q5_0 element %d: %g", k, y[k]);
}

static void test_layout_q5_1(void) {
    /* x[k] = q[k] - 1: min = -1 (q = 0), max = 30 (q = 31), d = 31 / 31 = 1
     * (0x3c00), m = -1 (0xbc00), q = trunc(x + 1 + 0.5) = q[k]. */
    float x[32];
    for (int k = 0; k < 32; k++) x[k] = (float)(g_q5[k] - 1);
    static _Alignas(16) const uint8_t want[24] = {0x00, 0x3c, 0x00, 0xbc, Q5_QH, Q5_QS};
    _Alignas(16) uint8_t got[24];
    T_REQUIRE(quantize_one(MOTE_TYPE_Q5_1, x, got, 24), "q5_1 traits");
    check_bytes("q5_1", got, want, 24);
    float y[32];
    traits(MOTE_TYPE_Q5_1)->dequantize_ref(want, y, 32);
    for (int k = 0; k < 32; k++) T_CHECK(y[k] == x[k], "q5_1 element %d: %g", k, y[k]);
}

static void test_layout_q8_0(void) {
    /* x = {-127, 127, 2.5, -2.5, 0.49, -0.5, then k - 16 for k = 6..31}.
     * amax = 127: d = 1 (0x3c00), q = roundf(x), halves away from zero:
     * -127 (0x81), 127 (0x7f), 3, -3 (0xfd), 0, -1 (0xff), -10..15. */
    float x[32] = {-127.0f, 127.0f, 2.5f, -2.5f, 0.49f, -0.5f};
    for (int k = 6; k < 32; k++) x[k] = (float)(k - 16);
    static _Alignas(16) const uint8_t want[34] = {
        0x00, 0x3c, 0x81, 0x7f, 0x03, 0xfd, 0x00, 0xff, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
        0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
        0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    _Alignas(16) uint8_t got[34];
    T_REQUIRE(quantize_one(MOTE_TYPE_Q8_0, x, got, 34), "q8_0 traits");
    check_bytes("q8_0", got, want, 34);
}

static void test_layout_q8_1(void) {
    /* x = {254, -254, 5, -5, 1, 0..., x[31] = 3}. amax = 254: d = 2
     * (0x4000), id = 0.5, q = roundf(x / 2) = 127, -127, 3 (2.5), -3, 1
     * (0.5), 0..., 2 (1.5). sum q = 3, s = 3 * 2 = 6 (0x4600). */
    float x[32] = {254.0f, -254.0f, 5.0f, -5.0f, 1.0f};
    x[31] = 3.0f;
    _Alignas(16) uint8_t want[36] = {0x00, 0x40, 0x00, 0x46, 0x7f, 0x81, 0x03, 0xfd, 0x01};
    want[35] = 0x02;
    _Alignas(16) uint8_t got[36];
    T_REQUIRE(quantize_one(MOTE_TYPE_Q8_1, x, got, 36), "q8_1 traits");
    check_bytes("q8_1", got, want, 36);
}

/* ---- round-trip error bounds ----
 *
 * Per element, with dh the block's stored f16 scale and mh its stored min.
 * u = 2^-11 is f16's unit roundoff: the stored d differs from the d used to
 * pick q by at most |d| u, which moves q * d by |q| |d| u; likewise mh by
 * |min| u. A further |x| 2^-22 covers the f32 roundings of x * id, the
 * offset and the dequantizing multiply-add.
 *   q4_0: |d|/2, except elements on the far side of the max with x/d > 7.5,
 *         where q = 16 is clamped to 15: |d|. Plus 8 |d| u.
 *   q5_0: the same with 15.5, clamp 32 -> 31; plus 16 |d| u.
 *   q4_1: |d|/2 (q never clamps), plus 15 |d| u + |m| u.
 *   q5_1: |d|/2, plus 31 |d| u + |m| u.
 *   q8_0, q8_1: |d|/2, plus 127 |d| u.
 *   f16: |x| 2^-11 (half an ulp, normal range) or 2^-25 (subnormal range).
 *   bf16: |x| 2^-8. f32: exact.
 * The u terms use 2u (and |d| from dh) to allow for dh itself being
 * rounded. */
static double roundtrip_bound(uint32_t type, const void *q, int64_t i, float x) {
    const double u = 0x1p-10, eps = fabs(x) * 0x1p-22 + 1e-30;
    int64_t b = i / 32;
    switch (type) {
    case MOTE_TYPE_F32: return 0.0;
    case MOTE_TYPE_F16: return fmax(fabs(x) * 0x1p-11, 0x1p-25);
    case MOTE_TYPE_BF16: return fabs(x) * 0x1p-8 + 1e-40;
    case MOTE_TYPE_Q4_0: {
        double d = mote__f16_to_f32(((const mote_block_q4_0 *)q)[b].d);
        int far = d != 0.0 && x / d > 7.5 - 0.01;
        return fabs(d) * (far ? 1.0 : 0.5) + 8 * fabs(d) * u + eps;
    }
    case MOTE_TYPE_Q5_0: {
        double d = mote__f16_to_f32(((const mote_block_q5_0 *)q)[b].d);
        int far = d != 0.0 && x / d > 15.5 - 0.01;
        return fabs(d) * (far ? 1.0 : 0.5) + 16 * fabs(d) * u + eps;
    }
    case MOTE_TYPE_Q4_1: {
        const mote_block_q4_1 *blk = (const mote_block_q4_1 *)q + b;
        double d = mote__f16_to_f32(blk->d), m = mote__f16_to_f32(blk->m);
        return 0.5 * fabs(d) + 15 * fabs(d) * u + fabs(m) * u + eps;
    }
    case MOTE_TYPE_Q5_1: {
        const mote_block_q5_1 *blk = (const mote_block_q5_1 *)q + b;
        double d = mote__f16_to_f32(blk->d), m = mote__f16_to_f32(blk->m);
        return 0.5 * fabs(d) + 31 * fabs(d) * u + fabs(m) * u + eps;
    }
    case MOTE_TYPE_Q8_0: {
        double d = mote__f16_to_f32(((const mote_block_q8_0 *)q)[b].d);
        return 0.5 * fabs(d) + 127 * fabs(d) * u + eps;
    }
    case MOTE_TYPE_Q8_1: {
        double d = mote__f16_to_f32(((const mote_block_q8_1 *)q)[b].d);
        return 0.5 * fabs(d) + 127 * fabs(d) * u + eps;
    }
    }
    return -1.0;
}

/* Quantize x (n) to type, dequantize, check every element against its
 * bound; returns the worst error / bound ratio (or > 1 on failure). */
static double roundtrip_check(uint32_t type, const float *x, int64_t n) {
    const mote_type_traits *t = traits(type);
    size_t bytes = (size_t)(n / t->block_size) * t->type_size;
    void *q = malloc(bytes + 1);
    float *y = malloc((size_t)n * sizeof *y);
    double worst = 0.0;
    if (!q || !y) { free(q); free(y); return 2.0; }
    t->quantize_ref(x, q, n);
    t->dequantize_ref(q, y, n);
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)x[i] - (double)y[i]);
        double bound = roundtrip_bound(type, q, i, x[i]);
        if (y[i] != y[i] || err > bound) {
            T_CHECK(0, "%s element %lld of %lld: x=%.9g y=%.9g err=%.3g bound=%.3g", t->name,
                    (long long)i, (long long)n, x[i], y[i], err, bound);
            worst = 2.0;
            break;
        }
        if (bound > 0 && err / bound > worst) worst = err / bound;
    }
    free(q);
    free(y);
    return worst;
}

static void test_roundtrip_random(void) {
    static const int64_t n_blocks[] = {1, 3, 7, 33};
    g_rng = 0x1234567887654321ull;
    for (size_t ti = 0; ti < N_KERNEL_TYPES; ti++) {
        uint32_t type = g_kernel_types[ti].type;
        for (size_t k = 0; k < sizeof n_blocks / sizeof n_blocks[0]; k++) {
            int64_t n = n_blocks[k] * 32;
            float *x = malloc((size_t)n * sizeof *x);
            T_REQUIRE(x != NULL, "oom");
            fill_random(x, n);
            roundtrip_check(type, x, n);
            free(x);
        }
    }
    /* The float types also take any n, odd ones included. */
    static const int64_t odd[] = {1, 5, 37};
    static const uint32_t ft[] = {MOTE_TYPE_F32, MOTE_TYPE_F16, MOTE_TYPE_BF16};
    for (size_t k = 0; k < 3; k++) {
        float x[37];
        fill_random(x, odd[k]);
        for (size_t t = 0; t < 3; t++) roundtrip_check(ft[t], x, odd[k]);
    }
    /* f16 in its subnormal range, where the bound is absolute. */
    float xs[64];
    for (int i = 0; i < 64; i++) xs[i] = rng_f() * 0x1p-15f;
    roundtrip_check(MOTE_TYPE_F16, xs, 64);
}

/* ---- dot products ----
 *
 * Reference: sum over i of dequantize(x)[i] * dequantize(y)[i] in double.
 * For the integer types the kernel computes the same sum exactly in
 * integers per block, so the difference is float rounding only: two or
 * three roundings per block term and one per block added into a float
 * accumulator, each at most 2^-24 relative to the running sum of
 * magnitudes. Tolerance: (n_blocks + 6) * 2^-24 * S, where S sums |x_i y_i|
 * (with |m| added to |x_i| for the min types, whose block terms split as
 * d*sum(q y) + m*sum(y)) plus |m s| per block.
 * q4_1/q5_1 with q8_1 use the stored s = f16(d * sum(q)) instead of
 * dy * sum(q): that difference, m * (s - dy * sum(q)) per block, is
 * computed here exactly and added to the reference (and s itself is
 * checked to be within 2^-10 relative of dy * sum(q)).
 * Float types: products of halves are exact in float and the sum is kept
 * in double, so f16/bf16 must be within 2^-24 |ref| (the final rounding)
 * plus 2^-40 S; f32 rounds each product, so 2^-23 S. */

static double block_min(uint32_t type, const void *q, int64_t b) {
    if (type == MOTE_TYPE_Q4_1) return mote__f16_to_f32(((const mote_block_q4_1 *)q)[b].m);
    if (type == MOTE_TYPE_Q5_1) return mote__f16_to_f32(((const mote_block_q5_1 *)q)[b].m);
    return 0.0;
}

static void dot_check(uint32_t type, int64_t n) {
    const mote_type_traits *t = traits(type);
    const mote_type_traits *v = traits(t->vec_dot_type);
    int64_t nb = n / t->block_size;
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    float *dx = malloc((size_t)n * sizeof *dx), *dy = malloc((size_t)n * sizeof *dy);
    void *qx = malloc((size_t)(n / t->block_size) * t->type_size);
    void *qy = malloc((size_t)(n / v->block_size) * v->type_size);
    if (!x || !y || !dx || !dy || !qx || !qy) {
        T_CHECK(0, "oom");
        goto done;
    }
    fill_random(x, n);
    for (int64_t i = 0; i < n; i++) y[i] = rng_f() * 2.0f;
    t->quantize_ref(x, qx, n);
    v->quantize_ref(y, qy, n);
    t->dequantize_ref(qx, dx, n);
    v->dequantize_ref(qy, dy, n);

    double ref = 0.0, mag = 0.0;
    for (int64_t i = 0; i < n; i++) {
        ref += (double)dx[i] * (double)dy[i];
        double m = t->is_quantized ? fabs(block_min(type, qx, i / 32)) : 0.0;
        mag += (fabs(dx[i]) + m) * fabs(dy[i]);
    }
    if (t->vec_dot_type == MOTE_TYPE_Q8_1 && type != MOTE_TYPE_Q8_1) {
        const mote_block_q8_1 *by = qy;
        for (int64_t b = 0; b < nb; b++) {
            int sumq = 0;
            for (int j = 0; j < 32; j++) sumq += by[b].qs[j];
            double d = mote__f16_to_f32(by[b].d), s = mote__f16_to_f32(by[b].s);
            double m = block_min(type, qx, b);
            T_CHECK(fabs(s - d * sumq) <= 0x1p-10 * fabs(d * sumq) * 1.001 + 1e-30,
                    "q8_1 s=%g but d*sum(q)=%g", s, d * sumq);
            ref += m * (s - d * sumq);
            mag += fabs(m * s);
        }
    }
    float got = t->vec_dot_ref(n, qx, qy);
    double tol;
    if (type == MOTE_TYPE_F16 || type == MOTE_TYPE_BF16)
        tol = 0x1p-24 * fabs(ref) + 0x1p-40 * mag;
    else if (type == MOTE_TYPE_F32)
        tol = 0x1p-23 * mag;
    else
        tol = (double)(nb + 6) * 0x1p-24 * mag;
    T_CHECK(fabs((double)got - ref) <= tol, "%s.%s n=%lld: got %.9g want %.9g (tol %.3g)", t->name,
            v->name, (long long)n, got, ref, tol);
done:
    free(x); free(y); free(dx); free(dy); free(qx); free(qy);
}

static void test_vec_dot(void) {
    static const int64_t n_blocks[] = {1, 3, 7, 33};
    g_rng = 0xfeedfacecafebeefull;
    for (size_t ti = 0; ti < N_KERNEL_TYPES; ti++)
        for (size_t k = 0; k < sizeof n_blocks / sizeof n_blocks[0]; k++)
            dot_check(g_kernel_types[ti].type, n_blocks[k] * 32);
    dot_check(MOTE_TYPE_F32, 37);
    dot_check(MOTE_TYPE_F16, 5);
    dot_check(MOTE_TYPE_BF16, 1);
}

/* A dot product small enough to do by hand: the q4_0 block A of the layout
 * test (x[j] = j - 8, ...) with a q8_0 block of all ones and d = 0.5. */
static void test_vec_dot_by_hand(void) {
    /* q4_0 values: j - 8 (j < 16) sum to -8; 7 - j (j < 14) sum to 7; then
     * 0 (q 8) and 1 (q 9): total 0. With y = 1 everywhere except y[0] = 2
     * (x[0] = -8 counts twice): -8. Scale 1 * 0.5: -4. */
    static const uint8_t q4[18] = {0x00, 0x3c, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96,
                                   0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x8e, 0x9f};
    uint8_t q8[34];
    q8[0] = 0x00;
    q8[1] = 0x38; /* d = 0.5 */
    for (int j = 0; j < 32; j++) q8[2 + j] = 1;
    q8[2] = 2;
    /* Copy into aligned storage: the kernels take 2-byte-aligned blocks. */
    mote_block_q4_0 bx;
    mote_block_q8_0 by;
    memcpy(&bx, q4, sizeof bx);
    memcpy(&by, q8, sizeof by);
    float got = traits(MOTE_TYPE_Q4_0)->vec_dot_ref(32, &bx, &by);
    T_CHECK(got == -4.0f, "q4_0.q8_0 by hand: %g", got);
}

/* ---- edge cases ---- */

static void test_zero_blocks(void) {
    /* All zeros: every scale is 0, id is 0 (not inf), nothing is NaN.
     * GGML's bytes: q4_0 and q5_0 store d = 0.0f / -8 = -0.0 (f16 0x8000:
     * bytes 00 80); q4_0 q = trunc(8.5) = 8 (qs 0x88); q5_0 q = trunc(16.5)
     * = 16 (qs 0x00, every qh bit set); q4_1/q5_1/q8 q = 0. */
    float x[64] = {0};
    for (size_t ti = 0; ti < N_KERNEL_TYPES; ti++) {
        const mote_type_traits *t = traits(g_kernel_types[ti].type);
        const mote_type_traits *v = traits(t->vec_dot_type);
        _Alignas(16) uint8_t q[256], qv[256];
        float y[64];
        memset(q, 0xa5, sizeof q);
        t->quantize_ref(x, q, 64);
        v->quantize_ref(x, qv, 64);
        t->dequantize_ref(q, y, 64);
        for (int i = 0; i < 64; i++) T_CHECK(y[i] == 0.0f, "%s zero -> %g", t->name, y[i]);
        T_CHECK(t->vec_dot_ref(64, q, qv) == 0.0f, "%s zero dot", t->name);
    }
    _Alignas(16) uint8_t q[22];
    traits(MOTE_TYPE_Q4_0)->quantize_ref(x, q, 32);
    T_CHECK(q[0] == 0 && q[1] == 0x80 && q[2] == 0x88 && q[17] == 0x88, "q4_0 zero bytes");
    traits(MOTE_TYPE_Q5_0)->quantize_ref(x, q, 32);
    T_CHECK(q[0] == 0 && q[1] == 0x80 && q[2] == 0xff && q[5] == 0xff && q[6] == 0 && q[21] == 0,
            "q5_0 zero bytes");
}

static void test_constant_blocks(void) {
    /* min == max: d = 0, and the min types return the constant exactly
     * (3.0 is an f16); the symmetric types put it at q = 0 (q4_0/q5_0,
     * d = -3/8 resp. -3/16, exact) or +-127 (q8, d = 3/127: within d/2). */
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = 3.0f;
    static const uint32_t types[] = {MOTE_TYPE_Q4_0, MOTE_TYPE_Q4_1, MOTE_TYPE_Q5_0,
                                     MOTE_TYPE_Q5_1};
    for (size_t k = 0; k < 4; k++) {
        const mote_type_traits *t = traits(types[k]);
        _Alignas(16) uint8_t q[24];
        float y[32];
        t->quantize_ref(x, q, 32);
        t->dequantize_ref(q, y, 32);
        for (int i = 0; i < 32; i++) T_CHECK(y[i] == 3.0f, "%s constant -> %g", t->name, y[i]);
    }
    roundtrip_check(MOTE_TYPE_Q8_0, x, 32);
    roundtrip_check(MOTE_TYPE_Q8_1, x, 32);
}

static void test_huge_value(void) {
    /* One value far above the rest (but with d inside f16 range): the
     * bounds hold, the huge value comes back nearly exactly, the rest go to
     * (nearly) zero, nothing overflows. */
    float x[64];
    g_rng = 42;
    for (int i = 0; i < 64; i++) x[i] = rng_f();
    x[5] = 30000.0f;
    x[40] = -60000.0f;
    for (size_t ti = 0; ti < N_KERNEL_TYPES; ti++) {
        uint32_t type = g_kernel_types[ti].type;
        roundtrip_check(type, x, 64);
        const mote_type_traits *t = traits(type);
        _Alignas(16) uint8_t q[2 * 36 + 256];
        float y[64];
        t->quantize_ref(x, q, 64);
        t->dequantize_ref(q, y, 64);
        for (int i = 0; i < 64; i++) T_CHECK(isfinite(y[i]), "%s huge: y[%d]=%g", t->name, i, y[i]);
        if (type == MOTE_TYPE_Q4_0 || type == MOTE_TYPE_Q5_0 || type == MOTE_TYPE_Q8_0)
            T_CHECK(fabsf(y[5] - 30000.0f) <= 30000.0f * 0x1p-10 &&
                        fabsf(y[40] + 60000.0f) <= 60000.0f * 0x1p-10,
                    "%s huge values came back as %g, %g", t->name, y[5], y[40]);
    }
}

static void test_negative_max(void) {
    /* All-negative blocks: the signed max is negative, so q4_0/q5_0 get a
     * positive d and the max sits at q = 0; q8_0 puts it at -127; q4_1's
     * min is the max's element. */
    float x[32];
    g_rng = 7;
    for (int i = 0; i < 32; i++) x[i] = -1.0f - 4.0f * (rng_f() + 1.0f) / 2.0f; /* [-5, -1) */
    x[9] = -6.0f;
    mote_block_q4_0 b4;
    mote_block_q5_0 b5;
    mote_block_q8_0 b8;
    mote_block_q4_1 b41;
    traits(MOTE_TYPE_Q4_0)->quantize_ref(x, &b4, 32);
    traits(MOTE_TYPE_Q5_0)->quantize_ref(x, &b5, 32);
    traits(MOTE_TYPE_Q8_0)->quantize_ref(x, &b8, 32);
    traits(MOTE_TYPE_Q4_1)->quantize_ref(x, &b41, 32);
    T_CHECK(mote__f16_to_f32(b4.d) == 0.75f && (b4.qs[9] & 0x0f) == 0, "q4_0 d=%g q=%d",
            mote__f16_to_f32(b4.d), b4.qs[9] & 0x0f);
    T_CHECK(mote__f16_to_f32(b5.d) == 0.375f && (b5.qs[9] & 0x0f) == 0 && !(b5.qh[1] & 0x02),
            "q5_0 negative max");
    T_CHECK(b8.qs[9] == -127 && mote__f16_to_f32(b8.d) > 0, "q8_0 negative max");
    T_CHECK(mote__f16_to_f32(b41.m) == -6.0f && (b41.qs[9] & 0x0f) == 0, "q4_1 min");
    for (size_t ti = 0; ti < N_KERNEL_TYPES; ti++) roundtrip_check(g_kernel_types[ti].type, x, 32);
}

static void test_partial_and_empty(void) {
    /* n = 0 and a trailing partial block write nothing past whole blocks. */
    float x[48];
    g_rng = 99;
    for (int i = 0; i < 48; i++) x[i] = rng_f();
    for (size_t ti = 0; ti < N_KERNEL_TYPES; ti++) {
        const mote_type_traits *t = traits(g_kernel_types[ti].type);
        if (!t->is_quantized) continue;
        _Alignas(16) uint8_t q[2 * 36];
        memset(q, 0xa5, sizeof q);
        t->quantize_ref(x, q, 0);
        T_CHECK(q[0] == 0xa5, "%s n=0 wrote", t->name);
        t->quantize_ref(x, q, 48);
        T_CHECK(q[t->type_size] == 0xa5, "%s wrote a partial block", t->name);
        float y[48];
        for (int i = 0; i < 48; i++) y[i] = -7.0f;
        t->dequantize_ref(q, y, 48);
        T_CHECK(y[32] == -7.0f && y[47] == -7.0f, "%s dequantized a partial block", t->name);
        T_CHECK(t->vec_dot_ref(0, q, q) == 0.0f, "%s empty dot", t->name);
    }
}

static void test_nonfinite_input(void) {
    /* Output is unspecified but the kernels must not invoke undefined
     * behaviour (UBSan checks the float-to-int conversions) or crash. */
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = (float)i;
    x[3] = NAN;
    x[7] = INFINITY;
    x[8] = -INFINITY;
    for (size_t ti = 0; ti < N_KERNEL_TYPES; ti++) {
        const mote_type_traits *t = traits(g_kernel_types[ti].type);
        _Alignas(16) uint8_t q[32 * 4];
        float y[32];
        t->quantize_ref(x, q, 32);
        t->dequantize_ref(q, y, 32);
    }
    /* And a tiny (f32-subnormal) max: id = 1/d overflows to inf. */
    float xs[32] = {0};
    xs[0] = 0x1p-130f; /* f32 subnormals; 2^-128 / 8 is too */
    xs[1] = -0x1p-128f;
    for (size_t ti = 0; ti < N_KERNEL_TYPES; ti++) {
        const mote_type_traits *t = traits(g_kernel_types[ti].type);
        _Alignas(16) uint8_t q[32 * 4];
        float y[32];
        t->quantize_ref(xs, q, 32);
        t->dequantize_ref(q, y, 32);
        for (int i = 0; i < 32; i++)
            T_CHECK(isfinite(y[i]) && fabsf(y[i]) < 1e-30f, "%s tiny: y[%d]=%g", t->name, i, y[i]);
    }
}

int main(void) {
    (void)t_assets; /* a test.h helper this binary does not need */
    T_RUN(test_type_table);
    T_RUN(test_kernel_traits);
    T_RUN(test_f16_exhaustive);
    T_RUN(test_f16_rounding);
    T_RUN(test_bf16);
    T_RUN(test_layout_q4_0);
    T_RUN(test_layout_q4_1);
    T_RUN(test_layout_q5_0);
    T_RUN(test_layout_q5_1);
    T_RUN(test_layout_q8_0);
    T_RUN(test_layout_q8_1);
    T_RUN(test_roundtrip_random);
    T_RUN(test_vec_dot);
    T_RUN(test_vec_dot_by_hand);
    T_RUN(test_zero_blocks);
    T_RUN(test_constant_blocks);
    T_RUN(test_huge_value);
    T_RUN(test_negative_max);
    T_RUN(test_partial_and_empty);
    T_RUN(test_nonfinite_input);
    return t_exit();
}
