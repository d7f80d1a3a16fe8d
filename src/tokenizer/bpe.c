/* bpe.c — the byte-level BPE ("gpt2") tokenizer: the GPT-2 byte <-> unicode
 * map, the merges (tokenizer.ggml.merges, "left right" strings in rank
 * order), encoding one raw fragment (pre-tokenizer words -> merges -> ids)
 * and the bytes of each id.
 *
 * What it is: a reimplementation of llama.cpp's llm_tokenizer_bpe_session
 * from its description, checked against llama.cpp's test vectors
 * (../shared/assets/vocab/ggml-vocab-{gpt-2,falcon,mpt,starcoder,refact,
 * deepseek-llm,deepseek-coder}.gguf.{inp,out}):
 *   1. The fragment is split into words by the pre-tokenizer (pretok.c).
 *   2. Each byte of a word is one symbol: the token of its GPT-2 unicode
 *      character (bytes 33..126, 161..172, 174..255 stand for themselves,
 *      the others for U+0100.. in order). With ignore_merges (llama3,
 *      tekken) a word whose whole byte-level text is a token is that token.
 *   3. Adjacent symbols whose pair is a merge are queued by merge rank
 *      (ties: leftmost); the best is merged into the merge's result token,
 *      stale pairs skipped, new neighbours queued, until none is left.
 *   4. Each symbol gives its token; a symbol that is no token (a merge
 *      result outside the vocab, a byte without a token) gives the tokens of
 *      the single bytes of its byte-level text that are tokens — usually
 *      none, as llama.cpp.
 * Merges are checked at load: each must be two tokens separated by one
 * space (after the first character, as llama.cpp splits them); a merge that
 * names a text which is no token is MOTE_ERR_FORMAT (HF tokenizers refuse
 * such files too). The first of two equal merges keeps its rank.
 *
 * What it is not: the pre-tokenizer regexes (pretok.c); special-token
 * cutting (tokenizer.c); llama.cpp's clean_up_tokenization_spaces on
 * decoding (a whole-text rule; pieces here are exact bytes).
 *
 * Decoding: normal tokens map each character back through the byte map (a
 * character outside it is copied as its UTF-8), user-defined tokens are
 * their text, byte tokens their byte, control/unknown/unused nothing. So
 * decoding inverts encoding byte for byte whenever no special token was cut
 * out (and even then for user-defined ones).
 *
 * Speed: texts of 4 KiB or more keep a per-call cache of short words (up
 * to 64 bytes, 6 tokens) -> ids; BPE is a function of the word alone, so
 * the cache changes nothing but time.
 *
 * Thread-safety: read-only after load; encoding allocates per call.
 */
#include "tok_impl.h"

#include <string.h>

/* A merge in the hash table: one cache line holds four. */
typedef struct bpe_merge {
    uint64_t key;          /* (left id << 32 | right id) + 1, or 0 for an empty slot */
    int32_t rank;          /* its position in tokenizer.ggml.merges */
    int32_t res;           /* the token of left + right, or -1 */
} bpe_merge;

struct tok_bpe {
    tok_pretok *pre;
    bool ignore_merges;
    bpe_merge *merges;     /* open addressing, at least twice as many slots as merges */
    uint64_t mmask;
    int32_t byte_id[256];  /* token of byte b's unicode character, or -1 */
    char byte_utf8[256][2];/* that character in UTF-8 */
    uint8_t byte_utf8_len[256];
    int16_t cp_byte[324];  /* codepoint < 324 -> its byte, or -1 */
};

/* ---- the byte map --------------------------------------------------------- */

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the other 68 take U+0100.. in byte order. */
static void build_byte_map(tok_bpe *b) {
    int next = 256;
    for (int i = 0; i < 324; i++) b->cp_byte[i] = -1;
    for (int c = 0; c < 256; c++) {
        bool self = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255);
        int cp = self ? c : next++;
        b->cp_byte[cp] = (int16_t)c;
        if (cp < 0x80) {
            b->byte_utf8[c][0] = (char)cp;
            b->byte_utf8_len[c] = 1;
        } else {
            b->byte_utf8[c][0] = (char)(0xC0 | (cp >> 6));
            b->byte_utf8[c][1] = (char)(0x80 | (cp & 0x3F));
            b->byte_utf8_len[c] = 2;
        }
    }
}

/* ---- merges ------------------------------------------------------------- */

/* Never 0 (ids are below 2^31), so a zeroed table is empty: calloc gives
 * it without touching memory. */
