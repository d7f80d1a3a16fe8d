/* mote.h — the one public header of libmote.
 *
 * What it is: opaque handles and functions for opening GGUF files, loading a
 * model, tokenizing, evaluating tokens and sampling. The command line and the
 * server use only this header. What it is not: a view of tensor internals —
 * kernels, layouts and model structs stay private to src/.
 *
 * Errors: every fallible call returns a mote_status and, when it fails, fills
 * the caller-owned mote_error with the same code and one line of text saying
 * what is wrong (file, byte offset, key). Passing err = NULL is allowed.
 * Nothing in the library exits or aborts on bad input.
 *
 * Threads: a handle is used by one thread at a time unless a function says
 * otherwise. A mote_model is read-only after loading and may be shared by
 * several contexts.
 */
#ifndef MOTE_H
#define MOTE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and errors ------------------------------------------------ */

typedef enum mote_status {
    MOTE_OK = 0,
    MOTE_ERR_IO,          /* open/read/mmap/write failed */
    MOTE_ERR_FORMAT,      /* the file or input is malformed */
    MOTE_ERR_NOMEM,       /* an allocation failed */
    MOTE_ERR_INVALID_ARG, /* the caller passed something out of range */
    MOTE_ERR_UNSUPPORTED, /* well-formed, but not something this build does */
    MOTE_ERR_RANGE        /* e.g. a prompt longer than the context */
} mote_status;

typedef struct mote_error {
    mote_status code;
    char msg[512];
} mote_error;

/* Static English name of a status ("format error", ...). Never NULL. */
const char *mote_status_str(mote_status s);

/* ---- allocator hook ---------------------------------------------------- */

/* Every allocation of the library goes through these. Set them before any
 * other call; NULL restores the C library's. `user` is passed back. Not
 * thread-safe with respect to calls in flight. */
typedef struct mote_allocator {
    void *(*malloc_fn)(size_t size, void *user);
    void *(*realloc_fn)(void *ptr, size_t size, void *user);
    void (*free_fn)(void *ptr, void *user);
    void *user;
} mote_allocator;
void mote_set_allocator(const mote_allocator *a);

/* ---- GGUF files (inspection) ------------------------------------------- */

typedef struct mote_gguf mote_gguf;

/* Open and validate a GGUF file (mmap, zero copy). On success *out owns the
 * mapping until mote_gguf_close. */
mote_status mote_gguf_open(const char *path, mote_gguf **out, mote_error *err);
void mote_gguf_close(mote_gguf *g);

uint32_t mote_gguf_version(const mote_gguf *g);
int64_t mote_gguf_n_kv(const mote_gguf *g);
/* Key i as a NUL-terminated string owned by g. */
const char *mote_gguf_kv_key(const mote_gguf *g, int64_t i);
/* Write a human-readable rendering of value i into buf (always
 * NUL-terminated; long arrays are abbreviated to their first max_items
 * elements and their length). Returns the number of bytes written. */
size_t mote_gguf_kv_format(const mote_gguf *g, int64_t i, char *buf, size_t size,
                           int max_items);
int64_t mote_gguf_n_tensors(const mote_gguf *g);
/* Tensor i: name (owned by g), type name ("f32", "q4_0", ...), dims
 * (ne[0] is the innermost, contiguous dimension), and its size in bytes. */
void mote_gguf_tensor_get(const mote_gguf *g, int64_t i, const char **name,
                          const char **type_name, int *n_dims, int64_t ne[4],
                          uint64_t *nbytes);

/* ---- models ------------------------------------------------------------ */

typedef struct mote_model mote_model;

mote_status mote_model_load(const char *path, mote_model **out, mote_error *err);
void mote_model_free(mote_model *m);

typedef struct mote_model_info {
    const char *arch;      /* "llama" */
    const char *name;      /* general.name or "" */
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
    int32_t bos_id, eos_id; /* -1 when the model has none */
    uint64_t n_params;
    uint64_t weight_bytes;  /* bytes of tensor data */
} mote_model_info;
void mote_model_get_info(const mote_model *m, mote_model_info *info);

/* ---- vocabularies (tokenizers) ------------------------------------------- */

typedef struct mote_vocab mote_vocab;

/* Load the tokenizer of any GGUF file with tokenizer.ggml.* metadata (a
 * model, or a vocab-only file). The vocab copies what it needs; it does not
 * keep the file open. */
mote_status mote_vocab_load(const char *path, mote_vocab **out, mote_error *err);
void mote_vocab_free(mote_vocab *v);
/* The model's vocab (owned by the model), or NULL if the file had none. */
const mote_vocab *mote_model_vocab(const mote_model *m);
int32_t mote_vocab_n_tokens(const mote_vocab *v);
int32_t mote_vocab_bos(const mote_vocab *v); /* -1 if none */
int32_t mote_vocab_eos(const mote_vocab *v); /* -1 if none */

