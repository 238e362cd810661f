/* curlm: a libcurl multi handle driven by the loop (socket interface), so
 * that transfers cost nothing while idle and scale with active sockets.
 * Each user (the poller's scrapes, the Elasticsearch output's requests) has
 * its own curlm and gets each finished transfer through on_done. */
#ifndef EXPVARBEAT_CURLM_H
#define EXPVARBEAT_CURLM_H

#include <curl/curl.h>
#include "loop.h"

typedef struct curlm curlm;
typedef void (*curlm_done_cb)(void *ctx, CURL *easy, CURLcode rc);

curlm *curlm_new(loop *l, curlm_done_cb on_done, void *ctx);
/* Starts a transfer; on_done is called once it ends (never from inside
 * curlm_add).  0, or -1 with curl's reason in err. */
int curlm_add(curlm *m, CURL *easy, char *err, size_t errlen);
/* Aborts a transfer without calling on_done. */
void curlm_remove(curlm *m, CURL *easy);
/* Transfers in progress. */
int curlm_running(const curlm *m);
/* For curl_multi_setopt (e.g. CURLMOPT_MAX_HOST_CONNECTIONS). */
CURLM *curlm_handle(curlm *m);
void curlm_free(curlm *m);

#endif
