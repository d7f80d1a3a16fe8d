/* gguf_write.c — the GGUF v3 writer: collect key/values and tensors, then
 * write a file that this reader and llama.cpp read.
 *
 * What it is: an in-memory list of serialized key/values (copied) and of
 * tensors (data borrowed until write), and mote__gguf_write, which lays the
 * file out as llama.cpp's writer does: header, key/values, tensor infos,
 * zero padding to the alignment, then each tensor's data padded to the
 * alignment. The file is written to PATH.tmp and renamed over PATH only when
 * complete, so a failed write never leaves a half file under PATH.
 *
 * What it is not: a reader (gguf_read.c) or a quantizer. A tensor's bytes
 * are either in memory at write time, or produced row by row by the caller's
 * callback during the write (mote__gguf_add_tensor_rows), so that files
 * larger than memory can be written.
 */
#include "gguf.h"
#include "gguf_internal.h"
#include "../tensor/types.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct wkv {
    char *key;
    uint32_t type;
    uint8_t *val;   /* the value exactly as the file stores it after the tag */
    uint64_t nval;
} wkv;

typedef struct wtensor {
    char *name;
    uint32_t type;
    int n_dims;
    int64_t ne[MOTE_GGUF_MAX_DIMS];
    const void *data; /* borrowed */
    uint64_t nbytes;
    mote_gguf_row_fn rows_fn; /* non-NULL: data is produced row by row at write */
    void *rows_user;
} wtensor;

struct mote_gguf_writer {
    wkv *kv;
    int64_t n_kv, cap_kv;
    wtensor *t;
    int64_t n_t, cap_t;
};

mote_gguf_writer *mote__gguf_writer_new(void) { return mote__calloc(1, sizeof(mote_gguf_writer)); }

void mote__gguf_writer_free(mote_gguf_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n_kv; i++) {
        mote__free(w->kv[i].key);
        mote__free(w->kv[i].val);
    }
    for (int64_t i = 0; i < w->n_t; i++) mote__free(w->t[i].name);
    mote__free(w->kv);
    mote__free(w->t);
    mote__free(w);
}

/* ---- key/values ---- */

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Set key to (type, val[0..nval)), taking ownership of val (freed here on
 * failure). Replaces the value of an existing key in place. */
static mote_status set_owned(mote_gguf_writer *w, const char *key, uint32_t type, uint8_t *val,
                             uint64_t nval) {
    if (!key) {
        mote__free(val);
        return MOTE_ERR_INVALID_ARG;
    }
    for (int64_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) {
            mote__free(w->kv[i].val);
            w->kv[i].type = type;
            w->kv[i].val = val;
            w->kv[i].nval = nval;
            return MOTE_OK;
        }
    }
    if (w->n_kv == w->cap_kv) {
        int64_t cap = w->cap_kv ? w->cap_kv * 2 : 16;
        wkv *p = mote__realloc(w->kv, (size_t)cap * sizeof *p);
        if (!p) {
            mote__free(val);
            return MOTE_ERR_NOMEM;
        }
        w->kv = p;
        w->cap_kv = cap;
    }
    char *k = mote__strndup(key, strlen(key));
    if (!k) {
        mote__free(val);
        return MOTE_ERR_NOMEM;
    }
    w->kv[w->n_kv++] = (wkv){k, type, val, nval};
    return MOTE_OK;
}

/* Set key to a copy of bytes[0..n). */
static mote_status set_bytes(mote_gguf_writer *w, const char *key, uint32_t type, const void *bytes,
                             uint64_t n) {
    if (n > SIZE_MAX - 1) return MOTE_ERR_NOMEM;
    uint8_t *val = mote__malloc(n ? (size_t)n : 1);
    if (!val) return MOTE_ERR_NOMEM;
    if (n) memcpy(val, bytes, (size_t)n);
    return set_owned(w, key, type, val, n);
}

mote_status mote__gguf_set_u32(mote_gguf_writer *w, const char *key, uint32_t v) {
    uint8_t b[4];
    put_le32(b, v);
    return set_bytes(w, key, MOTE_GGUF_UINT32, b, 4);
}

mote_status mote__gguf_set_i32(mote_gguf_writer *w, const char *key, int32_t v) {
    uint8_t b[4];
    put_le32(b, (uint32_t)v);
    return set_bytes(w, key, MOTE_GGUF_INT32, b, 4);
}

mote_status mote__gguf_set_u64(mote_gguf_writer *w, const char *key, uint64_t v) {
    uint8_t b[8];
    put_le64(b, v);
    return set_bytes(w, key, MOTE_GGUF_UINT64, b, 8);
}

