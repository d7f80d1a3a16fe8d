/* test_quantize.c — `mote quantize`, `mote imatrix` and AWQ through the
 * library (src/compress/).
 *
 * On the shared stories260K model (a real trained Llama; skipped without
 * ../shared): every plain type is written, read back through the GGUF
 * reader and checked block by block against the type's reference quantizer
 * (quantize_w of src/tensor, which is byte-identical to GGML's) on the
 * source row, tensor types against the fallback rules (ffn_down's rows of
 * 172 fit no block: f16), metadata copied key by key, and the model run:
 * its logits' mean KL divergence from the f32 model's on held-out text
 * (tests/data/quant/heldout.txt, written for these tests) stays under a
 * bound per type. The imatrix collected is checked against the input of
 * blk.0's q/k/v computed here from the embedding and the norm; AWQ's
 * folding with arbitrary scales leaves an f32 model's logits unchanged; and
 * calibrated quantization (the imatrix, alone and with AWQ) must give a
 * lower mean KL than plain round-to-nearest at 4 bits (q4_0) — the figures,
 * AWQ alone's included, are printed as "#" lines. A small synthetic model with 256-wide rows covers the
 * K-quants' blocks and the llama.cpp presets' mixes (the quality of random
 * weights means nothing, only bytes and types are checked there).
 */
#include "mote.h"
#include "test.h"
#include "compress/compress.h"
#include "gguf/gguf_internal.h"
#include <sys/stat.h>
#include <unistd.h>

static char g_model[4200];  /* stories260K, or "" */
static char g_kl_model[4200]; /* the reference of kl_mean (stories260K unless a test changes it) */
static char g_dir[4200];    /* scratch folder under $MOTE_BUILD */
static const char *const CALIB = "tests/data/quant/calib.txt";
static const char *const HELDOUT = "tests/data/quant/heldout.txt";

static void out_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", g_dir, name); }

/* ---- KL divergence of a model's logits from stories260K's ---- */

#define KL_CTX 128
#define KL_CHUNKS_MAX 8

static int32_t g_held[KL_CHUNKS_MAX * KL_CTX];
static int g_n_chunks;          /* chunks of held-out text (BOS + KL_CTX - 1 tokens) */
static float *g_ref_logits;     /* (g_n_chunks * KL_CTX, n_vocab) of the f32 model */
static int32_t g_n_vocab;

/* Evaluate `path` over the first n_chunks held-out chunks into logits. */
static bool eval_chunks(const char *path, int n_chunks, float *logits) {
    mote_model *m = NULL;
    mote_ctx *c = NULL;
    mote_error err;
    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_ctx = KL_CTX;
    cp.n_threads = 2;
    bool ok = mote_model_load(path, &m, &err) == MOTE_OK && mote_ctx_new(m, &cp, &c, &err) == MOTE_OK;
    for (int ci = 0; ok && ci < n_chunks; ci++) {
        mote_ctx_reset(c);
        ok = mote_ctx_decode(c, g_held + ci * KL_CTX, KL_CTX, logits + (size_t)ci * KL_CTX * g_n_vocab,
                             &err) == MOTE_OK;
    }
    if (!ok) printf("# eval %s: %s\n", path, err.msg);
    mote_ctx_free(c);
    mote_model_free(m);
    return ok;
}

/* Held-out tokens and the reference logits, once. */
static bool kl_setup(void) {
    if (g_ref_logits) return true;
    mote_vocab *v = NULL;
    mote_error err;
    if (mote_vocab_load(g_kl_model, &v, &err)) return false;
    FILE *f = fopen(HELDOUT, "rb");
    static char text[16384];
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) fclose(f);
    static int32_t ids[16384];
    int64_t n = 0;
    mote_status s = mote_tokenize(v, text, len, 0, ids, 16384, &n, &err);
    g_n_vocab = mote_vocab_n_tokens(v);
    int32_t bos = mote_vocab_bos(v);
    mote_vocab_free(v);
    if (s || len == 0) return false;
    g_n_chunks = (int)(n / (KL_CTX - 1));
    if (g_n_chunks > KL_CHUNKS_MAX) g_n_chunks = KL_CHUNKS_MAX;
    for (int ci = 0; ci < g_n_chunks; ci++) {
        g_held[ci * KL_CTX] = bos;
        memcpy(g_held + ci * KL_CTX + 1, ids + ci * (KL_CTX - 1), (KL_CTX - 1) * sizeof(int32_t));
    }
    g_ref_logits = malloc((size_t)g_n_chunks * KL_CTX * g_n_vocab * sizeof(float));
    return g_ref_logits && g_n_chunks > 0 && eval_chunks(g_kl_model, g_n_chunks, g_ref_logits);
}

/* Mean over positions of KL(P_f32 || P_path) on n_chunks held-out chunks;
 * -1 when the model does not load or run. */
static double kl_mean(const char *path, int n_chunks) {
    if (n_chunks > g_n_chunks) n_chunks = g_n_chunks;
    size_t n_pos = (size_t)n_chunks * KL_CTX;
    float *lq = malloc(n_pos * g_n_vocab * sizeof(float));
    if (!lq || !eval_chunks(path, n_chunks, lq)) {
        free(lq);
        return -1.0;
    }
    double total = 0.0;
    for (size_t t = 0; t < n_pos; t++) {
        const float *a = g_ref_logits + t * g_n_vocab, *b = lq + t * g_n_vocab;
        double ma = a[0], mb = b[0], za = 0.0, zb = 0.0;
        for (int j = 1; j < g_n_vocab; j++) {
            ma = a[j] > ma ? a[j] : ma;
            mb = b[j] > mb ? b[j] : mb;
        }
        for (int j = 0; j < g_n_vocab; j++) {
            za += exp(a[j] - ma);
            zb += exp(b[j] - mb);
        }
        double kl = 0.0;
        for (int j = 0; j < g_n_vocab; j++) {
            double lpa = a[j] - ma - log(za), lpb = b[j] - mb - log(zb);
            kl += exp(lpa) * (lpa - lpb);
        }
        total += kl;
    }
    free(lq);
    return total / (double)n_pos;
}

