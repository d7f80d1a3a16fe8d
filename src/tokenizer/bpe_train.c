/* bpe_train.c — training a byte-level BPE tokenizer (mote_vocab_train):
 * text files in, a vocab-only GGUF ("gpt2" model) out, which bpe.c reads.
 *
 * The algorithm (Sennrich et al.'s BPE over GPT-2's byte-level alphabet):
 *   1. Each file is split into words by the pre-tokenizer of the chosen
 *      llama.cpp pre name (pretok.c), the same split encoding does; unique
 *      words are counted in a hash table.
 *   2. Every word starts as its bytes: symbols 2..257 (ids 0 and 1 are the
 *      control tokens <s> and </s>).
 *   3. Pair counts (count-weighted over unique words) and, for each pair,
 *      the words it occurs in are built once. Then repeatedly: the most
 *      frequent pair (ties: lowest left id, then right id — deterministic)
 *      becomes a merge; only the words listed for it are rewritten, and the
 *      pair counts change by the difference between each word's pairs
 *      before and after (a max-heap with stale entries skipped keeps the
 *      best pair at hand). A merge whose text already is a token (two ways
 *      to the same string) adds a merge but no token.
 *   4. Stop at the requested token count, or when no pair occurs
 *      min_count times.
 * Encoding replays the merges in rank order on each word (bpe.c), which is
 * exactly the sequence of rewrites training applied, so the trained words
 * encode as they were merged; decoding inverts the byte map byte for byte.
 *
 * Not here: encoding (bpe.c), the regexes (pretok.c), the command line
 * (tools/mote/cmd_vocab.c). Memory: the input files are mapped one at a
 * time; the word table holds each distinct word once.
 */
#include "tok_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SPECIAL 2   /* <s>, </s> */
#define FIRST_BYTE N_SPECIAL

/* ---- growable byte-string table (words and token texts) -------------------- */

typedef struct str_table {
    char *pool;          /* all strings, concatenated */
    uint64_t pool_len, pool_cap;
    uint64_t *off;       /* (n) start of string i in pool */
    uint32_t *len;       /* (n) */
    int64_t n, cap;
    int64_t *slots;      /* open addressing: index or -1 */
    uint64_t mask;
} str_table;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static void st_free(str_table *t) {
    mote__free(t->pool);
    mote__free(t->off);
    mote__free(t->len);
    mote__free(t->slots);
    memset(t, 0, sizeof *t);
}

static bool st_rehash(str_table *t, uint64_t n_slots) {
    int64_t *s = mote__malloc(n_slots * sizeof(int64_t));
    if (!s) return false;
    for (uint64_t i = 0; i < n_slots; i++) s[i] = -1;
    for (int64_t k = 0; k < t->n; k++) {
        uint64_t i = hash_bytes(t->pool + t->off[k], t->len[k]) & (n_slots - 1);
        while (s[i] >= 0) i = (i + 1) & (n_slots - 1);
        s[i] = k;
    }
    mote__free(t->slots);
    t->slots = s;
    t->mask = n_slots - 1;
    return true;
}

/* Index of string s[0..n) in t, adding it if absent (*added says which);
 * -1 on out of memory. */
static int64_t st_intern(str_table *t, const char *s, size_t n, bool *added) {
    if (!t->slots && !st_rehash(t, 1024)) return -1;
    uint64_t i = hash_bytes(s, n) & t->mask;
    for (; t->slots[i] >= 0; i = (i + 1) & t->mask) {
        int64_t k = t->slots[i];
        if (t->len[k] == n && memcmp(t->pool + t->off[k], s, n) == 0) {
            if (added) *added = false;
            return k;
        }
    }
    if (t->n == t->cap) {
        int64_t cap = t->cap ? t->cap * 2 : 1024;
        uint64_t *o = mote__realloc(t->off, (size_t)cap * sizeof *o);
        if (!o) return -1;
        t->off = o;
        uint32_t *l = mote__realloc(t->len, (size_t)cap * sizeof *l);
        if (!l) return -1;
        t->len = l;
        t->cap = cap;
    }
    if (t->pool_len + n > t->pool_cap) {
        uint64_t cap = t->pool_cap ? t->pool_cap : 4096;
        while (cap < t->pool_len + n) cap *= 2;
        char *p = mote__realloc(t->pool, cap);
        if (!p) return -1;
        t->pool = p;
        t->pool_cap = cap;
    }
    if (n) memcpy(t->pool + t->pool_len, s, n);
    t->off[t->n] = t->pool_len;
    t->len[t->n] = (uint32_t)n;
    t->pool_len += n;
    t->slots[i] = t->n;
    int64_t k = t->n++;
    if ((uint64_t)t->n * 2 > t->mask + 1 && !st_rehash(t, (t->mask + 1) * 2)) return -1;
    if (added) *added = true;
    return k;
}

