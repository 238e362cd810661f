/* numfmt: Go's strconv.FormatFloat(f, 'g', -1, 64) and ParseUint in C.
 * Hot path first: a JSON token with at most 15 significant digits inside the
 * normal range is reformatted as text, because DBL_DIG guarantees that such
 * digits are the unique shortest ones that round-trip.  Integer-valued
 * doubles below 2^64 (memstats timestamps) get exact integer interval
 * arithmetic.  Anything else tries printf precisions until strtod
 * round-trips.  printf/strtod assume LC_NUMERIC "C" (the daemon never calls
 * setlocale).  Pure functions, no allocation except for huge tokens. */
#include "numfmt.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decimal value 0.d[0]d[1]..d[nd-1] x 10^dp, no leading/trailing zeros. */
typedef struct dec {
    char d[24];
    int nd;
    int dp;
    int neg;
} dec;

/* Digits of a token that can still take the text-only path. */
#define FAST_DIGITS 15
/* Leading-digit exponents whose 15-digit values are all normal doubles. */
#define FAST_EXP_MIN (-307)
#define FAST_EXP_MAX 307

static size_t put_exp(char *out, size_t n, int exp)
{
    out[n++] = 'e';
    out[n++] = exp < 0 ? '-' : '+';
    if (exp < 0)
        exp = -exp;
    if (exp >= 100)
        out[n++] = (char)('0' + exp / 100);
    out[n++] = (char)('0' + exp / 10 % 10);
    out[n++] = (char)('0' + exp % 10);
    return n;
}

/* Go's %e / %f choice for shortest 'g': exponent form iff exp < -4 || exp >= 6
 * (precision 6 is what Go uses for the decision when formatting shortest). */
static size_t fmt_g(const dec *x, char *out)
{
    size_t n = 0;
    if (x->neg)
        out[n++] = '-';
    int exp = x->dp - 1;
    if (x->nd == 0) {
        out[n++] = '0';
    } else if (exp < -4 || exp >= 6) {
        out[n++] = x->d[0];
        if (x->nd > 1) {
            out[n++] = '.';
            memcpy(out + n, x->d + 1, (size_t)x->nd - 1);
            n += (size_t)x->nd - 1;
        }
        n = put_exp(out, n, exp);
    } else {
        if (x->dp > 0) {
            for (int i = 0; i < x->dp; i++)
                out[n++] = i < x->nd ? x->d[i] : '0';
        } else {
            out[n++] = '0';
        }
        if (x->nd > x->dp) {
            out[n++] = '.';
            for (int i = x->dp; i < x->nd; i++)
                out[n++] = i < 0 ? '0' : x->d[i];
        }
    }
    out[n] = '\0';
    return n;
}

static const char two_digits[] = "00010203040506070809101112131415161718192021222324"
                                 "25262728293031323334353637383940414243444546474849"
                                 "50515253545556575859606162636465666768697071727374"
                                 "75767778798081828384858687888990919293949596979899";

/* v * 10^k as a dec (v > 0), trailing zeros folded into the exponent.
 * Two digits per division: this runs for every memstats timestamp. */
static void dec_from_u64(uint64_t v, int k, dec *x)
{
    char tmp[24];
    int n = sizeof tmp;
    while (v % 10 == 0) {
        v /= 10;
        k++;
    }
    for (; v >= 100; v /= 100) {
        n -= 2;
        memcpy(tmp + n, two_digits + 2 * (v % 100), 2);
    }
    if (v >= 10) {
        n -= 2;
        memcpy(tmp + n, two_digits + 2 * v, 2);
    } else {
        tmp[--n] = (char)('0' + v);
    }
    x->nd = (int)sizeof tmp - n;
    memcpy(x->d, tmp + n, (size_t)x->nd);
    x->dp = x->nd + k;
}

/* Shortest digits of the double equal to v, 2^53 < v < 2^64, exactly: find
 * the largest power of ten with a multiple inside the rounding interval of
 * v, and take the multiple nearest v.  Bounds are inclusive when v's
 * mantissa is even (strtod rounds ties to even). */
static void shortest_u64(uint64_t v, dec *x)
{
    int e = 63 - __builtin_clzll(v);
    uint64_t ulp = 1ULL << (e - 52);
    uint64_t hl = v == 1ULL << e ? ulp / 4 : ulp / 2; /* smaller gap below 2^e */
    uint64_t lo = v - hl, hi = v + ulp / 2;
    int incl = ((v >> (e - 52)) & 1) == 0;
    uint64_t best = v, q = v, p = 1; /* q = v / p, kept without dividing by p */
    int bestk = 0;
    for (int k = 0; k <= 19; k++) {
        uint64_t f = q * p, c = f + p;
        int fok = f > lo || (incl && f == lo);
        int cok = c > f && (c < hi || (incl && c == hi));
        if (!fok && !cok)
            break; /* a multiple of 10^(k+1) is also one of 10^k */
        best = fok && (!cok || v - f <= c - v) ? f : c;
        bestk = k;
        if (p > UINT64_MAX / 10)
            break;
        p *= 10;
        q /= 10;
    }
    for (int k = 0; k < bestk; k++)
        best /= 10;
    dec_from_u64(best, bestk, x);
}

