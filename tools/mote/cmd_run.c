/* cmd_run.c — `mote run`: load a model, evaluate a prompt, stream generated
 * text to stdout, timings to stderr. */
#include "cli.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *run_help =
    "usage: mote run [-m MODEL] [options]\n"
    "\n"
    "Generate text. The prompt (if any) is echoed, then the continuation is\n"
    "streamed to stdout as it is produced; load time and speeds go to stderr.\n"
    "With no prompt, generation starts from the BOS token alone.\n"
    "\n"
    "  -m, --model FILE     GGUF model (Llama architecture); without it, mote's\n"
    "                       built-in default model mote-tiny (5.5M parameters,\n"
    "                       trained by mote on English text: the KJV Bible, the\n"
    "                       Jargon File, fortunes)\n"
    "  -p, --prompt TEXT    prompt text (BOS is added)\n"
    "  --prompt-ids \"ID ..\" prompt as token ids, used verbatim (no BOS added)\n"
    "  -n, --n-predict N    tokens to generate (default 128); stops early at EOS\n"
    "  -c, --ctx N          context length (default: the model's, at most 4096)\n"
    "  -t, --threads N      threads to compute with (default: the physical cores)\n"
    "  -b, --batch N        prompt tokens evaluated together (default 512)\n"
    "  --lora FILE[:SCALE]  apply a LoRA adapter (llama.cpp's adapter GGUF) at\n"
    "                       strength SCALE (default 1); repeatable, up to 8\n"
    "  --kv-type T          KV cache element type: f32 (default), f16, bf16, q8_0,\n"
    "                       q5_1, q5_0, q4_1, q4_0, iq4_nl (2x to 7x less memory; the\n"
    "                       32-block types need n_head_kv x head size divisible by 32)\n"
    "  --temp T             temperature (default 0.8); 0 is greedy\n"
    "  --top-k K            keep the K most likely tokens (default 40; 0 = off)\n"
    "  --top-p P            keep the smallest set with probability >= P (default 0.95; 1 = off)\n"
    "  --min-p P            drop tokens below P x the top probability (default 0.05; 0 = off)\n"
    "  --repeat-penalty R   penalise the last --repeat-last-n tokens (default 1.0 = off)\n"
    "  --repeat-last-n N    window of the penalty (default 64)\n"
    "  --seed S             random seed (default: from the clock; printed to stderr)\n"
    "  --dump-logits FILE   write the float32 logits of every evaluated position\n"
    "                       (prompt tokens, then each generated token), n_vocab a row\n";

/* Parse "1 2 3" into a malloc'd array of ids. */
static int32_t *parse_ids(const char *s, int32_t *n_out) {
    size_t cap = 16, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    const char *p = s;
    while (ids) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ' ' && *end != ',' && *end != '\t' && *end != '\n')) {
            cli_usage_error("run", "--prompt-ids expects non-negative token ids separated by spaces, not '%s'", s);
            free(ids);
            return NULL;
        }
        if (n == cap) {
            int32_t *nid = realloc(ids, (cap *= 2) * sizeof *ids);
            if (!nid) { free(ids); ids = NULL; break; }
            ids = nid;
        }
        ids[n++] = (int32_t)v;
        p = end;
    }
    if (!ids) { cli_fail("run", "out of memory"); return NULL; }
    *n_out = (int32_t)n;
    return ids;
}

