/* awq.c — activation-aware weight quantization (AWQ, Lin et al. 2023): the
 * search for per-input-channel scales that protect the weights seeing the
 * largest activations.
 *
 * For a group of matrices W sharing one input X (q/k/v after attn_norm,
 * gate/up after ffn_norm, attn_output, ffn_down), the scales are
 * s_j = max(mean|x_j|^alpha, 1e-4), normalised by sqrt(max s * min s) as
 * the authors' code does; the weights are quantized as Q(W diag(s)) and
 * used on the input X diag(1/s), so the group computes X diag(1/s) Q(W
 * diag(s))^T. alpha is searched on the grid {0, 1/n, ..., (n-1)/n} to
 * minimise sum_W ||X W^T - X diag(1/s) Q(W diag(s))^T||^2 over calibration
 * activations of the unquantized model; alpha = 0 is s = 1, plain
 * quantization, so the chosen scales never do worse than it on that
 * objective. The division by s is folded into whatever produces X (a norm
 * weight, or the rows of the matrix before: see compress.h), so the file
 * needs no new operation at run time. Not here: applying the scales to the
 * tensors (quantize.c) and AWQ's weight-clipping search (not done).
 *
 * The search is split over threads by weight rows; each row's error is kept
 * apart and summed in order, so the choice does not depend on the thread
 * count. Activation rows are a reservoir sample of the calibration tokens
 * (a fixed generator: the same text gives the same rows); the means |x_j|
 * are over every token.
 */
#include "compress.h"
#include "../core/threadpool.h"
#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* ---- collecting activations ---- */

typedef struct act_store {
    int64_t width;
    float *rows;        /* (max_rows, width) reservoir */
    int64_t n_kept;
    int64_t n_seen;
    double *abs_sum;    /* (width) sum |x_j| over every row seen */
} act_store;

typedef struct awq_collect {
    const mote_model *m;
    int64_t max_rows;
    act_store *st;      /* (n_layer, MOTE_AWQ_GROUPS) */
    uint64_t rng;
    bool failed;
} awq_collect;

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* mote_matmul_observer: keep rows of the first matrix of each group. */
static void observe(void *user, const mote_matrix *w, const float *x, size_t x_stride,
                    int64_t n_rows) {
    awq_collect *ac = user;
    int32_t layer;
    int kind, group;
    if (!mote__model_matrix_id(ac->m, w, &layer, &kind)) return;
    switch (kind) {
    case MOTE_MAT_Q: group = MOTE_AWQ_ATTN; break;
    case MOTE_MAT_O: group = MOTE_AWQ_O; break;
    case MOTE_MAT_GATE: group = MOTE_AWQ_FFN; break;
    case MOTE_MAT_DOWN: group = MOTE_AWQ_DOWN; break;
    default: return; /* k, v, up share the input of q or gate; output is not scaled */
    }
    act_store *st = &ac->st[(size_t)layer * MOTE_AWQ_GROUPS + group];
    if (!st->rows) {
        st->width = w->n_cols;
        st->rows = mote__malloc((size_t)ac->max_rows * (size_t)st->width * sizeof(float));
        st->abs_sum = mote__calloc((size_t)st->width, sizeof(double));
        if (!st->rows || !st->abs_sum) {
            ac->failed = true;
            mote__free(st->rows);
            mote__free(st->abs_sum);
            st->rows = NULL;
            st->abs_sum = NULL;
            return;
        }
    }
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = x + (size_t)r * x_stride;
        for (int64_t j = 0; j < st->width; j++) st->abs_sum[j] += fabs((double)row[j]);
        int64_t slot = -1;
        if (st->n_kept < ac->max_rows) slot = st->n_kept++;
        else {
            uint64_t k = splitmix64(&ac->rng) % (uint64_t)(st->n_seen + 1);
            if (k < (uint64_t)ac->max_rows) slot = (int64_t)k;
        }
        if (slot >= 0) memcpy(st->rows + (size_t)slot * st->width, row, (size_t)st->width * sizeof(float));
        st->n_seen++;
    }
}

/* ---- the search ---- */

/* One matrix of a group: its f32 weights and how it will be quantized. */
typedef struct awq_mat {
    const mote_matrix *w;
    float *wf;                /* (n_sel, n_cols) the rows searched, dequantized */
    int64_t n_sel;            /* rows searched: every row, or an even stride of them */
    mote_awq_target target;
} awq_mat;

