/* hf_tokenizer.c — import a Hugging Face tokenizer.json (plus, optionally,
 * its tokenizer_config.json) as a vocab-only GGUF with the tokenizer.* keys
 * llama.cpp's convert_hf_to_gguf.py writes for the same tokenizer.
 *
 * What it is: a JSON reader (jansson) that validates every field it uses and
 * names the JSON path of anything wrong, then the same decisions as
 * llama.cpp's converter (get_vocab_base, SpecialVocab, add_chat_template):
 *   tokens      model.vocab plus added_tokens, in id order; an id nothing
 *               names becomes "[PAD<id>]" of type unused (5)
 *   token_type  normal 1; an added token is control 3 when "special" (or
 *               when it looks special: "<|...|>", "<pad>", ...), else
 *               user-defined 4 (its "▁" pre-normalized to " "); fillers 5
 *   merges      "a b" strings; the [a, b] form has spaces inside a part
 *               encoded as U+0120, as llama.cpp does
 *   WordPiece   tokens in llama.cpp's phantom-space form ("##ing" -> "ing",
 *               "the" -> "▁the", "[CLS]" kept)
 *   special ids from tokenizer_config.json's bos_token, eos_token, ...
 *               (looked up among added_tokens); add_bos/add_eos from its
 *               add_*_token flags or a TemplateProcessing/RobertaProcessing
 *               post_processor
 *   pre         llama.cpp identifies the pre-tokenizer by hashing the
 *               tokenization of a test string; without the tokenizer we
 *               recognize the pre_tokenizer's structure instead (see
 *               "pre-tokenizer names" below) and refuse an unknown one
 *               naming it (the caller may override the name).
 *   SentencePiece-style BPE (byte_fallback: Llama 2, Mistral) becomes
 *   tokenizer.ggml.model "llama" with pre "default", "<0xXY>" pieces of type
 *   byte (6), the model's unk_token unknown (2), and scores made from the
 *   merge ranks (make_scores) instead of merges.
 *
 * What it is not: a tokenizer (src/tokenizer/), or an importer of Unigram or
 * WordLevel models — those are refused with MOTE_ERR_UNSUPPORTED. Nothing
 * here exits; bad input of any shape is an error (the fuzzer
 * fuzz/fuzz_vocab_import.c holds us to it).
 */
#include "hf_tokenizer.h"
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------- */

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5, TT_BYTE = 6 };

/* Special token kinds in llama.cpp's SpecialVocab order. */
enum { SP_BOS, SP_EOS, SP_UNK, SP_SEP, SP_PAD, SP_CLS, SP_MASK, SP_COUNT };
static const char *const sp_names[SP_COUNT] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
static const char *const sp_keys[SP_COUNT] = {
    "tokenizer.ggml.bos_token_id",       "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id",   "tokenizer.ggml.seperator_token_id",
    "tokenizer.ggml.padding_token_id",   "tokenizer.ggml.cls_token_id",
    "tokenizer.ggml.mask_token_id"};

/* A bump allocator for the strings the import builds (fillers, phantom-space
 * tokens, merges from pairs): freed all at once at the end. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

static char *arena_alloc(arena_block **head, size_t n) {
    arena_block *b = *head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ((size_t)1 << 20) ? n : ((size_t)1 << 20);
        b = mote__malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = *head;
        b->used = 0;
        b->cap = cap;
        *head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

static void arena_free(arena_block *b) {
    while (b) {
        arena_block *next = b->next;
        mote__free(b);
        b = next;
    }
}

static const char *jtype(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return "null";
    }
}

/* s for a one-line message: control bytes escaped, cut after about 60 bytes
 * (at a UTF-8 boundary) with "...". quoted: wrapped in double quotes, with
 * quotes and backslashes inside escaped. */
static const char *qx(char buf[96], const char *s, bool quoted) {
    size_t o = 0;
    if (quoted) buf[o++] = '"';
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        /* cut at a character boundary after 64 bytes, or anywhere after 84 */
        if (o >= 64 && ((c & 0xC0) != 0x80 || o >= 84)) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(buf + o, 8, "\\x%02x", c);
        else if (quoted && (c == '"' || c == '\\')) { buf[o++] = '\\'; buf[o++] = (char)c; }
        else buf[o++] = (char)c;
    }
    if (quoted) buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
static const char *q(char buf[96], const char *s) { return qx(buf, s, true); }

/* ---- the import state ------------------------------------------------------- */

/* KIND_SPM: BPE with byte_fallback, as Hugging Face converts SentencePiece
 * BPE models (Llama 2, Mistral): tokenizer.ggml.model "llama". */
typedef enum { KIND_BPE, KIND_WORDPIECE, KIND_SPM } model_kind;

typedef struct importer {
    const char *tname, *cname;   /* file names for messages */
    const mote_vocab_import_opts *opts;
    mote_error *err;
    json_t *tok, *cfg;           /* owned roots; cfg may be NULL */
    json_t *model, *vocab, *added; /* borrowed from tok; added may be NULL */
    json_t *added_seen;          /* owned: added_tokens contents seen so far */
    model_kind kind;
    const char *subword_prefix;  /* continuing_subword_prefix ("" if none) */
    int64_t n_tokens, n_added, n_filled;
    const char **text;           /* [n_tokens] token text (borrowed or arena) */
    int32_t *type;               /* [n_tokens] token type */
    int32_t *src;                /* [n_tokens] 0 unset, 1 model.vocab, 2+i added_tokens[i] */
    const char **merges;         /* [n_merges] "a b" */
    int64_t n_merges;
    int64_t *merge_rank;         /* KIND_SPM: [n_tokens] first merge making the token, -1 none */
    float *scores;               /* KIND_SPM: [n_tokens] */
    arena_block *arena;
    char *scratch;               /* for "a" + "b" lookups; grown as needed */
    size_t scratch_cap;
    const char *sp_text[SP_COUNT]; /* special token contents (borrowed) */
    int64_t sp_id[SP_COUNT];       /* -1: not written */
    int add_sp[SP_COUNT];          /* -1: not written, else 0/1 */
    char pre[64];
} importer;

