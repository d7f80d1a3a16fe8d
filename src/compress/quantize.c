/* quantize.c — whole-model quantization (mote_quantize_model of mote.h,
 * `mote quantize`): choose each tensor's type, optionally fold AWQ scales
 * in, quantize the rows on a thread pool and stream the new GGUF out.
 *
 * Types: a plain type puts every matrix in that type; a preset follows
 * llama.cpp's mixes for dense Llama-like models (llama_tensor_get_type in
 * llama-quant.cpp; mote's own code from its published rules): output.weight
 * in q6_K (q8_0 for the Q8_0 preset or rows that do not fit 256), and for
 * attn_v, ffn_down and attn_output more bits in some layers:
 *   Q2_K    attn_v q4_K (q3_K when fewer than 4 query heads share a KV head),
 *           ffn_down q3_K, attn_output q3_K
 *   Q3_K_M  attn_v q5_K in blocks 0-1 else q4_K, ffn_down q5_K in the
 *           first 1/16 of blocks else q4_K, attn_output q4_K
 *   Q3_K_L  attn_v, ffn_down q5_K, attn_output q5_K
 *   Q4_K_S  attn_v q5_K in blocks 0-3, ffn_down q5_K in the first 1/8
 *   Q4_K_M, Q5_K_M  attn_v and ffn_down q6_K where use_more_bits (the first
 *           and last 1/8 of blocks and every third between)
 *   IQ4_NL  attn_v q5_K with >= 4 query heads per KV head; ffn_down q5_K in
 *           the first 1/8 without an imatrix
 *   Q4_0, Q5_0  with an imatrix, ffn_down q4_1 / q5_1 in the first 1/8
 *   TQ1_0, TQ2_0  token_embd q4_K
 * Then every matrix whose rows do not fit its type's blocks falls back, as
 * llama.cpp does (tq -> q4_0; q2_K, q3_K -> iq4_nl; q4_K -> q5_0; q5_K ->
 * q5_1; q6_K -> q8_0), and to f16 when even that does not fit (llama.cpp
 * stops there for the 32-block types; mote goes on).
 *
 * Rows: each matrix is read (dequantized to f32 if it is not f32), scaled by
 * AWQ when asked, checked for NaN/Inf, and quantized with the type's
 * quantize_w (with the tensor's imatrix entry) in slabs of rows split over
 * the threads; the GGUF writer pulls the bytes row by row, so memory holds
 * one slab. Everything else (norms, non-matrix tensors, matrices already in
 * the chosen type) is copied byte for byte from the mapping.
 *
 * Not here: the quantizers (src/tensor), the imatrix collection and file
 * (imatrix.c), the AWQ search (awq.c).
 */
#include "compress.h"
#include "../core/threadpool.h"
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- types and presets ---- */

/* llama.cpp's llama_ftype values written to general.file_type. */
enum {
    FT_ALL_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9,
    FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15,
    FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_IQ4_NL = 25, FT_BF16 = 32, FT_TQ1_0 = 36,
    FT_TQ2_0 = 37
};

typedef struct preset {
    const char *name;
    uint32_t ftype;
    uint32_t base; /* the type of most matrices */
} preset;

static const preset g_presets[] = {
    {"F32", FT_ALL_F32, MOTE_TYPE_F32},   {"F16", FT_F16, MOTE_TYPE_F16},
    {"BF16", FT_BF16, MOTE_TYPE_BF16},    {"Q8_0", FT_Q8_0, MOTE_TYPE_Q8_0},
    {"Q4_0", FT_Q4_0, MOTE_TYPE_Q4_0},    {"Q4_1", FT_Q4_1, MOTE_TYPE_Q4_1},
    {"Q5_0", FT_Q5_0, MOTE_TYPE_Q5_0},    {"Q5_1", FT_Q5_1, MOTE_TYPE_Q5_1},
    {"Q2_K", FT_Q2_K, MOTE_TYPE_Q2_K},    {"Q3_K_S", FT_Q3_K_S, MOTE_TYPE_Q3_K},
    {"Q3_K_M", FT_Q3_K_M, MOTE_TYPE_Q3_K}, {"Q3_K_L", FT_Q3_K_L, MOTE_TYPE_Q3_K},
    {"Q4_K_S", FT_Q4_K_S, MOTE_TYPE_Q4_K}, {"Q4_K_M", FT_Q4_K_M, MOTE_TYPE_Q4_K},
    {"Q5_K_S", FT_Q5_K_S, MOTE_TYPE_Q5_K}, {"Q5_K_M", FT_Q5_K_M, MOTE_TYPE_Q5_K},
    {"Q6_K", FT_Q6_K, MOTE_TYPE_Q6_K},    {"IQ4_NL", FT_IQ4_NL, MOTE_TYPE_IQ4_NL},
    {"TQ1_0", FT_TQ1_0, MOTE_TYPE_TQ1_0}, {"TQ2_0", FT_TQ2_0, MOTE_TYPE_TQ2_0},
};
#define N_PRESETS ((int)(sizeof g_presets / sizeof g_presets[0]))