mote_status mote__gguf_set_f32(mote_gguf_writer *w, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    uint8_t b[4];
    put_le32(b, u);
    return set_bytes(w, key, MOTE_GGUF_FLOAT32, b, 4);
}

mote_status mote__gguf_set_bool(mote_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return set_bytes(w, key, MOTE_GGUF_BOOL, &b, 1);
}

mote_status mote__gguf_set_str(mote_gguf_writer *w, const char *key, const char *v) {
    if (!v) return MOTE_ERR_INVALID_ARG;
    size_t len = strlen(v);
    if (len > SIZE_MAX - 8) return MOTE_ERR_NOMEM;
    uint8_t *val = mote__malloc(8 + len);
    if (!val) return MOTE_ERR_NOMEM;
    put_le64(val, len);
    memcpy(val + 8, v, len);
    return set_owned(w, key, MOTE_GGUF_STRING, val, 8 + len);
}

mote_status mote__gguf_set_arr(mote_gguf_writer *w, const char *key, mote_gguf_vtype elem_type,
                               const void *data, uint64_t n) {
    uint64_t size = mote__gguf_vtype_size(elem_type), body, total;
    if (!size || (n && !data)) return MOTE_ERR_INVALID_ARG;
    if (!mote__mul_u64(n, size, &body) || !mote__add_u64(body, 12, &total) || total > SIZE_MAX)
        return MOTE_ERR_NOMEM;
    uint8_t *val = mote__malloc((size_t)total);
    if (!val) return MOTE_ERR_NOMEM;
    put_le32(val, elem_type);
    put_le64(val + 4, n);
    if (body) memcpy(val + 12, data, (size_t)body);
    return set_owned(w, key, MOTE_GGUF_ARRAY, val, total);
}

mote_status mote__gguf_set_arr_str(mote_gguf_writer *w, const char *key,
                                   const char *const *strs, uint64_t n) {
    uint64_t total = 12;
    if (n && !strs) return MOTE_ERR_INVALID_ARG;
    for (uint64_t i = 0; i < n; i++) {
        if (!strs[i]) return MOTE_ERR_INVALID_ARG;
        if (!mote__add_u64(total, 8 + (uint64_t)strlen(strs[i]), &total)) return MOTE_ERR_NOMEM;
    }
    if (total > SIZE_MAX) return MOTE_ERR_NOMEM;
    uint8_t *val = mote__malloc((size_t)total);
    if (!val) return MOTE_ERR_NOMEM;
    put_le32(val, MOTE_GGUF_STRING);
    put_le64(val + 4, n);
    uint8_t *p = val + 12;
    for (uint64_t i = 0; i < n; i++) {
        size_t len = strlen(strs[i]);
        put_le64(p, len);
        memcpy(p + 8, strs[i], len);
        p += 8 + len;
    }
    return set_owned(w, key, MOTE_GGUF_ARRAY, val, total);
}

mote_status mote__gguf_set_from(mote_gguf_writer *w, const mote_gguf *g, int64_t i) {
    uint32_t type;
    const uint8_t *bytes;
    uint64_t n;
    if (!mote__gguf_kv_raw(g, i, &type, &bytes, &n)) return MOTE_ERR_INVALID_ARG;
    return set_bytes(w, mote_gguf_kv_key(g, i), type, bytes, n);
}

/* ---- tensors ---- */