/* Fill err with "NAME: message" and return code. */
MOTE_PRINTF(4, 5)
static mote_status fail(importer *im, mote_status code, const char *name, const char *fmt, ...) {
    char msg[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mote__err(im->err, code, "%s: %s", name, msg);
}
#define TFAIL(...) fail(im, MOTE_ERR_FORMAT, im->tname, __VA_ARGS__)
#define NOMEM() fail(im, MOTE_ERR_NOMEM, im->tname, "out of memory")

static char *scratch(importer *im, size_t n) {
    if (n > im->scratch_cap) {
        char *p = mote__realloc(im->scratch, n);
        if (!p) return NULL;
        im->scratch = p;
        im->scratch_cap = n;
    }
    return im->scratch;
}

/* ---- parsing ------------------------------------------------------------------ */

/* Parse buf as a JSON object (duplicate keys and NUL characters refused).
 * flags: extra jansson flags (JSON_DECODE_INT_AS_REAL for tokenizer_config.json,
 * whose model_max_length is often 1e30 written as an integer). */
static mote_status parse_object(importer *im, const char *buf, size_t len, const char *name,
                                size_t flags, json_t **out) {
    json_error_t je;
    *out = NULL;
    json_t *j = json_loadb(buf ? buf : "", buf ? len : 0, JSON_REJECT_DUPLICATES | flags, &je);
    if (!j) {
        /* jansson's text may quote input bytes: keep the message one line. */
        for (char *p = je.text; *p; p++)
            if ((unsigned char)*p < 0x20) *p = ' ';
        if (je.line < 0) return fail(im, MOTE_ERR_FORMAT, name, "not valid JSON: %s", je.text);
        return fail(im, MOTE_ERR_FORMAT, name, "not valid JSON (line %d, column %d): %s", je.line,
                    je.column, je.text);
    }
    if (!json_is_object(j)) {
        mote_status s = fail(im, MOTE_ERR_FORMAT, name,
                             "expected a JSON object at the top level, found %s", jtype(j));
        json_decref(j);
        return s;
    }
    *out = j;
    return MOTE_OK;
}

/* model.type -> kind; refuses what we do not import. */
static mote_status read_model(importer *im) {
    char qb[96];
    im->model = json_object_get(im->tok, "model");
    if (!im->model) return TFAIL("model: missing (a tokenizer.json has a \"model\" object)");
    if (!json_is_object(im->model)) return TFAIL("model: expected an object, found %s", jtype(im->model));
    json_t *jt = json_object_get(im->model, "type");
    const char *type;
    if (!jt) { /* older files leave the type out: tell it by its fields */
        if (json_object_get(im->model, "merges")) type = "BPE";
        else if (json_object_get(im->model, "max_input_chars_per_word")) type = "WordPiece";
        else if (json_is_array(json_object_get(im->model, "vocab"))) type = "Unigram";
        else return TFAIL("model.type: missing, and the model's fields do not tell BPE from WordPiece");
    } else if (!json_is_string(jt)) {
        return TFAIL("model.type: expected a string, found %s", jtype(jt));
    } else {
        type = json_string_value(jt);
    }
    if (!strcmp(type, "BPE")) {
        im->kind = json_is_true(json_object_get(im->model, "byte_fallback")) ? KIND_SPM : KIND_BPE;
    } else if (!strcmp(type, "WordPiece")) {
        im->kind = KIND_WORDPIECE;
    } else {
        return fail(im, MOTE_ERR_UNSUPPORTED, im->tname,
                    "model.type is %s: not supported (this importer converts BPE and WordPiece "
                    "tokenizers)", q(qb, type));
    }
    json_t *pfx = json_object_get(im->model, "continuing_subword_prefix");
    if (pfx && !json_is_null(pfx) && !json_is_string(pfx))
        return TFAIL("model.continuing_subword_prefix: expected a string, found %s", jtype(pfx));
    im->subword_prefix = json_is_string(pfx) ? json_string_value(pfx)
                         : im->kind == KIND_WORDPIECE ? "##" : "";
    return MOTE_OK;
}

/* Does an added token's text look like a control token even when its
 * "special" flag says no? (llama.cpp's does_token_look_special.) */
static bool looks_special(const char *s) {
    size_t n = strlen(s);
    if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") || !strcmp(s, "[@BOS@]"))
        return true;
    if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>")) return true;
    /* "<｜" ... "｜>" with the fullwidth bar U+FF5C (EF BD 9C), as deepseek writes them */
    if (n >= 8 && !strncmp(s, "<\xEF\xBD\x9C", 4) && !strcmp(s + n - 4, "\xEF\xBD\x9C>")) return true;
    if (n >= 8 && !strncmp(s, "<unused", 7) && s[n - 1] == '>') return true;
    return false;
}

/* s with every "▁" (U+2581) replaced by a space, in the arena; s itself if it
 * has none. NULL on out of memory. */
static const char *unphantom(importer *im, const char *s) {
    if (!strstr(s, "\xE2\x96\x81")) return s;
    char *out = arena_alloc(&im->arena, strlen(s) + 1), *o = out;
    if (!out) return NULL;
    while (*s) {
        if (!strncmp(s, "\xE2\x96\x81", 3)) { *o++ = ' '; s += 3; }
        else *o++ = *s++;
    }
    *o = '\0';
    return out;
}

/* "<0xXY>" with two hex digits: a byte-fallback piece. */
static bool is_byte_piece(const char *t) {
    if (strlen(t) != 6 || strncmp(t, "<0x", 3) || t[5] != '>') return false;
    for (int k = 3; k < 5; k++) {
        char c = t[k];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

/* Every token with its id and type: model.vocab, added_tokens, fillers. */
static mote_status read_tokens(importer *im) {
    char qa[96], qb2[96];
    im->vocab = json_object_get(im->model, "vocab");
    if (!im->vocab) return TFAIL("model.vocab: missing");
    if (!json_is_object(im->vocab))
        return TFAIL("model.vocab: expected an object (token -> id), found %s", jtype(im->vocab));
    if (json_object_size(im->vocab) == 0) return TFAIL("model.vocab: empty");

    int64_t max_id = -1;
    const char *key;
    json_t *v;
    json_object_foreach(im->vocab, key, v) {
        if (!json_is_integer(v))
            return TFAIL("model.vocab[%s]: expected an integer id, found %s", q(qa, key), jtype(v));
        json_int_t id = json_integer_value(v);
        if (id < 0 || id >= MOTE_VOCAB_IMPORT_MAX_TOKENS)
            return TFAIL("model.vocab[%s]: id %lld is out of range (0 to %d)", q(qa, key), (long long)id,
                         MOTE_VOCAB_IMPORT_MAX_TOKENS - 1);
        if (id > max_id) max_id = id;
    }

    im->added = json_object_get(im->tok, "added_tokens");
    if (json_is_null(im->added)) im->added = NULL;
    if (im->added && !json_is_array(im->added))
        return TFAIL("added_tokens: expected an array, found %s", jtype(im->added));
    size_t n_added = im->added ? json_array_size(im->added) : 0;
    for (size_t i = 0; i < n_added; i++) {
        json_t *a = json_array_get(im->added, i);
        if (!json_is_object(a)) return TFAIL("added_tokens[%zu]: expected an object, found %s", i, jtype(a));
        json_t *jid = json_object_get(a, "id"), *jc = json_object_get(a, "content");
        if (!json_is_integer(jid))
            return TFAIL("added_tokens[%zu].id: expected an integer, found %s", i, jid ? jtype(jid) : "nothing");
        if (!json_is_string(jc))
            return TFAIL("added_tokens[%zu].content: expected a string, found %s", i, jc ? jtype(jc) : "nothing");
        json_int_t id = json_integer_value(jid);
        if (id < 0 || id >= MOTE_VOCAB_IMPORT_MAX_TOKENS)
            return TFAIL("added_tokens[%zu].id: %lld is out of range (0 to %d)", i, (long long)id,
                         MOTE_VOCAB_IMPORT_MAX_TOKENS - 1);
        if (id > max_id) max_id = id;
    }

    int64_t n = max_id + 1;
    if (im->opts && im->opts->n_vocab) {
        if (im->opts->n_vocab < n || im->opts->n_vocab > MOTE_VOCAB_IMPORT_MAX_TOKENS)
            return fail(im, MOTE_ERR_INVALID_ARG, im->tname,
                        "n_vocab %lld is out of range: the highest token id is %lld, the most "
                        "tokens imported %d", (long long)im->opts->n_vocab, (long long)max_id,
                        MOTE_VOCAB_IMPORT_MAX_TOKENS);
        n = im->opts->n_vocab;
    }
    im->n_tokens = n;
    im->text = mote__calloc((size_t)n, sizeof *im->text);
    im->type = mote__calloc((size_t)n, sizeof *im->type);
    im->src = mote__calloc((size_t)n, sizeof *im->src);
    if (!im->text || !im->type || !im->src) return NOMEM();

    json_object_foreach(im->vocab, key, v) {
        int64_t id = (int64_t)json_integer_value(v);
        if (im->src[id])
            return TFAIL("model.vocab: %s and %s both have id %lld", q(qa, im->text[id]), q(qb2, key),
                         (long long)id);
        im->text[id] = key;
        im->type[id] = TT_NORMAL;
        im->src[id] = 1;
    }

    json_t *seen = im->added_seen = json_object(); /* content -> index in added_tokens */
    if (!seen) return NOMEM();
    for (size_t i = 0; i < n_added; i++) {
        json_t *a = json_array_get(im->added, i);
        int64_t id = (int64_t)json_integer_value(json_object_get(a, "id"));
        const char *content = json_string_value(json_object_get(a, "content"));
        if (im->src[id] == 1) {
            if (strcmp(im->text[id], content))
                return TFAIL("added_tokens[%zu]: id %lld is %s here but %s in model.vocab", i,
                             (long long)id, q(qa, content), q(qb2, im->text[id]));
        } else if (im->src[id] >= 2) {
            return TFAIL("added_tokens[%zu]: id %lld is already taken by added_tokens[%d]", i,
                         (long long)id, im->src[id] - 2);
        } else {
            json_t *vid = json_object_get(im->vocab, content);
            if (vid)
                return TFAIL("added_tokens[%zu]: %s has id %lld here but %lld in model.vocab", i,
                             q(qa, content), (long long)id, (long long)json_integer_value(vid));
            json_t *k = json_object_get(seen, content); /* the same text under two ids */
            if (k) {
                json_t *b = json_array_get(im->added, (size_t)json_integer_value(k));
                return TFAIL("added_tokens[%zu]: %s is also added_tokens[%lld], with id %lld", i,
                             q(qa, content), (long long)json_integer_value(k),
                             (long long)json_integer_value(json_object_get(b, "id")));
            }
        }
        if (json_object_set_new(seen, content, json_integer((json_int_t)i))) return NOMEM();
        im->text[id] = content;
        im->src[id] = 2 + (int32_t)i;
        im->n_added++;
        if (json_is_true(json_object_get(a, "special")) || looks_special(content)) {
            im->type[id] = TT_CONTROL;
        } else {
            im->type[id] = TT_USER_DEFINED;
            if (!(im->text[id] = unphantom(im, content))) return NOMEM();
        }
    }

    if (im->kind == KIND_SPM) { /* byte-fallback pieces, and the model's unk_token */
        json_t *unk = json_object_get(im->model, "unk_token");
        json_t *unk_id = json_is_string(unk) ? json_object_get(im->vocab, json_string_value(unk)) : NULL;
        for (int64_t id = 0; id < n; id++) {
            const char *t = im->text[id];
            if (im->src[id] == 1 && is_byte_piece(t)) im->type[id] = TT_BYTE;
        }
        if (unk_id) im->type[json_integer_value(unk_id)] = TT_UNKNOWN;
    }

    for (int64_t id = 0; id < n; id++) {
        if (im->src[id]) continue;
        char *p = arena_alloc(&im->arena, 32);
        if (!p) return NOMEM();
        snprintf(p, 32, "[PAD%lld]", (long long)id);
        im->text[id] = p;
        im->type[id] = TT_UNUSED;
        im->n_filled++;
    }

    if (im->kind == KIND_WORDPIECE) { /* llama.cpp's phantom-space form */
        size_t plen = strlen(im->subword_prefix);
        for (int64_t id = 0; id < n; id++) {
            const char *t = im->text[id];
            size_t len = strlen(t);
            if (len >= 2 && t[0] == '[' && t[len - 1] == ']') continue;
            if (plen && !strncmp(t, im->subword_prefix, plen)) {
                im->text[id] = t + plen;
                continue;
            }
            char *p = arena_alloc(&im->arena, len + 4);
            if (!p) return NOMEM();
            memcpy(p, "\xE2\x96\x81", 3);
            memcpy(p + 3, t, len + 1);
            im->text[id] = p;
        }
    }
    return MOTE_OK;
}

/* Is the NUL-terminated s a key of model.vocab? */
static bool in_vocab(const importer *im, const char *s) { return json_object_get(im->vocab, s) != NULL; }

/* model.merges (BPE), checked against model.vocab as the tokenizers library
 * checks them: both parts and their concatenation must be tokens. */
static mote_status read_merges(importer *im) {
    char qa[96], qb2[96], qc[96];
    json_t *m = json_object_get(im->model, "merges");
    if (!m) return TFAIL("model.merges: missing (a BPE model lists its merges)");
    if (!json_is_array(m)) return TFAIL("model.merges: expected an array, found %s", jtype(m));
    size_t n = json_array_size(m);
    im->merges = mote__calloc(n ? n : 1, sizeof *im->merges);
    if (!im->merges) return NOMEM();
    if (im->kind == KIND_SPM) {
        if (!(im->merge_rank = mote__malloc((size_t)im->n_tokens * sizeof *im->merge_rank))) return NOMEM();
        for (int64_t id = 0; id < im->n_tokens; id++) im->merge_rank[id] = -1;
    }
    size_t plen = strlen(im->subword_prefix);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(m, i);
        const char *a, *b, *joined;
        size_t la, lb;
        if (json_is_string(e)) {
            const char *s = json_string_value(e);
            size_t len = json_string_length(e);
            const char *sp = memchr(s, ' ', len);
            if (!sp || sp == s || sp == s + len - 1 || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - s)))
                return TFAIL("model.merges[%zu]: %s is not two tokens separated by one space", i, q(qa, s));
            la = (size_t)(sp - s);
            lb = len - la - 1;
            char *buf = scratch(im, len + 2);
            if (!buf) return NOMEM();
            memcpy(buf, s, la);
            buf[la] = '\0';
            memcpy(buf + la + 1, sp + 1, lb + 1);
            a = buf;
            b = buf + la + 1;
            joined = s;
        } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
                   json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1));
            la = strlen(a);
            lb = strlen(b);
            if (!la || !lb) return TFAIL("model.merges[%zu]: a part is empty", i);
            /* "a b" with each space inside a part written as U+0120 (C4 A0). */
            size_t spaces = 0;
            for (size_t k = 0; k < la; k++) spaces += a[k] == ' ';
            for (size_t k = 0; k < lb; k++) spaces += b[k] == ' ';
            char *p = arena_alloc(&im->arena, la + lb + spaces + 2), *o = p;
            if (!p) return NOMEM();
            for (const char *c = a; *c; c++) {
                if (*c == ' ') { *o++ = '\xC4'; *o++ = '\xA0'; } else *o++ = *c;
            }
            *o++ = ' ';
            for (const char *c = b; *c; c++) {
                if (*c == ' ') { *o++ = '\xC4'; *o++ = '\xA0'; } else *o++ = *c;
            }
            *o = '\0';
            joined = p;
        } else {
            if (json_is_array(e))
                return TFAIL("model.merges[%zu]: expected two strings, found an array of %zu that is not",
                             i, json_array_size(e));
            return TFAIL("model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"], found %s", i, jtype(e));
        }
        if (!in_vocab(im, a)) return TFAIL("model.merges[%zu]: %s is not in model.vocab", i, q(qa, a));
        if (!in_vocab(im, b)) return TFAIL("model.merges[%zu]: %s is not in model.vocab", i, q(qa, b));
        /* The merged token: a + b without the continuing-subword prefix. */
        size_t bskip = (plen && lb >= plen && !strncmp(b, im->subword_prefix, plen)) ? plen : 0;
        /* a and b may live in the scratch buffer: build after them. */
        size_t off = (a == im->scratch) ? la + lb + 2 : 0;
        char *buf = scratch(im, off + la + lb - bskip + 1);
        if (!buf) return NOMEM();
        if (off) { /* the scratch buffer may have moved */
            a = buf;
            b = buf + la + 1;
        }
        const char *bt = b + bskip;
        memcpy(buf + off, a, la);
        memcpy(buf + off + la, bt, lb - bskip + 1);
        json_t *merged = json_object_get(im->vocab, buf + off);
        if (!merged)
            return TFAIL("model.merges[%zu]: %s + %s = %s is not in model.vocab", i, q(qa, a), q(qb2, bt),
                         q(qc, buf + off));
        if (im->merge_rank) {
            int64_t id = (int64_t)json_integer_value(merged);
            if (im->merge_rank[id] < 0) im->merge_rank[id] = (int64_t)i;
        }
        im->merges[i] = joined;
    }
    im->n_merges = (int64_t)n;
    return MOTE_OK;
}

