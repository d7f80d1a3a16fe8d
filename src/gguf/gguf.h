/* gguf.h — internal API of the GGUF v3 reader and writer (src/gguf/).
 *
 * Reader: mmaps the file and validates the whole header up front through a
 * bounds-checked cursor — every count, string length, array length, dimension
 * product and offset is checked for overflow and against the file size before
 * use. After mote_gguf_open succeeds, every accessor here is safe: tensor data
 * pointers lie inside the mapping, at file offsets that are multiples of
 * general.alignment (so, in a file mapping, aligned to it up to the page
 * size), and cover exactly the bytes the type and shape need. Strings in the file are
 * not NUL-terminated; keys and tensor names are copied NUL-terminated, other
 * string values are returned as (pointer, length) into the mapping.
 *
 * Writer: collects key/values and tensors (data borrowed, not copied, until
 * write, or produced row by row during write by a callback) and writes a
 * GGUF v3 file that the reader and llama.cpp read.
 *
 * The public inspection functions (mote_gguf_open, mote_gguf_kv_key, ...) are
 * declared in include/mote.h and implemented in this layer too.
 */
#ifndef MOTE_GGUF_H
#define MOTE_GGUF_H

#include "../core/core.h"

#define MOTE_GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define MOTE_GGUF_DEFAULT_ALIGNMENT 32
#define MOTE_GGUF_MAX_DIMS 4

/* Value types, numbered as in the GGUF specification. */
typedef enum mote_gguf_vtype {
    MOTE_GGUF_UINT8 = 0,
    MOTE_GGUF_INT8 = 1,
    MOTE_GGUF_UINT16 = 2,
    MOTE_GGUF_INT16 = 3,
    MOTE_GGUF_UINT32 = 4,
    MOTE_GGUF_INT32 = 5,
    MOTE_GGUF_FLOAT32 = 6,
    MOTE_GGUF_BOOL = 7,
    MOTE_GGUF_STRING = 8,
    MOTE_GGUF_ARRAY = 9,
    MOTE_GGUF_UINT64 = 10,
    MOTE_GGUF_INT64 = 11,
    MOTE_GGUF_FLOAT64 = 12,
    MOTE_GGUF_VTYPE_COUNT
} mote_gguf_vtype;

typedef struct mote_gguf_tensor {
    const char *name;      /* NUL-terminated, owned by the mote_gguf */
    uint32_t type;         /* a mote_type (src/tensor/types.h) */
    int n_dims;            /* 1..4 */
    int64_t ne[MOTE_GGUF_MAX_DIMS]; /* ne[0] innermost; unused dims are 1 */
    uint64_t offset;       /* from the start of the data section */
    uint64_t nbytes;       /* exact size from type and shape */
    const void *data;      /* into the mapping */
} mote_gguf_tensor;

/* ---- reader ---- */

/* Like mote_gguf_open but over a caller-owned buffer (not copied; must stay
 * alive and unchanged until close). `name` is used in error messages. Used
 * by the fuzzer and by tests that build files in memory. */
mote_status mote__gguf_open_memory(const void *data, uint64_t size, const char *name,
                                   mote_gguf **out, mote_error *err);

/* mote_gguf_open with a choice of how the file comes into memory
 * (mote__file_open_mode: mapped, or read into a private huge-page buffer,
 * which is what a model generating from the file wants). */
mote_status mote__gguf_open_file(const char *path, mote_load_mode mode, mote_gguf **out, mote_error *err);
/* true when g's bytes were read into its own buffer, false when mapped or
 * a caller's buffer. */
bool mote__gguf_is_read(const mote_gguf *g);

const char *mote__gguf_path(const mote_gguf *g);
uint32_t mote__gguf_alignment(const mote_gguf *g);
/* Byte offset of the data section in the file; and its size. */
uint64_t mote__gguf_data_offset(const mote_gguf *g);
uint64_t mote__gguf_data_size(const mote_gguf *g);

/* Index of key, or -1 if absent. */
int64_t mote__gguf_find_key(const mote_gguf *g, const char *key);
mote_gguf_vtype mote__gguf_kv_type(const mote_gguf *g, int64_t i);

/* Typed getters by key. Absent key: MOTE_ERR_FORMAT "…: missing key K"
 * (callers that have a default check mote__gguf_find_key first). A value
 * of another type is an error naming the key and both types, except that
 * the integer getters accept any integer type whose value fits, and the
 * float getter accepts FLOAT32 or FLOAT64. */
