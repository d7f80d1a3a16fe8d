/* imatrix.c — importance matrices: collecting them (`mote imatrix`,
 * mote_imatrix_compute of mote.h), writing and reading them in llama.cpp's
 * GGUF layout (see compress.h), so files move between mote and llama.cpp.
 *
 * What it is: an observer (observer.h) that adds x_j^2 of every input row of
 * every matrix product to a per-weight sum and counts the rows, as
 * llama.cpp's llama-imatrix does (output.weight included, which llama.cpp
 * collects only with --process-output); the GGUF writer of those sums; and
 * a strict reader of such files. What it is not: using the matrix (the
 * quantizers of src/tensor/ take it as their importance weights;
 * quantize.c matches entries to tensors and refuses an imatrix made for
 * another model) or the legacy imatrix.dat format.
 */
#include "compress.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SUM2_SUFFIX ".in_sum2"
#define COUNTS_SUFFIX ".counts"

/* ---- collecting ---- */

typedef struct collector {
    const mote_model *m;
    int32_t n_slots;     /* MOTE_MAT_OUTPUT * n_layer + 1 (output.weight last) */
    double **sum2;       /* per slot, n_cols sums, allocated on first use */
    int64_t *n_cols;
    int64_t *count;      /* rows seen per slot */
    bool failed;         /* an allocation failed inside the observer */
} collector;

static int32_t slot_of(const collector *co, int32_t layer, int kind) {
    return kind == MOTE_MAT_OUTPUT ? co->n_slots - 1 : layer * MOTE_MAT_OUTPUT + kind;
}

/* mote_matmul_observer: accumulate x^2 of each row. Runs on one thread. */
static void collect(void *user, const mote_matrix *w, const float *x, size_t x_stride,
                    int64_t n_rows) {
    collector *co = user;
    int32_t layer;
    int kind;
    if (!mote__model_matrix_id(co->m, w, &layer, &kind)) return;
    int32_t slot = slot_of(co, layer, kind);
    if (!co->sum2[slot]) {
        co->sum2[slot] = mote__calloc((size_t)w->n_cols, sizeof(double));
        if (!co->sum2[slot]) {
            co->failed = true;
            return;
        }
        co->n_cols[slot] = w->n_cols;
    }
    double *s = co->sum2[slot];
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = x + (size_t)r * x_stride;
        for (int64_t j = 0; j < w->n_cols; j++) s[j] += (double)row[j] * (double)row[j];
    }
    co->count[slot] += n_rows;
}

mote_imatrix_params mote_imatrix_default_params(void) {
    return (mote_imatrix_params){.n_ctx = 512, .n_chunks = 0, .n_threads = 0};
}

/* Forward the calibration progress to the public callback. */
static void on_chunk(void *user, int32_t done, int32_t total, double ppl) {
    const mote_imatrix_params *p = user;
    if (p->progress) p->progress(p->progress_user, done, total, ppl);
}

