/* test.h — the minimal test harness of mote's C tests.
 *
 * A test binary defines test functions and runs them from main with
 * T_RUN(fn). Each prints one line, "ok - name", "not ok - name: why" or
 * "skip - name: why"; tests/run.sh counts these lines over all binaries and
 * scripts and prints the closing "N passed, N failed, N skipped".
 *
 *   static void test_roundtrip(void) { T_CHECK(x == 1, "x was %d", x); }
 *   int main(void) { T_RUN(test_roundtrip); return t_exit(); }
 *
 * T_CHECK records the first failure of the test and goes on; T_REQUIRE
 * returns from the test function on failure. T_SKIP marks the test skipped
 * and returns.
 */
#ifndef MOTE_TEST_H
#define MOTE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int t_failed_total, t_cur_failed, t_cur_skipped;
static char t_cur_msg[1024];

#define T_CHECK(cond, ...)                                                        \
    do {                                                                          \
        if (!(cond)) {                                                            \
            if (!t_cur_failed) {                                                  \
                int t_n_ = snprintf(t_cur_msg, sizeof t_cur_msg, "%s:%d: ",       \
                                    __FILE__, __LINE__);                          \
                if (t_n_ > 0 && (size_t)t_n_ < sizeof t_cur_msg)                  \
                    snprintf(t_cur_msg + t_n_, sizeof t_cur_msg - (size_t)t_n_,   \
                             __VA_ARGS__);                                        \
            }                                                                     \
            t_cur_failed = 1;                                                     \
        }                                                                         \
    } while (0)

#define T_REQUIRE(cond, ...)                                                      \
    do {                                                                          \
        T_CHECK(cond, __VA_ARGS__);                                               \
        if (t_cur_failed) return;                                                 \
    } while (0)

#define T_SKIP(...)                                                               \
    do {                                                                          \
        snprintf(t_cur_msg, sizeof t_cur_msg, __VA_ARGS__);                       \
        t_cur_skipped = 1;                                                        \
        return;                                                                   \
    } while (0)

#define T_RUN(fn) t_run_one(fn, #fn)

static void t_run_one(void (*fn)(void), const char *name) {
    t_cur_failed = 0;
    t_cur_skipped = 0;
    t_cur_msg[0] = '\0';
    fn();
    if (t_cur_failed) {
        printf("not ok - %s: %s\n", name, t_cur_msg);
        t_failed_total++;
    } else if (t_cur_skipped) {
        printf("skip - %s: %s\n", name, t_cur_msg);
    } else {
        printf("ok - %s\n", name);
    }
    fflush(stdout);
}

static int t_exit(void) { return t_failed_total ? 1 : 0; }

/* Path of the shared assets folder (../shared/assets from the project root,
 * or $MOTE_SHARED/assets). Returns NULL if it is absent. */
static const char *t_assets(void) {
    static char buf[4096];
    const char *env = getenv("MOTE_SHARED");
    snprintf(buf, sizeof buf, "%s/assets", env ? env : "../shared");
    FILE *f;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/models/stories260K.gguf", buf);
    f = fopen(probe, "rb");
    if (!f) return NULL;
    fclose(f);
    return buf;
}

#endif /* MOTE_TEST_H */