/* ---- pairs ---------------------------------------------------------------------- */

typedef struct bt_pair {
    uint64_t key;        /* left << 32 | right */
    int64_t count;       /* count-weighted occurrences over the words */
    uint32_t *where;     /* words it occurs (or occurred) in; may repeat */
    uint32_t n_where, cap_where;
} bt_pair;

typedef struct heap_ent {
    int64_t count;
    uint64_t key;
    uint32_t pair;
} heap_ent;

typedef struct trainer {
    str_table words;       /* distinct pre-tokenized words (raw bytes) */
    int64_t *wcount;       /* (words.n) occurrences */
    int64_t wcount_cap;
    int32_t *sym;          /* every word's symbols, word w at sym + sym_off[w] */
    uint64_t *sym_off;
    uint32_t *sym_len;     /* current length (shrinks as merges apply) */
    uint32_t *stamp;       /* last merge that rewrote word w, +1 */
    str_table toks;        /* texts (raw bytes) of the tokens after the control
                              ones: index i is token id N_SPECIAL + i, so no
                              merge can ever produce a control token */
    bt_pair *pairs;
    int64_t n_pairs, cap_pairs;
    int64_t *pslots;       /* pair hash: index or -1 */
    uint64_t pmask;
    heap_ent *heap;
    int64_t n_heap, cap_heap;
    int32_t (*merges)[2];
    int64_t n_merges, cap_merges;
    /* per-word scratch for the pair difference */
    struct { uint64_t key; int64_t delta; } *diff;
    size_t cap_diff;
    int32_t *old_sym;
    size_t cap_old;
} trainer;

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static bool pairs_rehash(trainer *t, uint64_t n_slots) {
    int64_t *s = mote__malloc(n_slots * sizeof(int64_t));
    if (!s) return false;
    for (uint64_t i = 0; i < n_slots; i++) s[i] = -1;
    for (int64_t k = 0; k < t->n_pairs; k++) {
        uint64_t i = mix64(t->pairs[k].key) & (n_slots - 1);
        while (s[i] >= 0) i = (i + 1) & (n_slots - 1);
        s[i] = k;
    }
    mote__free(t->pslots);
    t->pslots = s;
    t->pmask = n_slots - 1;
    return true;
}

/* Index of pair key, created with count 0 if absent; -1 on out of memory. */
static int64_t pair_get(trainer *t, uint64_t key) {
    uint64_t i = mix64(key) & t->pmask;
    for (; t->pslots[i] >= 0; i = (i + 1) & t->pmask)
        if (t->pairs[t->pslots[i]].key == key) return t->pslots[i];
    if (t->n_pairs == t->cap_pairs) {
        int64_t cap = t->cap_pairs ? t->cap_pairs * 2 : 4096;
        bt_pair *p = mote__realloc(t->pairs, (size_t)cap * sizeof *p);
        if (!p) return -1;
        t->pairs = p;
        t->cap_pairs = cap;
    }
    int64_t k = t->n_pairs++;
    t->pairs[k] = (bt_pair){.key = key};
    t->pslots[i] = k;
    if ((uint64_t)t->n_pairs * 2 > t->pmask + 1 && !pairs_rehash(t, (t->pmask + 1) * 2)) return -1;
    return k;
}

static bool pair_add_word(bt_pair *p, uint32_t w) {
    if (p->n_where && p->where[p->n_where - 1] == w) return true;
    if (p->n_where == p->cap_where) {
        uint32_t cap = p->cap_where ? p->cap_where * 2 : 4;
        uint32_t *n = mote__realloc(p->where, (size_t)cap * sizeof *n);
        if (!n) return false;
        p->where = n;
        p->cap_where = cap;
    }
    p->where[p->n_where++] = w;
    return true;
}

/* Heap order: more occurrences first; ties by the lower key (left id, then
 * right id), so the result does not depend on hash layout. */
