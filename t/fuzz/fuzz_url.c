/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_url.c - libFuzzer target: the URL rule for IdP URLs
 * (fa_url_parse_checked, fa_url_is_secure_enough) against libcurl's own
 * parse. For any input the rule accepts: libcurl, parsing the same text
 * as a transfer does (CURLOPT_URL), finds the same scheme and host as the
 * parse the rule checked; there is no user name, password or login
 * option; the scheme is http or https; with http the host is a loopback
 * one by a check of this file's own (localhost, [::1], or a dotted IPv4
 * address in 127.0.0.0/8); the text holds only printable ASCII without
 * backslash; and libcurl's rebuilt URL, parsed again, names the same host.
 * The byte-level rule and the boolean form agree. */
#include <arpa/inet.h>
#include <strings.h>
#include <curl/curl.h>
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

/* part of u, or NULL when u has none; free with curl_free. */
static char *part_of(CURLU *u, CURLUPart part)
{
    char *v = NULL;

    if (curl_url_get(u, part, &v, 0) != CURLUE_OK) {
        curl_free(v);
        return NULL;
    }
    return v;
}

/* Loopback by this file's own reading (not fa_host_is_loopback). */
static int loopback_here(const char *host)
{
    struct in_addr a;

    if (!strcasecmp(host, "localhost") || !strcmp(host, "[::1]")) {
        return 1;
    }
    return inet_pton(AF_INET, host, &a) == 1
           && (ntohl(a.s_addr) >> 24) == 127;
}

/* The host libcurl's transfer would use for text (parsed as CURLOPT_URL
 * is), or NULL; *scheme gets its scheme. No userinfo is checked here. */
static char *transfer_host(const char *text, char **scheme)
{
    CURLU *u = curl_url();
    char *host = NULL;

    *scheme = NULL;
    FUZZ_CHECK(u != NULL);
    if (curl_url_set(u, CURLUPART_URL, text, FA_CURLU_FLAGS) == CURLUE_OK) {
        host = part_of(u, CURLUPART_HOST);
        *scheme = part_of(u, CURLUPART_SCHEME);
        FUZZ_CHECK(!part_of(u, CURLUPART_USER));
        FUZZ_CHECK(!part_of(u, CURLUPART_PASSWORD));
        FUZZ_CHECK(!part_of(u, CURLUPART_OPTIONS));
    }
    curl_url_cleanup(u);
    return host;
}

static void check_accepted(const char *s, CURLU *u)
{
    char *scheme = part_of(u, CURLUPART_SCHEME);
    char *host = part_of(u, CURLUPART_HOST);
    char *again_scheme, *again_host, *full, *full_scheme, *full_host;
    const unsigned char *c;

    for (c = (const unsigned char *)s; *c; c++) {
        FUZZ_CHECK(*c > 0x20 && *c < 0x7f && *c != '\\');
    }
    FUZZ_CHECK(scheme && host && *host);
    FUZZ_CHECK(!strcmp(scheme, "https") || !strcmp(scheme, "http"));
    FUZZ_CHECK(!strcmp(scheme, "https") || loopback_here(host));
    FUZZ_CHECK(!part_of(u, CURLUPART_USER));
    FUZZ_CHECK(!part_of(u, CURLUPART_PASSWORD));
    FUZZ_CHECK(!part_of(u, CURLUPART_OPTIONS));
    /* the same text as a transfer reads it */
    again_host = transfer_host(s, &again_scheme);
    FUZZ_CHECK(again_host && again_scheme);
    FUZZ_CHECK(!strcmp(again_host, host) && !strcmp(again_scheme, scheme));
    /* libcurl's own rebuilt URL names the same host */
    full = part_of(u, CURLUPART_URL);
    FUZZ_CHECK(full != NULL);
    full_host = transfer_host(full, &full_scheme);
    FUZZ_CHECK(full_host && !strcmp(full_host, host));
    FUZZ_CHECK(full_scheme && !strcmp(full_scheme, scheme));
    curl_free(full_scheme);
    curl_free(full_host);
    curl_free(full);
    curl_free(again_scheme);
    curl_free(again_host);
    curl_free(scheme);
    curl_free(host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *s;
    CURLU *u;

    if (size > 4096) {
        return 0;
    }
    p = fuzz_pool();
    s = fuzz_copy(p, data, size);
    u = fa_url_parse_checked(s);
    FUZZ_CHECK(fa_url_is_secure_enough(s) == (u != NULL));
    if (u) {
        check_accepted(s, u);
        curl_url_cleanup(u);
    }
    apr_pool_destroy(p);
    return 0;
}
