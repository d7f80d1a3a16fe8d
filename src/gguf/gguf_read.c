/* gguf_read.c — the GGUF reader: parse and validate a whole GGUF v2/v3 header
 * up front, then answer questions about it without further checks.
 *
 * What it is: a bounds-checked cursor over the mapped file (or a caller's
 * buffer), the validation of every count, length, type, shape, size and
 * offset in the header, and the accessors of gguf.h and the inspection
 * functions of mote.h over the result. Tensor data and string values are
 * never copied: they point into the mapping. Keys and tensor names are
 * copied NUL-terminated.
 *
 * What it is not: the writer (gguf_write.c), and no interpretation of the
 * metadata (architectures, tokenizers) — that is the model layer's job.
 *
 * Hostile-file rules, all checked before anything is used or allocated:
 *   - every read stays inside the file; every length is compared with the
 *     bytes left before it is skipped;
 *   - a count (keys, tensors, array elements) is bounded by the bytes left
 *     divided by the smallest encoding of one item, so memory stays
 *     proportional to the file, and arrays of entries grow as entries are
 *     actually parsed;
 *   - keys are 1..65535 bytes, tensor names 1..63 bytes (GGML_MAX_NAME), with
 *     no NUL byte; both are unique;
 *   - value types are the 13 of the spec; arrays nest at most 8 deep (GGML
 *     itself refuses nested arrays; the spec allows them);
 *   - general.alignment, if present, is a u32 power of two;
 *   - a tensor has 1..4 dimensions, each >= 0 (GGML allows empty tensors),
 *     an element count that fits int64, a known type, ne[0] a multiple of the
 *     type's block size, a byte size that fits uint64, and data that lies
 *     inside the data section at a multiple of the alignment without
 *     overlapping another tensor's.
 * Every error is MOTE_ERR_FORMAT (or _IO / _NOMEM) with one line naming the
 * file, the byte offset and what is wrong.
 */
#include "gguf.h"
#include "gguf_internal.h"
#include "../tensor/types.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 24 /* magic, version, n_tensors, n_kv */
/* Smallest possible encodings, for bounding counts by the bytes left. */
#define MIN_KV_BYTES 14     /* key length (8) + 1 key byte + type (4) + a 1-byte value */
#define MIN_TENSOR_BYTES 33 /* name length (8) + 1 byte + n_dims (4) + ne[0] (8) + type (4) + offset (8) */
#define MIN_STRING_BYTES 8  /* the length field of an empty string */
#define MIN_ARRAY_BYTES 12  /* element type (4) + count (8) of an empty array */
#define QUOTED_MAX 264      /* quote_bytes output: 64 bytes as \xHH, "...", NUL */

/* ---- the parsed file ---- */

typedef struct gguf_kv {
    char *key;              /* NUL-terminated copy */
    uint64_t key_pos;       /* file offset of the key's length field (for messages) */
    uint32_t type;          /* mote_gguf_vtype */
    uint64_t val_pos;       /* file offset of the value, just after the type tag */
    uint64_t val_bytes;     /* bytes of the value */
    uint32_t elem_type;     /* arrays: element type ... */
    uint64_t n_elems;       /* ... and count */
    const uint8_t **strs;   /* top-level STRING arrays: each element's length field */
} gguf_kv;

typedef struct gguf_tensor {
    mote_gguf_tensor t;     /* what mote__gguf_tensor hands out */
    uint64_t info_pos;      /* file offset of the tensor's info (for messages) */
} gguf_tensor;

struct mote_gguf {
    char *name;             /* path, or the caller's name for a buffer */
    mote_file_map fm;
    bool mapped;            /* fm is ours to unmap */
    const uint8_t *base;    /* the whole file */
    uint64_t size;
    uint32_t version;
    uint32_t alignment;
    gguf_kv *kv;
    int64_t n_kv, cap_kv;
    gguf_tensor *tensors;
    int64_t n_tensors, cap_tensors;
    uint64_t data_offset, data_size;
    /* Hash indexes (open addressing, slot = index + 1, 0 = empty). */
    int64_t *kv_slots, *tensor_slots;
    uint64_t kv_mask, tensor_mask;
};

/* ---- small helpers ---- */

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

