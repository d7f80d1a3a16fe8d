/* test_tokenizer.c — tests of the SentencePiece tokenizer (src/tokenizer/
 * spm.c and the common loader tokenizer.c). BPE, WordPiece, special tokens
 * and streaming are tested in test_tokenizer_vocab.c.
 *
 * Against references:
 *   - stories260K: the five prompts of stories260K.golden-ids.txt encode
 *     (with BOS) to exactly its ids, and its 64 greedy ids decode, piece by
 *     piece, to the start of stories260K.greedy-256.txt.
 *   - llama.cpp's test vectors for the llama-spm and phi-3 vocabs
 *     (ggml-vocab-NAME.gguf.inp/.out, no BOS/EOS, special tokens not
 *     parsed): every string gives exactly its ids.
 * Properties: decode(encode(s)) == s for every test string, for invalid
 * UTF-8 and embedded NULs (byte fallback is lossless) and with BOS — the one
 * exception being U+2581 "▁" in the text, which decodes to a space; 1 MiB
 * inputs (the time is printed, not asserted); the output capacity
 * contract; pieces of control, byte and user-defined tokens.
 * Hand-made vocabs (written with the GGUF writer) pin the merge order, ties,
 * unknown-token fallback, user-defined tokens and the metadata defaults;
 * damaged ones must fail with MOTE_ERR_FORMAT naming the key.
 * Tests whose asset files are missing are skipped, saying which.
 */
#include "test.h"
#include "tokenizer/tokenizer.h"
#include <stdint.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static const char *build_dir(void) {
    const char *b = getenv("MOTE_BUILD");
    return b && *b ? b : "build";
}

/* A path under the build folder, unique to this process. */
static const char *tmp_path(const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/test_tokenizer.%d.%s", build_dir(), (int)getpid(), name);
    return buf;
}

/* Read a whole file into a malloc'd, NUL-terminated buffer (NULL if it
 * cannot be read). */
static char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r < 4096) break;
    }
    fclose(f);
    buf[n] = '\0';
    *size = n;
    return buf;
}

/* Load the tokenizer of a GGUF file, closing the file afterwards (the
 * tokenizer must not need it). NULL and a message in err on failure. */
static mote_tokenizer *load_path(const char *path, mote_error *err) {
    mote_gguf *g;
    if (mote_gguf_open(path, &g, err)) return NULL;
    mote_tokenizer *t = NULL;
    mote__tokenizer_load(g, &t, err);
    mote_gguf_close(g);
    return t;
}

/* Path of an asset (NULL if the shared assets are absent). */
static const char *asset(const char *rel) {
    static char buf[8][4096];
    static int k;
    const char *a = t_assets();
    if (!a) return NULL;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", a, rel);
    return buf[k];
}

/* Encode into a malloc'd array (*n ids); NULL on error (message in err). */
static int32_t *encode(const mote_tokenizer *t, const char *s, size_t len, bool add_special,
                       int64_t *n, mote_error *err) {
    int64_t need = 0;
    mote_status st = mote__tokenizer_encode(t, s, len, add_special, NULL, 0, &need, err);
    if (st && st != MOTE_ERR_RANGE) return NULL;
    int32_t *ids = malloc((size_t)(need > 0 ? need : 1) * sizeof *ids);
    if (!ids) return NULL;
    if (mote__tokenizer_encode(t, s, len, add_special, ids, need, n, err)) {
        free(ids);
        return NULL;
    }
    return ids;
}

/* Decode ids piece by piece (prev = -1 before the first) into a malloc'd
 * buffer of *len bytes. */
static char *decode(const mote_tokenizer *t, const int32_t *ids, int64_t n, size_t *len) {
    size_t cap = 64 + (size_t)n * 64, w = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    int32_t prev = -1;
    for (int64_t i = 0; i < n; i++) {
        char piece[256];
        int np = mote__tokenizer_piece(t, prev, ids[i], piece, sizeof piece);
        if (np < 0) { free(out); return NULL; }
        if (w + (size_t)np > cap) {
            cap = 2 * (w + (size_t)np);
            char *nb = realloc(out, cap);
            if (!nb) { free(out); return NULL; }
            out = nb;
        }
        memcpy(out + w, piece, (size_t)np);
        w += (size_t)np;
        prev = ids[i];
    }
    *len = w;
    return out;
}

