/* spm.c — the SentencePiece ("llama") tokenizer: the vocab read from GGUF
 * metadata, encoding text to ids, and the bytes of each id.
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
 * Control and unknown tokens are not looked for in the text.
 *
 * What it is not: the BPE (gpt2), WordPiece or Unigram tokenizers — other
 * tokenizer.ggml.model values are MOTE_ERR_UNSUPPORTED; SentencePiece's
 * normalizer (llama.cpp does not apply one for this model either).
 *
 * Metadata (defaults as llama.cpp's for this model): tokens (required),
 * scores (0), token_type (normal), bos/eos/unknown_token_id (1/2/0 when
 * inside the vocab; -1 or 0xFFFFFFFF means none; other out-of-range ids are
 * MOTE_ERR_FORMAT), add_bos_token (true), add_eos_token (false),
 * add_space_prefix (true). Two tokens with the same text: the later id wins.
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
#include "tokenizer.h"

#include <math.h>
#include <string.h>

/* ---- the vocab -------------------------------------------------------- */

typedef struct spm_token {
    uint64_t off;  /* of its text in mote_tokenizer.pool */
    uint32_t len;
    float score;
    uint8_t type;  /* MOTE_TOKEN_*, or 0 for a value outside 1..6 */
    int16_t byte;  /* the byte of a well-formed <0xXX> BYTE token, else -1 */
} spm_token;

struct mote_tokenizer {
    int32_t n_vocab;
    spm_token *toks;
    char *pool;            /* every token's text, concatenated */
    int32_t *slots;        /* open-addressing hash: token id or -1 */
    uint64_t mask;         /* slot count - 1 (a power of two) */
    uint32_t max_len;      /* longest token text in bytes */
    int32_t byte_tok[256]; /* token for a byte that forms no piece, or -1 */
    int32_t *user_ids;     /* user-defined tokens, longest text first */
    int32_t n_user;
    int32_t bos, eos, unk; /* -1 when none */
    bool add_bos, add_eos, add_space_prefix;
};

/* FNV-1a, 64-bit. Keys are short (a token's text, at most max_len bytes). */
static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Id of the token whose text is exactly s[0..n), or -1. Where two tokens
 * share a text the later id wins, as in llama.cpp's token_to_id map. */
static int32_t lookup(const mote_tokenizer *t, const char *s, size_t n) {
    if (n > t->max_len) return -1;
    for (uint64_t i = hash_bytes(s, n) & t->mask;; i = (i + 1) & t->mask) {
        int32_t id = t->slots[i];
        if (id < 0) return -1;
        const spm_token *k = &t->toks[id];
        if (k->len == n && memcmp(t->pool + k->off, s, n) == 0) return id;
    }
}

/* Insert id under its text, replacing an earlier token with the same text.
 * The table has at least twice as many slots as tokens, so it never fills. */
