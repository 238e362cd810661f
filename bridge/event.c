/* event: writes the ECS envelope of every document (see event.h) and owns
 * the beat's identity (agent.id persisted across runs as Metricbeat does in
 * data/meta.json, a fresh agent.ephemeral_id per run). */
#include "event.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GEN_STR(g, s) yajl_gen_string((g), (const unsigned char *)(s), strlen(s))

void uuid4(char out[37])
{
    unsigned char r[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, r, sizeof r) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof r) {
        /* Not secret, only unique: time and pid are good enough here. */
        unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)rand_r(&seed);
    }
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

/* meta.json is {"uuid":"…","first_start":"…"}; we only need the uuid. */
static int meta_read_uuid(const char *path, char out[37])
{
    char text[512];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strstr(text, "\"uuid\"");
    if (!p || !(p = strchr(p + 6, '"')) || strlen(p + 1) < 37 || p[37] != '"')
        return -1;
    memcpy(out, p + 1, 36);
    out[36] = '\0';
    return 0;
}

static int meta_write_uuid(const char *dir, const char *path, const char *uuid, char *err,
                           size_t errlen)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
        return -1;
    }
    char ts[32];
    event_format_ts((int64_t)time(NULL) * 1000, ts);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\"uuid\":\"%s\",\"first_start\":\"%s\"}\n", uuid, ts);
    return fclose(f) == 0 ? 0 : -1;
}

int beat_info_init(beat_info *bi, const config *c, int persist, char *err, size_t errlen)
{
    memset(bi, 0, sizeof *bi);
    bi->cfg = c;
    bi->version = EXPVARBEAT_VERSION;
    if (gethostname(bi->hostname, sizeof bi->hostname - 1) != 0)
        snprintf(bi->hostname, sizeof bi->hostname, "localhost");
    snprintf(bi->name, sizeof bi->name, "%s", c && c->name ? c->name : bi->hostname);
    uuid4(bi->ephemeral_id);
    if (!c || !c->path.data) {
        uuid4(bi->id);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", c->path.data);
    if (meta_read_uuid(path, bi->id) == 0)
        return 0;
    uuid4(bi->id);
    if (!persist)
        return 0;
    return meta_write_uuid(c->path.data, path, bi->id, err, errlen);
}

void event_format_ts(int64_t ts_ms, char out[32])
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ts_ms % 1000));
}

int event_open_path(yajl_gen g, const char *dotted)
{
    int opened = 0;
    const char *seg = dotted;
    for (const char *dot; (dot = strchr(seg, '.')) != NULL; seg = dot + 1) {
        yajl_gen_string(g, (const unsigned char *)seg, (size_t)(dot - seg));
        yajl_gen_map_open(g);
        opened++;
    }
    GEN_STR(g, seg);
    return opened;
}

void event_close_maps(yajl_gen g, int n)
{
    while (n-- > 0)
        yajl_gen_map_close(g);
}

static void gen_kv(yajl_gen g, const char *k, const char *v)
{
    GEN_STR(g, k);
    GEN_STR(g, v);
}

static int has_fields(const cfgval *f)
{
    return f && f->type == CFGV_MAP && f->child;
}

static void gen_members(yajl_gen g, const cfgval *map)
{
    for (const cfgval *m = map->child; m; m = m->next) {
        GEN_STR(g, m->key);
        cfgval_gen(g, m);
    }
}

/* Module and global `fields` share one "fields" object unless one of them is
 * under root, as libbeat merges them into the same event. */
static void gen_user_fields(yajl_gen g, const module_config *m, const config *c)
{
    const cfgval *mf = m && has_fields(m->fields) ? m->fields : NULL;
    const cfgval *cf = c && has_fields(c->fields) ? c->fields : NULL;
    if (mf && m->fields_under_root)
        gen_members(g, mf);
    if (cf && c->fields_under_root)
        gen_members(g, cf);
    int nested_m = mf && !m->fields_under_root, nested_c = cf && !c->fields_under_root;
    if (!nested_m && !nested_c)
        return;
    GEN_STR(g, "fields");
    yajl_gen_map_open(g);
    if (nested_m)
        gen_members(g, mf);
    if (nested_c)
        gen_members(g, cf);
    yajl_gen_map_close(g);
}

static void gen_tags(yajl_gen g, const strlist *a, const strlist *b)
{
    if (a->n + b->n == 0)
        return;
    GEN_STR(g, "tags");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < a->n; i++)
        GEN_STR(g, a->v[i]);
    for (size_t i = 0; i < b->n; i++)
        GEN_STR(g, b->v[i]);
    yajl_gen_array_close(g);
}

static void gen_agent(yajl_gen g, const beat_info *bi)
{
    GEN_STR(g, "agent");
    yajl_gen_map_open(g);
    gen_kv(g, "ephemeral_id", bi->ephemeral_id);
    gen_kv(g, "id", bi->id);
    gen_kv(g, "name", bi->name);
    gen_kv(g, "type", "expvarbeat");
    gen_kv(g, "version", bi->version);
    yajl_gen_map_close(g);
}

static void gen_event_fields(yajl_gen g, const event_site *s, int64_t duration_ns, int is_error)
{
    GEN_STR(g, "event");
    yajl_gen_map_open(g);
    gen_kv(g, "dataset", is_error ? s->error_dataset : s->dataset);
    gen_kv(g, "module", "golang");
    if (duration_ns > 0) {
        GEN_STR(g, "duration");
        yajl_gen_integer(g, duration_ns);
    }
    yajl_gen_map_close(g);

    GEN_STR(g, "metricset");
    yajl_gen_map_open(g);
    gen_kv(g, "name", s->metricset);
    if (s->period_ms > 0) {
        GEN_STR(g, "period");
        yajl_gen_integer(g, s->period_ms);
    }
    yajl_gen_map_close(g);

    GEN_STR(g, "service");
    yajl_gen_map_open(g);
    if (s->address && *s->address)
        gen_kv(g, "address", s->address);
    gen_kv(g, "type", "golang");
    yajl_gen_map_close(g);
}

void event_begin(yajl_gen g, const beat_info *bi, const event_site *s, int64_t ts_ms,
                 int64_t duration_ns, const char *error_message)
{
    char ts[32];
    event_format_ts(ts_ms, ts);
    yajl_gen_map_open(g);
    gen_kv(g, "@timestamp", ts);
    if (error_message) {
        GEN_STR(g, "error");
        yajl_gen_map_open(g);
        gen_kv(g, "message", error_message);
        yajl_gen_map_close(g);
    }
    gen_event_fields(g, s, duration_ns, error_message != NULL);
    GEN_STR(g, "ecs");
    yajl_gen_map_open(g);
    gen_kv(g, "version", "8.0.0");
    yajl_gen_map_close(g);
    GEN_STR(g, "host");
    yajl_gen_map_open(g);
    gen_kv(g, "name", bi->name);
    yajl_gen_map_close(g);
    gen_agent(g, bi);

    static const strlist none = {NULL, 0};
    const config *c = bi->cfg;
    const module_config *m = s->mod;
    gen_tags(g, m ? &m->tags : &none, c ? &c->tags : &none);
    gen_user_fields(g, m, c);
}

void event_end(yajl_gen g)
{
    yajl_gen_map_close(g);
}
