/* gojson: Go 1.19 encoding/json's validity scan, rewritten as a byte state
 * machine, kept only for its words: when yajl rejects a body (or a decoder
 * gives up on one), this tells which syntax error json.Unmarshal would have
 * reported, since Go validates the whole input before it decodes anything.
 * Runs only on error paths, so clarity wins over speed here.  The nesting
 * stack is one bit per level up to Go's limit of 10000. */
#include "gojson.h"

#include <stdio.h>

#define GO_MAX_DEPTH 10000

enum step {
    S_BEGIN_VALUE,
    S_BEGIN_VALUE_OR_EMPTY,
    S_BEGIN_STRING_OR_EMPTY,
    S_BEGIN_STRING,
    S_END_VALUE,
    S_END_TOP,
    S_IN_STRING,
    S_IN_STRING_ESC,
    S_IN_STRING_ESC_U, /* `hex` digits of \uXXXX seen so far */
    S_NEG,
    S_1,
    S_0,
    S_DOT,
    S_DOT0,
    S_E,
    S_ESIGN,
    S_E0,
    S_LITERAL, /* inside true/false/null: `lit`, next byte lit[pos] */
};

/* Go's parseState of the innermost container. */
enum pstate { PS_OBJECT_KEY, PS_OBJECT_VALUE, PS_ARRAY_VALUE };

typedef struct scanner {
    enum step step;
    enum pstate ps;
    int depth;
    int end_top;
    int failed;
    int hex;
    const char *lit;
    int pos;
    unsigned char is_object[GO_MAX_DEPTH / 8 + 1];
    char *msg;
    size_t msglen;
} scanner;

enum { OK = 0, ERR = -1 };

/* Go's quoteChar: strconv.Quote of the byte taken as a rune (so 0xe9 is
 * 'é' and 0x80 is '\u0080'), single-quoted. */
static void quote_char(unsigned char c, char out[12])
{
    static const char short_esc[] = "abtnvfr"; /* \a=7 .. \r=13 */
    if (c == '\'')
        snprintf(out, 12, "'\\''");
    else if (c == '"')
        snprintf(out, 12, "'\"'");
    else if (c == '\\')
        snprintf(out, 12, "'\\\\'");
    else if (c >= 7 && c <= 13)
        snprintf(out, 12, "'\\%c'", short_esc[c - 7]);
    else if (c < 0x20 || c == 0x7f)
        snprintf(out, 12, "'\\x%02x'", c);
    else if (c < 0x80)
        snprintf(out, 12, "'%c'", c);
    else if (c <= 0xa0 || c == 0xad) /* C1 controls, NBSP, soft hyphen */
        snprintf(out, 12, "'\\u00%02x'", c);
    else
        snprintf(out, 12, "'%c%c'", 0xc0 | (c >> 6), 0x80 | (c & 0x3f));
}