/* The types a whole model may be quantized to (weights, not the activation
 * types q8_1 / q8_K). */
static const uint32_t g_plain[] = {
    MOTE_TYPE_F32,  MOTE_TYPE_F16,  MOTE_TYPE_BF16, MOTE_TYPE_Q8_0, MOTE_TYPE_Q4_0,  MOTE_TYPE_Q4_1,
    MOTE_TYPE_Q5_0, MOTE_TYPE_Q5_1, MOTE_TYPE_Q2_K, MOTE_TYPE_Q3_K, MOTE_TYPE_Q4_K,  MOTE_TYPE_Q5_K,
    MOTE_TYPE_Q6_K, MOTE_TYPE_IQ4_NL, MOTE_TYPE_TQ1_0, MOTE_TYPE_TQ2_0};
#define N_PLAIN ((int)(sizeof g_plain / sizeof g_plain[0]))

const char *mote_quantize_type_names(void) {
    return "f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K iq4_nl tq1_0 tq2_0";
}

const char *mote_quantize_preset_names(void) {
    return "F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S "
           "Q5_K_M Q6_K IQ4_NL TQ1_0 TQ2_0";
}

/* llama_ftype of a model all in `type` (plain types). */
static int file_type_of(uint32_t type) {
    switch (type) {
    case MOTE_TYPE_F32: return FT_ALL_F32;
    case MOTE_TYPE_F16: return FT_F16;
    case MOTE_TYPE_BF16: return FT_BF16;
    case MOTE_TYPE_Q4_0: return FT_Q4_0;
    case MOTE_TYPE_Q4_1: return FT_Q4_1;
    case MOTE_TYPE_Q8_0: return FT_Q8_0;
    case MOTE_TYPE_Q5_0: return FT_Q5_0;
    case MOTE_TYPE_Q5_1: return FT_Q5_1;
    case MOTE_TYPE_Q2_K: return FT_Q2_K;
    case MOTE_TYPE_Q3_K: return FT_Q3_K_S;
    case MOTE_TYPE_Q4_K: return FT_Q4_K_S;
    case MOTE_TYPE_Q5_K: return FT_Q5_K_S;
    case MOTE_TYPE_Q6_K: return FT_Q6_K;
    case MOTE_TYPE_IQ4_NL: return FT_IQ4_NL;
    case MOTE_TYPE_TQ1_0: return FT_TQ1_0;
    case MOTE_TYPE_TQ2_0: return FT_TQ2_0;
    default: return -1;
    }
}

/* A plain type by name: exact GGML spelling first, then any case. */
static int plain_type(const char *name, bool any_case) {
    for (int i = 0; i < N_PLAIN; i++) {
        const char *tn = mote__type_name(g_plain[i]);
        if (any_case ? strcasecmp(tn, name) == 0 : strcmp(tn, name) == 0) return (int)g_plain[i];
    }
    return -1;
}

static mote_status unknown_type(const char *what, const char *name, mote_error *err) {
    return mote__err(err, MOTE_ERR_INVALID_ARG, "unknown %s '%s' (types: %s; presets: %s)", what,
                     name, mote_quantize_type_names(), mote_quantize_preset_names());
}

/* ---- the plan: one entry per tensor ---- */

typedef struct qjob qjob;

typedef struct qtensor {
    qjob *job;
    const mote_gguf_tensor *src;
    int32_t index;
    uint32_t type;            /* output type */
    int64_t n_cols, n_rows;
    size_t row_bytes;
    bool convert;             /* false: bytes copied from the input */
    bool fallback;
    int32_t layer;            /* blk.N (-1 otherwise) */
    char kind[24];            /* "attn_q", "ffn_norm", ... ("" otherwise) */
    const float *imatrix;     /* importance (n_cols), owned by the imatrix or by imat_own */
    float *imat_own;          /* an AWQ-adjusted copy */
    const float *col_mul;     /* AWQ: column j times col_mul[j] (n_cols) */
    const float *col_div;     /* AWQ: element j divided by col_div[j] (norm vectors) */
    const float *row_div;     /* AWQ: row r divided by row_div[r] (n_rows) */
    char note[200];
    char pname[64];           /* the name fit for messages (mote__printable) */
} qtensor;

struct qjob {
    const mote_quantize_params *p;
    mote_gguf *in;
    qtensor *t;
    int32_t n_t;
    mote_threadpool *tp;
    /* the slab being served to the writer */
    float *slab_f32;
    uint8_t *slab_out;
    int64_t slab_cap_rows;
    int64_t slab_r0, slab_r1;
    uint64_t bytes_out;
};