/* The job of one alpha for one group: every thread takes weight rows. */
typedef struct awq_job {
    awq_mat *mats;
    int n_mats;
    int64_t n_in;
    const float *s;           /* (n_in) candidate scales */
    const float *imat;        /* (n_mats, n_in) scaled importance, or NULL per matrix */
    const float *x;           /* (n_x, n_in) activation rows */
    int64_t n_x;
    const float *gram;        /* (n_in, n_in) X^T X, or NULL: use the rows */
    const mote_kernel_table *k32; /* the f32 dot product (SIMD where the CPU has it) */
    double *row_err;          /* (sum of n_sel) error of each weight row searched */
    float *scratch;           /* (nth, 3 * n_in) + quantized bytes */
    size_t scratch_stride;    /* floats per thread */
    atomic_llong next;
    int64_t total_rows;
} awq_job;

static void awq_rows(void *task, int ith, int nth) {
    awq_job *job = task;
    const int64_t n = job->n_in;
    float *ws = job->scratch + (size_t)ith * job->scratch_stride;
    float *scaled = ws, *deq = ws + n, *diff = ws + 2 * n;
    void *qbuf = ws + 3 * n;
    for (;;) {
        int64_t gr = atomic_fetch_add(&job->next, 1);
        if (gr >= job->total_rows) break;
        int mi = 0;
        int64_t r = gr;
        while (r >= job->mats[mi].n_sel) r -= job->mats[mi++].n_sel;
        const awq_mat *am = &job->mats[mi];
        const mote_type_traits *tr = mote__type_traits(am->target.type);
        const float *wr = am->wf + (size_t)r * n;
        for (int64_t j = 0; j < n; j++) scaled[j] = wr[j] * job->s[j];
        const float *im = job->imat && am->target.imatrix ? job->imat + (size_t)mi * n : NULL;
        tr->quantize_w(scaled, qbuf, 1, n, im);
        tr->dequantize_ref(qbuf, deq, n);
        for (int64_t j = 0; j < n; j++) diff[j] = wr[j] - deq[j] / job->s[j];
        /* ||X d||^2: over the rows of X, or as d^T (X^T X) d when X has
         * more rows than columns (cheaper then) */
        double e = 0.0;
        if (job->gram) {
            for (int64_t j = 0; j < n; j++)
                e += (double)diff[j] * (double)job->k32->vec_dot(n, job->gram + (size_t)j * n, diff);
        } else {
            for (int64_t t = 0; t < job->n_x; t++) {
                float y = job->k32->vec_dot(n, diff, job->x + (size_t)t * n);
                e += (double)y * (double)y;
            }
        }
        job->row_err[gr] = e;
    }
    (void)nth;
}

static bool is_float_type(uint32_t t) {
    return t == MOTE_TYPE_F32 || t == MOTE_TYPE_F16 || t == MOTE_TYPE_BF16;
}

/* Search alpha for one group; on success res->s[group] (and s_kv for the o
 * group) hold the scales, or stay NULL when the group keeps s = 1. */
