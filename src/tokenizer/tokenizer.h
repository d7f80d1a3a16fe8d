/* tokenizer.h — internal API of the tokenizers (src/tokenizer/).
 *
 * A tokenizer is built from a GGUF file's tokenizer.ggml.* metadata; it
 * copies what it needs, so the mote_gguf may be closed afterwards. This
 * build supports tokenizer.ggml.model = "llama" (SentencePiece with scores
 * and byte fallback, spm.c), "gpt2" (byte-level BPE with the pre-tokenizer
 * named by tokenizer.ggml.pre, bpe.c + pretok.c) and "bert" (WordPiece,
 * wpm.c); other models are MOTE_ERR_UNSUPPORTED naming the model.
 * tokenizer.c reads the common metadata and dispatches (tok_impl.h).
 *
 * Thread-safety: a loaded tokenizer is read-only; encode and piece may be
 * called from several threads at once.
 */
#ifndef MOTE_TOKENIZER_H
#define MOTE_TOKENIZER_H

#include "../core/core.h"
#include "../gguf/gguf.h"

typedef struct mote_tokenizer mote_tokenizer;

/* Token types as GGUF stores them in tokenizer.ggml.token_type. */
enum {
    MOTE_TOKEN_NORMAL = 1,
    MOTE_TOKEN_UNKNOWN = 2,
    MOTE_TOKEN_CONTROL = 3,
    MOTE_TOKEN_USER_DEFINED = 4,
    MOTE_TOKEN_UNUSED = 5,
    MOTE_TOKEN_BYTE = 6
};

/* Build the tokenizer from g's metadata. Missing or inconsistent metadata
 * (token count != score count, an id out of range, ...) is MOTE_ERR_FORMAT
 * naming the key. */
mote_status mote__tokenizer_load(const mote_gguf *g, mote_tokenizer **out, mote_error *err);
void mote__tokenizer_free(mote_tokenizer *t);

int32_t mote__tokenizer_n_vocab(const mote_tokenizer *t);
int32_t mote__tokenizer_bos(const mote_tokenizer *t); /* -1 if none */
int32_t mote__tokenizer_eos(const mote_tokenizer *t); /* -1 if none */

/* "llama", "gpt2" or "bert": the model this tokenizer implements. */
const char *mote__tokenizer_model(const mote_tokenizer *t);
int32_t mote__tokenizer_sep(const mote_tokenizer *t); /* -1 if none */

/* Encode len bytes of text. flags (mote.h's MOTE_TOKENIZE_*; true == 1 ==
 * ADD_SPECIAL):
 *   MOTE_TOKENIZE_ADD_SPECIAL: prepend BOS (CLS for WordPiece) when the
 *     vocab has one and its add_bos_token is on, append EOS when
 *     add_eos_token is on and SEP when add_sep_token is on (WordPiece).
 *   MOTE_TOKENIZE_PARSE_SPECIAL: control and unknown tokens written in the
 *     text ("<|im_start|>", "<s>") become those tokens; without it they are
 *     plain text. User-defined tokens are always matched (as llama.cpp).
 * Writes at most cap ids; *n_out is the number needed. MOTE_ERR_RANGE if
 * cap was too small. Invalid UTF-8: SentencePiece encodes it through
 * byte-fallback tokens, byte-level BPE through its byte tokens (both
 * lossless), WordPiece drops the bytes (as llama.cpp drops U+FFFD). */
mote_status mote__tokenizer_encode(const mote_tokenizer *t, const char *text, size_t len,
                                   unsigned flags, int32_t *ids, int64_t cap,
                                   int64_t *n_out, mote_error *err);

/* Bytes of token id as it reads after token prev (-1 at the start of the
 * text). SentencePiece: "▁" becomes a space, and the space is dropped when
 * prev is BOS or -1 (as SentencePiece decoding does); byte tokens <0xXX>
 * give that one byte. BPE: the byte-level text mapped back to bytes.
 * WordPiece: a word-initial piece reads " word" (no space at the start or
 * after CLS), a continuation piece its bare text. Everywhere control,
 * unknown and unused tokens give nothing, user-defined ones their text.
 * Writes up to cap bytes, returns the byte count, or -1 if id is out of
 * range. */
int mote__tokenizer_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap);

#endif /* MOTE_TOKENIZER_H */
