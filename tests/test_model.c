/* test_model.c — the Llama forward pass on the real stories260K model
 * against the reference run's golden values (with 1 and 3 threads), the
 * context's contracts (ranges, batch rows, no allocation while decoding),
 * and the sampler. Threads and batches in depth: test_threads.c. */
#include "mote.h"
#include "test.h"
#include <unistd.h>
#include "kernels/kernels.h"

static char g_model_path[4200];

static mote_model *load_stories(void) {
    const char *assets = t_assets();
    if (!assets) return NULL;
    snprintf(g_model_path, sizeof g_model_path, "%s/models/stories260K.gguf", assets);
    mote_model *m = NULL;
    mote_error err = {0};
    if (mote_model_load(g_model_path, &m, &err) != MOTE_OK) {
        fprintf(stderr, "load failed: %s\n", err.msg);
        return NULL;
    }
    return m;
}

/* Read "pos0 logits[0..5]= a b c d e sum=S" and "GREEDY_FROM_BOS_64: ids". */
static int read_golden(float first5[5], double *sum, int greedy[64]) {
    char path[4200];
    snprintf(path, sizeof path, "%s/models/stories260K.golden-ids.txt", t_assets());
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "pos0 logits[0..5]= %f %f %f %f %f sum=%lf", &first5[0], &first5[1],
                   &first5[2], &first5[3], &first5[4], sum) == 6)
            got |= 1;
        if (!strncmp(line, "GREEDY_FROM_BOS_64:", 19)) {
            char *p = line + 19;
            int n = 0, off;
            while (n < 64 && sscanf(p, "%d%n", &greedy[n], &off) == 1) { p += off; n++; }
            if (n == 64) got |= 2;
        }
    }
    fclose(f);
    return got == 3;
}

/* BOS logits within 1e-4 of the reference run (each of the first five; the
 * sum of 512 within 512 * 1e-4). */
static void test_bos_logits_golden(void) {
    mote_model *m = load_stories();
    if (!m) T_SKIP("../shared/assets/models/stories260K.gguf is absent");
    float want[5];
    double want_sum;
    int greedy[64];
    T_REQUIRE(read_golden(want, &want_sum, greedy), "cannot parse the golden file");
    mote_ctx *c;
    mote_error err = {0};
    T_REQUIRE(mote_ctx_new(m, NULL, &c, &err) == MOTE_OK, "%s", err.msg);
    int32_t bos = 1;
    T_REQUIRE(mote_ctx_decode(c, &bos, 1, NULL, &err) == MOTE_OK, "%s", err.msg);
    const float *l = mote_ctx_logits(c);
    for (int i = 0; i < 5; i++)
        T_CHECK(fabsf(l[i] - want[i]) <= 1e-4f, "logit %d: %.6f, want %.6f", i, l[i], want[i]);
    double sum = 0;
    for (int i = 0; i < 512; i++) sum += l[i];
    T_CHECK(fabs(sum - want_sum) <= 512 * 1e-4, "sum %.6f, want %.6f", sum, want_sum);
    mote_ctx_free(c);
    mote_model_free(m);
}

/* Greedy decoding from BOS gives the reference run's 64 ids, through the
 * library API (the CLI test checks the 256-token text), with 1 thread and
 * with 3. */
static void test_greedy_64_golden(void) {
    mote_model *m = load_stories();
    if (!m) T_SKIP("../shared/assets/models/stories260K.gguf is absent");
    float want[5];
    double want_sum;
    int greedy[64];
    T_REQUIRE(read_golden(want, &want_sum, greedy), "cannot parse the golden file");
    for (int n_threads = 1; n_threads <= 3; n_threads += 2) {
        mote_ctx *c;
        mote_sampler *s;
        mote_error err = {0};
        mote_sampler_params sp = mote_sampler_default_params();
        sp.temperature = 0;
        mote_ctx_params cp = mote_ctx_default_params();
        cp.n_threads = n_threads;
        T_REQUIRE(mote_ctx_new(m, &cp, &c, &err) == MOTE_OK, "%s", err.msg);
        T_REQUIRE(mote_sampler_new(&sp, 512, &s, &err) == MOTE_OK, "%s", err.msg);
        int32_t tok = 1;
        for (int i = 0; i < 64; i++) {
            T_REQUIRE(mote_ctx_decode(c, &tok, 1, NULL, &err) == MOTE_OK, "%s", err.msg);
            tok = mote_sampler_sample(s, mote_ctx_logits(c));
            T_CHECK(tok == greedy[i], "%d threads, token %d: got %d, want %d", n_threads, i, tok,
                    greedy[i]);
            if (tok != greedy[i]) break;
        }
        mote_sampler_free(s);
        mote_ctx_free(c);
    }
    mote_model_free(m);
}