int cmd_run(int argc, char **argv) {
    const char *model_path = NULL, *prompt = NULL, *prompt_ids = NULL, *dump_path = NULL;
    const char *kv_type = NULL;
    const char *lora_paths[8];
    float lora_scales[8];
    mote_lora *loras[8] = {0};
    int n_lora = 0;
    int64_t n_predict = 128, n_ctx = 0, top_k = 40, repeat_last_n = 64, n_threads = 0, n_batch = 0;
    mote_sampler_params sp = mote_sampler_default_params();
    bool seed_given = false;
    mote_load_mode load_mode = MOTE_LOAD_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VAL() if (!(v = cli_value("run", argc, argv, &i))) return 2
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { printf("%s%s  -h, --help           this text\n", run_help, cli_load_help); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { VAL(); model_path = v; }
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) { VAL(); prompt = v; }
        else if (!strcmp(a, "--prompt-ids")) { VAL(); prompt_ids = v; }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { VAL(); if (!cli_parse_i64("run", a, v, 0, 1 << 24, &n_predict)) return 2; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) { VAL(); if (!cli_parse_i64("run", a, v, 1, 1 << 22, &n_ctx)) return 2; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { VAL(); if (!cli_parse_i64("run", a, v, 1, 256, &n_threads)) return 2; }
        else if (!strcmp(a, "-b") || !strcmp(a, "--batch")) { VAL(); if (!cli_parse_i64("run", a, v, 1, 1 << 16, &n_batch)) return 2; }
        else if (!strcmp(a, "--temp")) { VAL(); if (!cli_parse_f32("run", a, v, 0, 100, &sp.temperature)) return 2; }
        else if (!strcmp(a, "--top-k")) { VAL(); if (!cli_parse_i64("run", a, v, 0, INT32_MAX, &top_k)) return 2; }
        else if (!strcmp(a, "--top-p")) { VAL(); if (!cli_parse_f32("run", a, v, 1e-6, 1, &sp.top_p)) return 2; }
        else if (!strcmp(a, "--min-p")) { VAL(); if (!cli_parse_f32("run", a, v, 0, 0.999999, &sp.min_p)) return 2; }
        else if (!strcmp(a, "--repeat-penalty")) { VAL(); if (!cli_parse_f32("run", a, v, 1e-3, 1e3, &sp.repeat_penalty)) return 2; }
        else if (!strcmp(a, "--repeat-last-n")) { VAL(); if (!cli_parse_i64("run", a, v, 0, 1 << 20, &repeat_last_n)) return 2; }
        else if (!strcmp(a, "--seed")) { VAL(); if (!cli_parse_u64("run", a, v, &sp.seed)) return 2; seed_given = true; }
        else if (!strcmp(a, "--dump-logits")) { VAL(); dump_path = v; }
        else if (!strcmp(a, "--kv-type")) { VAL(); kv_type = v; }
        else if (cli_parse_load_flag(a, &load_mode)) {}
        else if (!strcmp(a, "--lora")) {
            VAL();
            if (n_lora == 8) return cli_usage_error("run", "at most 8 adapters can be applied");
            if (!cli_parse_lora_arg("run", v, &lora_paths[n_lora], &lora_scales[n_lora])) return 2;
            n_lora++;
        }
        else return cli_usage_error("run", "unknown option '%s'", a);
#undef VAL
    }
    const void *builtin = NULL;
    uint64_t builtin_size = 0;
    if (!model_path && !cli_default_model(&builtin, &builtin_size))
        return cli_usage_error("run", "no model given: pass one with -m MODEL (this build has no built-in model)");
    if (!model_path) model_path = CLI_DEFAULT_MODEL_NAME;
    if (prompt && prompt_ids) return cli_usage_error("run", "give -p or --prompt-ids, not both");
    sp.top_k = (int32_t)top_k;
    sp.repeat_last_n = (int32_t)repeat_last_n;
    if (!seed_given) sp.seed = (uint64_t)(mote_time_now() * 1e9);

    int rc = 1;
    mote_error err = {0};
    mote_model *model = NULL;
    mote_ctx *ctx = NULL;
    mote_sampler *sampler = NULL;
    int32_t *tokens = NULL;
    FILE *dump = NULL;
    float *dump_rows = NULL;

    double t0 = mote_time_now();
    if (builtin ? mote_model_load_memory(builtin, builtin_size, model_path, &model, &err)
                : mote_model_load_with(model_path, load_mode, &model, &err)) {
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    for (int i = 0; i < n_lora; i++)
        if (mote_lora_open(lora_paths[i], &loras[i], &err)) { cli_fail("run", "%s", err.msg); goto done; }
    double t_load = mote_time_now() - t0;
    mote_model_info info;
    mote_model_get_info(model, &info);
    const mote_vocab *vocab = mote_model_vocab(model);

    int32_t n_prompt = 0;
    if (prompt_ids) {
        if (!(tokens = parse_ids(prompt_ids, &n_prompt))) { rc = 2; goto done; }
    } else if (prompt) {
        if (!vocab) { cli_fail("run", "%s has no tokenizer: give the prompt with --prompt-ids", model_path); goto done; }
        int64_t need = 0;
        size_t len = strlen(prompt);
        mote_tokenize(vocab, prompt, len, 1, NULL, 0, &need, NULL);
        tokens = malloc((size_t)(need > 0 ? need : 1) * sizeof *tokens);
        if (!tokens) { cli_fail("run", "out of memory"); goto done; }
        if (mote_tokenize(vocab, prompt, len, 1, tokens, need, &need, &err)) { cli_fail("run", "%s", err.msg); goto done; }
        n_prompt = (int32_t)need;
    } else {
        if (info.bos_id < 0) { cli_fail("run", "%s has no BOS token: give a prompt with -p or --prompt-ids", model_path); goto done; }
        if (!(tokens = malloc(sizeof *tokens))) { cli_fail("run", "out of memory"); goto done; }
        tokens[0] = info.bos_id;
        n_prompt = 1;
    }
    if (n_prompt == 0) { cli_fail("run", "the prompt is empty: nothing to evaluate"); goto done; }
    for (int32_t i = 0; i < n_prompt; i++)
        if (tokens[i] >= info.n_vocab) {
            cli_fail("run", "prompt token id %d is out of range: the vocabulary has %d tokens", (int)tokens[i], (int)info.n_vocab);
            goto done;
        }

    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_ctx = n_ctx > 0 ? (int32_t)n_ctx : (info.n_ctx_train < 4096 ? info.n_ctx_train : 4096);
    cp.n_threads = (int32_t)n_threads;
    cp.n_batch = (int32_t)n_batch;
    cp.kv_type = kv_type;
    if (n_prompt > cp.n_ctx) {
        cli_fail("run", "the prompt has %d tokens but the context holds %d: shorten it or raise -c", (int)n_prompt, (int)cp.n_ctx);
        goto done;
    }
    if (mote_ctx_new(model, &cp, &ctx, &err)) { cli_fail("run", "%s", err.msg); goto done; }
    for (int i = 0; i < n_lora; i++)
        if (mote_ctx_lora_attach(ctx, loras[i], lora_scales[i], &err)) { cli_fail("run", "%s", err.msg); goto done; }
    if (mote_sampler_new(&sp, info.n_vocab, &sampler, &err)) { cli_fail("run", "%s", err.msg); goto done; }
    if (dump_path && !(dump = fopen(dump_path, "wb"))) {
        cli_fail("run", "%s: cannot open for writing: %s", dump_path, strerror(errno));
        goto done;
    }
    if (!seed_given && sp.temperature > 0) fprintf(stderr, "seed: %llu\n", (unsigned long long)sp.seed);

    /* Echo the prompt as text, then stream the continuation (mote_detok
     * holds back a UTF-8 character split across tokens until it is whole). */
    char piece[300];
    mote_detok detok;
    mote_detok_init(&detok, vocab);
    if (vocab)
        for (int32_t i = 0; i < n_prompt; i++) {
            int np = mote_detok_push(&detok, tokens[i], piece, sizeof piece);
            if (np > 0) fwrite(piece, 1, (size_t)np, stdout);
        }
    fflush(stdout);

    /* The prompt in one call (the library batches it); with --dump-logits,
     * in chunks of the context's batch size, every row kept. */
    int32_t chunk = dump ? mote_ctx_n_batch(ctx) : n_prompt;
    if (dump && !(dump_rows = malloc((size_t)chunk * (size_t)info.n_vocab * sizeof(float)))) {
        cli_fail("run", "out of memory");
        goto done;
    }
    double t1 = mote_time_now();
    for (int32_t i = 0; i < n_prompt; i += chunk) {
        int32_t nc = n_prompt - i < chunk ? n_prompt - i : chunk;
        if (mote_ctx_decode(ctx, &tokens[i], nc, dump_rows, &err)) { cli_fail("run", "%s", err.msg); goto done; }
        if (dump && fwrite(dump_rows, sizeof(float) * (size_t)info.n_vocab, (size_t)nc, dump) != (size_t)nc) {
            cli_fail("run", "%s: write failed", dump_path);
            goto done;
        }
    }
    double t_prompt = mote_time_now() - t1;
    for (int32_t i = 0; i < n_prompt; i++) mote_sampler_accept(sampler, tokens[i]);

    double t2 = mote_time_now();
    int64_t n_gen = 0;
    bool ctx_full = false;
    while (n_gen < n_predict) {
        int32_t tok = mote_sampler_sample(sampler, mote_ctx_logits(ctx));
        if (tok == info.eos_id) break;
        n_gen++;
        mote_sampler_accept(sampler, tok);
        if (vocab) {
            int np = mote_detok_push(&detok, tok, piece, sizeof piece);
            if (np > 0) {
                fwrite(piece, 1, (size_t)np, stdout);
                fflush(stdout);
            }
        }
        /* Evaluate the new token when more are to come, or when its logits
         * are to be dumped. */
        if (n_gen < n_predict || dump) {
            if (mote_ctx_n_past(ctx) >= mote_ctx_n_ctx(ctx)) { ctx_full = true; break; }
            if (mote_ctx_decode(ctx, &tok, 1, NULL, &err)) { cli_fail("run", "%s", err.msg); goto done; }
            if (dump && fwrite(mote_ctx_logits(ctx), sizeof(float), (size_t)info.n_vocab, dump) != (size_t)info.n_vocab) {
                cli_fail("run", "%s: write failed", dump_path);
                goto done;
            }
        }
    }
    double t_gen = mote_time_now() - t2;
    if (vocab) fwrite(piece, 1, (size_t)mote_detok_flush(&detok, piece, sizeof piece), stdout);
    fputc('\n', stdout);
    fflush(stdout);
    if (ctx_full)
        fprintf(stderr, "mote run: stopped: the context of %d tokens is full (raise -c)\n", (int)mote_ctx_n_ctx(ctx));
    if (dump && fclose(dump) != 0) { dump = NULL; cli_fail("run", "%s: write failed", dump_path); goto done; }
    dump = NULL;
    fprintf(stderr, "load: %.1f ms (%s) | prompt: %d tokens, %.1f tokens/s | generation: %lld tokens, %.1f tokens/s | threads: %d | kv cache: %s, %.2f MiB\n",
            t_load * 1e3, info.storage, (int)n_prompt, t_prompt > 0 ? n_prompt / t_prompt : 0.0, (long long)n_gen,
            t_gen > 0 ? (double)n_gen / t_gen : 0.0, (int)mote_ctx_n_threads(ctx), mote_ctx_kv_type(ctx),
            (double)mote_ctx_kv_bytes(ctx) / 1048576.0);
    rc = 0;
done:
    if (dump) fclose(dump);
    free(dump_rows);
    free(tokens);
    mote_sampler_free(sampler);
    mote_ctx_free(ctx);
    for (int i = 0; i < n_lora; i++) mote_lora_free(loras[i]);
    mote_model_free(model);
    return rc;
}
