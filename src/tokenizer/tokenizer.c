/* tokenizer.c — the common part of every tokenizer: reading the
 * tokenizer.ggml.* metadata (token texts, scores, types, special ids, the
 * add_* flags), the text -> id hash, cutting special tokens out of the text,
 * and dispatching each raw fragment to the model's algorithm (spm.c, bpe.c,
 * wpm.c) and each id to its decoder.
 *
 * What it is not: any tokenization algorithm; the pre-tokenizer regexes
 * (pretok.c).
 *
 * Metadata (defaults per model as llama.cpp's):
 *   tokenizer.ggml.model       "llama" | "gpt2" | "bert" (required)
 *   tokenizer.ggml.tokens      strings (required, non-empty)
 *   tokenizer.ggml.scores      f32, one per token (optional, 0)
 *   tokenizer.ggml.token_type  integers, one per token (optional, normal)
 *   bos/eos/unknown/seperator_token_id (sic: llama.cpp's spelling), and for
 *     "bert" cls_token_id standing for BOS: -1 or 0xFFFFFFFF means none,
 *     other ids outside the vocab are MOTE_ERR_FORMAT. Defaults: llama
 *     1/2/0/none, gpt2 11/11/none/none, bert 101/none/100/102 (each only
 *     when inside the vocab).
 *   add_bos_token, add_eos_token, add_sep_token, add_space_prefix (bools):
 *     llama true/false/false/true; gpt2 false/false/false/false unless the
 *     pre-tokenizer sets them (llama3, tekken, chameleon add BOS;
 *     roberta-bpe and jina ones add SEP); bert true/false/true/false.
 * As llama.cpp, tokens named like end-of-turn markers ("<|eot_id|>",
 * "<|im_end|>", "<|endoftext|>", ...) count as control tokens whatever
 * their stored type.
 *
 * Special tokens in the text (llama.cpp's tokenizer_st_partition): the
 * tokens with a non-empty text of type user-defined, and with
 * MOTE_TOKENIZE_PARSE_SPECIAL also control and unknown, are cut out of the
 * text, longest text first (ties: lower id first), each one at all its
 * occurrences left to right in what is still raw text. Not applied:
 * llama.cpp's lstrip/rstrip attributes set from model names.
 *
 * Thread-safety: a loaded tokenizer is read-only; encoding allocates its own
 * work buffers per call (through mote__malloc).
 */
#include "tok_impl.h"

#include <math.h>
#include <string.h>

/* ---- the text -> id hash ---------------------------------------------- */

/* FNV-1a, 64-bit. Keys are short (a token's text, at most max_len bytes). */
static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int32_t mote__tok_lookup(const mote_tokenizer *t, const char *s, size_t n) {
    if (n > t->max_len) return -1;
    for (uint64_t i = hash_bytes(s, n) & t->mask;; i = (i + 1) & t->mask) {
        int32_t id = t->slots[i];
        if (id < 0) return -1;
        const tok_token *k = &t->toks[id];
        if (k->len == n && memcmp(t->pool + k->off, s, n) == 0) return id;
    }
}

/* Insert id under its text, replacing an earlier token with the same text.
 * The table has at least twice as many slots as tokens, so it never fills. */
static void insert(mote_tokenizer *t, int32_t id) {
    const tok_token *k = &t->toks[id];
    const char *s = t->pool + k->off;
    for (uint64_t i = hash_bytes(s, k->len) & t->mask;; i = (i + 1) & t->mask) {
        int32_t old = t->slots[i];
        if (old < 0 || (t->toks[old].len == k->len && memcmp(t->pool + t->toks[old].off, s, k->len) == 0)) {
            t->slots[i] = id;
            return;
        }
    }
}

uint32_t mote__utf8_len(const unsigned char *s, size_t n) {
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
    } else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (uint32_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
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
    mote__bpe_free(t->bpe);
    mote__free(t->toks);
    mote__free(t->pool);
    mote__free(t->slots);
    mote__free(t->special_ids);
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

/* A special token id from key: absent keeps *out (the model's default,
 * already checked to be inside the vocab or -1). -1 and 0xFFFFFFFF (how
 * converters write "none" in a u32) give -1; any other value outside
 * [0, n_vocab) is MOTE_ERR_FORMAT. */
static mote_status special_id(const mote_gguf *g, const char *key, int32_t n_vocab, int32_t *out,
                              mote_error *err) {
    if (mote__gguf_find_key(g, key) < 0) return MOTE_OK;
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

/* An optional bool key: absent keeps *out. */
static mote_status opt_bool(const mote_gguf *g, const char *key, bool *out, mote_error *err) {
    if (mote__gguf_find_key(g, key) < 0) return MOTE_OK;
    return mote__gguf_get_bool(g, key, out, err);
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
        tok_token *k = &t->toks[i];
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
    }
    return MOTE_OK;
}

/* Texts that llama.cpp treats as control tokens whatever their type
 * (end-of-turn and end-of-generation markers). */
static const char *const control_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
    "_<EOT>", "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", "<end_of_utterance>",
    "<|eom_id|>", "<|return|>", "<|call|>",
};

