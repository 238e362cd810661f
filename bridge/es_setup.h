/* es_setup: Elasticsearch index management (spec §3.3) as a sequence of
 * requests that knows nothing of transport: ILM policy (GET, then PUT when
 * missing or overwritten), composable template (HEAD, then PUT when missing,
 * overwritten, or the policy was just created), data stream (GET, then PUT
 * when missing, only for a fixed index name).  The output runs it on the
 * loop after its first connect; `expvarbeat setup --index-management` and
 * `expvarbeat test output` are the blocking entry points below. */
#ifndef EXPVARBEAT_ES_SETUP_H
#define EXPVARBEAT_ES_SETUP_H

#include <stddef.h>
#include <stdio.h>
#include "config.h"

typedef struct es_setup es_setup;

typedef struct es_request {
    const char *method; /* GET, HEAD, PUT */
    const char *path;   /* escaped, from the endpoint's base: "/_ilm/policy/expvarbeat" */
    const char *body;   /* NULL: none */
    size_t len;
} es_request;

/* Renders the bodies once.  force_template: PUT the template even when it
 * exists (`setup --index-management` does, as Metricbeat's).  NULL + err. */
es_setup *es_setup_new(const config *c, int force_template, char *err, size_t errlen);
void es_setup_free(es_setup *s);
/* Back to the first step (after a failure, on the next connect). */
void es_setup_restart(es_setup *s);
/* The next request, or NULL when the sequence has finished. */
const es_request *es_setup_next(es_setup *s);
/* What the current step does, for messages: "installing index template X". */
const char *es_setup_step(const es_setup *s);
/* The answer to the request es_setup_next returned.  0, or -1 with an error
 * naming the step and Elasticsearch's reason. */
int es_setup_feed(es_setup *s, long status, const char *body, size_t len, char *err, size_t errlen);

/* How output.elasticsearch.index (or .pipeline) varies: not at all, only
 * with agent.* fields (fixed for the process: evaluate once), or per event
 * (other fields or a date).  Decided from the text, erring towards
 * per-event. */
enum es_fmt_kind { ES_FMT_CONSTANT, ES_FMT_AGENT, ES_FMT_EVENT };
enum es_fmt_kind es_fmt_kind_of(const char *text);

/* The index every event goes to, lowercased, when it is the same for all
 * (then it is a data stream we may create): 1 with out filled, 0 when it
 * varies per event, -1 with a message when the format is invalid. */
int es_fixed_index(const config *c, char *out, size_t outlen, char *err, size_t errlen);

/* `expvarbeat setup --index-management`: connects to the first reachable
 * host, runs the sequence, prints "Index setup finished.".  Blocking.  0, or
 * -1 with a message. */
int es_setup_run(const config *c, FILE *out, char *err, size_t errlen);

/* `expvarbeat test output` for Elasticsearch: Metricbeat's step tree per
 * host (spec §7.2).  Blocking.  0 when every step passed, else 1. */
int es_test_output(const config *c, FILE *out);

#endif
