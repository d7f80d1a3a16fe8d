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

/* How a model file's bytes come into memory. */
typedef enum mote_load_mode {
    /* MOTE_LOAD_READ when the file is at most half of the machine's
     * physical memory, else MOTE_LOAD_MMAP. */
    MOTE_LOAD_AUTO = 0,
    /* Map the file (zero copy): its pages are shared with other processes
     * and the page cache, dropped and re-read under memory pressure; a
     * model larger than memory still loads. The pages are the page
     * cache's, mostly 4 KiB: generation runs slower (25-40% measured on a
     * VM) than from MOTE_LOAD_READ. */
    MOTE_LOAD_MMAP,
    /* Read the file into private memory advised for 2 MiB transparent huge
     * pages: a copy (load time, memory of its own) that generation
     * streams at the memory's speed. */
    MOTE_LOAD_READ,
} mote_load_mode;

/* Load the model in the GGUF file at path (MOTE_LOAD_AUTO). */
mote_status mote_model_load(const char *path, mote_model **out, mote_error *err);
/* The same with a choice of mode (MOTE_ERR_INVALID_ARG for one not above). */
mote_status mote_model_load_with(const char *path, mote_load_mode mode, mote_model **out,
                                 mote_error *err);
/* The same from a GGUF image in memory (size bytes at data, aligned to 32
 * or more, not copied: it must outlive the model); name stands for it in
 * messages. Used for the model embedded in the mote binary. */
mote_status mote_model_load_memory(const void *data, uint64_t size, const char *name,
                                   mote_model **out, mote_error *err);
void mote_model_free(mote_model *m);

typedef struct mote_model_info {
    const char *arch;      /* "llama" */
    const char *name;      /* general.name or "" */
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
    int32_t bos_id, eos_id; /* -1 when the model has none */
    uint64_t n_params;
    uint64_t weight_bytes;  /* bytes of tensor data */
    /* Where the weights are: "read" (private memory, MOTE_LOAD_READ),
     * "mmap" (the mapped file) or "memory" (mote_model_load_memory). */
    const char *storage;
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
    int32_t n_threads; /* threads computing, the caller's included (1..256);
                          0 = default: the physical cores this process may
                          run on */
    int32_t n_batch;   /* most tokens evaluated together (the work buffers
                          are sized for it, capped at n_ctx); longer inputs
                          go in chunks. 0 = default, 512 */
    const char *kv_type; /* element type of the KV cache: "f32" (NULL = the
                          default), "f16", "bf16", or the 32-block types
                          "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl"
                          (2x to 7x smaller than f32; each cache row of
                          n_head_kv * head_dim values is quantized once when
                          written, so its width must be a multiple of 32).
                          An unknown name, or a row it does not fit, is an
                          error of mote_ctx_new naming the reason. */
} mote_ctx_params;
mote_ctx_params mote_ctx_default_params(void);
/* The physical cores this process may run on (SMT siblings counted once,
 * the affinity mask respected; >= 1): the default thread count of every
 * command that computes. */
int32_t mote_cpu_physical_cores(void);

mote_status mote_ctx_new(const mote_model *m, const mote_ctx_params *p,
                         mote_ctx **out, mote_error *err);
void mote_ctx_free(mote_ctx *c);
int32_t mote_ctx_n_ctx(const mote_ctx *c);
/* Threads the context computes with (the default resolved). */
int32_t mote_ctx_n_threads(const mote_ctx *c);
/* Most tokens one pass evaluates together (n_batch after its cap). */
int32_t mote_ctx_n_batch(const mote_ctx *c);
/* Bytes of the KV cache's K and V storage (n_ctx positions, every layer). */
uint64_t mote_ctx_kv_bytes(const mote_ctx *c);
/* Element type name of the KV cache ("f32", "q8_0", ...). Static string. */
const char *mote_ctx_kv_type(const mote_ctx *c);
/* Number of positions already in the KV cache. */
int32_t mote_ctx_n_past(const mote_ctx *c);
/* Forget everything: the next token is evaluated at position 0. */
void mote_ctx_reset(mote_ctx *c);
/* Keep the first n positions of the KV cache and forget the rest: the next
 * token is evaluated at position n (rewinding a conversation, or going back
 * to a shared prefix). mote_ctx_logits keeps the last evaluated token's
 * until the next decode. MOTE_ERR_RANGE unless 0 <= n <= n_past. */
