/* tokenizer.h — internal API of the tokenizers (src/tokenizer/).
 *
 * A tokenizer is built from a GGUF file's tokenizer.ggml.* metadata; it
 * copies what it needs, so the mote_gguf may be closed afterwards. This
 * build supports tokenizer.ggml.model = "llama" (SentencePiece with scores
 * and byte fallback); other models are MOTE_ERR_UNSUPPORTED naming the model.
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

/* Encode len bytes of text. add_special: prepend BOS (when the vocab has
 * one and tokenizer.ggml.add_bos_token is not false) and append EOS when
 * tokenizer.ggml.add_eos_token is true. Writes at most cap ids; *n_out is
 * the number needed. MOTE_ERR_RANGE if cap was too small. Text is taken as
 * bytes; invalid UTF-8 is encoded through byte-fallback tokens. */
mote_status mote__tokenizer_encode(const mote_tokenizer *t, const char *text, size_t len,
                                   bool add_special, int32_t *ids, int64_t cap,
                                   int64_t *n_out, mote_error *err);

/* Bytes of token id as it reads after token prev (-1 at the start of the
 * text): SentencePiece's "▁" becomes a space, and the space is dropped when
 * prev is BOS or -1 (as SentencePiece decoding does); byte tokens <0xXX>
 * give that one byte; control tokens give nothing. Writes up to cap bytes,
 * returns the byte count, or -1 if id is out of range. */
int mote__tokenizer_piece(const mote_tokenizer *t, int32_t prev, int32_t id, char *buf, int cap);

#endif /* MOTE_TOKENIZER_H */