/* Build the hash table, the SPM byte fallback table and the list of
 * special tokens (longest text first, then by id). */
static mote_status index_tokens(mote_tokenizer *t, mote_error *err) {
    uint64_t n_slots = 16;
    while (n_slots < 2 * (uint64_t)t->n_vocab) n_slots *= 2;
    t->slots = mote__malloc((size_t)n_slots * sizeof *t->slots);
    if (!t->slots) return mote__err(err, MOTE_ERR_NOMEM, "out of memory for the token table");
    memset(t->slots, 0xff, (size_t)n_slots * sizeof *t->slots); /* all -1 */
    t->mask = n_slots - 1;
    for (int32_t i = 0; i < t->n_vocab; i++) insert(t, i);

    for (size_t k = 0; k < sizeof control_names / sizeof control_names[0]; k++) {
        int32_t id = mote__tok_lookup(t, control_names[k], strlen(control_names[k]));
        if (id >= 0) t->toks[id].type = MOTE_TOKEN_CONTROL;
    }

    /* As llama.cpp's byte_to_token: "<0xXX>" (upper-case hex), else the
     * one-byte piece. */
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char buf[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        char one = (char)b;
        int32_t id = mote__tok_lookup(t, buf, 6);
        t->byte_tok[b] = id >= 0 ? id : mote__tok_lookup(t, &one, 1);
    }

    int32_t n_special = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        uint8_t ty = t->toks[i].type;
        if (t->toks[i].len > 0 && (ty == MOTE_TOKEN_USER_DEFINED || ty == MOTE_TOKEN_CONTROL || ty == MOTE_TOKEN_UNKNOWN))
            n_special++;
    }
    if (n_special) {
        t->special_ids = mote__malloc((size_t)n_special * sizeof *t->special_ids);
        if (!t->special_ids) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
        for (int32_t i = 0; i < t->n_vocab; i++) {
            uint8_t ty = t->toks[i].type;
            if (t->toks[i].len > 0 &&
                (ty == MOTE_TOKEN_USER_DEFINED || ty == MOTE_TOKEN_CONTROL || ty == MOTE_TOKEN_UNKNOWN))
                t->special_ids[t->n_special++] = i;
        }
        /* Insertion sort by length, longest first; stable, so ties keep id
         * order. Few tokens are special in real vocabs (at most a few
         * thousand). */
        for (int32_t i = 1; i < t->n_special; i++) {
            int32_t id = t->special_ids[i], j = i;
            while (j > 0 && t->toks[t->special_ids[j - 1]].len < t->toks[id].len) {
                t->special_ids[j] = t->special_ids[j - 1];
                j--;
            }
            t->special_ids[j] = id;
        }
    }
    return MOTE_OK;
}

/* A default special id: dflt when inside the vocab, else -1. */
static int32_t dflt_id(int32_t dflt, int32_t n_vocab) { return dflt >= 0 && dflt < n_vocab ? dflt : -1; }