/* Quantized matrices: named "*weight", at least 2-D, not a norm. */
static bool is_matrix(const mote_gguf_tensor *t) {
    size_t n = strlen(t->name);
    return t->n_dims >= 2 && n >= 6 && strcmp(t->name + n - 6, "weight") == 0 &&
           strstr(t->name, "_norm.weight") == NULL;
}

/* "blk.N.KIND.weight" -> (N, KIND); else layer -1, kind "". */
static void parse_name(const char *name, int32_t *layer, char *kind, size_t cap) {
    *layer = -1;
    kind[0] = '\0';
    int l, off = 0;
    if (sscanf(name, "blk.%d.%n", &l, &off) == 1 && off > 0 && l >= 0) {
        const char *rest = name + off, *dot = strstr(rest, ".weight");
        size_t len = dot ? (size_t)(dot - rest) : strlen(rest);
        if (len < cap && dot && strcmp(dot, ".weight") == 0) {
            memcpy(kind, rest, len);
            kind[len] = '\0';
            *layer = l;
        }
    }
}

typedef struct mixinfo {
    bool preset;          /* a preset's mix applies (not pure, quantized base) */
    uint32_t ftype, base;
    int out_type, embd_type; /* -1: none given */
    bool has_imatrix, has_output;
    int32_t n_layer, n_gqa;
} mixinfo;

static bool use_more_bits(int32_t i, int32_t n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The preset's type for a matrix (before the fallback for row width). */
static uint32_t mix_type(const mixinfo *mi, const qtensor *q) {
    const uint32_t ft = mi->ftype;
    const int32_t i = q->layer, n = mi->n_layer;
    const char *k = q->kind;
    if (!strcmp(k, "attn_v")) {
        if (ft == FT_Q2_K) return mi->n_gqa >= 4 ? MOTE_TYPE_Q4_K : MOTE_TYPE_Q3_K;
        if (ft == FT_Q3_K_M) return i < 2 ? MOTE_TYPE_Q5_K : MOTE_TYPE_Q4_K;
        if (ft == FT_Q3_K_L) return MOTE_TYPE_Q5_K;
        if (ft == FT_IQ4_NL && mi->n_gqa >= 4) return MOTE_TYPE_Q5_K;
        if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(i, n)) return MOTE_TYPE_Q6_K;
        if (ft == FT_Q4_K_S && i < 4) return MOTE_TYPE_Q5_K;
    } else if (!strcmp(k, "ffn_down")) {
        if (ft == FT_Q2_K) return MOTE_TYPE_Q3_K;
        if (ft == FT_Q3_K_M) return i < n / 16 ? MOTE_TYPE_Q5_K : MOTE_TYPE_Q4_K;
        if (ft == FT_Q3_K_L) return MOTE_TYPE_Q5_K;
        if (ft == FT_Q4_K_M && use_more_bits(i, n)) return MOTE_TYPE_Q6_K;
        if (ft == FT_IQ4_NL && i < n / 8 && !mi->has_imatrix) return MOTE_TYPE_Q5_K;
        if (ft == FT_Q5_K_M && use_more_bits(i, n)) return MOTE_TYPE_Q6_K;
        if (ft == FT_Q4_K_S && i < n / 8) return MOTE_TYPE_Q5_K;
        if ((ft == FT_Q4_0 || ft == FT_Q5_0) && mi->has_imatrix && i < n / 8)
            return ft == FT_Q4_0 ? MOTE_TYPE_Q4_1 : MOTE_TYPE_Q5_1;
    } else if (!strcmp(k, "attn_output")) {
        if (ft == FT_Q2_K) return MOTE_TYPE_Q3_K;
        if (ft == FT_Q3_K_M) return MOTE_TYPE_Q4_K;
        if (ft == FT_Q3_K_L) return MOTE_TYPE_Q5_K;
    }
    return mi->base;
}

/* The type one step down the fallback chain for rows that do not fit. */
static uint32_t fallback_of(uint32_t type) {
    switch (type) {
    case MOTE_TYPE_TQ1_0:
    case MOTE_TYPE_TQ2_0: return MOTE_TYPE_Q4_0;
    case MOTE_TYPE_Q2_K:
    case MOTE_TYPE_Q3_K: return MOTE_TYPE_IQ4_NL;
    case MOTE_TYPE_Q4_K: return MOTE_TYPE_Q5_0;
    case MOTE_TYPE_Q5_K: return MOTE_TYPE_Q5_1;
    case MOTE_TYPE_Q6_K: return MOTE_TYPE_Q8_0;
    default: return MOTE_TYPE_F16;
    }
}