/* Scores for SentencePiece's merge loop, which joins the adjacent pair whose
 * concatenation is the token of highest score: a token the BPE merges make
 * scores -(rank of its first merge), so SentencePiece merges in the same
 * order; a normal token no merge makes (single characters) scores below
 * every merge, -(n_merges + id); byte, control and unknown pieces 0, as
 * SentencePiece's own files have them. (llama.cpp's converter writes -1000
 * for every token of a tokenizer.json, which loses the merge order.) */
static mote_status make_scores(importer *im) {
    if (!(im->scores = mote__malloc((size_t)im->n_tokens * sizeof *im->scores))) return NOMEM();
    for (int64_t id = 0; id < im->n_tokens; id++) {
        int t = im->type[id];
        if (t != TT_NORMAL && t != TT_USER_DEFINED) im->scores[id] = 0.0f;
        else if (im->merge_rank[id] >= 0) im->scores[id] = -(float)im->merge_rank[id];
        else im->scores[id] = -(float)(im->n_merges + id);
    }
    return MOTE_OK;
}

/* ---- special tokens and chat template ---------------------------------------- */

/* The text of tokenizer_config.json's "<typ>_token": a string, or an object
 * with a string "content" (NULL otherwise). */
static const char *config_token(const json_t *cfg, const char *typ) {
    char key[32];
    snprintf(key, sizeof key, "%s_token", typ);
    json_t *e = json_object_get(cfg, key);
    if (json_is_object(e)) e = json_object_get(e, "content");
    return json_is_string(e) ? json_string_value(e) : NULL;
}

