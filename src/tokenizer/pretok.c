/* pretok.c — the pre-tokenizers of byte-level BPE vocabs: the regexes that
 * llama.cpp applies for each tokenizer.ggml.pre name (llama-vocab.cpp,
 * llm_tokenizer_bpe), compiled with PCRE2 once at load, and the split of a
 * text into words.
 *
 * How a list of regexes splits (as llama.cpp's unicode_regex_split): the
 * first regex splits the text into its matches and the gaps between them
 * (gaps are words too); each next regex splits every piece the same way,
 * seeing only that piece (so lookaheads and "$" stop at its end). Unicode
 * classes (\p{L}, \p{N}, \p{P}, \s) are PCRE2's (PCRE2_UCP); "$" is end of
 * piece only (PCRE2_DOLLAR_ENDONLY, as ECMAScript's). Invalid UTF-8 never
 * matches (PCRE2_MATCH_INVALID_UTF), so such bytes end up in gaps and reach
 * the byte-level encoder unchanged — llama.cpp instead turns them into
 * U+FFFD first, which loses them.
 *
 * What it is not: the BPE merges (bpe.c); llama.cpp's hand-written splitters
 * for the gpt2 and llama3 regexes (they implement the same regexes).
 * Known differences: PCRE2's Unicode tables (Unicode 14 in 10.42) may class
 * a few recent characters differently from llama.cpp's tables; \s follows
 * PCRE2's UCP definition.
 *
 * Thread-safety: compiled regexes are read-only; a split allocates its own
 * match data (through mote__malloc, like the compiled code: PCRE2's general
 * context routes its allocations to the allocator hook; JIT code is mapped
 * by PCRE2 itself).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tok_impl.h"

#include <pcre2.h>
#include <string.h>

/* ---- the regexes of each pre-tokenizer type ----------------------------- */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3                                                                                       \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| " \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                   \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| " \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_PORO " ?[^(\\s|.,!?\xe2\x80\xa6\xe3\x80\x82\xef\xbc\x8c\xe3\x80\x81\xe0\xa5\xa4\xdb\x94\xd8\x8c)]+"
/* CJK and Hangul ranges of the deepseek regexes: [一-龥ࠀ-一가-퟿]+ */
#define RE_CJK "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+"

typedef struct pre_type {
    const char *kind;         /* the regex set's name */
    const char *re[7];        /* NULL-terminated */
    bool ignore_merges, add_bos, add_sep;
} pre_type;

