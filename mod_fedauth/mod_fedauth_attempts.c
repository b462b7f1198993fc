/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_attempts.c - the end of every sign-in attempt, made or
 * refused: counted in the metrics (fedauth_signins_total), and written as
 * one line of JSON (fa_attempt.h) to the file or program that
 * FedAuthAttemptLog names. The parent opens it before the children
 * start, as httpd does its own logs, so it may be a file only root can
 * write; each line goes out in one write, whole, whichever worker writes
 * it. Every way a sign-in ends (callback, token login, a sign-in that
 * cannot start) comes here once. */
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "mod_fedauth_attempts.h"
#include "mod_fedauth_metrics.h"
#include "fedauth_defaults.h"
#include "fa_attempt.h"

APLOG_USE_MODULE(fedauth);

#define NOTE_IDP "fedauth-attempt-idp"
#define NOTE_SUB "fedauth-attempt-sub"
#define NOTE_ACCOUNT "fedauth-attempt-account"
#define NOTE_DONE "fedauth-attempt-logged"

static apr_file_t *open_one(apr_pool_t *pconf, server_rec *s,
                            const char *spec)
{
    apr_file_t *f = NULL;
    piped_log *pl;
    const char *path;
    apr_status_t rv;

    if (spec[0] == '|') {
        if ((pl = ap_open_piped_log(pconf, spec + 1)) == NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, FALOGNO(00701)
                         "FedAuthAttemptLog: cannot start %s", spec + 1);
            return NULL;
        }
        return ap_piped_log_write_fd(pl);
    }
    path = ap_server_root_relative(pconf, spec);
    rv = path ? apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                              | APR_FOPEN_APPEND, APR_FPROT_UREAD
                              | APR_FPROT_UWRITE | APR_FPROT_GREAD, pconf)
         : APR_EBADPATH;
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FALOGNO(00702)
                     "FedAuthAttemptLog: cannot open %s", spec);
        return NULL;
    }
    return f;
}

int fedauth_attempts_open(apr_pool_t *pconf, server_rec *s)
{
    apr_hash_t *opened = apr_hash_make(pconf);
    fedauth_srv_t *sc;
    apr_file_t *f;

    for (; s; s = s->next) {
        sc = ap_get_module_config(s->module_config, &fedauth_module);
        sc->attempt_file = NULL;
        if (!sc->attempt_log) {
            continue;
        }
        f = apr_hash_get(opened, sc->attempt_log, APR_HASH_KEY_STRING);
        if (!f && (f = open_one(pconf, s, sc->attempt_log)) == NULL) {
            return !OK;
        }
        apr_hash_set(opened, sc->attempt_log, APR_HASH_KEY_STRING, f);
        sc->attempt_file = f;
    }
    return OK;
}

void fedauth_attempt_user(request_rec *r, const char *idp, const char *sub,
                          const char *account)
{
    if (idp) {
        apr_table_setn(r->notes, NOTE_IDP, idp);
    }
    if (sub) {
        apr_table_setn(r->notes, NOTE_SUB, sub);
    }
    if (account) {
        apr_table_setn(r->notes, NOTE_ACCOUNT, account);
    }
}

void fedauth_attempt_log(request_rec *r, const char *reason)
{
    fedauth_srv_t *sc = ap_get_module_config(r->server->module_config,
                                             &fedauth_module);
    fa_attempt_t a;
    apr_size_t len;
    char *line;
    apr_status_t rv;

    if (apr_table_get(r->notes, NOTE_DONE)) {
        return;
    }
    apr_table_setn(r->notes, NOTE_DONE, "1");
    a.idp = apr_table_get(r->notes, NOTE_IDP);
    fa_metrics_signin(fedauth_metrics(), a.idp, reason);
    if (!sc->attempt_file && fedauth_attempt_stream(sc) <= 0) {
        return;
    }
    a.time = apr_time_now();
    a.sub = apr_table_get(r->notes, NOTE_SUB);
    a.account = apr_table_get(r->notes, NOTE_ACCOUNT);
    a.reason = reason;
    a.client = r->useragent_ip;
    line = fa_attempt_line(r->pool, &a, &len);
    if (sc->attempt_file
        && (rv = apr_file_write_full(sc->attempt_file, line, len, NULL))
           != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, FALOGNO(00703)
                      "FedAuthAttemptLog: cannot write the attempt of %s",
                      a.idp ? a.idp : "-");
    }
    /* The capped stream: one XADD per sign-in attempt (never on an
     * authenticated request), the line without its newline. */
    if (fedauth_attempt_stream(sc) > 0
        && (rv = fa_redis_stream_add(fa_store_redis_client(sc->store),
                                     FEDAUTH_STREAM_KEY,
                                     fedauth_attempt_stream(sc),
                                     line, len - 1, r->pool))
           != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, FALOGNO(00909)
                      "FedAuthAttemptStream: cannot add the attempt of %s",
                      a.idp ? a.idp : "-");
    }
}
