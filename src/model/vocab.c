/* vocab.c — the public vocab handle of mote.h over the internal tokenizer
 * (src/tokenizer/): loading from a model or a vocab-only GGUF, the
 * encode/decode entry points, streaming detokenization (mote_detok) and the
 * checker of llama.cpp-style test vectors (mote_vocab_check_vectors).
 * Not here: the tokenizer algorithms. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mote_vocab {
    mote_tokenizer *tok;
};

mote_status mote__vocab_from_gguf(const mote_gguf *g, mote_vocab **out, mote_error *err) {
    *out = NULL;
    mote_vocab *v = mote__calloc(1, sizeof *v);
    if (!v) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    mote_status s = mote__tokenizer_load(g, &v->tok, err);
    if (s) {
        mote__free(v);
        return s;
    }
    *out = v;
    return MOTE_OK;
}

mote_status mote_vocab_load(const char *path, mote_vocab **out, mote_error *err) {
    *out = NULL;
    mote_gguf *g;
    mote_status s = mote_gguf_open(path, &g, err);
    if (s) return s;
    if (mote__gguf_find_key(g, "tokenizer.ggml.model") < 0)
        s = mote__err(err, MOTE_ERR_FORMAT, "%s: no tokenizer metadata (tokenizer.ggml.model)", path);
    else
        s = mote__vocab_from_gguf(g, out, err);
    mote_gguf_close(g); /* the tokenizer copied what it needs */
    return s;
}

void mote_vocab_free(mote_vocab *v) {
    if (!v) return;
    mote__tokenizer_free(v->tok);
    mote__free(v);
}

int32_t mote_vocab_n_tokens(const mote_vocab *v) { return mote__tokenizer_n_vocab(v->tok); }
int32_t mote_vocab_bos(const mote_vocab *v) { return mote__tokenizer_bos(v->tok); }
int32_t mote_vocab_eos(const mote_vocab *v) { return mote__tokenizer_eos(v->tok); }
const char *mote_vocab_model(const mote_vocab *v) { return mote__tokenizer_model(v->tok); }

mote_status mote_tokenize(const mote_vocab *v, const char *text, size_t len, int flags,
                          int32_t *ids, int64_t cap, int64_t *n_out, mote_error *err) {
    if (!v) {
        if (n_out) *n_out = 0;
        return mote__err(err, MOTE_ERR_INVALID_ARG, "tokenize: no vocab");
    }
    return mote__tokenizer_encode(v->tok, text, len, (unsigned)flags, ids, cap, n_out, err);
}

int mote_token_to_piece(const mote_vocab *v, int32_t prev, int32_t id, char *buf, int cap) {
    return mote__tokenizer_piece(v->tok, prev, id, buf, cap);
}

/* ---- streaming detokenization ------------------------------------------- */

void mote_detok_init(mote_detok *d, const mote_vocab *v) {
    memset(d, 0, sizeof *d);
    d->vocab = v;
    d->prev = -1;
}

/* Bytes a UTF-8 lead byte announces (2..4), or 0 if c is no lead byte. */
static int lead_len(unsigned char c) {
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

/* Where the incomplete character at the end of s[0..n) starts (n if none):
 * a lead byte among the last three bytes, followed only by continuation
 * bytes, fewer than it announces. */
static int incomplete_tail(const unsigned char *s, int n) {
    for (int i = n - 1; i >= 0 && i >= n - 3; i--) {
        if ((s[i] & 0xC0) == 0x80) continue; /* continuation: look further back */
        int need = lead_len(s[i]);
        return need > n - i ? i : n;
    }
    return n;
}

int mote_detok_push(mote_detok *d, int32_t id, char *buf, int cap) {
    char piece[512];
    int np = mote_token_to_piece(d->vocab, d->prev, id, piece, (int)sizeof piece - 4);
    if (np < 0) return -1;
    d->prev = id;
    /* held bytes first, then the piece */
    unsigned char all[512];
    int n = d->n_held;
    memcpy(all, d->held, (size_t)n);
    memcpy(all + n, piece, (size_t)np);
    n += np;
    int keep = incomplete_tail(all, n);
    d->n_held = n - keep;
    memcpy(d->held, all + keep, (size_t)d->n_held);
    int w = keep < cap ? keep : (cap > 0 ? cap : 0);
    if (w > 0) memcpy(buf, all, (size_t)w);
    return w;
}

int mote_detok_flush(mote_detok *d, char *buf, int cap) {
    int w = d->n_held < cap ? d->n_held : (cap > 0 ? cap : 0);
    if (w > 0) memcpy(buf, d->held, (size_t)w);
    d->n_held = 0;
    return w;
}

/* ---- test vectors --------------------------------------------------------- */

/* Read a whole file into a mote__malloc'd, NUL-terminated buffer. */
static mote_status slurp(const char *path, char **out, size_t *size, mote_error *err) {
    mote_file_map fm;
    mote_status s = mote__file_map(path, &fm, err);
    if (s) return s;
    char *buf = mote__malloc((size_t)fm.size + 1);
    if (!buf) {
        mote__file_unmap(&fm);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory reading %s", path);
    }
    if (fm.size) memcpy(buf, fm.data, (size_t)fm.size);
    buf[fm.size] = '\0';
    *size = (size_t)fm.size;
    mote__file_unmap(&fm);
    *out = buf;
    return MOTE_OK;
}

/* Append printf output to res->detail (always NUL-terminated). */
static void detail_add(mote_vocab_check *res, const char *fmt, ...) MOTE_PRINTF(2, 3);
static void detail_add(mote_vocab_check *res, const char *fmt, ...) {
    size_t used = strlen(res->detail);
    if (used + 1 >= sizeof res->detail) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->detail + used, sizeof res->detail - used, fmt, ap);
    va_end(ap);
}

