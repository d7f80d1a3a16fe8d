/* fuzz_tokenizer.c — libFuzzer target for the tokenizers (src/tokenizer/:
 * SentencePiece, byte-level BPE with its PCRE2 pre-tokenizers, WordPiece)
 * through the public vocab API (src/model/vocab.c).
 *
 * Each input is arbitrary bytes — the text to encode. The first byte, if
 * any, also picks the options, but the whole input is encoded: bit 0 adds
 * special tokens, bit 1 parses special tokens in the text, bits 2..4 pick
 * the vocab (llama-spm, phi-3, gpt-2, deepseek-llm, bert-bge, falcon,
 * starcoder, mpt; a vocab that is absent falls back to llama-spm).
 * Checked: encoding succeeds, counting (cap 0) and encoding agree, a
 * too-small buffer gets exactly the first ids, every id is in range, every
 * piece decodes, and streaming detokenization (mote_detok) gives exactly the
 * concatenated pieces and never a cut UTF-8 character before the flush.
 * Lossless vocabs must give the input back byte for byte when special
 * tokens are not parsed: llama-spm (except that U+2581 "▁" comes back as a
 * space) and gpt-2 (every byte has a token). A first byte with bits 5..7
 * set fuzzes the test-vector file parser (mote_vocab_check_vectors)
 * instead. A broken promise traps.
 *
 * The vocabs are loaded once from ${MOTE_SHARED:-../shared}/assets/vocab
 * (run from the project root, as fuzz/run.sh does); $MOTE_FUZZ_VOCAB
 * replaces llama-spm. Self-contained: build with
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *     fuzz/fuzz_tokenizer.c $(find src -name '*.c') -lm -lpthread -lpcre2-8 -lutf8proc
 */
#include "mote.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static const char *const names[8] = {"llama-spm", "phi-3", "gpt-2", "deepseek-llm",
                                     "bert-bge", "falcon", "starcoder", "mpt"};
static mote_vocab *vocabs[8];

static mote_vocab *load(const char *path, bool required) {
    mote_error err = {0};
    mote_vocab *v = NULL;
    if (mote_vocab_load(path, &v, &err) != MOTE_OK && required) {
        fprintf(stderr, "fuzz_tokenizer: cannot load the vocab: %s (set MOTE_FUZZ_VOCAB or MOTE_SHARED)\n", err.msg);
        exit(1);
    }
    return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char path[4096];
    const char *env = getenv("MOTE_FUZZ_VOCAB");
    const char *shared = getenv("MOTE_SHARED");
    if (!shared || !*shared) shared = "../shared";
    for (int i = 0; i < 8; i++) {
        if (i == 0 && env && *env) snprintf(path, sizeof path, "%s", env);
        else snprintf(path, sizeof path, "%s/assets/vocab/ggml-vocab-%s.gguf", shared, names[i]);
        vocabs[i] = load(path, i == 0);
    }
    return 0;
}

/* Where the incomplete UTF-8 character at the end of s[0..n) starts, or n. */
static size_t cut_point(const unsigned char *s, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = s[n - k];
        if ((c & 0xC0) == 0x80) continue;
        size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
        return need > k ? n - k : n;
    }
    return n;
}

/* Inputs whose first byte has bits 5..7 set test the test-vector checker
 * instead: the rest is "INP\0OUT" (one part if no NUL), written to two
 * files and checked with the llama-spm vocab; the counts must be
 * consistent whatever the files hold. */