/* Decoding several tokens at once gives the same logits rows as one by
 * one: bit-identical when the f32 kernels have no vec_dot_4 (both paths
 * then use vec_dot); with vec_dot_4, which sums in another order, each
 * logit within 1e-5 * (1 + max|logit|) (float32 rounding; measured about
 * 5e-7 on x86-64 AVX2) and the same argmax per row. */
static void test_decode_batch_rows(void) {
    mote_model *m = load_stories();
    if (!m) T_SKIP("stories260K.gguf is absent");
    mote_ctx *a, *b;
    mote_error err = {0};
    T_REQUIRE(mote_ctx_new(m, NULL, &a, &err) == MOTE_OK && mote_ctx_new(m, NULL, &b, &err) == MOTE_OK, "%s", err.msg);
    int32_t toks[4] = {1, 403, 407, 261};
    static float rows[4 * 512];
    T_REQUIRE(mote_ctx_decode(a, toks, 4, rows, &err) == MOTE_OK, "%s", err.msg);
    for (int i = 0; i < 4; i++) {
        T_REQUIRE(mote_ctx_decode(b, &toks[i], 1, NULL, &err) == MOTE_OK, "%s", err.msg);
        const float *want = mote_ctx_logits(b), *got = rows + i * 512;
        if (!mote__kernels_for(MOTE_TYPE_F32)->vec_dot_4) {
            T_CHECK(memcmp(got, want, 512 * sizeof(float)) == 0, "row %d differs", i);
            continue;
        }
        float max_ref = 0, max_diff = 0;
        int arg_want = 0, arg_got = 0;
        for (int j = 0; j < 512; j++) {
            if (fabsf(want[j]) > max_ref) max_ref = fabsf(want[j]);
            float d = fabsf(want[j] - got[j]);
            if (!(d <= max_diff)) max_diff = d;
            if (want[j] > want[arg_want]) arg_want = j;
            if (got[j] > got[arg_got]) arg_got = j;
        }
        T_CHECK(max_diff <= 1e-5f * (1 + max_ref), "row %d: max diff %g of max %g", i, max_diff, max_ref);
        T_CHECK(arg_want == arg_got, "row %d: argmax %d, want %d", i, arg_got, arg_want);
    }
    T_CHECK(mote_ctx_n_past(a) == 4, "n_past %d", mote_ctx_n_past(a));
    mote_ctx_reset(a);
    T_CHECK(mote_ctx_n_past(a) == 0, "reset");
    mote_ctx_free(a);
    mote_ctx_free(b);
    mote_model_free(m);
}

/* mote_ctx_truncate: going back to 3 positions and decoding the same
 * tokens again gives the same logits, bit for bit, after a different
 * continuation was decoded in between — with the f32 cache and with a q8_0
 * one (whose f32 window is refilled from the stored rows); keeping more
 * positions than the context holds, or fewer than none, is MOTE_ERR_RANGE
 * and changes nothing. */
