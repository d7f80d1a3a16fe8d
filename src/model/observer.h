/* observer.h — an internal hook into the forward pass for calibration: a
 * callback that sees the f32 input rows of every matrix product before the
 * product runs (`mote imatrix`, AWQ in src/compress/).
 *
 * What it is: one function pointer on a context, NULL by default (then the
 * forward pass does not look at it beyond one test per product). What it is
 * not: a way to change activations, or a public API (mote.h has none).
 */
#ifndef MOTE_OBSERVER_H
#define MOTE_OBSERVER_H

#include "../kernels/kernels.h"

/* Called once per weight of each matrix product, before the product, with
 * the weight (a pointer to the mote_matrix inside the model: compare it with
 * the model's layers to know which tensor it is) and its input: n_rows rows
 * of w->n_cols floats, x_stride floats apart (one row per token). Runs on
 * thread 0 of the context's pool while the other threads compute the
 * product, so it must only read x (which stays valid until it returns) and
 * must not call back into the context. */
typedef void (*mote_matmul_observer)(void *user, const mote_matrix *w, const float *x,
                                     size_t x_stride, int64_t n_rows);

/* Install (fn non-NULL) or remove (fn NULL) the observer of a context. Not
 * while a decode is in flight. */
void mote__ctx_set_observer(mote_ctx *c, mote_matmul_observer fn, void *user);

#endif /* MOTE_OBSERVER_H */