/* The first SpecialToken id of a TemplateProcessing piece, or NULL. */
static const char *template_special(const json_t *piece) {
    json_t *st = json_object_get(piece, "SpecialToken");
    json_t *id = json_object_get(st, "id");
    return json_is_string(id) ? json_string_value(id) : NULL;
}

static bool same(const char *a, const char *b) { return a && b && !strcmp(a, b); }

/* Special token ids and add_* flags, in llama.cpp's SpecialVocab manner:
 * contents from tokenizer_config.json (a missing bos falls back to cls, a
 * missing eos to sep), add flags from the post_processor and then from the
 * config's add_<typ>_token (which wins); without a config, a
 * TemplateProcessing's leading/trailing special tokens name bos/eos. Ids are
 * those of the first added_tokens entry with that content. */
static void read_specials(importer *im) {
    for (int t = 0; t < SP_COUNT; t++) {
        im->sp_text[t] = im->cfg ? config_token(im->cfg, sp_names[t]) : NULL;
        im->sp_id[t] = -1;
        im->add_sp[t] = -1;
    }
    if (im->cfg) {
        if (!im->sp_text[SP_BOS] && im->sp_text[SP_CLS]) im->sp_text[SP_BOS] = im->sp_text[SP_CLS];
        if (!im->sp_text[SP_EOS] && im->sp_text[SP_SEP]) im->sp_text[SP_EOS] = im->sp_text[SP_SEP];
    }

    json_t *pp = json_object_get(im->tok, "post_processor");
    json_t *procs = json_is_object(pp) && json_is_array(json_object_get(pp, "processors"))
                        ? json_object_get(pp, "processors") : NULL;
    size_t n_procs = procs ? json_array_size(procs) : (json_is_object(pp) ? 1 : 0);
    for (size_t i = 0; i < n_procs; i++) {
        json_t *p = procs ? json_array_get(procs, i) : pp;
        json_t *jt = json_object_get(p, "type");
        const char *type = json_is_string(jt) ? json_string_value(jt) : "";
        if (!strcmp(type, "RobertaProcessing")) {
            im->add_sp[SP_BOS] = im->add_sp[SP_EOS] = 1;
            json_t *cls = json_array_get(json_object_get(p, "cls"), 0);
            json_t *sep = json_array_get(json_object_get(p, "sep"), 0);
            if (!im->sp_text[SP_CLS] && json_is_string(cls)) im->sp_text[SP_CLS] = json_string_value(cls);
            if (!im->sp_text[SP_SEP] && json_is_string(sep)) im->sp_text[SP_SEP] = json_string_value(sep);
            if (!im->cfg && !im->sp_text[SP_BOS]) im->sp_text[SP_BOS] = im->sp_text[SP_CLS];
            if (!im->cfg && !im->sp_text[SP_EOS]) im->sp_text[SP_EOS] = im->sp_text[SP_SEP];
        } else if (!strcmp(type, "TemplateProcessing")) {
            json_t *single = json_object_get(p, "single");
            size_t n = json_is_array(single) ? json_array_size(single) : 0;
            if (n < 2) continue;
            const char *first = template_special(json_array_get(single, 0));
            const char *last = template_special(json_array_get(single, n - 1));
            if (first) {
                if (!im->cfg) im->sp_text[SP_BOS] = first;
                im->add_sp[SP_BOS] = same(first, im->sp_text[SP_BOS]) || same(first, im->sp_text[SP_CLS]);
            }
            if (last) {
                if (!im->cfg) im->sp_text[SP_EOS] = last;
                im->add_sp[SP_EOS] = same(last, im->sp_text[SP_EOS]);
            }
        }
    }

    for (int t = 0; t < SP_COUNT; t++) {
        if (im->cfg) {
            char key[32];
            snprintf(key, sizeof key, "add_%s_token", sp_names[t]);
            json_t *a = json_object_get(im->cfg, key);
            if (json_is_boolean(a)) im->add_sp[t] = json_is_true(a);
        }
        if (!im->sp_text[t] || !im->added) continue;
        for (size_t i = 0; i < json_array_size(im->added); i++) {
            json_t *a = json_array_get(im->added, i);
            if (same(json_string_value(json_object_get(a, "content")), im->sp_text[t])) {
                im->sp_id[t] = (int64_t)json_integer_value(json_object_get(a, "id"));
                break;
            }
        }
    }
    /* add_bos/add_eos only for the kinds llama.cpp has keys for here */
    for (int t = SP_UNK; t < SP_COUNT; t++) im->add_sp[t] = -1;
}