static void insert(mote_tokenizer *t, int32_t id) {
    const spm_token *k = &t->toks[id];
    const char *s = t->pool + k->off;
    for (uint64_t i = hash_bytes(s, k->len) & t->mask;; i = (i + 1) & t->mask) {
        int32_t old = t->slots[i];
        if (old < 0 || (t->toks[old].len == k->len && memcmp(t->pool + t->toks[old].off, s, k->len) == 0)) {
            t->slots[i] = id;
            return;
        }
    }
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The byte that "<0xXX>" stands for, or -1 if s[0..n) is not of that form. */
static int parse_byte_piece(const char *s, size_t n) {
    if (n != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>') return -1;
    int hi = hex_digit(s[3]), lo = hex_digit(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* ---- loading ------------------------------------------------------------ */

void mote__tokenizer_free(mote_tokenizer *t) {
    if (!t) return;
    mote__free(t->toks);
    mote__free(t->pool);
    mote__free(t->slots);
    mote__free(t->user_ids);
    mote__free(t);
}

/* Read one integer element j of an array of integer type et at data. */
static bool arr_int(mote_gguf_vtype et, const void *data, uint64_t j, int64_t *out) {
    const unsigned char *p = data;
    switch (et) {
    case MOTE_GGUF_INT8: { int8_t v; memcpy(&v, p + j, 1); *out = v; return true; }
    case MOTE_GGUF_UINT8: { uint8_t v; memcpy(&v, p + j, 1); *out = v; return true; }
    case MOTE_GGUF_INT16: { int16_t v; memcpy(&v, p + 2 * j, 2); *out = v; return true; }
    case MOTE_GGUF_UINT16: { uint16_t v; memcpy(&v, p + 2 * j, 2); *out = v; return true; }
    case MOTE_GGUF_INT32: { int32_t v; memcpy(&v, p + 4 * j, 4); *out = v; return true; }
    case MOTE_GGUF_UINT32: { uint32_t v; memcpy(&v, p + 4 * j, 4); *out = v; return true; }
    default: return false;
    }
}

/* A special token id from key: absent gives dflt (llama.cpp's default for
 * this model) when that is inside the vocab, else -1. -1 and 0xFFFFFFFF (how
 * converters write "none" in a u32) give -1; any other value outside
 * [0, n_vocab) is MOTE_ERR_FORMAT. */
static mote_status special_id(const mote_gguf *g, const char *key, int32_t dflt, int32_t n_vocab,
                              int32_t *out, mote_error *err) {
    if (mote__gguf_find_key(g, key) < 0) {
        *out = dflt < n_vocab ? dflt : -1;
        return MOTE_OK;
    }
    int64_t v;
    mote_status s = mote__gguf_get_i64(g, key, &v, err);
    if (s) return s;
    if (v == -1 || v == (int64_t)UINT32_MAX) {
        *out = -1;
        return MOTE_OK;
    }
    if (v < 0 || v >= n_vocab)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %s = %lld is out of range: the vocab has %d tokens",
                         mote__gguf_path(g), key, (long long)v, (int)n_vocab);
    *out = (int32_t)v;
    return MOTE_OK;
}

/* An optional bool key: absent gives dflt. */
static mote_status opt_bool(const mote_gguf *g, const char *key, bool dflt, bool *out, mote_error *err) {
    *out = dflt;
    if (mote__gguf_find_key(g, key) < 0) return MOTE_OK;
    return mote__gguf_get_bool(g, key, out, err);
}

/* Sort user-defined ids by text length, longest first, then by id: the
 * order in which llama.cpp cuts them out of the text. Insertion sort: there
 * are few (zero for most vocabs). */
static void sort_user_ids(mote_tokenizer *t) {
    for (int32_t i = 1; i < t->n_user; i++) {
        int32_t id = t->user_ids[i], j = i;
        while (j > 0 && t->toks[t->user_ids[j - 1]].len < t->toks[id].len) {
            t->user_ids[j] = t->user_ids[j - 1];
            j--;
        }
        t->user_ids[j] = id;
    }
}

/* Copy the token texts, scores and types out of g into t (t->n_vocab set). */
static mote_status load_tokens(const mote_gguf *g, mote_tokenizer *t, int64_t tokens_idx,
                               mote_error *err) {
    const char *path = mote__gguf_path(g);
    int32_t n = t->n_vocab;

    /* Scores: optional (0 when absent), one f32 per token. */
    const void *scores = NULL;
    if (mote__gguf_find_key(g, "tokenizer.ggml.scores") >= 0) {
        mote_gguf_vtype et;
        uint64_t cnt;
        mote_status s = mote__gguf_get_arr(g, "tokenizer.ggml.scores", &et, &cnt, &scores, err);
        if (s) return s;
        if (et != MOTE_GGUF_FLOAT32)
            return mote__err(err, MOTE_ERR_FORMAT, "%s: tokenizer.ggml.scores must be an array of f32",
                             path);
        if (cnt != (uint64_t)n)
            return mote__err(err, MOTE_ERR_FORMAT,
                             "%s: tokenizer.ggml.scores has %llu values but tokenizer.ggml.tokens has %d",
                             path, (unsigned long long)cnt, (int)n);
    }
    /* Token types: optional (normal when absent), one integer per token. */
    const void *types = NULL;
    mote_gguf_vtype types_et = MOTE_GGUF_INT32;
    if (mote__gguf_find_key(g, "tokenizer.ggml.token_type") >= 0) {
        uint64_t cnt;
        mote_status s = mote__gguf_get_arr(g, "tokenizer.ggml.token_type", &types_et, &cnt, &types, err);
        if (s) return s;
        if (types_et != MOTE_GGUF_INT8 && types_et != MOTE_GGUF_UINT8 && types_et != MOTE_GGUF_INT16 &&
            types_et != MOTE_GGUF_UINT16 && types_et != MOTE_GGUF_INT32 && types_et != MOTE_GGUF_UINT32)
            return mote__err(err, MOTE_ERR_FORMAT,
                             "%s: tokenizer.ggml.token_type must be an array of integers", path);
        if (cnt != (uint64_t)n)
            return mote__err(err, MOTE_ERR_FORMAT,
                             "%s: tokenizer.ggml.token_type has %llu values but tokenizer.ggml.tokens has %d",
                             path, (unsigned long long)cnt, (int)n);
    }

    t->toks = mote__calloc((size_t)n, sizeof *t->toks);
    if (!t->toks) return mote__err(err, MOTE_ERR_NOMEM, "out of memory for %d tokens", (int)n);

    /* Texts: size the pool, then copy. */
    uint64_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *p;
        uint64_t len;
        if (mote__gguf_arr_str(g, tokens_idx, (uint64_t)i, &p, &len) != MOTE_OK)
            return mote__err(err, MOTE_ERR_FORMAT, "%s: tokenizer.ggml.tokens[%d] cannot be read", path, (int)i);
        if (len > UINT32_MAX / 4)
            return mote__err(err, MOTE_ERR_FORMAT, "%s: tokenizer.ggml.tokens[%d] is %llu bytes long",
                             path, (int)i, (unsigned long long)len);
        t->toks[i].off = total;
        t->toks[i].len = (uint32_t)len;
        total += len; /* cannot overflow: each is inside the mapped file */
        if (len > t->max_len) t->max_len = (uint32_t)len;
    }
    if (total > SIZE_MAX - 1) return mote__err(err, MOTE_ERR_NOMEM, "out of memory for the token texts");
    t->pool = mote__malloc((size_t)total + 1);
    if (!t->pool) return mote__err(err, MOTE_ERR_NOMEM, "out of memory for %llu bytes of token texts",
                                   (unsigned long long)total);
    for (int32_t i = 0; i < n; i++) {
        spm_token *k = &t->toks[i];
        const char *p;
        uint64_t len;
        mote__gguf_arr_str(g, tokens_idx, (uint64_t)i, &p, &len);
        if (len) memcpy(t->pool + k->off, p, (size_t)len);

        k->score = 0.0f;
        if (scores) {
            memcpy(&k->score, (const unsigned char *)scores + 4 * (size_t)i, 4);
            if (isnan(k->score))
                return mote__err(err, MOTE_ERR_FORMAT, "%s: tokenizer.ggml.scores[%d] is NaN", path, (int)i);
        }
        int64_t type = MOTE_TOKEN_NORMAL;
        if (types) arr_int(types_et, types, (uint64_t)i, &type);
        k->type = type >= MOTE_TOKEN_NORMAL && type <= MOTE_TOKEN_BYTE ? (uint8_t)type : 0;
        k->byte = -1;
        if (k->type == MOTE_TOKEN_BYTE) {
            int b = parse_byte_piece(t->pool + k->off, k->len);
            if (b >= 0) k->byte = (int16_t)b;
            else k->type = MOTE_TOKEN_NORMAL; /* malformed: decode it as its text */
        }
        if (k->type == MOTE_TOKEN_USER_DEFINED && k->len > 0) t->n_user++;
    }
    return MOTE_OK;
}

/* Build the hash table, the byte fallback table and the user-defined list. */
static mote_status index_tokens(mote_tokenizer *t, mote_error *err) {
    uint64_t n_slots = 16;
    while (n_slots < 2 * (uint64_t)t->n_vocab) n_slots *= 2;
    t->slots = mote__malloc((size_t)n_slots * sizeof *t->slots);
    if (!t->slots) return mote__err(err, MOTE_ERR_NOMEM, "out of memory for the token table");
    memset(t->slots, 0xff, (size_t)n_slots * sizeof *t->slots); /* all -1 */
    t->mask = n_slots - 1;
    for (int32_t i = 0; i < t->n_vocab; i++) insert(t, i);

    /* As llama.cpp's byte_to_token: "<0xXX>" (upper-case hex), else the
     * one-byte piece. */
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char buf[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        char one = (char)b;
        int32_t id = lookup(t, buf, 6);
        t->byte_tok[b] = id >= 0 ? id : lookup(t, &one, 1);
    }

    if (t->n_user) {
        t->user_ids = mote__malloc((size_t)t->n_user * sizeof *t->user_ids);
        if (!t->user_ids) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        int32_t k = 0;
        for (int32_t i = 0; i < t->n_vocab; i++)
            if (t->toks[i].type == MOTE_TOKEN_USER_DEFINED && t->toks[i].len > 0) t->user_ids[k++] = i;
        sort_user_ids(t);
    }
    return MOTE_OK;
}

mote_status mote__tokenizer_load(const mote_gguf *g, mote_tokenizer **out, mote_error *err) {
    *out = NULL;
    const char *path = mote__gguf_path(g);
    const char *model;
    uint64_t model_len;
    mote_status s = mote__gguf_get_str(g, "tokenizer.ggml.model", &model, &model_len, err);
    if (s) return s;
    if (model_len != 5 || memcmp(model, "llama", 5) != 0)
        return mote__err(err, MOTE_ERR_UNSUPPORTED,
                         "%s: tokenizer model '%.*s' is not supported by this build (only 'llama', SentencePiece)",
                         path, (int)(model_len < 64 ? model_len : 64), model);

    int64_t tokens_idx = mote__gguf_find_key(g, "tokenizer.ggml.tokens");
    if (tokens_idx < 0)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: missing key tokenizer.ggml.tokens", path);
    mote_gguf_vtype et;
    uint64_t n_tokens;
    const void *unused;
    s = mote__gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n_tokens, &unused, err);
    if (s) return s;
    if (et != MOTE_GGUF_STRING)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: tokenizer.ggml.tokens must be an array of strings", path);
    if (n_tokens == 0) return mote__err(err, MOTE_ERR_FORMAT, "%s: tokenizer.ggml.tokens is empty", path);
    if (n_tokens > (uint64_t)INT32_MAX / 4)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu tokens, too many", path,
                         (unsigned long long)n_tokens);

    mote_tokenizer *t = mote__calloc(1, sizeof *t);
    if (!t) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    t->n_vocab = (int32_t)n_tokens;
    if ((s = load_tokens(g, t, tokens_idx, err)) ||
        (s = index_tokens(t, err)) ||
        (s = special_id(g, "tokenizer.ggml.bos_token_id", 1, t->n_vocab, &t->bos, err)) ||
        (s = special_id(g, "tokenizer.ggml.eos_token_id", 2, t->n_vocab, &t->eos, err)) ||
        (s = special_id(g, "tokenizer.ggml.unknown_token_id", 0, t->n_vocab, &t->unk, err)) ||
        (s = opt_bool(g, "tokenizer.ggml.add_bos_token", true, &t->add_bos, err)) ||
        (s = opt_bool(g, "tokenizer.ggml.add_eos_token", false, &t->add_eos, err)) ||
        (s = opt_bool(g, "tokenizer.ggml.add_space_prefix", true, &t->add_space_prefix, err))) {
        mote__tokenizer_free(t);
        return s;
    }
    *out = t;
    return MOTE_OK;
}

