/* default_model.c — where the command line finds mote's default model: the
 * GGUF image default_model.S embeds in the binary (when the build had
 * models/mote-tiny.gguf). Weak references, so a build without the model
 * links and reports that it has none. Not here: loading it
 * (mote_model_load_memory). */
#include "cli.h"

extern const unsigned char mote_default_model_start[] __attribute__((weak));
extern const unsigned char mote_default_model_end[] __attribute__((weak));

bool cli_default_model(const void **data, uint64_t *size) {
    const unsigned char *a = mote_default_model_start, *b = mote_default_model_end;
    if (!a || !b || b <= a) return false;
    *data = a;
    *size = (uint64_t)(b - a);
    return true;
}
