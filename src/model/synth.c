/* synth.c — synthetic models: a Llama-architecture GGUF with random weights
 * in the shape of a real model (TinyLlama-1.1B, Llama-2-7B, Phi-3-mini as a
 * Llama-shaped model, llama2.c's stories15M), so benchmarks and tests run
 * without downloads (mote_synth_write of mote.h; `mote synth`).
 *
 * What it is: the preset table; the metadata (llama.cpp's key names); the
 * tokenizer, either every tokenizer.* key copied from a vocab GGUF or a
 * minimal byte-level SentencePiece vocab generated here; and the tensors,
 * generated and quantized one row at a time while the GGUF writer streams
 * the file (mote__gguf_add_tensor_rows), so a 7B model needs a few rows of
 * memory, not 13 GB. Weights are N(0, 0.02) from a counter-based generator
 * seeded by (seed, tensor, row): the same seed always gives the same bytes,
 * whatever order rows are produced in. Norm weights are 1 (f32).
 *
 * What it is not: a converter of real weights, or a quantizer of its own —
 * every type goes through the type table's reference quantizer
 * (src/tensor/types.h), so any type with a quantize_ref whose block divides
 * the rows can be written. The weights carry no meaning: text generated
 * from such a model is noise; only shapes, types and speed are real.
 */
#include "model.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- presets ---- */

/* Shapes from each model's published configuration (config.json /
 * params.json): hidden size, blocks, query heads, KV heads, FFN size,
 * vocabulary, training context, RoPE base, RMSNorm epsilon. */
static const mote_synth_preset g_presets[] = {
    {"tinyllama-1.1b", 2048, 22, 32, 4, 5632, 32000, 2048, 10000.0f, 1e-5f},
    {"llama-7b", 4096, 32, 32, 32, 11008, 32000, 4096, 10000.0f, 1e-5f},
    {"phi3-mini", 3072, 32, 32, 32, 8192, 32064, 4096, 10000.0f, 1e-5f},
    {"stories15m", 288, 6, 6, 6, 768, 32000, 256, 10000.0f, 1e-5f},
};
#define N_PRESETS ((int)(sizeof g_presets / sizeof g_presets[0]))

int mote_synth_n_presets(void) { return N_PRESETS; }

const mote_synth_preset *mote_synth_preset_get(int i) {
    return i >= 0 && i < N_PRESETS ? &g_presets[i] : NULL;
}

const mote_synth_preset *mote_synth_preset_find(const char *name) {
    for (int i = 0; name && i < N_PRESETS; i++)
        if (strcmp(g_presets[i].name, name) == 0) return &g_presets[i];
    return NULL;
}

mote_synth_params mote_synth_default_params(void) {
    return (mote_synth_params){.preset = NULL, .type = NULL, .vocab_path = NULL, .seed = 1234,
                               .n_layer = 0};
}

/* ---- random numbers ---- */

/* splitmix64: a full-period 64-bit generator whose every output is a good
 * hash of the counter; used both to derive a row's seed and to draw from. */
static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fill x[0..n) with N(0, sigma^2) draws (Box-Muller, two per pair of
 * uniforms), deterministic for (seed, stream, row). */
static void fill_normal(float *x, int64_t n, float sigma, uint64_t seed, uint64_t stream,
                        uint64_t row) {
    uint64_t st = seed;
    uint64_t mix = splitmix64(&st) ^ (stream * 0xD1B54A32D192ED03ull);
    st = mix;
    mix = splitmix64(&st) ^ (row * 0x8CB92BA72F3D8DD7ull);
    st = mix;
    const float two_pi = 6.28318530717958647692f;
    for (int64_t i = 0; i < n; i += 2) {
        /* u1 in (0, 1], u2 in [0, 1): 24 random bits each */
        float u1 = (float)((splitmix64(&st) >> 40) + 1) * (1.0f / 16777216.0f);
        float u2 = (float)(splitmix64(&st) >> 40) * (1.0f / 16777216.0f);
        float r = sigma * sqrtf(-2.0f * logf(u1));
        x[i] = r * cosf(two_pi * u2);
        if (i + 1 < n) x[i + 1] = r * sinf(two_pi * u2);
    }
}

