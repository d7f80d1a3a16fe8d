/* threadpool.c — the persistent worker pool of threadpool.h and the CPU
 * topology probe behind the default thread count.
 *
 * How a run works: the caller stores the job (fn, task), clears the done
 * count and bumps an atomic generation number; each worker, waiting for the
 * generation to change, runs the job and counts itself done; the caller
 * runs the job as thread 0 and then waits for the count. Waiting on either
 * side spins for a bounded number of pause instructions and then sleeps on a
 * condition variable. The sleep/wake hand-off uses sequentially consistent
 * atomics in Dekker style (announce that you sleep, then re-check under the
 * mutex; the waker changes the value, then checks for sleepers and signals
 * under the mutex), so no wake-up is lost and a run where nobody slept
 * takes no lock at all.
 *
 * The barrier inside a run counts arrivals and spins, then sleeps, the
 * same way; its read-ahead variant prefetches the caller's ranges while it
 * waits (what a waiting thread will read next, for generation).
 *
 * Not here: what the jobs compute (src/model/llama.c splits its work by
 * ith/nth), any queue of jobs, or allocation after mote__threadpool_new.
 */
#include "threadpool.h"
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Pause iterations before sleeping between runs: about 0.1-0.5 ms, long
 * enough to catch the next decode step, short enough that an idle context
 * goes quiet at once. */
#define SPIN_ITERS 8192
/* ... and in a barrier, where the others normally arrive within a few
 * microseconds; when they do not (more threads than free cores: the one
 * awaited is not running), sleeping soon gives it the core. */
#define SPIN_BARRIER 1024

static inline void cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

typedef struct worker {
    struct mote_threadpool *tp;
    int ith;
} worker;

struct mote_threadpool {
    int n_threads;   /* the caller's thread included */
    int n_started;   /* workers running (n_threads - 1 once created) */
    pthread_t *threads; /* (n_threads - 1) */
    worker *workers;    /* (n_threads - 1) */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers sleep here between runs */
    pthread_cond_t done_cv; /* the caller sleeps here waiting for a run */

    /* The current job; written by the caller before gen is bumped. */
    mote_task_fn fn;
    void *task;
    atomic_uint gen;            /* bumped once per run (and to stop) */
    atomic_int stop;
    atomic_int n_sleeping;      /* workers blocked on work_cv */
    atomic_int n_done;          /* workers finished with the current run */
    atomic_int caller_sleeping; /* the caller is blocked on done_cv */

    /* Barrier inside a run. */
    atomic_int bar_count;
    atomic_uint bar_gen;
    atomic_int bar_sleeping; /* threads blocked on bar_cv */
    pthread_mutex_t bar_mu;
    pthread_cond_t bar_cv;
};

/* Wait until tp->gen differs from seen; return the new value. */
static unsigned wait_for_work(mote_threadpool *tp, unsigned seen) {
    unsigned g;
    for (int i = 0; i < SPIN_ITERS; i++) {
        if ((g = atomic_load(&tp->gen)) != seen) return g;
        cpu_pause();
    }
    pthread_mutex_lock(&tp->mu);
    atomic_fetch_add(&tp->n_sleeping, 1);
    while ((g = atomic_load(&tp->gen)) == seen) pthread_cond_wait(&tp->work_cv, &tp->mu);
    atomic_fetch_sub(&tp->n_sleeping, 1);
    pthread_mutex_unlock(&tp->mu);
    return g;
}

/* A worker's life: wait for a new generation, leave if it is the stop
 * signal, else run the job as thread w->ith and count itself done (waking
 * the caller if it went to sleep waiting for the last one). */
static void *worker_main(void *arg) {
    worker *w = arg;
    mote_threadpool *tp = w->tp;
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_work(tp, seen);
        if (atomic_load(&tp->stop)) break;
        tp->fn(tp->task, w->ith, tp->n_threads);
        if (atomic_fetch_add(&tp->n_done, 1) + 1 == tp->n_threads - 1 &&
            atomic_load(&tp->caller_sleeping)) {
            pthread_mutex_lock(&tp->mu);
            pthread_cond_signal(&tp->done_cv);
            pthread_mutex_unlock(&tp->mu);
        }
    }
    return NULL;
}

/* Publish a new generation (the job or the stop flag was written before)
 * and wake sleeping workers. */
static void publish(mote_threadpool *tp) {
    atomic_fetch_add(&tp->gen, 1);
    if (atomic_load(&tp->n_sleeping) > 0) {
        pthread_mutex_lock(&tp->mu);
        pthread_cond_broadcast(&tp->work_cv);
        pthread_mutex_unlock(&tp->mu);
    }
}

