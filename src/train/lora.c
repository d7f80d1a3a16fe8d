/* lora.c — LoRA training on a frozen base: low-rank adapters on the block
 * matrices of a Llama, the base weights read (and dequantized) from their
 * GGUF file as the layers run, and the adapters written in llama.cpp's LoRA
 * adapter GGUF format.
 *
 * For block matrix W (OC, IC) with an adapter of rank r:
 *   y = W x + s B (A x),   A (r, IC), B (OC, r), s = alpha / r
 * (Hu et al. 2021). A starts uniform in +-1/sqrt(IC) (the bound PyTorch's
 * default init gives a (r, IC) layer), B at zero, so training starts at
 * the base model exactly. Only A and B are trained: the frozen model of
 * model.c (mote__tr_model_load_frozen) computes input gradients through
 * everything and no weight gradient of the base.
 *
 * The base matrices stay in the file's mapping, in the file's type. An F32
 * matrix is used in place; any other type (F16, BF16, Q8_0, Q4_0, K-quants:
 * whatever dequantizes) is dequantized into one f32 scratch matrix each time
 * a layer runs, forward and backward — the QLoRA idea: the memory of the
 * frozen weights is the file's, plus one matrix in f32. Dequantizing costs
 * IC*OC per call against N*IC*OC for the product, so it is cheap for any
 * real batch.
 *
 * Per adapted matrix, forward saves u = s (x A^T) (N, r) for backward:
 *   out = x W^T + u B^T
 *   du' = dout B (N, r);  dB += dout^T u;  du = s du'
 *   dx  = dout W (+ du A);  dA += du^T x
 * all through the training matmuls of matmul.c.
 *
 * Adapter file (llama.cpp's llama-adapter.cpp reads it): general.type =
 * "adapter", adapter.type = "lora", adapter.lora.alpha (f32),
 * general.architecture of the base ("llama"), and per adapted weight
 * "<name>.weight.lora_a" with ne = [IC, r] (A row-major) and
 * "<name>.weight.lora_b" with ne = [r, OC] (B row-major), F32.
 *
 * Not here: applying adapters at inference and merging them (src/model/
 * lora.c), the optimizer (optim.c), the rest of the model (model.c).
 */
#include "train.h"
#include "ops.h"
#include "../gguf/gguf.h"
#include "../kernels/kernels.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const mote__tr_mat_names[MOTE_TR_N_MATS] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

/* One block matrix: the base weight in the file and, when adapted, views
 * of its A, B, their gradients and the saved u. */
typedef struct tr_slot {
    const mote_gguf_tensor *w; /* ne = {IC, OC} */
    int64_t IC, OC;
    size_t row_bytes;
    float *A, *B, *dA, *dB;    /* NULL when not adapted */
    size_t u_off;              /* its u (N, rank) at u_store + u_off * N */
} tr_slot;

struct mote_tr_lora {
    mote_gguf *base;           /* the mapping the base matrices are read from */
    int32_t n_layer, rank;
    float alpha, scale;
    unsigned targets;
    tr_slot *slots;            /* n_layer * MOTE_TR_N_MATS */
    size_t n_params;
    float *params, *grads;     /* every A then B, slot by slot */
    float *deq;                /* one dequantized base matrix, or NULL (all F32) */
    size_t u_per_pos;          /* floats of u per position, all slots together */
    int64_t act_N;
    float *u_store;            /* slot by slot, (N, rank) each */
    float *du;                 /* (N, rank) backward scratch */
    float *bt;                 /* (rank, max OC): B transposed, forward */
};

mote_status mote__tr_lora_parse_targets(const char *list, unsigned *targets, mote_error *err) {
    *targets = 0;
    if (!list || !strcmp(list, "all")) {
        *targets = (1u << MOTE_TR_N_MATS) - 1;
        return MOTE_OK;
    }
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int k = 0;
        while (k < MOTE_TR_N_MATS &&
               !(strlen(mote__tr_mat_names[k]) == len && !strncmp(p, mote__tr_mat_names[k], len)))
            k++;
        if (k == MOTE_TR_N_MATS)
            return mote__err(err, MOTE_ERR_INVALID_ARG,
                             "unknown LoRA target '%.*s' (known: attn_q, attn_k, attn_v, "
                             "attn_output, ffn_gate, ffn_up, ffn_down, or all)",
                             (int)(len > 64 ? 64 : len), p);
        *targets |= 1u << k;
        p += len;
        if (*p == ',') p++;
    }
    if (!*targets) return mote__err(err, MOTE_ERR_INVALID_ARG, "no LoRA target given");
    return MOTE_OK;
}