mote_status mote__tokenizer_load(const mote_gguf *g, mote_tokenizer **out, mote_error *err) {
    *out = NULL;
    const char *path = mote__gguf_path(g);
    const char *model;
    uint64_t model_len;
    mote_status s = mote__gguf_get_str(g, "tokenizer.ggml.model", &model, &model_len, err);
    if (s) return s;
    tok_kind kind;
    if (model_len == 5 && memcmp(model, "llama", 5) == 0) kind = TOK_SPM;
    else if (model_len == 4 && memcmp(model, "gpt2", 4) == 0) kind = TOK_BPE;
    else if (model_len == 4 && memcmp(model, "bert", 4) == 0) kind = TOK_WPM;
    else
        return mote__err(err, MOTE_ERR_UNSUPPORTED,
                         "%s: tokenizer model '%.*s' is not supported by this build (only 'llama' "
                         "SentencePiece, 'gpt2' BPE and 'bert' WordPiece)",
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
    t->kind = kind;
    int32_t n = t->n_vocab = (int32_t)n_tokens;
    switch (kind) {
    case TOK_SPM:
        t->bos = dflt_id(1, n), t->eos = dflt_id(2, n), t->unk = dflt_id(0, n), t->sep = -1;
        t->add_bos = true, t->add_space_prefix = true;
        break;
    case TOK_BPE:
        t->bos = dflt_id(11, n), t->eos = dflt_id(11, n), t->unk = -1, t->sep = -1;
        break;
    case TOK_WPM:
        t->bos = dflt_id(101, n), t->eos = -1, t->unk = dflt_id(100, n), t->sep = dflt_id(102, n);
        t->add_bos = true, t->add_sep = true;
        break;
    }
    if ((s = load_tokens(g, t, tokens_idx, err)) ||
        (s = index_tokens(t, err)) ||
        (kind == TOK_BPE && (s = mote__bpe_load(g, t, err))) ||
        (kind == TOK_WPM && (s = special_id(g, "tokenizer.ggml.cls_token_id", n, &t->bos, err))) ||
        (s = special_id(g, "tokenizer.ggml.bos_token_id", n, &t->bos, err)) ||
        (s = special_id(g, "tokenizer.ggml.eos_token_id", n, &t->eos, err)) ||
        (s = special_id(g, "tokenizer.ggml.unknown_token_id", n, &t->unk, err)) ||
        (s = special_id(g, "tokenizer.ggml.seperator_token_id", n, &t->sep, err)) ||
        (s = opt_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err)) ||
        (s = opt_bool(g, "tokenizer.ggml.add_eos_token", &t->add_eos, err)) ||
        (s = opt_bool(g, "tokenizer.ggml.add_sep_token", &t->add_sep, err)) ||
        (s = opt_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err))) {
        mote__tokenizer_free(t);
        return s;
    }
    if (kind == TOK_SPM) t->spm_split = mote__spm_can_split(t);
    *out = t;
    return MOTE_OK;
}

int32_t mote__tokenizer_n_vocab(const mote_tokenizer *t) { return t->n_vocab; }
int32_t mote__tokenizer_bos(const mote_tokenizer *t) { return t->bos; }
int32_t mote__tokenizer_eos(const mote_tokenizer *t) { return t->eos; }
int32_t mote__tokenizer_sep(const mote_tokenizer *t) { return t->sep; }

const char *mote__tokenizer_model(const mote_tokenizer *t) {
    return t->kind == TOK_SPM ? "llama" : t->kind == TOK_BPE ? "gpt2" : "bert";
}

/* ---- special tokens in the text ----------------------------------------- */

/* A piece of the input: raw text [off, off + len) or, with id >= 0, a
 * special token cut out of it. */
typedef struct tok_frag {
    size_t off, len;
    int32_t id;
} tok_frag;

typedef struct frag_list {
    tok_frag *v;
    size_t n, cap;
} frag_list;

static bool frag_add(frag_list *l, size_t off, size_t len, int32_t id) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        tok_frag *v = mote__realloc(l->v, cap * sizeof *v);
        if (!v) return false;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (tok_frag){off, len, id};
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

/* Split text[0..len) at the special tokens as llama.cpp does: for each
 * token, longest first, every raw fragment is cut at its occurrences from
 * left to right. Control and unknown tokens only when parse_special. *out
 * receives the fragments in text order. */
