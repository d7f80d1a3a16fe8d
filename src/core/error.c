/* error.c — status names and the filling of mote_error (one line, no
 * control bytes). */
#include "core.h"
#include <stdio.h>
#include <string.h>

const char *mote_status_str(mote_status s) {
    switch (s) {
    case MOTE_OK: return "ok";
    case MOTE_ERR_IO: return "i/o error";
    case MOTE_ERR_FORMAT: return "format error";
    case MOTE_ERR_NOMEM: return "out of memory";
    case MOTE_ERR_INVALID_ARG: return "invalid argument";
    case MOTE_ERR_UNSUPPORTED: return "unsupported";
    case MOTE_ERR_RANGE: return "out of range";
    }
    return "unknown error";
}

mote_status mote__err(mote_error *err, mote_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* The message is one line by contract, but it often quotes names
         * read from a file (keys, tensor names) that may hold a newline or
         * an escape sequence: control bytes become '?'. */
        for (char *p = err->msg; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    }
    return code;
}

void mote__err_clear(mote_error *err) {
    if (err) {
        err->code = MOTE_OK;
        err->msg[0] = '\0';
    }
}

const char *mote_version(void) { return "0.1.0"; }