/* ---- checking a written file against its input ---- */

/* Every key of `in` is in `out` with the same bytes, except general.file_type
 * (== ftype) and general.quantization_version (== 2). */
static bool check_metadata(const mote_gguf *in, const mote_gguf *out, uint32_t ftype, char *why, size_t cap) {
    for (int64_t i = 0; i < mote_gguf_n_kv(in); i++) {
        const char *key = mote_gguf_kv_key(in, i);
        if (!strcmp(key, "general.file_type")) continue;
        int64_t j = mote__gguf_find_key(out, key);
        uint32_t ta, tb;
        const uint8_t *ba, *bb;
        uint64_t na, nb;
        if (j < 0 || !mote__gguf_kv_raw(in, i, &ta, &ba, &na) || !mote__gguf_kv_raw(out, j, &tb, &bb, &nb) ||
            ta != tb || na != nb || memcmp(ba, bb, (size_t)na) != 0) {
            snprintf(why, cap, "key %s not copied", key);
            return false;
        }
    }
    uint32_t ft = 99, qv = 0;
    if (mote__gguf_get_u32(out, "general.file_type", &ft, NULL) || ft != ftype ||
        mote__gguf_get_u32(out, "general.quantization_version", &qv, NULL) || qv != 2) {
        snprintf(why, cap, "general.file_type %u (want %u), quantization_version %u", ft, ftype, qv);
        return false;
    }
    return true;
}

/* Every tensor of out, in in's order and shape: bytes equal to the
 * reference quantizer's output for the f32 source row (with the imatrix
 * entry when im is given), or to the input bytes for unchanged tensors. */
static bool check_blocks(const mote_gguf *in, const mote_gguf *out, const mote_imatrix *im, char *why,
                         size_t cap) {
    if (mote__gguf_n_tensors(in) != mote__gguf_n_tensors(out)) {
        snprintf(why, cap, "tensor count");
        return false;
    }
    static float row[4096];
    static uint8_t q[4096 * 4];
    for (int64_t i = 0; i < mote__gguf_n_tensors(in); i++) {
        const mote_gguf_tensor *a = mote__gguf_tensor(in, i), *b = mote__gguf_tensor(out, i);
        if (strcmp(a->name, b->name) || a->n_dims != b->n_dims || memcmp(a->ne, b->ne, sizeof a->ne)) {
            snprintf(why, cap, "tensor %lld: %s vs %s (name or shape)", (long long)i, a->name, b->name);
            return false;
        }
        if (a->type == b->type) {
            if (a->nbytes != b->nbytes || memcmp(a->data, b->data, (size_t)a->nbytes)) {
                snprintf(why, cap, "%s: copied bytes differ", a->name);
                return false;
            }
            continue;
        }
        const mote_type_traits *ta = mote__type_traits(a->type), *tb = mote__type_traits(b->type);
        const int64_t n = a->ne[0], rows = a->ne[1] * a->ne[2] * a->ne[3];
        uint64_t rin = 0, rout = 0;
        mote__type_row_bytes(a->type, (uint64_t)n, &rin);
        mote__type_row_bytes(b->type, (uint64_t)n, &rout);
        const mote_imatrix_entry *e = im && tb->is_quantized ? mote__imatrix_find(im, a->name) : NULL;
        for (int64_t r = 0; r < rows; r++) {
            ta->dequantize_ref((const uint8_t *)a->data + r * rin, row, n);
            size_t got = tb->quantize_w(row, q, 1, n, e ? e->values : NULL);
            if (got != rout || memcmp(q, (const uint8_t *)b->data + r * rout, rout)) {
                snprintf(why, cap, "%s (%s): row %lld differs from the reference quantizer's", a->name,
                         tb->name, (long long)r);
                return false;
            }
        }
    }
    return true;
}

/* Quantize stories260K (or `in`) with p into `name` under g_dir. */
static mote_status quantize_to(const char *in, const char *name, mote_quantize_params *p, char *path,
                               size_t cap, mote_error *err) {
    out_path(path, cap, name);
    if (p->n_threads == 0) p->n_threads = 2;
    return mote_quantize_model(in, path, p, NULL, err);
}

/* ---- stories260K, every plain type ---- */

/* The type a matrix of row width n gets for a plain type t: t if the rows
 * fit its blocks; else llama.cpp's fallback; else f16 (written out here
 * from the rules, independently of quantize.c). */
static uint32_t expected_type(uint32_t t, int64_t n) {
    if (n % mote__type_traits(t)->block_size == 0) return t;
    uint32_t f;
    switch (t) {
    case MOTE_TYPE_Q2_K: case MOTE_TYPE_Q3_K: f = MOTE_TYPE_IQ4_NL; break;
    case MOTE_TYPE_Q4_K: f = MOTE_TYPE_Q5_0; break;
    case MOTE_TYPE_Q5_K: f = MOTE_TYPE_Q5_1; break;
    case MOTE_TYPE_Q6_K: f = MOTE_TYPE_Q8_0; break;
    case MOTE_TYPE_TQ1_0: case MOTE_TYPE_TQ2_0: f = MOTE_TYPE_Q4_0; break;
    default: f = MOTE_TYPE_F16;
    }
    return n % mote__type_traits(f)->block_size == 0 ? f : MOTE_TYPE_F16;
}

/* Per-type bounds on the mean KL divergence (nats per token) from the f32
 * model over 4 held-out chunks of 128 tokens. Measured (see the report of
 * issue 5) with about 2x of headroom; on this model the K-quants and
 * ternary types fall back to 32-block types for the 64-wide rows, and
 * ffn_down stays f16 for all. */
static const struct { const char *name; uint32_t ftype; double kl_max; } g_plain_types[] = {
    {"f32", 0, 1e-9},      {"f16", 1, 2e-5},     {"bf16", 32, 2e-4},   {"q8_0", 7, 1.5e-3},
    {"q5_1", 9, 0.04},     {"q5_0", 8, 0.05},    {"q4_1", 3, 0.2},     {"q4_0", 2, 0.2},
    {"iq4_nl", 25, 0.2},   {"q6_K", 18, 1.5e-3}, {"q5_K", 16, 0.04},   {"q4_K", 14, 0.05},
    {"q3_K", 11, 0.2},     {"q2_K", 10, 0.2},    {"tq2_0", 37, 0.2},   {"tq1_0", 36, 0.2},
};