void mote__tr_lora_free(mote_tr_lora *lo) {
    if (!lo) return;
    mote_gguf_close(lo->base);
    mote__free(lo->slots);
    mote__free(lo->params);
    mote__free(lo->grads);
    mote__free(lo->deq);
    mote__free(lo->u_store);
    mote__free(lo->du);
    mote__free(lo->bt);
    mote__free(lo);
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

mote_status mote__tr_lora_new(mote_tr_model *m, const char *base_path, int32_t rank, float alpha,
                              unsigned targets, uint64_t seed, mote_tr_lora **out, mote_error *err) {
    *out = NULL;
    const mote_tr_shape *sh = mote__tr_model_shape(m);
    if (!targets || targets >= (1u << MOTE_TR_N_MATS))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "no LoRA target given");
    if (!(alpha > 0.0f) || !(alpha < 1e6f))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "LoRA alpha %g must be positive", (double)alpha);
    const int64_t C = sh->n_embd, F = sh->n_ff, hd = sh->n_embd / sh->n_head;
    const int64_t qd = hd * sh->n_head, kvd = hd * sh->n_head_kv;
    const int64_t dims[MOTE_TR_N_MATS][2] = {{C, qd}, {C, kvd}, {C, kvd}, {qd, C},
                                            {C, F},  {C, F},   {F, C}};
    for (int k = 0; k < MOTE_TR_N_MATS; k++) {
        int64_t lim = dims[k][0] < dims[k][1] ? dims[k][0] : dims[k][1];
        if ((targets >> k & 1) && (rank < 1 || rank > lim))
            return mote__err(err, MOTE_ERR_INVALID_ARG,
                             "LoRA rank %d is out of range for %s (1..%lld, its smaller side)",
                             (int)rank, mote__tr_mat_names[k], (long long)lim);
    }
    mote_tr_lora *lo = mote__calloc(1, sizeof *lo);
    if (!lo) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    lo->n_layer = sh->n_layer;
    lo->rank = rank;
    lo->alpha = alpha;
    lo->scale = alpha / (float)rank;
    lo->targets = targets;
    mote_status s = mote_gguf_open(base_path, &lo->base, err);
    if (s) goto fail;
    lo->slots = mote__calloc((size_t)sh->n_layer * MOTE_TR_N_MATS, sizeof(tr_slot));
    if (!lo->slots) goto nomem;
    size_t max_deq = 0, n_params = 0;
    int64_t max_oc = 1;
    for (int32_t l = 0; l < sh->n_layer; l++)
        for (int k = 0; k < MOTE_TR_N_MATS; k++) {
            tr_slot *sl = &lo->slots[l * MOTE_TR_N_MATS + k];
            char name[96];
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, mote__tr_mat_names[k]);
            sl->w = mote__gguf_find_tensor(lo->base, name);
            sl->IC = dims[k][0];
            sl->OC = dims[k][1];
            const mote_type_traits *tr = sl->w ? mote__type_traits(sl->w->type) : NULL;
            uint64_t rb = 0;
            /* mote__tr_model_load_frozen checked these on the same path;
             * checked again in case the file changed in between */
            if (!sl->w || sl->w->n_dims != 2 || sl->w->ne[0] != sl->IC || sl->w->ne[1] != sl->OC ||
                !tr || !tr->dequantize_ref ||
                !mote__type_row_bytes(sl->w->type, (uint64_t)sl->IC, &rb)) {
                s = mote__err(err, MOTE_ERR_FORMAT,
                              "%s: tensor %s is missing or has another shape or type than the "
                              "model it was loaded as", base_path, name);
                goto fail;
            }
            sl->row_bytes = (size_t)rb;
            if (sl->w->type != MOTE_TYPE_F32 && (size_t)(sl->IC * sl->OC) > max_deq)
                max_deq = (size_t)(sl->IC * sl->OC);
            if (targets >> k & 1) {
                n_params += (size_t)rank * (size_t)(sl->IC + sl->OC);
                if (sl->OC > max_oc) max_oc = sl->OC;
            }
        }
    lo->n_params = n_params;
    lo->params = mote__calloc(n_params, sizeof(float));
    lo->grads = mote__calloc(n_params, sizeof(float));
    lo->bt = mote__calloc((size_t)rank * (size_t)max_oc, sizeof(float));
    if (!lo->params || !lo->grads || !lo->bt) goto nomem;
    if (max_deq && !(lo->deq = mote__calloc(max_deq, sizeof(float)))) goto nomem;
    /* views, and A's initial values (B stays zero) */
    float *p = lo->params, *g = lo->grads;
    size_t u_off = 0;
    uint64_t rng = seed ^ 0x6c6f7261u; /* "lora" */
    for (int32_t i = 0; i < sh->n_layer * MOTE_TR_N_MATS; i++) {
        tr_slot *sl = &lo->slots[i];
        if (!(targets >> (i % MOTE_TR_N_MATS) & 1)) continue;
        const size_t na = (size_t)rank * (size_t)sl->IC, nb = (size_t)sl->OC * (size_t)rank;
        sl->A = p, sl->dA = g, p += na, g += na;
        sl->B = p, sl->dB = g, p += nb, g += nb;
        const double bound = 1.0 / sqrt((double)sl->IC);
        for (size_t j = 0; j < na; j++)
            sl->A[j] = (float)(bound * (2.0 * ((double)(splitmix(&rng) >> 11) / 9007199254740992.0) - 1.0));
        sl->u_off = u_off;
        u_off += (size_t)rank;
    }
    lo->u_per_pos = u_off;
    mote__tr_model_set_lora(m, lo);
    *out = lo;
    return MOTE_OK;
