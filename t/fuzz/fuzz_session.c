/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_session.c - libFuzzer target: what a browser or the store hands
 * back to the session code: session cookie values
 * (fa_session_cookie_check), session records (fa_session_decode), login
 * state records (fa_login_decode), state values (fa_login_key), and
 * sealed state cookies (fa_login_open: the input's first 43 bytes are the
 * state, the rest the cookie). Each gets its own writable, NUL-terminated
 * copy of the input. Records that decode must survive an encode/decode
 * round trip unchanged; a cookie that opens must be what sealing its
 * login again makes (nothing but the seal makes one). */
#include "fuzz_common.h"
#include "fa_session.h"
#include "fuzz_keys.h"

static fa_keys_t keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    fa_keys_derive(&keys, FUZZ_SESSION_SECRET, strlen(FUZZ_SESSION_SECRET));
    return 0;
}

static void same_str(const char *a, const char *b)
{
    FUZZ_CHECK((a == NULL && b == NULL)
               || (a != NULL && b != NULL && strcmp(a, b) == 0));
}

static void same_attrs(const apr_array_header_t *a,
                       const apr_array_header_t *b)
{
    int i, na = a ? a->nelts : 0, nb = b ? b->nelts : 0;

    FUZZ_CHECK(na == nb);
    for (i = 0; i < na; i++) {
        same_str(APR_ARRAY_IDX(a, i, fa_attr_t).name,
                 APR_ARRAY_IDX(b, i, fa_attr_t).name);
        same_str(APR_ARRAY_IDX(a, i, fa_attr_t).value,
                 APR_ARRAY_IDX(b, i, fa_attr_t).value);
    }
}

static void session(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(p, data, size), *rec;
    fa_session_t *s, *d;
    apr_size_t len;

    if (fa_session_decode(p, buf, size, &s) != APR_SUCCESS) {
        FUZZ_CHECK(s == NULL);
        return;
    }
    FUZZ_CHECK(s->idp && s->sub && s->user && s->roles && s->created);
    (void)fa_session_expires_at(s, 3600, 28800);
    FUZZ_CHECK(fa_session_encode(p, s, &rec, &len) == APR_SUCCESS);
    FUZZ_CHECK(fa_session_decode(p, rec, len, &d) == APR_SUCCESS);
    FUZZ_CHECK(s->created == d->created && s->last_seen == d->last_seen
               && s->token_exp == d->token_exp);
    same_str(s->idp, d->idp);
    same_str(s->sub, d->sub);
    same_str(s->user, d->user);
    same_str(s->roles, d->roles);
    same_str(s->sid, d->sid);
    same_str(s->id_token, d->id_token);
    same_attrs(s->attrs, d->attrs);
    same_attrs(s->claims, d->claims);
}

static void login(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(p, data, size), *rec;
    fa_login_t *l, *d;
    apr_size_t len;

    if (fa_login_decode(p, buf, size, &l) != APR_SUCCESS) {
        FUZZ_CHECK(l == NULL);
        return;
    }
    FUZZ_CHECK(fa_login_encode(p, l, &rec, &len) == APR_SUCCESS);
    FUZZ_CHECK(fa_login_decode(p, rec, len, &d) == APR_SUCCESS);
    same_str(l->idp, d->idp);
    same_str(l->nonce, d->nonce);
    same_str(l->verifier, d->verifier);
    same_str(l->return_to, d->return_to);
    same_str(l->redirect_uri, d->redirect_uri);
    FUZZ_CHECK(l->created == d->created);
}

static void sealed(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const char *state, *value;
    char *again;
    fa_login_t *l;
    apr_status_t rv;

    if (size < FA_STATE_LEN) {
        return;
    }
    state = fuzz_copy(p, data, FA_STATE_LEN);
    value = fuzz_copy(p, data + FA_STATE_LEN, size - FA_STATE_LEN);
    rv = fa_login_open(p, &keys, "test", state, value, FUZZ_NOW, &l);
    if (rv != APR_SUCCESS && rv != FA_LOGIN_OTHER_IDP) {
        FUZZ_CHECK(l == NULL);
        return;
    }
    FUZZ_CHECK(l && l->idp && l->nonce && l->verifier && l->return_to
               && l->redirect_uri);
    FUZZ_CHECK((rv == APR_SUCCESS) == !strcmp(l->idp, "test"));
    FUZZ_CHECK(fa_login_seal(p, &keys, state, l, &again) == APR_SUCCESS);
    FUZZ_CHECK(!strcmp(again, value));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char key[FA_SESSION_KEY_LEN + 1];
    const char *value = fuzz_copy(p, data, size), *lkey;

    memset(key, 0, sizeof(key));
    if (fa_session_cookie_check(&keys, value, size, key)) {
        FUZZ_CHECK(size == FA_SESSION_COOKIE_LEN && key[0] == 's'
                   && key[1] == ':' && strlen(key) == FA_SESSION_KEY_LEN);
    }
    session(p, data, size);
    login(p, data, size);
    sealed(p, data, size);
    lkey = fa_login_key(p, &keys, value);
    FUZZ_CHECK(lkey == NULL || (strlen(value) == FA_STATE_LEN
                                && !strncmp(lkey, "l:", 2)));
    apr_pool_destroy(p);
    return 0;
}