mote_status mote_ctx_truncate(mote_ctx *c, int32_t n, mote_error *err);

/* Evaluate tokens[0..n) at positions n_past.. and append them to the KV
 * cache. If logits != NULL it receives n * n_vocab floats (one row per token);
 * otherwise only the last token's logits are computed and kept (see
 * mote_ctx_logits). Up to n_batch tokens go through the layers together
 * (a prompt: one matrix product per weight for all of them), with causal
 * attention; longer inputs go in chunks of n_batch. Allocates nothing.
 * Results do not depend on the thread count (bit for bit).
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
 *   BPE with byte_fallback (SentencePiece-style: Llama 2, Mistral)
 *                                       -> tokenizer.ggml.model "llama", with
 *                                          scores that reproduce the merge order
 * Unigram and WordLevel are refused with MOTE_ERR_UNSUPPORTED. For BPE,
 * tokenizer.ggml.pre is detected from the pre_tokenizer's structure (Split
 * regexes, ByteLevel, Digits, ...) and mapped to llama.cpp's name
 * ("llama-bpe", "qwen2", "gpt-2", ...); an unknown structure is
 * MOTE_ERR_UNSUPPORTED naming it, unless opts->pre overrides. */
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
    char model[16];       /* "gpt2", "bert" or "llama" */
    char pre[64];         /* tokenizer.ggml.pre written */
    int64_t n_tokens;     /* tokens written (ids 0..n_tokens-1) */
    int64_t n_added;      /* of which from added_tokens */
    int64_t n_filled;     /* of which "[PAD<id>]" fillers for ids nothing named */
    int64_t n_merges;     /* BPE merges read (written as merges for "gpt2", as
                             the scores' order for "llama") */
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

/* Training a byte-level BPE vocabulary (mote vocab train). */
typedef struct mote_vocab_train_opts {
    int32_t n_vocab;     /* tokens in all: <s>, </s>, the 256 bytes, then merges;
                            0 = 4096 */
    const char *pre;     /* llama.cpp pre-tokenizer name; NULL = "llama-bpe" */
    const char *name;    /* general.name; NULL = "mote-bpe" */
    int64_t min_count;   /* never merge a pair seen fewer times; 0 = 2 */
} mote_vocab_train_opts;

typedef struct mote_vocab_train_summary {
    int64_t n_bytes, n_words, n_unique_words; /* of the input */
    int32_t n_tokens;    /* written: less than asked when pairs ran out */
    int64_t n_merges;
    char pre[64];
} mote_vocab_train_summary;

/* Train BPE merges on the text of n_paths files and write a vocab-only GGUF
 * (tokenizer.ggml.model "gpt2", the pre-tokenizer opts->pre, bos <s> = 0,
 * eos </s> = 1, add_bos_token true) that mote_vocab_load reads; encoding
 * then decoding any text gives it back byte for byte. An empty file or one
 * with NUL bytes is MOTE_ERR_INVALID_ARG naming it. opts and summary may be
 * NULL. */
mote_status mote_vocab_train(const char *const *paths, int n_paths, const char *out_gguf,
                             const mote_vocab_train_opts *opts, mote_vocab_train_summary *summary,
                             mote_error *err);

/* ---- synthetic models (mote synth) --------------------------------------- */

/* A Llama-architecture shape of a real model: what `mote synth` writes with
 * random weights, so benchmarks and tests run without downloads. */
