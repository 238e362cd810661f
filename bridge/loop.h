/* loop: the daemon's one event loop (epoll).  Modules watch file
 * descriptors and set deadlines through it; nothing else sleeps or blocks.
 * The poller (scrapes), the Elasticsearch output (bulk requests), and the
 * stats endpoint all run on the same loop in the main thread.  Signals
 * (SIGINT, SIGTERM, SIGHUP) are delivered only inside the wait, so a stop request is
 * never lost between "check" and "sleep". */
#ifndef EXPVARBEAT_LOOP_H
#define EXPVARBEAT_LOOP_H

#include <signal.h>
#include <stdint.h>

enum { LOOP_IN = 1, LOOP_OUT = 2, LOOP_ERR = 4 };

typedef struct loop loop;
/* Called with the LOOP_* events that fired. */
typedef void (*loop_fd_cb)(void *ctx, int fd, unsigned events);

/* A deadline owned by a module (embed it; the loop never frees it). */
typedef struct loop_timer {
    int64_t due_ms; /* monotonic ms; -1 = disarmed */
    void (*cb)(void *ctx);
    void *ctx;
    struct loop_timer *next; /* the loop's list; do not touch */
} loop_timer;

loop *loop_new(void);
void loop_free(loop *l);

/* Watches fd for events (LOOP_IN | LOOP_OUT), or changes what is watched.
 * 0, or -1 with errno. */
int loop_watch(loop *l, int fd, unsigned events, loop_fd_cb cb, void *ctx);
void loop_unwatch(loop *l, int fd);

/* Registers t (once); arm/disarm by setting t->due_ms, or with loop_arm. */
void loop_timer_add(loop *l, loop_timer *t, void (*cb)(void *ctx), void *ctx);
void loop_timer_remove(loop *l, loop_timer *t);
void loop_arm(loop_timer *t, int64_t due_ms);

/* Waits for the next fd event or deadline (at most max_wait_ms; -1 =
 * unbounded), dispatches callbacks, and returns.  Returns -1 when a
 * SIGINT/SIGTERM arrived (also sets *stop), else 0. */
int loop_run_once(loop *l, int max_wait_ms, volatile sig_atomic_t *stop);

/* Monotonic milliseconds, the loop's clock. */
int64_t loop_now_ms(void);

#endif