/* Print s (len bytes) as a C string literal into buf. */
static const char *quote(const char *s, size_t len) {
    static char bufs[3][600];
    static int k;
    char *buf = bufs[k = (k + 1) % 3];
    const size_t size = sizeof bufs[0];
    size_t w = 0;
    buf[w++] = '"';
    for (size_t i = 0; i < len && w < size - 8; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') w += (size_t)snprintf(buf + w, 8, "\\n");
        else if (c == '\t') w += (size_t)snprintf(buf + w, 8, "\\t");
        else if (c == '"' || c == '\\') w += (size_t)snprintf(buf + w, 8, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) w += (size_t)snprintf(buf + w, 8, "\\x%02x", c);
        else buf[w++] = (char)c;
    }
    buf[w++] = '"';
    buf[w] = '\0';
    return buf;
}

/* Render up to 40 ids into buf. */
static const char *ids_str(const int32_t *ids, int64_t n) {
    static char buf[2][400];
    static int k;
    k ^= 1;
    size_t w = 0;
    buf[k][0] = '\0';
    for (int64_t i = 0; i < n && i < 40 && w < sizeof buf[k] - 16; i++)
        w += (size_t)snprintf(buf[k] + w, sizeof buf[k] - w, i ? " %d" : "%d", (int)ids[i]);
    if (n > 40) snprintf(buf[k] + w, sizeof buf[k] - w, " ...");
    return buf[k];
}

/* Parse space-separated ids from s; returns the count (at most cap). */
static int64_t parse_ids(const char *s, int32_t *ids, int64_t cap) {
    int64_t n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s) break;
        ids[n++] = (int32_t)v;
        s = end;
    }
    return n;
}

/* ---- llama.cpp test vectors ---- */

typedef struct vectors {
    char *inp, *out;  /* file contents (strings are cut in place) */
    const char *str[256];
    size_t len[256];
    const char *ids[256]; /* one line of the .out file each */
    int n;
} vectors;

/* Read NAME.inp (strings, each followed by "\n__ggml_vocab_test__\n") and
 * NAME.out (one line of ids per string). False if absent or inconsistent. */
static bool read_vectors(const char *gguf, vectors *v, char *why, size_t why_size) {
    char path[4200];
    size_t size_inp, size_out;
    memset(v, 0, sizeof *v);
    snprintf(path, sizeof path, "%s.inp", gguf);
    v->inp = slurp(path, &size_inp);
    snprintf(path, sizeof path, "%s.out", gguf);
    v->out = slurp(path, &size_out);
    if (!v->inp || !v->out) {
        snprintf(why, why_size, "cannot read %s.inp/.out", gguf);
        return false;
    }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char *p = v->inp, *end = v->inp + size_inp;
    while (p < end && v->n < 256) {
        char *s = strstr(p, sep); /* the strings hold no NUL */
        if (!s) break;
        v->str[v->n] = p;
        v->len[v->n] = (size_t)(s - p);
        v->n++;
        p = s + sizeof sep - 1;
    }
    int n_lines = 0;
    for (char *q = v->out; *q && n_lines < 256;) {
        char *nl = strchr(q, '\n');
        v->ids[n_lines++] = q;
        if (!nl) break;
        *nl = '\0';
        q = nl + 1;
    }
    if (n_lines != v->n || v->n == 0) {
        snprintf(why, why_size, "%s: %d strings but %d lines of ids", gguf, v->n, n_lines);
        return false;
    }
    return true;
}

static void free_vectors(vectors *v) {
    free(v->inp);
    free(v->out);
}