static void test_ctx_truncate(void) {
    mote_model *m = load_stories();
    if (!m) T_SKIP("stories260K.gguf is absent");
    static const char *kv_types[] = {"f32", "q8_0"};
    for (int ki = 0; ki < 2; ki++) {
        mote_ctx_params p = mote_ctx_default_params();
        p.n_ctx = 16;
        p.kv_type = kv_types[ki];
        mote_ctx *c;
        mote_error err = {0};
        T_REQUIRE(mote_ctx_new(m, &p, &c, &err) == MOTE_OK, "%s", err.msg);
        const int32_t toks[6] = {1, 403, 407, 261, 300, 12}, other[3] = {50, 60, 70};
        static float want[512];
        T_REQUIRE(mote_ctx_decode(c, toks, 3, NULL, &err) == MOTE_OK && mote_ctx_decode(c, toks + 3, 3, NULL, &err) == MOTE_OK,
                  "%s", err.msg);
        memcpy(want, mote_ctx_logits(c), sizeof want);
        T_CHECK(mote_ctx_truncate(c, 7, &err) == MOTE_ERR_RANGE && strstr(err.msg, "6"), "keep 7 of 6: %s", err.msg);
        T_CHECK(mote_ctx_truncate(c, -1, &err) == MOTE_ERR_RANGE, "keep -1 accepted");
        T_CHECK(mote_ctx_n_past(c) == 6, "a refused truncation changed n_past to %d", mote_ctx_n_past(c));
        T_REQUIRE(mote_ctx_truncate(c, 3, &err) == MOTE_OK && mote_ctx_n_past(c) == 3, "%s", err.msg);
        T_REQUIRE(mote_ctx_decode(c, other, 3, NULL, &err) == MOTE_OK, "%s", err.msg);
        T_CHECK(memcmp(mote_ctx_logits(c), want, sizeof want) != 0, "%s: another continuation, the same logits",
                kv_types[ki]);
        T_REQUIRE(mote_ctx_truncate(c, 3, &err) == MOTE_OK, "%s", err.msg);
        T_REQUIRE(mote_ctx_decode(c, toks + 3, 3, NULL, &err) == MOTE_OK, "%s", err.msg);
        T_CHECK(memcmp(mote_ctx_logits(c), want, sizeof want) == 0, "%s: after truncating, other logits",
                kv_types[ki]);
        T_CHECK(mote_ctx_n_past(c) == 6, "n_past %d", mote_ctx_n_past(c));
        mote_ctx_free(c);
    }
    mote_model_free(m);
}

/* A prompt longer than the context and an out-of-range id are errors. */
static void test_decode_range_errors(void) {
    mote_model *m = load_stories();
    if (!m) T_SKIP("stories260K.gguf is absent");
    mote_ctx *c;
    mote_error err = {0};
    mote_ctx_params p = mote_ctx_default_params();
    p.n_ctx = 4;
    T_REQUIRE(mote_ctx_new(m, &p, &c, &err) == MOTE_OK, "%s", err.msg);
    int32_t toks[5] = {1, 2, 3, 4, 5};
    T_CHECK(mote_ctx_decode(c, toks, 5, NULL, &err) == MOTE_ERR_RANGE, "5 tokens in a context of 4");
    T_CHECK(strstr(err.msg, "context") != NULL, "message: %s", err.msg);
    T_CHECK(mote_ctx_n_past(c) == 0, "nothing evaluated on error");
    int32_t bad = 512;
    T_CHECK(mote_ctx_decode(c, &bad, 1, NULL, &err) == MOTE_ERR_INVALID_ARG, "id 512 of 512");
    bad = -1;
    T_CHECK(mote_ctx_decode(c, &bad, 1, NULL, &err) == MOTE_ERR_INVALID_ARG, "id -1");
    T_CHECK(mote_ctx_decode(c, toks, 4, NULL, &err) == MOTE_OK, "4 fit: %s", err.msg);
    T_CHECK(mote_ctx_decode(c, toks, 1, NULL, &err) == MOTE_ERR_RANGE, "a 5th does not");
    mote_ctx_free(c);
    mote_model_free(m);
}

/* ---- no allocation while decoding: count through the allocator hook ---- */
static long g_allocs;
static void *count_malloc(size_t n, void *u) { (void)u; g_allocs++; return malloc(n); }
static void *count_realloc(void *p, size_t n, void *u) { (void)u; g_allocs++; return realloc(p, n); }
static void count_free(void *p, void *u) { (void)u; free(p); }

static void test_decode_allocates_nothing(void) {
    mote_allocator a = {count_malloc, count_realloc, count_free, NULL};
    mote_set_allocator(&a);
    mote_model *m = load_stories();
    if (!m) { mote_set_allocator(NULL); T_SKIP("stories260K.gguf is absent"); }
    T_CHECK(g_allocs > 0, "loading went through the hook");
    mote_ctx *c;
    mote_sampler *s;
    mote_error err = {0};
    T_REQUIRE(mote_ctx_new(m, NULL, &c, &err) == MOTE_OK, "%s", err.msg);
    mote_sampler_params sp = mote_sampler_default_params();
    sp.repeat_penalty = 1.1f;
    T_REQUIRE(mote_sampler_new(&sp, 512, &s, &err) == MOTE_OK, "%s", err.msg);
    long before = g_allocs;
    int32_t tok = 1;
    for (int i = 0; i < 32; i++) {
        T_REQUIRE(mote_ctx_decode(c, &tok, 1, NULL, &err) == MOTE_OK, "%s", err.msg);
        tok = mote_sampler_sample(s, mote_ctx_logits(c));
        mote_sampler_accept(s, tok);
    }
    T_CHECK(g_allocs == before, "%ld allocations during 32 decode+sample steps", g_allocs - before);
    mote_sampler_free(s);
    mote_ctx_free(c);
    mote_model_free(m);
    mote_set_allocator(NULL);
}