static void test_plain_types(void) {
    if (!g_model[0]) T_SKIP("../shared/assets is absent");
    T_REQUIRE(kl_setup(), "held-out text or reference logits");
    mote_gguf *in = NULL;
    mote_error err;
    T_REQUIRE(mote_gguf_open(g_model, &in, &err) == MOTE_OK, "%s", err.msg);
    for (size_t k = 0; k < sizeof g_plain_types / sizeof g_plain_types[0]; k++) {
        const char *tn = g_plain_types[k].name;
        uint32_t type = (uint32_t)mote__type_from_name(tn);
        char path[4300], name[64], why[256] = "";
        snprintf(name, sizeof name, "plain-%s.gguf", tn);
        mote_quantize_params p = mote_quantize_default_params();
        p.type = tn;
        mote_status s = quantize_to(g_model, name, &p, path, sizeof path, &err);
        T_CHECK(s == MOTE_OK, "%s: %s", tn, err.msg);
        if (s) continue;
        mote_gguf *out = NULL;
        T_CHECK(mote_gguf_open(path, &out, &err) == MOTE_OK, "%s: reading back: %s", tn, err.msg);
        if (!out) continue;
        /* types: matrices by the rules, norms f32 */
        for (int64_t i = 0; i < mote__gguf_n_tensors(out); i++) {
            const mote_gguf_tensor *t = mote__gguf_tensor(out, i);
            uint32_t want = t->n_dims == 1 ? MOTE_TYPE_F32 : expected_type(type, t->ne[0]);
            T_CHECK(t->type == want, "%s: %s is %s, expected %s", tn, t->name, mote__type_name(t->type),
                    mote__type_name(want));
        }
        const mote_gguf_tensor *down = mote__gguf_find_tensor(out, "blk.0.ffn_down.weight");
        T_CHECK(down && (type == MOTE_TYPE_F32 || type == MOTE_TYPE_BF16 || down->type == MOTE_TYPE_F16),
                "%s: ffn_down (rows of 172) should be f16", tn);
        T_CHECK(check_metadata(in, out, g_plain_types[k].ftype, why, sizeof why), "%s: %s", tn, why);
        T_CHECK(check_blocks(in, out, NULL, why, sizeof why), "%s: %s", tn, why);
        mote_gguf_close(out);
        double kl = kl_mean(path, 4);
        printf("# %-7s mean KL %.3g (bound %.3g)\n", tn, kl, g_plain_types[k].kl_max);
        T_CHECK(kl >= 0.0 && kl <= g_plain_types[k].kl_max, "%s: mean KL %g, bound %g", tn, kl,
                g_plain_types[k].kl_max);
        remove(path);
    }
    mote_gguf_close(in);
}

