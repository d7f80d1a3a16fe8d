/* threadpool.h — a persistent pool of worker threads for one context, and
 * CPU topology detection for its default size.
 *
 * What it is: workers created once (mote__threadpool_new) that run one
 * function on every thread and wait for all of them (a parallel-for,
 * mote__threadpool_run), with the calling thread as worker 0, plus a
 * barrier usable inside such a run (also one that prefetches given memory
 * while it waits: mote__threadpool_barrier_prefetch). Between runs the
 * workers spin briefly (a bounded number of pause instructions) and then
 * sleep on a condition variable, so an idle pool burns no CPU. Nothing is allocated per run.
 * What it is not: a task queue (there is one job at a time, which every
 * thread joins), and not reentrant: one thread at a time calls run.
 */
#ifndef MOTE_THREADPOOL_H
#define MOTE_THREADPOOL_H

#include "core.h"

/* The most threads a pool may have (the caller's thread included). */
#define MOTE_MAX_THREADS 256

typedef struct mote_threadpool mote_threadpool;

/* The job of one run: called once on each of the nth threads with
 * ith = 0..nth-1 (ith 0 is the thread that called mote__threadpool_run).
 * `task` is the caller's; the pool does not look into it. */
typedef void (*mote_task_fn)(void *task, int ith, int nth);

/* Create a pool of n_threads threads in all (1..MOTE_MAX_THREADS): the
 * caller's thread plus n_threads - 1 workers, started now. On failure
 * nothing is left running and err says why. Free with mote__threadpool_free. */
mote_status mote__threadpool_new(int n_threads, mote_threadpool **out, mote_error *err);

/* Stop and join the workers, free the pool. NULL is allowed. Must not be
 * called while a run is in flight. */
void mote__threadpool_free(mote_threadpool *tp);

int mote__threadpool_n_threads(const mote_threadpool *tp);

/* Run fn(task, ith, nth) on every thread of the pool and return when all
 * have returned; everything they wrote is then visible to the caller.
 * Allocates nothing. Called by one thread at a time (the pool's owner). */
void mote__threadpool_run(mote_threadpool *tp, mote_task_fn fn, void *task);

/* Inside a run only, called by all nth threads: returns when every thread
 * has reached it; writes before it are visible to every thread after it.
 * Spins briefly, then sleeps on a condition variable while it waits. */
void mote__threadpool_barrier(mote_threadpool *tp);

/* Bytes [p, p + bytes) a thread is about to read. */
typedef struct mote_prefetch_range {
    const void *p;
    size_t bytes;
} mote_prefetch_range;

/* mote__threadpool_barrier, and while waiting for the others, the n_pf
 * ranges pf prefetched into this core's caches a line at a time (stopping
 * at the release: a thread that arrives last prefetches nothing). For
 * generation, where each step reads what its thread's next matrix call
 * will stream: the wait becomes reading ahead. */
void mote__threadpool_barrier_prefetch(mote_threadpool *tp, const mote_prefetch_range *pf, int n_pf);

/* The half-open share [*lo, *hi) of 0..n that thread ith of nth takes when
 * n items are split into nth contiguous runs as even as possible. */
static inline void mote__split_range(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi) {
    int64_t base = n / nth, rem = n % nth;
    *lo = (int64_t)ith * base + (ith < rem ? ith : rem);
    *hi = *lo + base + (ith < rem ? 1 : 0);
}

/* Number of physical cores this process may run on: distinct
 * (physical_package_id, core_id) pairs under
 * /sys/devices/system/cpu/cpuN/topology of the online CPUs in the affinity
 * mask; falls back to sysconf(_SC_NPROCESSORS_ONLN) (and then 1) when
 * that is unreadable. Always >= 1. */
int mote__cpu_physical_cores(void);

/* The same count read from another sysfs root (a folder laid out as
 * /sys/devices/system/cpu: cpuN/topology/{core_id,physical_package_id},
 * optional cpuN/online) with no affinity mask: for tests. Returns 0 when
 * no CPU could be read there. */
int mote__cpu_physical_cores_at(const char *cpu_dir);

#endif /* MOTE_THREADPOOL_H */
