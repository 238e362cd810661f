/* expvar_select: which fields of an expvar document are published
 * (expvar.include / expvar.exclude / expvar.drop_memstats /
 * expvar.max_fields), applied to the finished golang.<namespace> object.
 *
 * Patterns are globs over the document's key path, one segment per object
 * level: `*` matches within one segment, a segment `**` matches any number
 * of segments, `\` makes the next character literal (`raft\.status` is the
 * one key "raft.status"; `\*`, `\\`).  `/` is an ordinary character.  A
 * pattern selects the path it matches and everything below it.  An array is
 * one field: patterns do not reach inside arrays.  Include first (none =
 * everything), then exclude; drop_memstats excludes `memstats`.  Objects left
 * without a field disappear; an object that was empty in the body is kept
 * when its own path is selected.  max_fields keeps the first N fields in
 * document order and counts the rest, so the caller can report the excess
 * once per change of the count.  Pure: no I/O. */
#ifndef EXPVARBEAT_EXPVAR_SELECT_H
#define EXPVARBEAT_EXPVAR_SELECT_H

#include <stddef.h>
#include <yajl/yajl_gen.h>

typedef struct expvar_select expvar_select;

typedef struct expvar_select_conf {
    char *const *include;
    size_t n_include;
    char *const *exclude;
    size_t n_exclude;
    int max_fields; /* 0 = no cap */
    int drop_memstats;
} expvar_select_conf;

/* 0 with *out NULL when c selects nothing (documents stay untouched), 0 with
 * a new selection, or -1 with a message naming the bad pattern. */
int expvar_select_new(const expvar_select_conf *c, expvar_select **out, char *err, size_t errlen);
void expvar_select_free(expvar_select *s);

/* Copies the selected fields of json (one object, as the expvar decoder
 * writes it) into g, positioned where a value is expected; records the
 * counts.  0, or -1 with msg. */
int expvar_select_write(expvar_select *s, const char *json, size_t len, yajl_gen g, char *msg,
                        size_t msglen);

/* Fields the last written document selected, and how many of them it kept. */
size_t expvar_select_fields(const expvar_select *s);
size_t expvar_select_kept(const expvar_select *s);

/* 1 when the last document went over max_fields with a count not reported
 * yet: writes "expvar.max_fields: 1234 fields, 1000 kept" to msg and counts
 * it as reported.  Dropping back under the cap re-arms the report. */
int expvar_select_cap_message(expvar_select *s, char *msg, size_t msglen);

/* One pattern against one path of n segments (test hook and building
 * block): EXPVAR_GLOB_FULL when it matches the path, EXPVAR_GLOB_PREFIX when
 * it could match a path below it, else EXPVAR_GLOB_NONE; -1 for a bad
 * pattern. */
enum { EXPVAR_GLOB_NONE, EXPVAR_GLOB_PREFIX, EXPVAR_GLOB_FULL };
int expvar_glob_match(const char *pattern, const char *const *segs, const size_t *lens, size_t n);

#endif
