/* test_bench_synth.c — synthetic models (src/model/synth.c) and the GGUF
 * writer's streaming mode they rely on (mote__gguf_add_tensor_rows):
 *   - a streamed tensor writes the same bytes as the same data in memory,
 *     and a failing row callback aborts the write leaving no file;
 *   - the preset table holds the published shapes;
 *   - the weights are N(0, 0.02) (mean, standard deviation, share within
 *     one sigma) and norms exactly 1;
 *   - a quantized file holds exactly the reference quantization of the
 *     same draws as the f32 file (so every type goes through quantize_ref);
 *   - a deep model's logits stay finite; the minimal vocab loads and
 *     round-trips text;
 *   - bad parameters fail with a message naming the problem and leave no
 *     file. */
#include "mote.h"
#include "gguf/gguf.h"
#include "tensor/types.h"
#include "test.h"
#include <unistd.h>

static char g_tmpdir[64];

static const char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmpdir, name);
    return buf[k];
}

static bool file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Read a whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*len + 1);
    if (b && fread(b, 1, (size_t)*len, f) != (size_t)*len) { free(b); b = NULL; }
    fclose(f);
    return b;
}

/* ---- streaming writer ---- */

typedef struct rows_src {
    const uint8_t *data;
    int64_t fail_at; /* row whose callback fails, or -1 */
    int64_t calls;
} rows_src;

static mote_status copy_row(void *user, int64_t row, void *dst, size_t row_bytes, mote_error *err) {
    rows_src *s = user;
    if (row != s->calls) return mote__err(err, MOTE_ERR_INVALID_ARG, "rows out of order: %lld", (long long)row);
    s->calls++;
    if (row == s->fail_at) return mote__err(err, MOTE_ERR_IO, "row %lld failed on purpose", (long long)row);
    memcpy(dst, s->data + (size_t)row * row_bytes, row_bytes);
    return MOTE_OK;
}

