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

/* A JSON number token (not NUL-terminated) → the text Metricbeat writes for
 * it after decoding to float64.  Returns the length, or 0 when the value does
 * not fit a float64 (Go: "cannot unmarshal number 1e400 ..."). */
size_t numfmt_json_number(const char *tok, size_t len, char out[NUMFMT_MAX]);

/* A JSON number token → uint64 with encoding/json's rules for a uint64 field:
 * no sign, fraction or exponent, no overflow.  Returns 0, or -1. */
int numfmt_parse_uint64(const char *tok, size_t len, uint64_t *out);

#endif