/* "d.ddde±XX" from printf → dec. */
static void dec_from_e(const char *s, dec *x)
{
    int n = 0;
    const char *p = s;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            x->d[n++] = *p;
    while (n > 0 && x->d[n - 1] == '0')
        n--;
    x->nd = n;
    x->dp = atoi(p + 1) + 1;
}

/* The p-digit decimal one unit above dec x, as "d.ddde±X" text for strtod. */
static void next_up_text(const dec *x, int p, char *s, size_t cap)
{
    char d[24];
    int dp = x->dp;
    memset(d, '0', sizeof d);
    memcpy(d, x->d, (size_t)x->nd);
    int i = p - 1;
    while (i >= 0 && d[i] == '9')
        d[i--] = '0';
    if (i < 0) {
        d[0] = '1';
        dp++;
    } else {
        d[i]++;
    }
    snprintf(s, cap, "%c.%.*se%d", d[0], p - 1, d + 1, dp - 1);
}

/* Shortest round-trip digits of a > 0 by trial.  For normal doubles no
 * decimal of <= 15 digits other than printf's can round-trip (DBL_DIG), so
 * trials start at 15.  At 16 digits the rounding interval of a power of two
 * is lopsided (half as wide below), so the nearest 16-digit decimal may miss
 * while the next one up still fits: Go picks that one. */
static void shortest_printf(double a, dec *x)
{
    char s[40];
    int first = a < DBL_MIN ? 1 : 15;
    int mant_zero = 0;
    if (a >= DBL_MIN) {
        int e2;
        mant_zero = frexp(a, &e2) == 0.5;
    }
    for (int p = first; p < 17; p++) {
        snprintf(s, sizeof s, "%.*e", p - 1, a);
        dec_from_e(s, x);
        if (strtod(s, NULL) == a)
            return;
        if (p == 16 && mant_zero && strtod(s, NULL) < a) {
            char up[40];
            next_up_text(x, p, up, sizeof up);
            if (strtod(up, NULL) == a) {
                dec_from_e(up, x);
                return;
            }
        }
    }
    snprintf(s, sizeof s, "%.16e", a);
    dec_from_e(s, x);
}

size_t numfmt_go_float(double d, char out[NUMFMT_MAX])
{
    dec x = {.nd = 0, .dp = 0, .neg = signbit(d) != 0};
    if (isnan(d))
        return (size_t)snprintf(out, NUMFMT_MAX, "NaN");
    if (isinf(d))
        return (size_t)snprintf(out, NUMFMT_MAX, "%cInf", x.neg ? '-' : '+');
    double a = fabs(d);
    if (a == 0) {
        /* nd = 0 prints as "0" */
    } else if (a < 18446744073709551616.0 && a == floor(a)) {
        uint64_t v = (uint64_t)a;
        if (v <= 1ULL << 53)
            dec_from_u64(v, 0, &x); /* exact, every digit needed */
        else
            shortest_u64(v, &x);
    } else {
        shortest_printf(a, &x);
    }
    return fmt_g(&x, out);
}

/* What a scan of a JSON number token found. */
typedef struct tokscan {
    int fast;   /* x holds the shortest digits */
    int is_int; /* no fraction, no exponent */
} tokscan;

