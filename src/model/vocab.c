/* vocab.c — the public vocab handle of mote.h over the internal tokenizer
 * (src/tokenizer/): loading from a model or a vocab-only GGUF, and the
 * encode/decode entry points. Not here: the tokenizer algorithms. */
#include "model.h"

struct mote_vocab {
    mote_tokenizer *tok;
};

mote_status mote__vocab_from_gguf(const mote_gguf *g, mote_vocab **out, mote_error *err) {
    *out = NULL;
    mote_vocab *v = mote__calloc(1, sizeof *v);
    if (!v) return mote__err(err, MOTE_ERR_NOMEM, "out of memory");
    mote_status s = mote__tokenizer_load(g, &v->tok, err);
    if (s) {
        mote__free(v);
        return s;
    }
    *out = v;
    return MOTE_OK;
}

mote_status mote_vocab_load(const char *path, mote_vocab **out, mote_error *err) {
    *out = NULL;
    mote_gguf *g;
    mote_status s = mote_gguf_open(path, &g, err);
    if (s) return s;
    if (mote__gguf_find_key(g, "tokenizer.ggml.model") < 0)
        s = mote__err(err, MOTE_ERR_FORMAT, "%s: no tokenizer metadata (tokenizer.ggml.model)", path);
    else
        s = mote__vocab_from_gguf(g, out, err);
    mote_gguf_close(g); /* the tokenizer copied what it needs */
    return s;
}

void mote_vocab_free(mote_vocab *v) {
    if (!v) return;
    mote__tokenizer_free(v->tok);
    mote__free(v);
}

int32_t mote_vocab_n_tokens(const mote_vocab *v) { return mote__tokenizer_n_vocab(v->tok); }
int32_t mote_vocab_bos(const mote_vocab *v) { return mote__tokenizer_bos(v->tok); }
int32_t mote_vocab_eos(const mote_vocab *v) { return mote__tokenizer_eos(v->tok); }

mote_status mote_tokenize(const mote_vocab *v, const char *text, size_t len, int add_special,
                          int32_t *ids, int64_t cap, int64_t *n_out, mote_error *err) {
    return mote__tokenizer_encode(v->tok, text, len, add_special != 0, ids, cap, n_out, err);
}

int mote_token_to_piece(const mote_vocab *v, int32_t prev, int32_t id, char *buf, int cap) {
    return mote__tokenizer_piece(v->tok, prev, id, buf, cap);
}
