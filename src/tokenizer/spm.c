/* spm.c — the SentencePiece ("llama") tokenizer: encoding one raw fragment
 * of text to ids, and the bytes of each id. The vocab, the metadata and the
 * cutting out of special tokens (step 1 below) live in tokenizer.c.
 *
 * What it is: a reimplementation of llama.cpp's SPM tokenizer
 * (llm_tokenizer_spm_session in llama-vocab.cpp), written from its
 * description and checked against llama.cpp's own test vectors
 * (../shared/assets/vocab/ggml-vocab-{llama-spm,phi-3}.gguf.{inp,out}):
 *   1. User-defined tokens (token_type 4) are cut out of the text first, as
 *      llama.cpp does even when special tokens are not parsed; the raw text
 *      between them forms fragments.
 *   2. Each fragment gets a leading space when add_space_prefix is set and it
 *      starts the text or follows a token; then every ' ' becomes U+2581 "▁".
 *   3. The fragment is split into UTF-8 characters; adjacent symbols whose
 *      concatenation is a vocab piece form candidate bigrams in a max-heap
 *      ordered by the piece's score (ties: the leftmost). The best bigram is
 *      merged and its new neighbours become candidates, until none is left:
 *      O(n log n) over a doubly linked list of symbols.
 *   4. Each final symbol is looked up; one that is not a piece is written as
 *      byte-fallback tokens <0xXX> (else the one-byte piece, else <unk>).
 * Control and unknown tokens are looked for in the text only when special
 * tokens are parsed (MOTE_TOKENIZE_PARSE_SPECIAL).
 *
 * What it is not: the BPE (bpe.c), WordPiece (wpm.c) or Unigram tokenizers;
 * SentencePiece's normalizer (llama.cpp does not apply one for this model
 * either).
 *
 * Metadata: see tokenizer.c (add_space_prefix, add_bos_token, add_eos_token
 * are honoured there and here).
 *
 * Known differences from llama.cpp:
 *   - Invalid UTF-8: llama.cpp takes a lead byte's claimed length even when
 *     the continuation bytes are missing ("\xC3A" becomes one symbol); here
 *     every byte that does not start a valid character is a one-byte symbol
 *     (it then falls back to <0xXX>), and no read goes past len.
 *   - A byte with neither a <0xXX> piece, a one-byte piece nor an unknown
 *     token: llama.cpp throws; here encoding fails with MOTE_ERR_UNSUPPORTED.
 *   - llama.cpp's lstrip/rstrip token attributes and its model-name rules
 *     (phi-3 strips the whitespace after its user-defined "</s>") are not
 *     applied.
 *   - The first piece loses its leading space after BOS (SentencePiece's
 *     and llama2.c's rule; llama.cpp's detokenize keeps it after BOS).
 * Not needed: llama.cpp's resegment() consults a reverse-merge map only for
 * final symbols that are not pieces. Every merged symbol is a piece (a
 * bigram is only queued when its text is one), so such a symbol is a single
 * character or byte, which never equals a bigram's text (two adjacent
 * symbols never spell one valid character): we fall back to bytes directly.
 *
 * Decoding (mote__tokenizer_piece) follows llama.cpp's token_to_piece with
 * special = false: normal tokens with "▁" turned into " ", byte tokens as
 * their byte, user-defined tokens verbatim, control/unknown/unused tokens as
 * nothing; plus SentencePiece's rule that the leading space of the first
 * piece (after BOS, or at the start) is dropped when add_space_prefix is set.
 * So decoding inverts encoding exactly, except that a "▁" (U+2581) in the
 * text comes back as a space, and that text after a user-defined token
 * comes back with the space prefix it was given.
 *
 * Thread-safety: a loaded tokenizer is read-only. Encoding allocates its own
 * work buffers per call (through mote__malloc); no lookup allocates.
 */
#include "tok_impl.h"

#include <string.h>

/* ---- encoding: work buffers --------------------------------------------- */

/* A symbol: bytes [start, start + n) of the escaped fragment, linked to its
 * neighbours. n == 0 once merged into its left neighbour. */
