/* main.c — the mote command line: dispatches to a subcommand. The only
 * place (with the subcommands it calls) that exits. */
#include "cli.h"
#include <stdio.h>
#include <string.h>

static const char *usage =
    "mote — run and shrink small language models on a CPU\n"
    "\n"
    "usage: mote <command> [options]\n"
    "\n"
    "commands:\n"
    "  run        generate text from a GGUF model\n"
    "  info       print a GGUF file's metadata and tensors\n"
    "  tokenize   print the token ids of a text\n"
    "  vocab      import a Hugging Face tokenizer.json as a vocab GGUF\n"
    "  synth      write a model with random weights in a real model's shape\n"
    "  bench      measure prompt and generation speed against memory bandwidth\n"
    "  perplexity score a model on a text: perplexity, bits per byte, KL vs a base\n"
    "  train      train a small Llama model on a text file (AdamW, on the CPU)\n"
    "  finetune   continue training a GGUF model on a text file (whole, or LoRA)\n"
    "  merge      fold LoRA adapters into a model's weights\n"
    "  quantize   write a model's weights in a smaller type (or a llama.cpp mix)\n"
    "  imatrix    collect an importance matrix over calibration text\n"
    "\n"
    "'mote <command> --help' describes a command's options.\n";

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mote %s\n", mote_version());
        return 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "vocab")) return cmd_vocab(argc - 1, argv + 1);
    if (!strcmp(cmd, "synth")) return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "perplexity")) return cmd_perplexity(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "finetune")) return cmd_finetune(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge")) return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "quantize")) return cmd_quantize(argc - 1, argv + 1);
    if (!strcmp(cmd, "imatrix")) return cmd_imatrix(argc - 1, argv + 1);
    fprintf(stderr, "mote: unknown command '%s' (see 'mote --help')\n", cmd);
    return 2;
}
