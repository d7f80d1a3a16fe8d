/* cmd_finetune.c — `mote finetune`: continue training an existing GGUF
 * model on a text file, either whole (every weight; an F32/F16/BF16 base,
 * written as an F32 model with the base's tokenizer) or with --lora (only
 * low-rank adapters on a frozen base of any type, written as a llama.cpp
 * LoRA adapter GGUF).
 *
 * The options, the text and the loop are train_common.c's (shared with
 * `mote train`); the base's tokenizer tokenizes the text. Not here:
 * anything of the training itself (src/train/ through mote.h).
 */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *finetune_help_head =
    "usage: mote finetune -m BASE.gguf --data FILE -o OUT.gguf [options]\n"
    "       mote finetune -m BASE.gguf --lora [--rank R] [--alpha A] [--targets LIST]\n"
    "                     --data FILE -o ADAPTER.gguf [options]\n"
    "\n"
    "Continue training the Llama model BASE on the text of FILE (tokenized with\n"
    "BASE's tokenizer), with AdamW.\n"
    "\n"
    "Full fine-tuning (the default) trains every weight of an F32, F16 or BF16\n"
    "base and writes OUT.gguf, an F32 model with BASE's tokenizer. A quantized\n"
    "base (Q8_0, Q4_0, ...) cannot be trained whole: use --lora.\n"
    "\n"
    "With --lora the base stays frozen, in its own type (quantized ones\n"
    "included: each matrix is dequantized as its layer runs), and only low-rank\n"
    "adapters train: W x + (alpha/rank) B A x on each target matrix, A random\n"
    "and B zero at the start. The adapters are written in llama.cpp's LoRA\n"
    "adapter GGUF format, which `mote run --lora`, `mote merge` and llama.cpp's\n"
    "--lora read.\n"
    "\n"
    "  -m, --model FILE   the base model (GGUF, Llama architecture)\n"
    "  --lora             train LoRA adapters instead of every weight\n"
    "  --rank R           adapter rank (default 8)\n"
    "  --alpha A          the adapters are scaled by alpha/rank (default alpha:\n"
    "                     2 x rank)\n"
    "  --targets LIST     matrices to adapt, comma-separated, of attn_q, attn_k,\n"
    "                     attn_v, attn_output, ffn_gate, ffn_up, ffn_down, or all\n"
    "                     (default all)\n"
    "  --ctx N            tokens per training sequence (default: 256, at most the\n"
    "                     model's context)\n"
    "  --checkpoint-every N  full fine-tuning: write a checkpoint (weights + AdamW\n"
    "                     state) every N steps (default 0: never); `mote train\n"
    "                     --resume CKPT` with the same --data and --val-frac\n"
    "                     continues it exactly (not for --lora)\n"
    "  --checkpoint FILE  where (default OUT.ckpt.gguf; each one replaces the last)\n"
    "\n"
    "--lr defaults to 1e-4 for full fine-tuning and 1e-3 with --lora. Also\n"
    "writes the loss curve (training, and held-out with --val-frac) as\n"
    "OUT.loss.svg beside OUT.gguf. Options shared with `mote train`:\n"
    "\n";

int cmd_finetune(int argc, char **argv) {
    const char *C = "finetune", *base = NULL, *targets = NULL;
    bool lora = false, ctx_set = false, rank_set = false;
    int64_t rank = 8;
    float alpha = 0.0f;
    cli_train_opts o = cli_train_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VAL() if (!(v = cli_value(C, argc, argv, &i))) return 2
        int got = cli_train_parse_opt(C, &o, argc, argv, &i);
        if (got < 0) return 2;
        if (got) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(finetune_help_head, stdout);
            fputs(cli_train_help_common, stdout);
            fputs("  -h, --help         this text\n", stdout);
            return 0;
        }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { VAL(); base = v; }
        else if (!strcmp(a, "--lora")) lora = true;
        else if (!strcmp(a, "--rank")) { VAL(); if (!cli_parse_i64(C, a, v, 1, 65536, &rank)) return 2; rank_set = true; }
        else if (!strcmp(a, "--alpha")) { VAL(); if (!cli_parse_f32(C, a, v, 1e-6, 1e6, &alpha)) return 2; }
        else if (!strcmp(a, "--targets")) { VAL(); targets = v; }
        else if (!strcmp(a, "--checkpoint-every")) { VAL(); if (!cli_parse_i64(C, a, v, 1, 1 << 30, &o.ckpt_every)) return 2; }
        else if (!strcmp(a, "--checkpoint")) { VAL(); o.ckpt_path = v; }
        else if (!strcmp(a, "--ctx")) { VAL(); if (!cli_parse_i64(C, a, v, 1, 1 << 16, &o.ctx)) return 2; ctx_set = true; }
        else return cli_usage_error(C, "unknown option '%s'", a);
