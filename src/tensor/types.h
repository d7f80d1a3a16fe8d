/* types.h — tensor element types and their scalar reference kernels.
 *
 * Type ids, block sizes and block layouts are GGML's exactly (the numbers are
 * what GGUF files store), so files move between mote and llama.cpp. For every
 * supported type there is a reference quantize (from f32), dequantize (to
 * f32) and dot product with the type's activation type (vec_dot_type): these
 * scalar functions define correct output; SIMD kernels (src/kernels/) are
 * tested against them. Every type with a quantizer also has an
 * importance-weighted one (quantize_w) for `mote quantize --imatrix`.
 * Supported: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q8_1 (quant_ref.c),
 * q2_K..q6_K, q8_K (quant_k.c), iq4_nl, tq1_0, tq2_0 (quant_iq.c).
 *
 * Not here: matrix products, threads, SIMD, the other i-quants and mxfp4
 * (listed and sized, without kernels).
 */
#ifndef MOTE_TYPES_H
#define MOTE_TYPES_H

#include "../core/core.h"

typedef enum mote_type {
    MOTE_TYPE_F32 = 0,
    MOTE_TYPE_F16 = 1,
    MOTE_TYPE_Q4_0 = 2,
    MOTE_TYPE_Q4_1 = 3,
    /* 4, 5: removed Q4_2/Q4_3 in GGML */
    MOTE_TYPE_Q5_0 = 6,
    MOTE_TYPE_Q5_1 = 7,
    MOTE_TYPE_Q8_0 = 8,
    MOTE_TYPE_Q8_1 = 9,
    MOTE_TYPE_Q2_K = 10,
    MOTE_TYPE_Q3_K = 11,
    MOTE_TYPE_Q4_K = 12,
    MOTE_TYPE_Q5_K = 13,
    MOTE_TYPE_Q6_K = 14,
    MOTE_TYPE_Q8_K = 15,
    MOTE_TYPE_IQ4_NL = 20,
    MOTE_TYPE_I8 = 24,
    MOTE_TYPE_I16 = 25,
    MOTE_TYPE_I32 = 26,
    MOTE_TYPE_I64 = 27,
    MOTE_TYPE_F64 = 28,
    MOTE_TYPE_BF16 = 30,
    MOTE_TYPE_TQ1_0 = 34,
    MOTE_TYPE_TQ2_0 = 35,
    MOTE_TYPE_COUNT = 40 /* bound for tables indexed by type id */
} mote_type;

/* Quantize n floats (n a multiple of block_size) into blocks. */
typedef void (*mote_quantize_fn)(const float *x, void *y, int64_t n);
/* Dequantize n values (n a multiple of block_size). */
typedef void (*mote_dequantize_fn)(const void *x, float *y, int64_t n);
/* Dot product of n values: x in this type, y in vec_dot_type. */
typedef float (*mote_vec_dot_fn)(int64_t n, const void *x, const void *y);

/* Quantize n_rows rows of n_per_row floats (x, row-major) into y, row after
 * row (each row n_per_row / block_size blocks), choosing the scales to
 * minimise the importance-weighted error sum_i w_i (x_i - q_i)^2.
 * imatrix: n_per_row non-negative weights shared by every row (llama.cpp's
 * importance matrix for one weight tensor), or NULL for the type's default
 * (GGML's choice: the reference quantizer for the K-quants and the legacy
 * types, an x^2-weighted search for iq4_nl). Returns the bytes written,
 * n_rows * row_bytes, or 0 (writing nothing) when n_rows < 1, n_per_row < 1
 * or n_per_row is not a multiple of the block size. Pure, thread-safe, no
 * allocation; non-finite input gives unspecified values, never a crash or
 * undefined behaviour (see mote__row_has_nonfinite). */
typedef size_t (*mote_quantize_w_fn)(const float *x, void *y, int64_t n_rows, int64_t n_per_row,
                                     const float *imatrix);