/* ---- sampler ---- */

static void test_sampler_greedy_and_seed(void) {
    float logits[6] = {0.1f, 2.0f, 1.9f, -1.0f, 2.0f, 0.0f};
    mote_sampler *s;
    mote_sampler_params p = mote_sampler_default_params();
    p.temperature = 0;
    T_REQUIRE(mote_sampler_new(&p, 6, &s, NULL) == MOTE_OK, "new");
    T_CHECK(mote_sampler_sample(s, logits) == 1, "greedy takes the first maximum");
    mote_sampler_free(s);

    /* Same seed, same draws; another seed, another sequence. */
    p = mote_sampler_default_params();
    p.temperature = 1.0f;
    p.top_k = 0; p.top_p = 1.0f; p.min_p = 0.0f;
    int seq[3][64];
    uint64_t seeds[3] = {42, 42, 43};
    for (int r = 0; r < 3; r++) {
        p.seed = seeds[r];
        T_REQUIRE(mote_sampler_new(&p, 6, &s, NULL) == MOTE_OK, "new");
        for (int i = 0; i < 64; i++) seq[r][i] = mote_sampler_sample(s, logits);
        mote_sampler_free(s);
    }
    T_CHECK(memcmp(seq[0], seq[1], sizeof seq[0]) == 0, "same seed differs");
    T_CHECK(memcmp(seq[0], seq[2], sizeof seq[0]) != 0, "different seeds agree on 64 draws");
}

/* At temperature 1 with no truncation, draw frequencies follow softmax:
 * each within 5 standard deviations of its expectation over 40000 draws. */
static void test_sampler_distribution(void) {
    float logits[4] = {0.0f, 1.0f, 2.0f, -0.5f};
    double z = 0, pr[4];
    for (int i = 0; i < 4; i++) z += exp(logits[i]);
    for (int i = 0; i < 4; i++) pr[i] = exp(logits[i]) / z;
    mote_sampler_params p = mote_sampler_default_params();
    p.temperature = 1.0f; p.top_k = 0; p.top_p = 1.0f; p.min_p = 0.0f; p.seed = 7;
    mote_sampler *s;
    T_REQUIRE(mote_sampler_new(&p, 4, &s, NULL) == MOTE_OK, "new");
    const int N = 40000;
    int cnt[4] = {0};
    for (int i = 0; i < N; i++) cnt[mote_sampler_sample(s, logits)]++;
    for (int i = 0; i < 4; i++) {
        double sd = sqrt(N * pr[i] * (1 - pr[i]));
        T_CHECK(fabs(cnt[i] - N * pr[i]) < 5 * sd, "token %d: %d draws, expected %.0f", i, cnt[i], N * pr[i]);
    }
    mote_sampler_free(s);
}

/* top-k 2 never draws outside the top two; min-p 0.5 keeps only tokens
 * with at least half the top probability; top-p keeps the smallest prefix. */