/* Every test string of vocab NAME encodes to its ids and decodes back. */
static void check_vocab(const char *name) {
    char rel[256], why[900];
    snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf", name);
    const char *path = asset(rel);
    if (!path) T_SKIP("../shared/assets is absent (set MOTE_SHARED)");
    vectors v;
    if (!read_vectors(path, &v, why, sizeof why)) {
        free_vectors(&v);
        T_SKIP("%s", why);
    }
    mote_error err = {0};
    mote_tokenizer *t = load_path(path, &err);
    if (!t) {
        free_vectors(&v);
        T_REQUIRE(0, "%s: %s", path, err.msg);
    }
    int pass = 0, round = 0;
    for (int i = 0; i < v.n; i++) {
        int32_t want[1024];
        int64_t n_want = parse_ids(v.ids[i], want, 1024), n = 0;
        int32_t *got = encode(t, v.str[i], v.len[i], false, &n, &err);
        T_CHECK(got, "%s: string %d: %s", name, i, err.msg);
        if (!got) continue;
        bool same = n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0;
        if (same) pass++;
        else if (pass == i) /* the first mismatch */
            printf("# %s: string %d %s\n#   want %s\n#   got  %s\n", name, i, quote(v.str[i], v.len[i]),
                   ids_str(want, n_want), ids_str(got, n));
        T_CHECK(same, "%s: string %d %s: want %s, got %s", name, i, quote(v.str[i], v.len[i]),
                ids_str(want, n_want), ids_str(got, n));
        size_t dl;
        char *back = decode(t, got, n, &dl);
        bool rt = back && dl == v.len[i] && memcmp(back, v.str[i], dl) == 0;
        if (rt) round++;
        T_CHECK(rt, "%s: string %d %s does not decode back", name, i, quote(v.str[i], v.len[i]));
        free(back);
        free(got);
    }
    printf("# %s: %d/%d strings encode to llama.cpp's ids, %d/%d decode back to the string\n", name, pass,
           v.n, round, v.n);
    mote__tokenizer_free(t);
    free_vectors(&v);
}

static void test_vocab_llama_spm(void) { check_vocab("llama-spm"); }
static void test_vocab_phi3(void) { check_vocab("phi-3"); }

/* ---- stories260K ---- */

static void test_stories_golden_prompts(void) {
    const char *model = asset("models/stories260K.gguf");
    if (!model) T_SKIP("../shared/assets is absent (set MOTE_SHARED)");
    size_t size;
    char *golden = slurp(asset("models/stories260K.golden-ids.txt"), &size);
    if (!golden) T_SKIP("stories260K.golden-ids.txt is absent");
    mote_error err = {0};
    mote_tokenizer *t = load_path(model, &err);
    if (!t) { free(golden); T_REQUIRE(0, "%s", err.msg); }
    T_CHECK(mote__tokenizer_n_vocab(t) == 512 && mote__tokenizer_bos(t) == 1 && mote__tokenizer_eos(t) == 2,
            "n_vocab %d bos %d eos %d", mote__tokenizer_n_vocab(t), mote__tokenizer_bos(t), mote__tokenizer_eos(t));
    int n_prompts = 0;
    for (char *line = strtok(golden, "\n"); line; line = strtok(NULL, "\n")) {
        int bos, eos;
        if (sscanf(line, "ENCODE bos=%d eos=%d", &bos, &eos) != 2) continue;
        char *q1 = strchr(line, '"'), *q2 = strstr(line, "\" -> ");
        T_CHECK(q1 && q2 && q2 > q1, "cannot parse: %s", line);
        if (!q1 || !q2 || q2 <= q1) continue;
        T_CHECK(bos == 1 && eos == 0, "expected bos=1 eos=0: %s", line);
        int32_t want[256];
        int64_t n_want = parse_ids(q2 + 5, want, 256), n = 0;
        int32_t *got = encode(t, q1 + 1, (size_t)(q2 - q1 - 1), true, &n, &err);
        T_CHECK(got && n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0,
                "%s: want %s, got %s", quote(q1 + 1, (size_t)(q2 - q1 - 1)), ids_str(want, n_want),
                got ? ids_str(got, n) : err.msg);
        free(got);
        n_prompts++;
    }
    T_CHECK(n_prompts == 5, "found %d ENCODE lines, expected 5", n_prompts);
    mote__tokenizer_free(t);
    free(golden);
}