static uint64_t pair_key(int32_t l, int32_t r) { return ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1; }

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Slot of pair (l, r): its merge, or the empty slot where it would go. */
static uint64_t merge_slot(const tok_bpe *b, uint64_t key) {
    uint64_t i = mix64(key) & b->mmask;
    while (b->merges[i].key != 0 && b->merges[i].key != key) i = (i + 1) & b->mmask;
    return i;
}

void mote__bpe_free(tok_bpe *b) {
    if (!b) return;
    mote__pretok_free(b->pre);
    mote__free(b->merges);
    mote__free(b);
}

static mote_status load_merges(const mote_gguf *g, mote_tokenizer *t, tok_bpe *b, mote_error *err) {
    const char *path = mote__gguf_path(g);
    const char *key = "tokenizer.ggml.merges";
    int64_t idx = mote__gguf_find_key(g, key);
    if (idx < 0) return mote__err(err, MOTE_ERR_FORMAT, "%s: missing key %s (a gpt2 tokenizer needs its merges)", path, key);
    mote_gguf_vtype et;
    uint64_t n;
    const void *unused;
    mote_status s = mote__gguf_get_arr(g, key, &et, &n, &unused, err);
    if (s) return s;
    if (et != MOTE_GGUF_STRING) return mote__err(err, MOTE_ERR_FORMAT, "%s: %s must be an array of strings", path, key);
    if (n > (uint64_t)INT32_MAX / 4)
        return mote__err(err, MOTE_ERR_FORMAT, "%s: %s has %llu merges, too many", path, key, (unsigned long long)n);
    uint64_t n_slots = 16;
    while (n_slots < 2 * n) n_slots *= 2;
    b->merges = mote__calloc((size_t)n_slots, sizeof *b->merges);
    char *cat = mote__malloc(2 * (size_t)t->max_len + 1);
    if (!b->merges || !cat) {
        mote__free(cat);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory for %llu merges", (unsigned long long)n);
    }
    b->mmask = n_slots - 1;
    for (uint64_t i = 0; i < n; i++) {
        const char *p;
        uint64_t len;
        if (mote__gguf_arr_str(g, idx, i, &p, &len) != MOTE_OK) {
            mote__free(cat);
            return mote__err(err, MOTE_ERR_FORMAT, "%s: %s[%llu] cannot be read", path, key, (unsigned long long)i);
        }
        const char *sp = len > 1 ? memchr(p + 1, ' ', (size_t)len - 1) : NULL;
        int shown = (int)(len < 60 ? len : 60);
        if (!sp) {
            mote__free(cat);
            return mote__err(err, MOTE_ERR_FORMAT, "%s: %s[%llu] '%.*s' is not two tokens separated by a space",
                             path, key, (unsigned long long)i, shown, p);
        }
        size_t ln = (size_t)(sp - p), rn = (size_t)len - ln - 1;
        int32_t l = mote__tok_lookup(t, p, ln), r = mote__tok_lookup(t, sp + 1, rn);
        if (l < 0 || r < 0) {
            mote__free(cat);
            const char *bad = l < 0 ? p : sp + 1;
            size_t bn = l < 0 ? ln : rn;
            return mote__err(err, MOTE_ERR_FORMAT, "%s: %s[%llu] '%.*s' names '%.*s', which is not a token", path,
                             key, (unsigned long long)i, shown, p, (int)(bn < 60 ? bn : 60), bad);
        }
        uint64_t k = pair_key(l, r), slot = merge_slot(b, k);
        if (b->merges[slot].key == k) continue; /* a repeated merge keeps its first rank */
        b->merges[slot].key = k;
        b->merges[slot].rank = (int32_t)i;
        int32_t res = -1;
        if (ln + rn <= t->max_len) {
            memcpy(cat, p, ln);
            memcpy(cat + ln, sp + 1, rn);
            res = mote__tok_lookup(t, cat, ln + rn);
        }
        b->merges[slot].res = res;
    }
    mote__free(cat);
    return MOTE_OK;
}

mote_status mote__bpe_load(const mote_gguf *g, mote_tokenizer *t, mote_error *err) {
    tok_bpe *b = mote__calloc(1, sizeof *b);
    if (!b) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    t->bpe = b; /* freed with t */
    t->bpe_cache_min = 4096;
    build_byte_map(b);
    for (int c = 0; c < 256; c++) b->byte_id[c] = mote__tok_lookup(t, b->byte_utf8[c], b->byte_utf8_len[c]);
    mote_status s = load_merges(g, t, b, err);
    if (s) return s;
    const char *pre = NULL;
    uint64_t pre_len = 0;
    if (mote__gguf_find_key(g, "tokenizer.ggml.pre") >= 0 &&
        (s = mote__gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_len, err)))
        return s;
    return mote__pretok_new(pre, (size_t)pre_len, &b->pre, &b->ignore_merges, &t->add_bos, &t->add_sep, err);
}

