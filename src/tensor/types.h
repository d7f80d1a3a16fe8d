/* types.h — tensor element types and their scalar reference kernels.
 *
 * Type ids, block sizes and block layouts are GGML's exactly (the numbers are
 * what GGUF files store), so files move between mote and llama.cpp. For every
 * supported type there is a reference quantize (from f32), dequantize (to
 * f32) and dot product with the type's activation type (vec_dot_type): these
 * scalar functions define correct output; SIMD kernels (src/kernels/) are
 * tested against them.
 *
 * Not here: matrix products, threads, SIMD.
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

#endif /* MOTE_TYPES_H */