/* tokenizer.chat_template: a string, or a list of {name, template} (the one
 * named "default" becomes tokenizer.chat_template, the others
 * tokenizer.chat_template.<name> listed in tokenizer.chat_templates). Other
 * shapes are ignored, as llama.cpp ignores them. */
static mote_status write_chat_template(importer *im, mote_gguf_writer *w, int *written) {
    json_t *ct = im->cfg ? json_object_get(im->cfg, "chat_template") : NULL;
    *written = 0;
    if (json_is_string(ct)) {
        *written = 1;
        return mote__gguf_set_str(w, "tokenizer.chat_template", json_string_value(ct));
    }
    if (!json_is_array(ct)) return MOTE_OK;
    size_t n = json_array_size(ct), n_names = 0;
    const char **names = mote__calloc(n ? n : 1, sizeof *names);
    if (!names) return MOTE_ERR_NOMEM;
    mote_status s = MOTE_OK;
    const char *def = NULL;
    for (size_t i = 0; i < n && !s; i++) {
        json_t *e = json_array_get(ct, i);
        json_t *jn = json_object_get(e, "name"), *jtpl = json_object_get(e, "template");
        if (!json_is_string(jn) || !json_is_string(jtpl) || !json_string_length(jn)) continue;
        const char *raw = json_string_value(jn);
        size_t len = strlen(raw);
        char *name = arena_alloc(&im->arena, len + 1);
        if (!name) { s = MOTE_ERR_NOMEM; break; }
        for (size_t k = 0; k <= len; k++) { /* only [A-Za-z0-9] survive, as llama.cpp */
            char c = raw[k];
            name[k] = (!c || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_';
        }
        if (!strcmp(name, "default")) {
            def = json_string_value(jtpl);
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < n_names; k++) dup |= !strcmp(names[k], name);
        if (!dup) names[n_names++] = name;
        char *key = arena_alloc(&im->arena, len + 32);
        if (!key) { s = MOTE_ERR_NOMEM; break; }
        snprintf(key, len + 32, "tokenizer.chat_template.%s", name);
        s = mote__gguf_set_str(w, key, json_string_value(jtpl));
    }
    if (!s && n_names) s = mote__gguf_set_arr_str(w, "tokenizer.chat_templates", names, n_names);
    if (!s && def) {
        *written = 1;
        s = mote__gguf_set_str(w, "tokenizer.chat_template", def);
    }
    mote__free(names);
    return s;
}

/* ---- pre-tokenizer names ------------------------------------------------------- */

/* The pre_tokenizer is described as a list of steps, each a canonical
 * string:  Split /REGEX/ [BEHAVIOR] [invert]   (Split "TEXT" for a String
 * pattern; BEHAVIOR only when not Isolated),  ByteLevel [regex] [prefix]
 * (use_regex, add_prefix_space; both default to true),  Digits [individual],
 * Punctuation [BEHAVIOR],  or the type name of anything else. Sequences are
 * flattened. A known list of steps gives llama.cpp's name; the regexes are
 * those of the models' tokenizer.json files, whose llama.cpp equivalents are
 * in its llama-vocab.cpp. Families that share a structure share a name (the
 * Llama 3 regex is also DBRX's and Smaug's; Qwen2's is also StableLM 2's and
 * the DeepSeek-R1 Qwen distills'): pass the name to override. */
#define LLAMA3_RE                                                                                  \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_RE                                                                                   \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"     \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define TEKKEN_RE                                                                                  \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"              \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}|"       \
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define DEEPSEEK3_RE                                                                               \
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"        \
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"

#define MAX_PRE_STEPS 8
typedef struct pre_known {
    const char *name;
    int kind; /* KIND_BPE or KIND_WORDPIECE */
    const char *steps[MAX_PRE_STEPS];
} pre_known;

static const pre_known known_pre[] = {
    {"llama-bpe", KIND_BPE, {"Split /" LLAMA3_RE "/", "ByteLevel"}},
    {"qwen2", KIND_BPE, {"Split /" QWEN2_RE "/", "ByteLevel"}},
    {"tekken", KIND_BPE, {"Split /" TEKKEN_RE "/", "ByteLevel"}},
    {"deepseek-v3", KIND_BPE,
     {"Split /\\p{N}{1,3}/", "Split /[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+/",
      "Split /" DEEPSEEK3_RE "/", "ByteLevel"}},
    {"gpt-2", KIND_BPE, {"ByteLevel regex"}},
    {"starcoder", KIND_BPE, {"Digits individual", "ByteLevel regex"}},
    {"bert-bge", KIND_WORDPIECE, {"BertPreTokenizer"}},
};

typedef struct pre_steps {
    char *step[MAX_PRE_STEPS + 1];
    int n; /* MAX_PRE_STEPS + 1: too many to be known */
} pre_steps;

static bool jbool(const json_t *o, const char *key, bool def) {
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static mote_status describe_pre(importer *im, const json_t *p, const char *path, pre_steps *ps, int depth) {
    if (!json_is_object(p)) return TFAIL("%s: expected an object, found %s", path, jtype(p));
    json_t *jt = json_object_get(p, "type");
    if (!json_is_string(jt)) return TFAIL("%s.type: expected a string, found %s", path, jt ? jtype(jt) : "nothing");
    const char *type = json_string_value(jt);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(p, "pretokenizers");
        if (!json_is_array(list))
            return TFAIL("%s.pretokenizers: expected an array, found %s", path, list ? jtype(list) : "nothing");
        if (depth > 8) return TFAIL("%s: Sequences nested too deep", path);
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", depth ? "..." : path, i);
            mote_status s = describe_pre(im, json_array_get(list, i), sub, ps, depth + 1);
            if (s) return s;
        }
        return MOTE_OK;
    }
    if (ps->n > MAX_PRE_STEPS) return MOTE_OK;
    char buf[512];
    if (!strcmp(type, "Split")) {
        json_t *pat = json_object_get(p, "pattern");
        json_t *re = json_object_get(pat, "Regex"), *str = json_object_get(pat, "String");
        json_t *beh = json_object_get(p, "behavior");
        const char *b = json_is_string(beh) ? json_string_value(beh) : "Isolated";
        if (!json_is_string(re) && !json_is_string(str))
            return TFAIL("%s.pattern: expected {\"Regex\": ...} or {\"String\": ...}", path);
        const char *pv = json_string_value(json_is_string(re) ? re : str);
        size_t need = strlen(pv) + strlen(b) + 32;
        char *s = arena_alloc(&im->arena, need);
        if (!s) return NOMEM();
        snprintf(s, need, json_is_string(re) ? "Split /%s/%s%s%s" : "Split \"%s\"%s%s%s", pv,
                 strcmp(b, "Isolated") ? " " : "", strcmp(b, "Isolated") ? b : "",
                 jbool(p, "invert", false) ? " invert" : "");
        ps->step[ps->n++] = s;
        return MOTE_OK;
    }
    if (!strcmp(type, "ByteLevel"))
        snprintf(buf, sizeof buf, "ByteLevel%s%s", jbool(p, "use_regex", true) ? " regex" : "",
                 jbool(p, "add_prefix_space", true) ? " prefix" : "");
    else if (!strcmp(type, "Digits"))
        snprintf(buf, sizeof buf, "Digits%s", jbool(p, "individual_digits", false) ? " individual" : "");
    else if (!strcmp(type, "Punctuation")) {
        json_t *beh = json_object_get(p, "behavior");
        const char *b = json_is_string(beh) ? json_string_value(beh) : "Isolated";
        snprintf(buf, sizeof buf, "Punctuation%s%.64s", strcmp(b, "Isolated") ? " " : "",
                 strcmp(b, "Isolated") ? b : "");
    } else
        snprintf(buf, sizeof buf, "%.64s", type);
    size_t len = strlen(buf) + 1;
    char *s = arena_alloc(&im->arena, len);
    if (!s) return NOMEM();
    memcpy(s, buf, len);
    ps->step[ps->n++] = s;
    return MOTE_OK;
}