static void test_stories_greedy_text(void) {
    const char *model = asset("models/stories260K.gguf");
    if (!model) T_SKIP("../shared/assets is absent (set MOTE_SHARED)");
    size_t gsize, tsize;
    char *golden = slurp(asset("models/stories260K.golden-ids.txt"), &gsize);
    char *text = slurp(asset("models/stories260K.greedy-256.txt"), &tsize);
    if (!golden || !text) {
        free(golden);
        free(text);
        T_SKIP("stories260K.golden-ids.txt or greedy-256.txt is absent");
    }
    mote_error err = {0};
    mote_tokenizer *t = load_path(model, &err);
    char *ids_line = strstr(golden, "GREEDY_FROM_BOS_64:");
    int32_t ids[128];
    int64_t n = ids_line ? parse_ids(ids_line + strlen("GREEDY_FROM_BOS_64:"), ids, 128) : 0;
    T_CHECK(t, "%s", err.msg);
    T_CHECK(n == 64, "found %lld greedy ids, expected 64", (long long)n);
    if (t && n == 64) {
        char out[4096];
        size_t w = 0;
        int32_t prev = mote__tokenizer_bos(t);
        for (int64_t i = 0; i < n; i++) {
            int np = mote__tokenizer_piece(t, prev, ids[i], out + w, (int)(sizeof out - w));
            T_CHECK(np >= 0, "piece of %d", (int)ids[i]);
            if (np > 0) w += (size_t)np;
            prev = ids[i];
        }
        T_CHECK(w > 100 && w <= tsize && memcmp(out, text, w) == 0,
                "64 greedy ids decode to %s, not the start of greedy-256.txt", quote(out, w));
    }
    mote__tokenizer_free(t);
    free(golden);
    free(text);
}

/* ---- properties on the llama-spm vocab ---- */

static mote_tokenizer *llama_spm(void) {
    const char *path = asset("vocab/ggml-vocab-llama-spm.gguf");
    if (!path) return NULL;
    mote_error err = {0};
    return load_path(path, &err);
}

/* Encode s (without BOS) and check it decodes back byte for byte, that
 * every id is in range, and, with BOS, that it still does. */
static void check_lossless(const mote_tokenizer *t, const char *s, size_t len, const char *what) {
    mote_error err = {0};
    for (int special = 0; special < 2; special++) {
        int64_t n = 0;
        int32_t *ids = encode(t, s, len, special, &n, &err);
        T_CHECK(ids, "%s: %s", what, err.msg);
        if (!ids) return;
        for (int64_t i = 0; i < n; i++)
            T_CHECK(ids[i] >= 0 && ids[i] < mote__tokenizer_n_vocab(t), "%s: id %d", what, (int)ids[i]);
        size_t dl = 0;
        char *back = decode(t, ids, n, &dl);
        T_CHECK(back && dl == len && memcmp(back, s, len) == 0, "%s (bos %d): %s decodes to %s", what,
                special, ids_str(ids, n), back ? quote(back, dl) : "(error)");
        free(back);
        free(ids);
    }
}

