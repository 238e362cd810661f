/* redact: secret key names and URL userinfo masking (see redact.h). */
#include "redact.h"

#include <string.h>
#include <strings.h>

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int redact_header_is_secret(const char *name)
{
    static const char *const names[] = {"authorization", "proxy-authorization", "cookie",
                                        "set-cookie", "x-api-key"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

int redact_key_is_secret(const char *parent, const char *key)
{
    /* Suffixes, so es.password, proxy_password and key_passphrase all match. */
    static const char *const secrets[] = {"password", "passwd",       "passphrase", "api_key",
                                          "apikey",   "bearer_token", "token",      "secret"};
    if (!key)
        return 0;
    if (parent && strcasecmp(parent, "headers") == 0 && redact_header_is_secret(key))
        return 1;
    if (parent && strcasecmp(parent, "ssl") == 0 && strcasecmp(key, "key") == 0)
        return 1;
    if (parent && strcasecmp(parent, "sasl") == 0 && strcasecmp(key, "mechanism") != 0)
        return 1;
    if (ends_with_ci(key, "_file") || ends_with_ci(key, "_path"))
        return 0; /* where a secret is kept, e.g. bearer_token_file */
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (ends_with_ci(key, secrets[i]))
            return 1;
    return 0;
}

/* Appends n bytes to out[*len...], keeping room for the NUL; counts all. */
static void put(char *out, size_t outlen, size_t *len, const char *p, size_t n)
{
    if (*len + 1 < outlen) {
        size_t room = outlen - 1 - *len;
        memcpy(out + *len, p, n < room ? n : room);
    }
    *len += n;
}

/* The end of a URL's authority ("host" part) starting at p. */
static const char *authority_end(const char *p)
{
    return p + strcspn(p, "/?# \t\n\"'<>");
}

/* The last '@' in [p, end), or NULL. */
static const char *userinfo_at(const char *p, const char *end)
{
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    return at;
}

/* Where the userinfo of the URL whose authority starts at p ends: at its
 * '@' normally.  A password written unencoded with '/', '?' or '#' ends the
 * authority early ("user:se" of "http://user:se/cret@h"): such a host is
 * invalid and error messages echo it, so when what stands before that early
 * end is "name:" and something that is not a port, the '@' is looked for up
 * to the end of the token (whole = the string is one URL). */
static const char *userinfo_end(const char *p, int whole)
{
    const char *end = authority_end(p), *at = userinfo_at(p, end);
    if (at || *p == '[')
        return at;
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || colon + 1 == end)
        return NULL;
    for (const char *q = colon + 1; q < end; q++)
        if (*q < '0' || *q > '9')
            return userinfo_at(p, whole ? p + strlen(p) : p + strcspn(p, " \t\n\"'<>"));
    return NULL;
}

size_t redact_urls(const char *s, int bare_host, char *out, size_t outlen)
{
    size_t len = 0;
    const char *p = s;
    if (bare_host && !strstr(s, "://")) {
        const char *at = userinfo_end(s, 1);
        if (at) {
            put(out, outlen, &len, REDACT_MASK, strlen(REDACT_MASK));
            p = at;
        }
    }
    for (const char *sep; (sep = strstr(p, "://")) != NULL;) {
        const char *auth = sep + 3, *at = userinfo_end(auth, bare_host);
        put(out, outlen, &len, p, (size_t)(auth - p));
        p = auth;
        if (at) {
            put(out, outlen, &len, REDACT_MASK, strlen(REDACT_MASK));
            p = at;
        }
    }
    put(out, outlen, &len, p, strlen(p));
    if (outlen)
        out[len < outlen ? len : outlen - 1] = '\0';
    return len;
}
