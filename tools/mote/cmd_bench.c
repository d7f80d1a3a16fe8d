/* cmd_bench.c — `mote bench`: prompt-processing and generation speed of a
 * model, and how close generation comes to the memory-bandwidth roofline.
 *
 * What it measures (like llama-bench): pp<P> is one batched mote_ctx_decode
 * of P tokens from an empty cache; tg<N> is N single-token decodes from an
 * empty cache. Each test runs REPS times after one unmeasured single-token
 * decode (which pages the weights in); the reported tokens/s is the median
 * of the repetitions, ± their standard deviation. Beside it: the model's
 * size, the bytes one generated token reads (every weight once,
 * mote_model_bytes_per_token, and for tg the K and V rows of the positions
 * it attends to, the mean over the test's tokens; for pp the weights
 * alone), the machine's read bandwidth with the same thread count
 * (a mote_bandwidth_meter whose buffer is kept for the run: median of
 * several passes; for tg measured again before each repetition over as
 * many bytes as it reads, see run_test), and the roofline
 * fraction tokens/s × bytes/token ÷ bandwidth — for tg, how much of the
 * memory bandwidth generation turns into reading what it must; for pp the same
 * product, which exceeds 1 when batching reuses each weight across tokens.
 *
 * Not here: any timing inside the library; this file only calls mote.h.
 */
#include "cli.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *bench_help =
    "usage: mote bench -m MODEL [options]\n"
    "\n"
    "Measure prompt processing (pp: one batched decode of P tokens from an empty\n"
    "cache) and generation (tg: N single-token decodes from an empty cache) in\n"
    "tokens/s (with -d, from a cache holding D tokens instead), the median of\n"
    "REPS repetitions, with the model's size, the bytes each generated token\n"
    "reads (every weight once, and the K and V cache rows of the positions it\n"
    "attends to: for tg the mean over its tokens, in json kv_bytes_per_token;\n"
    "for pp the weights alone), the machine's memory read bandwidth\n"
    "(same thread count) and the roofline fraction\n"
    "tokens/s x bytes/token / bandwidth: for tg, the share of the bandwidth that\n"
    "goes to reading them (right before each tg repetition the bandwidth test\n"
    "reads as many bytes as the repetition will, up to 32 GiB, and gives the\n"
    "mean rate, so that other work on the machine moves both figures alike; the\n"
    "column is the median of those; after it, one untimed token lets the caches\n"
    "and threads settle); above 100% for pp means batching\n"
    "reuses weights, for a model that fits in the cache, that it is read from\n"
    "the cache. Where a tg test's repetitions saw bandwidths more than 5% apart,\n"
    "a note on stderr says that the fraction is uncertain by about as much; -o\n"
    "json gives each repetition's tokens/s (samples_ts) and, for tg, its\n"
    "bandwidth (bandwidth_samples_gbs).\n"
    "\n"
    "  -m, --model FILE     GGUF model (Llama architecture)\n"
    "  -p, --n-prompt P     prompt tokens for pp (default 512; 0 skips pp)\n"
    "  -n, --n-gen N        generated tokens for tg (default 128; 0 skips tg)\n"
    "  -d, --depth D        run both tests after D tokens in the cache instead of\n"
    "                       an empty one (a long chat's speed: attention reads\n"
    "                       D more positions a token); the D tokens are decoded\n"
    "                       once, untimed, and each repetition goes back to them;\n"
    "                       tests are named \"tg128 @ d1024\" (default 0)\n"
    "  -t, --threads T      threads (default: the physical cores this process may\n"
    "                       run on)\n"
    "  -r, --repetitions R  repetitions of each test (default 5)\n"
    "  -o, --output FMT     md (Markdown table, default), csv, or json (one object\n"
    "                       a line per test)\n"
    "  --bw-mib M           buffer of the bandwidth test in MiB (default: four times\n"
    "                       the last-level cache, 256 to 1024 MiB), allocated once\n"
    "                       and kept for the whole run\n"
    "  --kv-type T          KV cache element type: f32 (default), f16, bf16, q8_0,\n"
    "                       q5_1, q5_0, q4_1, q4_0, iq4_nl; the cache (max(P, N)\n"
    "                       positions, D more with -d) and its size are in the kv\n"
    "                       cache column\n";

typedef enum { OUT_MD, OUT_CSV, OUT_JSON } out_fmt;

/* Passes of the bandwidth test; the median is reported. */
#define BW_PASSES 9