static mote_status partition(const mote_tokenizer *t, const char *text, size_t len, bool parse_special,
                             frag_list *out, mote_error *err) {
    frag_list a = {0}, b = {0};
    if (!frag_add(&a, 0, len, -1)) goto nomem;
    /* Which bytes and byte pairs occur in the text: a token whose first
     * byte or pair does not occur is skipped without scanning (most
     * special tokens, in most texts). */
    uint64_t pairs[1024] = {0}, bytes[4] = {0};
    const unsigned char *u8 = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) {
        bytes[u8[i] >> 6] |= 1ull << (u8[i] & 63);
        if (i + 1 < len) {
            unsigned pr = (unsigned)u8[i] << 8 | u8[i + 1];
            pairs[pr >> 6] |= 1ull << (pr & 63);
        }
    }
    for (int32_t u = 0; u < t->n_special; u++) {
        const tok_token *k = &t->toks[t->special_ids[u]];
        if (!parse_special && k->type != MOTE_TOKEN_USER_DEFINED) continue;
        const char *pat = t->pool + k->off;
        const unsigned char *pu = (const unsigned char *)pat;
        if (!(bytes[pu[0] >> 6] >> (pu[0] & 63) & 1)) continue;
        if (k->len >= 2) {
            unsigned pr = (unsigned)pu[0] << 8 | pu[1];
            if (!(pairs[pr >> 6] >> (pr & 63) & 1)) continue;
        }
        b.n = 0;
        bool hit_any = false;
        for (size_t f = 0; f < a.n; f++) {
            tok_frag fr = a.v[f];
            if (fr.id >= 0) {
                if (!frag_add(&b, fr.off, fr.len, fr.id)) goto nomem;
                continue;
            }
            size_t pos = fr.off, end = fr.off + fr.len;
            const char *hit;
            while ((hit = find_bytes(text + pos, end - pos, pat, k->len))) {
                size_t at = (size_t)(hit - text);
                hit_any = true;
                if (at > pos && !frag_add(&b, pos, at - pos, -1)) goto nomem;
                if (!frag_add(&b, at, k->len, t->special_ids[u])) goto nomem;
                pos = at + k->len;
            }
            if (pos < end && !frag_add(&b, pos, end - pos, -1)) goto nomem;
        }
        if (!hit_any) continue; /* b is a copy of a */
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
                                   unsigned flags, int32_t *ids, int64_t cap,
                                   int64_t *n_out, mote_error *err) {
    if (n_out) *n_out = 0;
    if (!t || (!text && len) || cap < 0 || (!ids && cap > 0) || !n_out)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "tokenize: invalid arguments");
    if (flags & ~(unsigned)(MOTE_TOKENIZE_ADD_SPECIAL | MOTE_TOKENIZE_PARSE_SPECIAL))
        return mote__err(err, MOTE_ERR_INVALID_ARG, "tokenize: unknown flags 0x%x", flags);
    /* SPM escaping triples a space and symbols are indexed by int32_t. */
    if (len > ((size_t)INT32_MAX - 3) / 3)
        return mote__err(err, MOTE_ERR_RANGE, "tokenize: the text is %zu bytes, more than %d", len,
                         (INT32_MAX - 3) / 3);
    bool add_special = flags & MOTE_TOKENIZE_ADD_SPECIAL;

    tok_out o = {ids, cap, 0};
    frag_list frags = {0};
    mote_status st = MOTE_OK;

    if (add_special && t->add_bos && t->bos >= 0) tok_emit(&o, t->bos);

    /* The fragments: the whole text, or its cuts at special tokens. */
    tok_frag whole = {0, len, -1};
    const tok_frag *fv = &whole;
    size_t n_frags = len > 0;
    if (len > 0 && t->n_special) {
        if ((st = partition(t, text, len, flags & MOTE_TOKENIZE_PARSE_SPECIAL, &frags, err))) goto done;
        fv = frags.v;
        n_frags = frags.n;
    }
    bool prev_special = true; /* the start of the text counts as after a token */
    for (size_t f = 0; f < n_frags && !st; f++) {
        if (fv[f].id >= 0) {
            tok_emit(&o, fv[f].id);
            prev_special = true;
            continue;
        }
        const char *s = text + fv[f].off;
        switch (t->kind) {
        case TOK_SPM: st = mote__spm_encode(t, s, fv[f].len, t->add_space_prefix && prev_special, &o, err); break;
        case TOK_BPE: st = mote__bpe_encode(t, s, fv[f].len, &o, err); break;
        case TOK_WPM: st = mote__wpm_encode(t, s, fv[f].len, &o, err); break;
        }
        prev_special = false;
    }
    if (st) goto done;
    if (add_special && t->add_eos && t->eos >= 0) tok_emit(&o, t->eos);
    if (add_special && t->add_sep && t->sep >= 0) tok_emit(&o, t->sep);

    *n_out = o.n;
    if (o.n > cap)
        st = mote__err(err, MOTE_ERR_RANGE, "tokenize: the text needs %lld ids but there is room for %lld",
                       (long long)o.n, (long long)cap);
done:
    mote__free(frags.v);
    return st;
}

/* ---- decoding ----------------------------------------------------------- */

int mote__tokenizer_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap) {
    if (!t || id < 0 || id >= t->n_vocab) return -1;
    if (!buf || cap < 0) cap = 0;
    switch (t->kind) {
    case TOK_SPM: return mote__spm_piece(t, prev, id, buf, cap);
    case TOK_BPE: return mote__bpe_piece(t, prev, id, buf, cap);
    case TOK_WPM: return mote__wpm_piece(t, prev, id, buf, cap);
    }
    return -1;
}
