/* numfmt: numbers written exactly as Metricbeat (Go) writes them.
 * Go's encoding/json decodes every expvar number into a float64 and libbeat
 * writes it with strconv.FormatFloat(f, 'g', -1, 64): the shortest digits that
 * round-trip, in exponent form when the decimal exponent is < -4 or >= 6, with
 * at least two exponent digits (1e+06, 1.3572176e+07, 999999,
 * 7.98538053427137e-05).  Pure functions. */
#ifndef EXPVARBEAT_NUMFMT_H
#define EXPVARBEAT_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

/* Big enough for any output of this module, NUL included. */
#define NUMFMT_MAX 32

/* Writes d (finite) as Go's FormatFloat(d,'g',-1,64).  Returns the length. */
size_t numfmt_go_float(double d, char out[NUMFMT_MAX]);

/* 1 when Go writes the JSON number token as it is (an integer below 10^6:
 * "0", "-0", "4096"), so a caller can skip numfmt_json_number; most expvar
 * numbers are such.  0 says nothing: ask numfmt_json_number. */
static inline int numfmt_is_verbatim(const char *tok, size_t len)
{
    size_t i = len > 0 && tok[0] == '-';
    if (len - i == 0 || len - i > 6 || (tok[i] == '0' && len - i > 1))
        return 0;
    for (; i < len; i++)
        if (tok[i] < '0' || tok[i] > '9')
            return 0;
    return 1;
}

/* A JSON number token (not NUL-terminated) → the text Metricbeat writes for
 * it after decoding to float64.  Returns the length, or 0 when the value does
 * not fit a float64 (Go: "cannot unmarshal number 1e400 ..."). */
size_t numfmt_json_number(const char *tok, size_t len, char out[NUMFMT_MAX]);

/* A JSON number token → uint64 with encoding/json's rules for a uint64 field:
 * no sign, fraction or exponent, no overflow.  Returns 0, or -1. */
int numfmt_parse_uint64(const char *tok, size_t len, uint64_t *out);

#endif
