/* cmd_synth.c — `mote synth`: placeholder until its helper lands it. */
#include "cli.h"

int cmd_synth(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("synth", "not built yet");
}
