/* test_vocab_train.c — mote_vocab_train (src/tokenizer/bpe_train.c): a BPE
 * vocabulary trained on a generated corpus (English-like words, accented
 * Latin, Cyrillic, CJK, emoji, numbers, punctuation, CRLF) is read back by
 * mote's own tokenizer and
 *   - encode -> decode gives every test text back byte for byte, texts the
 *     corpus never had included (invalid UTF-8, NUL-free control bytes,
 *     long whitespace runs, "<s>" written as text);
 *   - the merges are consistent: each is "LEFT RIGHT" of two tokens that
 *     exist before it (bytes or results of earlier merges), LEFT+RIGHT is a
 *     token, and every token past the 258 fixed ones is some merge's result;
 *   - the requested size is reached, BOS/EOS are <s>/</s>, the most frequent
 *     word of the corpus becomes one token, and training twice writes
 *     identical files;
 *   - an empty file or one with a NUL byte fails with a message naming it.
 */
#include "test.h"
#include "mote.h"
#include "gguf/gguf.h"

#include <unistd.h>

static char dir[] = "/tmp/mote_vocab_train_XXXXXX";
static char corpus_path[256], vocab_path[256], vocab2_path[256];

static uint64_t rng_state = 12345;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

static const char *words[] = {
    "the", "the", "the", "and", "of", "to", "world", "world", "world", "model", "token",
    "training", "café", "naïve", "über", "Привет", "мир", "日本語", "東京", "🙂", "👍🏽",
    "mote", "quantize", "It's", "don't", "they'll", "2026", "3.14159", "x86-64", "(a+b)",
    "e-mail", "\"quoted\"", "–", "—", "…", "tab\there", "ünïcödé",
};