static int fail(scanner *s, unsigned char c, const char *context)
{
    char q[12];
    quote_char(c, q);
    snprintf(s->msg, s->msglen, "invalid character %s %s", q, context);
    s->failed = 1;
    return ERR;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int push(scanner *s, unsigned char c, int object)
{
    if (++s->depth > GO_MAX_DEPTH)
        return fail(s, c, "exceeded max depth");
    unsigned char bit = (unsigned char)(1u << (s->depth % 8));
    if (object)
        s->is_object[s->depth / 8] |= bit;
    else
        s->is_object[s->depth / 8] &= (unsigned char)~bit;
    s->ps = object ? PS_OBJECT_KEY : PS_ARRAY_VALUE;
    return OK;
}

/* The parent of a closed container was necessarily waiting for a value. */
static void pop(scanner *s)
{
    if (--s->depth == 0) {
        s->step = S_END_TOP;
        s->end_top = 1;
        return;
    }
    s->step = S_END_VALUE;
    int object = s->is_object[s->depth / 8] & (1u << (s->depth % 8));
    s->ps = object ? PS_OBJECT_VALUE : PS_ARRAY_VALUE;
}

static int literal(scanner *s, const char *lit)
{
    s->step = S_LITERAL;
    s->lit = lit;
    s->pos = 1;
    return OK;
}

static int begin_value(scanner *s, unsigned char c)
{
    if (is_space(c))
        return OK;
    switch (c) {
    case '{':
        s->step = S_BEGIN_STRING_OR_EMPTY;
        return push(s, c, 1);
    case '[':
        s->step = S_BEGIN_VALUE_OR_EMPTY;
        return push(s, c, 0);
    case '"':
        s->step = S_IN_STRING;
        return OK;
    case '-':
        s->step = S_NEG;
        return OK;
    case '0':
        s->step = S_0;
        return OK;
    case 't':
        return literal(s, "true");
    case 'f':
        return literal(s, "false");
    case 'n':
        return literal(s, "null");
    }
    if (c >= '1' && c <= '9') {
        s->step = S_1;
        return OK;
    }
    return fail(s, c, "looking for beginning of value");
}

static int end_top(scanner *s, unsigned char c)
{
    return is_space(c) ? OK : fail(s, c, "after top-level value");
}

static int end_value(scanner *s, unsigned char c)
{
    if (s->depth == 0) {
        s->step = S_END_TOP;
        s->end_top = 1;
        return end_top(s, c);
    }
    if (is_space(c)) {
        s->step = S_END_VALUE;
        return OK;
    }
    switch (s->ps) {
    case PS_OBJECT_KEY:
        if (c != ':')
            return fail(s, c, "after object key");
        s->ps = PS_OBJECT_VALUE;
        s->step = S_BEGIN_VALUE;
        return OK;
    case PS_OBJECT_VALUE:
        if (c == ',') {
            s->ps = PS_OBJECT_KEY;
            s->step = S_BEGIN_STRING;
            return OK;
        }
        if (c == '}') {
            pop(s);
            return OK;
        }
        return fail(s, c, "after object key:value pair");
    case PS_ARRAY_VALUE:
        if (c == ',') {
            s->step = S_BEGIN_VALUE;
            return OK;
        }
        if (c == ']') {
            pop(s);
            return OK;
        }
        return fail(s, c, "after array element");
    }
    return fail(s, c, "");
}

static int begin_string(scanner *s, unsigned char c)
{
    if (is_space(c))
        return OK;
    if (c != '"')
        return fail(s, c, "looking for beginning of object key string");
    s->step = S_IN_STRING;
    return OK;
}

static int in_string(scanner *s, unsigned char c)
{
    if (c == '"')
        s->step = S_END_VALUE;
    else if (c == '\\')
        s->step = S_IN_STRING_ESC;
    else if (c < 0x20)
        return fail(s, c, "in string literal");
    return OK;
}

static int in_string_esc(scanner *s, unsigned char c)
{
    switch (c) {
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case '\\':
    case '/':
    case '"':
        s->step = S_IN_STRING;
        return OK;
    case 'u':
        s->step = S_IN_STRING_ESC_U;
        s->hex = 0;
        return OK;
    }
    return fail(s, c, "in string escape code");
}

static int in_literal(scanner *s, unsigned char c)
{
    if (c != (unsigned char)s->lit[s->pos]) {
        char ctx[48];
        snprintf(ctx, sizeof ctx, "in literal %s (expecting '%c')", s->lit, s->lit[s->pos]);
        return fail(s, c, ctx);
    }
    if (s->lit[++s->pos] == '\0')
        s->step = S_END_VALUE;
    return OK;
}

/* Number states after the first digit: Go's state1/state0/stateDot0/stateE0
 * fall through to end_value on any byte that cannot continue the number. */
static int in_number(scanner *s, unsigned char c)
{
    switch (s->step) {
    case S_NEG:
        if (!is_digit(c))
            return fail(s, c, "in numeric literal");
        s->step = c == '0' ? S_0 : S_1;
        return OK;
    case S_1:
        if (is_digit(c))
            return OK;
        /* fall through */
    case S_0:
        if (c == '.') {
            s->step = S_DOT;
            return OK;
        }
        break;
    case S_DOT:
        if (!is_digit(c))
            return fail(s, c, "after decimal point in numeric literal");
        s->step = S_DOT0;
        return OK;
    case S_DOT0:
        if (is_digit(c))
            return OK;
        break;
    case S_E:
        if (c == '+' || c == '-') {
            s->step = S_ESIGN;
            return OK;
        }
        /* fall through */
    case S_ESIGN:
        if (!is_digit(c))
            return fail(s, c, "in exponent of numeric literal");
        s->step = S_E0;
        return OK;
    case S_E0:
        return is_digit(c) ? OK : end_value(s, c);
    default:
        break;
    }
    if (c == 'e' || c == 'E') {
        s->step = S_E;
        return OK;
    }
    return end_value(s, c);
}

static int step(scanner *s, unsigned char c)
{
    switch (s->step) {
    case S_BEGIN_VALUE:
        return begin_value(s, c);
    case S_BEGIN_VALUE_OR_EMPTY:
        if (is_space(c))
            return OK;
        return c == ']' ? end_value(s, c) : begin_value(s, c);
    case S_BEGIN_STRING_OR_EMPTY:
        if (is_space(c))
            return OK;
        if (c != '}')
            return begin_string(s, c);
        s->ps = PS_OBJECT_VALUE;
        return end_value(s, c);
    case S_BEGIN_STRING:
        return begin_string(s, c);
    case S_END_VALUE:
        return end_value(s, c);
    case S_END_TOP:
        return end_top(s, c);
    case S_IN_STRING:
        return in_string(s, c);
    case S_IN_STRING_ESC:
        return in_string_esc(s, c);
    case S_IN_STRING_ESC_U:
        if (!is_hex(c))
            return fail(s, c, "in \\u hexadecimal character escape");
        if (++s->hex == 4)
            s->step = S_IN_STRING;
        return OK;
    case S_LITERAL:
        return in_literal(s, c);
    default:
        return in_number(s, c);
    }
}

int gojson_check(const char *p, size_t n, char *msg, size_t msglen)
{
    scanner s = {.step = S_BEGIN_VALUE, .msg = msg, .msglen = msglen};
    if (msglen)
        msg[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (step(&s, (unsigned char)p[i]) == ERR)
            return -1;
    if (s.end_top)
        return 0;
    /* Go's eof(): one more space ends a number or fails a half literal. */
    if (step(&s, ' ') == ERR)
        return -1;
    if (s.end_top)
        return 0;
    snprintf(msg, msglen, "unexpected end of JSON input");
    return -1;
}