uint64_t mote__gguf_vtype_size(uint32_t type) {
    switch (type) {
    case MOTE_GGUF_UINT8: case MOTE_GGUF_INT8: case MOTE_GGUF_BOOL: return 1;
    case MOTE_GGUF_UINT16: case MOTE_GGUF_INT16: return 2;
    case MOTE_GGUF_UINT32: case MOTE_GGUF_INT32: case MOTE_GGUF_FLOAT32: return 4;
    case MOTE_GGUF_UINT64: case MOTE_GGUF_INT64: case MOTE_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

const char *mote__gguf_vtype_name(uint32_t type) {
    static const char *names[MOTE_GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
    };
    return type < MOTE_GGUF_VTYPE_COUNT ? names[type] : "unknown";
}

/* Render bytes s[0..len) for an error message into dst (always
 * NUL-terminated): printable ASCII as is, anything else as \xHH, cut with
 * "..." after 64 input bytes, so a message stays one readable line. */
static void quote_bytes(char *dst, size_t cap, const uint8_t *s, uint64_t len) {
    size_t o = 0;
    uint64_t shown = len < 64 ? len : 64;
    for (uint64_t i = 0; i < shown && o + 5 < cap; i++) {
        uint8_t ch = s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'') dst[o++] = (char)ch;
        else o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", ch);
    }
    if (shown < len && o + 4 < cap) { memcpy(dst + o, "...", 3); o += 3; }
    dst[o < cap ? o : cap - 1] = '\0';
}

/* FNV-1a: the hash of the key and tensor-name indexes. */
static uint64_t hash_str(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* ---- the cursor ---- */

/* A read position in [0, size] over base. Every read checks the bytes left
 * first; on failure it fills err with "NAME: offset N: [CTX: ]what" and the
 * cursor must not be used again. ctx names the key or tensor being read. */
typedef struct cursor {
    const uint8_t *base;
    uint64_t size, pos;
    const char *name;
    mote_error *err;
    char ctx[QUOTED_MAX + 16];
} cursor;

static mote_status fail_at(const cursor *c, uint64_t at, const char *fmt, ...) MOTE_PRINTF(3, 4);
static mote_status fail_at(const cursor *c, uint64_t at, const char *fmt, ...) {
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mote__err(c->err, MOTE_ERR_FORMAT, "%s: offset %llu: %s%s%s", c->name,
                     (unsigned long long)at, c->ctx, c->ctx[0] ? ": " : "", what);
}

static uint64_t left(const cursor *c) { return c->size - c->pos; }

/* Check that n more bytes exist; `what` says what they would hold. */
static mote_status need(cursor *c, uint64_t n, const char *what) {
    if (n <= left(c)) return MOTE_OK;
    return fail_at(c, c->pos, "file ends inside the %s (%llu bytes needed, %llu left)", what,
                   (unsigned long long)n, (unsigned long long)left(c));
}

static mote_status rd_u32(cursor *c, const char *what, uint32_t *v) {
    mote_status s = need(c, 4, what);
    if (s) return s;
    *v = le32(c->base + c->pos);
    c->pos += 4;
    return MOTE_OK;
}

static mote_status rd_u64(cursor *c, const char *what, uint64_t *v) {
    mote_status s = need(c, 8, what);
    if (s) return s;
    *v = le64(c->base + c->pos);
    c->pos += 8;
    return MOTE_OK;
}

/* A GGUF string: u64 length, then the bytes (not NUL-terminated). *str
 * points into the file. */
static mote_status rd_string(cursor *c, const char *what, const uint8_t **str, uint64_t *len) {
    uint64_t at = c->pos;
    char lenwhat[64];
    snprintf(lenwhat, sizeof lenwhat, "%s length", what);
    mote_status s = rd_u64(c, lenwhat, len);
    if (s) return s;
    if (*len > left(c))
        return fail_at(c, at, "%s is %llu bytes long, past the end of the file (%llu bytes left)",
                       what, (unsigned long long)*len, (unsigned long long)left(c));
    *str = c->base + c->pos;
    c->pos += *len;
    return MOTE_OK;
}

static mote_status rd_vtype(cursor *c, const char *what, uint32_t *type) {
    uint64_t at = c->pos;
    mote_status s = rd_u32(c, what, type);
    if (s) return s;
    if (*type >= MOTE_GGUF_VTYPE_COUNT)
        return fail_at(c, at, "unknown %s %u (0 to %d are defined)", what, *type,
                       MOTE_GGUF_VTYPE_COUNT - 1);
    return MOTE_OK;
}

/* ---- values ---- */

/* Read an array's element type and count (the cursor is just after the
 * ARRAY tag) and check that the count can fit in the bytes left. depth is
 * 1 for an array that is a key's value, 2 inside it, ... */
static mote_status rd_array_head(cursor *c, int depth, uint32_t *elem_type, uint64_t *n) {
    uint64_t at = c->pos;
    if (depth > MOTE_GGUF_ARRAY_MAX_DEPTH)
        return fail_at(c, at, "arrays nested more than %d deep", MOTE_GGUF_ARRAY_MAX_DEPTH);
    mote_status s = rd_vtype(c, "array element type", elem_type);
    if (!s) s = rd_u64(c, "array length", n);
    if (s) return s;
    uint64_t min = mote__gguf_vtype_size(*elem_type);
    if (*elem_type == MOTE_GGUF_STRING) min = MIN_STRING_BYTES;
    if (*elem_type == MOTE_GGUF_ARRAY) min = MIN_ARRAY_BYTES;
    if (*n > left(c) / min)
        return fail_at(c, at, "array length %llu: that many %s elements cannot fit in the %llu bytes left",
                       (unsigned long long)*n, mote__gguf_vtype_name(*elem_type),
                       (unsigned long long)left(c));
    return MOTE_OK;
}

static mote_status skip_array_body(cursor *c, int depth, uint32_t elem_type, uint64_t n);

/* Skip one value of a known type (validated by rd_vtype). */
static mote_status skip_value(cursor *c, int depth, uint32_t type) {
    uint64_t size = mote__gguf_vtype_size(type);
    if (size) {
        mote_status s = need(c, size, "value");
        if (!s) c->pos += size;
        return s;
    }
    if (type == MOTE_GGUF_STRING) {
        const uint8_t *str;
        uint64_t len;
        return rd_string(c, "string", &str, &len);
    }
    uint32_t elem_type;
    uint64_t n;
    mote_status s = rd_array_head(c, depth + 1, &elem_type, &n);
    return s ? s : skip_array_body(c, depth + 1, elem_type, n);
}

/* Skip the n elements of an array whose head rd_array_head checked. The
 * work is bounded by the bytes left: each element takes at least one. */
static mote_status skip_array_body(cursor *c, int depth, uint32_t elem_type, uint64_t n) {
    uint64_t size = mote__gguf_vtype_size(elem_type);
    if (size) { /* n * size <= left: checked by rd_array_head */
        c->pos += n * size;
        return MOTE_OK;
    }
    for (uint64_t i = 0; i < n; i++) {
        mote_status s = skip_value(c, depth, elem_type);
        if (s) return s;
    }
    return MOTE_OK;
}

/* ---- key/value pairs ---- */

/* Grow *arr (of elem bytes each) so that it holds at least n + 1 items. */
static bool grow(void **arr, int64_t *cap, int64_t n, size_t elem) {
    if (n < *cap) return true;
    int64_t new_cap = *cap ? *cap * 2 : 16;
    if ((uint64_t)new_cap > SIZE_MAX / elem) return false;
    void *p = mote__realloc(*arr, (size_t)new_cap * elem);
    if (!p) return false;
    *arr = p;
    *cap = new_cap;
    return true;
}

static mote_status parse_kv(mote_gguf *g, cursor *c) {
    if (!grow((void **)&g->kv, &g->cap_kv, g->n_kv, sizeof *g->kv))
        return mote__err(c->err, MOTE_ERR_NOMEM, "%s: out of memory reading key %lld", g->name,
                         (long long)g->n_kv);
    gguf_kv *kv = &g->kv[g->n_kv];
    memset(kv, 0, sizeof *kv);
    kv->key_pos = c->pos;
    const uint8_t *key;
    uint64_t key_len;
    mote_status s = rd_string(c, "key", &key, &key_len);
    if (s) return s;
    if (key_len == 0) return fail_at(c, kv->key_pos, "empty key");
    if (key_len > MOTE_GGUF_KEY_MAX)
        return fail_at(c, kv->key_pos, "key is %llu bytes long (at most %d)",
                       (unsigned long long)key_len, MOTE_GGUF_KEY_MAX);
    char shown[QUOTED_MAX];
    quote_bytes(shown, sizeof shown, key, key_len);
    if (memchr(key, 0, (size_t)key_len))
        return fail_at(c, kv->key_pos, "key '%s' contains a NUL byte", shown);
    kv->key = mote__strndup((const char *)key, (size_t)key_len);
    if (!kv->key) return mote__err(c->err, MOTE_ERR_NOMEM, "%s: out of memory", g->name);
    g->n_kv++; /* from here on, close frees it */

    snprintf(c->ctx, sizeof c->ctx, "key '%s'", shown);
    s = rd_vtype(c, "value type", &kv->type);
    if (s) return s;
    kv->val_pos = c->pos;
    if (kv->type != MOTE_GGUF_ARRAY) {
        s = skip_value(c, 0, kv->type);
    } else {
        s = rd_array_head(c, 1, &kv->elem_type, &kv->n_elems);
        if (!s && kv->elem_type == MOTE_GGUF_STRING) {
            /* Random access for mote__gguf_arr_str; n_elems <= left / 8, so
             * this table is never larger than the file. */
            kv->strs = mote__calloc(kv->n_elems ? (size_t)kv->n_elems : 1, sizeof *kv->strs);
            if (!kv->strs)
                return mote__err(c->err, MOTE_ERR_NOMEM, "%s: out of memory for key %s", g->name,
                                 kv->key);
            for (uint64_t j = 0; j < kv->n_elems && !s; j++) {
                const uint8_t *str;
                uint64_t len;
                uint64_t at = c->pos;
                s = rd_string(c, "string", &str, &len);
                if (!s) kv->strs[j] = c->base + at;
            }
        } else if (!s) {
            s = skip_array_body(c, 1, kv->elem_type, kv->n_elems);
        }
    }
    if (s) return s;
    kv->val_bytes = c->pos - kv->val_pos;
    c->ctx[0] = '\0';
    return MOTE_OK;
}

/* ---- hash indexes ---- */

/* Build an index of n names (name_at(i)); on a duplicate, *dup_a and *dup_b
 * are the two indexes and the result is false. NOMEM: *slots stays NULL. */
static bool build_index(int64_t n, const char *(*name_at)(const mote_gguf *, int64_t),
                        const mote_gguf *g, int64_t **slots, uint64_t *mask, int64_t *dup_a,
                        int64_t *dup_b) {
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2) cap *= 2; /* n is bounded by the file size */
    *slots = mote__calloc((size_t)cap, sizeof **slots);
    *mask = cap - 1;
    if (!*slots) return true;
    for (int64_t i = 0; i < n; i++) {
        const char *name = name_at(g, i);
        uint64_t h = hash_str(name) & *mask;
        while ((*slots)[h]) {
            if (strcmp(name_at(g, (*slots)[h] - 1), name) == 0) {
                *dup_a = (*slots)[h] - 1;
                *dup_b = i;
                return false;
            }
            h = (h + 1) & *mask;
        }
        (*slots)[h] = i + 1;
    }
    return true;
}

static int64_t index_find(const mote_gguf *g, const int64_t *slots, uint64_t mask,
                          const char *(*name_at)(const mote_gguf *, int64_t), const char *name) {
    if (!slots || !name) return -1;
    uint64_t h = hash_str(name) & mask;
    while (slots[h]) {
        if (strcmp(name_at(g, slots[h] - 1), name) == 0) return slots[h] - 1;
        h = (h + 1) & mask;
    }
    return -1;
}

static const char *kv_name_at(const mote_gguf *g, int64_t i) { return g->kv[i].key; }
static const char *tensor_name_at(const mote_gguf *g, int64_t i) { return g->tensors[i].t.name; }

/* ---- tensor infos ---- */

static mote_status parse_tensor(mote_gguf *g, cursor *c) {
    if (!grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors, sizeof *g->tensors))
        return mote__err(c->err, MOTE_ERR_NOMEM, "%s: out of memory reading tensor %lld", g->name,
                         (long long)g->n_tensors);
    gguf_tensor *rec = &g->tensors[g->n_tensors];
    mote_gguf_tensor *t = &rec->t;
    memset(rec, 0, sizeof *rec);
    rec->info_pos = c->pos;
    const uint8_t *name;
    uint64_t name_len;
    mote_status s = rd_string(c, "tensor name", &name, &name_len);
    if (s) return s;
    if (name_len == 0) return fail_at(c, rec->info_pos, "empty tensor name");
    char shown[QUOTED_MAX];
    quote_bytes(shown, sizeof shown, name, name_len);
    if (name_len > MOTE_GGUF_NAME_MAX)
        return fail_at(c, rec->info_pos, "tensor name '%s' is %llu bytes long (at most %d)", shown,
                       (unsigned long long)name_len, MOTE_GGUF_NAME_MAX);
    if (memchr(name, 0, (size_t)name_len))
        return fail_at(c, rec->info_pos, "tensor name '%s' contains a NUL byte", shown);
    t->name = mote__strndup((const char *)name, (size_t)name_len);
    if (!t->name) return mote__err(c->err, MOTE_ERR_NOMEM, "%s: out of memory", g->name);
    g->n_tensors++; /* from here on, close frees the name */
    snprintf(c->ctx, sizeof c->ctx, "tensor '%s'", shown);

    uint64_t at = c->pos;
    uint32_t n_dims;
    if ((s = rd_u32(c, "number of dimensions", &n_dims))) return s;
    if (n_dims < 1 || n_dims > MOTE_GGUF_MAX_DIMS)
        return fail_at(c, at, "%u dimensions (must be 1 to %d)", n_dims, MOTE_GGUF_MAX_DIMS);
    t->n_dims = (int)n_dims;
    bool empty = false;
    for (int d = 0; d < MOTE_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims) continue;
        uint64_t v;
        at = c->pos;
        if ((s = rd_u64(c, "dimension", &v))) return s;
        if (v > (uint64_t)INT64_MAX)
            return fail_at(c, at, "dimension %d is negative (%lld)", d, (long long)(int64_t)v);
        t->ne[d] = (int64_t)v;
        if (v == 0) empty = true;
    }
    uint64_t n_elem = 1;
    for (int d = 0; d < t->n_dims && !empty; d++)
        if (!mote__mul_u64(n_elem, (uint64_t)t->ne[d], &n_elem) || n_elem > (uint64_t)INT64_MAX)
            return fail_at(c, rec->info_pos,
                           "shape [%lld, %lld, %lld, %lld] has more elements than int64 can count",
                           (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                           (long long)t->ne[3]);

    at = c->pos;
    if ((s = rd_u32(c, "tensor type", &t->type))) return s;
    const mote_type_traits *tr = mote__type_traits(t->type);
    if (!tr) return fail_at(c, at, "unknown tensor type %u", t->type);
    if (t->ne[0] % tr->block_size != 0)
        return fail_at(c, at, "ne[0] = %lld is not a multiple of the %s block size (%lld)",
                       (long long)t->ne[0], tr->name, (long long)tr->block_size);
    uint64_t nbytes = 0;
    bool ok = mote__type_row_bytes(t->type, (uint64_t)t->ne[0], &nbytes);
    for (int d = 1; d < MOTE_GGUF_MAX_DIMS && ok; d++)
        ok = mote__mul_u64(nbytes, (uint64_t)t->ne[d], &nbytes);
    if (!ok)
        return fail_at(c, at, "%s data of shape [%lld, %lld, %lld, %lld] is more than 2^64 bytes",
                       tr->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                       (long long)t->ne[3]);
    t->nbytes = nbytes;
    if ((s = rd_u64(c, "data offset", &t->offset))) return s;
    c->ctx[0] = '\0';
    return MOTE_OK;
}