static void fuzz_checker(const uint8_t *data, size_t size) {
    static char inp[64], out[64];
    if (!inp[0]) {
        snprintf(inp, sizeof inp, "/tmp/fuzz_tokenizer.%d.inp", (int)getpid());
        snprintf(out, sizeof out, "/tmp/fuzz_tokenizer.%d.out", (int)getpid());
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t n_inp = nul ? (size_t)(nul - data) : size;
    FILE *f = fopen(inp, "wb");
    if (!f) return;
    fwrite(data, 1, n_inp, f);
    fclose(f);
    if (!(f = fopen(out, "wb"))) return;
    if (nul) fwrite(nul + 1, 1, size - n_inp - 1, f);
    fclose(f);
    mote_vocab_check res;
    mote_error err = {0};
    mote_status st = mote_vocab_check_vectors(vocabs[0], inp, out, &res, &err);
    CHECK(st == MOTE_OK || st == MOTE_ERR_FORMAT || st == MOTE_ERR_IO);
    if (st == MOTE_OK) {
        CHECK(res.n_strings > 0 && res.n_match >= 0 && res.n_match <= res.n_strings);
        CHECK(res.n_roundtrip >= 0 && res.n_roundtrip <= res.n_strings);
        CHECK((res.first_mismatch < 0) == (res.n_match == res.n_strings));
        CHECK(memchr(res.detail, 0, sizeof res.detail) != NULL);
    } else {
        CHECK(err.msg[0] != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 0 && (data[0] & 0xE0) == 0xE0) {
        fuzz_checker(data + 1, size - 1);
        return 0;
    }
    const char *text = (const char *)data;
    int flags = size > 0 ? (data[0] & 3) : 0;
    int which = size > 0 ? (data[0] >> 2) & 7 : 0;
    const mote_vocab *v = vocabs[which] ? vocabs[which] : vocabs[0];
    if (!vocabs[which]) which = 0;
    int32_t n_vocab = mote_vocab_n_tokens(v);

    int64_t need = -1, n = -1;
    mote_status s = mote_tokenize(v, text, size, flags, NULL, 0, &need, NULL);
    CHECK(need >= 0 && (s == MOTE_OK ? need == 0 : s == MOTE_ERR_RANGE));
    int32_t *ids = malloc((size_t)(need + 1) * sizeof *ids);
    if (!ids) return 0;
    CHECK(mote_tokenize(v, text, size, flags, ids, need, &n, NULL) == MOTE_OK);
    CHECK(n == need);
    if (need > 1) { /* a short buffer gets the first ids and the count */
        int32_t *part = malloc((size_t)(need / 2) * sizeof *part);
        if (part) {
            CHECK(mote_tokenize(v, text, size, flags, part, need / 2, &n, NULL) == MOTE_ERR_RANGE);
            CHECK(n == need && memcmp(part, ids, (size_t)(need / 2) * sizeof *part) == 0);
            free(part);
        }
    }

    /* Decode piece by piece, and streamed, into growing buffers. */
    size_t cap = 4 * size + 1024, w = 0, sw = 0;
    char *back = malloc(cap), *streamed = malloc(cap);
    mote_detok d;
    mote_detok_init(&d, v);
    int32_t prev = -1;
    for (int64_t i = 0; back && streamed && i < n; i++) {
        CHECK(ids[i] >= 0 && ids[i] < n_vocab);
        char piece[512], chunk[600];
        int np = mote_token_to_piece(v, prev, ids[i], piece, sizeof piece);
        CHECK(np >= 0 && np <= (int)sizeof piece);
        int nc = mote_detok_push(&d, ids[i], chunk, sizeof chunk);
        CHECK(nc >= 0);
        if (w + (size_t)np + 8 > cap || sw + (size_t)nc + 8 > cap) {
            cap = 2 * (w + sw + (size_t)np + (size_t)nc + 8);
            char *nb = realloc(back, cap), *ns = nb ? realloc(streamed, cap) : NULL;
            if (nb) back = nb;
            if (ns) streamed = ns;
            if (!nb || !ns) break;
        }
        memcpy(back + w, piece, (size_t)np);
        w += (size_t)np;
        memcpy(streamed + sw, chunk, (size_t)nc);
        sw += (size_t)nc;
        /* What was released so far never ends inside a character that could
         * still complete: if it ends with an unfinished sequence, the next
         * byte (held back) is no continuation byte. */
        if (cut_point((const unsigned char *)streamed, sw) != sw)
            CHECK(d.n_held > 0 && ((unsigned char)d.held[0] & 0xC0) != 0x80);
        prev = ids[i];
    }
    if (back && streamed && sw + 8 <= cap) {
        sw += (size_t)mote_detok_flush(&d, streamed + sw, 8);
        if (prev == ids[n > 0 ? n - 1 : 0] || n == 0) CHECK(sw == w && memcmp(streamed, back, w) == 0);
    }

    if (back && !(flags & MOTE_TOKENIZE_PARSE_SPECIAL) && which == 0) {
        /* llama-spm: lossless but for "▁" -> " ". */
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
    if (back && !(flags & MOTE_TOKENIZE_PARSE_SPECIAL) && which == 2) /* gpt-2: byte for byte */
        CHECK(w == size && memcmp(back, text, size) == 0);
    free(back);
    free(streamed);
    free(ids);
    return 0;
}