static bool heap_before(const heap_ent *a, const heap_ent *b) {
    return a->count != b->count ? a->count > b->count : a->key < b->key;
}

static bool heap_push(trainer *t, int64_t pair) {
    if (t->n_heap == t->cap_heap) {
        int64_t cap = t->cap_heap ? t->cap_heap * 2 : 4096;
        heap_ent *h = mote__realloc(t->heap, (size_t)cap * sizeof *h);
        if (!h) return false;
        t->heap = h;
        t->cap_heap = cap;
    }
    heap_ent e = {t->pairs[pair].count, t->pairs[pair].key, (uint32_t)pair};
    int64_t i = t->n_heap++;
    while (i > 0) {
        int64_t up = (i - 1) / 2;
        if (!heap_before(&e, &t->heap[up])) break;
        t->heap[i] = t->heap[up];
        i = up;
    }
    t->heap[i] = e;
    return true;
}

static heap_ent heap_pop(trainer *t) {
    heap_ent top = t->heap[0], last = t->heap[--t->n_heap];
    int64_t i = 0, n = t->n_heap;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_before(&t->heap[c + 1], &t->heap[c])) c++;
        if (!heap_before(&t->heap[c], &last)) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n) t->heap[i] = last;
    return top;
}

static void trainer_free(trainer *t) {
    st_free(&t->words);
    st_free(&t->toks);
    mote__free(t->wcount);
    mote__free(t->sym);
    mote__free(t->sym_off);
    mote__free(t->sym_len);
    mote__free(t->stamp);
    for (int64_t i = 0; i < t->n_pairs; i++) mote__free(t->pairs[i].where);
    mote__free(t->pairs);
    mote__free(t->pslots);
    mote__free(t->heap);
    mote__free(t->merges);
    mote__free(t->diff);
    mote__free(t->old_sym);
}

/* ---- step 1: counting words ------------------------------------------------------ */

typedef struct count_ctx {
    trainer *t;
    const char *text;
    int64_t n_words;
    bool nomem;
} count_ctx;

static mote_status count_word(void *ctx, size_t off, size_t n) {
    count_ctx *c = ctx;
    trainer *t = c->t;
    if (n == 0) return MOTE_OK;
    if (n > UINT32_MAX / 2) n = UINT32_MAX / 2; /* a 2 GiB word: counted by its start */
    int64_t k = st_intern(&t->words, c->text + off, n, NULL);
    if (k < 0) goto nomem;
    if (k >= t->wcount_cap) {
        int64_t cap = t->wcount_cap ? t->wcount_cap * 2 : 1024;
        while (cap <= k) cap *= 2;
        int64_t *w = mote__realloc(t->wcount, (size_t)cap * sizeof *w);
        if (!w) goto nomem;
        memset(w + t->wcount_cap, 0, (size_t)(cap - t->wcount_cap) * sizeof *w);
        t->wcount = w;
        t->wcount_cap = cap;
    }
    t->wcount[k]++;
    c->n_words++;
    return MOTE_OK;
nomem:
    c->nomem = true;
    return MOTE_ERR_NOMEM;
}

/* ---- step 3: one merge ------------------------------------------------------------ */

/* Add delta to pair key's count (and, when it grows, note word w). */
static bool pair_change(trainer *t, uint64_t key, int64_t delta, uint32_t w) {
    int64_t k = pair_get(t, key);
    if (k < 0) return false;
    bt_pair *p = &t->pairs[k];
    p->count += delta;
    if (delta > 0 && !pair_add_word(p, w)) return false;
    return p->count > 0 ? heap_push(t, k) : true;
}