typedef struct extent { uint64_t begin, end; int64_t i; } extent;

static int extent_cmp(const void *a, const void *b) {
    const extent *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Place every tensor in the data section: inside it, aligned, and not
 * overlapping another (empty tensors overlap nothing). */
static mote_status place_tensors(mote_gguf *g, cursor *c) {
    for (int64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *rec = &g->tensors[i];
        mote_gguf_tensor *t = &rec->t;
        uint64_t end;
        char shown[QUOTED_MAX];
        quote_bytes(shown, sizeof shown, (const uint8_t *)t->name, strlen(t->name));
        snprintf(c->ctx, sizeof c->ctx, "tensor '%s'", shown);
        if (!mote__add_u64(t->offset, t->nbytes, &end))
            return fail_at(c, rec->info_pos,
                           "data at %llu + %llu bytes overflows: outside the data section (%llu bytes)",
                           (unsigned long long)t->offset, (unsigned long long)t->nbytes,
                           (unsigned long long)g->data_size);
        if (end > g->data_size)
            return fail_at(c, rec->info_pos, "data [%llu, %llu) lies outside the data section (%llu bytes)",
                           (unsigned long long)t->offset, (unsigned long long)end,
                           (unsigned long long)g->data_size);
        if (t->offset % g->alignment != 0)
            return fail_at(c, rec->info_pos, "data offset %llu is not a multiple of the alignment (%u)",
                           (unsigned long long)t->offset, g->alignment);
        t->data = g->base + g->data_offset + t->offset;
    }
    c->ctx[0] = '\0';
    if (g->n_tensors < 2) return MOTE_OK;

    extent *ex = mote__calloc((size_t)g->n_tensors, sizeof *ex);
    if (!ex) return mote__err(c->err, MOTE_ERR_NOMEM, "%s: out of memory", g->name);
    for (int64_t i = 0; i < g->n_tensors; i++) {
        ex[i].begin = g->tensors[i].t.offset;
        ex[i].end = ex[i].begin + g->tensors[i].t.nbytes;
        ex[i].i = i;
    }
    qsort(ex, (size_t)g->n_tensors, sizeof *ex, extent_cmp);
    mote_status s = MOTE_OK;
    int64_t prev = -1; /* the extent reaching furthest so far */
    for (int64_t k = 0; k < g->n_tensors && !s; k++) {
        if (ex[k].begin == ex[k].end) continue;
        if (prev >= 0 && ex[k].begin < ex[prev].end) {
            const gguf_tensor *a = &g->tensors[ex[k].i], *b = &g->tensors[ex[prev].i];
            char an[QUOTED_MAX], bn[QUOTED_MAX];
            quote_bytes(an, sizeof an, (const uint8_t *)a->t.name, strlen(a->t.name));
            quote_bytes(bn, sizeof bn, (const uint8_t *)b->t.name, strlen(b->t.name));
            snprintf(c->ctx, sizeof c->ctx, "tensor '%s'", an);
            s = fail_at(c, a->info_pos, "data [%llu, %llu) overlaps tensor '%s' [%llu, %llu)",
                        (unsigned long long)ex[k].begin, (unsigned long long)ex[k].end, bn,
                        (unsigned long long)ex[prev].begin, (unsigned long long)ex[prev].end);
        }
        if (prev < 0 || ex[k].end > ex[prev].end) prev = k;
    }
    mote__free(ex);
    c->ctx[0] = '\0';
    return s;
}

/* ---- the whole header ---- */

static mote_status parse_header(mote_gguf *g, cursor *c, uint64_t *n_tensors, uint64_t *n_kv) {
    mote_status s;
    if (c->size < 4 || le32(c->base) != MOTE_GGUF_MAGIC) {
        uint64_t n = c->size < 4 ? c->size : 4;
        if (n < 4 && memcmp(c->base ? (const void *)c->base : "", "GGUF", (size_t)n) == 0)
            return fail_at(c, 0, "file is %llu bytes, shorter than a GGUF header (%d bytes)",
                           (unsigned long long)c->size, HEADER_BYTES);
        char shown[40];
        quote_bytes(shown, sizeof shown, c->base ? c->base : (const uint8_t *)"", n);
        return fail_at(c, 0, "not a GGUF file: magic '%s', expected 'GGUF'", shown);
    }
    c->pos = 4;
    if ((s = rd_u32(c, "version", &g->version))) return s;
    if ((g->version & 0xffffu) == 0 && g->version != 0)
        return fail_at(c, 4, "version 0x%08x: a big-endian file? only little-endian GGUF is read",
                       g->version);
    if (g->version == 1)
        return fail_at(c, 4, "unsupported version 1 (GGUF v1 is obsolete: convert the file to v3)");
    if (g->version < 2 || g->version > 3)
        return fail_at(c, 4, "unsupported version %u (this reader knows versions 2 and 3)",
                       g->version);
    if ((s = rd_u64(c, "tensor count", n_tensors))) return s;
    if ((s = rd_u64(c, "key/value count", n_kv))) return s;
    /* Bound each count by what the rest of the file could hold. */
    if (*n_kv > left(c) / MIN_KV_BYTES)
        return fail_at(c, 16, "n_kv = %llu key/value pairs, but the %llu bytes left hold at most %llu",
                       (unsigned long long)*n_kv, (unsigned long long)left(c),
                       (unsigned long long)(left(c) / MIN_KV_BYTES));
    if (*n_tensors > left(c) / MIN_TENSOR_BYTES)
        return fail_at(c, 8, "n_tensors = %llu tensors, but the %llu bytes left hold at most %llu",
                       (unsigned long long)*n_tensors, (unsigned long long)left(c),
                       (unsigned long long)(left(c) / MIN_TENSOR_BYTES));
    return MOTE_OK;
}

static mote_status parse(mote_gguf *g, mote_error *err) {
    cursor c = {.base = g->base, .size = g->size, .pos = 0, .name = g->name, .err = err};
    c.ctx[0] = '\0';
    uint64_t n_tensors, n_kv;
    mote_status s = parse_header(g, &c, &n_tensors, &n_kv);
    if (s) return s;

    for (uint64_t i = 0; i < n_kv; i++)
        if ((s = parse_kv(g, &c))) return s;
    int64_t a = -1, b = -1;
    if (!build_index(g->n_kv, kv_name_at, g, &g->kv_slots, &g->kv_mask, &a, &b))
        return fail_at(&c, g->kv[b].key_pos, "duplicate key '%s' (first at offset %llu)", g->kv[b].key,
                       (unsigned long long)g->kv[a].key_pos);
    if (!g->kv_slots) return mote__err(err, MOTE_ERR_NOMEM, "%s: out of memory", g->name);

    g->alignment = MOTE_GGUF_DEFAULT_ALIGNMENT;
    int64_t ai = mote__gguf_find_key(g, "general.alignment");
    if (ai >= 0) {
        const gguf_kv *kv = &g->kv[ai];
        if (kv->type != MOTE_GGUF_UINT32)
            return fail_at(&c, kv->key_pos, "general.alignment has type %s; it must be u32",
                           mote__gguf_vtype_name(kv->type));
        g->alignment = le32(g->base + kv->val_pos);
        if (g->alignment == 0 || (g->alignment & (g->alignment - 1)) != 0)
            return fail_at(&c, kv->key_pos, "general.alignment = %u is not a power of two",
                           g->alignment);
    }

    if (n_tensors > left(&c) / MIN_TENSOR_BYTES)
        return fail_at(&c, 8, "n_tensors = %llu tensors, but the %llu bytes after the metadata hold at most %llu",
                       (unsigned long long)n_tensors, (unsigned long long)left(&c),
                       (unsigned long long)(left(&c) / MIN_TENSOR_BYTES));
    for (uint64_t i = 0; i < n_tensors; i++)
        if ((s = parse_tensor(g, &c))) return s;
    if (!build_index(g->n_tensors, tensor_name_at, g, &g->tensor_slots, &g->tensor_mask, &a, &b))
        return fail_at(&c, g->tensors[b].info_pos, "duplicate tensor name '%s' (first at offset %llu)",
                       g->tensors[b].t.name, (unsigned long long)g->tensors[a].info_pos);
    if (!g->tensor_slots) return mote__err(err, MOTE_ERR_NOMEM, "%s: out of memory", g->name);

    /* The data section starts at the end of the header rounded up to the
     * alignment; it runs to the end of the file. */
    uint64_t header_end = c.pos;
    if (!mote__add_u64(header_end, g->alignment - 1, &g->data_offset))
        return fail_at(&c, header_end, "data section offset overflows");
    g->data_offset &= ~(uint64_t)(g->alignment - 1);
    if (g->n_tensors > 0 && g->data_offset > g->size)
        return fail_at(&c, header_end,
                       "the data section would start at offset %llu, past the end of the file (%llu bytes)",
                       (unsigned long long)g->data_offset, (unsigned long long)g->size);
    g->data_size = g->size > g->data_offset ? g->size - g->data_offset : 0;
    return place_tensors(g, &c);
}

/* ---- opening and closing ---- */

static mote_status open_common(mote_gguf *g, mote_gguf **out, mote_error *err) {
    mote_status s = parse(g, err);
    if (s) {
        mote_gguf_close(g);
        return s;
    }
    *out = g;
    return MOTE_OK;
}

mote_status mote__gguf_open_memory(const void *data, uint64_t size, const char *name,
                                   mote_gguf **out, mote_error *err) {
    *out = NULL;
    mote_gguf *g = mote__calloc(1, sizeof *g);
    if (!g) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    g->fm.fd = -1;
    g->name = mote__strndup(name ? name : "(memory)", strlen(name ? name : "(memory)"));
    if (!g->name) {
        mote__free(g);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    }
    g->base = size ? data : NULL;
    g->size = g->base ? size : 0;
    return open_common(g, out, err);
}

mote_status mote_gguf_open(const char *path, mote_gguf **out, mote_error *err) {
    return mote__gguf_open_file(path, MOTE_LOAD_MMAP, out, err);
}

mote_status mote__gguf_open_file(const char *path, mote_load_mode mode, mote_gguf **out, mote_error *err) {
    *out = NULL;
    if (!path) return mote__err(err, MOTE_ERR_INVALID_ARG, "mote_gguf_open: no path");
    mote_gguf *g = mote__calloc(1, sizeof *g);
    if (!g) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    g->fm.fd = -1;
    g->name = mote__strndup(path, strlen(path));
    if (!g->name) {
        mote__free(g);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    }
    mote_status s = mote__file_open_mode(path, mode, &g->fm, err);
    if (s) {
        mote__free(g->name);
        mote__free(g);
        return s;
    }
    g->mapped = true;
    g->base = g->fm.data;
    g->size = g->fm.data ? g->fm.size : 0;
    return open_common(g, out, err);
}

void mote_gguf_close(mote_gguf *g) {
    if (!g) return;
    for (int64_t i = 0; i < g->n_kv; i++) {
        mote__free(g->kv[i].key);
        mote__free((void *)g->kv[i].strs);
    }
    for (int64_t i = 0; i < g->n_tensors; i++) mote__free((void *)g->tensors[i].t.name);
    mote__free(g->kv);
    mote__free(g->tensors);
    mote__free(g->kv_slots);
    mote__free(g->tensor_slots);
    if (g->mapped) mote__file_unmap(&g->fm);
    mote__free(g->name);
    mote__free(g);
}

/* ---- accessors (internal) ---- */

const char *mote__gguf_path(const mote_gguf *g) { return g->name; }
bool mote__gguf_is_read(const mote_gguf *g) { return g->mapped && g->fm.heap; }
uint32_t mote__gguf_alignment(const mote_gguf *g) { return g->alignment; }
uint64_t mote__gguf_data_offset(const mote_gguf *g) { return g->data_offset; }
uint64_t mote__gguf_data_size(const mote_gguf *g) { return g->data_size; }

int64_t mote__gguf_find_key(const mote_gguf *g, const char *key) {
    return index_find(g, g->kv_slots, g->kv_mask, kv_name_at, key);
}

mote_gguf_vtype mote__gguf_kv_type(const mote_gguf *g, int64_t i) {
    if (i < 0 || i >= g->n_kv) return MOTE_GGUF_VTYPE_COUNT;
    return (mote_gguf_vtype)g->kv[i].type;
}

bool mote__gguf_kv_raw(const mote_gguf *g, int64_t i, uint32_t *type, const uint8_t **bytes,
                       uint64_t *nbytes) {
    if (i < 0 || i >= g->n_kv) return false;
    *type = g->kv[i].type;
    *bytes = g->base + g->kv[i].val_pos;
    *nbytes = g->kv[i].val_bytes;
    return true;
}

/* Find key or fail with "missing key". */
static mote_status lookup(const mote_gguf *g, const char *key, const gguf_kv **kv, mote_error *err) {
    int64_t i = mote__gguf_find_key(g, key);
    if (i < 0) return mote__err(err, MOTE_ERR_FORMAT, "%s: missing key %s", g->name, key ? key : "(null)");
    *kv = &g->kv[i];
    return MOTE_OK;
}

static mote_status wrong_type(const mote_gguf *g, const gguf_kv *kv, const char *want, mote_error *err) {
    if (kv->type == MOTE_GGUF_ARRAY)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: key %s is an array of %s, expected %s", g->name,
                         kv->key, mote__gguf_vtype_name(kv->elem_type), want);
    return mote__err(err, MOTE_ERR_FORMAT, "%s: key %s has type %s, expected %s", g->name, kv->key,
                     mote__gguf_vtype_name(kv->type), want);
}