/* ---- tensors ---- */

#define SYNTH_SIGMA 0.02f

typedef struct synth_job synth_job;

/* One tensor of the model: n_rows rows of n_cols values, each row drawn
 * (or set to 1 for a norm) then quantized to `type`. */
typedef struct synth_tensor {
    synth_job *job;
    char name[64];
    uint32_t type;
    int n_dims;
    int64_t ne[2];   /* ne[0] = n_cols (contiguous), ne[1] = n_rows */
    bool is_norm;    /* all ones, f32 */
    uint64_t stream; /* RNG stream: the tensor's index */
    uint64_t row_bytes;
} synth_tensor;

struct synth_job {
    uint64_t seed;
    synth_tensor *t;
    int n_t;
    float *row;      /* (max n_cols) f32 values of the row being made */
    uint64_t done, total, next_report;
    void (*progress)(void *user, uint64_t done_bytes, uint64_t total_bytes, const char *tensor);
    void *progress_user;
};

/* mote_gguf_row_fn: make row `row` of the tensor in `user` into dst. */
static mote_status make_row(void *user, int64_t row, void *dst, size_t row_bytes, mote_error *err) {
    synth_tensor *t = user;
    synth_job *job = t->job;
    int64_t n = t->ne[0];
    if (t->is_norm) {
        for (int64_t i = 0; i < n; i++) job->row[i] = 1.0f;
    } else {
        fill_normal(job->row, n, SYNTH_SIGMA, job->seed, t->stream, (uint64_t)row);
    }
    const mote_type_traits *tr = mote__type_traits(t->type);
    if (row_bytes != t->row_bytes)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "synth: %s: row of %zu bytes, expected %llu",
                         t->name, row_bytes, (unsigned long long)t->row_bytes);
    tr->quantize_ref(job->row, dst, n);
    job->done += row_bytes;
    if (job->progress && (job->done >= job->next_report || row + 1 == t->ne[1])) {
        job->progress(job->progress_user, job->done, job->total, t->name);
        job->next_report = job->done + job->total / 200 + 1;
    }
    return MOTE_OK;
}

/* Append a tensor description to job->t (sized by the caller). */
static void add_desc(synth_job *job, const char *name, uint32_t type, int64_t n_cols,
                     int64_t n_rows, bool is_norm) {
    synth_tensor *t = &job->t[job->n_t];
    memset(t, 0, sizeof *t);
    t->job = job;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = is_norm ? MOTE_TYPE_F32 : type;
    t->n_dims = is_norm ? 1 : 2;
    t->ne[0] = n_cols;
    t->ne[1] = n_rows;
    t->is_norm = is_norm;
    t->stream = (uint64_t)job->n_t;
    mote__type_row_bytes(t->type, (uint64_t)n_cols, &t->row_bytes); /* checked by the caller */
    job->n_t++;
}

/* ---- vocabulary ---- */

/* The minimal vocab: <unk> <s> </s>, the 256 byte tokens <0xXX>, the 95
 * printable ASCII characters (space as "▁"), then "▁"-prefixed lower-case
 * words in breadth-first order ("▁", "▁a".."▁z", "▁aa", ...) until n_vocab
 * tokens, so every word's prefix is a token too and SentencePiece merges
 * reach it. Scores fall with the id. */