/* tokenizer.ggml.pre: the override, or the name of a known structure. */
static mote_status detect_pre(importer *im) {
    const char *override = im->opts ? im->opts->pre : NULL;
    if (override) {
        if (!*override || strlen(override) >= sizeof im->pre)
            return fail(im, MOTE_ERR_INVALID_ARG, im->tname, "pre-tokenizer name must be 1 to %zu bytes",
                        sizeof im->pre - 1);
        memcpy(im->pre, override, strlen(override) + 1);
        return MOTE_OK;
    }
    if (im->kind == KIND_SPM) { /* SentencePiece has no pre-tokenizer regexes */
        snprintf(im->pre, sizeof im->pre, "default");
        return MOTE_OK;
    }
    pre_steps ps = {{0}, 0};
    json_t *p = json_object_get(im->tok, "pre_tokenizer");
    if (p && !json_is_null(p)) {
        mote_status s = describe_pre(im, p, "pre_tokenizer", &ps, 0);
        if (s) return s;
    }
    for (size_t k = 0; k < sizeof known_pre / sizeof known_pre[0]; k++) {
        const pre_known *kp = &known_pre[k];
        if (kp->kind != (int)im->kind) continue;
        int n = 0;
        while (n < MAX_PRE_STEPS && kp->steps[n]) n++;
        if (n != ps.n) continue;
        int i = 0;
        while (i < n && !strcmp(kp->steps[i], ps.step[i])) i++;
        if (i < n) continue;
        const char *name = kp->name;
        /* RoBERTa: GPT-2's pre-tokenizer with a RobertaProcessing post_processor. */
        json_t *pp = json_object_get(im->tok, "post_processor");
        json_t *ppt = json_object_get(pp, "type");
        if (!strcmp(name, "gpt-2") && json_is_string(ppt) && !strcmp(json_string_value(ppt), "RobertaProcessing"))
            name = "roberta-bpe";
        snprintf(im->pre, sizeof im->pre, "%s", name);
        return MOTE_OK;
    }
    /* Unknown: name it, one line, within the message size. */
    char desc[320];
    size_t o = 0;
    desc[0] = '\0';
    if (!ps.n) snprintf(desc, sizeof desc, "(none)");
    for (int i = 0; i < ps.n && i < MAX_PRE_STEPS && o < sizeof desc - 1; i++) {
        char qs[96];
        o += (size_t)snprintf(desc + o, sizeof desc - o, "%s%s", i ? " + " : "", qx(qs, ps.step[i], false));
    }
    if (ps.n > MAX_PRE_STEPS && o < sizeof desc - 8) snprintf(desc + o, sizeof desc - o, " + ...");
    return fail(im, MOTE_ERR_UNSUPPORTED, im->tname,
                "pre_tokenizer: unknown structure [%s]; name llama.cpp's pre-tokenizer for it "
                "(e.g. llama-bpe, qwen2, gpt-2) with --pre NAME", desc);
}