static mote_status search_group(const mote_model *m, mote_threadpool *tp, int32_t layer, int group,
                                const act_store *st, int32_t n_grid, int64_t max_wrows,
                                mote_awq_target_fn targets, void *targets_user, mote_awq_layer *res,
                                mote_error *err) {
    const mote_layer *L = &m->layers[layer];
    awq_mat mats[3];
    int n_mats = 0;
    const int kinds[MOTE_AWQ_GROUPS][3] = {{MOTE_MAT_Q, MOTE_MAT_K, MOTE_MAT_V},
                                           {MOTE_MAT_O, -1, -1},
                                           {MOTE_MAT_GATE, MOTE_MAT_UP, -1},
                                           {MOTE_MAT_DOWN, -1, -1}};
    const mote_matrix *by_kind[MOTE_MAT_OUTPUT] = {&L->wq, &L->wk, &L->wv, &L->wo,
                                                   &L->w_gate, &L->w_up, &L->w_down};
    bool any_quant = false;
    for (int i = 0; i < 3 && kinds[group][i] >= 0; i++) {
        mats[n_mats].w = by_kind[kinds[group][i]];
        mats[n_mats].wf = NULL;
        mats[n_mats].target = targets(targets_user, layer, kinds[group][i]);
        const mote_type_traits *tr = mote__type_traits(mats[n_mats].target.type);
        if (!tr || !tr->quantize_w || !tr->dequantize_ref)
            return mote__err(err, MOTE_ERR_UNSUPPORTED, "awq: cannot quantize to type %u",
                             mats[n_mats].target.type);
        if (!is_float_type(mats[n_mats].target.type)) any_quant = true;
        n_mats++;
    }
    if (!any_quant || !st->rows || st->n_seen == 0) return MOTE_OK;
    const int64_t n_in = st->width;
    const int64_t n_x = st->n_kept;

    /* Mean |x_j|; for the o group tied over the query heads of a KV head. */
    float *mean = mote__malloc((size_t)n_in * sizeof(float));
    float *s = mote__malloc((size_t)n_in * sizeof(float));
    float *best = mote__malloc((size_t)n_in * sizeof(float));
    float *imat = mote__calloc((size_t)n_mats * (size_t)n_in, sizeof(float));
    int64_t total_rows = 0;
    for (int i = 0; i < n_mats; i++) {
        int64_t n_rows = mats[i].w->n_rows;
        mats[i].n_sel = max_wrows > 0 && n_rows > max_wrows ? max_wrows : n_rows;
        total_rows += mats[i].n_sel;
    }
    double *row_err = mote__malloc((size_t)total_rows * sizeof(double));
    int nth = mote__threadpool_n_threads(tp);
    size_t stride = (size_t)3 * (size_t)n_in + (size_t)n_in * 2 + 64; /* + quantized row (< 8 bytes a value) */
    float *scratch = mote__malloc((size_t)nth * stride * sizeof(float));
    float *gram = NULL;
    mote_status s_ok = MOTE_OK;
    bool ok = mean && s && best && imat && row_err && scratch;
    for (int i = 0; ok && i < n_mats; i++) {
        mats[i].wf = mote__malloc((size_t)mats[i].n_sel * (size_t)n_in * sizeof(float));
        ok = mats[i].wf != NULL;
        for (int64_t k = 0; ok && k < mats[i].n_sel; k++) /* rows k * n_rows / n_sel */
            mote__matrix_get_row(mats[i].w, k * mats[i].w->n_rows / mats[i].n_sel,
                                 mats[i].wf + (size_t)k * n_in);
    }
    if (!ok) {
        s_ok = mote__err(err, MOTE_ERR_NOMEM, "awq: out of memory searching layer %d", (int)layer);
        goto done;
    }
    for (int64_t j = 0; j < n_in; j++) mean[j] = (float)(st->abs_sum[j] / (double)st->n_seen);
    const int32_t hd = m->hp.head_dim, group_sz = m->hp.n_head / m->hp.n_head_kv;
    if (group == MOTE_AWQ_O && group_sz > 1) {
        for (int32_t kv = 0; kv < m->hp.n_head_kv; kv++)
            for (int32_t d = 0; d < hd; d++) {
                double sum = 0.0;
                for (int32_t h = kv * group_sz; h < (kv + 1) * group_sz; h++) sum += mean[h * hd + d];
                for (int32_t h = kv * group_sz; h < (kv + 1) * group_sz; h++)
                    mean[h * hd + d] = (float)(sum / group_sz);
            }
    }
    awq_job job = {.mats = mats, .n_mats = n_mats, .n_in = n_in, .s = s, .imat = imat,
                   .x = st->rows, .n_x = n_x, .row_err = row_err, .scratch = scratch,
                   .scratch_stride = stride, .total_rows = total_rows,
                   .k32 = mote__kernels_for(MOTE_TYPE_F32)};
    if (n_x > n_in) { /* the Gram matrix, in double then rounded once */
        if (!(gram = mote__malloc((size_t)n_in * (size_t)n_in * sizeof(float)))) {
            s_ok = mote__err(err, MOTE_ERR_NOMEM, "awq: out of memory");
            goto done;
        }
        for (int64_t a = 0; a < n_in; a++)
            for (int64_t b = a; b < n_in; b++) {
                double sum = 0.0;
                for (int64_t t = 0; t < n_x; t++)
                    sum += (double)st->rows[(size_t)t * n_in + a] * (double)st->rows[(size_t)t * n_in + b];
                gram[(size_t)a * n_in + b] = gram[(size_t)b * n_in + a] = (float)sum;
            }
        job.gram = gram;
    }
    double best_err = -1.0;
    float best_alpha = 0.0f;
    for (int32_t gi = 0; gi < n_grid; gi++) {
        const float alpha = (float)gi / (float)n_grid;
        float smax = 0.0f, smin = INFINITY;
        for (int64_t j = 0; j < n_in; j++) {
            float v = powf(mean[j], alpha);
            if (!(v >= 1e-4f)) v = 1e-4f;
            s[j] = v;
            smax = v > smax ? v : smax;
            smin = v < smin ? v : smin;
        }
        const float norm = sqrtf(smax * smin);
        for (int64_t j = 0; j < n_in; j++) s[j] /= norm;
        /* The quantizers weight the error by the importance of the scaled
         * input x / s, whose mean square is imatrix_j / s_j^2. */
        for (int i = 0; i < n_mats; i++)
            if (mats[i].target.imatrix)
                for (int64_t j = 0; j < n_in; j++)
                    imat[(size_t)i * n_in + j] = mats[i].target.imatrix[j] / (s[j] * s[j]);
        atomic_store(&job.next, 0);
        mote__threadpool_run(tp, awq_rows, &job);
        double e = 0.0;
        for (int64_t r = 0; r < total_rows; r++) e += row_err[r];
        if (gi == 0) res->err_rtn[group] = e;
        if (best_err < 0.0 || e < best_err) {
            best_err = e;
            best_alpha = alpha;
            memcpy(best, s, (size_t)n_in * sizeof(float));
        }
    }
    res->alpha[group] = best_alpha;
    res->err_awq[group] = best_err;
    if (best_alpha > 0.0f) {
        res->s[group] = best;
        best = NULL;
        if (group == MOTE_AWQ_O) {
            const int32_t kv_dim = m->hp.n_head_kv * hd;
            if (!(res->s_kv = mote__malloc((size_t)kv_dim * sizeof(float)))) {
                s_ok = mote__err(err, MOTE_ERR_NOMEM, "awq: out of memory");
                goto done;
            }
            for (int32_t kv = 0; kv < m->hp.n_head_kv; kv++)
                for (int32_t d = 0; d < hd; d++)
                    res->s_kv[kv * hd + d] = res->s[group][(kv * group_sz) * hd + d];
        }
    }
done:
    for (int i = 0; i < n_mats; i++) mote__free(mats[i].wf);
    mote__free(mean);
    mote__free(s);
    mote__free(best);
    mote__free(imat);
    mote__free(row_err);
    mote__free(scratch);
    mote__free(gram);
    return s_ok;
}