typedef struct bench_result {
    char test[48];     /* "pp512", "tg128", "tg128 @ d1024" */
    int64_t n_prompt, n_gen, n_depth;
    double tps_median, tps_stddev;
    double *samples;   /* (reps) tokens/s of each repetition */
    double *bw_samples; /* (reps) tg: bandwidth measured just before each */
    double bandwidth_gbs; /* tg: median of bw_samples; pp: the setup's */
    uint64_t kv_read;     /* tg: mean K and V bytes a token reads; pp: 0 */
    uint64_t bytes_per_token; /* the setup's weight bytes + kv_read */
    double roofline;      /* tps_median x bytes/token / bandwidth_gbs */
} bench_result;

typedef struct bench_setup {
    const char *model_path;
    char model_name[128]; /* the file's base name without .gguf */
    mote_model_info info;
    const char *type, *isa;
    uint64_t weight_bytes_per_token; /* every weight once (mote_model_bytes_per_token) */
    double bandwidth_gbs;
    uint64_t bw_buffer_bytes;
    int64_t n_threads, reps;
    const char *kv_type;  /* of the context, resolved */
    uint64_t kv_bytes;    /* K and V storage of the context */
    uint64_t kv_bytes_per_pos; /* of one position, every layer */
} bench_setup;

/* qsort order of doubles, ascending. */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (n >= 1; v is not modified); 0 if out of memory. */
static double median(const double *v, int64_t n) {
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return 0.0;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

/* Sample standard deviation (0 for one sample). */
static double stddev(const double *v, int64_t n) {
    if (n < 2) return 0.0;
    double mean = 0.0, ss = 0.0;
    for (int64_t i = 0; i < n; i++) mean += v[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) ss += (v[i] - mean) * (v[i] - mean);
    return sqrt(ss / (double)(n - 1));
}

/* Token i of the benchmark's input: spread over the vocabulary, the same
 * every run. */
static int32_t bench_token(int64_t i, int32_t n_vocab) {
    return (int32_t)(((uint64_t)i * 2654435761u + 7u) % (uint64_t)n_vocab);
}

/* Bytes the bandwidth test reads before a generation repetition: what the
 * repetition's tokens read, at least one buffer (the test rounds up to
 * whole passes), at most BW_SUSTAINED_MAX (about a second). */
#define BW_SUSTAINED_MAX ((uint64_t)32 << 30)
static uint64_t bw_read_bytes(uint64_t bytes_per_token, int64_t n_gen) {
    uint64_t b = bytes_per_token * (uint64_t)(n_gen > 0 ? n_gen : 1);
    return b > BW_SUSTAINED_MAX ? BW_SUSTAINED_MAX : b;
}

/* Where a tg test's repetitions saw bandwidths more than BW_SPREAD_WARN
 * apart (relative to their median), say so on stderr: the roofline
 * fraction then moves with the machine's other work by about as much (on
 * the development machine, a shared VM, runs of one build scatter 3-4
 * points either side), and one run says little. */
#define BW_SPREAD_WARN 0.05
static void warn_bandwidth_spread(const bench_result *r, int64_t reps) {
    double lo = r->bw_samples[0], hi = lo;
    for (int64_t i = 1; i < reps; i++) {
        if (r->bw_samples[i] < lo) lo = r->bw_samples[i];
        if (r->bw_samples[i] > hi) hi = r->bw_samples[i];
    }
    if (r->bandwidth_gbs > 0 && (hi - lo) / r->bandwidth_gbs > BW_SPREAD_WARN)
        fprintf(stderr,
                "mote bench: %s: the bandwidth moved between %.1f and %.1f GB/s over the repetitions: the machine is "
                "busy with other work, and the roofline fraction is uncertain by about %.0f%% (more repetitions, -r, "
                "or a quieter moment narrow it)\n",
                r->test, lo, hi, 100.0 * (hi - lo) / r->bandwidth_gbs);
}

/* Run one test REPS times into r; 0 or a CLI exit status. A generation
 * test measures the bandwidth right before each repetition and divides by
 * that: on a machine shared with other work the bandwidth available moves
 * by a factor of several within a minute (seen: 2.4 to 53 GB/s on the
 * 2-core development machine), and a figure taken once before all
 * repetitions then says more about the neighbours than about the kernels.
 * Each measurement reads as many bytes as the repetition will (up to
 * BW_SUSTAINED_MAX) and takes the mean rate: on that machine one pass in
 * four or five over a 2 GB buffer ran at 11-18 GB/s against 46-53 for the
 * rest, and a repetition's tokens/s averages over such dips, so the
 * bandwidth it is held against must too (one pass, as before, mostly
 * missed them and put f16 generation at 45% of a roofline it could not
 * reach). The bandwidth reported is the median of the repetitions'
 * figures, the fraction median tokens/s x bytes/token over it. */
static int run_test(mote_ctx *c, const bench_setup *bs, mote_bandwidth_meter *meter, const int32_t *tokens,
                    int64_t n_prompt, int64_t n_gen, int64_t n_depth, bench_result *r) {
    mote_error err = {0};
    for (int64_t rep = 0; rep < bs->reps; rep++) {
        if (n_prompt == 0 &&
            mote_bandwidth_meter_read_sustained(meter, (int32_t)bs->n_threads,
                                                bw_read_bytes(r->bytes_per_token, n_gen),
                                                &r->bw_samples[rep], &err))
            return cli_fail("bench", "%s", err.msg);
        /* back to the depth's tokens (decoded once by cmd_bench) */
        if (mote_ctx_truncate(c, (int32_t)n_depth, &err)) return cli_fail("bench", "%s", err.msg);
        /* tg: one untimed token first, then back again. The bandwidth test
         * just before leaves the caches full of its buffer and the pool's
         * threads asleep: on the development VM the first q4_0 TinyLlama
         * token after a tg128-sized test took 34-51 ms against 17 back to
         * back (four runs; 51-73 ms when the test freed its buffer), about
         * 1% of the repetition, a delay that generation in a steady state
         * does not pay. */
        if (n_prompt == 0 && n_gen > 0 &&
            (mote_ctx_decode(c, &tokens[0], 1, NULL, &err) ||
             mote_ctx_truncate(c, (int32_t)n_depth, &err)))
            return cli_fail("bench", "%s: %s", r->test, err.msg);
        double t0 = mote_time_now(), dt;
        int64_t n_tok;
        if (n_prompt > 0) {
            if (mote_ctx_decode(c, tokens, (int32_t)n_prompt, NULL, &err))
                return cli_fail("bench", "%s: %s", r->test, err.msg);
            n_tok = n_prompt;
        } else {
            for (int64_t i = 0; i < n_gen; i++)
                if (mote_ctx_decode(c, &tokens[i], 1, NULL, &err))
                    return cli_fail("bench", "%s: %s", r->test, err.msg);
            n_tok = n_gen;
        }
        dt = mote_time_now() - t0;
        r->samples[rep] = dt > 0 ? (double)n_tok / dt : 0.0;
    }
    r->tps_median = median(r->samples, bs->reps);
    r->tps_stddev = stddev(r->samples, bs->reps);
    r->bandwidth_gbs = n_prompt > 0 ? bs->bandwidth_gbs : median(r->bw_samples, bs->reps);
    r->roofline = r->bandwidth_gbs > 0
                      ? r->tps_median * (double)r->bytes_per_token / (r->bandwidth_gbs * 1e9)
                      : 0.0;
    if (n_prompt == 0) warn_bandwidth_spread(r, bs->reps);
    return 0;
}

/* tokens/s x bytes/token / bandwidth: the share of the memory bandwidth
 * that reading the weights once per token takes at this speed (run_test). */
static double roofline(const bench_setup *bs, const bench_result *r) {
    (void)bs;
    return r->roofline;
}

/* ---- output ---- */

/* "590.41 MiB" / "2.05 GiB" into buf. */
static void fmt_size(char *buf, size_t cap, uint64_t bytes) {
    if (bytes >= ((uint64_t)1 << 30)) snprintf(buf, cap, "%.2f GiB", (double)bytes / 1073741824.0);
    else snprintf(buf, cap, "%.2f MiB", (double)bytes / 1048576.0);
}

/* "1.10 B" / "24.41 M" / "292.80 K" into buf. */
static void fmt_count(char *buf, size_t cap, uint64_t n) {
    if (n >= 1000000000ull) snprintf(buf, cap, "%.2f B", (double)n / 1e9);
    else if (n >= 1000000ull) snprintf(buf, cap, "%.2f M", (double)n / 1e6);
    else snprintf(buf, cap, "%.2f K", (double)n / 1e3);
}

/* One test a row, llama-bench's columns plus isa, bytes/token, bandwidth
 * and roofline. */
static void print_md_header(void) {
    printf("| model | size | params | type | isa | threads | kv cache | test | t/s | bytes/token | bandwidth | roofline |\n");
    printf("| --- | ---: | ---: | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n");
}

static void print_md_row(const bench_setup *bs, const bench_result *r) {
    char size[32], params[32], bpt[32], kv[32];
    fmt_size(size, sizeof size, bs->info.weight_bytes);
    fmt_size(kv, sizeof kv, bs->kv_bytes);
    fmt_count(params, sizeof params, bs->info.n_params);
    fmt_size(bpt, sizeof bpt, r->bytes_per_token);
    printf("| %s | %s | %s | %s | %s | %lld | %s %s | %s | %.2f ± %.2f | %s | %.1f GB/s | %.1f%% |\n",
           bs->model_name, size, params, bs->type, bs->isa, (long long)bs->n_threads, bs->kv_type, kv, r->test,
           r->tps_median, r->tps_stddev, bpt, r->bandwidth_gbs, 100.0 * roofline(bs, r));
}

/* CSV/JSON string: quotes and backslashes escaped, control bytes dropped. */
static void print_escaped(const char *s, bool json) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20) continue;
        if (json && (ch == '"' || ch == '\\')) printf("\\%c", ch);
        else if (!json && ch == '"') printf("\"\"");
        else putchar(ch);
    }
    putchar('"');
}