mote_status mote_imatrix_compute(const char *model_path, const char *text_path,
                                 const char *out_path, const mote_imatrix_params *params,
                                 mote_imatrix_summary *summary, mote_error *err) {
    if (!model_path || !text_path || !out_path)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "imatrix: a model, a text and an output path are needed");
    mote_imatrix_params p = params ? *params : mote_imatrix_default_params();
    if (p.n_ctx < 0 || p.n_chunks < 0)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "imatrix: negative context or chunk count");
    mote_model *m = NULL;
    mote_status s = mote_model_load(model_path, &m, err);
    if (s) return s;
    collector co = {.m = m, .n_slots = MOTE_MAT_OUTPUT * m->hp.n_layer + 1};
    co.sum2 = mote__calloc((size_t)co.n_slots, sizeof *co.sum2);
    co.n_cols = mote__calloc((size_t)co.n_slots, sizeof *co.n_cols);
    co.count = mote__calloc((size_t)co.n_slots, sizeof *co.count);
    float **vals = mote__calloc((size_t)co.n_slots, sizeof *vals);
    float *counts = mote__calloc((size_t)co.n_slots, sizeof *counts);
    mote_gguf_writer *w = mote__gguf_writer_new();
    if (!co.sum2 || !co.n_cols || !co.count || !vals || !counts || !w) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        goto done;
    }
    mote_calib_params cp = {.n_ctx = p.n_ctx, .n_chunks = p.n_chunks, .n_threads = p.n_threads,
                            .progress = on_chunk, .progress_user = &p};
    int32_t n_chunks = 0, chunk_size = 0;
    if ((s = mote__calib_run(m, text_path, &cp, collect, &co, &n_chunks, &chunk_size, err))) goto done;
    if (co.failed) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory collecting activations");
        goto done;
    }
    const char *datasets[1] = {text_path};
    if ((s = mote__gguf_set_str(w, "general.type", "imatrix")) ||
        (s = mote__gguf_set_arr_str(w, "imatrix.datasets", datasets, 1)) ||
        (s = mote__gguf_set_u32(w, "imatrix.chunk_count", (uint32_t)n_chunks)) ||
        (s = mote__gguf_set_u32(w, "imatrix.chunk_size", (uint32_t)chunk_size))) {
        s = mote__err(err, s, "out of memory");
        goto done;
    }
    int64_t n_entries = 0;
    for (int32_t l = -1; l < m->hp.n_layer; l++) {
        for (int k = 0; k < MOTE_MAT_OUTPUT; k++) {
            int kind = l < 0 ? MOTE_MAT_OUTPUT : k;
            int32_t slot = slot_of(&co, l, kind);
            if (co.sum2[slot] && co.count[slot] > 0) {
                char name[64], tname[80];
                mote__matrix_name(l, kind, name, sizeof name);
                int64_t n = co.n_cols[slot];
                if (!(vals[slot] = mote__malloc((size_t)n * sizeof(float)))) {
                    s = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
                    goto done;
                }
                for (int64_t j = 0; j < n; j++) vals[slot][j] = (float)co.sum2[slot][j];
                counts[slot] = (float)co.count[slot];
                const int64_t ne_sum[1] = {n}, ne_cnt[1] = {1};
                snprintf(tname, sizeof tname, "%s%s", name, SUM2_SUFFIX);
                if ((s = mote__gguf_add_tensor(w, tname, MOTE_TYPE_F32, 1, ne_sum, vals[slot], err)))
                    goto done;
                snprintf(tname, sizeof tname, "%s%s", name, COUNTS_SUFFIX);
                if ((s = mote__gguf_add_tensor(w, tname, MOTE_TYPE_F32, 1, ne_cnt, &counts[slot], err)))
                    goto done;
                n_entries++;
            }
            if (l < 0) break; /* output.weight is one slot */
        }
    }
    if ((s = mote__gguf_write(w, out_path, err))) goto done;
    if (summary) {
        summary->n_entries = n_entries;
        summary->n_chunks = n_chunks;
        summary->chunk_size = chunk_size;
    }
done:
    mote__gguf_writer_free(w);
    for (int32_t i = 0; co.sum2 && i < co.n_slots; i++) mote__free(co.sum2[i]);
    for (int32_t i = 0; vals && i < co.n_slots; i++) mote__free(vals[i]);
    mote__free(co.sum2);
    mote__free(co.n_cols);
    mote__free(co.count);
    mote__free(vals);
    mote__free(counts);
    mote_model_free(m);
    return s;
}

/* ---- reading ---- */

void mote__imatrix_free(mote_imatrix *im) {
    if (!im) return;
    for (int64_t i = 0; i < im->n_entries; i++) mote__free(im->e[i].values);
    mote__free(im->e);
    mote__free(im);
}

const mote_imatrix_entry *mote__imatrix_find(const mote_imatrix *im, const char *name) {
    for (int64_t i = 0; im && i < im->n_entries; i++)
        if (strcmp(im->e[i].name, name) == 0) return &im->e[i];
    return NULL;
}

static bool ends_with(const char *s, const char *suffix, size_t *stem) {
    size_t n = strlen(s), k = strlen(suffix);
    if (n < k || strcmp(s + n - k, suffix) != 0) return false;
    *stem = n - k;
    return true;
}

/* Read a float of a tensor's data (which may be unaligned in a memory
 * buffer opened by the fuzzer). */
static float f32_at(const void *data, int64_t i) {
    float v;
    memcpy(&v, (const uint8_t *)data + 4 * (size_t)i, 4);
    return v;
}

