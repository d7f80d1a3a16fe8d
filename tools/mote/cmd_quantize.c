/* cmd_quantize.c — `mote quantize`: convert a GGUF model's matrices to a
 * smaller type or a llama.cpp-style mix (mote_quantize_model), with a
 * progress bar and one line per tensor on stderr.
 * Not here: the type choice and the quantizers (src/compress/quantize.c,
 * src/tensor/). */
#include "cli.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *quantize_help =
    "usage: mote quantize [options] IN.gguf OUT.gguf TYPE\n"
    "\n"
    "Write IN's weights in a smaller type. Every key/value is copied\n"
    "(general.file_type updated); norms and other vectors are copied unchanged.\n"
    "\n"
    "TYPE is a type as GGML spells it, lower case but the K (every matrix in it):\n"
    "  %s\n"
    "or a llama.cpp preset, any case (attn_v, ffn_down, attn_output and output\n"
    "get more bits in some blocks, as llama.cpp mixes them):\n"
    "  %s\n"
    "A matrix whose rows do not fit its type's blocks (K-quants and tq: 256\n"
    "values, the others 32) goes to a type that fits, and the line of that\n"
    "tensor says so: q2_K/q3_K -> iq4_nl, q4_K -> q5_0, q5_K -> q5_1, q6_K -> q8_0,\n"
    "tq1_0/tq2_0 -> q4_0, then f16 when even 32 does not fit.\n"
    "\n"
    "  --imatrix FILE        importance matrix (mote imatrix, or llama-imatrix's GGUF):\n"
    "                        the quantizers weight each input channel's error by it\n"
    "  --awq TEXT            AWQ: search per-input-channel scales on this calibration\n"
    "                        text and fold them into the norms and matrices before\n"
    "                        quantizing (no new operation at run time)\n"
    "  --awq-ctx N           tokens per AWQ calibration chunk (default 256)\n"
    "  --awq-chunks N        most AWQ calibration chunks (default 16)\n"
    "  --awq-grid N          AWQ alpha grid: 0, 1/N, ..., (N-1)/N (default 20)\n"
    "  --output-type T       type of output.weight\n"
    "  --token-embedding-type T  type of token_embd.weight\n"
    "  --pure                presets: every matrix in the preset's base type (no mix)\n"
    "  -t, --threads N       threads (default: the physical cores)\n"
    "  -q, --quiet           no progress (errors still go to stderr)\n"
    "  -h, --help            this text\n";

typedef struct view {
    bool tty, quiet;
    double t0;
} view;

static void fmt_size(char *buf, size_t cap, uint64_t bytes) {
    if (bytes >= (uint64_t)1 << 30) snprintf(buf, cap, "%.2f GiB", (double)bytes / 1073741824.0);
    else if (bytes >= (uint64_t)1 << 20) snprintf(buf, cap, "%.2f MiB", (double)bytes / 1048576.0);
    else snprintf(buf, cap, "%.1f KiB", (double)bytes / 1024.0);
}

static void on_progress(void *user, const mote_quantize_progress *p) {
    view *v = user;
    if (v->quiet) return;
    double frac = ((double)p->index + (p->n_rows ? (double)p->rows_done / (double)p->n_rows : 1.0)) /
                  (double)(p->n_tensors ? p->n_tensors : 1);
    if (p->rows_done < p->n_rows) {
        if (!v->tty) return;
        char bar[21];
        int fill = (int)(frac * 20.0);
        for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        fprintf(stderr, "\r[%s] %4d/%d %-32s %3d%%\033[K", bar, (int)p->index + 1, (int)p->n_tensors,
                p->name, (int)(100.0 * (double)p->rows_done / (double)p->n_rows));
        fflush(stderr);
        return;
    }
    char shape[64], in[24], out[24];
    int len = snprintf(shape, sizeof shape, "[%lld", (long long)p->ne[0]);
    for (int d = 1; d < p->n_dims && len > 0 && (size_t)len < sizeof shape; d++)
        len += snprintf(shape + len, sizeof shape - (size_t)len, ", %lld", (long long)p->ne[d]);
    if (len > 0 && (size_t)len < sizeof shape - 1) snprintf(shape + len, sizeof shape - (size_t)len, "]");
    fmt_size(in, sizeof in, p->bytes_in);
    fmt_size(out, sizeof out, p->bytes_out);
    fprintf(stderr, "%s[%4d/%d] %-32s %-14s %6s -> %-6s %10s -> %-10s%s%s%s\n", v->tty ? "\r\033[K" : "",
            (int)p->index + 1, (int)p->n_tensors, p->name, shape, p->type_in, p->type_out, in, out,
            p->note[0] ? "  (" : "", p->note, p->note[0] ? ")" : "");
}