/* "llama" (SentencePiece), "gpt2" (byte-level BPE) or "bert" (WordPiece). */
const char *mote_vocab_model(const mote_vocab *v);

/* Flags of mote_tokenize (bitwise or; 0 = plain text, nothing added). */
enum {
    /* Add the vocab's BOS (CLS for WordPiece), and EOS / SEP where its
     * metadata asks (tokenizer.ggml.add_bos_token, add_eos_token, ...). */
    MOTE_TOKENIZE_ADD_SPECIAL = 1,
    /* Control tokens written in the text ("<|im_start|>", "<s>") become
     * those tokens; without this flag they are tokenized as plain text.
     * User-defined tokens are always matched, as in llama.cpp. */
    MOTE_TOKENIZE_PARSE_SPECIAL = 2
};

/* Encode text (len bytes, need not be NUL-terminated) with flags
 * (MOTE_TOKENIZE_*; 1 is ADD_SPECIAL). Writes at most cap ids; *n_out is the
 * count needed. Returns MOTE_ERR_RANGE if cap was too small (ids then hold
 * the first cap). Invalid UTF-8 is not an error: SentencePiece and
 * byte-level BPE encode its bytes losslessly (byte tokens), WordPiece drops
 * them. Thread-safe on a shared vocab. */
mote_status mote_tokenize(const mote_vocab *v, const char *text, size_t len, int flags,
                          int32_t *ids, int64_t cap, int64_t *n_out, mote_error *err);

/* The bytes that token `id` stands for when it follows token `prev` (-1 at
 * the start): SentencePiece's leading-space rule, byte-fallback tokens,
 * BPE's byte map and WordPiece's word joining are resolved here. Control
 * tokens give "". Writes up to cap bytes; returns the byte count (or -1 for
 * an invalid id). A piece may end inside a UTF-8 character (byte tokens):
 * for printing, use mote_detok. */
int mote_token_to_piece(const mote_vocab *v, int32_t prev, int32_t id, char *buf, int cap);

/* Streaming detokenization: feed ids one at a time, get the bytes that are
 * ready to print — never a UTF-8 character cut in two: an incomplete
 * sequence at the end is held back until its last byte arrives (bytes that
 * can never complete one are released as they are). The state is a plain
 * struct (no allocation); init it, push ids, flush at the end. */
typedef struct mote_detok {
    const mote_vocab *vocab;
    int32_t prev;            /* the last id pushed, -1 at the start */
    int n_held;              /* bytes held back (0..3) */
    char held[4];
} mote_detok;
void mote_detok_init(mote_detok *d, const mote_vocab *v);
/* Push id; write the bytes now complete to buf (cap >= 260 holds any piece
 * of a real vocab plus held bytes). Returns the byte count, or -1 for an
 * invalid id (state unchanged). Bytes that do not fit in cap are lost. */
int mote_detok_push(mote_detok *d, int32_t id, char *buf, int cap);
/* Write whatever is held back (an incomplete character at the very end);
 * returns the byte count. The state is then as after init, prev kept. */
int mote_detok_flush(mote_detok *d, char *buf, int cap);

/* Check a vocab against llama.cpp-style test vectors: inp_path holds test
 * strings, each followed by the line "__ggml_vocab_test__"; out_path one
 * line of space-separated expected ids per string, for tokenizing with no
 * special token added and special tokens not parsed (flags 0). Every string
 * is encoded and compared, and decoded back (piece by piece from prev = -1)
 * and compared with the string. Fills *res; returns MOTE_ERR_IO/FORMAT for
 * unreadable or inconsistent files (count mismatch), MOTE_OK otherwise —
 * mismatches are counted in res, not errors. */
typedef struct mote_vocab_check {
    int n_strings;      /* test strings read */
    int n_match;        /* strings whose ids are exactly the expected ones */
    int n_roundtrip;    /* strings that decode back byte for byte */
    int first_mismatch; /* index of the first string whose ids differ, or -1 */
    char detail[1024];  /* that string, expected and got ids, one line each */
} mote_vocab_check;
mote_status mote_vocab_check_vectors(const mote_vocab *v, const char *inp_path, const char *out_path,
                                     mote_vocab_check *res, mote_error *err);

/* ---- inference context --------------------------------------------------- */

typedef struct mote_ctx mote_ctx;

typedef struct mote_ctx_params {
    int32_t n_ctx;     /* context length (KV cache size); 0 = the model's */
    int32_t n_threads; /* 0 = default */
} mote_ctx_params;
mote_ctx_params mote_ctx_default_params(void);

mote_status mote_ctx_new(const mote_model *m, const mote_ctx_params *p,
                         mote_ctx **out, mote_error *err);
void mote_ctx_free(mote_ctx *c);
int32_t mote_ctx_n_ctx(const mote_ctx *c);
/* Number of positions already in the KV cache. */
int32_t mote_ctx_n_past(const mote_ctx *c);
/* Forget everything: the next token is evaluated at position 0. */
void mote_ctx_reset(mote_ctx *c);