static int cmp_diff(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define KEY(l, r) ((uint64_t)(uint32_t)(l) << 32 | (uint32_t)(r))

/* Rewrite word w with merge (a, b) -> c and update the pair counts by the
 * difference of its pairs before and after. */
static bool merge_word(trainer *t, uint32_t w, int32_t a, int32_t b, int32_t c) {
    int32_t *s = t->sym + t->sym_off[w];
    uint32_t n = t->sym_len[w];
    if (n < 2) return true;
    bool found = false;
    for (uint32_t i = 0; i + 1 < n && !found; i++) found = s[i] == a && s[i + 1] == b;
    if (!found) return true; /* a stale entry of the pair's word list */
    if (n > t->cap_old) {
        size_t cap = n * 2;
        int32_t *o = mote__realloc(t->old_sym, cap * sizeof *o);
        if (!o) return false;
        t->old_sym = o;
        t->cap_old = cap;
    }
    memcpy(t->old_sym, s, n * sizeof *s);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n;) {
        if (i + 1 < n && t->old_sym[i] == a && t->old_sym[i + 1] == b) {
            s[m++] = c;
            i += 2;
        } else {
            s[m++] = t->old_sym[i++];
        }
    }
    t->sym_len[w] = m;
    size_t need = (size_t)n + m;
    if (need > t->cap_diff) {
        size_t cap = need * 2;
        void *d = mote__realloc(t->diff, cap * sizeof *t->diff);
        if (!d) return false;
        t->diff = d;
        t->cap_diff = cap;
    }
    const int64_t cnt = t->wcount[w];
    size_t nd = 0;
    for (uint32_t i = 0; i + 1 < n; i++) {
        t->diff[nd].key = KEY(t->old_sym[i], t->old_sym[i + 1]);
        t->diff[nd++].delta = -cnt;
    }
    for (uint32_t i = 0; i + 1 < m; i++) {
        t->diff[nd].key = KEY(s[i], s[i + 1]);
        t->diff[nd++].delta = cnt;
    }
    qsort(t->diff, nd, sizeof *t->diff, cmp_diff);
    for (size_t i = 0; i < nd;) {
        uint64_t key = t->diff[i].key;
        int64_t delta = 0;
        for (; i < nd && t->diff[i].key == key; i++) delta += t->diff[i].delta;
        if (key == KEY(a, b)) continue; /* the merged pair is retired as a whole */
        if (delta && !pair_change(t, key, delta, w)) return false;
    }
    return true;
}

/* ---- step 4: writing ----------------------------------------------------------- */

/* GPT-2's bytes_to_unicode, as bpe.c: the UTF-8 of byte c's character. */
static int byte_char(int c, char out[2]) {
    int cp = c;
    bool self = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255);
    if (!self) {
        int k = 0;
        for (int d = 0; d < c; d++)
            if (!((d >= 33 && d <= 126) || (d >= 161 && d <= 172) || (d >= 174 && d <= 255))) k++;
        cp = 256 + k;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* The byte-level text of raw bytes s[0..n) into a new string. */
static char *byte_level(const char map[256][2], const uint8_t maplen[256], const char *s, size_t n) {
    char *o = mote__malloc(2 * n + 1), *p = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        memcpy(p, map[c], maplen[c]);
        p += maplen[c];
    }
    *p = 0;
    return o;
}

static mote_status write_vocab(trainer *t, const char *out, const mote_vocab_train_opts *o,
                               const char *pre, mote_error *err) {
    char map[256][2];
    uint8_t maplen[256];
    for (int c = 0; c < 256; c++) maplen[c] = (uint8_t)byte_char(c, map[c]);
    const int64_t n_tok = N_SPECIAL + t->toks.n, n_merge = t->n_merges;
    static const char *const special[N_SPECIAL] = {"<s>", "</s>"};
    char **text = mote__calloc((size_t)n_tok, sizeof *text);
    char **merge = mote__calloc((size_t)(n_merge ? n_merge : 1), sizeof *merge);
    int32_t *type = mote__calloc((size_t)n_tok, sizeof *type);
    mote_gguf_writer *w = mote__gguf_writer_new();
    mote_status s = MOTE_ERR_NOMEM;
    if (!text || !merge || !type || !w) goto done;
    for (int64_t i = 0; i < n_tok; i++) {
        if (i < N_SPECIAL) {
            text[i] = mote__strndup(special[i], strlen(special[i]));
            type[i] = MOTE_TOKEN_CONTROL;
        } else {
            int64_t k = i - N_SPECIAL;
            text[i] = byte_level(map, maplen, t->toks.pool + t->toks.off[k], t->toks.len[k]);
            type[i] = MOTE_TOKEN_NORMAL;
        }
        if (!text[i]) goto done;
    }
    for (int64_t i = 0; i < n_merge; i++) {
        const char *l = text[t->merges[i][0]], *r = text[t->merges[i][1]];
        size_t nl = strlen(l), nr = strlen(r);
        if (!(merge[i] = mote__malloc(nl + nr + 2))) goto done;
        memcpy(merge[i], l, nl);
        merge[i][nl] = ' ';
        memcpy(merge[i] + nl + 1, r, nr + 1);
    }
    if ((s = mote__gguf_set_str(w, "general.architecture", "llama")) ||
        (s = mote__gguf_set_str(w, "general.name", o && o->name ? o->name : "mote-bpe")) ||
        (s = mote__gguf_set_str(w, "tokenizer.ggml.model", "gpt2")) ||
        (s = mote__gguf_set_str(w, "tokenizer.ggml.pre", pre)) ||
        (s = mote__gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)text, (uint64_t)n_tok)) ||
        (s = mote__gguf_set_arr(w, "tokenizer.ggml.token_type", MOTE_GGUF_INT32, type, (uint64_t)n_tok)) ||
        (s = mote__gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merge, (uint64_t)n_merge)) ||
        (s = mote__gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 0)) ||
        (s = mote__gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 1)) ||
        (s = mote__gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true)) ||
        (s = mote__gguf_set_bool(w, "tokenizer.ggml.add_eos_token", false)))
        goto done;
    if ((s = mote__gguf_write(w, out, err))) goto written; /* err filled */
