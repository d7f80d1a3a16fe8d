/* lora.c — LoRA adapters at inference: reading llama.cpp's LoRA adapter
 * GGUF, checking an adapter against a base model, applying attached
 * adapters in the forward pass, and folding adapters into a base model's
 * weights (mote merge).
 *
 * Format (llama.cpp's llama-adapter.cpp reads the same): general.type =
 * "adapter", adapter.type = "lora", adapter.lora.alpha (f32, optional),
 * general.architecture of the base; per adapted weight W (ne [in, out]) the
 * tensors "<W's name>.lora_a" with ne [in, rank] (A (rank, in) row-major)
 * and "<W's name>.lora_b" with ne [rank, out] (B (out, rank)). The product
 * becomes W x + scale (alpha / rank) B A x, or scale B A x when the file
 * has no alpha. Norm tensors ("..._norm.weight") are ignored as llama.cpp
 * ignores them; any other tensor is an error.
 *
 * Not here: training adapters (src/train/lora.c), the forward pass itself
 * (llama.c calls mote__lora_apply).
 */
#include "lora.h"
#include "model.h"
#include <stdio.h>
#include <string.h>

typedef struct lora_pair {
    const char *name;        /* the base weight's name (owned by the adapter's file) */
    int32_t layer, k;        /* block and MOTE_LORA_* */
    int64_t IC, OC;
    int32_t rank;
    float *A, *B;            /* (rank, IC), (OC, rank), f32 */
} lora_pair;

struct mote_lora {
    mote_gguf *g;            /* kept open: names point into it */
    char arch[32];
    float alpha;
    int32_t n_pairs, max_rank, n_layer;
    lora_pair *pairs;
    int32_t *slot;           /* (n_layer, MOTE_LORA_N_MATS): pair index or -1 */
    float *store;            /* every A and B */
};

static const char *const k_mat_names[MOTE_LORA_N_MATS] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

/* "blk.<layer>.<matrix>.weight" -> layer, k; false for anything else. */
static bool parse_block_name(const char *name, size_t len, int32_t *layer, int32_t *k) {
    if (len < 5 || strncmp(name, "blk.", 4) != 0) return false;
    size_t i = 4;
    int64_t l = 0;
    if (i >= len || name[i] < '0' || name[i] > '9') return false;
    while (i < len && name[i] >= '0' && name[i] <= '9') {
        l = l * 10 + (name[i++] - '0');
        if (l > 100000) return false;
    }
    if (i >= len || name[i++] != '.') return false;
    for (int32_t m = 0; m < MOTE_LORA_N_MATS; m++) {
        size_t n = strlen(k_mat_names[m]);
        if (len - i == n + 7 && !strncmp(name + i, k_mat_names[m], n) &&
            !strncmp(name + i + n, ".weight", 7)) {
            *layer = (int32_t)l;
            *k = m;
            return true;
        }
    }
    return false;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* A string key that must equal `want`. */
static mote_status want_str(const mote_gguf *g, const char *key, const char *want, mote_error *err) {
    const char *v;
    uint64_t len;
    if (mote__gguf_find_key(g, key) < 0)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: missing key %s: not a LoRA adapter", mote__gguf_path(g), key);
    mote_status s = mote__gguf_get_str(g, key, &v, &len, err);
    if (s) return s;
    if (len != strlen(want) || memcmp(v, want, len) != 0)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %s is '%.*s', expected '%s': not a LoRA adapter",
                         mote__gguf_path(g), key, (int)(len > 40 ? 40 : len), v, want);
    return MOTE_OK;
}

/* A 2-D tensor of a type that dequantizes, as f32 into dst (ne0 * ne1). */
static mote_status read_f32(const mote_gguf *g, const mote_gguf_tensor *t, float *dst, mote_error *err) {
    const mote_type_traits *tr = mote__type_traits(t->type);
    if (!tr || !tr->dequantize_ref)
        return mote__err(err, MOTE_ERR_UNSUPPORTED, "%s: tensor %s is %s, which this build cannot read",
                         mote__gguf_path(g), t->name, mote__type_name(t->type));
    tr->dequantize_ref(t->data, dst, t->ne[0] * t->ne[1]); /* sized by the reader */
    return MOTE_OK;
}

void mote_lora_free(mote_lora *l) {
    if (!l) return;
    mote__free(l->pairs);
    mote__free(l->slot);
    mote__free(l->store);
    mote_gguf_close(l->g);
    mote__free(l);
}