mote_status mote__gguf_add_tensor(mote_gguf_writer *w, const char *name, uint32_t type,
                                  int n_dims, const int64_t *ne, const void *data,
                                  mote_error *err) {
    if (!name || !*name || strlen(name) > MOTE_GGUF_NAME_MAX)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: tensor name '%s' must be 1 to %d bytes",
                         name ? name : "(null)", MOTE_GGUF_NAME_MAX);
    for (int64_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: duplicate tensor name '%s'", name);
    if (n_dims < 1 || n_dims > MOTE_GGUF_MAX_DIMS || !ne)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: tensor '%s': %d dimensions (must be 1 to %d)",
                         name, n_dims, MOTE_GGUF_MAX_DIMS);
    const mote_type_traits *tr = mote__type_traits(type);
    if (!tr)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: tensor '%s': unknown type %u", name, type);
    wtensor t = {.type = type, .n_dims = n_dims};
    uint64_t n_elem = 1;
    bool ok = true;
    for (int d = 0; d < MOTE_GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 0)
            return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: tensor '%s': dimension %d is negative",
                             name, d);
        ok = ok && mote__mul_u64(n_elem, (uint64_t)t.ne[d], &n_elem) && n_elem <= (uint64_t)INT64_MAX;
    }
    ok = ok && mote__type_row_bytes(type, (uint64_t)t.ne[0], &t.nbytes);
    for (int d = 1; d < MOTE_GGUF_MAX_DIMS && ok; d++) ok = mote__mul_u64(t.nbytes, (uint64_t)t.ne[d], &t.nbytes);
    if (!ok)
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "gguf writer: tensor '%s': bad shape for %s (ne[0] must be a multiple of %lld; sizes must fit)",
                         name, tr->name, (long long)tr->block_size);
    if (t.nbytes && !data)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: tensor '%s': no data", name);
    t.data = data;
    if (w->n_t == w->cap_t) {
        int64_t cap = w->cap_t ? w->cap_t * 2 : 16;
        wtensor *p = mote__realloc(w->t, (size_t)cap * sizeof *p);
        if (!p) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        w->t = p;
        w->cap_t = cap;
    }
    t.name = mote__strndup(name, strlen(name));
    if (!t.name) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    w->t[w->n_t++] = t;
    return MOTE_OK;
}

mote_status mote__gguf_add_tensor_rows(mote_gguf_writer *w, const char *name, uint32_t type,
                                       int n_dims, const int64_t *ne, mote_gguf_row_fn fn,
                                       void *user, mote_error *err) {
    if (!fn)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: tensor '%s': no row callback",
                         name ? name : "(null)");
    /* The same checks as for in-memory data; the pointer is never read. */
    static const uint8_t no_data;
    mote_status s = mote__gguf_add_tensor(w, name, type, n_dims, ne, &no_data, err);
    if (s) return s;
    w->t[w->n_t - 1].data = NULL;
    w->t[w->n_t - 1].rows_fn = fn;
    w->t[w->n_t - 1].rows_user = user;
    return MOTE_OK;
}

/* ---- writing ---- */

/* A FILE with a sticky error and the count of bytes written. */
typedef struct out {
    FILE *f;
    uint64_t pos;
    int err; /* errno of the first failure, or 0 */
} out;

static void out_bytes(out *o, const void *p, uint64_t n) {
    if (o->err || n == 0) return;
    const uint8_t *b = p;
    while (n > 0) { /* fwrite takes size_t; write in chunks */
        size_t chunk = n > ((size_t)1 << 30) ? (size_t)1 << 30 : (size_t)n;
        errno = 0;
        if (fwrite(b, 1, chunk, o->f) != chunk) {
            o->err = errno ? errno : EIO;
            return;
        }
        b += chunk;
        n -= chunk;
        o->pos += chunk;
    }
}

static void out_u32(out *o, uint32_t v) {
    uint8_t b[4];
    put_le32(b, v);
    out_bytes(o, b, 4);
}

static void out_u64(out *o, uint64_t v) {
    uint8_t b[8];
    put_le64(b, v);
    out_bytes(o, b, 8);
}

static void out_str(out *o, const char *s) {
    size_t len = strlen(s);
    out_u64(o, len);
    out_bytes(o, s, len);
}

static void out_pad(out *o, uint32_t alignment) {
    static const uint8_t zeros[256];
    uint64_t pad = (alignment - o->pos % alignment) % alignment;
    while (pad > 0 && !o->err) {
        uint64_t n = pad < sizeof zeros ? pad : sizeof zeros;
        out_bytes(o, zeros, n);
        pad -= n;
    }
}

/* Check what the reader would refuse, and find the alignment. */
static mote_status check_writable(const mote_gguf_writer *w, uint32_t *alignment, mote_error *err) {
    *alignment = MOTE_GGUF_DEFAULT_ALIGNMENT;
    for (int64_t i = 0; i < w->n_kv; i++) {
        const wkv *kv = &w->kv[i];
        size_t len = strlen(kv->key);
        if (len == 0 || len > MOTE_GGUF_KEY_MAX)
            return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: a key must be 1 to %d bytes",
                             MOTE_GGUF_KEY_MAX);
        if (strcmp(kv->key, "general.alignment") == 0) {
            uint32_t a = kv->type == MOTE_GGUF_UINT32
                             ? (uint32_t)kv->val[0] | (uint32_t)kv->val[1] << 8 |
                                   (uint32_t)kv->val[2] << 16 | (uint32_t)kv->val[3] << 24
                             : 0;
            if (a == 0 || (a & (a - 1)) != 0)
                return mote__err(err, MOTE_ERR_INVALID_ARG,
                                 "gguf writer: general.alignment must be a u32 power of two");
            *alignment = a;
        }
    }
    return MOTE_OK;
}