typedef struct mote_synth_preset {
    const char *name;        /* "tinyllama-1.1b", "llama-7b", "phi3-mini", "stories15m" */
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    float rope_freq_base, rms_eps;
} mote_synth_preset;
/* Number of presets, and preset i (0 <= i < count; NULL otherwise). Static. */
int mote_synth_n_presets(void);
const mote_synth_preset *mote_synth_preset_get(int i);
/* The preset named `name` (exact, lower case), or NULL. */
const mote_synth_preset *mote_synth_preset_find(const char *name);

typedef struct mote_synth_params {
    const char *preset;     /* a preset name (required) */
    const char *type;       /* weight type name ("f32", "f16", "q4_0", ...); NULL = "f16".
                             * Every matrix, token embedding and output included, is
                             * written in it; norms are f32. */
    const char *vocab_path; /* a GGUF whose tokenizer.* keys are copied (its token
                             * count must be the preset's vocabulary size); NULL =
                             * a minimal byte-level SentencePiece vocab */
    uint64_t seed;          /* same seed, same parameters: byte-identical file */
    int32_t n_layer;        /* 0 = the preset's; else this many blocks */
    /* Called now and then while tensors are written (may be NULL): bytes of
     * tensor data written so far, of total, and the tensor being written. */
    void (*progress)(void *user, uint64_t done_bytes, uint64_t total_bytes, const char *tensor);
    void *progress_user;
} mote_synth_params;
mote_synth_params mote_synth_default_params(void);

/* Write a GGUF Llama model with the preset's shape and random weights
 * N(0, 0.02) (norms 1) to path (via path.tmp, renamed when complete).
 * Tensors are generated and quantized row by row while the file is written:
 * memory use is a few rows, whatever the model's size. Errors (nothing is
 * left under path): an unknown preset or type, a type this build cannot
 * quantize to (MOTE_ERR_UNSUPPORTED), a type whose block does not divide a
 * row length of the preset (MOTE_ERR_INVALID_ARG, naming both), a vocab
 * whose size does not match, I/O. general.name is "mote synth <preset>". */
mote_status mote_synth_write(const char *path, const mote_synth_params *p, mote_error *err);

/* ---- measuring (mote bench) ---------------------------------------------- */

/* Bytes of weights one generated token reads: every matrix of every block
 * (q, k, v, output, gate, up, down) whole, the output matrix whole (the
 * token embedding again when the output is tied to it), and one row of the
 * token embedding. Norm vectors are not counted. */
uint64_t mote_model_bytes_per_token(const mote_model *m);
/* Name of the type that holds most of the model's matrix bytes ("q4_0"). */
const char *mote_model_weight_type(const mote_model *m);
/* The instruction set the kernels of that type run on in this process
 * ("avx2", "neon", "scalar"; "avx2+avxvnni" or "avx2+avx512" where its
 * matrix kernels use those variants on this CPU). */
const char *mote_model_kernel_isa(const mote_model *m);

/* Read bandwidth of main memory: n_threads threads (>= 1) each sum their
 * slice of a buffer of buffer_bytes (0 = four times the last-level cache,
 * at least 256 MiB and at most 1 GiB) in each of its read patterns (the
 * hardware prefetcher alone; software prefetches, one stream or two, the
 * two over the whole slice or over each 1 MiB block of it; on x86-64 with
 * AVX2 also 32-byte loads); each
 * pattern reads the buffer reps times (>= 1) and *gbs receives the highest
 * of their medians in 10^9 bytes/s: the most this machine lets the
 * threads read.
 * *used_bytes (may be NULL) receives the buffer size used. Allocates the
 * buffer and frees it before returning. */
mote_status mote_bench_bandwidth(int32_t n_threads, uint64_t buffer_bytes, int32_t reps,
                                 double *gbs, uint64_t *used_bytes, mote_error *err);