static int write_file(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static int make_corpus(void) {
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    if (!buf) return -1;
    while (n < 300000) {
        if (rnd(3) == 0) { /* a made-up word of 1-4 syllables: many distinct words */
            static const char *syl[] = {"ka", "lo", "mi", "tur", "sen", "vo", "ré", "dé", "zu", "ba"};
            for (uint32_t k = 1 + rnd(4); k > 0; k--) {
                const char *y = syl[rnd(10)];
                memcpy(buf + n, y, strlen(y));
                n += strlen(y);
            }
        } else {
            const char *w = words[rnd(sizeof words / sizeof words[0])];
            size_t l = strlen(w);
            memcpy(buf + n, w, l);
            n += l;
        }
        uint32_t r = rnd(40);
        buf[n++] = r == 0 ? '\n' : r == 1 ? '.' : r == 2 ? ',' : ' ';
        if (r == 3) buf[n++] = '\r', buf[n++] = '\n';
    }
    int rc = write_file(corpus_path, buf, n);
    free(buf);
    return rc;
}

/* encode (no BOS) then concatenate the pieces; 1 if equal to text */
static int roundtrip(const mote_vocab *v, const char *text, size_t len, char *why, size_t why_n) {
    mote_error err = {0};
    int64_t n = 0;
    mote_status s = mote_tokenize(v, text, len, 0, NULL, 0, &n, &err);
    if (s && s != MOTE_ERR_RANGE) {
        snprintf(why, why_n, "encode: %.200s", err.msg);
        return 0;
    }
    int32_t *ids = malloc((size_t)(n + 1) * sizeof *ids);
    char *out = malloc(len + 64);
    if (!ids || !out) return 0;
    mote_tokenize(v, text, len, 0, ids, n, &n, &err);
    size_t m = 0;
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) {
        char piece[256];
        int k = mote_token_to_piece(v, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
        if (k < 0 || m + (size_t)k > len + 63) ok = 0;
        else memcpy(out + m, piece, (size_t)k), m += (size_t)k;
    }
    ok = ok && m == len && memcmp(out, text, len) == 0;
    if (!ok) snprintf(why, why_n, "%.40s... (%zu bytes) decodes to %zu bytes", text, len, m);
    free(ids);
    free(out);
    return ok;
}

static void test_train_and_roundtrip(void) {
    mote_error err = {0};
    const char *paths[1] = {corpus_path};
    mote_vocab_train_opts o = {.n_vocab = 700, .name = "test"};
    mote_vocab_train_summary sum;
    T_REQUIRE(mote_vocab_train(paths, 1, vocab_path, &o, &sum, &err) == MOTE_OK, "train: %s", err.msg);
    T_CHECK(sum.n_tokens == 700, "n_tokens %d, want 700", sum.n_tokens);
    T_CHECK(sum.n_merges >= 700 - 258, "%lld merges", (long long)sum.n_merges);
    mote_vocab *v = NULL;
    T_REQUIRE(mote_vocab_load(vocab_path, &v, &err) == MOTE_OK, "load: %s", err.msg);
    T_CHECK(mote_vocab_n_tokens(v) == 700, "loaded %d tokens", mote_vocab_n_tokens(v));
    T_CHECK(!strcmp(mote_vocab_model(v), "gpt2"), "model %s", mote_vocab_model(v));
    T_CHECK(mote_vocab_bos(v) == 0 && mote_vocab_eos(v) == 1, "bos %d eos %d", mote_vocab_bos(v),
            mote_vocab_eos(v));
    const char *texts[] = {
        "the world and the model",
        "Привет мир, café naïve über 日本語 東京 🙂👍🏽",
        "never seen: Zyzzyva qoph ẞ ǅ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﷺ",
        "\xff\xfe invalid \xc3 utf8 \xe2\x82 end\x80",
        "   many    spaces\n\n\n\ttabs\r\n\r\nand CRLF  ",
        "<s> written as text </s>",
        "12345678901234567890 3.14159 x86-64",
        "\x01\x02\x1f control bytes \x7f",
        "a",
    };
    char why[256];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        T_CHECK(roundtrip(v, texts[i], strlen(texts[i]), why, sizeof why), "text %zu: %s", i, why);
    /* the corpus itself */
    FILE *f = fopen(corpus_path, "rb");
    static char corpus[400000];
    size_t n = f ? fread(corpus, 1, sizeof corpus, f) : 0;
    if (f) fclose(f);
    T_CHECK(n > 0 && roundtrip(v, corpus, n, why, sizeof why), "corpus: %s", why);
    /* " world" is among the most frequent words: one token */
    int32_t ids[8];
    int64_t k = 0;
    T_CHECK(mote_tokenize(v, " world", 6, 0, ids, 8, &k, &err) == MOTE_OK && k == 1,
            "\" world\" is %lld tokens", (long long)k);
    mote_vocab_free(v);
}

static void test_merges_consistent(void) {
    mote_error err = {0};
    mote_gguf *g = NULL;
    T_REQUIRE(mote_gguf_open(vocab_path, &g, &err) == MOTE_OK, "open: %s", err.msg);
    int64_t ti = mote__gguf_find_key(g, "tokenizer.ggml.tokens");
    int64_t mi = mote__gguf_find_key(g, "tokenizer.ggml.merges");
    mote_gguf_vtype et;
    uint64_t n_tok = 0, n_merge = 0;
    const void *data;
    T_REQUIRE(ti >= 0 && mi >= 0, "tokens or merges missing");
    mote__gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n_tok, &data, &err);
    mote__gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n_merge, &data, &err);
    T_REQUIRE(n_tok == 700 && n_merge > 0 && n_merge < 100000, "%llu tokens, %llu merges",
              (unsigned long long)n_tok, (unsigned long long)n_merge);
    /* token texts, and when each token became available (0: fixed) */
    char **text = calloc(n_tok, sizeof *text);
    int64_t *born = calloc(n_tok, sizeof *born);
    for (uint64_t i = 0; i < n_tok; i++) {
        const char *p;
        uint64_t l;
        mote__gguf_arr_str(g, ti, i, &p, &l);
        text[i] = strndup(p, l);
        born[i] = i < 258 ? 0 : -1;
    }
    for (uint64_t j = 0; j < n_merge && !t_cur_failed; j++) {
        const char *p;
        uint64_t l;
        mote__gguf_arr_str(g, mi, j, &p, &l);
        char *m = strndup(p, l), *sp = strchr(m, ' ');
        T_CHECK(sp && sp != m && sp[1] && !strchr(sp + 1, ' '), "merge %llu '%s' is not 'A B'",
                (unsigned long long)j, m);
        if (!sp) { free(m); break; }
        *sp = 0;
        int64_t a = -1, b = -1, c = -1;
        char joined[512];
        snprintf(joined, sizeof joined, "%s%s", m, sp + 1);
        for (uint64_t i = 0; i < n_tok; i++) {
            if (!strcmp(text[i], m)) a = (int64_t)i;
            if (!strcmp(text[i], sp + 1)) b = (int64_t)i;
            if (!strcmp(text[i], joined)) c = (int64_t)i;
        }
        T_CHECK(a >= 2 && b >= 2 && c >= 258, "merge %llu '%s %s': tokens %lld %lld -> %lld",
                (unsigned long long)j, m, sp + 1, (long long)a, (long long)b, (long long)c);
        T_CHECK(a < 0 || b < 0 || (born[a] >= 0 && born[a] <= (int64_t)j && born[b] >= 0 &&
                                   born[b] <= (int64_t)j),
                "merge %llu uses a token made by no earlier merge", (unsigned long long)j);
        if (c >= 0 && born[c] < 0) born[c] = (int64_t)j + 1;
        free(m);
    }
    for (uint64_t i = 258; i < n_tok; i++) T_CHECK(born[i] > 0, "token %llu '%s' is no merge's result",
                                                   (unsigned long long)i, text[i]);
    for (uint64_t i = 0; i < n_tok; i++) free(text[i]);
    free(text);
    free(born);
    mote_gguf_close(g);
}