int32_t mote__tokenizer_n_vocab(const mote_tokenizer *t) { return t->n_vocab; }
int32_t mote__tokenizer_bos(const mote_tokenizer *t) { return t->bos; }
int32_t mote__tokenizer_eos(const mote_tokenizer *t) { return t->eos; }

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

/* A piece of the input: raw text [off, off + len) or, with id >= 0, a
 * user-defined token cut out of it. */
typedef struct spm_frag {
    size_t off, len;
    int32_t id;
} spm_frag;

typedef struct spm_work {
    const mote_tokenizer *t;
    char *text;        /* the escaped fragment */
    spm_symbol *sym;
    spm_bigram *heap;
    size_t heap_n, heap_cap;
    int32_t *ids;      /* the caller's output */
    int64_t cap, n;    /* its capacity; ids produced so far */
    mote_error *err;
} spm_work;

static void emit(spm_work *w, int32_t id) {
    if (w->n < w->cap) w->ids[w->n] = id;
    w->n++;
}

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
    int32_t id = lookup(w->t, w->text + l->start, size);
    if (id < 0) return MOTE_OK;
    spm_bigram b = {w->t->toks[id].score, left, right, size};
    return heap_push(w, b);
}

/* ---- encoding: one fragment --------------------------------------------- */

/* Length of the UTF-8 character at s (n > 0 bytes available): 1..4, or 1
 * for a byte that does not start a well-formed character (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static uint32_t utf8_char_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    uint32_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 1;
    if (n < len || s[1] < lo || s[1] > hi) return 1;
    for (uint32_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 1;
    return len;
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
        int32_t id = lookup(t, w->text + y->start, y->n);
        if (id >= 0) {
            emit(w, id);
            continue;
        }
        for (uint32_t j = 0; j < y->n; j++) { /* byte fallback */
            unsigned char c = s[y->start + j];
            id = t->byte_tok[c] >= 0 ? t->byte_tok[c] : t->unk;
            if (id < 0)
                return mote__err(w->err, MOTE_ERR_UNSUPPORTED,
                                 "byte 0x%02X cannot be encoded: the vocab has no <0x%02X> token and no unknown token",
                                 c, c);
            emit(w, id);
        }
    }
    return MOTE_OK;
}