static void test_bad_input(void) {
    mote_tokenizer *t = llama_spm();
    if (!t) T_SKIP("ggml-vocab-llama-spm.gguf is absent");
    mote_error err = {0};
    int64_t n = -1;
    int32_t ids[64];

    /* Empty text: nothing, or BOS alone. */
    T_CHECK(mote__tokenizer_encode(t, "", 0, false, ids, 64, &n, &err) == MOTE_OK && n == 0, "empty: %lld", (long long)n);
    T_CHECK(mote__tokenizer_encode(t, NULL, 0, true, ids, 64, &n, &err) == MOTE_OK && n == 1 && ids[0] == 1,
            "empty with BOS: %lld", (long long)n);

    /* Invalid UTF-8 becomes byte tokens (<0xXX> is id 3 + XX here). */
    T_CHECK(mote__tokenizer_encode(t, "\xff", 1, false, ids, 64, &n, &err) == MOTE_OK && n == 2 &&
                ids[0] == 29871 && ids[1] == 3 + 0xff,
            "\\xff: %s", ids_str(ids, n));
    T_CHECK(mote__tokenizer_encode(t, "\xc3" "A", 2, false, ids, 64, &n, &err) == MOTE_OK && n >= 2 &&
                ids[1] == 3 + 0xc3,
            "\\xc3A: %s", ids_str(ids, n));
    T_CHECK(mote__tokenizer_encode(t, "a\0b", 3, false, ids, 64, &n, &err) == MOTE_OK && n == 3 && ids[1] == 3,
            "a\\0b: %s", ids_str(ids, n));

    static const struct { const char *s; size_t len; } cases[] = {
        {"\x80", 1}, {"\xbf\x80\x80", 3}, {"abc\x80xyz", 7}, {"\xe2\x96", 2}, {"\xe2\x96 x", 4},
        {"\xf0\x9f\x98", 3}, {"\xf0\x9f\x98\x80", 4}, {"\xff\xfe\xfd", 3}, {"\xc0\x80", 2},
        {"\xed\xa0\x80", 3}, {"\xf4\x90\x80\x80", 4}, {"\xc3", 1}, {"\0", 1}, {"\0\0 \0", 4},
        {" ", 1}, {"  \n\t ", 5}, {"<s></s><unk>", 12}, {"<0x41>", 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_lossless(t, cases[i].s, cases[i].len, quote(cases[i].s, cases[i].len));

    /* The one loss: U+2581 "▁" in the text reads as an escaped space, so it
     * decodes to " " (as in SentencePiece and llama.cpp). */
    int32_t *u = encode(t, "a\xe2\x96\x81" "b", 5, false, &n, &err);
    size_t ul = 0;
    char *ub = u ? decode(t, u, n, &ul) : NULL;
    T_CHECK(ub && ul == 3 && memcmp(ub, "a b", 3) == 0, "a\u2581b decodes to %s", ub ? quote(ub, ul) : "(error)");
    free(ub);
    free(u);

    /* Every single byte, and all 256 in a row. */
    char all[256];
    for (int b = 0; b < 256; b++) {
        all[b] = (char)b;
        check_lossless(t, all + b, 1, "one byte");
    }
    check_lossless(t, all, 256, "bytes 0..255");
    mote__tokenizer_free(t);
}

static void test_capacity(void) {
    mote_tokenizer *t = llama_spm();
    if (!t) T_SKIP("ggml-vocab-llama-spm.gguf is absent");
    mote_error err = {0};
    const char *s = "Hello world, this is a test";
    int64_t need = 0, n = 0;
    T_CHECK(mote__tokenizer_encode(t, s, strlen(s), true, NULL, 0, &need, &err) == MOTE_ERR_RANGE && need > 3,
            "count only: %lld", (long long)need);
    int32_t *full = malloc((size_t)need * sizeof *full), part[3] = {-7, -7, -7};
    T_REQUIRE(full, "malloc");
    T_CHECK(mote__tokenizer_encode(t, s, strlen(s), true, full, need, &n, &err) == MOTE_OK && n == need, "full");
    T_CHECK(mote__tokenizer_encode(t, s, strlen(s), true, part, 2, &n, &err) == MOTE_ERR_RANGE && n == need &&
                part[0] == full[0] && part[1] == full[1] && part[2] == -7 && err.code == MOTE_ERR_RANGE,
            "cap 2: n %lld", (long long)n);
    T_CHECK(mote__tokenizer_encode(t, s, 3, true, NULL, 5, &n, &err) == MOTE_ERR_INVALID_ARG, "ids NULL, cap 5");
    T_CHECK(mote__tokenizer_encode(t, s, 3, true, full, -1, &n, &err) == MOTE_ERR_INVALID_ARG, "cap -1");
    free(full);
    mote__tokenizer_free(t);
}

static void test_pieces(void) {
    mote_tokenizer *t = llama_spm();
    if (!t) T_SKIP("ggml-vocab-llama-spm.gguf is absent");
    char buf[64];
    /* 15043 is "▁Hello", 29871 "▁", 13 "<0x0A>", 0 <unk>, 1 <s>, 2 </s>. */
    T_CHECK(mote__tokenizer_piece(t, 100, 15043, buf, 64) == 6 && memcmp(buf, " Hello", 6) == 0, "▁Hello");
    T_CHECK(mote__tokenizer_piece(t, 1, 15043, buf, 64) == 5 && memcmp(buf, "Hello", 5) == 0, "after BOS");
    T_CHECK(mote__tokenizer_piece(t, -1, 15043, buf, 64) == 5, "at the start");
    T_CHECK(mote__tokenizer_piece(t, -1, 29871, buf, 64) == 0, "▁ at the start");
    T_CHECK(mote__tokenizer_piece(t, 5, 29871, buf, 64) == 1 && buf[0] == ' ', "▁");
    T_CHECK(mote__tokenizer_piece(t, 5, 13, buf, 64) == 1 && buf[0] == '\n', "<0x0A>");
    T_CHECK(mote__tokenizer_piece(t, 5, 3, buf, 64) == 1 && buf[0] == '\0', "<0x00>");
    T_CHECK(mote__tokenizer_piece(t, 5, 0, buf, 64) == 0, "<unk>");
    T_CHECK(mote__tokenizer_piece(t, 5, 1, buf, 64) == 0, "<s>");
    T_CHECK(mote__tokenizer_piece(t, 5, 2, buf, 64) == 0, "</s>");
    T_CHECK(mote__tokenizer_piece(t, 5, -1, buf, 64) == -1, "id -1");
    T_CHECK(mote__tokenizer_piece(t, 5, 32000, buf, 64) == -1, "id n_vocab");
    memset(buf, 'x', sizeof buf);
    T_CHECK(mote__tokenizer_piece(t, 5, 15043, buf, 3) == 3 && memcmp(buf, " He", 3) == 0 && buf[3] == 'x',
            "cut at cap");
    T_CHECK(mote__tokenizer_piece(t, 5, 15043, NULL, 0) == 0, "cap 0");
    mote__tokenizer_free(t);
}

/* Inputs of 1 MB: linear-ish time (printed, not asserted) and lossless. */
static void test_long_input(void) {
    mote_tokenizer *t = llama_spm();
    if (!t) T_SKIP("ggml-vocab-llama-spm.gguf is absent");
    size_t inp_size;
    char *inp = slurp(asset("vocab/ggml-vocab-llama-spm.gguf.inp"), &inp_size);
    const size_t len = 1 << 20;
    char *s = malloc(len);
    T_REQUIRE(s, "malloc");
    const char *kinds[] = {"test strings", "'a' repeated", "spaces", "0xFF bytes"};
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < len; i++)
            s[i] = k == 0 ? (inp && inp_size ? inp[i % inp_size] : 'x') : k == 1 ? 'a' : k == 2 ? ' ' : '\xff';
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int64_t n = 0;
        mote_error err = {0};
        int32_t *ids = encode(t, s, len, false, &n, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        printf("# 1 MiB of %s: %lld ids in %.3f s (two passes: count, then encode)\n", kinds[k], (long long)n, secs);
        T_CHECK(ids, "%s: %s", kinds[k], err.msg);
        size_t dl = 0;
        char *back = ids ? decode(t, ids, n, &dl) : NULL;
        T_CHECK(back && dl == len && memcmp(back, s, len) == 0, "%s does not decode back", kinds[k]);
        free(back);
        free(ids);
    }
    free(s);
    free(inp);
    mote__tokenizer_free(t);
}

/* ---- hand-made vocabs ---- */

/* A writer holding tokenizer.ggml.model = model (unless NULL) and the
 * tokens (unless NULL). */
static mote_gguf_writer *vocab_writer(const char *model, const char *const *toks, int n) {
    mote_gguf_writer *w = mote__gguf_writer_new();
    if (!w) return NULL;
    if (model) mote__gguf_set_str(w, "tokenizer.ggml.model", model);
    if (toks) mote__gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)n);
    return w;
}