mote_status mote__gguf_write(const mote_gguf_writer *w, const char *path, mote_error *err) {
    uint32_t alignment;
    mote_status s = check_writable(w, &alignment, err);
    if (s) return s;

    /* Lay the data out: each tensor at a multiple of the alignment. Check
     * here that the offsets fit; the info loop below recomputes them. */
    uint64_t data_size = 0;
    for (int64_t i = 0; i < w->n_t; i++) {
        uint64_t padded;
        if (!mote__add_u64(w->t[i].nbytes, alignment - 1, &padded) ||
            !mote__add_u64(data_size, padded & ~(uint64_t)(alignment - 1), &data_size))
            return mote__err(err, MOTE_ERR_INVALID_ARG, "gguf writer: the tensors are too large");
    }

    size_t plen = strlen(path);
    char *tmp = mote__malloc(plen + 5);
    if (!tmp) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    out o = {fopen(tmp, "wb"), 0, 0};
    if (!o.f) {
        s = mote__err(err, MOTE_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        mote__free(tmp);
        return s;
    }

    out_u32(&o, MOTE_GGUF_MAGIC);
    out_u32(&o, 3);
    out_u64(&o, (uint64_t)w->n_t);
    out_u64(&o, (uint64_t)w->n_kv);
    for (int64_t i = 0; i < w->n_kv; i++) {
        out_str(&o, w->kv[i].key);
        out_u32(&o, w->kv[i].type);
        out_bytes(&o, w->kv[i].val, w->kv[i].nval);
    }
    uint64_t offset = 0;
    for (int64_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        out_str(&o, t->name);
        out_u32(&o, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) out_u64(&o, (uint64_t)t->ne[d]);
        out_u32(&o, t->type);
        out_u64(&o, offset);
        offset += (t->nbytes + alignment - 1) & ~(uint64_t)(alignment - 1);
    }
    out_pad(&o, alignment);
    /* One row buffer, as long as the longest row of a streamed tensor. */
    uint64_t max_row = 0;
    for (int64_t i = 0; i < w->n_t; i++) {
        uint64_t rb = 0;
        if (w->t[i].rows_fn && mote__type_row_bytes(w->t[i].type, (uint64_t)w->t[i].ne[0], &rb) &&
            rb > max_row)
            max_row = rb;
    }
    uint8_t *row_buf = max_row ? mote__malloc((size_t)max_row) : NULL;
    if (max_row && !row_buf) {
        fclose(o.f);
        remove(tmp);
        mote__free(tmp);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory for a row of %llu bytes",
                         (unsigned long long)max_row);
    }
    mote_status fill = MOTE_OK;
    for (int64_t i = 0; i < w->n_t && !fill; i++) {
        const wtensor *t = &w->t[i];
        if (t->rows_fn) {
            uint64_t rb = 0;
            mote__type_row_bytes(t->type, (uint64_t)t->ne[0], &rb); /* checked when added */
            int64_t n_rows = t->ne[1] * t->ne[2] * t->ne[3];
            for (int64_t r = 0; r < n_rows && !o.err && !fill; r++) {
                fill = t->rows_fn(t->rows_user, r, row_buf, (size_t)rb, err);
                if (!fill) out_bytes(&o, row_buf, rb);
            }
        } else {
            out_bytes(&o, t->data, t->nbytes);
        }
        out_pad(&o, alignment);
    }
    mote__free(row_buf);
    if (fill) {
        fclose(o.f);
        remove(tmp);
        mote__free(tmp);
        return fill;
    }

    if (!o.err && fflush(o.f) != 0) o.err = errno ? errno : EIO;
    if (!o.err && fsync(fileno(o.f)) != 0 && errno != EINVAL) o.err = errno;
    if (fclose(o.f) != 0 && !o.err) o.err = errno ? errno : EIO;
    if (o.err) {
        s = mote__err(err, MOTE_ERR_IO, "%s: cannot write: %s", tmp, strerror(o.err));
        remove(tmp);
        mote__free(tmp);
        return s;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        s = mote__err(err, MOTE_ERR_IO, "%s: cannot rename %s over it: %s", path, tmp, strerror(e));
        remove(tmp);
        mote__free(tmp);
        return s;
    }
    mote__free(tmp);
    return MOTE_OK;
}