/* ---- encoding: user-defined tokens ------------------------------------ */

typedef struct frag_list {
    spm_frag *v;
    size_t n, cap;
} frag_list;

static bool frag_add(frag_list *l, size_t off, size_t len, int32_t id) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        spm_frag *v = mote__realloc(l->v, cap * sizeof *v);
        if (!v) return false;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (spm_frag){off, len, id};
    return true;
}

/* First occurrence of pat[0..pn) in s[0..n), or NULL. */
static const char *find_bytes(const char *s, size_t n, const char *pat, size_t pn) {
    while (n >= pn) {
        const char *p = memchr(s, pat[0], n - pn + 1);
        if (!p) return NULL;
        if (memcmp(p, pat, pn) == 0) return p;
        n -= (size_t)(p - s) + 1;
        s = p + 1;
    }
    return NULL;
}

/* Split text[0..len) at the user-defined tokens as llama.cpp does: for each
 * token, longest first, every raw fragment is cut at its occurrences from
 * left to right. *out receives the fragments in text order. */
static mote_status partition(const mote_tokenizer *t, const char *text, size_t len, frag_list *out,
                             mote_error *err) {
    frag_list a = {0}, b = {0};
    if (!frag_add(&a, 0, len, -1)) goto nomem;
    for (int32_t u = 0; u < t->n_user; u++) {
        const spm_token *k = &t->toks[t->user_ids[u]];
        const char *pat = t->pool + k->off;
        b.n = 0;
        for (size_t f = 0; f < a.n; f++) {
            spm_frag fr = a.v[f];
            if (fr.id >= 0) {
                if (!frag_add(&b, fr.off, fr.len, fr.id)) goto nomem;
                continue;
            }
            size_t pos = fr.off, end = fr.off + fr.len;
            const char *hit;
            while ((hit = find_bytes(text + pos, end - pos, pat, k->len))) {
                size_t at = (size_t)(hit - text);
                if (at > pos && !frag_add(&b, pos, at - pos, -1)) goto nomem;
                if (!frag_add(&b, at, k->len, t->user_ids[u])) goto nomem;
                pos = at + k->len;
            }
            if (pos < end && !frag_add(&b, pos, end - pos, -1)) goto nomem;
        }
        frag_list tmp = a;
        a = b;
        b = tmp;
    }
    mote__free(b.v);
    *out = a;
    return MOTE_OK;
nomem:
    mote__free(a.v);
    mote__free(b.v);
    return mote__err(err, MOTE_ERR_NOMEM, "out of memory while tokenizing");
}