/* Write w to a file, free it, and load the tokenizer from the file. */
static mote_status vocab_load(mote_gguf_writer *w, mote_tokenizer **t, mote_error *err) {
    *t = NULL;
    if (!w) return mote__err(err, MOTE_ERR_NOMEM, "writer");
    const char *path = tmp_path("vocab.gguf");
    mote_status s = mote__gguf_write(w, path, err);
    mote__gguf_writer_free(w);
    if (s) return s;
    mote_gguf *g;
    s = mote_gguf_open(path, &g, err);
    if (s) return s;
    s = mote__tokenizer_load(g, t, err);
    mote_gguf_close(g);
    unlink(path);
    return s;
}

static void expect_fail(mote_gguf_writer *w, mote_status want, const char *needle, const char *what) {
    mote_tokenizer *t;
    mote_error err = {0};
    mote_status s = vocab_load(w, &t, &err);
    T_CHECK(s == want && !t && strstr(err.msg, needle), "%s: status %d, message '%s' (want %d naming %s)", what,
            (int)s, err.msg, (int)want, needle);
    mote__tokenizer_free(t);
}

static const char *const toy_toks[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "c",
                                       "ab", "bc", "\342\226\201a", "abc", "<0x78>", "X"};
enum { TOY_N = sizeof toy_toks / sizeof toy_toks[0] };
static const int32_t toy_types[TOY_N] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6, 4};