/* ---- writing -------------------------------------------------------------------- */

static mote_status write_keys(importer *im, mote_gguf_writer *w, mote_vocab_import_summary *sum) {
    const char *model = im->kind == KIND_WORDPIECE ? "bert" : im->kind == KIND_SPM ? "llama" : "gpt2";
    const char *arch = im->opts && im->opts->arch ? im->opts->arch : im->kind == KIND_WORDPIECE ? "bert" : "llama";
    const char *name = im->opts && im->opts->name ? im->opts->name : "vocab";
    int has_tpl = 0;
    mote_status s = mote__gguf_set_str(w, "general.architecture", arch);
    if (!s) s = mote__gguf_set_str(w, "general.name", name);
    /* BERT's token-type (segment) count: 2 in every BERT config.json; llama.cpp
     * writes config.json's type_vocab_size, which a tokenizer.json lacks. */
    if (!s && im->kind == KIND_WORDPIECE) s = mote__gguf_set_u32(w, "tokenizer.ggml.token_type_count", 2);
    if (!s) s = mote__gguf_set_str(w, "tokenizer.ggml.model", model);
    if (!s) s = mote__gguf_set_str(w, "tokenizer.ggml.pre", im->pre);
    if (!s) s = mote__gguf_set_arr_str(w, "tokenizer.ggml.tokens", im->text, (uint64_t)im->n_tokens);
    if (!s && im->kind == KIND_SPM)
        s = mote__gguf_set_arr(w, "tokenizer.ggml.scores", MOTE_GGUF_FLOAT32, im->scores, (uint64_t)im->n_tokens);
    if (!s) s = mote__gguf_set_arr(w, "tokenizer.ggml.token_type", MOTE_GGUF_INT32, im->type, (uint64_t)im->n_tokens);
    if (!s && im->kind == KIND_BPE && im->n_merges)
        s = mote__gguf_set_arr_str(w, "tokenizer.ggml.merges", im->merges, (uint64_t)im->n_merges);
    for (int t = 0; t < SP_COUNT && !s; t++)
        if (im->sp_id[t] >= 0) s = mote__gguf_set_u32(w, sp_keys[t], (uint32_t)im->sp_id[t]);
    if (!s && im->add_sp[SP_BOS] >= 0) s = mote__gguf_set_bool(w, "tokenizer.ggml.add_bos_token", im->add_sp[SP_BOS]);
    if (!s && im->add_sp[SP_EOS] >= 0) s = mote__gguf_set_bool(w, "tokenizer.ggml.add_eos_token", im->add_sp[SP_EOS]);
    if (!s) s = write_chat_template(im, w, &has_tpl);
    if (s) return NOMEM();
    if (sum) {
        memset(sum, 0, sizeof *sum);
        snprintf(sum->model, sizeof sum->model, "%s", model);
        snprintf(sum->pre, sizeof sum->pre, "%s", im->pre);
        sum->n_tokens = im->n_tokens;
        sum->n_added = im->n_added;
        sum->n_filled = im->n_filled;
        sum->n_merges = im->n_merges;
        sum->bos_id = (int32_t)im->sp_id[SP_BOS];
        sum->eos_id = (int32_t)im->sp_id[SP_EOS];
        sum->has_chat_template = has_tpl;
    }
    return MOTE_OK;
}