/* An integer value as sign and magnitude; false if the type is not an
 * integer type. */
static bool int_value(const mote_gguf *g, const gguf_kv *kv, bool *neg, uint64_t *mag) {
    const uint8_t *p = g->base + kv->val_pos;
    int64_t sv;
    *neg = false;
    switch (kv->type) {
    case MOTE_GGUF_UINT8: *mag = p[0]; return true;
    case MOTE_GGUF_UINT16: *mag = (uint64_t)p[0] | (uint64_t)p[1] << 8; return true;
    case MOTE_GGUF_UINT32: *mag = le32(p); return true;
    case MOTE_GGUF_UINT64: *mag = le64(p); return true;
    case MOTE_GGUF_INT8: sv = (int8_t)p[0]; break;
    case MOTE_GGUF_INT16: sv = (int16_t)(uint16_t)((unsigned)p[0] | (unsigned)p[1] << 8); break;
    case MOTE_GGUF_INT32: sv = (int32_t)le32(p); break;
    case MOTE_GGUF_INT64: sv = (int64_t)le64(p); break;
    default: return false;
    }
    *neg = sv < 0;
    *mag = sv < 0 ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
    return true;
}

static mote_status out_of_range(const mote_gguf *g, const gguf_kv *kv, bool neg, uint64_t mag,
                                const char *want, mote_error *err) {
    return mote__err(err, MOTE_ERR_FORMAT, "%s: key %s = %s%llu is out of range for %s", g->name,
                     kv->key, neg ? "-" : "", (unsigned long long)mag, want);
}

