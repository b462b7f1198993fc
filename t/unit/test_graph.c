/* SPDX-License-Identifier: Apache-2.0 */
/* test_graph.c - Entra ID group overage (fa_graph.c): which claims show
 * overage, the origin check of @odata.nextLink, the parse of a
 * getMemberObjects page, and whole lookups against a scripted HTTP client
 * (paging, 403, a throttled answer retried once, bounds). */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "unit.h"
#include "fa_graph.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static json_t *claims_of(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    ck_assert_msg(j != NULL, "%s", e.text);
    return j;
}

START_TEST(overage_signs)
{
    static const struct { const char *claims; const char *name; int want; }
    cases[] = {
        { "{\"sub\":\"a\"}", NULL, 0 },
        { "{\"groups\":[\"g\"],\"hasgroups\":true}", NULL, 0 },
        { "{\"hasgroups\":true}", NULL, 1 },
        { "{\"hasgroups\":\"true\"}", NULL, 0 },
        { "{\"_claim_names\":{\"groups\":\"src1\"},\"_claim_sources\":"
          "{\"src1\":{\"endpoint\":\"https://graph.windows.net/x\"}}}",
          NULL, 1 },
        { "{\"_claim_names\":{\"roles\":\"src1\"}}", NULL, 0 },
        { "{\"_claim_names\":{\"grp\":\"src1\"}}", "grp", 1 },
        { "{\"_claim_names\":{\"groups\":\"src1\"}}", "grp", 0 },
        { "{\"_claim_names\":\"groups\"}", NULL, 0 },
    };
    size_t i;
    json_t *c;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = claims_of(cases[i].claims);
        ck_assert_msg(fa_graph_overage(c, cases[i].name) == cases[i].want,
                      "case %lu: %s", (unsigned long)i, cases[i].claims);
        json_decref(c);
    }
}
END_TEST

START_TEST(next_link_origin)
{
    const char *base = "https://graph.microsoft.com/v1.0";

    ck_assert(fa_graph_same_origin(base, "https://graph.microsoft.com/v1.0/"
                                   "me/getMemberObjects?$skiptoken=x"));
    ck_assert(fa_graph_same_origin(base, "https://GRAPH.microsoft.com:443/"
                                   "beta/x"));
    ck_assert(!fa_graph_same_origin(base, "https://graph.microsoft.us/"
                                    "v1.0/x"));
    ck_assert(!fa_graph_same_origin(base, "http://graph.microsoft.com/x"));
    ck_assert(!fa_graph_same_origin(base, "https://graph.microsoft.com:8443"
                                    "/x"));
    ck_assert(!fa_graph_same_origin(base, "https://graph.microsoft.com."
                                    "evil.example/x"));
    ck_assert(!fa_graph_same_origin(base, "https://u:p@graph.microsoft.com"
                                    "/x"));
    ck_assert(!fa_graph_same_origin(base, "/v1.0/x"));
    ck_assert(!fa_graph_same_origin(base, "javascript:alert(1)"));
    ck_assert(fa_graph_same_origin("http://127.0.0.1:8080/graph",
                                   "http://127.0.0.1:8080/graph/n?p=2"));
    ck_assert(!fa_graph_same_origin("http://127.0.0.1:8080/graph",
                                    "http://localhost:8080/graph/n?p=2"));
    ck_assert(!fa_graph_same_origin("http://127.0.0.1:8080/graph",
                                    "http://127.0.0.1:8081/graph/n"));
}
END_TEST

static apr_status_t parse(const char *body, apr_array_header_t *ids, int max,
                          const char **next, fa_err_t *err)
{
    return fa_graph_page_parse(pool, body, strlen(body), ids, max, next,
                               err);
}