static void on_message(void *user, const char *line) {
    view *v = user;
    if (!v->quiet) fprintf(stderr, "%smote quantize: %s\n", v->tty ? "\r\033[K" : "", line);
}

int cmd_quantize(int argc, char **argv) {
    mote_quantize_params p = mote_quantize_default_params();
    const char *pos[3] = {NULL, NULL, NULL};
    int n_pos = 0;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int64_t n;
#define VAL() if (!(v = cli_value("quantize", argc, argv, &i))) return 2
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf(quantize_help, mote_quantize_type_names(), mote_quantize_preset_names());
            return 0;
        }
        else if (!strcmp(a, "--imatrix")) { VAL(); p.imatrix_path = v; }
        else if (!strcmp(a, "--awq")) { VAL(); p.awq_text_path = v; }
        else if (!strcmp(a, "--awq-ctx")) { VAL(); if (!cli_parse_i64("quantize", a, v, 2, 1 << 20, &n)) return 2; p.awq_n_ctx = (int32_t)n; }
        else if (!strcmp(a, "--awq-chunks")) { VAL(); if (!cli_parse_i64("quantize", a, v, 1, 1 << 20, &n)) return 2; p.awq_n_chunks = (int32_t)n; }
        else if (!strcmp(a, "--awq-grid")) { VAL(); if (!cli_parse_i64("quantize", a, v, 1, 1000, &n)) return 2; p.awq_n_grid = (int32_t)n; }
        else if (!strcmp(a, "--output-type")) { VAL(); p.output_type = v; }
        else if (!strcmp(a, "--token-embedding-type")) { VAL(); p.token_embd_type = v; }
        else if (!strcmp(a, "--pure")) p.pure = 1;
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { VAL(); if (!cli_parse_i64("quantize", a, v, 1, 256, &n)) return 2; p.n_threads = (int32_t)n; }
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = true;
        else if (a[0] == '-' && a[1] != '\0') return cli_usage_error("quantize", "unknown option '%s'", a);
        else if (n_pos < 3) pos[n_pos++] = a;
        else return cli_usage_error("quantize", "unexpected argument '%s' (IN OUT TYPE already given)", a);
#undef VAL
    }
    if (n_pos < 3)
        return cli_usage_error("quantize", "needs IN.gguf OUT.gguf TYPE (%d of 3 given)", n_pos);
    p.type = pos[2];
    view vw = {.tty = isatty(2) != 0, .quiet = quiet, .t0 = mote_time_now()};
    p.progress = on_progress;
    p.message = on_message;
    p.progress_user = &vw;
    mote_error err = {0};
    mote_quantize_summary sum;
    mote_status s = mote_quantize_model(pos[0], pos[1], &p, &sum, &err);
    if (s) {
        if (vw.tty && !quiet) fputs("\r\033[K", stderr);
        return cli_fail("quantize", "%s", err.msg);
    }
    if (!quiet) {
        char in[24], out[24];
        fmt_size(in, sizeof in, sum.bytes_in);
        fmt_size(out, sizeof out, sum.bytes_out);
        fprintf(stderr,
                "mote quantize: wrote %s: %d tensors, %d converted, %d in a fallback type; %s -> %s "
                "(%.2f bits per weight), file type %u, %.1f s\n",
                pos[1], (int)sum.n_tensors, (int)sum.n_quantized, (int)sum.n_fallback, in, out,
                sum.n_elements ? 8.0 * (double)sum.bytes_out / (double)sum.n_elements : 0.0,
                (unsigned)sum.file_type, mote_time_now() - vw.t0);
    }
    return 0;
}