typedef struct spm_symbol {
    uint32_t start, n;
    int32_t prev, next;
} spm_symbol;

/* A candidate merge of symbols left and right (adjacent when queued); size
 * is their byte count then, so a bigram whose symbols changed since is
 * recognised as stale when popped. */
typedef struct spm_bigram {
    float score;
    int32_t left, right;
    uint32_t size;
} spm_bigram;

typedef struct spm_work {
    const mote_tokenizer *t;
    char *text;        /* the escaped fragment */
    spm_symbol *sym;
    spm_bigram *heap;
    size_t heap_n, heap_cap;
    tok_out *out;
    mote_error *err;
} spm_work;

/* True if a is to be merged before b: higher score, then further left. */
static bool bigram_before(const spm_bigram *a, const spm_bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static mote_status heap_push(spm_work *w, spm_bigram b) {
    if (w->heap_n == w->heap_cap) {
        size_t cap = w->heap_cap ? w->heap_cap * 2 : 64;
        spm_bigram *h = mote__realloc(w->heap, cap * sizeof *h);
        if (!h) return mote__err(w->err, MOTE_ERR_NOMEM, "out of memory while tokenizing");
        w->heap = h;
        w->heap_cap = cap;
    }
    size_t i = w->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bigram_before(&b, &w->heap[parent])) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = b;
    return MOTE_OK;
}

/* Remove and return the best bigram (heap_n > 0). */
static spm_bigram heap_pop(spm_work *w) {
    spm_bigram top = w->heap[0];
    spm_bigram last = w->heap[--w->heap_n];
    size_t i = 0, n = w->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bigram_before(&w->heap[c + 1], &w->heap[c])) c++;
        if (!bigram_before(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

/* Queue the merge of symbols left and right if their text is a piece. */
static mote_status try_add_bigram(spm_work *w, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return MOTE_OK;
    const spm_symbol *l = &w->sym[left], *r = &w->sym[right];
    uint32_t size = l->n + r->n;
    int32_t id = mote__tok_lookup(w->t, w->text + l->start, size);
    if (id < 0) return MOTE_OK;
    spm_bigram b = {w->t->toks[id].score, left, right, size};
    return heap_push(w, b);
}

/* ---- encoding: one fragment --------------------------------------------- */

/* Length of the symbol at s: a well-formed UTF-8 character, else 1 byte. */
static uint32_t utf8_char_len(const unsigned char *s, size_t n) {
    uint32_t len = mote__utf8_len(s, n);
    return len ? len : 1;
}

/* Write the fragment src[0..len) escaped into w->text (with the leading "▁"
 * when prefix); returns the escaped length. */
static size_t escape(spm_work *w, const char *src, size_t len, bool prefix) {
    size_t m = 0;
    if (prefix) {
        memcpy(w->text, "\xe2\x96\x81", 3);
        m = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (src[i] == ' ') {
            memcpy(w->text + m, "\xe2\x96\x81", 3);
            m += 3;
        } else {
            w->text[m++] = src[i];
        }
    }
    return m;
}

/* Tokenize the escaped fragment w->text[0..m), m > 0, appending to the
 * output. */
static mote_status encode_fragment(spm_work *w, size_t m) {
    const mote_tokenizer *t = w->t;
    const unsigned char *s = (const unsigned char *)w->text;

    int32_t n_sym = 0;
    for (size_t pos = 0; pos < m;) {
        uint32_t len = utf8_char_len(s + pos, m - pos);
        spm_symbol *y = &w->sym[n_sym];
        y->start = (uint32_t)pos;
        y->n = len;
        y->prev = n_sym - 1;
        y->next = n_sym + 1;
        n_sym++;
        pos += len;
    }
    w->sym[n_sym - 1].next = -1;

    mote_status st;
    w->heap_n = 0;
    for (int32_t i = 1; i < n_sym; i++)
        if ((st = try_add_bigram(w, i - 1, i))) return st;

    while (w->heap_n) {
        spm_bigram b = heap_pop(w);
        spm_symbol *l = &w->sym[b.left], *r = &w->sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) w->sym[r->next].prev = b.left;
        if ((st = try_add_bigram(w, l->prev, b.left))) return st;
        if ((st = try_add_bigram(w, b.left, l->next))) return st;
    }

    for (int32_t i = 0; i != -1; i = w->sym[i].next) {
        const spm_symbol *y = &w->sym[i];
        int32_t id = mote__tok_lookup(t, w->text + y->start, y->n);
        if (id >= 0) {
            tok_emit(w->out, id);
            continue;
        }
        for (uint32_t j = 0; j < y->n; j++) { /* byte fallback */
            unsigned char c = s[y->start + j];
            id = t->byte_tok[c] >= 0 ? t->byte_tok[c] : t->unk;
            if (id < 0)
                return mote__err(w->err, MOTE_ERR_UNSUPPORTED,
                                 "byte 0x%02X cannot be encoded: the vocab has no <0x%02X> token and no unknown token",
                                 c, c);
            tok_emit(w->out, id);
        }
    }
    return MOTE_OK;
}

/* ---- encoding: the entry point ------------------------------------------ */

bool mote__spm_can_split(const mote_tokenizer *t) {
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const char *p = tok_text(t, id);
        uint32_t n = t->toks[id].len;
        for (uint32_t i = 1; i + 3 <= n; i++)
            if (memcmp(p + i, "\xe2\x96\x81", 3) == 0 && (i < 3 || memcmp(p + i - 3, "\xe2\x96\x81", 3) != 0))
                return false;
    }
    return true;
}