/* ---- entry points ----------------------------------------------------------------- */

mote_status mote__vocab_import_hf_mem(const char *tok, size_t tok_len, const char *tok_name,
                                      const char *cfg, size_t cfg_len, const char *cfg_name,
                                      const mote_vocab_import_opts *opts,
                                      mote_gguf_writer **out, mote_vocab_import_summary *summary,
                                      mote_error *err) {
    *out = NULL;
    importer im_ = {0}, *im = &im_;
    im->tname = tok_name;
    im->cname = cfg_name;
    im->opts = opts;
    im->err = err;
    /* jansson allocates through our hook too (a process-wide setting). */
    json_set_alloc_funcs(mote__malloc, mote__free);

    mote_gguf_writer *w = NULL;
    mote_status s = parse_object(im, tok, tok_len, tok_name, 0, &im->tok);
    if (!s && cfg) s = parse_object(im, cfg, cfg_len, cfg_name, JSON_DECODE_INT_AS_REAL, &im->cfg);
    if (!s) s = read_model(im);
    if (!s) s = read_tokens(im);
    if (!s && im->kind != KIND_WORDPIECE) s = read_merges(im);
    if (!s && im->kind == KIND_SPM) s = make_scores(im);
    if (!s) s = detect_pre(im);
    if (!s) {
        read_specials(im);
        if (!(w = mote__gguf_writer_new())) s = NOMEM();
    }
    if (!s) s = write_keys(im, w, summary);
    if (s) {
        mote__gguf_writer_free(w);
        w = NULL;
    }
    *out = w;
    mote__free(im->text);
    mote__free(im->type);
    mote__free(im->src);
    mote__free(im->merges);
    mote__free(im->merge_rank);
    mote__free(im->scores);
    mote__free(im->scratch);
    arena_free(im->arena);
    json_decref(im->added_seen);
    json_decref(im->tok);
    json_decref(im->cfg);
    return s;
}

mote_status mote_vocab_import_hf(const char *tokenizer_json, const char *config_json,
                                 const char *out_gguf, const mote_vocab_import_opts *opts,
                                 mote_vocab_import_summary *summary, mote_error *err) {
    if (!tokenizer_json || !out_gguf)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "vocab import: no tokenizer.json or output path given");
    mote_file_map tf = {0}, cf = {0};
    mote_status s = mote__file_map(tokenizer_json, &tf, err);
    if (s) return s;
    if (config_json && (s = mote__file_map(config_json, &cf, err))) {
        mote__file_unmap(&tf);
        return s;
    }
    /* general.name defaults to the output file's name without ".gguf". */
    mote_vocab_import_opts o = opts ? *opts : (mote_vocab_import_opts){0};
    char name[256];
    if (!o.name) {
        const char *base = strrchr(out_gguf, '/');
        base = base ? base + 1 : out_gguf;
        size_t len = strlen(base);
        if (len > 5 && !strcmp(base + len - 5, ".gguf")) len -= 5;
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, base, len);
        name[len] = '\0';
        o.name = len ? name : "vocab";
    }
    mote_gguf_writer *w = NULL;
    s = mote__vocab_import_hf_mem((const char *)tf.data, (size_t)tf.size, tokenizer_json,
                                  config_json ? (const char *)(cf.data ? cf.data : (const uint8_t *)"") : NULL,
                                  (size_t)cf.size, config_json ? config_json : "", &o, &w, summary, err);
    mote__file_unmap(&tf);
    if (config_json) mote__file_unmap(&cf);
    if (!s) s = mote__gguf_write(w, out_gguf, err);
    mote__gguf_writer_free(w);
    return s;
}