mote_status mote_lora_open(const char *path, mote_lora **out, mote_error *err) {
    *out = NULL;
    mote_lora *l = mote__calloc(1, sizeof *l);
    if (!l) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    mote_status s = mote_gguf_open(path, &l->g, err);
    const mote_gguf *g = l->g;
    if (s) goto fail;
    if ((s = want_str(g, "general.type", "adapter", err)) ||
        (s = want_str(g, "adapter.type", "lora", err)))
        goto fail;
    const char *arch;
    uint64_t arch_len;
    if ((s = mote__gguf_get_str(g, "general.architecture", &arch, &arch_len, err))) goto fail;
    if (arch_len >= sizeof l->arch) arch_len = sizeof l->arch - 1;
    memcpy(l->arch, arch, arch_len);
    if (mote__gguf_find_key(g, "adapter.lora.alpha") >= 0 &&
        (s = mote__gguf_get_f32(g, "adapter.lora.alpha", &l->alpha, err)))
        goto fail;
    if (!(l->alpha >= 0.0f && l->alpha < 1e9f)) {
        s = mote__err(err, MOTE_ERR_FORMAT, "%s: adapter.lora.alpha %g is out of range", path, (double)l->alpha);
        goto fail;
    }
    /* pair every .lora_a with its .lora_b */
    const int64_t n_t = mote__gguf_n_tensors(g);
    if (!(l->pairs = mote__calloc((size_t)(n_t / 2 + 1), sizeof(lora_pair)))) goto nomem;
    size_t n_floats = 0;
    for (int64_t i = 0; i < n_t; i++) {
        const mote_gguf_tensor *ta = mote__gguf_tensor(g, i);
        if (ends_with(ta->name, "_norm.weight")) continue;
        if (ends_with(ta->name, ".lora_b")) {
            size_t n = strlen(ta->name) - 7;
            char a_name[512];
            snprintf(a_name, sizeof a_name, "%.*s.lora_a", (int)(n > 400 ? 400 : n), ta->name);
            if (!mote__gguf_find_tensor(g, a_name)) {
                s = mote__err(err, MOTE_ERR_FORMAT, "%s: %s has no %s", path, ta->name, a_name);
                goto fail;
            }
            continue;
        }
        if (!ends_with(ta->name, ".lora_a")) {
            s = mote__err(err, MOTE_ERR_FORMAT, "%s: tensor %s is neither .lora_a nor .lora_b", path, ta->name);
            goto fail;
        }
        size_t n = strlen(ta->name) - 7;
        char b_name[512];
        snprintf(b_name, sizeof b_name, "%.*s.lora_b", (int)(n > 400 ? 400 : n), ta->name);
        const mote_gguf_tensor *tb = mote__gguf_find_tensor(g, b_name);
        if (!tb) {
            s = mote__err(err, MOTE_ERR_FORMAT, "%s: %s has no %s", path, ta->name, b_name);
            goto fail;
        }
        lora_pair *p = &l->pairs[l->n_pairs];
        if (!parse_block_name(ta->name, n, &p->layer, &p->k)) {
            s = mote__err(err, MOTE_ERR_UNSUPPORTED,
                          "%s: adapts %.*s; mote applies adapters to the block matrices only "
                          "(blk.N.attn_q ... ffn_down)", path, (int)(n > 200 ? 200 : n), ta->name);
            goto fail;
        }
        if (ta->n_dims != 2 || tb->n_dims != 2 || ta->ne[1] != tb->ne[0] || ta->ne[1] < 1 ||
            ta->ne[1] > 65536) {
            s = mote__err(err, MOTE_ERR_FORMAT,
                          "%s: %s [%lld, %lld] and %s [%lld, %lld] are not a LoRA pair (want "
                          "lora_a [in, rank], lora_b [rank, out])", path, ta->name,
                          (long long)ta->ne[0], (long long)ta->ne[1], tb->name,
                          (long long)tb->ne[0], (long long)tb->ne[1]);
            goto fail;
        }
        p->name = ta->name; /* "<W>.lora_a": the base name is its first n bytes */
        p->IC = ta->ne[0];
        p->OC = tb->ne[1];
        p->rank = (int32_t)ta->ne[1];
        if (p->rank > l->max_rank) l->max_rank = p->rank;
        if (p->layer >= l->n_layer) l->n_layer = p->layer + 1;
        n_floats += (size_t)(p->IC + p->OC) * (size_t)p->rank; /* bounded by the file's size */
        l->n_pairs++;
    }
    if (l->n_pairs == 0) {
        s = mote__err(err, MOTE_ERR_FORMAT, "%s: no .lora_a/.lora_b pairs: an empty adapter", path);
        goto fail;
    }
    l->store = mote__calloc(n_floats, sizeof(float));
    l->slot = mote__calloc((size_t)l->n_layer * MOTE_LORA_N_MATS, sizeof(int32_t));
    if (!l->store || !l->slot) goto nomem;
    for (int32_t i = 0; i < l->n_layer * MOTE_LORA_N_MATS; i++) l->slot[i] = -1;
    float *cur = l->store;
    for (int32_t i = 0; i < l->n_pairs; i++) {
        lora_pair *p = &l->pairs[i];
        char b_name[512];
        snprintf(b_name, sizeof b_name, "%.*s.lora_b", (int)(strlen(p->name) - 7), p->name);
        p->A = cur, cur += (size_t)p->rank * (size_t)p->IC;
        p->B = cur, cur += (size_t)p->OC * (size_t)p->rank;
        if ((s = read_f32(g, mote__gguf_find_tensor(g, p->name), p->A, err)) ||
            (s = read_f32(g, mote__gguf_find_tensor(g, b_name), p->B, err)))
            goto fail;
        l->slot[p->layer * MOTE_LORA_N_MATS + p->k] = i;
    }
    *out = l;
    return MOTE_OK;
nomem:
    s = mote__err(err, MOTE_ERR_NOMEM, "out of memory reading %s", path);
fail:
    mote_lora_free(l);
    return s;
}