/* ---- encoding ----------------------------------------------------------- */

typedef struct bpe_sym {
    int32_t id;            /* token of the symbol's text, or -1 */
    uint32_t start, n;     /* bytes of the word; n == 0 once merged away */
    int32_t prev, next;
} bpe_sym;

typedef struct bpe_pair {
    int32_t rank, left;    /* ordered by rank, then left */
    int32_t right, lid, rid, res; /* lid/rid: the ids when queued (stale check) */
} bpe_pair;

/* A cached word: its bytes are text[off, off + len) of the fragment being
 * encoded, its ids the result (words of up to 64 bytes giving up to 6
 * tokens, the common case). Direct-mapped by hash; a miss recomputes. */
typedef struct bpe_cached {
    uint32_t off;
    uint8_t len, n_ids;    /* len 0: empty slot */
    int32_t ids[6];
} bpe_cached;

enum { CACHE_SLOTS = 8192, CACHE_MAX_WORD = 64 };

typedef struct bpe_work {
    const mote_tokenizer *t;
    const tok_bpe *b;
    const char *text;      /* the fragment */
    bpe_sym *sym;          /* one per byte of the longest word */
    bpe_pair *heap;
    size_t heap_n, heap_cap;
    char *buf;             /* byte-level text of a word (ignore_merges) */
    bpe_cached *cache;     /* CACHE_SLOTS, for fragments of t->bpe_cache_min bytes or more; else NULL */
    tok_out *out;
    mote_error *err;
} bpe_work;

static bool pair_before(const bpe_pair *a, const bpe_pair *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static mote_status heap_push(bpe_work *w, bpe_pair p) {
    if (w->heap_n == w->heap_cap) {
        size_t cap = w->heap_cap ? w->heap_cap * 2 : 64;
        bpe_pair *h = mote__realloc(w->heap, cap * sizeof *h);
        if (!h) return mote__err(w->err, MOTE_ERR_NOMEM, "out of memory while tokenizing");
        w->heap = h;
        w->heap_cap = cap;
    }
    size_t i = w->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pair_before(&p, &w->heap[parent])) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = p;
    return MOTE_OK;
}

static bpe_pair heap_pop(bpe_work *w) {
    bpe_pair top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0, n = w->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_before(&w->heap[c + 1], &w->heap[c])) c++;
        if (!pair_before(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

/* Queue the merge of symbols l and r if their pair is a merge. */
static mote_status try_pair(bpe_work *w, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return MOTE_OK;
    int32_t lid = w->sym[l].id, rid = w->sym[r].id;
    if (lid < 0 || rid < 0) return MOTE_OK;
    const bpe_merge *m = &w->b->merges[merge_slot(w->b, pair_key(lid, rid))];
    if (m->key != pair_key(lid, rid)) return MOTE_OK;
    bpe_pair p = {m->rank, l, r, lid, rid, m->res};
    return heap_push(w, p);
}

/* Write the byte-level text of word bytes s[0..n) into w->buf; its length. */
static size_t byte_level(const bpe_work *w, const unsigned char *s, size_t n) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(w->buf + m, w->b->byte_utf8[s[i]], w->b->byte_utf8_len[s[i]]);
        m += w->b->byte_utf8_len[s[i]];
    }
    return m;
}

/* A symbol that is no token: the single bytes of its byte-level text that
 * are tokens (llama.cpp's fallback). */
static void emit_fallback(bpe_work *w, const unsigned char *s, size_t n) {
    size_t m = byte_level(w, s, n);
    for (size_t i = 0; i < m; i++) {
        int32_t id = mote__tok_lookup(w->t, w->buf + i, 1);
        if (id >= 0) tok_emit(w->out, id);
    }
}