/* The same test read for as long as a benchmark reads: passes over the
 * buffer until at least total_bytes have been read (1 to 1000 passes) in
 * the pattern fastest over one trial pass each, and *gbs receives all the
 * bytes over all the time of those passes: the mean rate, slow passes
 * included. On a machine whose bandwidth dips now and then (other
 * work, a neighbour VM) this is what a long read such as generating many
 * tokens can expect, where the median of a few passes is what a quiet
 * moment gives. */
mote_status mote_bench_bandwidth_sustained(int32_t n_threads, uint64_t buffer_bytes,
                                           uint64_t total_bytes, double *gbs, mote_error *err);

/* The same two tests over one buffer kept between them, for a benchmark
 * that measures again and again (`mote bench` before each repetition):
 * freeing a gigabyte and taking it again each time disturbs what comes
 * next. On the development VM, whose freed memory goes back to the host,
 * the next ~2.5 s of generation ran 5% slower (its first token 3x, and a
 * burst of slow tokens two seconds on). */
typedef struct mote_bandwidth_meter mote_bandwidth_meter;
/* Allocate and write a buffer of buffer_bytes (0: the default size, as
 * above), rounded down to whole 8-byte words. */
mote_status mote_bandwidth_meter_new(uint64_t buffer_bytes, mote_bandwidth_meter **out, mote_error *err);
/* NULL is allowed. */
void mote_bandwidth_meter_free(mote_bandwidth_meter *m);
/* The buffer's size in bytes (0 for NULL). */
uint64_t mote_bandwidth_meter_bytes(const mote_bandwidth_meter *m);
/* mote_bench_bandwidth over the meter's buffer. A measurement only reads
 * the buffer: two at once are safe, but each then measures the other. */
mote_status mote_bandwidth_meter_read(const mote_bandwidth_meter *m, int32_t n_threads, int32_t reps,
                                      double *gbs, uint64_t *used_bytes, mote_error *err);
/* mote_bench_bandwidth_sustained over the meter's buffer (total_bytes 0:
 * one pass). */
mote_status mote_bandwidth_meter_read_sustained(const mote_bandwidth_meter *m, int32_t n_threads,
                                                uint64_t total_bytes, double *gbs, mote_error *err);

/* ---- training (mote train) ------------------------------------------------ */

/* A Llama model being trained on the CPU: f32 parameters, gradients and
 * AdamW state in memory, forward and backward over batches of token ids.
 * Write it with mote_trainer_save; `mote run` then loads the file. */
typedef struct mote_trainer mote_trainer;

typedef struct mote_train_params {
    /* The shape of a new model (ignored when starting from a GGUF):
     * head size n_embd / n_head; n_ctx is the longest sequence trained on. */
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    uint64_t seed;        /* initial weights: N(0, 0.02), norms 1 */
    int32_t n_threads;    /* 1.. (0 = 1) */
    /* Learning rate: linear warm-up over `warmup` steps to lr, then cosine
     * decay to lr_min at step n_steps - 1. */
    float lr, lr_min;
    int32_t warmup, n_steps;
    /* AdamW; weight decay applies to matrices and embeddings, not norms. */
    float beta1, beta2, eps, weight_decay;
    float grad_clip;      /* global gradient norm limit; <= 0: off */
} mote_train_params;
/* Defaults: lr 1e-3, lr_min 1e-4, warmup 10, n_steps 100, beta1 0.9,
 * beta2 0.95, eps 1e-8, weight decay 0.1, clip 1.0, seed 1, 1 thread; no
 * shape (the caller sets it). New models use RoPE base 10000 and RMSNorm
 * eps 1e-5. */
mote_train_params mote_train_default_params(void);

/* A new trainer: from the GGUF at init_path (F32/F16/BF16 Llama; its shape
 * wins over p's) or, with init_path NULL, random weights of p's shape. */
mote_status mote_trainer_new(const mote_train_params *p, const char *init_path,
                             mote_trainer **out, mote_error *err);