static const pre_type PRE_DEFAULT = {
    "default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL}, false, false, false};
static const pre_type PRE_GPT2 = {"gpt2", {RE_GPT2, NULL}, false, false, false};
static const pre_type PRE_GPT2_SEP = {"gpt2", {RE_GPT2, NULL}, false, false, true};
static const pre_type PRE_LLAMA3 = {"llama3", {RE_LLAMA3, NULL}, true, true, false};
static const pre_type PRE_LLAMA3_RE = {"llama3", {RE_LLAMA3, NULL}, false, false, false}; /* dbrx, smaug, glm4 */
static const pre_type PRE_DEEPSEEK_LLM = {
    "deepseek-llm",
    {"[\r\n]",
     "\\s?[A-Za-z\xc2\xb5\xc3\x80-\xc3\x96\xc3\x98-\xc3\xb6\xc3\xb8-\xc6\xba\xc6\xbc-\xc6\xbf\xc7\x84-\xca\x93"
     "\xca\x95-\xca\xaf\xcd\xb0-\xcd\xb3\xcd\xb6\xcd\xb7\xcd\xbb-\xcd\xbd\xcd\xbf\xce\x86\xce\x88-\xce\x8a\xce\x8c"
     "\xce\x8e-\xce\xa1\xce\xa3-\xcf\xb5\xcf\xb7-\xd2\x81\xd2\x8a-\xd4\xaf\xd4\xb1-\xd5\x96\xe1\x82\xa0-\xe1\x83\x85"
     "\xe1\x8e\xa0-\xe1\x8f\xb5\xe1\x8f\xb8-\xe1\x8f\xbd\xe1\xb2\x90-\xe1\xb2\xba\xe1\xb2\xbd-\xe1\xb2\xbf"
     "\xe1\xb4\x80-\xe1\xb4\xab\xe1\xb5\xab-\xe1\xb5\xb7\xe1\xb5\xb9-\xe1\xb6\x9a\xe1\xb8\x80-\xe1\xbc\x95"
     "\xe1\xbc\x98-\xe1\xbc\x9d\xe1\xbc\xa0-\xe1\xbd\x85\xe1\xbd\x88-\xe1\xbd\x8d\xe1\xbd\x90-\xe1\xbd\x97"
     "\xe1\xbd\x99\xe1\xbd\x9b\xe1\xbd\x9d\xe1\xbd\x9f-\xe1\xbd\xbd\xe1\xbe\x80-\xe1\xbe\xb4\xe1\xbe\xb6-\xe1\xbe\xbc"
     "\xe1\xbe\xbe\xe1\xbf\x82-\xe1\xbf\x84\xe1\xbf\x86-\xe1\xbf\x8c\xe1\xbf\x90-\xe1\xbf\x93\xe1\xbf\x96-\xe1\xbf\x9b"
     "\xe1\xbf\xa0-\xe1\xbf\xac\xe1\xbf\xb2-\xe1\xbf\xb4\xe1\xbf\xb6-\xe1\xbf\xbc\xe2\x84\x82\xe2\x84\x87"
     "\xe2\x84\x8a-\xe2\x84\x93\xe2\x84\x95\xe2\x84\x99-\xe2\x84\x9d\xe2\x84\xa4\xe2\x84\xa6\xe2\x84\xa8"
     "\xe2\x84\xaa-\xe2\x84\xad\xe2\x84\xaf-\xe2\x84\xb4\xe2\x84\xb9\xe2\x84\xbc-\xe2\x84\xbf\xe2\x85\x85-\xe2\x85\x89"
     "\xe2\x85\x8e\xe2\x86\x83\xe2\x86\x84\xe2\xb0\x80-\xe2\xb1\xbb\xe2\xb1\xbe-\xe2\xb3\xa4\xe2\xb3\xab-\xe2\xb3\xae"
     "\xe2\xb3\xb2\xe2\xb3\xb3\xea\x99\x80-\xea\x99\xad\xea\x9a\x80-\xea\x9a\x9b\xea\x9c\xa2-\xea\x9d\xaf"
     "\xea\x9d\xb1-\xea\x9e\x87\xea\x9e\x8b-\xea\x9e\x8e\xea\xad\xb0-\xea\xae\xbf\xef\xac\x80-\xef\xac\x86"
     "\xef\xac\x93-\xef\xac\x97\xef\xbc\xa1-\xef\xbc\xba\xef\xbd\x81-\xef\xbd\x9a\xf0\x90\x90\x80-\xf0\x90\x91\x8f"
     "\xf0\x90\x92\xb0-\xf0\x90\x93\x93\xf0\x90\x93\x98-\xf0\x90\x93\xbb\xf0\x90\xb2\x80-\xf0\x90\xb2\xb2"
     "\xf0\x90\xb3\x80-\xf0\x90\xb3\xb2\xf0\x91\xa2\xa0-\xf0\x91\xa3\x9f\xf0\x9e\xa4\x80-\xf0\x9e\xa5\x83]+",
     "\\s?[!-/:-~\xef\xbc\x81-\xef\xbc\x8f\xef\xbc\x9a-\xef\xbd\x9e\xe2\x80\x98-\xe2\x80\x9f\xe3\x80\x80-\xe3\x80\x82]+",
     "\\s+$", RE_CJK, "\\p{N}+", NULL},
    false, false, false};
static const pre_type PRE_DEEPSEEK_CODER = {
    "deepseek-coder", {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK, "\\p{N}", NULL}, false, false, false};
static const pre_type PRE_FALCON = {
    "falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]", NULL}, false, false, false};