typedef struct mote_type_traits {
    const char *name;         /* "f32", "q4_0", ... as GGML names them */
    int64_t block_size;       /* elements per block (1 for float types) */
    size_t type_size;         /* bytes per block */
    bool is_quantized;
    /* NULL where this build has no kernel for the type yet: such a type can
     * still be read, sized and listed, but not computed with. */
    mote_quantize_fn quantize_ref;
    mote_dequantize_fn dequantize_ref;
    mote_vec_dot_fn vec_dot_ref;
    mote_type vec_dot_type;   /* activation type vec_dot expects for y */
    /* Importance-weighted quantizer (NULL where the type has none, like
     * quantize_ref). */
    mote_quantize_w_fn quantize_w;
} mote_type_traits;

/* Traits for a type id, or NULL if the id is not a type GGML defines (or
 * one this build does not know at all). Safe for any uint32_t. */
const mote_type_traits *mote__type_traits(uint32_t type);
/* Name, or "unknown" for an unknown id. */
const char *mote__type_name(uint32_t type);
/* Look a type up by its name ("q4_0", case-insensitive); -1 if unknown. */
int mote__type_from_name(const char *name);
/* Bytes for n elements of type (n must be a multiple of the block size):
 * false on an unknown type, a partial block or overflow. */
bool mote__type_row_bytes(uint32_t type, uint64_t n, uint64_t *bytes);

/* True if x[0..n) holds a NaN or an infinity; *index (if non-NULL) gets the
 * first such element's index (-1 when none). Quantizers do not crash on
 * such input but their output is unspecified, so `mote quantize` checks each
 * row with this first and reports the tensor and element. */
bool mote__row_has_nonfinite(const float *x, int64_t n, int64_t *index);

/* ---- half-precision conversions (exact, round-to-nearest-even) ---- */
typedef uint16_t mote_f16;
typedef uint16_t mote_bf16;
float mote__f16_to_f32(mote_f16 h);
mote_f16 mote__f32_to_f16(float f);
float mote__bf16_to_f32(mote_bf16 h);
mote_bf16 mote__f32_to_bf16(float f);

/* ---- GGML block layouts (packed, little-endian) ---- */
#define MOTE_QK4_0 32
typedef struct { mote_f16 d; uint8_t qs[MOTE_QK4_0 / 2]; } mote_block_q4_0;
#define MOTE_QK4_1 32
typedef struct { mote_f16 d, m; uint8_t qs[MOTE_QK4_1 / 2]; } mote_block_q4_1;
#define MOTE_QK5_0 32
typedef struct { mote_f16 d; uint8_t qh[4]; uint8_t qs[MOTE_QK5_0 / 2]; } mote_block_q5_0;
#define MOTE_QK5_1 32
typedef struct { mote_f16 d, m; uint8_t qh[4]; uint8_t qs[MOTE_QK5_1 / 2]; } mote_block_q5_1;
#define MOTE_QK8_0 32
typedef struct { mote_f16 d; int8_t qs[MOTE_QK8_0]; } mote_block_q8_0;
#define MOTE_QK8_1 32
typedef struct { mote_f16 d, s; int8_t qs[MOTE_QK8_1]; } mote_block_q8_1;

/* K-quants: super-blocks of MOTE_QK_K = 256 values (ggml-common.h). Element
 * order inside the packed arrays is spelled out in quant_k.c. */
#define MOTE_QK_K 256
#define MOTE_K_SCALE_SIZE 12
/* 2.625 bits/value: 16 sub-blocks of 16; x = d * (scales[s] & 15) * q -
 * dmin * (scales[s] >> 4), q in 0..3. */
typedef struct {
    uint8_t scales[MOTE_QK_K / 16]; /* low nibble scale, high nibble min */
    uint8_t qs[MOTE_QK_K / 4];      /* 2-bit quants */
    mote_f16 d, dmin;               /* super-block scales of scales and mins */
} mote_block_q2_K;
/* 3.4375 bits/value: 16 sub-blocks of 16; x = d * (sc6 - 32) * (q2 - 4 *
 * !hbit), a 6-bit signed sub-block scale packed in scales[12]. */