void mote_trainer_free(mote_trainer *t);
/* The shape actually trained (from p or from the file). */
void mote_trainer_shape(const mote_trainer *t, int32_t *n_vocab, int32_t *n_embd,
                        int32_t *n_layer, int32_t *n_head, int32_t *n_head_kv, int32_t *n_ff,
                        int32_t *n_ctx);
uint64_t mote_trainer_n_params(const mote_trainer *t);

/* One optimizer step over n_micro micro-batches (gradient accumulation):
 * micro-batch i is ids/targets + i*batch*seq, each (batch, seq) row-major
 * token ids in [0, n_vocab), seq <= n_ctx; targets[b][s] is the token that
 * should follow ids[b][s]. Returns the mean loss over all of them (before
 * the update) and the gradient norm before clipping (either may be NULL). */
mote_status mote_trainer_step(mote_trainer *t, const int32_t *ids, const int32_t *targets,
                              int32_t batch, int32_t seq, int32_t n_micro, float *loss,
                              float *grad_norm, mote_error *err);
/* The mean loss of a batch without training on it. */
mote_status mote_trainer_eval(mote_trainer *t, const int32_t *ids, const int32_t *targets,
                              int32_t batch, int32_t seq, float *loss, mote_error *err);
/* Steps taken so far, and the learning rate of the next one. */
int64_t mote_trainer_n_steps_done(const mote_trainer *t);
float mote_trainer_next_lr(const mote_trainer *t);

/* Write the model as an F32 Llama GGUF with the llama.* keys mote_model_load
 * reads, and the tokenizer.* keys of vocab_path (a GGUF whose token count
 * equals n_vocab; NULL: none). */
mote_status mote_trainer_save(const mote_trainer *t, const char *path, const char *vocab_path,
                              mote_error *err);

/* ---- LoRA adapters (mote finetune --lora, mote run --lora, mote merge) ---- */

/* Low-rank adapters on a frozen base: each target matrix W (out, in) of
 * every block becomes W + (alpha / rank) B A, with A (rank, in) random and
 * B (out, rank) zero at the start; only A and B train. */
typedef struct mote_lora_train_params {
    int32_t rank;        /* >= 1, at most each target's smaller side */
    float alpha;         /* > 0 */
    const char *targets; /* comma-separated: attn_q, attn_k, attn_v,
                            attn_output, ffn_gate, ffn_up, ffn_down;
                            NULL or "all" = all seven */
} mote_lora_train_params;

/* A trainer of LoRA adapters on the Llama GGUF at base_path, whose tensors
 * may be of any type this build dequantizes (F32, F16, BF16, Q8_0, Q4_0,
 * K-quants...): the block matrices stay in the file's mapping and type and
 * are dequantized one at a time as the layers run. p's shape is ignored;
 * p->seed draws A. mote_trainer_step and _eval work as for a full trainer;
 * mote_trainer_n_params counts the adapters; mote_trainer_save writes the
 * adapters (vocab_path ignored) in llama.cpp's LoRA GGUF format:
 * general.type "adapter", adapter.type "lora", adapter.lora.alpha, and
 * tensors "<weight>.lora_a" (ne [in, rank]) and "<weight>.lora_b"
 * (ne [rank, out]) in F32. */
mote_status mote_trainer_new_lora(const mote_train_params *p, const char *base_path,
                                  const mote_lora_train_params *lp, mote_trainer **out,
                                  mote_error *err);

/* A LoRA adapter file read into memory (f32; F16/BF16 adapter tensors are
 * converted). Adapters of the block matrices of a Llama only: a pair on any
 * other tensor (token_embd, output) is MOTE_ERR_UNSUPPORTED naming it. */
typedef struct mote_lora mote_lora;
mote_status mote_lora_open(const char *path, mote_lora **out, mote_error *err);
void mote_lora_free(mote_lora *l);
int32_t mote_lora_n_pairs(const mote_lora *l);   /* adapted matrices */
int32_t mote_lora_rank(const mote_lora *l);      /* the largest rank */
float mote_lora_alpha(const mote_lora *l);       /* 0 when the file has none */