mote_status mote__gguf_get_u32(const mote_gguf *g, const char *key, uint32_t *out, mote_error *err);
mote_status mote__gguf_get_i64(const mote_gguf *g, const char *key, int64_t *out, mote_error *err);
mote_status mote__gguf_get_f32(const mote_gguf *g, const char *key, float *out, mote_error *err);
mote_status mote__gguf_get_bool(const mote_gguf *g, const char *key, bool *out, mote_error *err);
/* String value: pointer into the mapping and length (no NUL). */
mote_status mote__gguf_get_str(const mote_gguf *g, const char *key, const char **ptr,
                               uint64_t *len, mote_error *err);
/* Array value: element type and count. For fixed-size element types, *data
 * points at the packed little-endian elements in the mapping (may be
 * unaligned: read with memcpy); for STRING elements *data is NULL and
 * mote__gguf_arr_str gives random access. Nested arrays: *data is NULL. */
mote_status mote__gguf_get_arr(const mote_gguf *g, const char *key, mote_gguf_vtype *elem_type,
                               uint64_t *n, const void **data, mote_error *err);
/* Element j of the string array at key index i (must be a STRING array and
 * j < its length — checked; returns MOTE_ERR_INVALID_ARG otherwise). */
mote_status mote__gguf_arr_str(const mote_gguf *g, int64_t i, uint64_t j, const char **ptr,
                               uint64_t *len);

int64_t mote__gguf_n_tensors(const mote_gguf *g);
const mote_gguf_tensor *mote__gguf_tensor(const mote_gguf *g, int64_t i);
/* NULL if absent. */
const mote_gguf_tensor *mote__gguf_find_tensor(const mote_gguf *g, const char *name);

/* ---- writer ---- */

typedef struct mote_gguf_writer mote_gguf_writer;

mote_gguf_writer *mote__gguf_writer_new(void); /* NULL on out of memory */
void mote__gguf_writer_free(mote_gguf_writer *w);

/* Setters copy key and value. Setting a key twice replaces the value. Each
 * returns MOTE_ERR_NOMEM or MOTE_OK. general.alignment, if set (u32, power of
 * two), is honoured by write. */
mote_status mote__gguf_set_u32(mote_gguf_writer *w, const char *key, uint32_t v);
mote_status mote__gguf_set_i32(mote_gguf_writer *w, const char *key, int32_t v);
mote_status mote__gguf_set_u64(mote_gguf_writer *w, const char *key, uint64_t v);
mote_status mote__gguf_set_f32(mote_gguf_writer *w, const char *key, float v);
mote_status mote__gguf_set_bool(mote_gguf_writer *w, const char *key, bool v);
mote_status mote__gguf_set_str(mote_gguf_writer *w, const char *key, const char *v);
/* Array of fixed-size elements (n packed little-endian values);
 * MOTE_ERR_INVALID_ARG for a STRING or ARRAY elem_type. */
mote_status mote__gguf_set_arr(mote_gguf_writer *w, const char *key, mote_gguf_vtype elem_type,
                               const void *data, uint64_t n);
mote_status mote__gguf_set_arr_str(mote_gguf_writer *w, const char *key,
                                   const char *const *strs, uint64_t n);
/* Copy key/value i of g verbatim (any type, nested arrays included). */
mote_status mote__gguf_set_from(mote_gguf_writer *w, const mote_gguf *g, int64_t i);

/* Add a tensor; data is borrowed until write and must hold exactly the bytes
 * its type and shape need. Duplicate names, bad dims or an unknown type are
 * MOTE_ERR_INVALID_ARG. */
mote_status mote__gguf_add_tensor(mote_gguf_writer *w, const char *name, uint32_t type,
                                  int n_dims, const int64_t *ne, const void *data,
                                  mote_error *err);

/* Streaming: a tensor whose bytes are produced at write time, one row
 * (ne[0] elements, row_bytes bytes) at a time, so a file larger than memory
 * can be written. mote__gguf_write calls fn(user, row, dst, row_bytes, err)
 * for row = 0, 1, ... ne[1]*ne[2]*ne[3]-1 in order, with dst a writer-owned
 * buffer of row_bytes bytes; fn fills it and returns MOTE_OK, or a status
 * (with err filled) that aborts the write (no file is left under PATH). The
 * same checks as mote__gguf_add_tensor apply; fn and user are borrowed until
 * write. */
typedef mote_status (*mote_gguf_row_fn)(void *user, int64_t row, void *dst, size_t row_bytes,
                                        mote_error *err);
mote_status mote__gguf_add_tensor_rows(mote_gguf_writer *w, const char *name, uint32_t type,
                                       int n_dims, const int64_t *ne, mote_gguf_row_fn fn,
                                       void *user, mote_error *err);

/* Write the file (to path.tmp, then rename). */
mote_status mote__gguf_write(const mote_gguf_writer *w, const char *path, mote_error *err);

#endif /* MOTE_GGUF_H */
