/* cmd_tokenize.c — `mote tokenize`: print a text's token ids. */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tokenize_help =
    "usage: mote tokenize -m MODEL [--no-bos] [-f FILE | TEXT]\n"
    "\n"
    "Print the token ids of TEXT (or of FILE, read byte for byte) on one line,\n"
    "separated by spaces. MODEL may be a model or a vocab-only GGUF file.\n"
    "\n"
    "  -m, --model FILE  GGUF file with tokenizer metadata\n"
    "  -f, --file FILE   read the text from FILE\n"
    "  --no-bos          add no special token at all (no BOS, EOS, CLS or SEP)\n"
    "  -h, --help        this text\n";

int cmd_tokenize(int argc, char **argv) {
    const char *model_path = NULL, *file = NULL, *text = NULL;
    bool add_special = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(tokenize_help, stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { if (!(model_path = cli_value("tokenize", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) { if (!(file = cli_value("tokenize", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--no-bos")) add_special = false;
        else if (a[0] == '-' && a[1]) return cli_usage_error("tokenize", "unknown option '%s'", a);
        else if (text) return cli_usage_error("tokenize", "give the text as one argument (quote it)");
        else text = a;
    }
    if (!model_path) return cli_usage_error("tokenize", "no model given: pass one with -m MODEL");
    if (file && text) return cli_usage_error("tokenize", "give -f FILE or TEXT, not both");
    if (!file && !text) return cli_usage_error("tokenize", "no text given");

    size_t len;
    char *owned = NULL;
    if (file) {
        if (!(owned = cli_read_file("tokenize", file, &len))) return 1;
        text = owned;
    } else {
        len = strlen(text);
    }

    int rc = 1;
    mote_error err = {0};
    mote_vocab *vocab = NULL;
    int32_t *ids = NULL;
    if (mote_vocab_load(model_path, &vocab, &err)) { cli_fail("tokenize", "%s", err.msg); goto done; }
    int64_t n = 0;
    mote_status s = mote_tokenize(vocab, text, len, add_special, NULL, 0, &n, &err);
    if (s && s != MOTE_ERR_RANGE) { cli_fail("tokenize", "%s", err.msg); goto done; }
    if (!(ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids))) { cli_fail("tokenize", "out of memory"); goto done; }
    if (mote_tokenize(vocab, text, len, add_special, ids, n, &n, &err)) { cli_fail("tokenize", "%s", err.msg); goto done; }
    for (int64_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
    putchar('\n');
    rc = 0;
done:
    free(ids);
    free(owned);
    mote_vocab_free(vocab);
    return rc;
}