/* Apply adapter l to every later mote_ctx_decode of c at strength scale:
 * each adapted product becomes W x + scale * (alpha / rank) B A x (scale
 * alone when the file has no alpha, as llama.cpp does). Checked first: the
 * architecture and, for every pair, that the model has that matrix with
 * that shape — an adapter made for another model is MOTE_ERR_FORMAT naming
 * the tensor and both shapes, and nothing is attached. Up to 8 adapters;
 * an adapter at scale 0 is skipped entirely (logits bit-identical to none).
 * l must outlive its attachment. */
mote_status mote_ctx_lora_attach(mote_ctx *c, const mote_lora *l, float scale, mote_error *err);
/* Detach every adapter. */
void mote_ctx_lora_clear(mote_ctx *c);

/* Fold n adapters (scales[i] each, as mote_ctx_lora_attach) into the base
 * at base_path and write out_path: every tensor and key copied, adapted
 * matrices dequantized, W += sum scale_i (alpha_i / r_i) B_i A_i, and
 * written as type_name ("f32", "f16", "q8_0", ...; NULL = the base
 * matrix's own type when it is F32/F16/BF16, else F16). The same checks as
 * attaching, before anything is written. */
mote_status mote_lora_merge(const char *base_path, const mote_lora *const *loras,
                            const float *scales, int n, const char *out_path,
                            const char *type_name, mote_error *err);

/* Checkpoints (mote train --checkpoint-every / --resume). A checkpoint is
 * the model as mote_trainer_save writes it (`mote run` loads it) plus
 * AdamW's moments and step, the training parameters and the caller's state
 * below: resuming and continuing gives bit-identical weights and losses to
 * a run that never stopped, with the same thread count. */
typedef struct mote_train_state {
    uint64_t rng;           /* the caller's batch sampler */
    uint64_t data_hash;     /* the caller's fingerprint of its training data */
    int32_t batch, seq, n_micro;
    /* The loss curve: train_loss[i] of step i + 1 (n_train = steps done);
     * val_loss[j] measured after val_step[j] steps. */
    float *train_loss;
    int64_t n_train;
    float *val_loss;
    int64_t *val_step;
    int64_t n_val;
    int64_t n_steps;        /* the run's length: set by resume, ignored by save */
} mote_train_state;
/* Write t and st (st's arrays are read, not kept) to path; vocab_path as in
 * mote_trainer_save. LoRA trainers are MOTE_ERR_UNSUPPORTED. */
mote_status mote_trainer_save_checkpoint(mote_trainer *t, const char *path, const char *vocab_path,
                                         const mote_train_state *st, mote_error *err);
/* A trainer that continues the checkpoint at path on n_threads threads; *st
 * receives the state saved with it (its arrays allocated here: free them
 * with mote_train_state_free). A file that is not a checkpoint, or whose
 * keys or tensors disagree, is MOTE_ERR_FORMAT naming the file and what. */
mote_status mote_trainer_resume(const char *path, int32_t n_threads, mote_trainer **out,
                                mote_train_state *st, mote_error *err);
void mote_train_state_free(mote_train_state *st);

/* ---- quantization (mote quantize, mote imatrix) ---------------------------- */

/* One step of mote_quantize_model, for a progress display: tensor `index`
 * (0-based) of n_tensors, reported when it starts (rows_done 0), as its
 * rows are written, and when it is done (rows_done == n_rows). Strings are
 * valid during the call only. */
typedef struct mote_quantize_progress {
    int32_t index, n_tensors;
    const char *name;
    const char *type_in, *type_out; /* "f32", "q4_K", ... */
    int n_dims;
    int64_t ne[4];
    uint64_t bytes_in, bytes_out;
    int64_t rows_done, n_rows;
    /* "" or one line on why the tensor is what it is: a fallback type (its
     * rows do not fit the chosen type's blocks), copied unchanged, no
     * imatrix entry, AWQ scales applied. */
    const char *note;
} mote_quantize_progress;