int32_t mote_lora_n_pairs(const mote_lora *l) { return l->n_pairs; }
int32_t mote_lora_rank(const mote_lora *l) { return l->max_rank; }
float mote_lora_alpha(const mote_lora *l) { return l->alpha; }

/* The factor of B A for user scale s: s alpha / rank, or s without alpha. */
static float pair_scale(const mote_lora *l, const lora_pair *p, float s) {
    return l->alpha > 0.0f ? s * l->alpha / (float)p->rank : s;
}

/* Check every pair of l against the base GGUF g (architecture arch): the
 * weight exists, is 2-D, and has ne [IC, OC]. */
static mote_status check_base(const mote_lora *l, const mote_gguf *g, const char *arch,
                              mote_error *err) {
    const char *lp = mote__gguf_path(l->g), *bp = mote__gguf_path(g);
    if (strcmp(l->arch, arch) != 0)
        return mote__err(err, MOTE_ERR_FORMAT, "%s is an adapter for architecture '%s', %s is '%s'",
                         lp, l->arch, bp, arch);
    for (int32_t i = 0; i < l->n_pairs; i++) {
        const lora_pair *p = &l->pairs[i];
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(p->name) - 7), p->name);
        const mote_gguf_tensor *t = mote__gguf_find_tensor(g, name);
        if (!t)
            return mote__err(err, MOTE_ERR_FORMAT,
                             "%s adapts %s, which %s does not have: the adapter is for another model",
                             lp, name, bp);
        if (t->n_dims != 2 || t->ne[0] != p->IC || t->ne[1] != p->OC)
            return mote__err(err, MOTE_ERR_FORMAT,
                             "%s adapts %s as [%lld, %lld], but in %s it is [%lld, %lld]: the "
                             "adapter is for another model",
                             lp, name, (long long)p->IC, (long long)p->OC, bp, (long long)t->ne[0],
                             (long long)(t->n_dims > 1 ? t->ne[1] : 1));
    }
    return MOTE_OK;
}

/* ---- at inference ---- */

mote_status mote_ctx_lora_attach(mote_ctx *c, const mote_lora *l, float scale, mote_error *err) {
    const mote_model *m = mote__ctx_model(c);
    mote__lora_list *ll = mote__ctx_lora_list(c);
    if (!l) return mote__err(err, MOTE_ERR_INVALID_ARG, "no adapter given");
    if (!(scale > -1e6f && scale < 1e6f))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "adapter scale %g is out of range", (double)scale);
    mote_status s = check_base(l, m->gguf, m->arch, err);
    if (s) return s;
    if (ll->n >= MOTE_LORA_MAX_ATTACHED)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "at most %d adapters can be attached", MOTE_LORA_MAX_ATTACHED);
    int32_t nt = mote_ctx_n_threads(c);
    if (l->max_rank > ll->max_rank || nt != ll->n_threads) {
        int32_t r = l->max_rank > ll->max_rank ? l->max_rank : ll->max_rank;
        float *scr = mote__calloc((size_t)nt * (size_t)r, sizeof(float));
        if (!scr) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        mote__free(ll->scratch);
        ll->scratch = scr;
        ll->max_rank = r;
        ll->n_threads = nt;
    }
    ll->lora[ll->n] = l;
    ll->scale[ll->n] = scale;
    ll->n++;
    return MOTE_OK;
}

