/* cmd_imatrix.c — `mote imatrix`: collect an importance matrix (per input
 * channel mean of x^2 for every matrix) by running a model over
 * calibration text (mote_imatrix_compute), with progress on stderr.
 * Not here: the collection and the file format (src/compress/imatrix.c). */
#include "cli.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *imatrix_help =
    "usage: mote imatrix -m MODEL -f TEXT -o IMATRIX.gguf [options]\n"
    "\n"
    "Run MODEL over TEXT in chunks and write, for every matrix of the model\n"
    "(output.weight included), the sum over tokens of the square of each input\n"
    "channel and the token count, in llama.cpp's imatrix GGUF layout\n"
    "(NAME.in_sum2, NAME.counts). 'mote quantize --imatrix' (and llama-quantize)\n"
    "weight each channel's quantization error by their ratio.\n"
    "\n"
    "  -m, --model FILE   the model (a Llama GGUF, best the unquantized one)\n"
    "  -f, --file TEXT    calibration text (plain text, read byte for byte)\n"
    "  -o, --output FILE  where to write (via FILE.tmp, renamed when complete)\n"
    "  -c, --ctx N        tokens per chunk, BOS included (default 512, at most the\n"
    "                     model's context); the text must hold at least one chunk\n"
    "  --chunks N         evaluate at most N chunks (default: all)\n"
    "  -t, --threads N    threads (default: the physical cores)\n"
    "  -q, --quiet        no progress\n"
    "  -h, --help         this text\n";

typedef struct view {
    bool tty, quiet;
    double t0;
} view;

static void on_chunk(void *user, int32_t done, int32_t total, double ppl) {
    view *v = user;
    if (v->quiet) return;
    fprintf(stderr, "%smote imatrix: chunk %d/%d, perplexity %.4f, %.1f s%s", v->tty ? "\r" : "",
            (int)done, (int)total, ppl, mote_time_now() - v->t0, v->tty && done < total ? "" : "\n");
    fflush(stderr);
}

int cmd_imatrix(int argc, char **argv) {
    mote_imatrix_params p = mote_imatrix_default_params();
    const char *model = NULL, *text = NULL, *out = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int64_t n;
#define VAL() if (!(v = cli_value("imatrix", argc, argv, &i))) return 2
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(imatrix_help, stdout);
            return 0;
        }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { VAL(); model = v; }
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) { VAL(); text = v; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { VAL(); out = v; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) { VAL(); if (!cli_parse_i64("imatrix", a, v, 2, 1 << 20, &n)) return 2; p.n_ctx = (int32_t)n; }
        else if (!strcmp(a, "--chunks")) { VAL(); if (!cli_parse_i64("imatrix", a, v, 1, 1 << 30, &n)) return 2; p.n_chunks = (int32_t)n; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { VAL(); if (!cli_parse_i64("imatrix", a, v, 1, 256, &n)) return 2; p.n_threads = (int32_t)n; }
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = true;
        else return cli_usage_error("imatrix", "unknown option '%s'", a);
#undef VAL
    }
    if (!model) return cli_usage_error("imatrix", "no model given (-m FILE)");
    if (!text) return cli_usage_error("imatrix", "no calibration text given (-f FILE)");
    if (!out) return cli_usage_error("imatrix", "no output file given (-o FILE)");
    view vw = {.tty = isatty(2) != 0, .quiet = quiet, .t0 = mote_time_now()};
    p.progress = on_chunk;
    p.progress_user = &vw;
    mote_error err = {0};
    mote_imatrix_summary sum;
    mote_status s = mote_imatrix_compute(model, text, out, &p, &sum, &err);
    if (s) return cli_fail("imatrix", "%s", err.msg);
    if (!quiet)
        fprintf(stderr, "mote imatrix: wrote %s: %lld matrices, %d chunks of %d tokens, %.1f s\n", out,
                (long long)sum.n_entries, (int)sum.n_chunks, (int)sum.chunk_size,
                mote_time_now() - vw.t0);
    return 0;
}
