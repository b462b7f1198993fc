/* SPDX-License-Identifier: Apache-2.0 */
/* seeds_session.c - writes seed inputs for fuzz_session made by the
 * core's own encoders: session cookie values (valid for the fuzz key),
 * session records, login state records, state values, and sealed state
 * cookies (the state's 43 characters, then the cookie's value).
 *   seeds_session <dir>
 * Run by make-corpus.mjs; not a fuzz target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "fa_session.h"
#include "fuzz_keys.h"

static const char *dir;

static void put(const char *name, const char *data, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void attr(apr_array_header_t *a, const char *name, const char *value)
{
    fa_attr_t *x = apr_array_push(a);

    x->name = name;
    x->value = value;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    fa_keys_t keys;
    fa_session_t s;
    fa_login_t *l;
    char *cookie, *key, *rec, *state, *sealed;
    apr_size_t len;
    int i;

    if (argc != 2) {
        fprintf(stderr, "usage: seeds_session <dir>\n");
        return 2;
    }
    dir = argv[1];
    apr_initialize();
    apr_pool_create(&p, NULL);
    fa_keys_derive(&keys, FUZZ_SESSION_SECRET, strlen(FUZZ_SESSION_SECRET));

    for (i = 0; i < 3; i++) {
        fa_session_new_id(p, &keys, &cookie, &key);
        put(apr_psprintf(p, "cookie-%d", i), cookie, strlen(cookie));
    }

    /* The smallest session a login makes. */
    memset(&s, 0, sizeof(s));
    s.created = s.last_seen = FUZZ_NOW;
    s.token_exp = FUZZ_NOW + 600;
    s.idp = "test";
    s.sub = "carol-sub-0003";
    s.user = "carol-sub-0003@test";
    s.roles = "";
    fa_session_encode(p, &s, &rec, &len);
    put("session-minimal", rec, len);

    /* A full one: roles, sid, ID token, attributes, kept claims. */
    s.sub = "alice-sub-0001";
    s.user = "alice";
    s.roles = "admin,member";
    s.sid = "4f0b1c2d-sid";
    s.id_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    s.attrs = apr_array_make(p, 4, sizeof(fa_attr_t));
    attr(s.attrs, "EMAIL", "alice@example.org");
    attr(s.attrs, "GIVEN_NAME", "Alice");
    attr(s.attrs, "GROUPS", "staff,wonderland-admins");
    attr(s.attrs, "EMPTY", "");
    s.claims = apr_array_make(p, 4, sizeof(fa_attr_t));
    attr(s.claims, "groups", "staff");
    attr(s.claims, "groups", "wonderland-admins");
    attr(s.claims, "email_verified", "true");
    fa_session_encode(p, &s, &rec, &len);
    put("session-full", rec, len);

    /* Values with what a length-prefixed format must carry: newlines,
     * colons, digits, UTF-8. */
    s.user = "j\xc3\xb6rg:1\n2";
    s.roles = "r1:\nx";
    attr(s.attrs, "NOTE", "a\nb5:c\n");
    fa_session_encode(p, &s, &rec, &len);
    put("session-odd", rec, len);

    for (i = 0; i < 2; i++) {
        fa_login_new(p, "test", i ? "/protected/env.cgi?x=1&y=%20" : "/",
                     "http://127.0.0.1:8080/signin-test", &l, &state);
        fa_login_encode(p, l, &rec, &len);
        put(apr_psprintf(p, "login-%d", i), rec, len);
        put(apr_psprintf(p, "state-%d", i), state, strlen(state));
        l->created = FUZZ_NOW;
        fa_login_seal(p, &keys, state, l, &sealed);
        put(apr_psprintf(p, "sealed-%d", i),
            apr_pstrcat(p, state, sealed, NULL),
            strlen(state) + strlen(sealed));
    }
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