static void detail_ids(mote_vocab_check *res, const char *label, const int32_t *ids, int64_t n) {
    detail_add(res, "%s", label);
    for (int64_t i = 0; i < n && i < 48; i++) detail_add(res, " %d", (int)ids[i]);
    if (n > 48) detail_add(res, " ... (%lld ids)", (long long)n);
    detail_add(res, "\n");
}

/* Check one string s[0..len) against its line of expected ids. */
static mote_status check_one(const mote_vocab *v, int index, const char *s, size_t len, const char *line,
                             mote_vocab_check *res, mote_error *err) {
    int64_t n_want = 0;
    for (const char *p = line; *p;) {
        char *end;
        strtol(p, &end, 10);
        if (end == p) break;
        n_want++;
        p = end;
    }
    int32_t *want = mote__malloc((size_t)(n_want + 1) * sizeof *want);
    if (!want) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    int64_t k = 0;
    for (const char *p = line; k < n_want;) {
        char *end;
        want[k++] = (int32_t)strtol(p, &end, 10);
        p = end;
    }
    int64_t n = 0;
    mote_status st = mote_tokenize(v, s, len, 0, NULL, 0, &n, err);
    int32_t *got = NULL;
    char *back = NULL;
    if (st && st != MOTE_ERR_RANGE) goto done;
    if (!(got = mote__malloc((size_t)(n + 1) * sizeof *got))) {
        st = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = mote_tokenize(v, s, len, 0, got, n, &n, err))) goto done;
    bool same = n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0;
    if (same) res->n_match++;
    else if (res->first_mismatch < 0) {
        res->first_mismatch = index;
        detail_add(res, "string %d: \"", index);
        for (size_t i = 0; i < len && i < 200; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '\n') detail_add(res, "\\n");
            else if (c == '\t') detail_add(res, "\\t");
            else if (c < 0x20 || c == 0x7f) detail_add(res, "\\x%02x", c);
            else detail_add(res, "%c", c);
        }
        detail_add(res, "\"\n");
        detail_ids(res, "  want", want, n_want);
        detail_ids(res, "  got ", got, n);
    }
    /* Decode back piece by piece. */
    size_t cap = len + 64, w = 0;
    if (!(back = mote__malloc(cap))) {
        st = mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        goto done;
    }
    int32_t prev = -1;
    bool ok = true;
    for (int64_t i = 0; i < n && ok; i++) {
        char piece[512];
        int np = mote_token_to_piece(v, prev, got[i], piece, (int)sizeof piece);
        prev = got[i];
        if (np < 0 || w + (size_t)np > len) ok = false;
        else if (memcmp(s + w, piece, (size_t)np) != 0) ok = false;
        else w += (size_t)np;
    }
    if (ok && w == len) res->n_roundtrip++;
done:
    mote__free(want);
    mote__free(got);
    mote__free(back);
    return st;
}

mote_status mote_vocab_check_vectors(const mote_vocab *v, const char *inp_path, const char *out_path,
                                     mote_vocab_check *res, mote_error *err) {
    memset(res, 0, sizeof *res);
    res->first_mismatch = -1;
    if (!v || !inp_path || !out_path) return mote__err(err, MOTE_ERR_INVALID_ARG, "check: invalid arguments");
    char *inp = NULL, *outs = NULL;
    size_t inp_size, out_size;
    mote_status st;
    if ((st = slurp(inp_path, &inp, &inp_size, err)) || (st = slurp(out_path, &outs, &out_size, err))) goto done;
    /* Count the strings and the lines first. */
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t sep_len = sizeof sep - 1;
    int n_str = 0, n_lines = 0;
    for (const char *p = inp; p < inp + inp_size;) {
        const char *q = memmem(p, (size_t)(inp + inp_size - p), sep, sep_len);
        if (!q) break;
        n_str++;
        p = q + sep_len;
    }
    for (const char *p = outs; p < outs + out_size;) {
        const char *nl = memchr(p, '\n', (size_t)(outs + out_size - p));
        n_lines++;
        if (!nl) break;
        p = nl + 1;
    }
    if (n_str == 0) {
        st = mote__err(err, MOTE_ERR_FORMAT, "%s: no test string (each must end with a line __ggml_vocab_test__)",
                       inp_path);
        goto done;
    }
    if (n_lines != n_str) {
        st = mote__err(err, MOTE_ERR_FORMAT, "%s has %d strings but %s has %d lines of ids", inp_path, n_str,
                       out_path, n_lines);
        goto done;
    }
    const char *p = inp;
    char *line = outs;
    for (int i = 0; i < n_str; i++) {
        const char *q = memmem(p, (size_t)(inp + inp_size - p), sep, sep_len);
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        res->n_strings++;
        if ((st = check_one(v, i, p, (size_t)(q - p), line, res, err))) goto done;
        p = q + sep_len;
        line = nl ? nl + 1 : line + strlen(line);
    }
done:
    mote__free(inp);
    mote__free(outs);
    return st;
}
