/* cmd_tokenize.c — `mote tokenize`: print a text's token ids, or check a
 * vocab against llama.cpp-style test vectors (--check). */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tokenize_help =
    "usage: mote tokenize -m MODEL [--no-bos] [--parse-special] [-f FILE | TEXT]\n"
    "       mote tokenize -m MODEL --check INP OUT\n"
    "\n"
    "Print the token ids of TEXT (or of FILE, read byte for byte) on one line,\n"
    "separated by spaces. MODEL may be a model or a vocab-only GGUF file with\n"
    "a SentencePiece (llama), byte-level BPE (gpt2) or WordPiece (bert)\n"
    "tokenizer.\n"
    "\n"
    "  -m, --model FILE  GGUF file with tokenizer metadata\n"
    "  -f, --file FILE   read the text from FILE\n"
    "  --no-bos          add no special token at all (no BOS, EOS, CLS or SEP)\n"
    "  --parse-special   turn control tokens written in the text (\"<|im_start|>\",\n"
    "                    \"<s>\") into those tokens; without it they are plain text\n"
    "                    (user-defined tokens are always matched)\n"
    "  --check INP OUT   test vectors: INP holds strings, each followed by a line\n"
    "                    __ggml_vocab_test__; OUT one line of expected ids per\n"
    "                    string (no BOS, special tokens not parsed), as llama.cpp's\n"
    "                    ggml-vocab-NAME.gguf.inp/.out. Prints a summary (ids\n"
    "                    matched, strings that decode back) and the first\n"
    "                    mismatch; exits 0 only if every string's ids match\n"
    "  -h, --help        this text\n";

/* --check: compare every test string and print the outcome. */
static int run_check(const mote_vocab *vocab, const char *inp, const char *out) {
    mote_error err = {0};
    mote_vocab_check res;
    if (mote_vocab_check_vectors(vocab, inp, out, &res, &err)) return cli_fail("tokenize", "%s", err.msg);
    printf("%s: %d/%d strings tokenize to the expected ids, %d/%d decode back to the string\n", inp,
           res.n_match, res.n_strings, res.n_roundtrip, res.n_strings);
    if (res.first_mismatch >= 0) printf("first mismatch: %s", res.detail);
    return res.n_match == res.n_strings ? 0 : 1;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model_path = NULL, *file = NULL, *text = NULL, *check_inp = NULL, *check_out = NULL;
    int flags = MOTE_TOKENIZE_ADD_SPECIAL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(tokenize_help, stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { if (!(model_path = cli_value("tokenize", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) { if (!(file = cli_value("tokenize", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--no-bos")) flags &= ~MOTE_TOKENIZE_ADD_SPECIAL;
        else if (!strcmp(a, "--parse-special")) flags |= MOTE_TOKENIZE_PARSE_SPECIAL;
        else if (!strcmp(a, "--check")) {
            if (!(check_inp = cli_value("tokenize", argc, argv, &i))) return 2;
            if (!(check_out = cli_value("tokenize", argc, argv, &i))) return 2;
        }
        else if (a[0] == '-' && a[1]) return cli_usage_error("tokenize", "unknown option '%s'", a);
        else if (text) return cli_usage_error("tokenize", "give the text as one argument (quote it)");
        else text = a;
    }
    if (!model_path) return cli_usage_error("tokenize", "no model given: pass one with -m MODEL");
    if (check_inp && (file || text)) return cli_usage_error("tokenize", "--check takes no text: give --check INP OUT alone");
    if (file && text) return cli_usage_error("tokenize", "give -f FILE or TEXT, not both");
    if (!file && !text && !check_inp) return cli_usage_error("tokenize", "no text given");

    size_t len = 0;
    char *owned = NULL;
    if (file) {
        if (!(owned = cli_read_file("tokenize", file, &len))) return 1;
        text = owned;
    } else if (text) {
        len = strlen(text);
    }

    int rc = 1;
    mote_error err = {0};
    mote_vocab *vocab = NULL;
    int32_t *ids = NULL;
    if (mote_vocab_load(model_path, &vocab, &err)) { cli_fail("tokenize", "%s", err.msg); goto done; }
    if (check_inp) { rc = run_check(vocab, check_inp, check_out); goto done; }
    int64_t n = 0;
    mote_status s = mote_tokenize(vocab, text, len, flags, NULL, 0, &n, &err);
    if (s && s != MOTE_ERR_RANGE) { cli_fail("tokenize", "%s", err.msg); goto done; }
    if (!(ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids))) { cli_fail("tokenize", "out of memory"); goto done; }
    if (mote_tokenize(vocab, text, len, flags, ids, n, &n, &err)) { cli_fail("tokenize", "%s", err.msg); goto done; }
    for (int64_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
    putchar('\n');
    rc = 0;
done:
    free(ids);
    free(owned);
    mote_vocab_free(vocab);
    return rc;
}