nomem:
    s = mote__err(err, MOTE_ERR_NOMEM, "out of memory for the LoRA adapters");
fail:
    mote__tr_lora_free(lo);
    return s;
}

size_t mote__tr_lora_n_params(const mote_tr_lora *lo) { return lo->n_params; }
float *mote__tr_lora_params(mote_tr_lora *lo) { return lo->params; }
float *mote__tr_lora_grads(mote_tr_lora *lo) { return lo->grads; }

mote_status mote__tr_lora_reserve(mote_tr_lora *lo, int64_t N, mote_error *err) {
    if (N == lo->act_N) return MOTE_OK;
    mote__free(lo->u_store);
    mote__free(lo->du);
    lo->act_N = 0;
    lo->u_store = mote__calloc((size_t)N * (lo->u_per_pos ? lo->u_per_pos : 1), sizeof(float));
    lo->du = mote__calloc((size_t)N * (size_t)lo->rank, sizeof(float));
    if (!lo->u_store || !lo->du)
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory for the LoRA activations of %lld positions",
                         (long long)N);
    lo->act_N = N;
    return MOTE_OK;
}

/* ---- the base matrix as f32 ---- */

typedef struct deq_job {
    const tr_slot *sl;
    float *dst;
    mote_dequantize_fn fn;
} deq_job;

static void deq_rows(void *ctx, int64_t r0, int64_t r1, int tid) {
    const deq_job *j = ctx;
    (void)tid;
    const uint8_t *src = (const uint8_t *)j->sl->w->data;
    for (int64_t r = r0; r < r1; r++)
        j->fn(src + (size_t)r * j->sl->row_bytes, j->dst + r * j->sl->IC, j->sl->IC);
}

/* W (OC, IC) row-major f32: the mapping itself for an F32 file, else the
 * rows dequantized into lo->deq (split over the threads). */
static const float *base_f32(mote_tr_lora *lo, const tr_slot *sl, mote_threadpool *tp) {
    if (sl->w->type == MOTE_TYPE_F32) return (const float *)sl->w->data;
    const mote_kernel_table *kt = mote__kernels_for(sl->w->type);
    deq_job j = {sl, lo->deq,
                 kt && kt->dequantize ? kt->dequantize : mote__type_traits(sl->w->type)->dequantize_ref};
    mote__tr_parallel(sl->OC, 16, tp, deq_rows, &j);
    return lo->deq;
}