static void note_add(qtensor *q, const char *fmt, ...) MOTE_PRINTF(2, 3);
static void note_add(qtensor *q, const char *fmt, ...) {
    size_t len = strlen(q->note);
    if (len && len + 2 < sizeof q->note) {
        memcpy(q->note + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->note + len, sizeof q->note - len, fmt, ap);
    va_end(ap);
}

/* Choose q's output type. */
static void plan_type(const mixinfo *mi, qtensor *q) {
    const mote_gguf_tensor *t = q->src;
    if (!is_matrix(t)) {
        q->type = t->type;
        return;
    }
    const char *name = t->name;
    bool is_output = !strcmp(name, "output.weight");
    bool is_embd = !strcmp(name, "token_embd.weight");
    uint32_t type = mi->base;
    if (mi->preset) type = mix_type(mi, q);
    if (is_output || (is_embd && !mi->has_output)) {
        /* output.weight, or the token embedding standing in for it */
        if (mi->out_type >= 0) type = (uint32_t)mi->out_type;
        else if (mi->preset)
            type = mi->ftype == FT_Q8_0 || q->n_cols % MOTE_QK_K != 0 ? MOTE_TYPE_Q8_0 : MOTE_TYPE_Q6_K;
    } else if (is_embd) {
        if (mi->embd_type >= 0) type = (uint32_t)mi->embd_type;
        else if (mi->preset && (mi->ftype == FT_TQ1_0 || mi->ftype == FT_TQ2_0)) type = MOTE_TYPE_Q4_K;
    }
    const mote_type_traits *tr = mote__type_traits(type);
    if (q->n_cols % tr->block_size != 0) {
        /* name every type tried: "q4_K (blocks of 256) nor q5_0 (32)" */
        char tried[96];
        int len = snprintf(tried, sizeof tried, "%s (blocks of %lld)", tr->name, (long long)tr->block_size);
        for (;;) {
            type = fallback_of(type);
            const mote_type_traits *tf = mote__type_traits(type);
            if (q->n_cols % tf->block_size == 0) break;
            if (len > 0 && (size_t)len < sizeof tried)
                len += snprintf(tried + len, sizeof tried - (size_t)len, " nor %s (%lld)", tf->name,
                                (long long)tf->block_size);
        }
        q->fallback = true;
        note_add(q, "fallback: rows of %lld do not fit %s: %s", (long long)q->n_cols, tried,
                 mote__type_name(type));
    }
    q->type = type;
}

/* ---- AWQ: transforms of each tensor, and the search's view of the plan ---- */

static qtensor *find_q(qjob *job, int32_t layer, const char *kind) {
    for (int32_t i = 0; i < job->n_t; i++)
        if (job->t[i].layer == layer && !strcmp(job->t[i].kind, kind)) return &job->t[i];
    return NULL;
}

static const char *const g_kind_name[MOTE_MAT_OUTPUT] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

/* mote_awq_target_fn over the plan. */
static mote_awq_target awq_target(void *user, int32_t layer, int kind) {
    qjob *job = user;
    qtensor *q = find_q(job, layer, g_kind_name[kind]);
    mote_awq_target tg = {MOTE_TYPE_F32, NULL};
    if (q) {
        tg.type = q->type;
        tg.imatrix = q->imatrix;
    }
    return tg;
}

/* Attach the AWQ scales to the tensors they change. */
static mote_status apply_awq(qjob *job, const mote_awq *a, mote_error *err) {
    for (int32_t l = 0; l < a->n_layer; l++) {
        const mote_awq_layer *al = &a->layers[l];
        struct { const char *kind; int group; int how; } uses[] = {
            {"attn_norm", MOTE_AWQ_ATTN, 0}, {"attn_q", MOTE_AWQ_ATTN, 1}, {"attn_k", MOTE_AWQ_ATTN, 1},
            {"attn_v", MOTE_AWQ_ATTN, 1},    {"attn_v", MOTE_AWQ_O, 2},    {"attn_output", MOTE_AWQ_O, 1},
            {"ffn_norm", MOTE_AWQ_FFN, 0},   {"ffn_gate", MOTE_AWQ_FFN, 1}, {"ffn_up", MOTE_AWQ_FFN, 1},
            {"ffn_up", MOTE_AWQ_DOWN, 2},    {"ffn_down", MOTE_AWQ_DOWN, 1}};
        for (size_t u = 0; u < sizeof uses / sizeof uses[0]; u++) {
            const float *s = al->s[uses[u].group];
            if (!s) continue;
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, uses[u].kind);
            qtensor *q = NULL;
            for (int32_t i = 0; i < job->n_t && !q; i++)
                if (!strcmp(job->t[i].src->name, name)) q = &job->t[i];
            if (!q)
                return mote__err(err, MOTE_ERR_FORMAT, "awq: the model has no tensor %s", name);
            if (q->src->n_dims > 2 || (uses[u].how == 0 && q->src->n_dims != 1))
                return mote__err(err, MOTE_ERR_FORMAT, "awq: tensor %s has an unexpected shape", name);
            if (uses[u].how == 0) q->col_div = s;
            else if (uses[u].how == 1) q->col_mul = s;
            else q->row_div = uses[u].group == MOTE_AWQ_O ? al->s_kv : s;
            q->convert = true;
            /* the scaled input has mean square imatrix_j / s_j^2 */
            if (uses[u].how == 1 && q->imatrix) {
                if (!(q->imat_own = mote__malloc((size_t)q->n_cols * sizeof(float))))
                    return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
                for (int64_t j = 0; j < q->n_cols; j++) q->imat_own[j] = q->imatrix[j] / (s[j] * s[j]);
                q->imatrix = q->imat_own;
            }
        }
        for (int g = 0; g < MOTE_AWQ_GROUPS; g++) {
            static const char *const gname[MOTE_AWQ_GROUPS] = {"attn_q/k/v", "attn_output", "ffn_gate/up", "ffn_down"};
            static const char *const kinds[MOTE_AWQ_GROUPS] = {"attn_q", "attn_output", "ffn_gate", "ffn_down"};
            if (!al->s[g]) continue;
            qtensor *q = find_q(job, l, kinds[g]);
            double gain = al->err_rtn[g] > 0.0 ? 100.0 * (1.0 - al->err_awq[g] / al->err_rtn[g]) : 0.0;
            if (q) note_add(q, "awq alpha %.2f (%s output error -%.1f%%)", (double)al->alpha[g], gname[g], gain);
        }
    }
    return MOTE_OK;
}