typedef struct {
    uint8_t hmask[MOTE_QK_K / 8];      /* high bit of each 3-bit quant */
    uint8_t qs[MOTE_QK_K / 4];         /* low 2 bits */
    uint8_t scales[MOTE_K_SCALE_SIZE]; /* 16 6-bit scales */
    mote_f16 d;
} mote_block_q3_K;
/* 4.5 bits/value: 8 sub-blocks of 32; x = d * sc6 * q - dmin * m6, q in
 * 0..15, 6-bit scales and mins packed in scales[12]. */
typedef struct {
    mote_f16 d, dmin;
    uint8_t scales[MOTE_K_SCALE_SIZE];
    uint8_t qs[MOTE_QK_K / 2];
} mote_block_q4_K;
/* 5.5 bits/value: q4_K plus a fifth bit per value in qh. */
typedef struct {
    mote_f16 d, dmin;
    uint8_t scales[MOTE_K_SCALE_SIZE];
    uint8_t qh[MOTE_QK_K / 8];
    uint8_t qs[MOTE_QK_K / 2];
} mote_block_q5_K;
/* 6.5625 bits/value: 16 sub-blocks of 16; x = d * scales[s] * (q - 32), q
 * in 0..63 (low 4 bits in ql, high 2 in qh), int8 sub-block scales. */
typedef struct {
    uint8_t ql[MOTE_QK_K / 2];
    uint8_t qh[MOTE_QK_K / 4];
    int8_t scales[MOTE_QK_K / 16];
    mote_f16 d;
} mote_block_q6_K;
/* The K-quants' activation type: x = d * q (d in f32, q in -127..127),
 * bsums[s] = sum of qs over sub-block s of 16 (for the min terms). */
typedef struct {
    float d;
    int8_t qs[MOTE_QK_K];
    int16_t bsums[MOTE_QK_K / 16];
} mote_block_q8_K;

/* IQ4_NL: blocks of 32, x = d * kvalues_iq4nl[nibble] (GGML's fixed
 * non-linear table of 16 int8 levels); nibbles as in q4_0. */
#define MOTE_QK4_NL 32
typedef struct { mote_f16 d; uint8_t qs[MOTE_QK4_NL / 2]; } mote_block_iq4_nl;

/* Ternary types (BitNet b1.58, TriLM): x = d * t, t in {-1, 0, 1}, one f16
 * scale per 256. tq1_0 packs 5 trits a byte in base 3 (qs, 240 values) and 4
 * a byte (qh, the last 16); tq2_0 spends 2 bits per value (t + 1). */
typedef struct {
    uint8_t qs[(MOTE_QK_K - 4 * MOTE_QK_K / 64) / 5];
    uint8_t qh[MOTE_QK_K / 64];
    mote_f16 d;
} mote_block_tq1_0;
typedef struct { uint8_t qs[MOTE_QK_K / 4]; mote_f16 d; } mote_block_tq2_0;

_Static_assert(sizeof(mote_block_q2_K) == 84, "q2_K block is 16 + 64 + 2 + 2 bytes");
_Static_assert(sizeof(mote_block_q3_K) == 110, "q3_K block is 32 + 64 + 12 + 2 bytes");
_Static_assert(sizeof(mote_block_q4_K) == 144, "q4_K block is 2 + 2 + 12 + 128 bytes");
_Static_assert(sizeof(mote_block_q5_K) == 176, "q5_K block is 2 + 2 + 12 + 32 + 128 bytes");
_Static_assert(sizeof(mote_block_q6_K) == 210, "q6_K block is 128 + 64 + 16 + 2 bytes");
_Static_assert(sizeof(mote_block_q8_K) == 292, "q8_K block is 4 + 256 + 32 bytes");
_Static_assert(sizeof(mote_block_iq4_nl) == 18, "iq4_nl block is 2 + 16 bytes");
_Static_assert(sizeof(mote_block_tq1_0) == 54, "tq1_0 block is 48 + 4 + 2 bytes");
_Static_assert(sizeof(mote_block_tq2_0) == 66, "tq2_0 block is 64 + 2 bytes");

#endif /* MOTE_TYPES_H */