static void add_digit(dec *x, char c, int *pend, int *fast)
{
    if (c == '0') {
        (*pend)++;
        return;
    }
    if (x->nd + *pend + 1 > FAST_DIGITS) {
        *fast = 0;
        return;
    }
    for (; *pend > 0; (*pend)--)
        x->d[x->nd++] = '0';
    x->d[x->nd++] = c;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Validates a JSON number token and collects its significant digits.
 * Returns 0, or -1 when the token is not JSON number syntax. */
static int tok_scan(const char *p, size_t n, dec *x, tokscan *ts)
{
    size_t i = 0;
    int pend = 0, seen = 0;
    long exp = 0;
    ts->fast = 1;
    ts->is_int = 1;
    x->nd = x->dp = 0;
    x->neg = n > 0 && p[0] == '-';
    i += (size_t)x->neg;
    if (i >= n || !is_digit(p[i]) || (p[i] == '0' && i + 1 < n && is_digit(p[i + 1])))
        return -1;
    for (; i < n && is_digit(p[i]); i++) {
        if (p[i] == '0' && !seen)
            continue;
        seen = 1;
        x->dp++;
        add_digit(x, p[i], &pend, &ts->fast);
    }
    if (i < n && p[i] == '.') {
        ts->is_int = 0;
        if (++i >= n || !is_digit(p[i]))
            return -1;
        for (; i < n && is_digit(p[i]); i++) {
            if (p[i] == '0' && !seen) {
                x->dp--;
                continue;
            }
            seen = 1;
            add_digit(x, p[i], &pend, &ts->fast);
        }
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        ts->is_int = 0;
        int eneg = ++i < n && p[i] == '-';
        if (i < n && (p[i] == '-' || p[i] == '+'))
            i++;
        if (i >= n || !is_digit(p[i]))
            return -1;
        for (; i < n && is_digit(p[i]); i++)
            if (exp < 100000)
                exp = exp * 10 + (p[i] - '0');
        x->dp += (int)(eneg ? -exp : exp);
    }
    if (i != n)
        return -1;
    if (x->nd == 0)
        x->dp = 0; /* zero, whatever the exponent said */
    if (x->nd > 0 && (x->dp - 1 < FAST_EXP_MIN || x->dp - 1 > FAST_EXP_MAX))
        ts->fast = 0;
    return 0;
}

/* strtod over a token that is not NUL-terminated. */
static int tok_strtod(const char *tok, size_t len, double *d)
{
    char small[128];
    char *s = len < sizeof small ? small : malloc(len + 1);
    if (!s)
        return -1;
    memcpy(s, tok, len);
    s[len] = '\0';
    *d = strtod(s, NULL);
    if (s != small)
        free(s);
    return 0;
}

/* An integer token ([-]digits, at most 19 of them, so it fits a uint64):
 * most expvar numbers.  Returns the length written, or 0 when the token is
 * something else for the general path. */
static size_t int_token(const char *tok, size_t len, char out[NUMFMT_MAX])
{
    size_t neg = len > 0 && tok[0] == '-', nd = len - neg;
    const char *p = tok + neg;
    if (nd == 0 || nd > 19 || (p[0] == '0' && nd > 1))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < nd; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return 0;
        v = v * 10 + d;
    }
    if (nd <= 6) { /* below 10^6 Go writes the integer as it came: 0, -0, 4096 */
        for (size_t i = 0; i < len; i++)
            out[i] = tok[i];
        out[len] = '\0';
        return len;
    }
    dec x = {.neg = (int)neg};
    if (v <= 1ULL << 53) { /* exact: the token's digits, trailing zeros dropped */
        x.nd = (int)nd;
        while (p[x.nd - 1] == '0')
            x.nd--;
        memcpy(x.d, p, (size_t)x.nd);
        x.dp = (int)nd;
    } else {
        uint64_t r = (uint64_t)(double)v; /* the float64 Go decodes; < 2^64 */
        if (r <= 1ULL << 53)
            dec_from_u64(r, 0, &x);
        else
            shortest_u64(r, &x);
    }
    return fmt_g(&x, out);
}

size_t numfmt_json_number(const char *tok, size_t len, char out[NUMFMT_MAX])
{
    dec x;
    tokscan ts;
    size_t k = int_token(tok, len, out);
    if (k)
        return k;
    if (tok_scan(tok, len, &x, &ts) < 0)
        return 0;
    if (ts.fast)
        return fmt_g(&x, out);
    double d;
    uint64_t u;
    const char *digits = tok + x.neg;
    if (ts.is_int && numfmt_parse_uint64(digits, len - (size_t)x.neg, &u) == 0)
        d = (double)u; /* correctly rounded, like strtod, but cheaper */
    else if (tok_strtod(digits, len - (size_t)x.neg, &d) < 0)
        return 0;
    if (isinf(d))
        return 0;
    return numfmt_go_float(x.neg ? -d : d, out);
}

int numfmt_parse_uint64(const char *tok, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return -1;
    if (len < 20) { /* below 10^19: cannot overflow, no check per digit */
        for (size_t i = 0; i < len; i++) {
            unsigned dig = (unsigned)(unsigned char)tok[i] - '0';
            if (dig > 9)
                return -1;
            v = v * 10 + dig;
        }
        *out = v;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(tok[i]))
            return -1;
        unsigned dig = (unsigned)(tok[i] - '0');
        if (v > (UINT64_MAX - dig) / 10)
            return -1;
        v = v * 10 + dig;
    }
    *out = v;
    return 0;
}