static mote_status write_min_vocab(mote_gguf_writer *w, int32_t n_vocab, mote_error *err) {
    const int32_t n_fixed = 3 + 256 + 95;
    if (n_vocab < n_fixed)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "synth: vocabulary of %d tokens is below the %d a byte-level vocab needs",
                         (int)n_vocab, (int)n_fixed);
    /* Each token text is at most 3 ("▁") + 8 letters + NUL: 16 bytes a slot. */
    enum { SLOT = 16 };
    char *text = mote__calloc((size_t)n_vocab, SLOT);
    const char **ptrs = mote__calloc((size_t)n_vocab, sizeof *ptrs);
    float *scores = mote__calloc((size_t)n_vocab, sizeof *scores);
    int32_t *types = mote__calloc((size_t)n_vocab, sizeof *types);
    mote_status s = MOTE_OK;
    if (!text || !ptrs || !scores || !types) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory for a vocabulary of %d tokens", (int)n_vocab);
        goto done;
    }
    static const char hex[] = "0123456789ABCDEF";
    int32_t id = 0;
    for (; id < n_vocab; id++) ptrs[id] = text + (size_t)id * SLOT;
    strcpy(text + 0 * SLOT, "<unk>");
    types[0] = MOTE_TOKEN_UNKNOWN;
    strcpy(text + 1 * SLOT, "<s>");
    types[1] = MOTE_TOKEN_CONTROL;
    strcpy(text + 2 * SLOT, "</s>");
    types[2] = MOTE_TOKEN_CONTROL;
    id = 3;
    for (int b = 0; b < 256; b++, id++) {
        char *p = text + (size_t)id * SLOT;
        p[0] = '<', p[1] = '0', p[2] = 'x', p[3] = hex[b >> 4], p[4] = hex[b & 15], p[5] = '>';
        types[id] = MOTE_TOKEN_BYTE;
    }
    for (int c = 0x20; c < 0x7f; c++, id++) {
        char *p = text + (size_t)id * SLOT;
        if (c == ' ') strcpy(p, "\xE2\x96\x81");
        else p[0] = (char)c;
        types[id] = MOTE_TOKEN_NORMAL;
    }
    /* Breadth-first words: length L from 1 up, the k-th word of length L is
     * k written in base 26 with L digits. "▁" alone is already a token. */
    for (int len = 1; id < n_vocab && len <= 8; len++) {
        uint64_t count = 1;
        for (int i = 0; i < len; i++) count *= 26;
        for (uint64_t k = 0; k < count && id < n_vocab; k++, id++) {
            char *p = text + (size_t)id * SLOT;
            memcpy(p, "\xE2\x96\x81", 3);
            uint64_t v = k;
            for (int i = len - 1; i >= 0; i--, v /= 26) p[3 + i] = (char)('a' + v % 26);
            types[id] = MOTE_TOKEN_NORMAL;
        }
    }
    for (int32_t i = 0; i < n_vocab; i++) scores[i] = i < 3 + 256 ? 0.0f : -(float)(i - 259);
    if ((s = mote__gguf_set_str(w, "tokenizer.ggml.model", "llama")) ||
        (s = mote__gguf_set_arr_str(w, "tokenizer.ggml.tokens", ptrs, (uint64_t)n_vocab)) ||
        (s = mote__gguf_set_arr(w, "tokenizer.ggml.scores", MOTE_GGUF_FLOAT32, scores, (uint64_t)n_vocab)) ||
        (s = mote__gguf_set_arr(w, "tokenizer.ggml.token_type", MOTE_GGUF_INT32, types, (uint64_t)n_vocab)) ||
        (s = mote__gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1)) ||
        (s = mote__gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2)) ||
        (s = mote__gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", 0)) ||
        (s = mote__gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true)) ||
        (s = mote__gguf_set_bool(w, "tokenizer.ggml.add_eos_token", false)))
        s = mote__err(err, s, "out of memory writing the vocabulary");
done:
    mote__free(text);
    mote__free(ptrs);
    mote__free(scores);
    mote__free(types);
    return s;
}

/* Copy every tokenizer.* key of the GGUF at path; its token count must be
 * n_vocab. */
static mote_status copy_vocab(mote_gguf_writer *w, const char *path, int32_t n_vocab,
                              const char *preset, mote_error *err) {
    mote_gguf *g;
    mote_status s = mote_gguf_open(path, &g, err);
    if (s) return s;
    mote_gguf_vtype et;
    uint64_t n = 0;
    const void *unused;
    if (mote__gguf_find_key(g, "tokenizer.ggml.tokens") < 0) {
        s = mote__err(err, MOTE_ERR_FORMAT, "%s: no tokenizer.ggml.tokens: not a vocab", path);
    } else if ((s = mote__gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &unused, err))) {
        /* err filled */
    } else if (n != (uint64_t)n_vocab) {
        s = mote__err(err, MOTE_ERR_INVALID_ARG,
                      "%s has %llu tokens but preset %s has a vocabulary of %d", path,
                      (unsigned long long)n, preset, (int)n_vocab);
    } else {
        for (int64_t i = 0; i < mote_gguf_n_kv(g) && !s; i++)
            if (strncmp(mote_gguf_kv_key(g, i), "tokenizer.", 10) == 0 &&
                (s = mote__gguf_set_from(w, g, i)))
                s = mote__err(err, s, "out of memory copying the vocabulary");
    }
    mote_gguf_close(g);
    return s;
}