mote_status mote__threadpool_new(int n_threads, mote_threadpool **out, mote_error *err) {
    *out = NULL;
    if (n_threads < 1 || n_threads > MOTE_MAX_THREADS)
        return mote__err(err, MOTE_ERR_INVALID_ARG, "thread count %d is out of range (1..%d)",
                         n_threads, MOTE_MAX_THREADS);
    mote_threadpool *tp = mote__calloc(1, sizeof *tp);
    if (!tp) return mote__err(err, MOTE_ERR_NOMEM, "out of memory creating a thread pool");
    tp->n_threads = n_threads;
    atomic_init(&tp->gen, 0);
    atomic_init(&tp->stop, 0);
    atomic_init(&tp->n_sleeping, 0);
    atomic_init(&tp->n_done, 0);
    atomic_init(&tp->caller_sleeping, 0);
    atomic_init(&tp->bar_count, 0);
    atomic_init(&tp->bar_gen, 0);
    atomic_init(&tp->bar_sleeping, 0);
    if (pthread_mutex_init(&tp->mu, NULL) != 0) {
        mote__free(tp);
        return mote__err(err, MOTE_ERR_NOMEM, "cannot create a mutex for the thread pool");
    }
    if (pthread_mutex_init(&tp->bar_mu, NULL) != 0) {
        pthread_mutex_destroy(&tp->mu);
        mote__free(tp);
        return mote__err(err, MOTE_ERR_NOMEM, "cannot create a mutex for the thread pool");
    }
    pthread_cond_init(&tp->work_cv, NULL);
    pthread_cond_init(&tp->done_cv, NULL);
    pthread_cond_init(&tp->bar_cv, NULL);
    if (n_threads > 1) {
        tp->threads = mote__calloc((size_t)n_threads - 1, sizeof *tp->threads);
        tp->workers = mote__calloc((size_t)n_threads - 1, sizeof *tp->workers);
        if (!tp->threads || !tp->workers) {
            mote__threadpool_free(tp);
            return mote__err(err, MOTE_ERR_NOMEM, "out of memory creating a thread pool");
        }
        for (int i = 0; i < n_threads - 1; i++) {
            tp->workers[i] = (worker){tp, i + 1};
            int rc = pthread_create(&tp->threads[i], NULL, worker_main, &tp->workers[i]);
            if (rc != 0) {
                mote__threadpool_free(tp);
                return mote__err(err, MOTE_ERR_NOMEM, "cannot start worker thread %d of %d: %s",
                                 i + 1, n_threads - 1, strerror(rc));
            }
            tp->n_started++;
        }
    }
    *out = tp;
    return MOTE_OK;
}

void mote__threadpool_free(mote_threadpool *tp) {
    if (!tp) return;
    if (tp->n_started > 0) {
        atomic_store(&tp->stop, 1);
        publish(tp);
        /* publish checks for sleepers once; a worker may announce its sleep
         * just after, but it re-checks gen under the mutex first, sees the
         * new value and leaves. */
        for (int i = 0; i < tp->n_started; i++) pthread_join(tp->threads[i], NULL);
    }
    pthread_cond_destroy(&tp->work_cv);
    pthread_cond_destroy(&tp->done_cv);
    pthread_cond_destroy(&tp->bar_cv);
    pthread_mutex_destroy(&tp->mu);
    pthread_mutex_destroy(&tp->bar_mu);
    mote__free(tp->threads);
    mote__free(tp->workers);
    mote__free(tp);
}

int mote__threadpool_n_threads(const mote_threadpool *tp) { return tp->n_threads; }

void mote__threadpool_run(mote_threadpool *tp, mote_task_fn fn, void *task) {
    const int nth = tp->n_threads;
    if (nth == 1) {
        fn(task, 0, 1);
        return;
    }
    tp->fn = fn;
    tp->task = task;
    atomic_store(&tp->n_done, 0);
    publish(tp);
    fn(task, 0, nth);
    for (int i = 0; i < SPIN_ITERS; i++) {
        if (atomic_load(&tp->n_done) == nth - 1) return;
        cpu_pause();
    }
    pthread_mutex_lock(&tp->mu);
    /* An exchange, not a store: this is one half of a Dekker pair (store
     * caller_sleeping, then load n_done; the worker adds to n_done, then
     * loads caller_sleeping). C11's seq_cst store would do, but qemu-user
     * translates aarch64's STLR + LDAR to an x86 store and load with no
     * fence between them, which lets the load pass the store: the last
     * worker saw 0, the caller an old n_done, and it slept for ever (seen
     * under `make test-aarch64`). A read-modify-write is a full barrier
     * everywhere. */
    (void)atomic_exchange(&tp->caller_sleeping, 1);
    while (atomic_load(&tp->n_done) != nth - 1) pthread_cond_wait(&tp->done_cv, &tp->mu);
    atomic_store(&tp->caller_sleeping, 0);
    pthread_mutex_unlock(&tp->mu);
}

/* Touch the line at p for the caches (a hint: no fault, no effect on
 * values). */
static inline void prefetch_line(const uint8_t *p) {
#if defined(__GNUC__)
    __builtin_prefetch(p, 0, 3);
#else
    (void)p;
#endif
}

void mote__threadpool_barrier(mote_threadpool *tp) { mote__threadpool_barrier_prefetch(tp, NULL, 0); }