static void test_bad_vocab(void) {
    float scores[TOY_N + 1] = {0};
    mote_gguf_writer *w;

    expect_fail(vocab_writer("llama", NULL, 0), MOTE_ERR_FORMAT, "tokenizer.ggml.tokens", "no tokens");
    expect_fail(vocab_writer(NULL, toy_toks, TOY_N), MOTE_ERR_FORMAT, "tokenizer.ggml.model", "no model");
    expect_fail(vocab_writer("t5", toy_toks, TOY_N), MOTE_ERR_UNSUPPORTED,
                "tokenizer model 't5' is not supported by this build", "t5");
    expect_fail(vocab_writer("gpt2", toy_toks, TOY_N), MOTE_ERR_FORMAT, "missing key tokenizer.ggml.merges",
                "gpt2 without merges");
    expect_fail(vocab_writer("llama", toy_toks, 0), MOTE_ERR_FORMAT, "tokenizer.ggml.tokens is empty", "empty");

    w = vocab_writer("llama", toy_toks, TOY_N - 1); /* one token fewer than scores */
    mote__gguf_set_arr(w, "tokenizer.ggml.scores", MOTE_GGUF_FLOAT32, scores, TOY_N);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.scores has 13 values but tokenizer.ggml.tokens has 12",
                "tokens shorter than scores");

    w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_arr(w, "tokenizer.ggml.scores", MOTE_GGUF_INT32, toy_types, TOY_N);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.scores must be an array of f32", "int scores");

    w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_arr(w, "tokenizer.ggml.token_type", MOTE_GGUF_INT32, toy_types, TOY_N - 2);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.token_type has 11 values", "short token_type");

    w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_arr(w, "tokenizer.ggml.token_type", MOTE_GGUF_FLOAT32, scores, TOY_N);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.token_type must be an array of integers", "float types");

    w = vocab_writer("llama", NULL, 0);
    mote__gguf_set_arr(w, "tokenizer.ggml.tokens", MOTE_GGUF_INT32, toy_types, TOY_N);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.tokens must be an array of strings", "int tokens");

    w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_u32(w, "tokenizer.ggml.bos_token_id", TOY_N);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.bos_token_id = 13 is out of range", "bos out of range");

    w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_i32(w, "tokenizer.ggml.eos_token_id", -5);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.eos_token_id = -5", "negative eos");

    w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_str(w, "tokenizer.ggml.unknown_token_id", "0");
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.unknown_token_id", "unk as a string");

    w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_u32(w, "tokenizer.ggml.add_bos_token", 1);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.add_bos_token", "add_bos as u32");

    scores[4] = NAN;
    w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_arr(w, "tokenizer.ggml.scores", MOTE_GGUF_FLOAT32, scores, TOY_N);
    expect_fail(w, MOTE_ERR_FORMAT, "tokenizer.ggml.scores[4] is NaN", "NaN score");
}

/* Encode s with t and compare with the expected ids. */
static void expect_ids(const mote_tokenizer *t, const char *s, bool add_special, const int32_t *want,
                       int64_t n_want) {
    mote_error err = {0};
    int64_t n = 0;
    int32_t *got = encode(t, s, strlen(s), add_special, &n, &err);
    T_CHECK(got && n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0, "%s: want %s, got %s",
            quote(s, strlen(s)), ids_str(want, n_want), got ? ids_str(got, n) : err.msg);
    free(got);
}
#define EXPECT(t, s, special, ...)                                                        \
    do {                                                                                  \
        const int32_t want_[] = {__VA_ARGS__};                                            \
        expect_ids(t, s, special, want_, (int64_t)(sizeof want_ / sizeof want_[0]));      \
    } while (0)

