/* cmd_vocab.c — `mote vocab import`: placeholder until its helper lands it. */
#include "cli.h"

int cmd_vocab(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("vocab", "not built yet");
}
