/* cmd_merge.c — `mote merge`: fold LoRA adapters into a base model's
 * weights and write a plain GGUF model; and the FILE[:SCALE] argument that
 * `mote run --lora` shares. Not here: the arithmetic (mote_lora_merge in
 * src/model/lora.c).
 */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *merge_help =
    "usage: mote merge -m BASE.gguf --lora FILE[:SCALE] [--lora ...] -o OUT.gguf [--type T]\n"
    "\n"
    "Fold LoRA adapters (llama.cpp's adapter GGUF, as `mote finetune --lora`\n"
    "writes) into the weights of BASE: each adapted matrix becomes\n"
    "W + SCALE (alpha/rank) B A (SCALE defaults to 1). Every other tensor and\n"
    "all metadata are copied as they are. The result runs without the adapter\n"
    "files, in mote and llama.cpp.\n"
    "\n"
    "  -m, --model FILE      the base model the adapters were trained on\n"
    "  --lora FILE[:SCALE]   an adapter and its strength (repeatable, up to 8)\n"
    "  -o, --output FILE     the merged model\n"
    "  --type T              type of the merged matrices (f32, f16, bf16, q8_0,\n"
    "                        q4_0, ...; default: the base matrix's type when it is\n"
    "                        f32/f16/bf16, else f16 so that nothing is lost to\n"
    "                        quantizing again)\n"
    "  -h, --help            this text\n";

bool cli_parse_lora_arg(const char *cmd, const char *arg, const char **path, float *scale) {
    static char buf[8][4096];
    static int next;
    const char *colon = strrchr(arg, ':');
    *scale = 1.0f;
    *path = arg;
    if (!colon) return true;
    char *end;
    double v = strtod(colon + 1, &end);
    if (end == colon + 1 || *end) return true; /* not a number: part of the file name */
    if (!(v > -1e6 && v < 1e6)) {
        cli_usage_error(cmd, "--lora %s: the scale must be a number within +-1e6", arg);
        return false;
    }
    size_t n = (size_t)(colon - arg);
    if (n >= sizeof buf[0] || next >= 8) {
        cli_usage_error(cmd, "--lora %s: too long, or more than 8 adapters", arg);
        return false;
    }
    memcpy(buf[next], arg, n);
    buf[next][n] = '\0';
    *path = buf[next++];
    *scale = (float)v;
    return true;
}

int cmd_merge(int argc, char **argv) {
    const char *C = "merge", *base = NULL, *out = NULL, *type = NULL;
    const char *paths[8];
    float scales[8];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VAL() if (!(v = cli_value(C, argc, argv, &i))) return 2
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(merge_help, stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { VAL(); base = v; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) { VAL(); out = v; }
        else if (!strcmp(a, "--type")) { VAL(); type = v; }
        else if (!strcmp(a, "--lora")) {
            VAL();
            if (n == 8) return cli_usage_error(C, "at most 8 adapters can be merged");
            if (!cli_parse_lora_arg(C, v, &paths[n], &scales[n])) return 2;
            n++;
        }
        else return cli_usage_error(C, "unknown option '%s'", a);
#undef VAL
    }
    if (!base) return cli_usage_error(C, "no base model given: pass -m BASE.gguf");
    if (!n) return cli_usage_error(C, "no adapter given: pass --lora FILE[:SCALE]");
    if (!out) return cli_usage_error(C, "no output given: pass -o OUT.gguf");
    mote_lora *loras[8] = {0};
    mote_error err = {0};
    int rc = 1;
    for (int i = 0; i < n; i++)
        if (mote_lora_open(paths[i], &loras[i], &err)) { cli_fail(C, "%s", err.msg); goto done; }
    double t0 = mote_time_now();
    if (mote_lora_merge(base, (const mote_lora *const *)loras, scales, n, out, type, &err)) {
        cli_fail(C, "%s", err.msg);
        goto done;
    }
    fprintf(stderr, "mote merge: wrote %s (%d adapter%s folded in, %.2f s)\n", out, n, n > 1 ? "s" : "",
            mote_time_now() - t0);
    rc = 0;
done:
    for (int i = 0; i < n; i++) mote_lora_free(loras[i]);
    return rc;
}