void mote__threadpool_barrier_prefetch(mote_threadpool *tp, const mote_prefetch_range *pf, int n_pf) {
    const int nth = tp->n_threads;
    if (nth == 1) return;
    /* Read the phase before arriving: the last arrival resets the count and
     * then moves the phase on, which releases the others (waking those that
     * went to sleep: the same hand-off as between runs). */
    unsigned phase = atomic_load(&tp->bar_gen);
    if (atomic_fetch_add(&tp->bar_count, 1) == nth - 1) {
        atomic_store(&tp->bar_count, 0);
        atomic_fetch_add(&tp->bar_gen, 1);
        if (atomic_load(&tp->bar_sleeping) > 0) {
            pthread_mutex_lock(&tp->bar_mu);
            pthread_cond_broadcast(&tp->bar_cv);
            pthread_mutex_unlock(&tp->bar_mu);
        }
        return;
    }
    /* While others are still working, read ahead what this thread will
     * read next: the ranges a line at a time, in turn (each range is the
     * start of a stream the thread's next kernel call reads), checking
     * for the release between lines. */
    size_t off = 0; /* from each range's first line, to the line of its last byte */
    for (bool more = n_pf > 0; more; off += 64) {
        more = false;
        for (int r = 0; r < n_pf; r++) {
            const uintptr_t first = (uintptr_t)pf[r].p & ~(uintptr_t)63;
            if (pf[r].bytes == 0 || first + off >= (uintptr_t)pf[r].p + pf[r].bytes) continue;
            prefetch_line((const uint8_t *)first + off);
            more = true;
        }
        if (atomic_load(&tp->bar_gen) != phase) return;
    }
    for (int i = 0; i < SPIN_BARRIER; i++) {
        if (atomic_load(&tp->bar_gen) != phase) return;
        cpu_pause();
    }
    pthread_mutex_lock(&tp->bar_mu);
    atomic_fetch_add(&tp->bar_sleeping, 1);
    while (atomic_load(&tp->bar_gen) == phase) pthread_cond_wait(&tp->bar_cv, &tp->bar_mu);
    atomic_fetch_sub(&tp->bar_sleeping, 1);
    pthread_mutex_unlock(&tp->bar_mu);
}

/* ---- CPU topology ---- */

/* Read one non-negative integer from a small text file; -1 on failure. */
static long read_long_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    if (fscanf(f, "%ld", &v) != 1 || v < 0) v = -1;
    fclose(f);
    return v;
}

/* Count distinct (package, core) pairs of the online CPUs under cpu_dir,
 * restricted to mask when it is non-NULL. 0 when none could be read. */
static int count_physical_cores(const char *cpu_dir, const cpu_set_t *mask) {
    enum { MAX_PAIRS = 1024 };
    long pkg[MAX_PAIRS], core[MAX_PAIRS];
    int n_pairs = 0;
    DIR *d = opendir(cpu_dir);
    if (!d) return 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        if (strncmp(s, "cpu", 3) != 0 || s[3] < '0' || s[3] > '9') continue;
        char *end;
        long cpu = strtol(s + 3, &end, 10);
        if (*end != '\0' || cpu < 0 || cpu > 1 << 20) continue;
        if (mask && (cpu >= CPU_SETSIZE || !CPU_ISSET((int)cpu, mask))) continue;
        snprintf(path, sizeof path, "%s/%s/online", cpu_dir, s);
        if (read_long_file(path) == 0) continue; /* absent (cpu0 often) means online */
        snprintf(path, sizeof path, "%s/%s/topology/core_id", cpu_dir, s);
        long c = read_long_file(path);
        snprintf(path, sizeof path, "%s/%s/topology/physical_package_id", cpu_dir, s);
        long p = read_long_file(path);
        if (c < 0 || p < 0) continue;
        int seen = 0;
        for (int i = 0; i < n_pairs && !seen; i++) seen = pkg[i] == p && core[i] == c;
        if (!seen && n_pairs < MAX_PAIRS) {
            pkg[n_pairs] = p;
            core[n_pairs] = c;
            n_pairs++;
        }
    }
    closedir(d);
    return n_pairs;
}

int mote__cpu_physical_cores_at(const char *cpu_dir) { return count_physical_cores(cpu_dir, NULL); }

int32_t mote_cpu_physical_cores(void) { return (int32_t)mote__cpu_physical_cores(); }

int mote__cpu_physical_cores(void) {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    const cpu_set_t *m = sched_getaffinity(0, sizeof mask, &mask) == 0 ? &mask : NULL;
    int n = count_physical_cores("/sys/devices/system/cpu", m);
    if (n < 1) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online >= 1 ? (int)(online < MOTE_MAX_THREADS ? online : MOTE_MAX_THREADS) : 1;
        if (m && CPU_COUNT(m) >= 1 && CPU_COUNT(m) < n) n = CPU_COUNT(m);
    }
    return n < MOTE_MAX_THREADS ? n : MOTE_MAX_THREADS;
}