static void test_stream_writer_same_bytes(void) {
    /* A q8_0 matrix (64 x 3: two blocks a row), an f32 vector, an f16 3-D
     * tensor (4 x 2 x 3: six rows). */
    static uint8_t q8[3 * 2 * 34], vec[5 * 4], h3[4 * 2 * 3 * 2];
    for (size_t i = 0; i < sizeof q8; i++) q8[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof vec; i++) vec[i] = (uint8_t)(i * 3);
    for (size_t i = 0; i < sizeof h3; i++) h3[i] = (uint8_t)(i ^ 0x5a);
    const int64_t ne_q8[2] = {64, 3}, ne_vec[1] = {5}, ne_h3[3] = {4, 2, 3};
    mote_error err = {0};
    mote_gguf_writer *a = mote__gguf_writer_new(), *b = mote__gguf_writer_new();
    T_REQUIRE(a && b, "out of memory");
    rows_src src[3] = {{q8, -1, 0}, {vec, -1, 0}, {h3, -1, 0}};
    for (int k = 0; k < 2; k++) {
        mote_gguf_writer *w = k ? b : a;
        T_CHECK(mote__gguf_set_str(w, "general.architecture", "test") == MOTE_OK, "set");
        if (k == 0) {
            T_CHECK(!mote__gguf_add_tensor(w, "q8", MOTE_TYPE_Q8_0, 2, ne_q8, q8, &err), "%s", err.msg);
            T_CHECK(!mote__gguf_add_tensor(w, "vec", MOTE_TYPE_F32, 1, ne_vec, vec, &err), "%s", err.msg);
            T_CHECK(!mote__gguf_add_tensor(w, "h3", MOTE_TYPE_F16, 3, ne_h3, h3, &err), "%s", err.msg);
        } else {
            T_CHECK(!mote__gguf_add_tensor_rows(w, "q8", MOTE_TYPE_Q8_0, 2, ne_q8, copy_row, &src[0], &err), "%s", err.msg);
            T_CHECK(!mote__gguf_add_tensor_rows(w, "vec", MOTE_TYPE_F32, 1, ne_vec, copy_row, &src[1], &err), "%s", err.msg);
            T_CHECK(!mote__gguf_add_tensor_rows(w, "h3", MOTE_TYPE_F16, 3, ne_h3, copy_row, &src[2], &err), "%s", err.msg);
        }
    }
    /* The streaming variant checks what the in-memory one checks. */
    const int64_t bad_ne[2] = {33, 1};
    T_CHECK(mote__gguf_add_tensor_rows(b, "bad", MOTE_TYPE_Q8_0, 2, bad_ne, copy_row, &src[0], &err) ==
                MOTE_ERR_INVALID_ARG, "a partial block was accepted");
    T_CHECK(mote__gguf_add_tensor_rows(b, "q8", MOTE_TYPE_Q8_0, 2, ne_q8, copy_row, &src[0], &err) ==
                MOTE_ERR_INVALID_ARG, "a duplicate name was accepted");
    T_CHECK(mote__gguf_add_tensor_rows(b, "nofn", MOTE_TYPE_F32, 1, ne_vec, NULL, NULL, &err) ==
                MOTE_ERR_INVALID_ARG, "a NULL callback was accepted");
    const char *pa = tmp_path("a.gguf"), *pb = tmp_path("b.gguf");
    T_CHECK(mote__gguf_write(a, pa, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(mote__gguf_write(b, pb, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(src[0].calls == 3 && src[1].calls == 1 && src[2].calls == 6,
            "row callbacks %lld %lld %lld, expected 3 1 6", (long long)src[0].calls,
            (long long)src[1].calls, (long long)src[2].calls);
    long la = 0, lb = 0;
    unsigned char *fa = slurp(pa, &la), *fb = slurp(pb, &lb);
    T_CHECK(fa && fb && la == lb && la > 0 && memcmp(fa, fb, (size_t)la) == 0,
            "streamed file differs (%ld vs %ld bytes)", la, lb);
    free(fa);
    free(fb);
    /* And the reader reads the streamed one back. */
    mote_gguf *g;
    T_CHECK(mote_gguf_open(pb, &g, &err) == MOTE_OK, "%s", err.msg);
    if (!t_cur_failed) {
        const mote_gguf_tensor *t = mote__gguf_find_tensor(g, "h3");
        T_CHECK(t && t->nbytes == sizeof h3 && memcmp(t->data, h3, sizeof h3) == 0, "h3 read back differs");
        mote_gguf_close(g);
    }
    mote__gguf_writer_free(a);
    mote__gguf_writer_free(b);
    unlink(pa);
    unlink(pb);
}

static void test_stream_writer_abort(void) {
    static uint8_t q8[4 * 34];
    const int64_t ne[2] = {32, 4};
    rows_src src = {q8, 2, 0};
    mote_error err = {0};
    mote_gguf_writer *w = mote__gguf_writer_new();
    T_REQUIRE(w, "out of memory");
    T_CHECK(!mote__gguf_add_tensor_rows(w, "q8", MOTE_TYPE_Q8_0, 2, ne, copy_row, &src, &err), "%s", err.msg);
    const char *path = tmp_path("abort.gguf");
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    T_CHECK(mote__gguf_write(w, path, &err) == MOTE_ERR_IO, "the failing callback's status was not returned");
    T_CHECK(strstr(err.msg, "row 2 failed on purpose") != NULL, "message '%s'", err.msg);
    T_CHECK(src.calls == 3, "%lld calls, expected 3 (stop at the failure)", (long long)src.calls);
    T_CHECK(!file_exists(path) && !file_exists(tmp), "a file was left behind");
    mote__gguf_writer_free(w);
}

/* ---- presets ---- */

static void test_presets_shapes(void) {
    /* dim, layers, heads, kv heads, ffn, vocab, ctx — from each model's
     * published configuration. */
    static const struct { const char *name; int v[7]; } want[] = {
        {"tinyllama-1.1b", {2048, 22, 32, 4, 5632, 32000, 2048}},
        {"llama-7b", {4096, 32, 32, 32, 11008, 32000, 4096}},
        {"phi3-mini", {3072, 32, 32, 32, 8192, 32064, 4096}},
        {"stories15m", {288, 6, 6, 6, 768, 32000, 256}},
    };
    T_CHECK(mote_synth_n_presets() == 4, "%d presets", mote_synth_n_presets());
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const mote_synth_preset *p = mote_synth_preset_find(want[i].name);
        T_REQUIRE(p, "no preset %s", want[i].name);
        int got[7] = {p->n_embd, p->n_layer, p->n_head, p->n_head_kv, p->n_ff, p->n_vocab, p->n_ctx};
        for (int k = 0; k < 7; k++)
            T_CHECK(got[k] == want[i].v[k], "%s: field %d is %d, expected %d", want[i].name, k, got[k], want[i].v[k]);
        T_CHECK(p->rope_freq_base == 10000.0f, "%s: rope base %g", want[i].name, (double)p->rope_freq_base);
    }
    T_CHECK(mote_synth_preset_find("TinyLlama") == NULL && mote_synth_preset_get(4) == NULL &&
                mote_synth_preset_get(-1) == NULL, "lookups out of range succeed");
}

/* ---- the weights ---- */

static mote_status synth_to(const char *path, const char *type, int32_t n_layer, uint64_t seed,
                            mote_error *err) {
    mote_synth_params p = mote_synth_default_params();
    p.preset = "stories15m";
    p.type = type;
    p.n_layer = n_layer;
    p.seed = seed;
    return mote_synth_write(path, &p, err);
}

static void test_weights_are_normal(void) {
    const char *path = tmp_path("f32.gguf");
    mote_error err = {0};
    T_REQUIRE(synth_to(path, "f32", 1, 7, &err) == MOTE_OK, "%s", err.msg);
    mote_gguf *g;
    T_REQUIRE(mote_gguf_open(path, &g, &err) == MOTE_OK, "%s", err.msg);
    const mote_gguf_tensor *t = mote__gguf_find_tensor(g, "blk.0.ffn_gate.weight");
    T_REQUIRE(t && t->type == MOTE_TYPE_F32 && t->ne[0] == 288 && t->ne[1] == 768, "ffn_gate shape/type");
    int64_t n = t->ne[0] * t->ne[1];
    const float *x = t->data;
    double sum = 0, ss = 0;
    int64_t within = 0;
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        ss += (double)x[i] * x[i];
        within += fabsf(x[i]) < 0.02f;
    }
    double mean = sum / (double)n, sd = sqrt(ss / (double)n - mean * mean);
    /* n = 221184: the mean's standard error is 0.02/sqrt(n) = 4.3e-5; the
     * standard deviation's relative error is about 1/sqrt(2n) = 0.15%;
     * P(|z| < 1) = 0.6827 with standard error 0.001. */
    T_CHECK(fabs(mean) < 3e-4, "mean %g", mean);
    T_CHECK(fabs(sd - 0.02) < 0.02 * 0.01, "standard deviation %g, expected 0.02 within 1%%", sd);
    T_CHECK(fabs((double)within / (double)n - 0.6827) < 0.006, "%.4f within one sigma", (double)within / (double)n);
    T_CHECK(memcmp(x, x + 288, 288 * sizeof(float)) != 0, "rows 0 and 1 are equal");
    const char *norms[] = {"blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight"};
    for (int k = 0; k < 3; k++) {
        const mote_gguf_tensor *nt = mote__gguf_find_tensor(g, norms[k]);
        T_REQUIRE(nt && nt->type == MOTE_TYPE_F32 && nt->n_dims == 1 && nt->ne[0] == 288, "%s", norms[k]);
        for (int i = 0; i < 288; i++) T_CHECK(((const float *)nt->data)[i] == 1.0f, "%s[%d] != 1", norms[k], i);
    }
    mote_gguf_close(g);
    unlink(path);
}

/* The q4_0 and q8_0 files hold quantize_ref of exactly the f32 file's
 * values (same seed), for every matrix, token embedding and output. */
static void test_quantized_equals_reference(void) {
    const char *types[] = {"q4_0", "q8_0", "f16"};
    mote_error err = {0};
    const char *pf = tmp_path("ref_f32.gguf");
    T_REQUIRE(synth_to(pf, "f32", 1, 99, &err) == MOTE_OK, "%s", err.msg);
    mote_gguf *gf;
    T_REQUIRE(mote_gguf_open(pf, &gf, &err) == MOTE_OK, "%s", err.msg);
    uint8_t *buf = malloc(32000u * 288u * 4u);
    T_REQUIRE(buf, "out of memory");
    for (int k = 0; k < 3; k++) {
        const char *pq = tmp_path("ref_q.gguf");
        T_REQUIRE(synth_to(pq, types[k], 1, 99, &err) == MOTE_OK, "%s", err.msg);
        mote_gguf *gq;
        T_REQUIRE(mote_gguf_open(pq, &gq, &err) == MOTE_OK, "%s", err.msg);
        const mote_type_traits *tr = mote__type_traits((uint32_t)mote__type_from_name(types[k]));
        T_CHECK(mote__gguf_n_tensors(gq) == mote__gguf_n_tensors(gf), "tensor counts differ");
        for (int64_t i = 0; i < mote__gguf_n_tensors(gf); i++) {
            const mote_gguf_tensor *tf = mote__gguf_tensor(gf, i);
            const mote_gguf_tensor *tq = mote__gguf_find_tensor(gq, tf->name);
            T_REQUIRE(tq && tq->ne[0] == tf->ne[0] && tq->ne[1] == tf->ne[1], "%s: shape differs", tf->name);
            if (tf->n_dims == 1) {
                T_CHECK(tq->type == MOTE_TYPE_F32 && memcmp(tq->data, tf->data, tf->nbytes) == 0,
                        "%s: norm not f32 ones", tf->name);
                continue;
            }
            T_CHECK(tq->type == (uint32_t)mote__type_from_name(types[k]), "%s: type %s", tf->name,
                    mote__type_name(tq->type));
            tr->quantize_ref(tf->data, buf, tf->ne[0] * tf->ne[1]);
            T_CHECK(tq->nbytes <= 32000u * 288u * 4u && memcmp(buf, tq->data, tq->nbytes) == 0,
                    "%s %s: not the reference quantization of the f32 draws", types[k], tf->name);
        }
        mote_gguf_close(gq);
        unlink(pq);
    }
    free(buf);
    mote_gguf_close(gf);
    unlink(pf);
}

/* 22 blocks (TinyLlama's depth) at stories15M's width, q8_0: the logits
 * of several positions are finite and not all equal. */
static void test_deep_logits_finite(void) {
    const char *path = tmp_path("deep.gguf");
    mote_error err = {0};
    T_REQUIRE(synth_to(path, "q8_0", 22, 5, &err) == MOTE_OK, "%s", err.msg);
    mote_model *m;
    T_REQUIRE(mote_model_load(path, &m, &err) == MOTE_OK, "%s", err.msg);
    mote_ctx *c;
    T_REQUIRE(mote_ctx_new(m, NULL, &c, &err) == MOTE_OK, "%s", err.msg);
    int32_t toks[4] = {1, 300, 4000, 31999};
    float *logits = malloc(4 * 32000 * sizeof(float));
    T_REQUIRE(logits, "out of memory");
    T_CHECK(mote_ctx_decode(c, toks, 4, logits, &err) == MOTE_OK, "%s", err.msg);
    int64_t bad = 0;
    float lo = logits[0], hi = logits[0];
    for (int i = 0; i < 4 * 32000; i++) {
        if (!isfinite(logits[i])) bad++;
        if (logits[i] < lo) lo = logits[i];
        if (logits[i] > hi) hi = logits[i];
    }
    T_CHECK(bad == 0, "%lld logits are not finite", (long long)bad);
    T_CHECK(hi - lo > 1e-3f && hi < 1e4f && lo > -1e4f, "logits range [%g, %g]", (double)lo, (double)hi);
    free(logits);
    mote_ctx_free(c);
    mote_model_free(m);
    unlink(path);
}

static void test_min_vocab_roundtrip(void) {
    const char *path = tmp_path("vocab.gguf");
    mote_error err = {0};
    T_REQUIRE(synth_to(path, "q4_0", 1, 1, &err) == MOTE_OK, "%s", err.msg);
    mote_model *m;
    T_REQUIRE(mote_model_load(path, &m, &err) == MOTE_OK, "%s", err.msg);
    const mote_vocab *v = mote_model_vocab(m);
    T_REQUIRE(v, "no vocab");
    T_CHECK(mote_vocab_n_tokens(v) == 32000 && mote_vocab_bos(v) == 1 && mote_vocab_eos(v) == 2,
            "n_tokens %d bos %d eos %d", mote_vocab_n_tokens(v), mote_vocab_bos(v), mote_vocab_eos(v));
    const char *text = "hello world, \xC3\xA9t\xC3\xA9 42!";
    int32_t ids[64];
    int64_t n = 0;
    T_REQUIRE(mote_tokenize(v, text, strlen(text), 1, ids, 64, &n, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(n > 1 && ids[0] == 1, "no BOS first");
    char out[256] = "";
    size_t len = 0;
    for (int64_t i = 1; i < n; i++) {
        int k = mote_token_to_piece(v, ids[i - 1], ids[i], out + len, (int)(sizeof out - 1 - len));
        T_REQUIRE(k >= 0, "piece of %d", ids[i]);
        len += (size_t)k;
    }
    out[len] = '\0';
    T_CHECK(strcmp(out, text) == 0, "decoded '%s'", out);
    /* "▁hello" is not a token (only words of a few letters are), but
     * "▁he" is: a merge happened. */
    T_CHECK(n < (int64_t)strlen(text) + 1, "%lld ids for %zu bytes: no merges", (long long)n, strlen(text));
    mote_model_free(m);
    unlink(path);
}

static void test_errors_leave_no_file(void) {
    const char *path = tmp_path("err.gguf");
    mote_error err = {0};
    mote_synth_params p = mote_synth_default_params();
    p.preset = "gpt-5";
    T_CHECK(mote_synth_write(path, &p, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "gpt-5"),
            "unknown preset: '%s'", err.msg);
    p.preset = "stories15m";
    p.type = "q3_0";
    T_CHECK(mote_synth_write(path, &p, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "q3_0"),
            "unknown type: '%s'", err.msg);
    p.type = "q4_K"; /* blocks of 256; stories15M's rows are 288 */
    T_CHECK(mote_synth_write(path, &p, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "288") &&
                strstr(err.msg, "256"), "block does not divide: '%s'", err.msg);
    p.type = "i32"; /* a type without a quantizer */
    T_CHECK(mote_synth_write(path, &p, &err) == MOTE_ERR_UNSUPPORTED && strstr(err.msg, "i32"),
            "no quantizer: '%s'", err.msg);
    const char *assets = t_assets();
    if (assets) {
        char vocab[4200];
        snprintf(vocab, sizeof vocab, "%s/vocab/ggml-vocab-llama-spm.gguf", assets);
        p.preset = "phi3-mini"; /* 32064 tokens; the llama vocab has 32000 */
        p.type = "q8_0";
        p.vocab_path = vocab;
        T_CHECK(mote_synth_write(path, &p, &err) == MOTE_ERR_INVALID_ARG && strstr(err.msg, "32064"),
                "vocab size mismatch: '%s'", err.msg);
    }
    p.preset = "stories15m";
    p.type = "f16";
    p.vocab_path = NULL;
    T_CHECK(mote_synth_write(tmp_path("no/such/dir.gguf"), &p, &err) == MOTE_ERR_IO, "unwritable path: '%s'", err.msg);
    T_CHECK(!file_exists(path), "a file was left behind");
}

int main(void) {
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/mote_test_synth.XXXXXX");
    if (!mkdtemp(g_tmpdir)) {
        printf("not ok - mkdtemp: cannot create a temporary folder\n");
        return 1;
    }
    T_RUN(test_stream_writer_same_bytes);
    T_RUN(test_stream_writer_abort);
    T_RUN(test_presets_shapes);
    T_RUN(test_weights_are_normal);
    T_RUN(test_quantized_equals_reference);
    T_RUN(test_deep_logits_finite);
    T_RUN(test_min_vocab_roundtrip);
    T_RUN(test_errors_leave_no_file);
    rmdir(g_tmpdir);
    return t_exit();
}
