/* tok_impl.h — what the tokenizer files of src/tokenizer/ share: the vocab
 * struct (token texts, types, scores, the text -> id hash, special ids and
 * flags), the output sink, and the entry points of each algorithm.
 *
 * Not public, not seen outside src/tokenizer/: the rest of mote uses
 * tokenizer.h. tokenizer.c reads the common metadata and dispatches; spm.c,
 * bpe.c (+ pretok.c) and wpm.c each implement one tokenizer model.
 */
#ifndef MOTE_TOK_IMPL_H
#define MOTE_TOK_IMPL_H

#include "tokenizer.h"

typedef enum tok_kind { TOK_SPM = 1, TOK_BPE, TOK_WPM } tok_kind;

typedef struct tok_token {
    uint64_t off;  /* of its text in mote_tokenizer.pool */
    uint32_t len;
    float score;
    uint8_t type;  /* MOTE_TOKEN_*, or 0 for a value outside 1..6 */
    int16_t byte;  /* the byte of a well-formed <0xXX> BYTE token, else -1 */
} tok_token;

typedef struct tok_bpe tok_bpe;   /* bpe.c: merges, byte map, pre-tokenizer */

struct mote_tokenizer {
    tok_kind kind;
    int32_t n_vocab;
    tok_token *toks;
    char *pool;            /* every token's text, concatenated */
    int32_t *slots;        /* open-addressing hash: token id or -1 */
    uint64_t mask;         /* slot count - 1 (a power of two) */
    uint32_t max_len;      /* longest token text in bytes */
    int32_t byte_tok[256]; /* SPM: token for a byte that forms no piece, or -1 */
    /* Tokens that can be cut out of the text (user-defined always; control
     * and unknown ones when special tokens are parsed), longest text first. */
    int32_t *special_ids;
    int32_t n_special;
    int32_t bos, eos, unk, sep; /* -1 when none */
    bool add_bos, add_eos, add_sep, add_space_prefix;
    tok_bpe *bpe;          /* TOK_BPE only */
    size_t bpe_cache_min;  /* BPE fragments this long or longer use a word cache (tests change it) */
    bool spm_split;        /* SPM: no piece has "▁" after another character, so encode word by word */
};

/* Id of the token whose text is exactly s[0..n), or -1 (the later id wins
 * where two tokens share a text, as in llama.cpp). */
int32_t mote__tok_lookup(const mote_tokenizer *t, const char *s, size_t n);

static inline const char *tok_text(const mote_tokenizer *t, int32_t id) { return t->pool + t->toks[id].off; }

/* The output: ids are written while n < cap and always counted. */
typedef struct tok_out {
    int32_t *ids;
    int64_t cap, n;
} tok_out;

static inline void tok_emit(tok_out *o, int32_t id) {
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

/* Length of the well-formed UTF-8 character at s (n > 0 bytes available):
 * 1..4, or 0 for a byte that does not start one (RFC 3629). */
uint32_t mote__utf8_len(const unsigned char *s, size_t n);

/* ---- SentencePiece (spm.c) ---- */

/* Tokenize one raw fragment (len > 0) into o; prefix: give it the leading
 * "▁" of add_space_prefix. Allocates its own work buffers. */
mote_status mote__spm_encode(const mote_tokenizer *t, const char *text, size_t len, bool prefix, tok_out *o,
                             mote_error *err);
int mote__spm_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap);
/* True if no token has "▁" right after a character other than "▁" (then
 * text can be encoded word by word, each "▁" after a non-"▁" starting one). */
bool mote__spm_can_split(const mote_tokenizer *t);

/* ---- byte-level BPE (bpe.c, pretok.c) ---- */

/* Read tokenizer.ggml.merges and tokenizer.ggml.pre, compile the
 * pre-tokenizer; sets t->bpe and the pre-type's flag defaults (add_bos, ...)
 * before the caller reads the metadata keys that override them. */
mote_status mote__bpe_load(const mote_gguf *g, mote_tokenizer *t, mote_error *err);
void mote__bpe_free(tok_bpe *b);
mote_status mote__bpe_encode(const mote_tokenizer *t, const char *text, size_t len, tok_out *o, mote_error *err);
int mote__bpe_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap);

/* Pre-tokenizer (pretok.c): a list of PCRE2 regexes applied in sequence. */
typedef struct tok_pretok tok_pretok;
/* Compile the regexes of llama.cpp's pre-tokenizer `name` (len bytes; NULL
 * or "" is "default"). *ignore_merges / *add_bos / *add_sep receive the
 * pre-type's defaults. Unknown names fall back to "default" as llama.cpp
 * does. */
mote_status mote__pretok_new(const char *name, size_t len, tok_pretok **out, bool *ignore_merges,
                             bool *add_bos, bool *add_sep, mote_error *err);
void mote__pretok_free(tok_pretok *p);
/* Name of the regex set in use ("gpt2", "llama3", ...), for messages/tests. */
const char *mote__pretok_kind(const tok_pretok *p);
/* Split text[0..len) into words: each regex in turn splits every piece into
 * its matches and the gaps between them. Calls word(ctx, off, n) for each
 * word in order (offsets into text); a non-OK return stops the split.
 * Invalid UTF-8 never matches and so lands in gaps: every byte of the text
 * is in exactly one word. */
typedef mote_status (*tok_word_fn)(void *ctx, size_t off, size_t n);
mote_status mote__pretok_split(const tok_pretok *p, const char *text, size_t len, tok_word_fn word, void *ctx,
                               mote_error *err);

/* ---- WordPiece (wpm.c) ---- */

mote_status mote__wpm_encode(const mote_tokenizer *t, const char *text, size_t len, tok_out *o, mote_error *err);
int mote__wpm_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap);

#endif /* MOTE_TOK_IMPL_H */
