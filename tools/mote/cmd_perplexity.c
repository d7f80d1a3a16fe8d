/* cmd_perplexity.c — `mote perplexity`: perplexity and bits per byte of a
 * model on a text, and (against saved base logits) KL divergence and
 * top-token agreement: how much quantizing a model hurts it. Calls only
 * mote.h (mote_perplexity does the work). */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ppl_help =
    "usage: mote perplexity -m MODEL -f TEXT [options]\n"
    "\n"
    "Perplexity of MODEL on the text file TEXT, with its standard error, and the\n"
    "bits per byte of the text. The text is tokenized without special tokens and\n"
    "cut into non-overlapping windows of CTX positions. When the model's vocab\n"
    "starts a text with BOS (add_bos_token; most models) each window is BOS +\n"
    "the next CTX-1 text tokens and EVERY text token is scored, from BOS and the\n"
    "window's tokens before it (not llama.cpp's scheme, which scores only the\n"
    "second half of each window: perplexities are higher than llama-perplexity's);\n"
    "otherwise a window is CTX tokens and all positions after its first are\n"
    "scored. Bits per byte: the summed negative log-likelihood in bits / the\n"
    "bytes the scored tokens decode to (with BOS, every byte of the text).\n"
    "Progress goes to stderr.\n"
    "\n"
    "  -m, --model FILE     GGUF model (Llama architecture)\n"
    "  -f, --file TEXT      the text to score (UTF-8)\n"
    "  -c, --ctx N          window size in tokens (default 512, or the model's\n"
    "                       context when shorter; at most the model's context)\n"
    "  -b, --batch N        tokens evaluated together (default 512)\n"
    "  -t, --threads N      threads (default: the physical cores)\n"
    "  --kv-type T          KV cache type: f32 (default), f16, bf16, q8_0, q5_1,\n"
    "                       q5_0, q4_1, q4_0, iq4_nl\n"
    "  --lora FILE[:SCALE]  evaluate with a LoRA adapter applied at strength SCALE\n"
    "                       (default 1); repeatable, up to 8\n"
    "  --save-logits FILE   save the log-probabilities of every scored position\n"
    "                       (16 bits each; the header names the model, vocabulary,\n"
    "                       window and text) as the base for --kl-base\n"
    "  --kl-base FILE       compare with base logits saved by another model on the\n"
    "                       same text and -c: mean KL(base || model) with its\n"
    "                       standard error, 99th percentile and maximum, and the\n"
    "                       share of positions whose most likely token is unchanged\n"
    "  -o, --output FMT     text (default) or json: one object with ppl, ppl_err,\n"
    "                       bits_per_byte, nll_mean, n_tokens, n_scored, n_bytes,\n"
    "                       n_windows, n_ctx, kv_type, and with --kl-base kld_mean,\n"
    "                       kld_err, kld_p99, kld_max, same_top (a fraction)\n";

/* Progress on stderr: a line per window, at most ~20 lines per run. */
static void progress(void *user, int64_t done, int64_t n_windows, double ppl) {
    (void)user;
    int64_t every = n_windows / 20 + 1;
    if (done % every == 0 || done == n_windows)
        fprintf(stderr, "mote perplexity: window %lld/%lld, perplexity so far %.4f\n", (long long)done,
                (long long)n_windows, ppl);
}

int cmd_perplexity(int argc, char **argv) {
    const char *model_path = NULL, *text_path = NULL, *kv_type = NULL;
    const char *lora_paths[8];
    float lora_scales[8];
    mote_lora *loras[8] = {0};
    int n_lora = 0;
    int64_t n_ctx = 0, n_batch = 0, n_threads = 0;
    bool json = false;
    mote_load_mode load_mode = MOTE_LOAD_AUTO;
    mote_ppl_params pp = mote_ppl_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VAL() if (!(v = cli_value("perplexity", argc, argv, &i))) return 2
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { printf("%s%s  -h, --help           this text\n", ppl_help, cli_load_help); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { VAL(); model_path = v; }
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) { VAL(); text_path = v; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) { VAL(); if (!cli_parse_i64("perplexity", a, v, 2, 1 << 22, &n_ctx)) return 2; }
        else if (!strcmp(a, "-b") || !strcmp(a, "--batch")) { VAL(); if (!cli_parse_i64("perplexity", a, v, 1, 1 << 16, &n_batch)) return 2; }
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { VAL(); if (!cli_parse_i64("perplexity", a, v, 1, 256, &n_threads)) return 2; }
        else if (!strcmp(a, "--kv-type")) { VAL(); kv_type = v; }
        else if (cli_parse_load_flag(a, &load_mode)) {}
        else if (!strcmp(a, "--save-logits")) { VAL(); pp.save_logits = v; }
        else if (!strcmp(a, "--kl-base")) { VAL(); pp.kl_base = v; }
        else if (!strcmp(a, "--lora")) {
            VAL();
            if (n_lora == 8) return cli_usage_error("perplexity", "at most 8 adapters can be applied");
            if (!cli_parse_lora_arg("perplexity", v, &lora_paths[n_lora], &lora_scales[n_lora])) return 2;
            n_lora++;
        }
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            VAL();
            if (!strcmp(v, "text")) json = false;
            else if (!strcmp(v, "json")) json = true;
            else return cli_usage_error("perplexity", "-o expects text or json, not '%s'", v);
        }
        else return cli_usage_error("perplexity", "unknown option '%s'", a);