static const pre_type PRE_STARCODER = {"starcoder", {"\\p{N}", RE_GPT2, NULL}, false, false, false};
static const pre_type PRE_QWEN2 = {"qwen2", {RE_QWEN2, NULL}, false, false, false};
static const pre_type PRE_PORO = {"poro", {RE_PORO, NULL}, false, false, false};
static const pre_type PRE_VIKING = {"viking", {RE_PORO, "\\p{N}", NULL}, false, false, false};
static const pre_type PRE_TEKKEN = {
    "tekken",
    {"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-"
     "z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     NULL},
    true, true, false};
static const pre_type PRE_CHAMELEON = {
    "chameleon",
    {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
     "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2, NULL},
    false, true, false};

/* tokenizer.ggml.pre values as llama.cpp's converter writes them. */
static const struct {
    const char *name;
    const pre_type *type;
} pre_names[] = {
    {"default", &PRE_DEFAULT},        {"gpt-neox", &PRE_DEFAULT}, /* llama.cpp: no pre key -> default */
    {"llama3", &PRE_LLAMA3},          {"llama-v3", &PRE_LLAMA3},         {"llama-bpe", &PRE_LLAMA3},
    {"falcon3", &PRE_LLAMA3},         {"falcon-h1", &PRE_LLAMA3},        {"pixtral", &PRE_LLAMA3},
    {"midm-2.0", &PRE_LLAMA3},        {"lfm2", &PRE_LLAMA3},             {"dbrx", &PRE_LLAMA3_RE},
    {"smaug-bpe", &PRE_LLAMA3_RE},    {"glm4", &PRE_LLAMA3_RE},          {"chatglm-bpe", &PRE_LLAMA3_RE},
    {"deepseek-llm", &PRE_DEEPSEEK_LLM}, {"deepseek-coder", &PRE_DEEPSEEK_CODER},
    {"falcon", &PRE_FALCON},          {"mpt", &PRE_GPT2},                {"olmo", &PRE_GPT2},
    {"jais", &PRE_GPT2},              {"exaone4", &PRE_GPT2},            {"trillion", &PRE_GPT2},
    {"gpt-2", &PRE_GPT2},             {"phi-2", &PRE_GPT2},              {"jina-es", &PRE_GPT2},
    {"jina-de", &PRE_GPT2},           {"gigachat", &PRE_GPT2},           {"jina-v2-es", &PRE_GPT2},
    {"jina-v2-de", &PRE_GPT2},        {"a.x-4.0", &PRE_GPT2},            {"mellum", &PRE_GPT2},
    {"jina-v1-en", &PRE_GPT2_SEP},    {"jina-v2-code", &PRE_GPT2_SEP},   {"roberta-bpe", &PRE_GPT2_SEP},
    {"starcoder", &PRE_STARCODER},    {"refact", &PRE_STARCODER},        {"command-r", &PRE_STARCODER},
    {"smollm", &PRE_STARCODER},       {"codeshell", &PRE_STARCODER},     {"exaone", &PRE_STARCODER},
    {"minerva-7b", &PRE_STARCODER},   {"qwen2", &PRE_QWEN2},             {"deepseek-r1-qwen", &PRE_QWEN2},
    {"qwen2.5", &PRE_QWEN2},          {"kormo", &PRE_QWEN2},             {"stablelm2", &PRE_QWEN2},
    {"megrez", &PRE_QWEN2},           {"poro-chat", &PRE_PORO},          {"bloom", &PRE_PORO},
    {"gpt3-finnish", &PRE_PORO},      {"viking", &PRE_VIKING},           {"tekken", &PRE_TEKKEN},
    {"chameleon", &PRE_CHAMELEON},
};

/* ---- compiling ----------------------------------------------------------- */

enum { PRETOK_MAX = 7 };

struct tok_pretok {
    const char *kind;
    int n;
    pcre2_code *re[PRETOK_MAX];
    pcre2_general_context *gctx;
};

static void *pc_malloc(PCRE2_SIZE size, void *user) {
    (void)user;
    return mote__malloc(size);
}
static void pc_free(void *p, void *user) {
    (void)user;
    mote__free(p);
}

void mote__pretok_free(tok_pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) pcre2_code_free(p->re[i]);
    pcre2_general_context_free(p->gctx);
    mote__free(p);
}

const char *mote__pretok_kind(const tok_pretok *p) { return p->kind; }

mote_status mote__pretok_new(const char *name, size_t len, tok_pretok **out, bool *ignore_merges,
                             bool *add_bos, bool *add_sep, mote_error *err) {
    *out = NULL;
    const pre_type *type = &PRE_DEFAULT;
    for (size_t i = 0; name && i < sizeof pre_names / sizeof pre_names[0]; i++)
        if (strlen(pre_names[i].name) == len && memcmp(pre_names[i].name, name, len) == 0) {
            type = pre_names[i].type;
            break;
        }
    tok_pretok *p = mote__calloc(1, sizeof *p);
    if (!p) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    p->kind = type->kind;
    p->gctx = pcre2_general_context_create(pc_malloc, pc_free, NULL);
    pcre2_compile_context *cctx = p->gctx ? pcre2_compile_context_create(p->gctx) : NULL;
    if (!cctx) {
        mote__pretok_free(p);
        return mote__err(err, MOTE_ERR_NOMEM, "out of memory for the pre-tokenizer");
    }
    const uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY;
    for (int i = 0; type->re[i]; i++) {
        int code;
        PCRE2_SIZE at;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)type->re[i], PCRE2_ZERO_TERMINATED, opts, &code, &at, cctx);
        if (!re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(code, msg, sizeof msg);
            pcre2_compile_context_free(cctx);
            mote__pretok_free(p);
            return mote__err(err, MOTE_ERR_UNSUPPORTED, "pre-tokenizer '%s': regex %d does not compile at %zu: %s",
                             type->kind, i, (size_t)at, (const char *)msg);
        }
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter runs it where JIT is absent */
        p->re[p->n++] = re;
    }
    pcre2_compile_context_free(cctx);
    *ignore_merges = type->ignore_merges;
    *add_bos = type->add_bos;
    *add_sep = type->add_sep;
    *out = p;
    return MOTE_OK;
}