/* Encode one word: bytes [off, off + n) of the fragment. */
static mote_status encode_word(void *ctx, size_t off, size_t n) {
    bpe_work *w = ctx;
    const unsigned char *s = (const unsigned char *)w->text + off;
    const tok_bpe *b = w->b;
    if (n == 1) {
        if (b->byte_id[s[0]] >= 0) tok_emit(w->out, b->byte_id[s[0]]);
        else emit_fallback(w, s, 1);
        return MOTE_OK;
    }
    bpe_cached *slot = NULL;
    if (w->cache && n <= CACHE_MAX_WORD) {
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
        slot = &w->cache[(h ^ (h >> 29)) & (CACHE_SLOTS - 1)];
        if (slot->len == n && memcmp(w->text + slot->off, s, n) == 0) {
            for (int i = 0; i < slot->n_ids; i++) tok_emit(w->out, slot->ids[i]);
            return MOTE_OK;
        }
    }
    if (b->ignore_merges) {
        int32_t id = mote__tok_lookup(w->t, w->buf, byte_level(w, s, n));
        if (id >= 0) {
            if (slot) *slot = (bpe_cached){(uint32_t)off, (uint8_t)n, 1, {id}};
            tok_emit(w->out, id);
            return MOTE_OK;
        }
    }
    int32_t n_sym = (int32_t)n;
    for (int32_t i = 0; i < n_sym; i++)
        w->sym[i] = (bpe_sym){b->byte_id[s[i]], (uint32_t)i, 1, i - 1, i + 1 < n_sym ? i + 1 : -1};
    mote_status st;
    w->heap_n = 0;
    for (int32_t i = 1; i < n_sym; i++)
        if ((st = try_pair(w, i - 1, i))) return st;
    while (w->heap_n) {
        bpe_pair p = heap_pop(w);
        bpe_sym *l = &w->sym[p.left], *r = &w->sym[p.right];
        if (l->n == 0 || r->n == 0 || l->id != p.lid || r->id != p.rid || l->next != p.right) continue; /* stale */
        l->n += r->n;
        l->id = p.res;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) w->sym[r->next].prev = p.left;
        if ((st = try_pair(w, l->prev, p.left))) return st;
        if ((st = try_pair(w, p.left, l->next))) return st;
    }
    bpe_cached entry = {(uint32_t)off, (uint8_t)n, 0, {0}};
    for (int32_t i = 0; i != -1; i = w->sym[i].next) {
        const bpe_sym *y = &w->sym[i];
        if (y->id >= 0) tok_emit(w->out, y->id);
        else emit_fallback(w, s + y->start, y->n);
        if (y->id < 0 || entry.n_ids == 6) slot = NULL; /* not cacheable */
        else entry.ids[entry.n_ids++] = y->id;
    }
    if (slot) *slot = entry;
    return MOTE_OK;
}

mote_status mote__bpe_encode(const mote_tokenizer *t, const char *text, size_t len, tok_out *o, mote_error *err) {
    bpe_work w = {.t = t, .b = t->bpe, .text = text, .out = o, .err = err};
    mote_status st;
    /* Sized for the whole fragment: the longest word is at most that. */
    w.sym = mote__malloc(len * sizeof *w.sym);
    w.buf = mote__malloc(2 * len + 1);
    bool cached = len >= t->bpe_cache_min && len <= UINT32_MAX;
    if (cached) w.cache = mote__calloc(CACHE_SLOTS, sizeof *w.cache);
    if (!w.sym || !w.buf || (cached && !w.cache)) {
        st = mote__err(err, MOTE_ERR_NOMEM, "out of memory while tokenizing %zu bytes", len);
        goto done;
    }
    st = mote__pretok_split(t->bpe->pre, text, len, encode_word, &w, err);
done:
    mote__free(w.sym);
    mote__free(w.buf);
    mote__free(w.cache);
    mote__free(w.heap);
    return st;
}

/* ---- decoding ----------------------------------------------------------- */

int mote__bpe_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap) {
    (void)prev;
    const tok_token *k = &t->toks[id];
    const unsigned char *s = (const unsigned char *)tok_text(t, id);
    int w = 0;
    switch (k->type) {
    case MOTE_TOKEN_USER_DEFINED:
        for (uint32_t i = 0; i < k->len && w < cap; i++) buf[w++] = (char)s[i];
        return w;
    case MOTE_TOKEN_BYTE:
        if (cap > 0) buf[w++] = (char)k->byte;
        return w;
    case MOTE_TOKEN_NORMAL: break;
    default: return 0; /* control, unknown, unused, undefined */
    }
    for (uint32_t i = 0; i < k->len;) {
        uint32_t n = mote__utf8_len(s + i, k->len - i);
        uint32_t cp = 0x7FFFFFFF;
        if (n == 1) cp = s[i];
        else if (n == 2) cp = (uint32_t)(s[i] & 0x1F) << 6 | (s[i + 1] & 0x3F);
        if (cp < 324 && t->bpe->cp_byte[cp] >= 0) {
            if (w >= cap) break;
            buf[w++] = (char)t->bpe->cp_byte[cp];
        } else { /* outside the byte map: its bytes as they are */
            if (n == 0) n = 1;
            if (w + (int)n > cap) break;
            memcpy(buf + w, s + i, n);
            w += (int)n;
        }
        i += n ? n : 1;
    }
    return w;
}
