/* hf_tokenizer.h — internal API of the Hugging Face tokenizer.json importer
 * (src/convert/hf_tokenizer.c): the in-memory entry point behind
 * mote_vocab_import_hf (include/mote.h), used by the fuzzer and the tests.
 *
 * Not here: the tokenizers themselves (src/tokenizer/) or any reading of the
 * GGUF written (src/gguf/).
 */
#ifndef MOTE_CONVERT_HF_TOKENIZER_H
#define MOTE_CONVERT_HF_TOKENIZER_H

#include "../gguf/gguf.h"

/* Most token ids an import accepts (2^21: eight times the largest
 * vocabularies in use), so hostile ids cannot ask for huge tables. */
#define MOTE_VOCAB_IMPORT_MAX_TOKENS (1 << 21)

/* Convert tokenizer.json bytes tok[0..tok_len) (and tokenizer_config.json
 * bytes cfg[0..cfg_len) unless cfg is NULL) into the key/values of a
 * vocab-only GGUF, set on a new writer returned in *out (the caller frees it
 * with mote__gguf_writer_free). Neither buffer needs a NUL terminator; both
 * are only read. tok_name and cfg_name (non-NULL) prefix error messages.
 * opts may be NULL (defaults; opts->name NULL gives general.name "vocab").
 * summary may be NULL. On failure *out is NULL, err says what is wrong, and
 * nothing is left allocated. */
mote_status mote__vocab_import_hf_mem(const char *tok, size_t tok_len, const char *tok_name,
                                      const char *cfg, size_t cfg_len, const char *cfg_name,
                                      const mote_vocab_import_opts *opts,
                                      mote_gguf_writer **out, mote_vocab_import_summary *summary,
                                      mote_error *err);

#endif /* MOTE_CONVERT_HF_TOKENIZER_H */
