/* fuzz_checkpoint.c — libFuzzer target for the training-checkpoint reader
 * (mote_trainer_resume, src/train/checkpoint.c, and the trainable model's
 * loader under it).
 *
 * Each input is written to a file in /dev/shm (the reader takes a path) and
 * resumed. Accepted: the state must agree with the trainer (steps done =
 * the loss history's length, at most the run's steps) and every array is
 * read end to end. Refused: a one-line error message. Not a test of the
 * wording (tests/train_checkpoint.sh does that).
 */
#include "mote.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/dev/shm/mote_fuzz_ckpt_%d.gguf", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    mote_trainer *t = NULL;
    mote_train_state st;
    mote_error err = {0};
    mote_status s = mote_trainer_resume(path, 1, &t, &st, &err);
    if (s == MOTE_OK) {
        CHECK(t != NULL);
        CHECK(st.n_train == mote_trainer_n_steps_done(t) && st.n_train <= st.n_steps);
        CHECK(st.batch > 0 && st.seq > 0 && st.n_micro > 0);
        volatile float sink = 0;
        for (int64_t i = 0; i < st.n_train; i++) sink += st.train_loss[i];
        for (int64_t i = 0; i < st.n_val; i++) sink += st.val_loss[i] + (float)st.val_step[i];
        (void)sink;
        mote_train_state_free(&st);
        mote_trainer_free(t);
    } else {
        CHECK(t == NULL && err.msg[0] && !strchr(err.msg, '\n'));
    }
    return 0;
}