/* Evaluate tokens[0..n) at positions n_past.. and append them to the KV
 * cache. If logits != NULL it receives n * n_vocab floats (one row per token);
 * otherwise only the last token's logits are kept (see mote_ctx_logits).
 * MOTE_ERR_RANGE if the tokens do not fit the context. */
mote_status mote_ctx_decode(mote_ctx *c, const int32_t *tokens, int32_t n,
                            float *logits, mote_error *err);
/* The logits of the last evaluated token (n_vocab floats, owned by c). */
const float *mote_ctx_logits(const mote_ctx *c);

/* ---- sampling ------------------------------------------------------------ */

typedef struct mote_sampler mote_sampler;

typedef struct mote_sampler_params {
    float temperature;    /* <= 0: greedy */
    int32_t top_k;        /* <= 0: off */
    float top_p;          /* >= 1: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1: off */
    int32_t repeat_last_n;/* how many recent tokens the penalty sees */
    uint64_t seed;
} mote_sampler_params;
mote_sampler_params mote_sampler_default_params(void);

mote_status mote_sampler_new(const mote_sampler_params *p, int32_t n_vocab,
                             mote_sampler **out, mote_error *err);
void mote_sampler_free(mote_sampler *s);
/* Pick the next token from logits (n_vocab floats; not modified). */
int32_t mote_sampler_sample(mote_sampler *s, const float *logits);
/* Tell the sampler a token was emitted (for the repetition penalty). */
void mote_sampler_accept(mote_sampler *s, int32_t token);

/* ---- tokenizer import (mote vocab import) -------------------------------- */

/* Convert a Hugging Face tokenizer.json (and, optionally, its
 * tokenizer_config.json) into a vocab-only GGUF file (no tensors) with the
 * tokenizer.* keys llama.cpp's convert_hf_to_gguf.py writes:
 *   BPE with a byte-level pre-tokenizer -> tokenizer.ggml.model "gpt2"
 *   WordPiece                           -> tokenizer.ggml.model "bert"
 *                                          (tokens in llama.cpp's phantom-space
 *                                          form: "##ing" -> "ing", "the" -> "▁the")
 * Unigram, WordLevel and SentencePiece-style BPE (byte_fallback) are refused
 * with MOTE_ERR_UNSUPPORTED. tokenizer.ggml.pre is detected from the
 * pre_tokenizer's structure (Split regexes, ByteLevel, Digits, ...) and mapped
 * to llama.cpp's name ("llama-bpe", "qwen2", "gpt-2", ...); an unknown
 * structure is MOTE_ERR_UNSUPPORTED naming it, unless opts->pre overrides. */
typedef struct mote_vocab_import_opts {
    const char *name; /* general.name; NULL: the output file's name without .gguf */
    const char *arch; /* general.architecture; NULL: "llama" ("bert" for WordPiece) */
    const char *pre;  /* tokenizer.ggml.pre; NULL: detect from the pre_tokenizer */
    int64_t n_vocab;  /* pad the vocab to this many tokens with "[PAD<id>]" (unused
                         type), as a model's config.json vocab_size asks; 0: the
                         highest id + 1. Smaller than that is MOTE_ERR_INVALID_ARG. */
} mote_vocab_import_opts;

/* What an import wrote (filled on success when non-NULL). */
typedef struct mote_vocab_import_summary {
    char model[16];       /* "gpt2" or "bert" */
    char pre[64];         /* tokenizer.ggml.pre written */
    int64_t n_tokens;     /* tokens written (ids 0..n_tokens-1) */
    int64_t n_added;      /* of which from added_tokens */
    int64_t n_filled;     /* of which "[PAD<id>]" fillers for ids nothing named */
    int64_t n_merges;     /* BPE merges written */
    int32_t bos_id, eos_id; /* -1 when not written */
    int has_chat_template;
} mote_vocab_import_summary;

/* Read tokenizer_json (and config_json unless NULL), write out_gguf (through
 * a temporary file renamed at the end, so a failure leaves no file). opts may
 * be NULL (all defaults); summary may be NULL. Bad input is MOTE_ERR_FORMAT
 * with one line naming the file and the JSON path (e.g. "t.json:
 * model.merges[3]: \"ab\" is not in model.vocab"). */
mote_status mote_vocab_import_hf(const char *tokenizer_json, const char *config_json,
                                 const char *out_gguf, const mote_vocab_import_opts *opts,
                                 mote_vocab_import_summary *summary, mote_error *err);

/* ---- synthetic models (mote synth) --------------------------------------- */

/* ---- measuring (mote bench) ---------------------------------------------- */

/* ---- misc ------------------------------------------------------------------ */

const char *mote_version(void);
/* Monotonic clock in seconds. */
double mote_time_now(void);

#ifdef __cplusplus
}
#endif
#endif /* MOTE_H */
