/* wpm.c — the WordPiece ("bert") tokenizer: BERT's basic tokenizer, then
 * greedy longest-match-first word pieces; and the bytes of each id.
 *
 * What it is: a reimplementation of llama.cpp's llm_tokenizer_wpm_session
 * from its description, checked against llama.cpp's test vectors
 * (../shared/assets/vocab/ggml-vocab-bert-bge.gguf.{inp,out}). GGUF stores
 * WordPiece vocabs converted: a word-initial piece "hello" as "▁hello", a
 * continuation "##llo" as "llo".
 *   1. Basic tokenizer, per code point (utf8proc gives the categories,
 *      decomposition and case mapping): invalid UTF-8 bytes are dropped (as
 *      llama.cpp drops the U+FFFD it turns them into); each code point is
 *      replaced by the first code point of its canonical decomposition
 *      (NFD), which strips accents ("é" -> "e") as llama.cpp's table does;
 *      White_Space ends a word; U+0000, U+FFFD and control/format/private/
 *      surrogate code points (Cc, Cf, Co, Cs) are dropped; the rest is lower-
 *      cased (simple case mapping); punctuation (P*), ASCII symbols
 *      ($+<=>^`|~) and CJK ideographs are words of their own.
 *   2. Each word, with "▁" in front, is cut greedily: at each position the
 *      longest piece that is a token; if some position has none the whole
 *      word is the unknown token ([UNK]).
 * Known difference from HF BERT: combining marks already separate in the
 * text (not produced by decomposition) are kept, as llama.cpp keeps them.
 *
 * What it is not: special-token cutting and [CLS]/[SEP] (tokenizer.c).
 *
 * Decoding: a normal token's "▁" becomes a space, so word-initial pieces
 * read " word" and continuations join the word before; the space is dropped
 * at the start and after BOS ([CLS]). Lossy by nature: case, accents and the
 * spacing around punctuation do not come back.
 *
 * Thread-safety: read-only; encoding allocates its word buffer per call.
 */
#include "tok_impl.h"

#include <string.h>
#include <utf8proc.h>

static bool is_chinese(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static bool is_white(uint32_t c, utf8proc_category_t cat) {
    return (c >= 9 && c <= 13) || c == 0x85 || cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP;
}

typedef struct wpm_work {
    const mote_tokenizer *t;
    char *word;    /* "▁" + the current word */
    size_t n;      /* its length in bytes (3 when empty) */
    tok_out *out;
    mote_error *err;
} wpm_work;

/* Cut the current word into pieces, or [UNK]; then empty it. */
static mote_status flush_word(wpm_work *w) {
    size_t n = w->n;
    if (n <= 3) return MOTE_OK;
    w->n = 3;
    const mote_tokenizer *t = w->t;
    int64_t start = w->out->n;
    for (size_t i = 0; i < n;) {
        size_t j = n - i < t->max_len ? n : i + t->max_len;
        int32_t id = -1;
        for (; j > i; j--)
            if ((id = mote__tok_lookup(t, w->word + i, j - i)) >= 0) break;
        if (id < 0) {
            w->out->n = start; /* discard the word's pieces */
            break;
        }
        tok_emit(w->out, id);
        i = j;
    }
    if (w->out->n == start) {
        if (t->unk < 0)
            return mote__err(w->err, MOTE_ERR_UNSUPPORTED,
                             "a word cannot be encoded: the vocab has no piece for it and no unknown token");
        tok_emit(w->out, t->unk);
    }
    return MOTE_OK;
}

static void append_cp(wpm_work *w, uint32_t c) {
    w->n += (size_t)utf8proc_encode_char((utf8proc_int32_t)c, (utf8proc_uint8_t *)w->word + w->n);
}

mote_status mote__wpm_encode(const mote_tokenizer *t, const char *text, size_t len, tok_out *o, mote_error *err) {
    /* Lower-casing changes a character's UTF-8 length by at most one byte
     * per character (2 -> 3 bytes at most), and ASCII stays ASCII. */
    wpm_work w = {t, mote__malloc(2 * len + 8), 3, o, err};
    if (!w.word) return mote__err(err, MOTE_ERR_NOMEM, "out of memory while tokenizing %zu bytes", len);
    memcpy(w.word, "\xe2\x96\x81", 3);
    mote_status st = MOTE_OK;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len && !st;) {
        uint32_t n = mote__utf8_len(s + i, len - i);
        if (n == 0) { /* invalid UTF-8: dropped */
            i++;
            continue;
        }
        utf8proc_int32_t c;
        utf8proc_iterate(s + i, n, &c);
        i += n;
        utf8proc_int32_t dec[8];
        int last = 0;
        if (utf8proc_decompose_char(c, dec, 8, UTF8PROC_DECOMPOSE, &last) >= 1) c = dec[0];
        utf8proc_category_t cat = utf8proc_category(c);
        if (is_white((uint32_t)c, cat)) {
            st = flush_word(&w);
            continue;
        }
        if (c == 0 || c == 0xFFFD || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
            cat == UTF8PROC_CATEGORY_CO || cat == UTF8PROC_CATEGORY_CS)
            continue;
        bool punct = cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
        bool symbol = cat >= UTF8PROC_CATEGORY_SM && cat <= UTF8PROC_CATEGORY_SO;
        if (punct || (c < 0x7F && symbol) || is_chinese((uint32_t)c)) {
            if ((st = flush_word(&w))) break;
            append_cp(&w, (uint32_t)utf8proc_tolower(c));
            st = flush_word(&w);
        } else {
            append_cp(&w, (uint32_t)utf8proc_tolower(c));
        }
    }
    if (!st) st = flush_word(&w);
    mote__free(w.word);
    return st;
}

int mote__wpm_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap) {
    const tok_token *k = &t->toks[id];
    const char *s = tok_text(t, id);
    bool unescape = false;
    switch (k->type) {
    case MOTE_TOKEN_NORMAL: unescape = true; break;
    case MOTE_TOKEN_USER_DEFINED: break;
    default: return 0; /* control ([CLS], [SEP]), unknown, unused, byte */
    }
    bool strip = prev < 0 || prev == t->bos;
    int w = 0;
    for (uint32_t i = 0; i < k->len;) {
        char c;
        if (unescape && k->len - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
            c = ' ';
            i += 3;
        } else {
            c = s[i++];
        }
        if (strip) {
            strip = false;
            if (c == ' ') continue;
        }
        if (w >= cap) break;
        buf[w++] = c;
    }
    return w;
}