/* ---- forward and backward ---- */

void mote__tr_lora_fwd(mote_tr_lora *lo, int32_t l, int k, float *out, const float *inp, int64_t N,
                       float *work, mote_threadpool *tp) {
    const tr_slot *sl = &lo->slots[l * MOTE_TR_N_MATS + k];
    const int64_t IC = sl->IC, OC = sl->OC, r = lo->rank;
    mote__tr_matmul_fwd(out, inp, base_f32(lo, sl, tp), N, IC, OC, work, tp);
    if (!sl->A) return;
    /* u (N, r) = s inp @ A^T, kept for backward */
    float *u = lo->u_store + sl->u_off * (size_t)N;
    mote__tr_matmul_fwd(u, inp, sl->A, N, IC, r, work, tp);
    for (int64_t i = 0; i < N * r; i++) u[i] *= lo->scale;
    /* out (N, OC) += u @ B^T, with B^T (r, OC) in bt */
    for (int64_t o = 0; o < OC; o++)
        for (int64_t j = 0; j < r; j++) lo->bt[j * OC + o] = sl->B[o * r + j];
    mote__tr_gemm(out, u, lo->bt, N, r, OC, r, OC, OC, tp);
}

void mote__tr_lora_bwd(mote_tr_lora *lo, int32_t l, int k, bool set, float *dinp,
                       const float *dout, const float *inp, int64_t N, float *work,
                       mote_threadpool *tp) {
    const tr_slot *sl = &lo->slots[l * MOTE_TR_N_MATS + k];
    const int64_t IC = sl->IC, OC = sl->OC, r = lo->rank;
    const float *W = base_f32(lo, sl, tp);
    if (set) mote__tr_matmul_bwd_set(dinp, NULL, dout, inp, W, N, IC, OC, work, tp);
    else mote__tr_matmul_bwd(dinp, NULL, dout, inp, W, N, IC, OC, work, tp);
    if (!sl->A) return;
    /* the second product, out += u @ B^T: du = dout @ B, dB += dout^T @ u */
    const float *u = lo->u_store + sl->u_off * (size_t)N;
    mote__tr_matmul_bwd_set(lo->du, sl->dB, dout, u, sl->B, N, r, OC, work, tp);
    /* the first, u = s inp @ A^T: dinp += s du @ A, dA += s du^T @ inp */
    for (int64_t i = 0; i < N * r; i++) lo->du[i] *= lo->scale;
    mote__tr_matmul_bwd(dinp, sl->dA, lo->du, inp, sl->A, N, IC, r, work, tp);
}

/* ---- saving ---- */

mote_status mote__tr_lora_save(const mote_tr_lora *lo, const char *path, mote_error *err) {
    mote_gguf_writer *w = mote__gguf_writer_new();
    if (!w) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    mote_status st;
    if ((st = mote__gguf_set_str(w, "general.architecture", "llama")) ||
        (st = mote__gguf_set_str(w, "general.type", "adapter")) ||
        (st = mote__gguf_set_str(w, "general.name", "mote LoRA adapter")) ||
        (st = mote__gguf_set_str(w, "adapter.type", "lora")) ||
        (st = mote__gguf_set_f32(w, "adapter.lora.alpha", lo->alpha))) {
        mote__err(err, st, "out of memory writing %s", path);
        goto done;
    }
    for (int32_t i = 0; i < lo->n_layer * MOTE_TR_N_MATS; i++) {
        const tr_slot *sl = &lo->slots[i];
        if (!sl->A) continue;
        char name[128];
        const int64_t ne_a[2] = {sl->IC, lo->rank}, ne_b[2] = {lo->rank, sl->OC};
        snprintf(name, sizeof name, "%s.lora_a", sl->w->name);
        if ((st = mote__gguf_add_tensor(w, name, MOTE_TYPE_F32, 2, ne_a, sl->A, err))) goto done;
        snprintf(name, sizeof name, "%s.lora_b", sl->w->name);
        if ((st = mote__gguf_add_tensor(w, name, MOTE_TYPE_F32, 2, ne_b, sl->B, err))) goto done;
    }
    st = mote__gguf_write(w, path, err);
done:
    mote__gguf_writer_free(w);
    return st;
}
