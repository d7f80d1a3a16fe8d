/* cmd_bench.c — `mote bench`: placeholder until its helper lands it. */
#include "cli.h"

int cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("bench", "not built yet");
}
