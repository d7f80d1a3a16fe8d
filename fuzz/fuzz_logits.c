/* fuzz_logits.c — libFuzzer target for mote's saved-logits reader
 * (src/model/logits_file.c), what `mote perplexity --kl-base FILE` reads:
 * the input is the whole file; the header is parsed and, when it passes,
 * every row is decoded. Checks only that nothing crashes or trips
 * ASan/UBSan; what the values are is tested in tests/test_logits_file.c.
 */
#include "model/logits_file.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mote_logits_header h;
    mote_error err;
    if (mote__logits_parse_header(data, size, "fuzz", &h, &err) != MOTE_OK || h.n_rows == 0) return 0;
    /* n_rows > 0 and the size matched: n_vocab is bounded by the input. */
    double *lp = malloc((size_t)h.n_vocab * sizeof(double));
    if (!lp) return 0;
    for (uint64_t r = 0; r < h.n_rows; r++) {
        int32_t top;
        (void)mote__logits_read_row(data, &h, r, "fuzz", lp, &top, &err);
    }
    free(lp);
    return 0;
}