mote_status mote__gguf_get_u32(const mote_gguf *g, const char *key, uint32_t *out, mote_error *err) {
    const gguf_kv *kv;
    mote_status s = lookup(g, key, &kv, err);
    if (s) return s;
    bool neg;
    uint64_t mag;
    if (!int_value(g, kv, &neg, &mag)) return wrong_type(g, kv, "an integer", err);
    if (neg || mag > UINT32_MAX) return out_of_range(g, kv, neg, mag, "u32", err);
    *out = (uint32_t)mag;
    return MOTE_OK;
}

mote_status mote__gguf_get_i64(const mote_gguf *g, const char *key, int64_t *out, mote_error *err) {
    const gguf_kv *kv;
    mote_status s = lookup(g, key, &kv, err);
    if (s) return s;
    bool neg;
    uint64_t mag;
    if (!int_value(g, kv, &neg, &mag)) return wrong_type(g, kv, "an integer", err);
    if (!neg && mag > (uint64_t)INT64_MAX) return out_of_range(g, kv, neg, mag, "i64", err);
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag; /* mag <= 2^63 when neg */
    return MOTE_OK;
}

mote_status mote__gguf_get_f32(const mote_gguf *g, const char *key, float *out, mote_error *err) {
    const gguf_kv *kv;
    mote_status s = lookup(g, key, &kv, err);
    if (s) return s;
    const uint8_t *p = g->base + kv->val_pos;
    if (kv->type == MOTE_GGUF_FLOAT32) {
        uint32_t u = le32(p);
        memcpy(out, &u, 4);
        return MOTE_OK;
    }
    if (kv->type != MOTE_GGUF_FLOAT64) return wrong_type(g, kv, "f32 or f64", err);
    uint64_t u = le64(p);
    double d;
    memcpy(&d, &u, 8);
    float f = (float)d;
    if (isinf(f) && !isinf(d))
        return mote__err(err, MOTE_ERR_FORMAT, "%s: key %s = %g is out of range for f32", g->name,
                         kv->key, d);
    *out = f;
    return MOTE_OK;
}

