/* curlm: libcurl's multi socket interface on the loop (see curlm.h).
 * curl says which sockets to watch and when its timer is due; the loop
 * calls back here; finished transfers go to the owner's on_done. */
#include "curlm.h"

#include <stdio.h>
#include <stdlib.h>

struct curlm {
    loop *l;
    CURLM *multi;
    loop_timer timer;
    curlm_done_cb on_done;
    void *ctx;
    int running;
};

static void drain(curlm *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(m->multi, e);
        m->on_done(m->ctx, e, rc);
    }
}

static void on_fd(void *ctx, int fd, unsigned events)
{
    curlm *m = ctx;
    /* An error or hang-up on the socket is handed to curl as readable and
     * writable, not as CURL_CSELECT_ERR: curl then reads or checks SO_ERROR
     * and reports the real cause ("Connection reset by peer"), where ERR
     * mid-transfer only gives "select/poll returned error". */
    unsigned io = (events & LOOP_ERR) ? (LOOP_IN | LOOP_OUT) : events;
    int flags = ((io & LOOP_IN) ? CURL_CSELECT_IN : 0) | ((io & LOOP_OUT) ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(m->multi, fd, flags, &m->running);
    drain(m);
}

static void on_timer(void *ctx)
{
    curlm *m = ctx;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &m->running);
    drain(m);
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e, (void)socketp;
    curlm *m = userp;
    if (what == CURL_POLL_REMOVE) {
        loop_unwatch(m->l, s);
        return 0;
    }
    unsigned ev = ((what & CURL_POLL_IN) ? LOOP_IN : 0) | ((what & CURL_POLL_OUT) ? LOOP_OUT : 0);
    return loop_watch(m->l, s, ev, on_fd, m) == 0 ? 0 : -1;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    curlm *m = userp;
    loop_arm(&m->timer, timeout_ms < 0 ? -1 : loop_now_ms() + timeout_ms);
    return 0;
}

curlm *curlm_new(loop *l, curlm_done_cb on_done, void *ctx)
{
    curlm *m = calloc(1, sizeof *m);
    if (!m || !(m->multi = curl_multi_init())) {
        free(m);
        return NULL;
    }
    m->l = l;
    m->on_done = on_done;
    m->ctx = ctx;
    loop_timer_add(l, &m->timer, on_timer, m);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    return m;
}

int curlm_add(curlm *m, CURL *easy, char *err, size_t errlen)
{
    CURLMcode rc = curl_multi_add_handle(m->multi, easy);
    if (rc != CURLM_OK) {
        snprintf(err, errlen, "%s", curl_multi_strerror(rc));
        return -1;
    }
    return 0;
}

void curlm_remove(curlm *m, CURL *easy)
{
    curl_multi_remove_handle(m->multi, easy);
}

int curlm_running(const curlm *m)
{
    return m->running;
}

CURLM *curlm_handle(curlm *m)
{
    return m->multi;
}

void curlm_free(curlm *m)
{
    if (!m)
        return;
    loop_timer_remove(m->l, &m->timer);
    curl_multi_cleanup(m->multi);
    free(m);
}