void mote_ctx_lora_clear(mote_ctx *c) { mote__ctx_lora_list(c)->n = 0; }

void mote__lora_list_free(mote__lora_list *ll) {
    mote__free(ll->scratch);
    memset(ll, 0, sizeof *ll);
}

void mote__lora_apply(const mote__lora_list *ll, int32_t layer, int k, const float *x,
                      size_t x_stride, float *y, size_t y_stride, int64_t t0, int64_t t1, int ith) {
    for (int i = 0; i < ll->n; i++) {
        const mote_lora *l = ll->lora[i];
        if (ll->scale[i] == 0.0f || layer >= l->n_layer) continue;
        int32_t pi = l->slot[layer * MOTE_LORA_N_MATS + k];
        if (pi < 0) continue;
        const lora_pair *p = &l->pairs[pi];
        const float s = pair_scale(l, p, ll->scale[i]);
        float *u = ll->scratch + (size_t)ith * (size_t)ll->max_rank;
        for (int64_t t = t0; t < t1; t++) {
            const float *xt = x + (size_t)t * x_stride;
            float *yt = y + (size_t)t * y_stride;
            for (int32_t j = 0; j < p->rank; j++) { /* u = s A x */
                const float *a = p->A + (size_t)j * (size_t)p->IC;
                float acc = 0.0f;
                for (int64_t c = 0; c < p->IC; c++) acc += a[c] * xt[c];
                u[j] = s * acc;
            }
            for (int64_t o = 0; o < p->OC; o++) { /* y += B u */
                const float *b = p->B + (size_t)o * (size_t)p->rank;
                float acc = 0.0f;
                for (int32_t j = 0; j < p->rank; j++) acc += b[j] * u[j];
                yt[o] += acc;
            }
        }
    }
}

/* ---- merging into the base ---- */

/* One adapted weight being written: its base tensor, the pairs adding to
 * it, and the output type. */
typedef struct merge_job {
    const mote_gguf_tensor *t;
    uint32_t out_type;
    int n;
    const lora_pair *pairs[MOTE_LORA_MAX_ATTACHED];
    float scales[MOTE_LORA_MAX_ATTACHED];
    float *row;               /* (IC) scratch shared by all jobs (rows are written in turn) */
} merge_job;

/* Row o of the merged weight: dequantize W's row, add sum s B[o,:] A, and
 * convert to the output type. */
static mote_status merge_row(void *user, int64_t o, void *dst, size_t row_bytes, mote_error *err) {
    const merge_job *j = user;
    const int64_t IC = j->t->ne[0];
    uint64_t in_rb = 0;
    mote__type_row_bytes(j->t->type, (uint64_t)IC, &in_rb); /* checked before writing */
    mote__type_traits(j->t->type)->dequantize_ref((const uint8_t *)j->t->data + (size_t)o * in_rb,
                                                  j->row, IC);
    for (int i = 0; i < j->n; i++) {
        const lora_pair *p = j->pairs[i];
        for (int32_t r = 0; r < p->rank; r++) {
            const float c = j->scales[i] * p->B[(size_t)o * (size_t)p->rank + (size_t)r];
            const float *a = p->A + (size_t)r * (size_t)IC;
            for (int64_t x = 0; x < IC; x++) j->row[x] += c * a[x];
        }
    }
    if (j->out_type == MOTE_TYPE_F32) memcpy(dst, j->row, row_bytes);
    else mote__type_traits(j->out_type)->quantize_ref(j->row, dst, IC);
    (void)err;
    return MOTE_OK;
}