/* CSV: a header line, then one row per test with the JSON line's scalars. */
static void print_csv_header(void) {
    printf("model,general_name,model_path,model_size,n_params,type,isa,threads,kv_type,kv_bytes,weights,test,n_prompt,n_gen,n_depth,reps,"
           "tokens_per_s,stddev,bytes_per_token,kv_bytes_per_token,bandwidth_gbs,roofline_fraction\n");
}

static void print_csv_row(const bench_setup *bs, const bench_result *r) {
    print_escaped(bs->model_name, false);
    putchar(',');
    print_escaped(bs->info.name ? bs->info.name : "", false);
    putchar(',');
    print_escaped(bs->model_path, false);
    printf(",%llu,%llu,%s,%s,%lld,%s,%llu,%s,%s,%lld,%lld,%lld,%lld,%.4f,%.4f,%llu,%llu,%.3f,%.6f\n",
           (unsigned long long)bs->info.weight_bytes, (unsigned long long)bs->info.n_params, bs->type,
           bs->isa, (long long)bs->n_threads, bs->kv_type, (unsigned long long)bs->kv_bytes, bs->info.storage, r->test, (long long)r->n_prompt, (long long)r->n_gen, (long long)r->n_depth,
           (long long)bs->reps, r->tps_median, r->tps_stddev, (unsigned long long)r->bytes_per_token,
           (unsigned long long)r->kv_read, r->bandwidth_gbs, roofline(bs, r));
}

