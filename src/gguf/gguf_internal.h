/* gguf_internal.h — what the GGUF reader tells the GGUF writer and nobody
 * else: raw access to a key/value's serialized bytes (for verbatim copies).
 * Private to src/gguf/; not part of the contract in gguf.h.
 */
#ifndef MOTE_GGUF_INTERNAL_H
#define MOTE_GGUF_INTERNAL_H

#include "gguf.h"

/* Limits shared by the reader and the writer (the writer refuses to write
 * what the reader would refuse to read). */
#define MOTE_GGUF_KEY_MAX 65535        /* bytes in a key */
#define MOTE_GGUF_NAME_MAX 63          /* bytes in a tensor name (GGML_MAX_NAME - 1) */
#define MOTE_GGUF_ARRAY_MAX_DEPTH 8    /* arrays inside arrays inside ... */

/* Value i of g as it is stored in the file: its type tag and the bytes that
 * follow the tag (for an array: element type, count, elements). The bytes
 * point into g's mapping and were validated by the reader. Returns false for
 * an index out of range. */
bool mote__gguf_kv_raw(const mote_gguf *g, int64_t i, uint32_t *type, const uint8_t **bytes,
                       uint64_t *nbytes);

/* Bytes of one element of a fixed-size value type (u8 ... f64, bool), or 0
 * for STRING, ARRAY and unknown types. */
uint64_t mote__gguf_vtype_size(uint32_t type);
/* Short name of a value type ("u32", "string", ...; "unknown"). */
const char *mote__gguf_vtype_name(uint32_t type);

#endif /* MOTE_GGUF_INTERNAL_H */