mote_status mote__gguf_get_bool(const mote_gguf *g, const char *key, bool *out, mote_error *err) {
    const gguf_kv *kv;
    mote_status s = lookup(g, key, &kv, err);
    if (s) return s;
    if (kv->type != MOTE_GGUF_BOOL) return wrong_type(g, kv, "bool", err);
    *out = g->base[kv->val_pos] != 0; /* as GGML: any non-zero byte is true */
    return MOTE_OK;
}

mote_status mote__gguf_get_str(const mote_gguf *g, const char *key, const char **ptr,
                               uint64_t *len, mote_error *err) {
    const gguf_kv *kv;
    mote_status s = lookup(g, key, &kv, err);
    if (s) return s;
    if (kv->type != MOTE_GGUF_STRING) return wrong_type(g, kv, "string", err);
    *len = le64(g->base + kv->val_pos);
    *ptr = (const char *)g->base + kv->val_pos + 8;
    return MOTE_OK;
}

mote_status mote__gguf_get_arr(const mote_gguf *g, const char *key, mote_gguf_vtype *elem_type,
                               uint64_t *n, const void **data, mote_error *err) {
    const gguf_kv *kv;
    mote_status s = lookup(g, key, &kv, err);
    if (s) return s;
    if (kv->type != MOTE_GGUF_ARRAY) return wrong_type(g, kv, "an array", err);
    *elem_type = (mote_gguf_vtype)kv->elem_type;
    *n = kv->n_elems;
    *data = mote__gguf_vtype_size(kv->elem_type) ? g->base + kv->val_pos + 12 : NULL;
    return MOTE_OK;
}