typedef struct mote_quantize_params {
    /* Required: a type as GGML names it (lower case but the K: "q4_0",
     * "q4_K", "iq4_nl", "f16", ...): every matrix in that type; or a
     * llama.cpp preset ("Q4_K_M", "Q4_0", ..., any case): llama.cpp's mix,
     * where attn_v, ffn_down, attn_output and output get more bits. See
     * mote_quantize_type_names / mote_quantize_preset_names. */
    const char *type;
    const char *output_type;     /* output.weight's type (NULL: the type's rule) */
    const char *token_embd_type; /* token_embd.weight's type (NULL: the type's rule) */
    int32_t pure;                /* non-zero: presets put every matrix in their base type */
    const char *imatrix_path;    /* importance matrix (mote imatrix / llama-imatrix GGUF) or NULL */
    const char *awq_text_path;   /* calibration text for AWQ, or NULL for none */
    int32_t awq_n_ctx;           /* tokens per AWQ calibration chunk (0 = 256) */
    int32_t awq_n_chunks;        /* most chunks read (0 = 16) */
    int32_t awq_n_grid;          /* alpha grid size (0 = 20) */
    int64_t awq_max_rows;        /* activation rows per group in the search (0 = 256) */
    int32_t n_threads;           /* 0 = the physical cores */
    /* Progress (may be NULL), and one-line messages that belong to no
     * tensor (AWQ calibration and its choices; may be NULL). */
    void (*progress)(void *user, const mote_quantize_progress *p);
    void (*message)(void *user, const char *line);
    void *progress_user;
} mote_quantize_params;
mote_quantize_params mote_quantize_default_params(void);

typedef struct mote_quantize_summary {
    int32_t n_tensors;     /* tensors written */
    int32_t n_quantized;   /* of which converted to another type */
    int32_t n_fallback;    /* of which in a fallback type (rows did not fit) */
    uint64_t n_elements;   /* elements of every tensor */
    uint64_t bytes_in, bytes_out; /* tensor data */
    uint32_t file_type;    /* general.file_type written (llama.cpp's llama_ftype) */
} mote_quantize_summary;

/* Quantize the GGUF model at in_path into out_path (via out_path.tmp,
 * renamed when complete; nothing is left on failure). Every key/value is
 * copied, general.file_type and general.quantization_version (2) set.
 * Matrices (2-D or more, named *weight, not *_norm.weight) are converted;
 * other tensors are copied unchanged. A matrix whose rows do not fit its
 * type's blocks goes to a type that fits (K-quant -> a 32-block type of
 * similar size -> f16; the progress note says so). Rows are split over
 * n_threads; each block's bytes are what the type's reference quantizer
 * (src/tensor, GGML's) gives for the row, with the imatrix entry of the
 * tensor as importance weights when given. With awq_text_path, AWQ scales
 * (searched on that text) are folded into the norms and matrices first
 * (the input must then be a Llama model mote can load). Errors: an unknown
 * type (the message lists the known ones), a non-finite weight (naming
 * the tensor and element), an imatrix made for another model (an entry
 * naming a tensor the model lacks or of another width), I/O. */
mote_status mote_quantize_model(const char *in_path, const char *out_path,
                                const mote_quantize_params *p, mote_quantize_summary *summary,
                                mote_error *err);
/* The accepted names, space-separated (static strings). */
const char *mote_quantize_type_names(void);
const char *mote_quantize_preset_names(void);

typedef struct mote_imatrix_params {
    int32_t n_ctx;     /* tokens per chunk (0 = 512; at most the model's context) */
    int32_t n_chunks;  /* most chunks (0 = every whole chunk of the text) */
    int32_t n_threads; /* 0 = the physical cores */
    /* After each chunk (may be NULL): chunks done of total, perplexity so far. */
    void (*progress)(void *user, int32_t done, int32_t total, double ppl);
    void *progress_user;
} mote_imatrix_params;
mote_imatrix_params mote_imatrix_default_params(void);