/* ---- rows ---- */

typedef struct slab_task {
    qtensor *q;
    int64_t r0, r1;                 /* rows of the tensor in this slab */
    int64_t bad_row[MOTE_MAX_THREADS], bad_col[MOTE_MAX_THREADS];
} slab_task;

/* Every thread: its share of the slab's rows, to f32, scaled, checked,
 * quantized. */
static void slab_rows(void *arg, int ith, int nth) {
    slab_task *st = arg;
    qtensor *q = st->q;
    qjob *job = q->job;
    const mote_type_traits *tin = mote__type_traits(q->src->type);
    const mote_type_traits *tout = mote__type_traits(q->type);
    uint64_t in_rb = 0;
    mote__type_row_bytes(q->src->type, (uint64_t)q->n_cols, &in_rb); /* validated by the reader */
    int64_t lo, hi;
    mote__split_range(st->r1 - st->r0, ith, nth, &lo, &hi);
    st->bad_row[ith] = -1;
    st->bad_col[ith] = -1;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t r = st->r0 + i;
        float *x = job->slab_f32 + (size_t)i * q->n_cols;
        tin->dequantize_ref((const uint8_t *)q->src->data + (size_t)r * in_rb, x, q->n_cols);
        int64_t bad;
        if (st->bad_row[ith] < 0 && mote__row_has_nonfinite(x, q->n_cols, &bad)) {
            st->bad_row[ith] = r;
            st->bad_col[ith] = bad;
        }
        if (q->col_mul)
            for (int64_t j = 0; j < q->n_cols; j++) x[j] *= q->col_mul[j];
        if (q->col_div)
            for (int64_t j = 0; j < q->n_cols; j++) x[j] /= q->col_div[j];
        if (q->row_div) {
            const float d = q->row_div[r];
            for (int64_t j = 0; j < q->n_cols; j++) x[j] /= d;
        }
    }
    if (hi > lo)
        tout->quantize_w(job->slab_f32 + (size_t)lo * q->n_cols, job->slab_out + (size_t)lo * q->row_bytes,
                         hi - lo, q->n_cols, q->imatrix);
}

static void report(qtensor *q, int64_t rows_done) {
    const mote_quantize_params *p = q->job->p;
    if (!p->progress) return;
    const mote_gguf_tensor *t = q->src;
    mote_quantize_progress pr = {
        .index = q->index, .n_tensors = q->job->n_t, .name = q->pname,
        .type_in = mote__type_name(t->type), .type_out = mote__type_name(q->type),
        .n_dims = t->n_dims, .bytes_in = t->nbytes,
        .bytes_out = (uint64_t)q->row_bytes * (uint64_t)q->n_rows,
        .rows_done = rows_done, .n_rows = q->n_rows, .note = q->note};
    for (int d = 0; d < 4; d++) pr.ne[d] = t->ne[d];
    p->progress(p->progress_user, &pr);
}

/* mote_gguf_row_fn: row `row` of tensor q, computing a new slab when the
 * row is not in the current one. */