mote_status mote_lora_merge(const char *base_path, const mote_lora *const *loras,
                            const float *scales, int n, const char *out_path,
                            const char *type_name, mote_error *err) {
    if (n < 1 || n > MOTE_LORA_MAX_ATTACHED)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "merge takes 1 to %d adapters, not %d",
                         MOTE_LORA_MAX_ATTACHED, n);
    int want_type = -1;
    if (type_name) {
        want_type = mote__type_from_name(type_name);
        const mote_type_traits *tr = want_type >= 0 ? mote__type_traits((uint32_t)want_type) : NULL;
        if (!tr || !tr->quantize_ref || (want_type != MOTE_TYPE_F32 && !tr->dequantize_ref))
            return mote__err(err, MOTE_ERR_INVALID_ARG, "type '%s' is not one mote can write", type_name);
    }
    mote_gguf *g = NULL;
    mote_gguf_writer *w = NULL;
    merge_job *jobs = NULL;
    float *row = NULL;
    mote_status s = mote_gguf_open(base_path, &g, err);
    if (s) return s;
    const char *arch;
    uint64_t arch_len;
    char arch_buf[32] = "";
    if ((s = mote__gguf_get_str(g, "general.architecture", &arch, &arch_len, err))) goto done;
    snprintf(arch_buf, sizeof arch_buf, "%.*s", (int)(arch_len > 31 ? 31 : arch_len), arch);
    for (int i = 0; i < n; i++)
        if ((s = check_base(loras[i], g, arch_buf, err))) goto done;
    const int64_t n_t = mote__gguf_n_tensors(g);
    jobs = mote__calloc((size_t)n_t, sizeof(merge_job));
    if (!jobs || !(w = mote__gguf_writer_new())) goto nomem;
    for (int64_t i = 0; i < mote_gguf_n_kv(g); i++)
        if ((s = mote__gguf_set_from(w, g, i))) goto nomem;
    int64_t max_ic = 1;
    for (int64_t ti = 0; ti < n_t; ti++) {
        const mote_gguf_tensor *t = mote__gguf_tensor(g, ti);
        merge_job *j = &jobs[ti];
        j->t = t;
        for (int i = 0; i < n; i++) {
            const mote_lora *l = loras[i];
            for (int32_t pi = 0; pi < l->n_pairs; pi++) {
                const lora_pair *p = &l->pairs[pi];
                size_t len = strlen(p->name) - 7;
                if (strlen(t->name) == len && !strncmp(t->name, p->name, len) && scales[i] != 0.0f) {
                    j->pairs[j->n] = p;
                    j->scales[j->n] = pair_scale(l, p, scales[i]);
                    j->n++;
                }
            }
        }
        if (!j->n) { /* copied as it is */
            if ((s = mote__gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, err))) goto done;
            continue;
        }
        const mote_type_traits *in_tr = mote__type_traits(t->type);
        if (!in_tr || !in_tr->dequantize_ref) {
            s = mote__err(err, MOTE_ERR_UNSUPPORTED, "%s: tensor %s is %s, which this build cannot read",
                          base_path, t->name, mote__type_name(t->type));
            goto done;
        }
        uint32_t ot = want_type >= 0 ? (uint32_t)want_type
                      : (t->type == MOTE_TYPE_F32 || t->type == MOTE_TYPE_F16 || t->type == MOTE_TYPE_BF16)
                          ? t->type : MOTE_TYPE_F16;
        uint64_t rb;
        if (!mote__type_row_bytes(ot, (uint64_t)t->ne[0], &rb)) {
            s = mote__err(err, MOTE_ERR_INVALID_ARG,
                          "%s: rows of %s have %lld values, which %s's blocks of %lld do not divide",
                          base_path, t->name, (long long)t->ne[0], mote__type_name(ot),
                          (long long)mote__type_traits(ot)->block_size);
            goto done;
        }
        j->out_type = ot;
        if (t->ne[0] > max_ic) max_ic = t->ne[0];
        if ((s = mote__gguf_add_tensor_rows(w, t->name, ot, t->n_dims, t->ne, merge_row, j, err))) goto done;
    }
    if (!(row = mote__calloc((size_t)max_ic, sizeof(float)))) goto nomem;
    for (int64_t ti = 0; ti < n_t; ti++) jobs[ti].row = row;
    s = mote__gguf_write(w, out_path, err);
    goto done;
nomem:
    s = mote__err(err, MOTE_ERR_NOMEM, "out of memory merging into %s", out_path);
done:
    mote__free(row);
    mote__free(jobs);
    mote__gguf_writer_free(w);
    mote_gguf_close(g);
    return s;
}