done:
    if (s) s = mote__err(err, MOTE_ERR_NOMEM, "out of memory writing %s", out);
written:
    for (int64_t i = 0; text && i < n_tok; i++) mote__free(text[i]);
    for (int64_t i = 0; merge && i < n_merge; i++) mote__free(merge[i]);
    mote__free(text);
    mote__free(merge);
    mote__free(type);
    mote__gguf_writer_free(w);
    return s;
}

/* ---- the entry point ------------------------------------------------------------ */

mote_status mote_vocab_train(const char *const *paths, int n_paths, const char *out_gguf,
                             const mote_vocab_train_opts *opts, mote_vocab_train_summary *sum,
                             mote_error *err) {
    if (!paths || n_paths <= 0 || !out_gguf)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "vocab training needs input files and an output");
    const int32_t n_vocab = opts && opts->n_vocab ? opts->n_vocab : 4096;
    const int64_t min_count = opts && opts->min_count > 0 ? opts->min_count : 2;
    const char *pre = opts && opts->pre ? opts->pre : "llama-bpe";
    if (n_vocab < N_SPECIAL + 256 + 1 || n_vocab > (1 << 24))
        return mote__err(err, MOTE_ERR_INVALID_ARG,
                         "vocab size %d is out of range (%d..%d: 2 control tokens, 256 bytes, merges)",
                         n_vocab, N_SPECIAL + 256 + 1, 1 << 24);
    trainer t_ = {0}, *t = &t_;
    tok_pretok *pt = NULL;
    bool ignore_merges, add_bos, add_sep;
    mote_status s = mote__pretok_new(pre, strlen(pre), &pt, &ignore_merges, &add_bos, &add_sep, err);
    if (s) return s;
    int64_t n_bytes = 0, n_words = 0;

    /* 1. count words, file by file */
    for (int f = 0; f < n_paths; f++) {
        mote_file_map fm;
        if ((s = mote__file_map(paths[f], &fm, err))) goto done;
        if (fm.size == 0) {
            mote__file_unmap(&fm);
            s = mote__err(err, MOTE_ERR_INVALID_ARG, "%s: the file is empty", paths[f]);
            goto done;
        }
        if (memchr(fm.data, 0, fm.size)) {
            mote__file_unmap(&fm);
            s = mote__err(err, MOTE_ERR_INVALID_ARG, "%s: contains NUL bytes (not text)", paths[f]);
            goto done;
        }
        count_ctx c = {.t = t, .text = (const char *)fm.data};
        s = mote__pretok_split(pt, (const char *)fm.data, fm.size, count_word, &c, err);
        n_bytes += (int64_t)fm.size;
        mote__file_unmap(&fm);
        if (c.nomem) s = mote__err(err, MOTE_ERR_NOMEM, "out of memory counting the words of %s", paths[f]);
        if (s) goto done;
        n_words += c.n_words;
    }
    if (t->words.n > (int64_t)UINT32_MAX - 1) {
        s = mote__err(err, MOTE_ERR_INVALID_ARG, "too many distinct words (%lld)", (long long)t->words.n);
        goto done;
    }

    /* 2. tokens: the control tokens, then the 256 bytes; words as bytes */
    s = MOTE_ERR_NOMEM;
    for (int c = 0; c < 256; c++) {
        char ch = (char)c;
        if (st_intern(&t->toks, &ch, 1, NULL) != c) goto nomem;
    }
    const int64_t W = t->words.n;
    t->sym = mote__malloc((size_t)(t->words.pool_len ? t->words.pool_len : 1) * sizeof(int32_t));
    t->sym_off = mote__malloc((size_t)(W ? W : 1) * sizeof(uint64_t));
    t->sym_len = mote__malloc((size_t)(W ? W : 1) * sizeof(uint32_t));
    t->stamp = mote__calloc((size_t)(W ? W : 1), sizeof(uint32_t));
    if (!t->sym || !t->sym_off || !t->sym_len || !t->stamp || !pairs_rehash(t, 1 << 16)) goto nomem;
    for (int64_t w = 0; w < W; w++) {
        const uint8_t *b = (const uint8_t *)t->words.pool + t->words.off[w];
        t->sym_off[w] = t->words.off[w];
        t->sym_len[w] = t->words.len[w];
        int32_t *sy = t->sym + t->sym_off[w];
        for (uint32_t i = 0; i < t->words.len[w]; i++) sy[i] = FIRST_BYTE + b[i];
        for (uint32_t i = 0; i + 1 < t->words.len[w]; i++) {
            int64_t k = pair_get(t, KEY(sy[i], sy[i + 1]));
            if (k < 0 || !pair_add_word(&t->pairs[k], (uint32_t)w)) goto nomem;
            t->pairs[k].count += t->wcount[w];
        }
    }
    for (int64_t k = 0; k < t->n_pairs; k++)
        if (!heap_push(t, k)) goto nomem;

    /* 3. merge until the vocabulary is full */
    while (N_SPECIAL + t->toks.n < n_vocab && t->n_heap > 0) {
        heap_ent e = heap_pop(t);
        bt_pair *p = &t->pairs[e.pair];
        if (e.count != p->count || p->count <= 0) continue; /* stale */
        if (p->count < min_count) break;
        const int32_t a = (int32_t)(p->key >> 32), b = (int32_t)(p->key & 0xffffffffu);
        /* the merged token's text */
        const int64_t ka = a - N_SPECIAL, kb = b - N_SPECIAL;
        size_t la = t->toks.len[ka], lb = t->toks.len[kb];
        char *buf = mote__malloc(la + lb + 1);
        if (!buf) goto nomem;
        memcpy(buf, t->toks.pool + t->toks.off[ka], la);
        memcpy(buf + la, t->toks.pool + t->toks.off[kb], lb);
        int64_t k = st_intern(&t->toks, buf, la + lb, NULL);
        mote__free(buf);
        if (k < 0) goto nomem;
        const int64_t c = N_SPECIAL + k;
        if (t->n_merges == t->cap_merges) {
            int64_t cap = t->cap_merges ? t->cap_merges * 2 : 1024;
            void *m = mote__realloc(t->merges, (size_t)cap * sizeof *t->merges);
            if (!m) goto nomem;
            t->merges = m;
            t->cap_merges = cap;
        }
        t->merges[t->n_merges][0] = a;
        t->merges[t->n_merges][1] = b;
        uint32_t stamp = (uint32_t)++t->n_merges;
        /* p may move when new pairs grow the table: keep the list itself */
        uint32_t *where = p->where, n_where = p->n_where;
        p->where = NULL;
        p->n_where = p->cap_where = 0;
        p->count = 0;
        for (uint32_t i = 0; i < n_where; i++) {
            uint32_t w = where[i];
            if (t->stamp[w] == stamp) continue;
            t->stamp[w] = stamp;
            if (!merge_word(t, w, a, b, (int32_t)c)) {
                mote__free(where);
                goto nomem;
            }
        }
        mote__free(where);
    }

    if ((s = write_vocab(t, out_gguf, opts, pre, err))) goto done;
    if (sum) {
        memset(sum, 0, sizeof *sum);
        sum->n_bytes = n_bytes;
        sum->n_words = n_words;
        sum->n_unique_words = W;
        sum->n_tokens = (int32_t)(N_SPECIAL + t->toks.n);
        sum->n_merges = t->n_merges;
        snprintf(sum->pre, sizeof sum->pre, "%s", pre);
    }
    s = MOTE_OK;
    goto done;
nomem:
    s = mote__err(err, MOTE_ERR_NOMEM, "out of memory training the vocabulary");
done:
    mote__pretok_free(pt);
    trainer_free(t);
    return s;
}
