/* SPDX-License-Identifier: Apache-2.0 */
/* fa_attempt.c - a sign-in attempt as one line of JSON; see fa_attempt.h. */
#include <string.h>
#include <apr_strings.h>
#include "fa_attempt.h"

/* Length of the UTF-8 sequence at s (at most n bytes there), or 0 when
 * it is not one: a bad lead byte, a missing continuation, an overlong
 * form, a surrogate or a code point past U+10FFFF. */
static apr_size_t utf8_len(const unsigned char *s, apr_size_t n)
{
    apr_size_t len, i;
    unsigned long cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    }
    else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return len;
}

#define OUT_MAX 512                /* a value's bytes once escaped */

/* Appends "name":value (a JSON string, or null) to out at *o: at most
 * OUT_MAX bytes of value and 16 more of name and punctuation. */
static void put_field(char *out, apr_size_t *o, const char *name,
                      const char *value)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)value;
    apr_size_t n, i = 0, k, end;

    *o += (apr_size_t)apr_snprintf(out + *o, 16, ",\"%s\":", name);
    if (!value) {
        memcpy(out + *o, "null", 4);
        *o += 4;
        return;
    }
    n = strlen(value);
    out[(*o)++] = '"';
    end = *o + OUT_MAX;
    while (i < n && i < FA_ATTEMPT_VALUE_MAX && *o + 6 <= end) {
        if (s[i] == '"' || s[i] == '\\') {
            out[(*o)++] = '\\';
            out[(*o)++] = (char)s[i++];
        }
        else if (s[i] < 0x20 || s[i] == 0x7f) {
            memcpy(out + *o, "\\u00", 4);
            out[*o + 4] = hex[s[i] >> 4];
            out[*o + 5] = hex[s[i] & 15];
            *o += 6;
            i++;
        }
        else if ((k = utf8_len(s + i, n - i)) == 0) {
            memcpy(out + *o, "\xef\xbf\xbd", 3);      /* U+FFFD */
            *o += 3;
            i++;
        }
        else if (i + k > FA_ATTEMPT_VALUE_MAX) {
            break;                /* no sequence cut in half */
        }
        else {
            memcpy(out + *o, s + i, k);
            *o += k;
            i += k;
        }
    }
    out[(*o)++] = '"';
}

char *fa_attempt_line(apr_pool_t *p, const fa_attempt_t *a, apr_size_t *len)
{
    apr_time_exp_t t;
    char *out = apr_palloc(p, FA_ATTEMPT_LINE_MAX);
    apr_size_t o;

    apr_time_exp_gmt(&t, a->time);
    o = (apr_size_t)apr_snprintf(out, FA_ATTEMPT_LINE_MAX, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d."
                            "%03dZ\",\"outcome\":\"%s\"",
                            t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                            t.tm_hour, t.tm_min, t.tm_sec,
                            t.tm_usec / 1000,
                            a->reason ? "failure" : "success");
    put_field(out, &o, "reason", a->reason);
    put_field(out, &o, "idp", a->idp);
    put_field(out, &o, "sub", a->sub);
    put_field(out, &o, "account", a->account);
    put_field(out, &o, "client", a->client);
    out[o++] = '}';
    out[o++] = '\n';
    out[o] = '\0';
    *len = o;
    return out;
}
