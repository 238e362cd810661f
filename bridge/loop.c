/* loop: epoll + a short list of module-owned deadlines (see loop.h).
 * Watches are kept in an array indexed by fd, so callbacks are found in
 * O(1); deadlines are few (one per module), so a list scan is enough. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

typedef struct watch {
    loop_fd_cb cb;
    void *ctx;
    int active;
} watch;

struct loop {
    int epfd;
    watch *w; /* by fd */
    size_t n_w;
    loop_timer *timers;
    sigset_t waitmask; /* what epoll_pwait unblocks: SIGINT, SIGTERM */
};

int64_t loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

loop *loop_new(void)
{
    loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    /* SIGINT/SIGTERM stay blocked outside epoll_pwait, so a stop request
     * arriving between the flag check and the sleep still wakes the sleep. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP); /* reload: same reasoning */
    sigprocmask(SIG_BLOCK, &block, &l->waitmask);
    sigdelset(&l->waitmask, SIGINT);
    sigdelset(&l->waitmask, SIGTERM);
    sigdelset(&l->waitmask, SIGHUP);
    return l;
}

void loop_free(loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    free(l->w);
    sigprocmask(SIG_SETMASK, &l->waitmask, NULL);
    free(l);
}

static int ensure_slot(loop *l, int fd)
{
    if ((size_t)fd < l->n_w)
        return 0;
    size_t n = l->n_w ? l->n_w : 64;
    while (n <= (size_t)fd)
        n *= 2;
    watch *w = realloc(l->w, n * sizeof *w);
    if (!w)
        return -1;
    memset(w + l->n_w, 0, (n - l->n_w) * sizeof *w);
    l->w = w;
    l->n_w = n;
    return 0;
}

int loop_watch(loop *l, int fd, unsigned events, loop_fd_cb cb, void *ctx)
{
    if (fd < 0 || ensure_slot(l, fd) != 0) {
        errno = fd < 0 ? EBADF : ENOMEM;
        return -1;
    }
    struct epoll_event ev = {.data.fd = fd};
    ev.events = ((events & LOOP_IN) ? EPOLLIN : 0) | ((events & LOOP_OUT) ? EPOLLOUT : 0);
    int op = l->w[fd].active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, fd, &ev) != 0) {
        /* A reused fd number can still be registered from its previous life. */
        if (!(op == EPOLL_CTL_ADD && errno == EEXIST) ||
            epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
            return -1;
    }
    l->w[fd] = (watch){cb, ctx, 1};
    return 0;
}

void loop_unwatch(loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->n_w || !l->w[fd].active)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    l->w[fd].active = 0;
}

void loop_timer_add(loop *l, loop_timer *t, void (*cb)(void *ctx), void *ctx)
{
    t->cb = cb;
    t->ctx = ctx;
    t->due_ms = -1;
    t->next = l->timers;
    l->timers = t;
}

void loop_timer_remove(loop *l, loop_timer *t)
{
    for (loop_timer **p = &l->timers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            return;
        }
}

void loop_arm(loop_timer *t, int64_t due_ms)
{
    t->due_ms = due_ms;
}

static int next_wait(const loop *l, int64_t now, int max_wait_ms)
{
    int64_t wait = max_wait_ms;
    for (const loop_timer *t = l->timers; t; t = t->next) {
        if (t->due_ms < 0)
            continue;
        int64_t d = t->due_ms > now ? t->due_ms - now : 0;
        if (wait < 0 || d < wait)
            wait = d;
    }
    return wait > 0x7fffffff ? 0x7fffffff : (int)wait;
}

/* Fires every expired timer once; a callback may re-arm its own timer. */
static void fire_timers(loop *l)
{
    int64_t now = loop_now_ms();
    for (loop_timer *t = l->timers; t; t = t->next)
        if (t->due_ms >= 0 && t->due_ms <= now) {
            t->due_ms = -1;
            t->cb(t->ctx);
        }
}

int loop_run_once(loop *l, int max_wait_ms, volatile sig_atomic_t *stop)
{
    struct epoll_event evs[64];
    int n = epoll_pwait(l->epfd, evs, 64, next_wait(l, loop_now_ms(), max_wait_ms), &l->waitmask);
    if (n < 0 && errno == EINTR && stop && *stop)
        return -1;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if ((size_t)fd >= l->n_w || !l->w[fd].active)
            continue; /* unwatched by an earlier callback in this round */
        unsigned e = ((evs[i].events & EPOLLIN) ? LOOP_IN : 0) |
                     ((evs[i].events & EPOLLOUT) ? LOOP_OUT : 0) |
                     ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? LOOP_ERR : 0);
        l->w[fd].cb(l->w[fd].ctx, fd, e);
    }
    fire_timers(l);
    return stop && *stop ? -1 : 0;
}