/* ---- metadata ---- */

/* llama.cpp's general.file_type (llama_ftype) for a model all in `type`;
 * -1 where there is none. */
static int file_type_of(uint32_t type) {
    switch (type) {
    case MOTE_TYPE_F32: return 0;
    case MOTE_TYPE_F16: return 1;
    case MOTE_TYPE_Q4_0: return 2;
    case MOTE_TYPE_Q4_1: return 3;
    case MOTE_TYPE_Q8_0: return 7;
    case MOTE_TYPE_Q5_0: return 8;
    case MOTE_TYPE_Q5_1: return 9;
    case MOTE_TYPE_Q2_K: return 10;
    case MOTE_TYPE_Q3_K: return 11; /* Q3_K_S: every tensor q3_K */
    case MOTE_TYPE_Q4_K: return 14; /* Q4_K_S */
    case MOTE_TYPE_Q5_K: return 16; /* Q5_K_S */
    case MOTE_TYPE_Q6_K: return 18;
    case MOTE_TYPE_IQ4_NL: return 25;
    case MOTE_TYPE_BF16: return 32;
    case MOTE_TYPE_TQ1_0: return 36;
    case MOTE_TYPE_TQ2_0: return 37;
    default: return -1;
    }
}

/* general.* and llama.* keys of the preset with n_layer blocks. */
static mote_status write_hparams(mote_gguf_writer *w, const mote_synth_preset *pr, int32_t n_layer,
                                 uint32_t type, mote_error *err) {
    char name[96];
    snprintf(name, sizeof name, "mote synth %s", pr->name);
    int ft = file_type_of(type);
    mote_status s;
    if ((s = mote__gguf_set_str(w, "general.architecture", "llama")) ||
        (s = mote__gguf_set_str(w, "general.name", name)) ||
        (s = mote__gguf_set_u32(w, "llama.context_length", (uint32_t)pr->n_ctx)) ||
        (s = mote__gguf_set_u32(w, "llama.embedding_length", (uint32_t)pr->n_embd)) ||
        (s = mote__gguf_set_u32(w, "llama.block_count", (uint32_t)n_layer)) ||
        (s = mote__gguf_set_u32(w, "llama.feed_forward_length", (uint32_t)pr->n_ff)) ||
        (s = mote__gguf_set_u32(w, "llama.rope.dimension_count", (uint32_t)(pr->n_embd / pr->n_head))) ||
        (s = mote__gguf_set_u32(w, "llama.attention.head_count", (uint32_t)pr->n_head)) ||
        (s = mote__gguf_set_u32(w, "llama.attention.head_count_kv", (uint32_t)pr->n_head_kv)) ||
        (s = mote__gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", pr->rms_eps)) ||
        (s = mote__gguf_set_f32(w, "llama.rope.freq_base", pr->rope_freq_base)) ||
        (s = mote__gguf_set_u32(w, "llama.vocab_size", (uint32_t)pr->n_vocab)) ||
        (ft >= 0 && (s = mote__gguf_set_u32(w, "general.file_type", (uint32_t)ft))))
        return mote__err(err, s, "out of memory writing the metadata");
    return MOTE_OK;
}

/* ---- public ---- */

mote_status mote_synth_write(const char *path, const mote_synth_params *p, mote_error *err) {
    if (!path || !p)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "synth: no output path or parameters");
    const mote_synth_preset *pr = mote_synth_preset_find(p->preset);
    if (!pr) {
        char names[256] = "";
        for (int i = 0; i < N_PRESETS; i++) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", g_presets[i].name);
        }
        return mote__err(err, MOTE_ERR_INVALID_ARG, "unknown preset '%s' (presets: %s)",
                         p->preset ? p->preset : "(none)", names);
    }
    const char *type_name = p->type ? p->type : "f16";
    int type_id = mote__type_from_name(type_name);
    const mote_type_traits *tr = type_id >= 0 ? mote__type_traits((uint32_t)type_id) : NULL;
    if (!tr) return mote__err(err, MOTE_ERR_INVALID_ARG, "unknown type '%s'", type_name);
    uint32_t type = (uint32_t)type_id;
    int32_t n_layer = p->n_layer > 0 ? p->n_layer : pr->n_layer;
    if (p->n_layer < 0 || n_layer > 4096)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "%d layers is out of range (1..4096)",
                         (int)p->n_layer);

    /* Row lengths of the matrices: n_embd (q, k, v, gate, up, token
     * embedding, output), n_head * head_dim = n_embd (attn_output), n_ff
     * (ffn_down). Checked before the quantizer, so the error names the
     * real problem whatever this build can quantize. */
    const int64_t row_lens[2] = {pr->n_embd, pr->n_ff};
    for (int i = 0; i < 2; i++)
        if (row_lens[i] % tr->block_size != 0)
            return mote__err(err, MOTE_ERR_INVALID_ARG,
                             "type %s has blocks of %lld values, which do not divide the "
                             "rows of %lld values of preset %s",
                             tr->name, (long long)tr->block_size, (long long)row_lens[i], pr->name);
    if (!tr->quantize_ref)
        return mote__err(err, MOTE_ERR_UNSUPPORTED, "this build cannot quantize to %s yet",
                         tr->name);

    synth_job job = {.seed = p->seed, .progress = p->progress, .progress_user = p->progress_user};
    int n_tensors = 3 + 9 * n_layer;
    job.t = mote__calloc((size_t)n_tensors, sizeof *job.t);
    int64_t max_cols = pr->n_embd > pr->n_ff ? pr->n_embd : pr->n_ff;
    job.row = mote__malloc((size_t)max_cols * sizeof(float));
    mote_gguf_writer *w = mote__gguf_writer_new();
    mote_status s = MOTE_OK;
    if (!job.t || !job.row || !w) {
        s = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((s = write_hparams(w, pr, n_layer, type, err))) goto done;
    if (p->vocab_path) s = copy_vocab(w, p->vocab_path, pr->n_vocab, pr->name, err);
    else s = write_min_vocab(w, pr->n_vocab, err);
    if (s) goto done;

    /* Tensors in llama.cpp's order. Shapes as GGUF stores them: ne[0] is
     * the input dimension. q_dim = n_head * head_dim = n_embd; kv_dim =
     * n_head_kv * head_dim. */
    const int64_t n_embd = pr->n_embd, n_ff = pr->n_ff, n_vocab = pr->n_vocab;
    const int64_t kv_dim = (int64_t)pr->n_head_kv * (pr->n_embd / pr->n_head);
    char name[64];
    add_desc(&job, "token_embd.weight", type, n_embd, n_vocab, false);
    for (int32_t l = 0; l < n_layer; l++) {
#define T(suffix, cols, rows, norm)                                       \
        snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, suffix); \
        add_desc(&job, name, type, cols, rows, norm);
        T("attn_norm", n_embd, 1, true)
        T("attn_q", n_embd, n_embd, false)
        T("attn_k", n_embd, kv_dim, false)
        T("attn_v", n_embd, kv_dim, false)
        T("attn_output", n_embd, n_embd, false)
        T("ffn_norm", n_embd, 1, true)
        T("ffn_gate", n_embd, n_ff, false)
        T("ffn_up", n_embd, n_ff, false)
        T("ffn_down", n_ff, n_embd, false)
#undef T
    }
    add_desc(&job, "output_norm.weight", type, n_embd, 1, true);
    add_desc(&job, "output.weight", type, n_embd, n_vocab, false);

    for (int i = 0; i < job.n_t && !s; i++) {
        synth_tensor *t = &job.t[i];
        s = mote__gguf_add_tensor_rows(w, t->name, t->type, t->n_dims, t->ne, make_row, t, err);
        job.total += t->row_bytes * (uint64_t)t->ne[1];
    }
    if (s) goto done;
    s = mote__gguf_write(w, path, err);
done:
    mote__gguf_writer_free(w);
    mote__free(job.row);
    mote__free(job.t);
    return s;
}