static mote_status emit_row(void *user, int64_t row, void *dst, size_t row_bytes, mote_error *err) {
    qtensor *q = user;
    qjob *job = q->job;
    if (row == 0) report(q, 0);
    if (!q->convert) {
        memcpy(dst, (const uint8_t *)q->src->data + (size_t)row * row_bytes, row_bytes);
        /* float tensors copied as they are are checked all the same */
        if (row_bytes == (size_t)q->n_cols * 4 && q->src->type == MOTE_TYPE_F32) {
            int64_t bad;
            if (mote__row_has_nonfinite(dst, q->n_cols, &bad))
                return mote__err(err, MOTE_ERR_FORMAT,
                                 "tensor %s: element [%lld, %lld] is not finite (%g): refusing to "
                                 "write a model with NaN/Inf weights",
                                 q->pname, (long long)row, (long long)bad,
                                 (double)((const float *)dst)[bad]);
        }
    } else {
        if (row < job->slab_r0 || row >= job->slab_r1) {
            slab_task st = {.q = q, .r0 = row, .r1 = row + job->slab_cap_rows};
            if (st.r1 > q->n_rows) st.r1 = q->n_rows;
            mote__threadpool_run(job->tp, slab_rows, &st);
            for (int i = 0; i < mote__threadpool_n_threads(job->tp); i++) {
                if (st.bad_row[i] >= 0) {
                    float v = job->slab_f32[(size_t)(st.bad_row[i] - st.r0) * q->n_cols + st.bad_col[i]];
                    job->slab_r0 = job->slab_r1 = 0;
                    return mote__err(err, MOTE_ERR_FORMAT,
                                     "tensor %s: element [%lld, %lld] is not finite (%s): refusing "
                                     "to quantize NaN/Inf weights",
                                     q->pname, (long long)st.bad_row[i], (long long)st.bad_col[i],
                                     isnan(v) ? "nan" : "inf");
                }
            }
            job->slab_r0 = st.r0;
            job->slab_r1 = st.r1;
            if (row > 0) report(q, row);
        }
        memcpy(dst, job->slab_out + (size_t)(row - job->slab_r0) * row_bytes, row_bytes);
    }
    job->bytes_out += row_bytes;
    if (row + 1 == q->n_rows) {
        job->slab_r0 = job->slab_r1 = 0; /* the next tensor starts a new slab */
        report(q, q->n_rows);
    }
    return MOTE_OK;
}

/* ---- the whole model ---- */

mote_quantize_params mote_quantize_default_params(void) {
    return (mote_quantize_params){.type = NULL};
}

/* Read "<arch>.<suffix>" as an unsigned integer, or dflt when absent. */
static int64_t arch_u32(const mote_gguf *g, const char *suffix, int64_t dflt) {
    const char *arch;
    uint64_t len;
    if (mote__gguf_find_key(g, "general.architecture") < 0 ||
        mote__gguf_get_str(g, "general.architecture", &arch, &len, NULL) != MOTE_OK || len > 64)
        return dflt;
    char key[160];
    snprintf(key, sizeof key, "%.*s.%s", (int)len, arch, suffix);
    int64_t v;
    if (mote__gguf_find_key(g, key) < 0 || mote__gguf_get_i64(g, key, &v, NULL) != MOTE_OK || v <= 0)
        return dflt;
    return v;
}

/* Parse TYPE (and the --output-type / --token-embedding-type names). */
static mote_status parse_types(const mote_quantize_params *p, mixinfo *mi, uint32_t *ftype,
                               mote_error *err) {
    memset(mi, 0, sizeof *mi);
    mi->out_type = mi->embd_type = -1;
    if (!p->type || !*p->type)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "no type given (types: %s; presets: %s)",
                         mote_quantize_type_names(), mote_quantize_preset_names());
    int t = plain_type(p->type, false);
    if (t >= 0) {
        mi->base = (uint32_t)t;
        *ftype = (uint32_t)file_type_of((uint32_t)t);
    } else {
        const preset *pr = NULL;
        for (int i = 0; i < N_PRESETS && !pr; i++)
            if (strcasecmp(g_presets[i].name, p->type) == 0) pr = &g_presets[i];
        if (pr) {
            mi->base = pr->base;
            *ftype = pr->ftype;
            mi->ftype = pr->ftype;
            mi->preset = !p->pure && mote__type_traits(pr->base)->is_quantized;
        } else if ((t = plain_type(p->type, true)) >= 0) {
            mi->base = (uint32_t)t;
            *ftype = (uint32_t)file_type_of((uint32_t)t);
        } else {
            return unknown_type("type", p->type, err);
        }
    }
    if (p->output_type && (mi->out_type = plain_type(p->output_type, true)) < 0)
        return unknown_type("output type", p->output_type, err);
    if (p->token_embd_type && (mi->embd_type = plain_type(p->token_embd_type, true)) < 0)
        return unknown_type("token embedding type", p->token_embd_type, err);
    return MOTE_OK;
}

/* Forwarders of the AWQ steps to the caller's message callback. */
static void awq_chunk(void *user, int32_t done, int32_t total, double ppl) {
    const mote_quantize_params *p = user;
    char line[128];
    snprintf(line, sizeof line, "awq: calibration chunk %d/%d (perplexity %.3f)", (int)done, (int)total, ppl);
    if (p->message) p->message(p->progress_user, line);
}