mote_status mote__spm_encode(const mote_tokenizer *t, const char *text, size_t len, bool prefix, tok_out *o,
                             mote_error *err) {
    spm_work w = {.t = t, .out = o, .err = err};
    mote_status st;
    w.text = mote__malloc(3 * len + 3);
    w.sym = mote__malloc((len + 1) * sizeof *w.sym);
    if (!w.text || !w.sym) {
        st = mote__err(err, MOTE_ERR_NOMEM, "out of memory while tokenizing %zu bytes", len);
        goto done;
    }
    size_t m = escape(&w, text, len, prefix);
    char *all = w.text;
    if (!t->spm_split) {
        st = encode_fragment(&w, m);
    } else {
        /* No piece has "▁" after another character (checked at load), so
         * no bigram spans a "▁" that follows a non-"▁": the words between
         * such points are encoded one by one, with the same result and a
         * small heap instead of one the size of the text. */
        static const char sp[3] = {'\xe2', '\x96', '\x81'};
        size_t start = 0;
        st = MOTE_OK;
        for (size_t i = 3; i + 3 <= m && !st; i++) {
            if (all[i] != sp[0] || memcmp(all + i, sp, 3) != 0 || memcmp(all + i - 3, sp, 3) == 0) continue;
            w.text = all + start;
            st = encode_fragment(&w, i - start);
            start = i;
        }
        if (!st) {
            w.text = all + start;
            st = encode_fragment(&w, m - start);
        }
        w.text = all;
    }
done:
    mote__free(w.text);
    mote__free(w.sym);
    mote__free(w.heap);
    return st;
}

/* ---- decoding ----------------------------------------------------------- */


/* Returns the number of bytes written: the piece, cut at cap bytes if it is
 * longer (real vocabs' pieces are under 64 bytes). */
int mote__spm_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap) {
    const tok_token *k = &t->toks[id];
    const char *s = t->pool + k->off;
    size_t n = k->len;
    char byte;
    bool unescape = false;
    switch (k->type) {
    case MOTE_TOKEN_NORMAL: unescape = true; break;
    case MOTE_TOKEN_USER_DEFINED: break;
    case MOTE_TOKEN_BYTE:
        byte = (char)k->byte;
        s = &byte;
        n = 1;
        break;
    default: return 0; /* control, unknown, unused, undefined */
    }
    /* SentencePiece drops the space it added in front of the text. */
    bool strip = t->add_space_prefix && (prev < 0 || prev == t->bos);
    int w = 0;
    for (size_t i = 0; i < n;) {
        char c;
        if (unescape && n - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
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