/* One JSON object on one line per test. */
static void print_json_row(const bench_setup *bs, const bench_result *r) {
    printf("{\"model\": ");
    print_escaped(bs->model_name, true);
    printf(", \"general_name\": ");
    print_escaped(bs->info.name ? bs->info.name : "", true);
    printf(", \"model_path\": ");
    print_escaped(bs->model_path, true);
    printf(", \"model_size\": %llu, \"n_params\": %llu, \"type\": \"%s\", \"isa\": \"%s\", "
           "\"threads\": %lld, \"kv_type\": \"%s\", \"kv_bytes\": %llu, \"weights\": \"%s\", \"test\": \"%s\", \"n_prompt\": %lld, \"n_gen\": %lld, \"n_depth\": %lld, \"reps\": %lld, "
           "\"tokens_per_s\": %.4f, \"stddev\": %.4f, \"samples_ts\": [",
           (unsigned long long)bs->info.weight_bytes, (unsigned long long)bs->info.n_params, bs->type,
           bs->isa, (long long)bs->n_threads, bs->kv_type, (unsigned long long)bs->kv_bytes, bs->info.storage,
           r->test, (long long)r->n_prompt, (long long)r->n_gen, (long long)r->n_depth, (long long)bs->reps, r->tps_median,
           r->tps_stddev);
    for (int64_t i = 0; i < bs->reps; i++) printf("%s%.4f", i ? ", " : "", r->samples[i]);
    printf("], ");
    if (r->n_prompt == 0) { /* tg: the bandwidth measured before each repetition */
        printf("\"bandwidth_samples_gbs\": [");
        for (int64_t i = 0; i < bs->reps; i++) printf("%s%.3f", i ? ", " : "", r->bw_samples[i]);
        printf("], ");
    }
    printf("\"bytes_per_token\": %llu, \"weight_bytes_per_token\": %llu, \"kv_bytes_per_token\": %llu, "
           "\"bandwidth_gbs\": %.3f, \"bandwidth_buffer_bytes\": %llu, \"roofline_fraction\": %.6f}\n",
           (unsigned long long)r->bytes_per_token, (unsigned long long)bs->weight_bytes_per_token,
           (unsigned long long)r->kv_read, r->bandwidth_gbs,
           (unsigned long long)bs->bw_buffer_bytes, roofline(bs, r));
}