/* ---- splitting ----------------------------------------------------------- */

typedef struct split_ctx {
    const tok_pretok *p;
    const char *text;
    pcre2_match_data *md;
    tok_word_fn word;
    void *user;
    mote_error *err;
} split_ctx;

/* Split text[off, off + n) with regex k and the ones after it, depth first,
 * so that words come out in text order. */
static mote_status split_rec(split_ctx *c, int k, size_t off, size_t n) {
    if (n == 0) return MOTE_OK;
    if (k == c->p->n) return c->word(c->user, off, n);
    PCRE2_SPTR subject = (PCRE2_SPTR)(c->text + off);
    size_t last = 0, pos = 0;
    mote_status st;
    while (pos < n) {
        int rc = pcre2_match(c->p->re[k], subject, n, pos, 0, c->md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* deep backtracking: the interpreter keeps its frames on the heap */
            rc = pcre2_match(c->p->re[k], subject, n, pos, PCRE2_NO_JIT, c->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return mote__err(c->err, rc == PCRE2_ERROR_NOMEMORY ? MOTE_ERR_NOMEM : MOTE_ERR_RANGE,
                             "pre-tokenizer '%s': regex %d failed at byte %zu: %s", c->p->kind, k, off + pos,
                             (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) { /* an empty match splits nothing: look again one byte on */
            pos = ms + 1;
            continue;
        }
        if (ms > last && (st = split_rec(c, k + 1, off + last, ms - last))) return st;
        if ((st = split_rec(c, k + 1, off + ms, me - ms))) return st;
        last = pos = me;
    }
    if (last < n) return split_rec(c, k + 1, off + last, n - last);
    return MOTE_OK;
}

mote_status mote__pretok_split(const tok_pretok *p, const char *text, size_t len, tok_word_fn word, void *ctx,
                               mote_error *err) {
    if (len == 0) return MOTE_OK;
    pcre2_match_data *md = pcre2_match_data_create(1, p->gctx);
    if (!md) return mote__err(err, MOTE_ERR_NOMEM, "out of memory while pre-tokenizing");
    split_ctx c = {p, text, md, word, ctx, err};
    mote_status st = split_rec(&c, 0, 0, len);
    pcre2_match_data_free(md);
    return st;
}