#undef VAL
    }
    if (!model_path) return cli_usage_error("perplexity", "no model given: pass one with -m MODEL");
    if (!text_path) return cli_usage_error("perplexity", "no text given: pass one with -f TEXT");
    if (pp.save_logits && pp.kl_base && !strcmp(pp.save_logits, pp.kl_base))
        return cli_usage_error("perplexity", "--save-logits and --kl-base name the same file");

    int rc = 1;
    mote_error err = {0};
    mote_model *model = NULL;
    mote_ctx *ctx = NULL;
    size_t len = 0;
    char *text = cli_read_file("perplexity", text_path, &len);
    if (!text) return 1;
    if (len == 0) {
        cli_fail("perplexity", "%s is empty: nothing to score", text_path);
        goto done;
    }
    if (mote_model_load_with(model_path, load_mode, &model, &err)) { cli_fail("perplexity", "%s", err.msg); goto done; }
    for (int i = 0; i < n_lora; i++)
        if (mote_lora_open(lora_paths[i], &loras[i], &err)) { cli_fail("perplexity", "%s", err.msg); goto done; }
    mote_model_info info;
    mote_model_get_info(model, &info);
    if (n_ctx > info.n_ctx_train) {
        cli_fail("perplexity", "-c %lld is longer than the model's context of %d tokens", (long long)n_ctx,
                 (int)info.n_ctx_train);
        goto done;
    }
    mote_ctx_params cp = mote_ctx_default_params();
    cp.n_ctx = n_ctx > 0 ? (int32_t)n_ctx : (info.n_ctx_train < 512 ? info.n_ctx_train : 512);
    cp.n_batch = (int32_t)n_batch;
    cp.n_threads = (int32_t)n_threads;
    cp.kv_type = kv_type;
    if (mote_ctx_new(model, &cp, &ctx, &err)) { cli_fail("perplexity", "%s", err.msg); goto done; }
    for (int i = 0; i < n_lora; i++)
        if (mote_ctx_lora_attach(ctx, loras[i], lora_scales[i], &err)) { cli_fail("perplexity", "%s", err.msg); goto done; }

    pp.progress = progress;
    mote_ppl_result r;
    double t0 = mote_time_now();
    if (mote_perplexity(ctx, text, len, &pp, &r, &err)) { cli_fail("perplexity", "%s: %s", text_path, err.msg); goto done; }
    double dt = mote_time_now() - t0;
    fprintf(stderr, "mote perplexity: %lld tokens scored in %.2f s (%.1f tokens/s), %d threads, kv cache %s\n",
            (long long)r.n_scored, dt, dt > 0 ? (double)r.n_scored / dt : 0.0, (int)mote_ctx_n_threads(ctx),
            mote_ctx_kv_type(ctx));
    if (pp.save_logits) fprintf(stderr, "mote perplexity: base logits saved to %s\n", pp.save_logits);

    if (json) {
        printf("{\"ppl\": %.6f, \"ppl_err\": %.6f, \"bits_per_byte\": %.6f, \"nll_mean\": %.6f, "
               "\"n_tokens\": %lld, \"n_scored\": %lld, \"n_bytes\": %lld, \"n_windows\": %lld, "
               "\"n_ctx\": %d, \"kv_type\": \"%s\"",
               r.ppl, r.ppl_err, r.bits_per_byte, r.nll_mean, (long long)r.n_tokens,
               (long long)r.n_scored, (long long)r.n_bytes, (long long)r.n_windows, (int)r.n_ctx,
               mote_ctx_kv_type(ctx));
        if (r.has_kl)
            printf(", \"kld_mean\": %.9g, \"kld_err\": %.9g, \"kld_p99\": %.9g, \"kld_max\": %.9g, "
                   "\"same_top\": %.6f",
                   r.kld_mean, r.kld_err, r.kld_p99, r.kld_max, r.same_top);
        printf("}\n");
    } else {
        printf("perplexity: %.4f ± %.4f\n", r.ppl, r.ppl_err);
        printf("bits per byte: %.4f (%lld tokens scored, %lld bytes)\n", r.bits_per_byte,
               (long long)r.n_scored, (long long)r.n_bytes);
        printf("windows: %lld of %d positions (%s)\n", (long long)r.n_windows, (int)r.n_ctx,
               r.bos_windows ? "BOS + text; every text token scored"
                             : "no BOS: the first token of each window is not scored");
        if (r.has_kl) {
            printf("KL divergence from the base%s%s%s: mean %.6f ± %.6f, 99th percentile %.6f, max %.6f\n",
                   r.base_model[0] ? " ('" : "", r.base_model, r.base_model[0] ? "')" : "", r.kld_mean,
                   r.kld_err, r.kld_p99, r.kld_max);
            printf("same top token: %.2f%%\n", 100.0 * r.same_top);
        }
    }
    rc = 0;
done:
    mote_ctx_free(ctx);
    for (int i = 0; i < n_lora; i++) mote_lora_free(loras[i]);
    mote_model_free(model);
    free(text);
    return rc;
}