/* ---- main ---- */

int cmd_bench(int argc, char **argv) {
    bench_setup bs = {.n_threads = 0, .reps = 5};
    int64_t n_prompt = 512, n_gen = 128, n_depth = 0, bw_mib = 0;
    const char *kv_type = NULL;
    out_fmt fmt = OUT_MD;
    mote_load_mode load_mode = MOTE_LOAD_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VAL() if (!(v = cli_value("bench", argc, argv, &i))) return 2
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { printf("%s%s  -h, --help           this text\n", bench_help, cli_load_help); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { VAL(); bs.model_path = v; }
        else if (!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) { VAL(); if (!cli_parse_i64("bench", a, v, 0, 1 << 20, &n_prompt)) return 2; }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-gen")) { VAL(); if (!cli_parse_i64("bench", a, v, 0, 1 << 20, &n_gen)) return 2; }
        else if (!strcmp(a, "-d") || !strcmp(a, "--depth")) { VAL(); if (!cli_parse_i64("bench", a, v, 0, 1 << 20, &n_depth)) return 2; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { VAL(); if (!cli_parse_i64("bench", a, v, 1, 1024, &bs.n_threads)) return 2; }
        else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) { VAL(); if (!cli_parse_i64("bench", a, v, 1, 1000, &bs.reps)) return 2; }
        else if (!strcmp(a, "--kv-type")) { VAL(); kv_type = v; }
        else if (cli_parse_load_flag(a, &load_mode)) {}
        else if (!strcmp(a, "--bw-mib")) { VAL(); if (!cli_parse_i64("bench", a, v, 1, 1 << 16, &bw_mib)) return 2; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            VAL();
            if (!strcmp(v, "md")) fmt = OUT_MD;
            else if (!strcmp(v, "csv")) fmt = OUT_CSV;
            else if (!strcmp(v, "json")) fmt = OUT_JSON;
            else return cli_usage_error("bench", "-o expects md, csv or json, not '%s'", v);
        }
        else return cli_usage_error("bench", "unknown option '%s'", a);
#undef VAL
    }
    if (!bs.model_path) return cli_usage_error("bench", "no model given (-m MODEL)");
    if (n_prompt == 0 && n_gen == 0) return cli_usage_error("bench", "-p and -n are both 0: nothing to measure");

    mote_error err = {0};
    mote_model *m;
    if (mote_model_load_with(bs.model_path, load_mode, &m, &err)) return cli_fail("bench", "%s", err.msg);
    mote_model_get_info(m, &bs.info);
    /* The file's name tells the variants apart (general.name often does
     * not: "llama"); JSON and CSV carry both. */
    const char *base = strrchr(bs.model_path, '/');
    snprintf(bs.model_name, sizeof bs.model_name, "%s", base ? base + 1 : bs.model_path);
    size_t len = strlen(bs.model_name);
    if (len > 5 && !strcmp(bs.model_name + len - 5, ".gguf")) bs.model_name[len - 5] = '\0';
    bs.type = mote_model_weight_type(m);
    bs.isa = mote_model_kernel_isa(m);
    bs.weight_bytes_per_token = mote_model_bytes_per_token(m);

    int rc = 0;
    mote_ctx *c = NULL;
    mote_bandwidth_meter *meter = NULL;
    /* the depth's tokens, then the tests' */
    int64_t n_tokens = n_depth + (n_prompt > n_gen ? n_prompt : n_gen);
    int32_t *tokens = malloc((size_t)n_tokens * sizeof *tokens);
    bench_result res[2];
    int n_res = 0;
    memset(res, 0, sizeof res);
    for (int k = 0; k < 2; k++) {
        res[k].samples = calloc((size_t)bs.reps, sizeof(double));
        res[k].bw_samples = calloc((size_t)bs.reps, sizeof(double));
    }
    if (!tokens || !res[0].samples || !res[1].samples || !res[0].bw_samples || !res[1].bw_samples) { rc = cli_fail("bench", "out of memory"); goto done; }
    for (int64_t i = 0; i < n_tokens; i++) tokens[i] = bench_token(i, bs.info.n_vocab);

    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_ctx = (int32_t)n_tokens;
    cp.n_threads = (int32_t)bs.n_threads;
    cp.kv_type = kv_type;
    if (mote_ctx_new(m, &cp, &c, &err)) { rc = cli_fail("bench", "%s", err.msg); goto done; }
    /* -t 0 (the default): the library's choice, the physical cores. */
    bs.n_threads = mote_ctx_n_threads(c);
    bs.kv_type = mote_ctx_kv_type(c);
    bs.kv_bytes = mote_ctx_kv_bytes(c);
    bs.kv_bytes_per_pos = bs.kv_bytes / (uint64_t)mote_ctx_n_ctx(c);

    /* Bandwidth first, while the model's pages are not yet competing. One
     * buffer for the whole run (mote.h: freeing it before each repetition
     * slowed the repetition). */
    if (mote_bandwidth_meter_new((uint64_t)bw_mib << 20, &meter, &err) ||
        mote_bandwidth_meter_read(meter, (int32_t)bs.n_threads, BW_PASSES, &bs.bandwidth_gbs,
                                  &bs.bw_buffer_bytes, &err)) {
        rc = cli_fail("bench", "%s", err.msg);
        goto done;
    }
    if (n_gen == 0) { /* no tg test reads it again */
        mote_bandwidth_meter_free(meter);
        meter = NULL;
    }
    fprintf(stderr, "mote bench: %s: %s, %s kernels, %lld threads; weights %s; kv cache %s, %llu bytes; memory read "
            "bandwidth %.1f GB/s (the fastest of its read patterns, median of %d passes each over %llu MiB)\n",
            bs.model_path, bs.type, bs.isa, (long long)bs.n_threads,
            !strcmp(bs.info.storage, "read") ? "read into memory" : "mapped from the file", bs.kv_type,
            (unsigned long long)bs.kv_bytes, bs.bandwidth_gbs, BW_PASSES,
            (unsigned long long)(bs.bw_buffer_bytes >> 20));

    /* Warm-up: one token reads every weight once (pages them in). */
    mote_ctx_reset(c);
    if (mote_ctx_decode(c, tokens, 1, NULL, &err)) { rc = cli_fail("bench", "%s", err.msg); goto done; }
    /* The depth: decoded once; each repetition truncates back to it. */
    mote_ctx_reset(c);
    if (n_depth > 0) {
        double t0 = mote_time_now();
        if (mote_ctx_decode(c, tokens, (int32_t)n_depth, NULL, &err)) {
            rc = cli_fail("bench", "filling the context to depth %lld: %s", (long long)n_depth, err.msg);
            goto done;
        }
        fprintf(stderr, "mote bench: context filled to depth %lld in %.1f s\n", (long long)n_depth,
                mote_time_now() - t0);
    }

    if (fmt == OUT_MD) print_md_header();
    else if (fmt == OUT_CSV) print_csv_header();
    for (int k = 0; k < 2; k++) {
        int64_t p = k == 0 ? n_prompt : 0, g = k == 1 ? n_gen : 0;
        if (p == 0 && g == 0) continue;
        bench_result *r = &res[n_res];
        snprintf(r->test, sizeof r->test, k == 0 ? "pp%lld" : "tg%lld", (long long)(p + g));
        if (n_depth > 0)
            snprintf(r->test + strlen(r->test), sizeof r->test - strlen(r->test), " @ d%lld", (long long)n_depth);
        r->n_prompt = p;
        r->n_gen = g;
        r->n_depth = n_depth;
        /* tg: the token at position D + i reads the K and V rows of
         * positions 0..D + i, D + (N + 1) / 2 of them on average */
        r->kv_read = g > 0 ? bs.kv_bytes_per_pos * (uint64_t)(2 * n_depth + g + 1) / 2 : 0;
        r->bytes_per_token = bs.weight_bytes_per_token + r->kv_read;
        if ((rc = run_test(c, &bs, meter, tokens + n_depth, p, g, n_depth, r))) goto done;
        n_res++;
        if (fmt == OUT_MD) print_md_row(&bs, r);
        else if (fmt == OUT_CSV) print_csv_row(&bs, r);
        else print_json_row(&bs, r);
        fflush(stdout);
    }
done:
    free(tokens);
    for (int k = 0; k < 2; k++) {
        free(res[k].samples);
        free(res[k].bw_samples);
    }
    mote_bandwidth_meter_free(meter);
    mote_ctx_free(c);
    mote_model_free(m);
    return rc;
}