static void test_deterministic(void) {
    mote_error err = {0};
    const char *paths[1] = {corpus_path};
    mote_vocab_train_opts o = {.n_vocab = 700, .name = "test"};
    T_REQUIRE(mote_vocab_train(paths, 1, vocab2_path, &o, NULL, &err) == MOTE_OK, "%s", err.msg);
    FILE *a = fopen(vocab_path, "rb"), *b = fopen(vocab2_path, "rb");
    T_REQUIRE(a && b, "cannot reopen the vocab files");
    int same = 1, ca, cb;
    do {
        ca = fgetc(a), cb = fgetc(b);
        if (ca != cb) same = 0;
    } while (same && ca != EOF);
    fclose(a);
    fclose(b);
    T_CHECK(same, "two trainings on the same text wrote different files");
}

static void test_bad_input(void) {
    char empty[300], nul[300], out[300];
    snprintf(empty, sizeof empty, "%s/empty.txt", dir);
    snprintf(nul, sizeof nul, "%s/nul.txt", dir);
    snprintf(out, sizeof out, "%s/bad.gguf", dir);
    T_REQUIRE(write_file(empty, "", 0) == 0 && write_file(nul, "ab\0cd", 5) == 0, "setup");
    mote_error err = {0};
    const char *p1[1] = {empty}, *p2[1] = {nul};
    T_CHECK(mote_vocab_train(p1, 1, out, NULL, NULL, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "empty.txt") && strstr(err.msg, "empty"),
            "empty file: '%s'", err.msg);
    T_CHECK(mote_vocab_train(p2, 1, out, NULL, NULL, &err) == MOTE_ERR_INVALID_ARG &&
                strstr(err.msg, "nul.txt") && strstr(err.msg, "NUL"),
            "NUL byte: '%s'", err.msg);
    mote_vocab_train_opts o = {.n_vocab = 100};
    const char *p3[1] = {corpus_path};
    T_CHECK(mote_vocab_train(p3, 1, out, &o, NULL, &err) == MOTE_ERR_INVALID_ARG, "size 100 accepted");
    T_CHECK(access(out, F_OK) != 0, "a failed training left %s", out);
    unlink(empty);
    unlink(nul);
}

int main(void) {
    (void)t_assets;
    if (!mkdtemp(dir)) {
        printf("not ok - vocab_train: mkdtemp failed\n");
        return 1;
    }
    snprintf(corpus_path, sizeof corpus_path, "%s/corpus.txt", dir);
    snprintf(vocab_path, sizeof vocab_path, "%s/v.gguf", dir);
    snprintf(vocab2_path, sizeof vocab2_path, "%s/v2.gguf", dir);
    if (make_corpus()) {
        printf("not ok - vocab_train: cannot write the corpus\n");
        return 1;
    }
    T_RUN(test_train_and_roundtrip);
    T_RUN(test_merges_consistent);
    T_RUN(test_deterministic);
    T_RUN(test_bad_input);
    unlink(corpus_path);
    unlink(vocab_path);
    unlink(vocab2_path);
    rmdir(dir);
    return t_exit();
}