void mote__awq_free(mote_awq *a) {
    if (!a) return;
    for (int32_t l = 0; a->layers && l < a->n_layer; l++) {
        for (int g = 0; g < MOTE_AWQ_GROUPS; g++) mote__free(a->layers[l].s[g]);
        mote__free(a->layers[l].s_kv);
    }
    mote__free(a->layers);
    mote__free(a);
}

mote_status mote__awq_search(const mote_model *m, const char *text_path, const mote_awq_params *p,
                             mote_awq_target_fn targets, void *targets_user, mote_awq **out,
                             mote_error *err) {
    *out = NULL;
    const int32_t n_layer = m->hp.n_layer;
    int32_t n_grid = p->n_grid > 0 ? p->n_grid : 20;
    int64_t max_wrows = p->max_weight_rows > 0 ? p->max_weight_rows : 512;
    awq_collect ac = {.m = m, .max_rows = p->max_rows > 0 ? p->max_rows : 256, .rng = 0x5eed};
    mote_awq *a = mote__calloc(1, sizeof *a);
    ac.st = mote__calloc((size_t)n_layer * MOTE_AWQ_GROUPS, sizeof *ac.st);
    mote_threadpool *tp = NULL;
    mote_status s = MOTE_OK;
    if (!a || !ac.st || !(a->layers = mote__calloc((size_t)n_layer, sizeof *a->layers))) {
        s = mote__err(err, MOTE_ERR_NOMEM, "awq: out of memory");
        goto done;
    }
    a->n_layer = n_layer;
    if ((s = mote__calib_run(m, text_path, &p->calib, observe, &ac, &a->n_chunks, NULL, err))) goto done;
    if (ac.failed) {
        s = mote__err(err, MOTE_ERR_NOMEM, "awq: out of memory keeping %lld activation rows per group",
                      (long long)ac.max_rows);
        goto done;
    }
    int nth = p->calib.n_threads > 0 ? p->calib.n_threads : mote__cpu_physical_cores();
    if ((s = mote__threadpool_new(nth, &tp, err))) goto done;
    for (int32_t l = 0; l < n_layer; l++) {
        for (int g = 0; g < MOTE_AWQ_GROUPS; g++) {
            const act_store *st = &ac.st[(size_t)l * MOTE_AWQ_GROUPS + g];
            if (st->n_kept > a->n_rows) a->n_rows = st->n_kept;
            if ((s = search_group(m, tp, l, g, st, n_grid, max_wrows, targets, targets_user,
                                  &a->layers[l], err)))
                goto done;
        }
        if (p->progress) p->progress(p->progress_user, l + 1, n_layer, &a->layers[l]);
    }
    *out = a;
    a = NULL;
done:
    mote__threadpool_free(tp);
    for (int64_t i = 0; ac.st && i < (int64_t)n_layer * MOTE_AWQ_GROUPS; i++) {
        mote__free(ac.st[i].rows);
        mote__free(ac.st[i].abs_sum);
    }
    mote__free(ac.st);
    mote__awq_free(a);
    return s;
}