/* Q4_K_M on stories260K: the mix and its fallbacks, tensor by tensor. */
static void test_preset_stories(void) {
    if (!g_model[0]) T_SKIP("../shared/assets is absent");
    char path[4300], why[256] = "";
    mote_error err;
    mote_quantize_params p = mote_quantize_default_params();
    p.type = "q4_k_m"; /* presets in any case */
    T_REQUIRE(quantize_to(g_model, "q4km.gguf", &p, path, sizeof path, &err) == MOTE_OK, "%s", err.msg);
    mote_gguf *in = NULL, *out = NULL;
    T_REQUIRE(mote_gguf_open(g_model, &in, &err) == MOTE_OK, "%s", err.msg);
    T_REQUIRE(mote_gguf_open(path, &out, &err) == MOTE_OK, "%s", err.msg);
    /* 5 blocks: use_more_bits is true for blocks 0 (< 5/8 is 0: no), 4 (>= 35/8 = 4) and
     * (i - 0) % 3 == 2: block 2. attn_v there: q6_K -> q8_0 (64 wide); else q4_K -> q5_0. */
    static const struct { const char *name; uint32_t type; } want[] = {
        {"token_embd.weight", MOTE_TYPE_Q5_0},   {"output.weight", MOTE_TYPE_Q8_0},
        {"blk.0.attn_v.weight", MOTE_TYPE_Q5_0}, {"blk.2.attn_v.weight", MOTE_TYPE_Q8_0},
        {"blk.4.attn_v.weight", MOTE_TYPE_Q8_0}, {"blk.1.attn_q.weight", MOTE_TYPE_Q5_0},
        {"blk.3.ffn_down.weight", MOTE_TYPE_F16}, {"blk.3.ffn_norm.weight", MOTE_TYPE_F32},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const mote_gguf_tensor *t = mote__gguf_find_tensor(out, want[i].name);
        T_CHECK(t && t->type == want[i].type, "%s is %s, expected %s", want[i].name,
                t ? mote__type_name(t->type) : "absent", mote__type_name(want[i].type));
    }
    T_CHECK(check_metadata(in, out, 15, why, sizeof why), "%s", why);
    T_CHECK(check_blocks(in, out, NULL, why, sizeof why), "%s", why);
    mote_gguf_close(in);
    mote_gguf_close(out);
    /* the same file whatever the thread count */
    char path1[4300];
    p.n_threads = 1;
    T_REQUIRE(quantize_to(g_model, "q4km-t1.gguf", &p, path1, sizeof path1, &err) == MOTE_OK, "%s", err.msg);
    p.n_threads = 3;
    T_REQUIRE(quantize_to(g_model, "q4km.gguf", &p, path, sizeof path, &err) == MOTE_OK, "%s", err.msg);
    size_t na = 0, nb = 0;
    char *a = NULL, *b = NULL;
    FILE *fa = fopen(path, "rb"), *fb = fopen(path1, "rb");
    if (fa && fb) {
        a = malloc(1 << 22);
        b = malloc(1 << 22);
        na = fread(a, 1, 1 << 22, fa);
        nb = fread(b, 1, 1 << 22, fb);
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    T_CHECK(a && na > 0 && na == nb && memcmp(a, b, na) == 0, "1 and 3 threads wrote different files");
    free(a);
    free(b);
    remove(path);
    remove(path1);
}

/* ---- a synthetic model with 256-wide rows: K-quant blocks, preset mixes ---- */

#define W_EMBD 256
#define W_FF 256
#define W_LAYERS 8
#define W_VOCAB 64

static float *g_wide_data[3 + 9 * W_LAYERS];

/* Write a Llama GGUF: n_embd = n_ff = 256, 4 heads sharing 1 KV head
 * (n_gqa 4), n_layer blocks, random weights. With `loadable` false every
 * matrix has only 4 rows (enough for the type rules, which look at names
 * and row widths; not a model that loads). Returns false on failure. */
static bool write_wide(const char *path, int n_layer, bool loadable) {
    mote_gguf_writer *w = mote__gguf_writer_new();
    if (!w) return false;
    mote__gguf_set_str(w, "general.architecture", "llama");
    mote__gguf_set_str(w, "general.name", "wide test");
    mote__gguf_set_u32(w, "llama.context_length", 64);
    mote__gguf_set_u32(w, "llama.embedding_length", W_EMBD);
    mote__gguf_set_u32(w, "llama.block_count", (uint32_t)n_layer);
    mote__gguf_set_u32(w, "llama.feed_forward_length", W_FF);
    mote__gguf_set_u32(w, "llama.attention.head_count", 4);
    mote__gguf_set_u32(w, "llama.attention.head_count_kv", 1);
    mote__gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    uint64_t st = 42;
    int nt = 0;
    bool ok = true;
#define ADD(nm, c, r)                                                                          \
    do {                                                                                       \
        int64_t ne[2] = {c, (r) == 1 || loadable ? (r) : 4};                                   \
        float *d = g_wide_data[nt++] = malloc((size_t)ne[0] * ne[1] * sizeof(float));          \
        for (int64_t e = 0; d && e < ne[0] * ne[1]; e++) {                                     \
            st = st * 6364136223846793005ull + 1442695040888963407ull;                         \
            d[e] = (r) == 1 ? 1.0f : ((float)(st >> 40) / 16777216.0f - 0.5f) * 0.1f;          \
        }                                                                                      \
        ok = ok && d && mote__gguf_add_tensor(w, nm, MOTE_TYPE_F32, (r) == 1 ? 1 : 2, ne, d, NULL) == MOTE_OK; \
    } while (0)
    ADD("token_embd.weight", W_EMBD, W_VOCAB);
    ADD("output_norm.weight", W_EMBD, 1);
    ADD("output.weight", W_EMBD, W_VOCAB);
    char nm[64];
    for (int l = 0; l < n_layer; l++) {
        static const struct { const char *s; int c, r; } sh[9] = {
            {"attn_norm", W_EMBD, 1}, {"attn_q", W_EMBD, W_EMBD}, {"attn_k", W_EMBD, 64},
            {"attn_v", W_EMBD, 64},   {"attn_output", W_EMBD, W_EMBD}, {"ffn_norm", W_EMBD, 1},
            {"ffn_gate", W_EMBD, W_FF}, {"ffn_up", W_EMBD, W_FF}, {"ffn_down", W_FF, W_EMBD}};
        for (int k = 0; k < 9; k++) {
            snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, sh[k].s);
            ADD(nm, sh[k].c, sh[k].r);
        }
    }
#undef ADD
    ok = ok && mote__gguf_write(w, path, NULL) == MOTE_OK;
    mote__gguf_writer_free(w);
    for (int i = 0; i < nt; i++) free(g_wide_data[i]);
    return ok;
}

/* The type of blk.L.KIND.weight in a file. */
static uint32_t type_of(const mote_gguf *g, int l, const char *kind) {
    char nm[64];
    if (l < 0) snprintf(nm, sizeof nm, "%s", kind);
    else snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, kind);
    const mote_gguf_tensor *t = mote__gguf_find_tensor(g, nm);
    return t ? t->type : 999;
}