mote_status mote__gguf_arr_str(const mote_gguf *g, int64_t i, uint64_t j, const char **ptr,
                               uint64_t *len) {
    if (i < 0 || i >= g->n_kv) return MOTE_ERR_INVALID_ARG;
    const gguf_kv *kv = &g->kv[i];
    if (kv->type != MOTE_GGUF_ARRAY || kv->elem_type != MOTE_GGUF_STRING || j >= kv->n_elems)
        return MOTE_ERR_INVALID_ARG;
    *len = le64(kv->strs[j]);
    *ptr = (const char *)kv->strs[j] + 8;
    return MOTE_OK;
}

int64_t mote__gguf_n_tensors(const mote_gguf *g) { return g->n_tensors; }

const mote_gguf_tensor *mote__gguf_tensor(const mote_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i].t : NULL;
}

const mote_gguf_tensor *mote__gguf_find_tensor(const mote_gguf *g, const char *name) {
    int64_t i = index_find(g, g->tensor_slots, g->tensor_mask, tensor_name_at, name);
    return i >= 0 ? &g->tensors[i].t : NULL;
}

/* ---- formatting values (mote_gguf_kv_format) ---- */

/* An output buffer that never overflows: len < size always; `full` once
 * something did not fit (the rest is dropped). */
typedef struct sbuf {
    char *buf;
    size_t size, len;
    bool full;
} sbuf;