START_TEST(page_shapes)
{
    apr_array_header_t *ids = apr_array_make(pool, 4, sizeof(char *));
    const char *next;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(parse("{\"@odata.context\":\"x\",\"value\":[\"a\",\"b\"],"
                           "\"@odata.nextLink\":\"https://g/n\"}", ids, 10,
                           &next, &err), APR_SUCCESS);
    ck_assert_int_eq(ids->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(ids, 1, const char *), "b");
    ck_assert_str_eq(next, "https://g/n");
    ck_assert_int_eq(parse("{\"value\":[\"c\"]}", ids, 10, &next, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(next);
    ck_assert_int_eq(ids->nelts, 3);
    /* not the shape */
    ck_assert_int_ne(parse("[\"a\"]", ids, 10, &next, &err), APR_SUCCESS);
    ck_assert_str_eq(err.code, "groups_unavailable");
    ck_assert_int_ne(parse("{\"value\":\"a\"}", ids, 10, &next, &err),
                     APR_SUCCESS);
    ck_assert_int_ne(parse("{\"value\":[1]}", ids, 10, &next, &err),
                     APR_SUCCESS);
    ck_assert_int_ne(parse("{\"value\":[\"\"]}", ids, 10, &next, &err),
                     APR_SUCCESS);
    ck_assert_int_ne(parse("{\"value\":[],\"@odata.nextLink\":5}", ids, 10,
                           &next, &err), APR_SUCCESS);
    ck_assert_int_ne(parse("{\"value\":[\"a\"", ids, 10, &next, &err),
                     APR_SUCCESS);
    /* the bound: 3 held, 7 more fit, 8 do not */
    ck_assert_int_eq(parse("{\"value\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
                           "\"7\",\"8\"]}", ids, 10, &next, &err),
                     APR_ENOSPC);
    ck_assert_int_eq(ids->nelts, 3);
    ck_assert_int_eq(parse("{\"value\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
                           "\"7\"]}", ids, 10, &next, &err), APR_SUCCESS);
    ck_assert_int_eq(ids->nelts, 10);
}
END_TEST

/* ---- a scripted Graph ------------------------------------------------ */

typedef struct script_t {
    int n;                        /* answers given so far */
    int count;
    const int *status;
    const char *const *body;
    const long *retry_after;
    const char *urls[32];
    const char *methods[32];
    const char *auth;
} script_t;

static apr_status_t scripted(fa_http_t *http, apr_pool_t *p,
                             const fa_http_request_t *req,
                             fa_http_response_t **presp, fa_err_t *err)
{
    script_t *s = http->baton;
    fa_http_response_t *r;

    if (s->n >= s->count) {
        return fa_err_set(err, "idp_unreachable", "no more answers");
    }
    s->urls[s->n] = apr_pstrdup(p, req->url);
    s->methods[s->n] = req->method;
    s->auth = apr_pstrdup(p, req->authorization);
    r = apr_pcalloc(p, sizeof(*r));
    r->status = s->status[s->n];
    r->body = s->body[s->n];
    r->body_len = strlen(r->body);
    r->retry_after = s->retry_after ? s->retry_after[s->n] : 0;
    s->n++;
    *presp = r;
    return APR_SUCCESS;
}

static apr_status_t lookup(script_t *s, int timeout,
                           apr_array_header_t **ids,
                           fa_graph_outcome_t *o, fa_err_t *err)
{
    fa_http_t http = { scripted, s };

    memset(err, 0, sizeof(*err));
    return fa_graph_member_groups(pool, &http, "https://graph.test/v1.0",
                                  "SeCrEt-AT", timeout, ids, o, err);
}

START_TEST(lookup_pages)
{
    static const int status[] = { 200, 200, 200 };
    static const char *const body[] = {
        "{\"value\":[\"g1\",\"g2\"],\"@odata.nextLink\":"
        "\"https://graph.test/v1.0/next?p=2\"}",
        "{\"value\":[\"g3\"],\"@odata.nextLink\":"
        "\"https://graph.test/v1.0/next?p=3\"}",
        "{\"value\":[\"g4\"]}" };
    script_t s = { 0, 3, status, body, NULL, { 0 }, { 0 }, NULL };
    apr_array_header_t *ids;
    fa_graph_outcome_t o;
    fa_err_t err;

    ck_assert_int_eq(lookup(&s, 5, &ids, &o, &err), APR_SUCCESS);
    ck_assert_int_eq(o, FA_GRAPH_OK);
    ck_assert_int_eq(ids->nelts, 4);
    ck_assert_str_eq(APR_ARRAY_IDX(ids, 3, const char *), "g4");
    ck_assert_str_eq(s.urls[0], "https://graph.test/v1.0/me/"
                     "getMemberObjects");
    ck_assert_str_eq(s.methods[0], "POST");
    ck_assert_str_eq(s.methods[2], "GET");
    ck_assert_str_eq(s.urls[2], "https://graph.test/v1.0/next?p=3");
    ck_assert_str_eq(s.auth, "Bearer SeCrEt-AT");
}
END_TEST

START_TEST(lookup_refusals)
{
    static const int denied[] = { 403 };
    static const char *const denied_body[] = {
        "{\"error\":{\"code\":\"Authorization_RequestDenied\","
        "\"message\":\"Insufficient privileges\"}}" };
    static const int foreign[] = { 200, 200 };
    static const char *const foreign_body[] = {
        "{\"value\":[\"g1\"],\"@odata.nextLink\":"
        "\"https://evil.test/v1.0/next\"}", "{\"value\":[]}" };
    static const int bad[] = { 200 };
    static const char *const bad_body[] = { "<html>" };
    script_t s1 = { 0, 1, denied, denied_body, NULL, { 0 }, { 0 }, NULL };
    script_t s2 = { 0, 2, foreign, foreign_body, NULL, { 0 }, { 0 }, NULL };
    script_t s3 = { 0, 1, bad, bad_body, NULL, { 0 }, { 0 }, NULL };
    apr_array_header_t *ids;
    fa_graph_outcome_t o;
    fa_err_t err;

    ck_assert_int_ne(lookup(&s1, 5, &ids, &o, &err), APR_SUCCESS);
    ck_assert_int_eq(o, FA_GRAPH_DENIED);
    ck_assert_ptr_null(ids);
    ck_assert_str_eq(err.code, "groups_unavailable");
    ck_assert_msg(strstr(err.desc, "403 Authorization_RequestDenied")
                  && strstr(err.desc, "GroupMember.Read.All"), "%s",
                  err.desc);
    ck_assert_msg(!strstr(err.desc, "SeCrEt"), "%s", err.desc);

    ck_assert_int_ne(lookup(&s2, 5, &ids, &o, &err), APR_SUCCESS);
    ck_assert_int_eq(o, FA_GRAPH_REFUSED_LINK);
    ck_assert_int_eq(s2.n, 1);             /* the link was not followed */
    ck_assert_msg(strstr(err.desc, "evil.test"), "%s", err.desc);

    ck_assert_int_ne(lookup(&s3, 5, &ids, &o, &err), APR_SUCCESS);
    ck_assert_int_eq(o, FA_GRAPH_BAD_RESPONSE);
}
END_TEST

START_TEST(lookup_throttled)
{
    static const int st[] = { 429, 200 };
    static const char *const body[] = { "{}", "{\"value\":[\"g\"]}" };
    static const long ra[] = { 1, 0 };
    static const int st2[] = { 429, 429, 200 };
    static const char *const body2[] = { "{}", "{}", "{\"value\":[]}" };
    static const long ra2[] = { 1, 1, 0 };
    static const long far[] = { 30, 0 };
    script_t s1 = { 0, 2, st, body, ra, { 0 }, { 0 }, NULL };
    script_t s2 = { 0, 3, st2, body2, ra2, { 0 }, { 0 }, NULL };
    script_t s3 = { 0, 2, st, body, far, { 0 }, { 0 }, NULL };
    apr_array_header_t *ids;
    fa_graph_outcome_t o;
    fa_err_t err;
    apr_time_t t0 = apr_time_now();

    /* once, after Retry-After */
    ck_assert_int_eq(lookup(&s1, 5, &ids, &o, &err), APR_SUCCESS);
    ck_assert_int_eq(s1.n, 2);
    ck_assert_int_ge(apr_time_now() - t0, apr_time_from_msec(900));
    /* not twice */
    ck_assert_int_ne(lookup(&s2, 5, &ids, &o, &err), APR_SUCCESS);
    ck_assert_int_eq(o, FA_GRAPH_THROTTLED);
    ck_assert_int_eq(s2.n, 2);
    /* not past the time bound */
    t0 = apr_time_now();
    ck_assert_int_ne(lookup(&s3, 5, &ids, &o, &err), APR_SUCCESS);
    ck_assert_int_eq(o, FA_GRAPH_THROTTLED);
    ck_assert_int_eq(s3.n, 1);
    ck_assert_int_lt(apr_time_now() - t0, apr_time_from_sec(1));
}
END_TEST

START_TEST(lookup_page_bound)
{
    int status[FA_GRAPH_MAX_PAGES + 1];
    const char *body[FA_GRAPH_MAX_PAGES + 1];
    script_t s = { 0, FA_GRAPH_MAX_PAGES + 1, status, body, NULL, { 0 },
                   { 0 }, NULL };
    apr_array_header_t *ids;
    fa_graph_outcome_t o;
    fa_err_t err;
    int i;

    for (i = 0; i <= FA_GRAPH_MAX_PAGES; i++) {
        status[i] = 200;
        body[i] = "{\"value\":[\"g\"],\"@odata.nextLink\":"
                  "\"https://graph.test/v1.0/next\"}";
    }
    ck_assert_int_ne(lookup(&s, 5, &ids, &o, &err), APR_SUCCESS);
    ck_assert_int_eq(o, FA_GRAPH_TOO_MANY);
    ck_assert_int_eq(s.n, FA_GRAPH_MAX_PAGES);
}
END_TEST

/* FedAuthOutgoingProxy's check (fa_http_curl.c), here with the other
 * part of issue 22 that this suite covers. */
START_TEST(proxy_url)
{
    const char *m;

    ck_assert_ptr_null(fa_http_proxy_check(pool, "http://proxy:3128", &m));
    ck_assert_str_eq(m, "http://proxy:3128");
    ck_assert_ptr_null(fa_http_proxy_check(pool, "https://u:pa%40ss@"
                                           "proxy.corp:8443/", &m));
    ck_assert_str_eq(m, "https://u:***@proxy.corp:8443");
    ck_assert_msg(!strstr(m, "pa"), "%s", m);
    ck_assert_ptr_null(fa_http_proxy_check(pool, "http://[::1]:3128", &m));
    ck_assert_ptr_nonnull(fa_http_proxy_check(pool, "socks5://p:1080", &m));
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(fa_http_proxy_check(pool, "proxy:3128", &m));
    ck_assert_ptr_nonnull(fa_http_proxy_check(pool, "http://p:3128/x", &m));
    ck_assert_ptr_nonnull(fa_http_proxy_check(pool, "http://p:3128/?a", &m));
    ck_assert_ptr_nonnull(fa_http_proxy_check(pool, "http://p 1:3128", &m));
    ck_assert_ptr_nonnull(fa_http_proxy_check(pool, "http://", &m));
    ck_assert_ptr_nonnull(fa_http_proxy_check(pool, "http://p:99999", &m));
}
END_TEST

Suite *suite_graph(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, overage_signs);
    tcase_add_test(tc, next_link_origin);
    tcase_add_test(tc, page_shapes);
    tcase_add_test(tc, lookup_pages);
    tcase_add_test(tc, lookup_refusals);
    tcase_add_test(tc, lookup_throttled);
    tcase_add_test(tc, lookup_page_bound);
    tcase_add_test(tc, proxy_url);
    suite_add_tcase(s, tc);
    return s;
}