mote_status mote__imatrix_from_gguf(const mote_gguf *g, const char *name, mote_imatrix **out,
                                    mote_error *err) {
    *out = NULL;
    mote_imatrix *im = mote__calloc(1, sizeof *im);
    int64_t n_t = mote__gguf_n_tensors(g), n_sums = 0;
    for (int64_t i = 0; i < n_t; i++) {
        size_t stem;
        if (ends_with(mote__gguf_tensor(g, i)->name, SUM2_SUFFIX, &stem)) n_sums++;
    }
    if (!im || !(im->e = mote__calloc(n_sums ? (size_t)n_sums : 1, sizeof *im->e))) {
        mote__imatrix_free(im);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory reading %s", name);
    }
    mote_status s = MOTE_OK;
    if (n_sums == 0) {
        s = mote__err(err, MOTE_ERR_FORMAT, "%s: no %s tensors: not an importance matrix", name,
                      SUM2_SUFFIX);
        goto fail;
    }
    for (int64_t i = 0; i < n_t; i++) {
        const mote_gguf_tensor *t = mote__gguf_tensor(g, i);
        size_t stem;
        if (!ends_with(t->name, SUM2_SUFFIX, &stem)) continue; /* counts, or other data: skipped */
        mote_imatrix_entry *e = &im->e[im->n_entries];
        char pn[80];
        mote__printable(t->name, pn, sizeof pn);
        if (stem == 0 || stem >= sizeof e->name) {
            s = mote__err(err, MOTE_ERR_FORMAT, "%s: tensor '%s': bad weight name", name, pn);
            goto fail;
        }
        memcpy(e->name, t->name, stem);
        e->name[stem] = '\0';
        if (t->type != MOTE_TYPE_F32) {
            s = mote__err(err, MOTE_ERR_FORMAT, "%s: tensor %s is %s, expected f32", name, pn,
                          mote__type_name(t->type));
            goto fail;
        }
        int64_t nmat = t->ne[1] * t->ne[2] * t->ne[3]; /* the reader checked the product */
        if (nmat != 1) {
            s = mote__err(err, MOTE_ERR_UNSUPPORTED,
                          "%s: %s holds %lld matrices (an expert imatrix): not supported",
                          name, pn, (long long)nmat);
            goto fail;
        }
        char cname[80];
        snprintf(cname, sizeof cname, "%s%s", e->name, COUNTS_SUFFIX);
        const mote_gguf_tensor *c = mote__gguf_find_tensor(g, cname);
        if (!c || c->type != MOTE_TYPE_F32 || c->ne[0] * c->ne[1] * c->ne[2] * c->ne[3] != 1) {
            s = mote__err(err, MOTE_ERR_FORMAT, "%s: %s has no .counts tensor of one f32", name, pn);
            goto fail;
        }
        float count = f32_at(c->data, 0);
        if (!isfinite(count) || count < 0.0f) {
            s = mote__err(err, MOTE_ERR_FORMAT, "%s: the count of %s, %g, is not a count", name, pn, (double)count);
            goto fail;
        }
        e->n = t->ne[0];
        if (!(e->values = mote__malloc((size_t)(e->n ? e->n : 1) * sizeof(float)))) {
            s = mote__err(err, MOTE_ERR_NOMEM, "out of memory reading %s", name);
            goto fail;
        }
        im->n_entries++;
        for (int64_t j = 0; j < e->n; j++) {
            float v = f32_at(t->data, j);
            if (!isfinite(v) || v < 0.0f) {
                s = mote__err(err, MOTE_ERR_FORMAT, "%s: %s[%lld] = %g: sums of squares must be finite and >= 0",
                              name, pn, (long long)j, (double)v);
                goto fail;
            }
            /* As llama.cpp: an entry that saw no tokens weighs every input alike. */
            e->values[j] = count > 0.0f ? v / count : 1.0f;
            if (!isfinite(e->values[j])) {
                s = mote__err(err, MOTE_ERR_FORMAT, "%s: %s[%lld] / count overflows", name, pn,
                              (long long)j);
                goto fail;
            }
        }
    }
    if (mote__gguf_find_key(g, "imatrix.chunk_count") >= 0 &&
        (s = mote__gguf_get_u32(g, "imatrix.chunk_count", &im->chunk_count, err)))
        goto fail;
    if (mote__gguf_find_key(g, "imatrix.chunk_size") >= 0 &&
        (s = mote__gguf_get_u32(g, "imatrix.chunk_size", &im->chunk_size, err)))
        goto fail;
    int64_t ki = mote__gguf_find_key(g, "imatrix.datasets");
    if (ki >= 0 && mote__gguf_kv_type(g, ki) == MOTE_GGUF_ARRAY) {
        mote_gguf_vtype et;
        uint64_t n = 0;
        const void *unused;
        const char *str;
        uint64_t len;
        if (mote__gguf_get_arr(g, "imatrix.datasets", &et, &n, &unused, NULL) == MOTE_OK &&
            et == MOTE_GGUF_STRING && n > 0 && mote__gguf_arr_str(g, ki, 0, &str, &len) == MOTE_OK) {
            if (len >= sizeof im->dataset) len = sizeof im->dataset - 1;
            memcpy(im->dataset, str, (size_t)len);
            im->dataset[len] = '\0';
        }
    }
    *out = im;
    return MOTE_OK;
fail:
    mote__imatrix_free(im);
    return s;
}

mote_status mote__imatrix_read(const char *path, mote_imatrix **out, mote_error *err) {
    *out = NULL;
    mote_gguf *g;
    mote_status s = mote_gguf_open(path, &g, err);
    if (s) return s;
    s = mote__imatrix_from_gguf(g, path, out, err);
    mote_gguf_close(g);
    return s;
}
