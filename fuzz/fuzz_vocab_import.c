/* fuzz_vocab_import.c — libFuzzer target for the tokenizer.json importer
 * (src/convert/hf_tokenizer.c).
 *
 * Input: tokenizer.json bytes, optionally followed by a NUL byte and
 * tokenizer_config.json bytes (JSON text never holds a raw NUL, so the split
 * is unambiguous). Both buffers are exactly their bytes (no terminator), so
 * ASan catches any read past them. The import runs twice: as given, and with
 * a pre-tokenizer override and a padded vocab size (the paths the CLI flags
 * open). When it succeeds, the writer exists and the summary is consistent;
 * when it fails, there is no writer, the status is one an import may return,
 * and the message is one line naming the input. A broken promise traps.
 */
#include "convert/hf_tokenizer.h"
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void run(const char *tok, size_t tok_len, const char *cfg, size_t cfg_len,
                const mote_vocab_import_opts *opts) {
    mote_gguf_writer *w = (mote_gguf_writer *)1;
    mote_vocab_import_summary sum;
    mote_error err = {0};
    mote_status s = mote__vocab_import_hf_mem(tok, tok_len, "tok", cfg, cfg_len, "cfg", opts, &w, &sum, &err);
    if (s == MOTE_OK) {
        CHECK(w != NULL);
        CHECK(sum.n_tokens > 0 && sum.n_tokens <= MOTE_VOCAB_IMPORT_MAX_TOKENS);
        CHECK(sum.n_added >= 0 && sum.n_filled >= 0 && sum.n_added + sum.n_filled <= sum.n_tokens);
        CHECK(sum.bos_id >= -1 && sum.bos_id < sum.n_tokens && sum.eos_id >= -1 && sum.eos_id < sum.n_tokens);
        CHECK(!strcmp(sum.model, "gpt2") || !strcmp(sum.model, "bert") || !strcmp(sum.model, "llama"));
        CHECK(sum.pre[0] != '\0');
        if (opts && opts->n_vocab) CHECK(sum.n_tokens == opts->n_vocab);
        mote__gguf_writer_free(w);
        return;
    }
    CHECK(w == NULL);
    CHECK(s == MOTE_ERR_FORMAT || s == MOTE_ERR_UNSUPPORTED || s == MOTE_ERR_NOMEM || s == MOTE_ERR_INVALID_ARG);
    CHECK((!strncmp(err.msg, "tok: ", 5) || !strncmp(err.msg, "cfg: ", 5)) && !strchr(err.msg, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Copies of exactly the bytes, so that a read past either end is caught. */
    const uint8_t *nul = memchr(data, 0, size);
    size_t tok_len = nul ? (size_t)(nul - data) : size;
    size_t cfg_len = nul ? size - tok_len - 1 : 0;
    char *tok = malloc(tok_len ? tok_len : 1);
    char *cfg = nul ? malloc(cfg_len ? cfg_len : 1) : NULL;
    if (!tok || (nul && !cfg)) {
        free(tok);
        free(cfg);
        return 0;
    }
    memcpy(tok, data, tok_len);
    if (cfg) memcpy(cfg, nul + 1, cfg_len);

    run(tok, tok_len, cfg, cfg_len, NULL);
    mote_vocab_import_opts o = {.pre = "gpt-2", .name = "fuzz", .n_vocab = 4096};
    run(tok, tok_len, cfg, cfg_len, &o);

    free(tok);
    free(cfg);
    return 0;
}
