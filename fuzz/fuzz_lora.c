/* fuzz_lora.c — libFuzzer target for the LoRA adapter reader
 * (mote_lora_open, src/model/lora.c: the keys, the pairing of .lora_a with
 * .lora_b, the block names, the shapes, the conversion to f32; the GGUF
 * reader under it has its own target).
 *
 * Each input is written to a file in /dev/shm (the reader takes a path) and
 * opened. Accepted: at least one pair, a rank of at least 1, an alpha that
 * is finite and not negative. Refused: a one-line error message. Not a test
 * of the wording (tests/test_lora.c and tests/finetune_cli.sh do that).
 */
#include "mote.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/dev/shm/mote_fuzz_lora_%d.gguf", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    mote_lora *l = NULL;
    mote_error err = {0};
    mote_status s = mote_lora_open(path, &l, &err);
    if (s == MOTE_OK) {
        CHECK(l != NULL);
        CHECK(mote_lora_n_pairs(l) >= 1 && mote_lora_rank(l) >= 1);
        CHECK(isfinite(mote_lora_alpha(l)) && mote_lora_alpha(l) >= 0.0f);
        mote_lora_free(l);
    } else {
        CHECK(l == NULL && err.msg[0] && !strchr(err.msg, '\n'));
    }
    return 0;
}