#undef VAL
    }
    if (!base) return cli_usage_error(C, "no base model given: pass -m BASE.gguf");
    if (!lora && (targets || alpha > 0.0f || rank_set))
        return cli_usage_error(C, "--rank, --alpha and --targets need --lora");
    if (lora && (o.ckpt_every || o.ckpt_path))
        return cli_usage_error(C, "checkpoints cover full fine-tuning only, not --lora");
    if (!o.lr_set) o.lr = lora ? 1e-3f : 1e-4f;
    if (alpha <= 0.0f) alpha = 2.0f * (float)rank;
    int urc = cli_train_check_opts(C, &o);
    if (urc) return urc;

    int rc = 1;
    mote_error err = {0};
    mote_vocab *vocab = NULL;
    mote_trainer *tr = NULL;
    cli_train_data d = {0};
    cli_train_curve curve = {0};
    /* OUT.gguf -> OUT.loss.svg and OUT.ckpt.gguf */
    size_t out_len = strlen(o.out_path);
    if (out_len > 5 && !strcmp(o.out_path + out_len - 5, ".gguf")) out_len -= 5;
    char *svg_path = malloc(out_len + 16), *ckpt_default = malloc(out_len + 16);
    if (!svg_path || !ckpt_default) { cli_fail(C, "out of memory"); goto done; }
    snprintf(svg_path, out_len + 16, "%.*s.loss.svg", (int)out_len, o.out_path);
    snprintf(ckpt_default, out_len + 16, "%.*s.ckpt.gguf", (int)out_len, o.out_path);
    if (!o.ckpt_path) o.ckpt_path = ckpt_default;
    o.ckpt_vocab = base;
    if (mote_vocab_load(base, &vocab, &err)) { cli_fail(C, "%s", err.msg); goto done; }

    mote_train_params p = mote_train_default_params();
    cli_train_fill_params(&o, &p);
    mote_status s;
    if (lora) {
        mote_lora_train_params lp = {.rank = (int32_t)rank, .alpha = alpha, .targets = targets};
        s = mote_trainer_new_lora(&p, base, &lp, &tr, &err);
    } else {
        s = mote_trainer_new(&p, base, &tr, &err);
    }
    if (s) {
        cli_fail(C, "%s%s", err.msg,
                 !lora && s == MOTE_ERR_UNSUPPORTED ? " (a quantized base trains with --lora)" : "");
        goto done;
    }
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    mote_trainer_shape(tr, &n_vocab, &n_embd, &n_layer, &n_head, &n_head_kv, &n_ff, &n_ctx);
    if (n_vocab != mote_vocab_n_tokens(vocab)) {
        cli_fail(C, "%s: the model's vocabulary (%d) differs from its tokenizer's (%d)", base,
                 n_vocab, mote_vocab_n_tokens(vocab));
        goto done;
    }
    if (!ctx_set && o.ctx > n_ctx) o.ctx = n_ctx;
    if (o.ctx > n_ctx) {
        cli_fail(C, "--ctx %lld is longer than the model's context %d", (long long)o.ctx, n_ctx);
        goto done;
    }
    if (cli_train_data_load(C, o.data, vocab, o.val_frac, &d)) goto done;
    fprintf(stderr,
            "mote finetune: %lld tokens of text (%lld held out); %s dim %d, %d layers, vocab %d: "
            "%llu trained parameters%s; batch %lld x %lld x %lld accum, %lld steps, lr %g, %d threads\n",
            (long long)d.n_tokens, (long long)(d.n_tokens - d.n_train), base, n_embd, n_layer, n_vocab,
            (unsigned long long)mote_trainer_n_params(tr), lora ? " (LoRA)" : "", (long long)o.batch,
            (long long)o.ctx, (long long)o.accum, (long long)o.steps, (double)o.lr, (int)o.threads);
    if (cli_train_run(C, tr, &o, &d, &curve)) goto done;
    if (mote_trainer_save(tr, o.out_path, base, &err)) { cli_fail(C, "%s", err.msg); goto done; }
    fprintf(stderr, "mote finetune: wrote %s%s\n", o.out_path, lora ? " (LoRA adapter)" : "");
    if (cli_write_loss_svg(svg_path, o.out_path, curve.train, curve.n_train, curve.val, curve.val_step,
                           curve.n_val))
        goto done;
    fprintf(stderr, "mote finetune: wrote %s\n", svg_path);
    rc = 0;
done:
    free(svg_path);
    free(ckpt_default);
    cli_train_curve_free(&curve);
    cli_train_data_free(&d);
    mote_trainer_free(tr);
    mote_vocab_free(vocab);
    return rc;
}
