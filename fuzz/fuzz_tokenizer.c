/* fuzz_tokenizer.c — libFuzzer target for the SentencePiece tokenizer
 * (src/tokenizer/spm.c).
 *
 * Each input is arbitrary bytes — the text to encode. The first byte, if
 * any, also picks the options (bit 0: add BOS/EOS; bit 1: the phi-3 vocab,
 * which has a user-defined token, instead of llama-spm), but the whole input
 * is encoded. Checked: encoding succeeds, counting (cap 0) and encoding agree,
 * a too-small buffer gets exactly the first ids, every id is in range, and
 * every piece decodes. With the llama-spm vocab (no user-defined tokens) the
 * ids must decode back to the input byte for byte, except that U+2581 "▁"
 * in the input comes back as a space. A broken promise traps.
 *
 * The vocabs are loaded once: $MOTE_FUZZ_VOCAB, else
 * ${MOTE_SHARED:-../shared}/assets/vocab/ggml-vocab-llama-spm.gguf (run from
 * the project root, as fuzz/run.sh does); phi-3 is looked up beside it and
 * used when present. Self-contained: build with
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *     fuzz/fuzz_tokenizer.c $(find src -name '*.c') -lm -lpthread
 */
#include "tokenizer/tokenizer.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static mote_tokenizer *spm, *phi3;

static mote_tokenizer *load(const char *path, bool required) {
    mote_error err = {0};
    mote_gguf *g;
    mote_tokenizer *t = NULL;
    if (mote_gguf_open(path, &g, &err) == MOTE_OK) {
        mote__tokenizer_load(g, &t, &err);
        mote_gguf_close(g);
    }
    if (!t && required) {
        fprintf(stderr, "fuzz_tokenizer: cannot load the vocab: %s (set MOTE_FUZZ_VOCAB)\n", err.msg);
        exit(1);
    }
    return t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char path[4096];
    const char *env = getenv("MOTE_FUZZ_VOCAB");
    const char *shared = getenv("MOTE_SHARED");
    if (!shared || !*shared) shared = "../shared";
    if (env && *env) snprintf(path, sizeof path, "%s", env);
    else snprintf(path, sizeof path, "%s/assets/vocab/ggml-vocab-llama-spm.gguf", shared);
    spm = load(path, true);
    snprintf(path, sizeof path, "%s/assets/vocab/ggml-vocab-phi-3.gguf", shared);
    phi3 = load(path, false);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    bool add_special = size > 0 && (data[0] & 1);
    const mote_tokenizer *t = size > 0 && (data[0] & 2) && phi3 ? phi3 : spm;

    int64_t need = -1, n = -1;
    mote_status s = mote__tokenizer_encode(t, text, size, add_special, NULL, 0, &need, NULL);
    CHECK(need >= 0 && (s == MOTE_OK ? need == 0 : s == MOTE_ERR_RANGE));
    int32_t *ids = malloc((size_t)(need + 1) * sizeof *ids);
    if (!ids) return 0;
    CHECK(mote__tokenizer_encode(t, text, size, add_special, ids, need, &n, NULL) == MOTE_OK);
    CHECK(n == need);
    if (need > 1) { /* a short buffer gets the first ids and the count */
        int32_t *part = malloc((size_t)(need / 2) * sizeof *part);
        if (part) {
            CHECK(mote__tokenizer_encode(t, text, size, add_special, part, need / 2, &n, NULL) == MOTE_ERR_RANGE);
            CHECK(n == need && memcmp(part, ids, (size_t)(need / 2) * sizeof *part) == 0);
            free(part);
        }
    }

    /* Decode piece by piece into a growing buffer. */
    size_t cap = size + 64, w = 0;
    char *back = malloc(cap);
    int32_t prev = -1;
    for (int64_t i = 0; back && i < n; i++) {
        CHECK(ids[i] >= 0 && ids[i] < mote__tokenizer_n_vocab(t));
        char piece[256];
        int np = mote__tokenizer_piece(t, prev, ids[i], piece, sizeof piece);
        CHECK(np >= 0 && np <= (int)sizeof piece);
        if (w + (size_t)np > cap) {
            cap = 2 * (w + (size_t)np);
            char *nb = realloc(back, cap);
            if (!nb) { free(back); back = NULL; break; }
            back = nb;
        }
        memcpy(back + w, piece, (size_t)np);
        w += (size_t)np;
        prev = ids[i];
    }

    if (back && t == spm) {
        /* Lossless but for "▁" -> " ". */
        size_t j = 0;
        for (size_t i = 0; i < size; j++) {
            CHECK(j < w);
            if (size - i >= 3 && memcmp(text + i, "\xe2\x96\x81", 3) == 0) {
                CHECK(back[j] == ' ');
                i += 3;
            } else {
                CHECK(back[j] == text[i]);
                i++;
            }
        }
        CHECK(j == w);
    }
    free(back);
    free(ids);
    return 0;
}
