/* cmd_vocab.c — `mote vocab import`: convert a Hugging Face tokenizer.json
 * (and its tokenizer_config.json) into a vocab-only GGUF file. The work is
 * the library's (mote_vocab_import_hf); this is argument parsing and one
 * summary line. */
#include "cli.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *vocab_help =
    "usage: mote vocab import TOKENIZER_JSON [--config FILE] -o VOCAB.gguf [options]\n"
    "       mote vocab train CORPUS... [--size N] -o VOCAB.gguf (see mote vocab train -h)\n"
    "\n"
    "Convert a Hugging Face tokenizer.json into a vocab-only GGUF file (no\n"
    "tensors) with the tokenizer keys llama.cpp's converter writes, for\n"
    "`mote tokenize -m VOCAB.gguf`. Byte-level BPE becomes tokenizer model\n"
    "\"gpt2\", WordPiece \"bert\", SentencePiece-style BPE (byte_fallback) \"llama\";\n"
    "Unigram and WordLevel are refused.\n"
    "\n"
    "  -o, --output FILE   the GGUF file to write (required)\n"
    "  --config FILE       tokenizer_config.json: special tokens, add_bos/add_eos,\n"
    "                      chat template (default: tokenizer_config.json beside\n"
    "                      TOKENIZER_JSON when there is one)\n"
    "  --no-config         do not read a tokenizer_config.json\n"
    "  --pre NAME          llama.cpp's pre-tokenizer name (llama-bpe, qwen2, gpt-2,\n"
    "                      ...) instead of detecting it from the pre_tokenizer\n"
    "  --name NAME         general.name (default: the output file's name)\n"
    "  --arch NAME         general.architecture (default: llama; bert for WordPiece)\n"
    "  --n-vocab N         pad to N tokens with [PAD<id>] (a model's vocab_size)\n"
    "  -h, --help          this text\n";

int cmd_vocab(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("vocab", "no subcommand given: use 'mote vocab import' or 'mote vocab train'");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) { fputs(vocab_help, stdout); return 0; }
    if (!strcmp(argv[1], "train")) return cmd_vocab_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "import"))
        return cli_usage_error("vocab", "unknown subcommand '%s' (use 'import' or 'train')", argv[1]);

    const char *in = NULL, *config = NULL, *out = NULL;
    bool no_config = false;
    mote_vocab_import_opts opts = {0};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(vocab_help, stdout); return 0; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { if (!(out = cli_value("vocab", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--config")) { if (!(config = cli_value("vocab", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--no-config")) no_config = true;
        else if (!strcmp(a, "--pre")) { if (!(opts.pre = cli_value("vocab", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--name")) { if (!(opts.name = cli_value("vocab", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--arch")) { if (!(opts.arch = cli_value("vocab", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--n-vocab")) {
            const char *v = cli_value("vocab", argc, argv, &i);
            if (!v || !cli_parse_i64("vocab", "--n-vocab", v, 1, INT32_MAX, &opts.n_vocab)) return 2;
        }
        else if (a[0] == '-' && a[1]) return cli_usage_error("vocab", "unknown option '%s'", a);
        else if (in) return cli_usage_error("vocab", "give one tokenizer.json (already have '%s')", in);
        else in = a;
    }
    if (!in) return cli_usage_error("vocab", "no tokenizer.json given");
    if (!out) return cli_usage_error("vocab", "no output file given: pass -o VOCAB.gguf");
    if (config && no_config) return cli_usage_error("vocab", "give --config FILE or --no-config, not both");

    /* Like llama.cpp's converter, which reads the model folder: use the
     * tokenizer_config.json beside the tokenizer.json unless told not to. */
    char beside[4096];
    if (!config && !no_config) {
        const char *slash = strrchr(in, '/');
        int dir_len = slash ? (int)(slash - in + 1) : 0;
        int n = snprintf(beside, sizeof beside, "%.*stokenizer_config.json", dir_len, in);
        if (n > 0 && (size_t)n < sizeof beside && access(beside, R_OK) == 0) config = beside;
    }

    mote_error err = {0};
    mote_vocab_import_summary sum;
    if (mote_vocab_import_hf(in, config, out, &opts, &sum, &err)) return cli_fail("vocab", "%s", err.msg);
    fprintf(stderr,
            "mote vocab: wrote %s: model %s, pre %s, %lld tokens (%lld added, %lld fillers), "
            "%lld merges, bos %d, eos %d%s%s%s\n",
            out, sum.model, sum.pre, (long long)sum.n_tokens, (long long)sum.n_added,
            (long long)sum.n_filled, (long long)sum.n_merges, (int)sum.bos_id, (int)sum.eos_id,
            sum.has_chat_template ? ", chat template" : "", config ? "; config " : "",
            config ? config : "");
    return 0;
}