static void test_wide_kquants_and_presets(void) {
    char in_path[4300], path[4300], why[256] = "";
    out_path(in_path, sizeof in_path, "wide.gguf");
    T_REQUIRE(write_wide(in_path, 2, true), "writing the synthetic model");
    mote_error err;
    mote_gguf *in = NULL;
    T_REQUIRE(mote_gguf_open(in_path, &in, &err) == MOTE_OK, "%s", err.msg);
    /* Every 256-block type: the blocks of every row are the reference's, and
     * the file loads and runs. */
    static const char *const ktypes[] = {"q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "tq1_0", "tq2_0"};
    for (size_t k = 0; k < sizeof ktypes / sizeof ktypes[0]; k++) {
        mote_quantize_params p = mote_quantize_default_params();
        p.type = ktypes[k];
        if (quantize_to(in_path, "wide-k.gguf", &p, path, sizeof path, &err)) {
            T_CHECK(0, "%s: %s", ktypes[k], err.msg);
            continue;
        }
        mote_gguf *out = NULL;
        T_CHECK(mote_gguf_open(path, &out, &err) == MOTE_OK, "%s", err.msg);
        if (!out) continue;
        T_CHECK(type_of(out, 1, "ffn_down") == (uint32_t)mote__type_from_name(ktypes[k]), "%s: ffn_down", ktypes[k]);
        T_CHECK(check_blocks(in, out, NULL, why, sizeof why), "%s: %s", ktypes[k], why);
        mote_gguf_close(out);
        mote_model *m = NULL;
        mote_ctx *c = NULL;
        int32_t toks[4] = {1, 5, 9, 13};
        T_CHECK(mote_model_load(path, &m, &err) == MOTE_OK && mote_ctx_new(m, NULL, &c, &err) == MOTE_OK &&
                    mote_ctx_decode(c, toks, 4, NULL, &err) == MOTE_OK && isfinite(mote_ctx_logits(c)[0]),
                "%s: does not run: %s", ktypes[k], err.msg);
        mote_ctx_free(c);
        mote_model_free(m);
    }
    mote_gguf_close(in);
    in = NULL;
    T_REQUIRE(write_wide(in_path, W_LAYERS, false), "writing the synthetic model");
    T_REQUIRE(mote_gguf_open(in_path, &in, &err) == MOTE_OK, "%s", err.msg);
    /* The presets' mixes on 8 blocks: use_more_bits is true for blocks 0, 3, 6, 7. */
    struct { const char *preset; uint32_t ftype; } ps[] = {{"Q4_K_M", 15}, {"Q2_K", 10}, {"Q3_K_M", 12},
                                                          {"Q4_K_S", 14}, {"Q5_K_M", 17}, {"Q6_K", 18}};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        mote_quantize_params p = mote_quantize_default_params();
        p.type = ps[k].preset;
        if (quantize_to(in_path, "wide-p.gguf", &p, path, sizeof path, &err)) {
            T_CHECK(0, "%s: %s", ps[k].preset, err.msg);
            continue;
        }
        mote_gguf *out = NULL;
        T_CHECK(mote_gguf_open(path, &out, &err) == MOTE_OK, "%s", err.msg);
        if (!out) continue;
        T_CHECK(check_metadata(in, out, ps[k].ftype, why, sizeof why), "%s: %s", ps[k].preset, why);
        T_CHECK(type_of(out, -1, "output.weight") == MOTE_TYPE_Q6_K, "%s: output", ps[k].preset);
        for (int l = 0; l < W_LAYERS; l++) {
            bool more = l == 0 || l == 3 || l == 6 || l == 7;
            uint32_t v, down, o, q = type_of(out, l, "attn_q");
            switch (ps[k].ftype) {
            case 15: v = down = more ? MOTE_TYPE_Q6_K : MOTE_TYPE_Q4_K; o = MOTE_TYPE_Q4_K; break;
            case 17: v = down = more ? MOTE_TYPE_Q6_K : MOTE_TYPE_Q5_K; o = MOTE_TYPE_Q5_K; break;
            case 10: v = MOTE_TYPE_Q4_K; down = o = MOTE_TYPE_Q3_K; break; /* n_gqa 4 */
            case 12: v = l < 2 ? MOTE_TYPE_Q5_K : MOTE_TYPE_Q4_K; down = o = MOTE_TYPE_Q4_K; break;
            case 14: v = l < 4 ? MOTE_TYPE_Q5_K : MOTE_TYPE_Q4_K; down = l < 1 ? MOTE_TYPE_Q5_K : MOTE_TYPE_Q4_K;
                     o = MOTE_TYPE_Q4_K; break;
            default: v = down = o = MOTE_TYPE_Q6_K;
            }
            T_CHECK(type_of(out, l, "attn_v") == v && type_of(out, l, "ffn_down") == down &&
                        type_of(out, l, "attn_output") == o,
                    "%s block %d: attn_v %s ffn_down %s attn_output %s", ps[k].preset, l,
                    mote__type_name(type_of(out, l, "attn_v")), mote__type_name(type_of(out, l, "ffn_down")),
                    mote__type_name(type_of(out, l, "attn_output")));
            (void)q;
        }
        mote_gguf_close(out);
    }
    /* --pure, --output-type, --token-embedding-type */
    mote_quantize_params p = mote_quantize_default_params();
    p.type = "Q4_K_M";
    p.pure = 1;
    p.output_type = "q8_0";
    p.token_embd_type = "f16";
    T_REQUIRE(quantize_to(in_path, "wide-pure.gguf", &p, path, sizeof path, &err) == MOTE_OK, "%s", err.msg);
    mote_gguf *out = NULL;
    T_REQUIRE(mote_gguf_open(path, &out, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(type_of(out, 0, "attn_v") == MOTE_TYPE_Q4_K && type_of(out, 0, "ffn_down") == MOTE_TYPE_Q4_K &&
                type_of(out, -1, "output.weight") == MOTE_TYPE_Q8_0 &&
                type_of(out, -1, "token_embd.weight") == MOTE_TYPE_F16,
            "--pure / --output-type / --token-embedding-type not applied");
    mote_gguf_close(out);
    mote_gguf_close(in);
    remove(path);
    remove(in_path);
}

/* ---- imatrix ---- */

/* The imatrix of 4 chunks of 64 tokens; blk.0's q/k/v input checked
 * against rmsnorm(embedding) * attn_norm computed here. */
static void test_imatrix_collect(void) {
    if (!g_model[0]) T_SKIP("../shared/assets is absent");
    char path[4300];
    out_path(path, sizeof path, "imatrix.gguf");
    mote_imatrix_params ip = mote_imatrix_default_params();
    ip.n_ctx = 64;
    ip.n_chunks = 4;
    ip.n_threads = 2;
    mote_imatrix_summary sum;
    mote_error err;
    T_REQUIRE(mote_imatrix_compute(g_model, CALIB, path, &ip, &sum, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(sum.n_entries == 5 * 7 + 1 && sum.n_chunks == 4 && sum.chunk_size == 64, "summary %lld %d %d",
            (long long)sum.n_entries, sum.n_chunks, sum.chunk_size);
    /* a copy for the fuzzer's corpus (fuzz/run.sh seed_imatrix) */
    char seeds[4300], cmd[8800];
    snprintf(seeds, sizeof seeds, "%s/../imatrix-seeds", g_dir);
    mkdir(seeds, 0755);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/stories260K.imatrix.gguf'", path, seeds);
    if (system(cmd) != 0) printf("# could not copy the fuzz seed\n");

    mote_imatrix *im = NULL;
    T_REQUIRE(mote__imatrix_read(path, &im, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(im->chunk_count == 4 && im->chunk_size == 64 && !strcmp(im->dataset, CALIB), "metadata");
    mote_gguf *g = NULL;
    T_REQUIRE(mote_gguf_open(path, &g, &err) == MOTE_OK, "%s", err.msg);
    const mote_gguf_tensor *cnt = mote__gguf_find_tensor(g, "blk.2.ffn_down.weight.counts");
    float c = 0;
    if (cnt) memcpy(&c, cnt->data, 4);
    T_CHECK(c == 256.0f, "counts %g, expected 4 chunks x 64 tokens", (double)c);
    mote_gguf_close(g);
    const mote_imatrix_entry *q = mote__imatrix_find(im, "blk.0.attn_q.weight");
    const mote_imatrix_entry *k = mote__imatrix_find(im, "blk.0.attn_k.weight");
    const mote_imatrix_entry *v = mote__imatrix_find(im, "blk.0.attn_v.weight");
    const mote_imatrix_entry *gt = mote__imatrix_find(im, "blk.3.ffn_gate.weight");
    const mote_imatrix_entry *up = mote__imatrix_find(im, "blk.3.ffn_up.weight");
    const mote_imatrix_entry *dn = mote__imatrix_find(im, "blk.3.ffn_down.weight");
    T_REQUIRE(q && k && v && gt && up && dn && mote__imatrix_find(im, "output.weight"), "entries missing");
    T_CHECK(q->n == 64 && dn->n == 172, "widths %lld %lld", (long long)q->n, (long long)dn->n);
    T_CHECK(!memcmp(q->values, k->values, 64 * 4) && !memcmp(q->values, v->values, 64 * 4) &&
                !memcmp(gt->values, up->values, 64 * 4),
            "matrices sharing an input have different entries");

    /* independent: the chunks' tokens, blk.0's input from the GGUF tensors */
    mote_vocab *voc = NULL;
    mote_gguf *mg = NULL;
    T_REQUIRE(mote_vocab_load(g_model, &voc, &err) == MOTE_OK && mote_gguf_open(g_model, &mg, &err) == MOTE_OK,
              "%s", err.msg);
    static char text[8192];
    FILE *f = fopen(CALIB, "rb");
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) fclose(f);
    static int32_t ids[8192];
    int64_t n = 0;
    mote_tokenize(voc, text, len, 0, ids, 8192, &n, &err);
    const float *embd = mote__gguf_find_tensor(mg, "token_embd.weight")->data;
    const float *norm = mote__gguf_find_tensor(mg, "blk.0.attn_norm.weight")->data;
    double want[64] = {0};
    for (int ci = 0; ci < 4; ci++)
        for (int t = 0; t < 64; t++) {
            int32_t tok = t == 0 ? mote_vocab_bos(voc) : ids[ci * 63 + t - 1];
            const float *e = embd + (size_t)tok * 64;
            double ss = 0;
            for (int j = 0; j < 64; j++) ss += (double)e[j] * e[j];
            double inv = 1.0 / sqrt(ss / 64 + 1e-5);
            for (int j = 0; j < 64; j++) {
                double x = e[j] * inv * norm[j];
                want[j] += x * x / 256.0;
            }
        }
    double worst = 0;
    for (int j = 0; j < 64; j++) {
        double rel = fabs(q->values[j] - want[j]) / (want[j] + 1e-12);
        worst = rel > worst ? rel : worst;
    }
    T_CHECK(worst < 1e-4, "blk.0.attn_q importance differs from the direct computation by %.3g", worst);
    mote_gguf_close(mg);
    mote_vocab_free(voc);

    /* quantizing with it: every block is quantize_w(row, entry) */
    char qpath[4300], why[256] = "";
    mote_quantize_params p = mote_quantize_default_params();
    p.type = "q4_0";
    p.imatrix_path = path;
    T_REQUIRE(quantize_to(g_model, "q40-im.gguf", &p, qpath, sizeof qpath, &err) == MOTE_OK, "%s", err.msg);
    mote_gguf *in = NULL, *out = NULL;
    T_REQUIRE(mote_gguf_open(g_model, &in, &err) == MOTE_OK && mote_gguf_open(qpath, &out, &err) == MOTE_OK, "%s",
              err.msg);
    T_CHECK(check_blocks(in, out, im, why, sizeof why), "%s", why);
    mote_gguf_close(in);
    mote_gguf_close(out);
    mote__imatrix_free(im);
    remove(qpath);
}

/* ---- AWQ ---- */

/* Arbitrary scales folded in, quantized to f32: the model computes the same
 * function, so its logits match the original's (up to float rounding). */
static void test_awq_fold_exact(void) {
    if (!g_model[0]) T_SKIP("../shared/assets is absent");
    T_REQUIRE(kl_setup(), "held-out text or reference logits");
    const int n_layer = 5, n_embd = 64, n_ff = 172, hd = 8, n_head = 8, n_kv = 4, grp = n_head / n_kv;
    mote_awq a = {.n_layer = n_layer};
    mote_awq_layer layers[5];
    memset(layers, 0, sizeof layers);
    a.layers = layers;
    uint64_t st = 7;
    float *pool = malloc(sizeof(float) * n_layer * (n_embd * 3 + n_ff + n_kv * hd));
    T_REQUIRE(pool, "oom");
    float *cur = pool;
#define RND() (st = st * 6364136223846793005ull + 1442695040888963407ull, 0.5f + 1.5f * (float)(st >> 40) / 16777216.0f)
    for (int l = 0; l < n_layer; l++) {
        mote_awq_layer *L = &layers[l];
        L->s[MOTE_AWQ_ATTN] = cur; for (int j = 0; j < n_embd; j++) *cur++ = RND();
        L->s[MOTE_AWQ_FFN] = cur; for (int j = 0; j < n_embd; j++) *cur++ = RND();
        L->s[MOTE_AWQ_DOWN] = cur; for (int j = 0; j < n_ff; j++) *cur++ = RND();
        L->s_kv = cur; for (int j = 0; j < n_kv * hd; j++) *cur++ = RND();
        L->s[MOTE_AWQ_O] = cur; /* tied over the 2 query heads of each KV head */
        for (int h = 0; h < n_head; h++)
            for (int d = 0; d < hd; d++) *cur++ = L->s_kv[(h / grp) * hd + d];
    }
#undef RND
    char path[4300];
    out_path(path, sizeof path, "awq-f32.gguf");
    mote_quantize_params p = mote_quantize_default_params();
    p.type = "f32";
    p.n_threads = 2;
    mote_error err;
    mote_status s = mote__quantize_with_awq(g_model, path, &p, &a, NULL, &err);
    free(pool);
    T_REQUIRE(s == MOTE_OK, "%s", err.msg);
    mote_gguf *g = NULL, *in = NULL;
    T_REQUIRE(mote_gguf_open(path, &g, &err) == MOTE_OK && mote_gguf_open(g_model, &in, &err) == MOTE_OK, "%s", err.msg);
    const mote_gguf_tensor *n0 = mote__gguf_find_tensor(g, "blk.1.ffn_norm.weight");
    const mote_gguf_tensor *n1 = mote__gguf_find_tensor(in, "blk.1.ffn_norm.weight");
    T_CHECK(n0 && n1 && memcmp(n0->data, n1->data, 256) != 0, "the norms were not rescaled");
    mote_gguf_close(g);
    mote_gguf_close(in);
    size_t n_pos = (size_t)2 * KL_CTX * g_n_vocab;
    float *lq = malloc(n_pos * sizeof(float));
    T_REQUIRE(lq && eval_chunks(path, 2, lq), "the folded model does not run");
    double worst = 0;
    for (size_t i = 0; i < n_pos; i++) {
        double d = fabs(lq[i] - g_ref_logits[i]);
        worst = d > worst ? d : worst;
    }
    free(lq);
    printf("# awq fold with scales in [0.5, 2]: largest logit change %.3g\n", worst);
    T_CHECK(worst < 2e-3, "folding changed a logit by %g", worst);
    remove(path);
}

/* Calibrated (imatrix, AWQ, both) against round-to-nearest at 4 bits and
 * below: imatrix and AWQ from calib.txt, KL on the held-out text. */
static void test_calibrated_beats_rtn(void) {
    if (!g_model[0]) T_SKIP("../shared/assets is absent");
    T_REQUIRE(kl_setup(), "held-out text or reference logits");
    char im_path[4300];
    out_path(im_path, sizeof im_path, "calib.imatrix.gguf");
    mote_imatrix_params ip = mote_imatrix_default_params();
    ip.n_ctx = 128;
    ip.n_threads = 2;
    mote_error err;
    T_REQUIRE(mote_imatrix_compute(g_model, CALIB, im_path, &ip, NULL, &err) == MOTE_OK, "%s", err.msg);
    /* q4_0 is asserted (the imatrix, and AWQ with it; AWQ alone gains
     * little or nothing on this model, see the report); the others are
     * reported: on this model's 64-wide rows q4_K falls back to q5_0, q3_K
     * (and q2_K) to iq4_nl, tq1_0/tq2_0 to q4_0. */
    static const char *const types[] = {"q4_0", "q4_K", "q3_K"};
    static const char *const modes[] = {"rtn", "imatrix", "awq", "awq+imatrix"};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        double kl[4];
        for (int mode = 0; mode < 4; mode++) {
            char path[4300];
            mote_quantize_params p = mote_quantize_default_params();
            p.type = types[k];
            if (mode & 1) p.imatrix_path = im_path;
            if (mode & 2) {
                p.awq_text_path = CALIB;
                p.awq_n_ctx = 128;
                p.awq_max_rows = 128;
                p.awq_n_grid = 10;
            }
            mote_status s = quantize_to(g_model, "cal.gguf", &p, path, sizeof path, &err);
            T_CHECK(s == MOTE_OK, "%s: %s", types[k], err.msg);
            kl[mode] = s ? -1 : kl_mean(path, KL_CHUNKS_MAX);
            remove(path);
        }
        printf("# %-6s mean KL over %d held-out tokens: rtn %.4g", types[k], g_n_chunks * KL_CTX, kl[0]);
        for (int mode = 1; mode < 4; mode++)
            printf(", %s %.4g (%+.1f%%)", modes[mode], kl[mode], 100.0 * (kl[mode] / kl[0] - 1.0));
        printf("\n");
        if (k == 0) {
            T_CHECK(kl[0] > 0 && kl[1] > 0 && kl[1] < kl[0], "q4_0: imatrix KL %g is not below rtn %g", kl[1], kl[0]);
            T_CHECK(kl[0] > 0 && kl[3] > 0 && kl[3] < kl[0], "q4_0: awq+imatrix KL %g is not below rtn %g", kl[3],
                    kl[0]);
        }
    }
    remove(im_path);
}

/* mote's default model (models/mote-tiny.gguf, or $MOTE_QUANT_MODEL), when
 * present: rows of 256 and 768, so the K-quants apply without fallback.
 * q4_K with the imatrix must have a lower mean KL than without on the
 * held-out text. (AWQ is not run here, to keep the test short: on the
 * final Q8_0 file it does worse than plain q4_K; see the report of issue
 * 5.) Skipped while the model is absent. */
static void test_default_model_kquants(void) {
    const char *env = getenv("MOTE_QUANT_MODEL");
    const char *path = env && *env ? env : "models/mote-tiny.gguf";
    if (access(path, R_OK) != 0) T_SKIP("%s is absent (mote's default model)", path);
    free(g_ref_logits);
    g_ref_logits = NULL;
    snprintf(g_kl_model, sizeof g_kl_model, "%s", path);
    T_REQUIRE(kl_setup(), "held-out text or reference logits of %s", path);
    char im_path[4300], qpath[4300];
    out_path(im_path, sizeof im_path, "default.imatrix.gguf");
    mote_imatrix_params ip = mote_imatrix_default_params();
    ip.n_ctx = 128;
    ip.n_threads = 2;
    mote_error err;
    T_REQUIRE(mote_imatrix_compute(path, CALIB, im_path, &ip, NULL, &err) == MOTE_OK, "%s", err.msg);
    double kl[2];
    for (int mode = 0; mode < 2; mode++) {
        mote_quantize_params p = mote_quantize_default_params();
        p.type = "q4_K";
        if (mode == 1) p.imatrix_path = im_path;
        mote_status s = quantize_to(path, "default-q4k.gguf", &p, qpath, sizeof qpath, &err);
        T_REQUIRE(s == MOTE_OK, "%s", err.msg);
        kl[mode] = kl_mean(qpath, KL_CHUNKS_MAX);
        remove(qpath);
    }
    printf("# %s q4_K mean KL over %d held-out tokens: rtn %.4g, imatrix %.4g (%+.1f%%)\n", path,
           g_n_chunks * KL_CTX, kl[0], kl[1], 100.0 * (kl[1] / kl[0] - 1.0));
    T_CHECK(kl[0] > 0 && kl[1] > 0 && kl[1] < kl[0], "q4_K: imatrix KL %g is not below rtn %g", kl[1], kl[0]);
    remove(im_path);
}

/* ---- bad input ---- */

static void test_errors(void) {
    mote_error err;
    mote_quantize_params p = mote_quantize_default_params();
    char path[4300];
    p.type = "q4_X";
    T_CHECK(quantize_to("nope.gguf", "e.gguf", &p, path, sizeof path, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "q4_X") && strstr(err.msg, "q4_K") && strstr(err.msg, "Q4_K_M"),
            "unknown type: %s", err.msg);
    p.type = "q4_0";
    p.output_type = "q9";
    T_CHECK(quantize_to("nope.gguf", "e.gguf", &p, path, sizeof path, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "output type 'q9'"), "unknown output type: %s", err.msg);
    p.output_type = NULL;
    T_CHECK(quantize_to("nope.gguf", "e.gguf", &p, path, sizeof path, &err) == MOTE_ERR_IO, "missing input: %s",
            err.msg);
    if (!g_model[0]) T_SKIP("../shared/assets is absent (the rest needs stories260K)");

    /* NaN and Inf in a matrix, and in a norm copied as it is */
    FILE *f = fopen(g_model, "rb");
    T_REQUIRE(f, "open");
    static uint8_t buf[1 << 21];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    mote_gguf *g = NULL;
    T_REQUIRE(mote_gguf_open(g_model, &g, &err) == MOTE_OK, "%s", err.msg);
    uint64_t off_up = mote__gguf_data_offset(g) + mote__gguf_find_tensor(g, "blk.1.ffn_up.weight")->offset;
    uint64_t off_norm = mote__gguf_data_offset(g) + mote__gguf_find_tensor(g, "blk.2.attn_norm.weight")->offset;
    mote_gguf_close(g);
    const float bad[2] = {NAN, INFINITY};
    for (int k = 0; k < 3; k++) {
        static uint8_t copy[1 << 21];
        memcpy(copy, buf, len);
        memcpy(copy + (k < 2 ? off_up + 4 * (64 * 3 + 5) : off_norm + 4 * 7), &bad[k & 1], 4);
        char bad_path[4300];
        out_path(bad_path, sizeof bad_path, "bad.gguf");
        f = fopen(bad_path, "wb");
        T_REQUIRE(f && fwrite(copy, 1, len, f) == len, "write");
        fclose(f);
        p.type = "q8_0";
        mote_status s = quantize_to(bad_path, "e.gguf", &p, path, sizeof path, &err);
        const char *want = k < 2 ? "blk.1.ffn_up.weight" : "blk.2.attn_norm.weight";
        T_CHECK(s == MOTE_ERR_FORMAT && strstr(err.msg, want) && strstr(err.msg, k == 1 ? "inf" : "n"),
                "non-finite %d: %s", k, err.msg);
        T_CHECK(access(path, F_OK) != 0, "a file was left after the error");
        remove(bad_path);
    }

    /* an imatrix for another model: an entry of another width, a tensor this
     * model lacks, and a file that is no imatrix */
    for (int k = 0; k < 3; k++) {
        char im_path[4300];
        out_path(im_path, sizeof im_path, "other.imatrix.gguf");
        mote_gguf_writer *w = mote__gguf_writer_new();
        static float sums[128];
        static float one = 10.0f;
        for (int j = 0; j < 128; j++) sums[j] = 1.0f;
        int64_t ne_s[1] = {k == 0 ? 128 : 64}, ne_c[1] = {1};
        const char *base = k == 0 ? "blk.0.attn_q.weight" : "blk.7.attn_q.weight";
        char nm[96];
        snprintf(nm, sizeof nm, "%s.in_sum2", base);
        mote__gguf_add_tensor(w, nm, MOTE_TYPE_F32, 1, ne_s, sums, NULL);
        snprintf(nm, sizeof nm, "%s.counts", base);
        mote__gguf_add_tensor(w, nm, MOTE_TYPE_F32, 1, ne_c, &one, NULL);
        T_REQUIRE(mote__gguf_write(w, im_path, &err) == MOTE_OK, "%s", err.msg);
        mote__gguf_writer_free(w);
        p.type = "q4_0";
        p.imatrix_path = k == 2 ? g_model : im_path;
        mote_status s = quantize_to(g_model, "e.gguf", &p, path, sizeof path, &err);
        T_CHECK(s != MOTE_OK && strstr(err.msg, k == 2 ? "not an importance matrix" : "not for this model") &&
                    (k == 2 || strstr(err.msg, base)),
                "imatrix case %d: %s", k, err.msg);
        remove(im_path);
    }
    p.imatrix_path = NULL;

    /* AWQ calibration text shorter than a chunk */
    char txt[4300];
    out_path(txt, sizeof txt, "short.txt");
    f = fopen(txt, "wb");
    T_REQUIRE(f, "write");
    fputs("Once upon a time.", f);
    fclose(f);
    p.awq_text_path = txt;
    T_CHECK(quantize_to(g_model, "e.gguf", &p, path, sizeof path, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "fewer than one calibration chunk"), "short AWQ text: %s", err.msg);
    remove(txt);
}

int main(void) {
    const char *b = getenv("MOTE_BUILD");
    snprintf(g_dir, sizeof g_dir, "%s/quant-test", b ? b : "build");
    mkdir(g_dir, 0755);
    const char *assets = t_assets();
    if (assets) snprintf(g_model, sizeof g_model, "%s/models/stories260K.gguf", assets);
    snprintf(g_kl_model, sizeof g_kl_model, "%s", g_model);
    T_RUN(test_errors);
    T_RUN(test_plain_types);
    T_RUN(test_preset_stories);
    T_RUN(test_wide_kquants_and_presets);
    T_RUN(test_imatrix_collect);
    T_RUN(test_awq_fold_exact);
    T_RUN(test_calibrated_beats_rtn);
    T_RUN(test_default_model_kquants); /* last: it changes the KL reference */
    free(g_ref_logits);
    return t_exit();
}