static void awq_layer(void *user, int32_t layer, int32_t n_layer, const mote_awq_layer *r) {
    const mote_quantize_params *p = user;
    if (!p->message) return;
    char line[256];
    int len = snprintf(line, sizeof line, "awq: block %d/%d: alpha", (int)layer, (int)n_layer);
    static const char *const gname[MOTE_AWQ_GROUPS] = {"qkv", "o", "gate/up", "down"};
    for (int g = 0; g < MOTE_AWQ_GROUPS && len > 0 && (size_t)len < sizeof line; g++) {
        if (r->err_rtn[g] > 0.0)
            len += snprintf(line + len, sizeof line - (size_t)len, " %s %.2f (error %+.1f%%)", gname[g],
                            (double)r->alpha[g], 100.0 * (r->err_awq[g] / r->err_rtn[g] - 1.0));
        else
            len += snprintf(line + len, sizeof line - (size_t)len, " %s -", gname[g]);
    }
    p->message(p->progress_user, line);
}

mote_status mote_quantize_model(const char *in_path, const char *out_path,
                                const mote_quantize_params *params, mote_quantize_summary *summary,
                                mote_error *err) {
    return mote__quantize_with_awq(in_path, out_path, params, NULL, summary, err);
}

mote_status mote__quantize_with_awq(const char *in_path, const char *out_path,
                                    const mote_quantize_params *params, const mote_awq *given_awq,
                                    mote_quantize_summary *summary, mote_error *err) {
    if (!in_path || !out_path || !params)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "quantize: input, output and parameters are needed");
    const mote_quantize_params *p = params;
    if (p->n_threads < 0 || p->n_threads > MOTE_MAX_THREADS)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "thread count %d is out of range (1..%d, 0 = default)",
                         (int)p->n_threads, MOTE_MAX_THREADS);
    mixinfo mi;
    uint32_t ftype = 0;
    mote_status s = parse_types(p, &mi, &ftype, err);
    if (s) return s;

    qjob job = {.p = p};
    mote_imatrix *im = NULL;
    mote_model *model = NULL;
    mote_awq *awq = NULL;
    mote_gguf_writer *w = NULL;
    if ((s = mote_gguf_open(in_path, &job.in, err))) goto done;
    if (p->imatrix_path && (s = mote__imatrix_read(p->imatrix_path, &im, err))) goto done;

    job.n_t = (int32_t)mote__gguf_n_tensors(job.in);
    if (!(job.t = mote__calloc(job.n_t ? (size_t)job.n_t : 1, sizeof *job.t))) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        goto done;
    }
    mi.has_imatrix = im != NULL;
    mi.has_output = mote__gguf_find_tensor(job.in, "output.weight") != NULL;
    mi.n_layer = (int32_t)arch_u32(job.in, "block_count", 1);
    int64_t n_head = arch_u32(job.in, "attention.head_count", 1);
    mi.n_gqa = (int32_t)(n_head / arch_u32(job.in, "attention.head_count_kv", n_head));

    /* An imatrix made for another model names tensors this one lacks, or
     * gives them another width: refuse it rather than quantize badly. */
    for (int64_t i = 0; im && i < im->n_entries; i++) {
        const mote_gguf_tensor *t = mote__gguf_find_tensor(job.in, im->e[i].name);
        char pn[64];
        mote__printable(im->e[i].name, pn, sizeof pn);
        if (!t) {
            s = mote__err(err, MOTE_ERR_INVALID_ARG,
                          "%s is not for this model: its entry %s names a tensor %s does not have",
                          p->imatrix_path, pn, in_path);
            goto done;
        }
        if (t->ne[0] != im->e[i].n) {
            s = mote__err(err, MOTE_ERR_INVALID_ARG,
                          "%s is not for this model: its entry %s has %lld values, but the tensor's "
                          "rows in %s have %lld",
                          p->imatrix_path, pn, (long long)im->e[i].n, in_path,
                          (long long)t->ne[0]);
            goto done;
        }
    }

    for (int32_t i = 0; i < job.n_t; i++) {
        qtensor *q = &job.t[i];
        q->job = &job;
        q->src = mote__gguf_tensor(job.in, i);
        q->index = i;
        q->n_cols = q->src->ne[0];
        q->n_rows = q->src->ne[1] * q->src->ne[2] * q->src->ne[3];
        mote__printable(q->src->name, q->pname, sizeof q->pname);
        parse_name(q->src->name, &q->layer, q->kind, sizeof q->kind);
        plan_type(&mi, q);
        q->convert = q->type != q->src->type;
        const mote_type_traits *tin = mote__type_traits(q->src->type);
        const mote_type_traits *tout = mote__type_traits(q->type);
        if (q->convert && (!tin->dequantize_ref || !tout->quantize_w)) {
            s = mote__err(err, MOTE_ERR_UNSUPPORTED, "tensor %s: cannot convert %s to %s in this build",
                          q->pname, tin->name, tout->name);
            goto done;
        }
        if (is_matrix(q->src) && tout->is_quantized && im) {
            const mote_imatrix_entry *e = mote__imatrix_find(im, q->src->name);
            if (e) q->imatrix = e->values;
            else if (q->convert) note_add(q, "no imatrix entry");
        }
        if (!q->convert && is_matrix(q->src)) note_add(q, "already %s: copied", tin->name);
    }

    if (given_awq) {
        if (given_awq->n_layer != mi.n_layer) {
            s = mote__err(err, MOTE_ERR_INVALID_ARG, "awq: scales for %d blocks, the model has %d",
                          (int)given_awq->n_layer, (int)mi.n_layer);
            goto done;
        }
        if ((s = apply_awq(&job, given_awq, err))) goto done;
    } else if (p->awq_text_path) {
        if ((s = mote_model_load(in_path, &model, err))) goto done;
        mote_awq_params ap = {
            .calib = {.n_ctx = p->awq_n_ctx > 0 ? p->awq_n_ctx : 256,
                      .n_chunks = p->awq_n_chunks > 0 ? p->awq_n_chunks : 16,
                      .n_threads = p->n_threads, .progress = awq_chunk, .progress_user = (void *)p},
            .n_grid = p->awq_n_grid, .max_rows = p->awq_max_rows,
            .progress = awq_layer, .progress_user = (void *)p};
        if ((s = mote__awq_search(model, p->awq_text_path, &ap, awq_target, &job, &awq, err))) goto done;
        if ((s = apply_awq(&job, awq, err))) goto done;
    }

    /* Output: the input's key/values, then the new file type. */
    if (!(w = mote__gguf_writer_new())) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < mote_gguf_n_kv(job.in); i++)
        if ((s = mote__gguf_set_from(w, job.in, i))) {
            s = mote__err(err, s, "out of memory copying the metadata");
            goto done;
        }
    if ((s = mote__gguf_set_u32(w, "general.quantization_version", 2)) ||
        (s = mote__gguf_set_u32(w, "general.file_type", ftype))) {
        s = mote__err(err, s, "out of memory");
        goto done;
    }
    int64_t max_cols = 1;
    size_t max_rb = 1;
    for (int32_t i = 0; i < job.n_t; i++) {
        qtensor *q = &job.t[i];
        uint64_t rb = 0;
        if (!mote__type_row_bytes(q->type, (uint64_t)q->n_cols, &rb)) {
            s = mote__err(err, MOTE_ERR_INVALID_ARG, "tensor %s: rows of %lld do not fit %s",
                          q->pname, (long long)q->n_cols, mote__type_name(q->type));
            goto done;
        }
        q->row_bytes = (size_t)rb;
        if (q->convert && q->n_cols > max_cols) max_cols = q->n_cols;
        if (q->convert && q->row_bytes > max_rb) max_rb = q->row_bytes;
        if ((s = mote__gguf_add_tensor_rows(w, q->src->name, q->type, q->src->n_dims, q->src->ne,
                                             emit_row, q, err)))
            goto done;
    }
    int nth = p->n_threads > 0 ? p->n_threads : mote__cpu_physical_cores();
    /* A slab of about 32 MiB of f32 rows, at least one row per thread. */
    job.slab_cap_rows = ((int64_t)32 << 20) / (max_cols * 4);
    if (job.slab_cap_rows < nth) job.slab_cap_rows = nth;
    job.slab_f32 = mote__malloc((size_t)job.slab_cap_rows * (size_t)max_cols * sizeof(float));
    job.slab_out = mote__malloc((size_t)job.slab_cap_rows * max_rb);
    if (!job.slab_f32 || !job.slab_out) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory for %lld rows of %lld values",
                      (long long)job.slab_cap_rows, (long long)max_cols);
        goto done;
    }
    if ((s = mote__threadpool_new(nth, &job.tp, err))) goto done;
    if ((s = mote__gguf_write(w, out_path, err))) goto done;

    if (summary) {
        memset(summary, 0, sizeof *summary);
        summary->n_tensors = job.n_t;
        summary->file_type = ftype;
        for (int32_t i = 0; i < job.n_t; i++) {
            const qtensor *q = &job.t[i];
            summary->n_quantized += q->type != q->src->type;
            summary->n_fallback += q->fallback;
            summary->n_elements += (uint64_t)q->n_cols * (uint64_t)q->n_rows;
            summary->bytes_in += q->src->nbytes;
            summary->bytes_out += (uint64_t)q->row_bytes * (uint64_t)q->n_rows;
        }
    }
done:
    mote__threadpool_free(job.tp);
    mote__free(job.slab_f32);
    mote__free(job.slab_out);
    mote__gguf_writer_free(w);
    for (int32_t i = 0; job.t && i < job.n_t; i++) mote__free(job.t[i].imat_own);
    mote__free(job.t);
    mote__awq_free(awq);
    mote_model_free(model);
    mote__imatrix_free(im);
    mote_gguf_close(job.in);
    return s;
}