static void sb_put(sbuf *sb, const char *s, size_t n) {
    if (sb->full) return;
    if (n >= sb->size - sb->len) {
        n = sb->size - sb->len - 1;
        sb->full = true;
    }
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

static void sb_printf(sbuf *sb, const char *fmt, ...) MOTE_PRINTF(2, 3);
static void sb_printf(sbuf *sb, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(sb, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A quoted string: backslash, quote and control characters escaped; other
 * bytes (UTF-8 included) as they are. */
static void fmt_string(sbuf *sb, const uint8_t *s, uint64_t len) {
    sb_put(sb, "\"", 1);
    for (uint64_t i = 0; i < len && !sb->full; i++) {
        uint8_t ch = s[i];
        switch (ch) {
        case '"': sb_put(sb, "\\\"", 2); break;
        case '\\': sb_put(sb, "\\\\", 2); break;
        case '\n': sb_put(sb, "\\n", 2); break;
        case '\r': sb_put(sb, "\\r", 2); break;
        case '\t': sb_put(sb, "\\t", 2); break;
        default:
            if (ch < 0x20 || ch == 0x7f) sb_printf(sb, "\\x%02x", ch);
            else sb_put(sb, (const char *)&ch, 1);
        }
    }
    sb_put(sb, "\"", 1);
}

/* The shortest %g rendering that reads back to the same value. */
static void fmt_f32(sbuf *sb, float f) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.6g", (double)f);
    if (strtof(tmp, NULL) != f && !isnan(f)) snprintf(tmp, sizeof tmp, "%.9g", (double)f);
    sb_put(sb, tmp, strlen(tmp));
}

static void fmt_f64(sbuf *sb, double d) {
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.15g", d);
    if (strtod(tmp, NULL) != d && !isnan(d)) snprintf(tmp, sizeof tmp, "%.17g", d);
    sb_put(sb, tmp, strlen(tmp));
}

/* The end of a validated value of type at p. */
static const uint8_t *value_end(const uint8_t *p, uint32_t type) {
    uint64_t size = mote__gguf_vtype_size(type);
    if (size) return p + size;
    if (type == MOTE_GGUF_STRING) return p + 8 + le64(p);
    uint32_t elem_type = le32(p);
    uint64_t n = le64(p + 4);
    p += 12;
    size = mote__gguf_vtype_size(elem_type);
    if (size) return p + n * size;
    for (uint64_t i = 0; i < n; i++) p = value_end(p, elem_type);
    return p;
}

/* Render the validated value of type at p; returns its end. */
static const uint8_t *fmt_value(sbuf *sb, const uint8_t *p, uint32_t type, int max_items) {
    switch (type) {
    case MOTE_GGUF_UINT8: sb_printf(sb, "%u", p[0]); return p + 1;
    case MOTE_GGUF_INT8: sb_printf(sb, "%d", (int8_t)p[0]); return p + 1;
    case MOTE_GGUF_UINT16: sb_printf(sb, "%u", (unsigned)p[0] | (unsigned)p[1] << 8); return p + 2;
    case MOTE_GGUF_INT16:
        sb_printf(sb, "%d", (int16_t)(uint16_t)((unsigned)p[0] | (unsigned)p[1] << 8));
        return p + 2;
    case MOTE_GGUF_UINT32: sb_printf(sb, "%u", le32(p)); return p + 4;
    case MOTE_GGUF_INT32: sb_printf(sb, "%d", (int32_t)le32(p)); return p + 4;
    case MOTE_GGUF_UINT64: sb_printf(sb, "%llu", (unsigned long long)le64(p)); return p + 8;
    case MOTE_GGUF_INT64: sb_printf(sb, "%lld", (long long)(int64_t)le64(p)); return p + 8;
    case MOTE_GGUF_FLOAT32: {
        uint32_t u = le32(p);
        float f;
        memcpy(&f, &u, 4);
        fmt_f32(sb, f);
        return p + 4;
    }
    case MOTE_GGUF_FLOAT64: {
        uint64_t u = le64(p);
        double d;
        memcpy(&d, &u, 8);
        fmt_f64(sb, d);
        return p + 8;
    }
    case MOTE_GGUF_BOOL: sb_put(sb, p[0] ? "true" : "false", p[0] ? 4 : 5); return p + 1;
    case MOTE_GGUF_STRING: {
        uint64_t len = le64(p);
        fmt_string(sb, p + 8, len);
        return p + 8 + len;
    }
    default: break; /* ARRAY */
    }
    const uint8_t *start = p;
    uint32_t elem_type = le32(p);
    uint64_t n = le64(p + 4);
    uint64_t shown = max_items < 0 ? 0 : (uint64_t)max_items;
    if (shown > n) shown = n;
    p += 12;
    sb_put(sb, "[", 1);
    for (uint64_t i = 0; i < shown && !sb->full; i++) {
        if (i) sb_put(sb, ", ", 2);
        p = fmt_value(sb, p, elem_type, max_items);
    }
    if (sb->full) return value_end(start, MOTE_GGUF_ARRAY);
    if (shown < n) sb_printf(sb, "%s... (%llu items)", shown ? ", " : "", (unsigned long long)n);
    sb_put(sb, "]", 1);
    return value_end(start, MOTE_GGUF_ARRAY);
}

/* ---- public inspection functions (mote.h) ---- */

uint32_t mote_gguf_version(const mote_gguf *g) { return g->version; }
int64_t mote_gguf_n_kv(const mote_gguf *g) { return g->n_kv; }
int64_t mote_gguf_n_tensors(const mote_gguf *g) { return g->n_tensors; }

const char *mote_gguf_kv_key(const mote_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

size_t mote_gguf_kv_format(const mote_gguf *g, int64_t i, char *buf, size_t size, int max_items) {
    if (!buf || size == 0) return 0;
    buf[0] = '\0';
    if (i < 0 || i >= g->n_kv) return 0;
    sbuf sb = {buf, size, 0, false};
    fmt_value(&sb, g->base + g->kv[i].val_pos, g->kv[i].type, max_items);
    if (sb.full && size >= 4) { /* say that it was cut */
        memcpy(buf + sb.len - 3, "...", 3);
    }
    return sb.len;
}

void mote_gguf_tensor_get(const mote_gguf *g, int64_t i, const char **name,
                          const char **type_name, int *n_dims, int64_t ne[4],
                          uint64_t *nbytes) {
    const mote_gguf_tensor *t = mote__gguf_tensor(g, i);
    if (name) *name = t ? t->name : NULL;
    if (type_name) *type_name = t ? mote__type_name(t->type) : "unknown";
    if (n_dims) *n_dims = t ? t->n_dims : 0;
    for (int d = 0; ne && d < MOTE_GGUF_MAX_DIMS; d++) ne[d] = t ? t->ne[d] : 0;
    if (nbytes) *nbytes = t ? t->nbytes : 0;
}