static void test_toy_vocab(void) {
    /* Scores: "ab" 1, "bc" 2, "▁a" 3, "abc" 0.5. */
    float scores[TOY_N] = {0, 0, 0, 0, 0, 0, 0, 1.0f, 2.0f, 3.0f, 0.5f, 0, 0};
    mote_tokenizer *t;
    mote_error err = {0};
    mote_gguf_writer *w = vocab_writer("llama", toy_toks, TOY_N);
    mote__gguf_set_arr(w, "tokenizer.ggml.scores", MOTE_GGUF_FLOAT32, scores, TOY_N);
    mote__gguf_set_arr(w, "tokenizer.ggml.token_type", MOTE_GGUF_INT32, toy_types, TOY_N);
    T_REQUIRE(vocab_load(w, &t, &err) == MOTE_OK, "%s", err.msg);
    /* Defaults as llama.cpp: BOS 1, EOS 2, unknown 0, BOS added. */
    T_CHECK(mote__tokenizer_bos(t) == 1 && mote__tokenizer_eos(t) == 2, "defaults");

    /* "▁abc": ▁a (3) first, then "bc" (2) -> ▁a bc; no "▁abc" piece. */
    EXPECT(t, "abc", false, 9, 8);
    EXPECT(t, "abc", true, 1, 9, 8);
    /* "bab": "ab" (1) only -> b ab, after "▁" which merges with nothing. */
    EXPECT(t, " bab", false, 3, 3, 5, 7);
    /* "▁abab": "▁a" (3) first; its "ab" is gone, the second "ab" stays. */
    EXPECT(t, "abab", false, 9, 5, 7);
    /* Characters without a piece: byte tokens where present (<0x78> for
     * 'x'), else <unk> per byte ("é" is two bytes). */
    EXPECT(t, "x", false, 3, 11);
    EXPECT(t, "\xc3\xa9", false, 3, 0, 0);
    /* A user-defined token is cut out of the text, and the text after it
     * gets the space prefix again. */
    EXPECT(t, "aXb", false, 9, 12, 3, 5);
    EXPECT(t, "X", false, 12);
    char buf[16];
    T_CHECK(mote__tokenizer_piece(t, -1, 12, buf, 16) == 1 && buf[0] == 'X', "user-defined piece");
    T_CHECK(mote__tokenizer_piece(t, -1, 11, buf, 16) == 1 && buf[0] == 'x', "byte piece");
    mote__tokenizer_free(t);

    /* Flags off, EOS on, no unknown token, duplicate texts (the later id
     * wins), no scores or types (all normal, score 0: ties leftmost). */
    static const char *const toks2[] = {"a", "b", "ab", "ab", "\xe2\x96\x81", "</s>", "aa"};
    w = vocab_writer("llama", toks2, 7);
    mote__gguf_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
    mote__gguf_set_bool(w, "tokenizer.ggml.add_bos_token", false);
    mote__gguf_set_bool(w, "tokenizer.ggml.add_eos_token", true);
    mote__gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 0xFFFFFFFFu); /* none */
    mote__gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 5);
    mote__gguf_set_i32(w, "tokenizer.ggml.unknown_token_id", -1);
    T_REQUIRE(vocab_load(w, &t, &err) == MOTE_OK, "%s", err.msg);
    T_CHECK(mote__tokenizer_bos(t) == -1 && mote__tokenizer_eos(t) == 5, "bos %d eos %d", mote__tokenizer_bos(t),
            mote__tokenizer_eos(t));
    EXPECT(t, "abab", false, 3, 3);
    EXPECT(t, "abab", true, 3, 3, 5);
    EXPECT(t, "a b", false, 0, 4, 1);
    /* Equal scores: the leftmost pair merges first. */
    EXPECT(t, "aaa", false, 6, 0);
    /* No space prefix: the leading space of the first piece is kept. */
    T_CHECK(mote__tokenizer_piece(t, -1, 4, buf, 16) == 1 && buf[0] == ' ', "no strip without the prefix");
    int64_t n;
    int32_t ids[8];
    T_CHECK(mote__tokenizer_encode(t, "az", 2, false, ids, 8, &n, &err) == MOTE_ERR_UNSUPPORTED &&
                strstr(err.msg, "byte 0x7A cannot be encoded"),
            "no byte token, no unknown: %s", err.msg);
    mote__tokenizer_free(t);
}

int main(void) {
    T_RUN(test_stories_golden_prompts);
    T_RUN(test_stories_greedy_text);
    T_RUN(test_vocab_llama_spm);
    T_RUN(test_vocab_phi3);
    T_RUN(test_bad_input);
    T_RUN(test_capacity);
    T_RUN(test_pieces);
    T_RUN(test_long_input);
    T_RUN(test_bad_vocab);
    T_RUN(test_toy_vocab);
    return t_exit();
}