/* ---- encoding: the entry point ------------------------------------------ */

mote_status mote__tokenizer_encode(const mote_tokenizer *t, const char *text, size_t len,
                                   bool add_special, int32_t *ids, int64_t cap,
                                   int64_t *n_out, mote_error *err) {
    if (n_out) *n_out = 0;
    if (!t || (!text && len) || cap < 0 || (!ids && cap > 0) || !n_out)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "tokenize: invalid arguments");
    /* Escaping triples a space and symbols are indexed by int32_t. */
    if (len > ((size_t)INT32_MAX - 3) / 3)
        return mote__err(err, MOTE_ERR_RANGE, "tokenize: the text is %zu bytes, more than %d", len,
                         (INT32_MAX - 3) / 3);

    spm_work w = {.t = t, .ids = ids, .cap = cap, .err = err};
    frag_list frags = {0};
    mote_status st = MOTE_OK;

    if (add_special && t->add_bos && t->bos >= 0) emit(&w, t->bos);

    /* The fragments: the whole text, or its cuts at user-defined tokens. */
    spm_frag whole = {0, len, -1};
    const spm_frag *fv = &whole;
    size_t n_frags = len > 0;
    if (len > 0 && t->n_user) {
        if ((st = partition(t, text, len, &frags, err))) goto done;
        fv = frags.v;
        n_frags = frags.n;
    }
    /* Work buffers sized for the longest raw fragment. */
    size_t longest = 0;
    for (size_t f = 0; f < n_frags; f++)
        if (fv[f].id < 0 && fv[f].len > longest) longest = fv[f].len;
    if (longest) {
        w.text = mote__malloc(3 * longest + 3);
        w.sym = mote__malloc((longest + 1) * sizeof *w.sym);
        if (!w.text || !w.sym) {
            st = mote__err(err, MOTE_ERR_NOMEM, "out of memory while tokenizing %zu bytes", len);
            goto done;
        }
    }
    bool prev_special = true; /* the start of the text counts as after a token */
    for (size_t f = 0; f < n_frags; f++) {
        if (fv[f].id >= 0) {
            emit(&w, fv[f].id);
            prev_special = true;
            continue;
        }
        size_t m = escape(&w, text + fv[f].off, fv[f].len, t->add_space_prefix && prev_special);
        if ((st = encode_fragment(&w, m))) goto done;
        prev_special = false;
    }
    if (add_special && t->add_eos && t->eos >= 0) emit(&w, t->eos);

    *n_out = w.n;
    if (w.n > cap)
        st = mote__err(err, MOTE_ERR_RANGE, "tokenize: the text needs %lld ids but there is room for %lld",
                       (long long)w.n, (long long)cap);
done:
    mote__free(w.text);
    mote__free(w.sym);
    mote__free(w.heap);
    mote__free(frags.v);
    return st;
}

/* ---- decoding ----------------------------------------------------------- */

/* Returns the number of bytes written: the piece, cut at cap bytes if it is
 * longer (real vocabs' pieces are under 64 bytes). */
int mote__tokenizer_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap) {
    if (!t || id < 0 || id >= t->n_vocab) return -1;
    if (!buf || cap < 0) cap = 0;
    const spm_token *k = &t->toks[id];
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