typedef struct mote_imatrix_summary {
    int64_t n_entries;          /* weight tensors with statistics */
    int32_t n_chunks, chunk_size;
} mote_imatrix_summary;

/* Run the model at model_path over the text file in chunks (BOS + n_ctx-1
 * tokens each) and write, for every matrix, the sum over tokens of each
 * input channel's square and the token count, in llama.cpp's imatrix GGUF
 * layout (NAME.in_sum2, NAME.counts; imatrix.datasets, .chunk_count,
 * .chunk_size), to out_path. `mote quantize --imatrix` reads it (and so does
 * llama-quantize). summary may be NULL. */
mote_status mote_imatrix_compute(const char *model_path, const char *text_path,
                                 const char *out_path, const mote_imatrix_params *p,
                                 mote_imatrix_summary *summary, mote_error *err);

/* ---- measuring quality (mote perplexity) --------------------------------- */

/* The model a context evaluates. */
const mote_model *mote_ctx_model(const mote_ctx *c);

typedef struct mote_ppl_params {
    /* Write the log-probabilities of every scored position here (mote's
     * logits file, 16 bits per token, with a header naming the model,
     * vocabulary, window and text): the base for a later kl_base. NULL: no. */
    const char *save_logits;
    /* Compare with the logits saved in this file by a run of another model
     * (a quantized one) over the same text, window and vocabulary; any
     * mismatch is MOTE_ERR_INVALID_ARG saying which. NULL: no. */
    const char *kl_base;
    /* Called after each window (may be NULL): windows done of n_windows,
     * and the perplexity so far. */
    void (*progress)(void *user, int64_t done, int64_t n_windows, double ppl);
    void *progress_user;
} mote_ppl_params;
mote_ppl_params mote_ppl_default_params(void);

typedef struct mote_ppl_result {
    int64_t n_tokens;      /* tokens of the text (BOS not counted) */
    int64_t n_windows;     /* windows of n_ctx positions evaluated */
    int64_t n_scored;      /* positions scored (tokens predicted) */
    int64_t n_bytes;       /* bytes the scored tokens decode to */
    int32_t n_ctx;         /* the window: the context's n_ctx */
    int bos_windows;       /* 1: windows start with BOS; every text token scored */
    double nll_mean;       /* mean negative log-likelihood, nats per token */
    double ppl, ppl_err;   /* exp(nll_mean) and its standard error */
    double bits_per_byte;  /* sum of NLL in bits / n_bytes */
    int has_kl;            /* with kl_base, KL(base || this model) per position: */
    double kld_mean, kld_err, kld_p99, kld_max;
    double same_top;       /* share of positions whose most likely token is the base's */
    char base_model[65];   /* general.name of the model that wrote kl_base */
} mote_ppl_result;

/* Perplexity of the context's model on text (len bytes, tokenized without
 * special tokens) in non-overlapping windows of mote_ctx_n_ctx(c)
 * positions: when the vocab starts a text with BOS (add_bos_token) each
 * window is BOS + the next n_ctx - 1 text tokens and every text token is
 * scored; otherwise a window is n_ctx tokens and its first is context only. Decodes through c as configured
 * (KV cache type, batch, threads, LoRA adapters attached); resets it
 * before each window. Errors: an empty text, too few tokens to score one,
 * a window < 2 or longer than the model's training context
 * (MOTE_ERR_INVALID_ARG), a model without tokenizer, a base file that is
 * malformed (MOTE_ERR_FORMAT) or of another text/window/vocabulary. */
mote_status mote_perplexity(mote_ctx *c, const char *text, size_t len, const mote_ppl_params *p,
                            mote_ppl_result *res, mote_error *err);

/* ---- misc ------------------------------------------------------------------ */

const char *mote_version(void);
/* Monotonic clock in seconds. */
double mote_time_now(void);

#ifdef __cplusplus
}
#endif
#endif /* MOTE_H */