static void test_sampler_truncation(void) {
    float logits[5] = {3.0f, 2.9f, 1.0f, 0.5f, 2.5f};
    mote_sampler_params p = mote_sampler_default_params();
    p.temperature = 1.5f; p.top_k = 2; p.top_p = 1.0f; p.min_p = 0.0f; p.seed = 1;
    mote_sampler *s;
    T_REQUIRE(mote_sampler_new(&p, 5, &s, NULL) == MOTE_OK, "new");
    int seen[5] = {0};
    for (int i = 0; i < 2000; i++) seen[mote_sampler_sample(s, logits)]++;
    T_CHECK(seen[0] && seen[1] && !seen[2] && !seen[3] && !seen[4], "top-k 2: %d %d %d %d %d", seen[0], seen[1], seen[2], seen[3], seen[4]);
    mote_sampler_free(s);

    /* probabilities at T=1 relative to the top: 1, e^-0.1=.905, e^-2, e^-2.5, e^-0.5=.607 */
    p.top_k = 0; p.min_p = 0.62f;
    T_REQUIRE(mote_sampler_new(&p, 5, &s, NULL) == MOTE_OK, "new");
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 2000; i++) seen[mote_sampler_sample(s, logits)]++;
    T_CHECK(seen[0] && seen[1] && !seen[2] && !seen[3] && !seen[4], "min-p: %d %d %d %d %d", seen[0], seen[1], seen[2], seen[3], seen[4]);
    mote_sampler_free(s);

    /* softmax at T=1: .366 .332 .050 .030 .222 (sorted: 0, 1, 4, 2, 3);
     * top-p 0.9 keeps 0, 1, 4 (cumulative .920; 0 and 1 alone are .698). */
    p.min_p = 0.0f; p.top_p = 0.9f;
    T_REQUIRE(mote_sampler_new(&p, 5, &s, NULL) == MOTE_OK, "new");
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 4000; i++) seen[mote_sampler_sample(s, logits)]++;
    T_CHECK(seen[0] && seen[1] && seen[4] && !seen[2] && !seen[3], "top-p: %d %d %d %d %d", seen[0], seen[1], seen[2], seen[3], seen[4]);
    mote_sampler_free(s);
}

/* The repetition penalty turns the greedy choice away from a recent token. */
static void test_sampler_repeat_penalty(void) {
    float logits[3] = {2.0f, 1.5f, -1.0f};
    mote_sampler_params p = mote_sampler_default_params();
    p.temperature = 0; p.repeat_penalty = 1.5f; p.repeat_last_n = 2;
    mote_sampler *s;
    T_REQUIRE(mote_sampler_new(&p, 3, &s, NULL) == MOTE_OK, "new");
    T_CHECK(mote_sampler_sample(s, logits) == 0, "no history");
    mote_sampler_accept(s, 0);
    T_CHECK(mote_sampler_sample(s, logits) == 1, "2.0/1.5 < 1.5");
    mote_sampler_accept(s, 1);
    mote_sampler_accept(s, 1); /* token 0 leaves the window of 2 */
    T_CHECK(mote_sampler_sample(s, logits) == 0, "window of 2");
    mote_sampler_free(s);
    mote_error err = {0};
    p.top_p = 0.0f;
    T_CHECK(mote_sampler_new(&p, 3, &s, &err) == MOTE_ERR_INVALID_ARG, "top-p 0 rejected");
}

/* Loading errors: a missing file, and a vocab-only file as a model. */
static void test_load_errors(void) {
    mote_model *m = NULL;
    mote_error err = {0};
    T_CHECK(mote_model_load("/nonexistent/x.gguf", &m, &err) == MOTE_ERR_IO && m == NULL, "missing file");
    T_CHECK(strstr(err.msg, "/nonexistent/x.gguf") != NULL, "message names the file: %s", err.msg);
    const char *assets = t_assets();
    if (!assets) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-llama-spm.gguf", assets);
    mote_status s = mote_model_load(path, &m, &err);
    T_CHECK(s != MOTE_OK && m == NULL, "a vocab-only file is not a model");
    T_CHECK(strstr(err.msg, "token_embd") || strstr(err.msg, "missing"), "message: %s", err.msg);
}

/* The logits of 8 greedy steps from BOS of the model at path loaded in
 * mode (its storage name in *storage); false on a load failure. */
