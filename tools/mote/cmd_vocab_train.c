/* cmd_vocab_train.c — `mote vocab train`: train a byte-level BPE tokenizer
 * on text files and write it as a vocab-only GGUF. The work is the
 * library's (mote_vocab_train); this is argument parsing and one summary
 * line. */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *vocab_train_help =
    "usage: mote vocab train CORPUS... [--size N] -o VOCAB.gguf [options]\n"
    "\n"
    "Train a byte-level BPE tokenizer (GPT-2's byte alphabet, so any text\n"
    "encodes and decodes back exactly) on the text files CORPUS... and write a\n"
    "vocab-only GGUF (tokenizer model \"gpt2\") for `mote train --vocab` and\n"
    "`mote tokenize -m`. Tokens: <s> (0, BOS), </s> (1, EOS), the 256 bytes,\n"
    "then one per merge, most frequent pair first.\n"
    "\n"
    "  -o, --output FILE   the GGUF file to write (required)\n"
    "  --size N            tokens in all (default 4096; at least 259); fewer\n"
    "                      when the text runs out of pairs seen --min-count times\n"
    "  --min-count N       never merge a pair seen fewer times (default 2)\n"
    "  --pre NAME          llama.cpp pre-tokenizer that splits words (default\n"
    "                      llama-bpe; gpt-2, qwen2, ...)\n"
    "  --name NAME         general.name (default mote-bpe)\n"
    "  -h, --help          this text\n";

int cmd_vocab_train(int argc, char **argv) {
    const char *C = "vocab train";
    const char *out = NULL;
    mote_vocab_train_opts opts = {0};
    const char **in = calloc((size_t)argc + 1, sizeof *in);
    int n_in = 0, rc = 2;
    if (!in) return cli_fail(C, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(vocab_train_help, stdout); rc = 0; goto done; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { if (!(out = cli_value(C, argc, argv, &i))) goto done; }
        else if (!strcmp(a, "--pre")) { if (!(opts.pre = cli_value(C, argc, argv, &i))) goto done; }
        else if (!strcmp(a, "--name")) { if (!(opts.name = cli_value(C, argc, argv, &i))) goto done; }
        else if (!strcmp(a, "--size")) {
            int64_t n;
            if (!(v = cli_value(C, argc, argv, &i)) || !cli_parse_i64(C, a, v, 259, 1 << 24, &n)) goto done;
            opts.n_vocab = (int32_t)n;
        } else if (!strcmp(a, "--min-count")) {
            if (!(v = cli_value(C, argc, argv, &i)) || !cli_parse_i64(C, a, v, 1, INT64_MAX, &opts.min_count)) goto done;
        }
        else if (a[0] == '-' && a[1]) { rc = cli_usage_error(C, "unknown option '%s'", a); goto done; }
        else in[n_in++] = a;
    }
    if (!n_in) { rc = cli_usage_error(C, "no training text given: pass one or more CORPUS files"); goto done; }
    if (!out) { rc = cli_usage_error(C, "no output file given: pass -o VOCAB.gguf"); goto done; }
    mote_error err = {0};
    mote_vocab_train_summary sum;
    double t0 = mote_time_now();
    if (mote_vocab_train(in, n_in, out, &opts, &sum, &err)) { rc = cli_fail(C, "%s", err.msg); goto done; }
    fprintf(stderr,
            "mote vocab: wrote %s: %d tokens, %lld merges, pre %s; from %lld bytes, %lld words "
            "(%lld distinct) in %.1f s\n",
            out, (int)sum.n_tokens, (long long)sum.n_merges, sum.pre, (long long)sum.n_bytes,
            (long long)sum.n_words, (long long)sum.n_unique_words, mote_time_now() - t0);
    if (opts.n_vocab && sum.n_tokens < opts.n_vocab)
        fprintf(stderr, "mote vocab: note: %d tokens asked, but no pair occurs often enough for more\n",
                (int)opts.n_vocab);
    rc = 0;
done:
    free(in);
    return rc;
}
