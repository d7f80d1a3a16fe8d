/* cmd_synth.c — `mote synth`: write a Llama GGUF with random weights in a
 * real model's shape (mote_synth_write), with a progress line on stderr.
 * Not here: the generation itself (src/model/synth.c). */
#include "cli.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *synth_help =
    "usage: mote synth --preset NAME [options] -o FILE\n"
    "\n"
    "Write a Llama-architecture GGUF with random weights N(0, 0.02) (norms 1)\n"
    "in the shape of a real model, for benchmarks and tests without downloads.\n"
    "Tensors are generated and quantized row by row as the file is written, so\n"
    "even a 7B model needs little memory. Text generated from it is noise.\n"
    "\n"
    "  --preset NAME     model shape (see below)\n"
    "  --type T          weight type of every matrix, token embedding and output\n"
    "                    included: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, or\n"
    "                    any type this build can quantize to (default f16);\n"
    "                    norms are f32\n"
    "  --vocab FILE      copy every tokenizer.* key from this GGUF (its token count\n"
    "                    must be the preset's); default: a minimal byte-level\n"
    "                    SentencePiece vocab of the preset's size\n"
    "  --seed S          random seed (default 1234); same seed, same bytes\n"
    "  --layers N        write N blocks instead of the preset's (quick tests)\n"
    "  -o, --output FILE where to write (via FILE.tmp, renamed when complete)\n"
    "  -q, --quiet       no progress line\n"
    "  -h, --help        this text\n"
    "\n"
    "presets (dim / layers / heads / kv heads / ffn / vocab / context):\n";

/* The preset table, one line each. */
static void print_presets(FILE *f) {
    for (int i = 0; i < mote_synth_n_presets(); i++) {
        const mote_synth_preset *p = mote_synth_preset_get(i);
        fprintf(f, "  %-16s %d / %d / %d / %d / %d / %d / %d\n", p->name, (int)p->n_embd,
                (int)p->n_layer, (int)p->n_head, (int)p->n_head_kv, (int)p->n_ff, (int)p->n_vocab,
                (int)p->n_ctx);
    }
}

typedef struct progress_state {
    int last_pct;
    double t0;
    bool tty;
} progress_state;

/* One line on stderr, rewritten in place on a terminal; on a pipe, a line
 * every 10%. */
static void on_progress(void *user, uint64_t done, uint64_t total, const char *tensor) {
    progress_state *ps = user;
    int pct = total ? (int)(100.0 * (double)done / (double)total) : 100;
    if (pct == ps->last_pct || (!ps->tty && pct / 10 == ps->last_pct / 10 && pct != 100)) return;
    ps->last_pct = pct;
    double dt = mote_time_now() - ps->t0;
    fprintf(stderr, "%smote synth: %3d%%  %.0f of %.0f MiB  %.1f s  %-28s%s", ps->tty ? "\r" : "",
            pct, (double)done / 1048576.0, (double)total / 1048576.0, dt, tensor,
            ps->tty ? "" : "\n");
    fflush(stderr);
}

int cmd_synth(int argc, char **argv) {
    mote_synth_params p = mote_synth_default_params();
    const char *out = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int64_t n;
#define VAL() if (!(v = cli_value("synth", argc, argv, &i))) return 2
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(synth_help, stdout);
            print_presets(stdout);
            return 0;
        }
        else if (!strcmp(a, "--preset")) { VAL(); p.preset = v; }
        else if (!strcmp(a, "--type")) { VAL(); p.type = v; }
        else if (!strcmp(a, "--vocab")) { VAL(); p.vocab_path = v; }
        else if (!strcmp(a, "--seed")) { VAL(); if (!cli_parse_u64("synth", a, v, &p.seed)) return 2; }
        else if (!strcmp(a, "--layers")) { VAL(); if (!cli_parse_i64("synth", a, v, 1, 4096, &n)) return 2; p.n_layer = (int32_t)n; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { VAL(); out = v; }
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = true;
        else return cli_usage_error("synth", "unknown option '%s'", a);
#undef VAL
    }
    if (!p.preset) return cli_usage_error("synth", "no preset given (--preset NAME)");
    if (!mote_synth_preset_find(p.preset)) {
        char names[256] = "";
        for (int i = 0; i < mote_synth_n_presets(); i++) {
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", mote_synth_preset_get(i)->name);
        }
        return cli_usage_error("synth", "unknown preset '%s' (presets: %s)", p.preset, names);
    }
    if (!out) return cli_usage_error("synth", "no output file given (-o FILE)");

    progress_state ps = {.last_pct = -1, .t0 = mote_time_now(), .tty = isatty(2) != 0};
    if (!quiet) {
        p.progress = on_progress;
        p.progress_user = &ps;
    }
    mote_error err = {0};
    mote_status s = mote_synth_write(out, &p, &err);
    if (!quiet && ps.tty && ps.last_pct >= 0) fputc('\n', stderr);
    if (s) return cli_fail("synth", "%s", err.msg);
    if (!quiet)
        fprintf(stderr, "mote synth: wrote %s (%s, %s) in %.1f s\n", out, p.preset,
                p.type ? p.type : "f16", mote_time_now() - ps.t0);
    return 0;
}