static bool greedy_logits(const char *path, mote_load_mode mode, float *logits, const char **storage) {
    mote_model *m = NULL;
    mote_ctx *c = NULL;
    mote_error err = {0};
    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_threads = 2;
    if (mote_model_load_with(path, mode, &m, &err) || mote_ctx_new(m, &cp, &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        mote_model_free(m);
        return false;
    }
    mote_model_info info;
    mote_model_get_info(m, &info);
    *storage = info.storage;
    int32_t tok = 1;
    bool ok = true;
    for (int i = 0; i < 8 && ok; i++) {
        ok = mote_ctx_decode(c, &tok, 1, NULL, &err) == MOTE_OK;
        memcpy(logits + i * 512, mote_ctx_logits(c), 512 * sizeof(float));
        tok = 0;
        for (int v = 1; v < 512; v++)
            if (logits[i * 512 + v] > logits[i * 512 + tok]) tok = v;
    }
    mote_ctx_free(c);
    mote_model_free(m);
    return ok;
}

/* The load modes: mapped and read give bit-identical logits (the same
 * bytes through the same kernels) and report their storage; the default
 * (auto) reads a file as small as this one; an unknown mode is an
 * argument error; a file cut short fails read as it fails mapped. */
static void test_load_modes(void) {
    mote_model *first = load_stories(); /* sets g_model_path */
    if (!first) T_SKIP("stories260K.gguf is absent");
    mote_model_free(first);
    static float a[8 * 512], b[8 * 512], c[8 * 512];
    const char *sa = "", *sb = "", *sc = "";
    T_REQUIRE(greedy_logits(g_model_path, MOTE_LOAD_MMAP, a, &sa), "mmap load");
    T_REQUIRE(greedy_logits(g_model_path, MOTE_LOAD_READ, b, &sb), "read load");
    T_REQUIRE(greedy_logits(g_model_path, MOTE_LOAD_AUTO, c, &sc), "auto load");
    T_CHECK(!strcmp(sa, "mmap") && !strcmp(sb, "read") && !strcmp(sc, "read"), "storage %s / %s / %s", sa, sb, sc);
    T_CHECK(!memcmp(a, b, sizeof a), "read and mapped weights give the same logits");
    T_CHECK(!memcmp(a, c, sizeof a), "auto and mapped weights give the same logits");

    mote_model *m = NULL;
    mote_error err = {0};
    T_CHECK(mote_model_load_with(g_model_path, (mote_load_mode)7, &m, &err) == MOTE_ERR_INVALID_ARG && !m,
            "unknown mode: %s", err.msg);
    T_CHECK(mote_model_load_with("/nonexistent/x.gguf", MOTE_LOAD_READ, &m, &err) == MOTE_ERR_IO && !m &&
                strstr(err.msg, "/nonexistent/x.gguf"), "missing file read: %s", err.msg);
    T_CHECK(mote_model_load_with("/tmp", MOTE_LOAD_READ, &m, &err) == MOTE_ERR_IO && !m &&
                strstr(err.msg, "not a regular file"), "a directory: %s", err.msg);

    /* The first 3/4 of the file: the tensor data runs past its end. */
    char cut[600];
    const char *tmp = getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 500 ? getenv("TMPDIR") : "/tmp";
    snprintf(cut, sizeof cut, "%s/mote-test-cut-%d.gguf", tmp, (int)getpid());
    FILE *in = fopen(g_model_path, "rb"), *out = fopen(cut, "wb");
    T_REQUIRE(in && out, "cannot copy the model to a temporary file");
    static uint8_t buf[4 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    T_REQUIRE(n > 1000 && n < sizeof buf, "model size %zu", n);
    T_REQUIRE(fwrite(buf, 1, n * 3 / 4, out) == n * 3 / 4 && fclose(out) == 0, "cannot write the cut copy");
    mote_error e_map = {0}, e_read = {0};
    const mote_status s_map = mote_model_load_with(cut, MOTE_LOAD_MMAP, &m, &e_map);
    const mote_status s_read = mote_model_load_with(cut, MOTE_LOAD_READ, &m, &e_read);
    remove(cut);
    T_CHECK(s_map == MOTE_ERR_FORMAT && s_read == MOTE_ERR_FORMAT && !m, "cut file: %d / %d", (int)s_map, (int)s_read);
    T_CHECK(!strcmp(e_map.msg, e_read.msg), "not the mapped load's message: '%.400s'", e_read.msg);
}

int main(void) {
    T_RUN(test_bos_logits_golden);
    T_RUN(test_greedy_64_golden);
    T_RUN(test_decode_batch_rows);
    T_RUN(test_decode_range_errors);
    T_RUN(test_ctx_truncate);
    T_RUN(test_decode_allocates_nothing);
    T_RUN(test_sampler_greedy_and_seed);
    T_RUN(test_sampler_distribution);
    T_RUN(test_sampler_truncation);
    T_RUN(test_sampler_repeat_penalty);
    T_RUN(test_load_errors);
    T_RUN(test_load_modes);
    return t_exit();
}
