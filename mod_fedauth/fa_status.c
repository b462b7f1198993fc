/* SPDX-License-Identifier: Apache-2.0 */
/* fa_status.c - the status document and its HTML page; see fa_status.h.
 *
 * The JSON is built first, from copies taken under each part's own lock
 * (fa_idp_state, fa_redis_state) or read atomically (the counters);
 * the HTML is then written from the JSON alone, so both always say the
 * same. Every string goes through fa_html_escape on its way into the
 * page, whoever chose it (the configuration, or an IdP: key ids, error
 * texts that quote its answers). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "fa_status.h"
#include "fa_json.h"

/* ---- the JSON -------------------------------------------------------- */

static json_t *json_time(apr_int64_t t)
{
    return t ? json_integer((json_int_t)t) : json_null();
}

/* A string as JSON, or null; bytes outside printable ASCII become '?'
 * (an IdP's key id or error text need not be UTF-8, and jansson would
 * refuse it). */
static json_t *json_str(const char *s)
{
    char *copy, *c;

    if (!s) {
        return json_null();
    }
    copy = strdup(s);
    if (!copy) {
        return json_null();
    }
    for (c = copy; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            *c = '?';
        }
    }
    {
        json_t *j = json_string(copy);
        free(copy);
        return j;
    }
}

/* ok: the copy in use is fresh and no fetch failed since it was made. */
static json_t *doc_json(const fa_idp_doc_state_t *d)
{
    const char *state = !d->fetched_at ? (d->failed_at ? "failing"
                                                       : "not_fetched")
                        : d->failed_at >= d->fetched_at ? "stale" : "ok";

    return json_pack("{s:s, s:o, s:o, s:o, s:o}",
                     "state", state,
                     "fetched_at", json_time(d->fetched_at),
                     "refresh_at", json_time(d->refresh_at),
                     "last_error_at", json_time(d->failed_at),
                     "last_error", json_str(d->error));
}

static json_t *keys_json(const apr_array_header_t *keys)
{
    json_t *arr = json_array();
    const fa_idp_key_state_t *k;
    int i;

    for (i = 0; i < keys->nelts; i++) {
        k = &APR_ARRAY_IDX(keys, i, fa_idp_key_state_t);
        json_array_append_new(arr, json_pack("{s:o, s:s, s:o, s:i}",
                              "kid", json_str(k->kid), "kty", k->kty,
                              "alg", json_str(k->alg), "bits", k->bits));
    }
    return arr;
}

/* Sign-ins of one provider: the good ones, and the refused ones by their
 * FEDAUTH_ERROR code (codes with a count above zero). */
static json_t *signins_json(const fa_metrics_t *m, const char *id)
{
    json_t *failures = json_object();
    apr_uint64_t n;
    int i;

    if (!m) {
        json_decref(failures);
        return json_null();
    }
    for (i = 1; fa_metrics_outcomes[i]; i++) {
        if ((n = fa_metrics_signins_of(m, id, fa_metrics_outcomes[i]))) {
            json_object_set_new(failures, fa_metrics_outcomes[i],
                                json_integer((json_int_t)n));
        }
    }
    return json_pack("{s:I, s:o, s:I}",
                     "ok", (json_int_t)fa_metrics_signins_of(m, id, "ok"),
                     "failures", failures,
                     "sessions_created",
                     (json_int_t)fa_metrics_created_of(m, id));
}

static json_t *fetches_json(const fa_metrics_t *m, const char *id,
                            fa_metrics_fetch_t what)
{
    if (!m) {
        return json_null();
    }
    return json_pack("{s:I, s:I}",
                     "total", (json_int_t)fa_metrics_fetches_of(m, id, what,
                                                                0),
                     "failed", (json_int_t)fa_metrics_fetches_of(m, id, what,
                                                                 1));
}

static json_t *provider_json(apr_pool_t *p, fa_idp_t *idp,
                             const fa_metrics_t *m)
{
    const fa_idp_conf_t *c = fa_idp_conf(idp);
    json_t *disc, *jwks;
    fa_idp_state_t st;

    fa_idp_state(idp, p, &st);
    disc = doc_json(&st.discovery);
    json_object_set_new(disc, "url", json_str(fa_idp_metadata_url(idp)));
    json_object_set_new(disc, "fetches_all_processes",
                        fetches_json(m, c->id, FA_METRICS_DISCOVERY));
    jwks = doc_json(&st.jwks);
    json_object_set_new(jwks, "url", json_str(st.jwks_uri));
    json_object_set_new(jwks, "keys", keys_json(st.keys));
    json_object_set_new(jwks, "fetches_this_process",
                        json_integer((json_int_t)st.jwks_fetches));
    json_object_set_new(jwks, "fetches_all_processes",
                        fetches_json(m, c->id, FA_METRICS_JWKS));
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
                     "id", c->id,
                     "name", json_str(c->display_name),
                     "issuer", json_str(c->issuer),
                     "discovery", disc,
                     "jwks", jwks,
                     "signins", signins_json(m, c->id));
}

static json_t *redis_json(apr_pool_t *p, fa_store_t *st, json_t *store)
{
    const fa_redis_node_state_t *n;
    fa_redis_state_t rs;
    json_t *nodes;
    int i;

    if (fa_redis_state(fa_store_redis_client(st), p, &rs) != APR_SUCCESS) {
        return store;
    }
    nodes = json_array();
    for (i = 0; i < rs.nodes->nelts; i++) {
        n = &APR_ARRAY_IDX(rs.nodes, i, fa_redis_node_state_t);
        json_array_append_new(nodes, json_pack("{s:o, s:i, s:s, s:s, s:o}",
                              "host", json_str(n->host), "port", n->port,
                              "role", n->role,
                              "state", n->down ? "down" : "up",
                              "last_error", json_str(n->why)));
        if (!strcmp(n->role, "node")) {
            json_object_set_new(json_array_get(nodes, (size_t)i), "slots",
                                json_integer(n->slots));
        }
    }
    json_object_set_new(store, "kind", json_string(rs.kind));
    json_object_set_new(store, "tls", json_boolean(rs.tls));
    json_object_set_new(store, "master_name", json_str(rs.master_name));
    json_object_set_new(store, "db", json_integer(rs.db));
    json_object_set_new(store, "tracking", json_string(rs.tracking));
    json_object_set_new(store, "idle_connections", json_integer(rs.idle));
    json_object_set_new(store, "nodes", nodes);
    return store;
}

static json_t *store_json(apr_pool_t *p, const fa_status_in_t *in)
{
    const fa_shm_stats_t *s = in->shm;
    json_t *store = json_pack("{s:s, s:o}", "kind",
                              in->store && in->store->name
                              ? in->store->name : "none", "errors",
                              in->metrics ? json_integer((json_int_t)
                                  fa_metrics_store_errors_of(in->metrics))
                              : json_null());

    if (s) {
        json_object_set_new(store, "fill", json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I}",
            "size_bytes", (json_int_t)s->blocks * FA_SHM_BLOCK,
            "used_bytes", (json_int_t)s->blocks_used * FA_SHM_BLOCK,
            "percent", s->blocks ? (json_int_t)((apr_uint64_t)s->blocks_used
                                                * 100 / s->blocks) : 0,
            "entries", (json_int_t)s->entries,
            "evicted", (json_int_t)s->evicted,
            "resets", (json_int_t)s->resets));
        return store;
    }
    return redis_json(p, in->store, store);
}

static json_t *sessions_json(const fa_status_in_t *in)
{
    json_t *ended = json_null(), *created = json_null();
    json_int_t n = 0;
    int i;

    if (in->metrics) {
        ended = json_object();
        for (i = 0; i < FA_METRICS_END_COUNT; i++) {
            json_object_set_new(ended, fa_metrics_end_name(i), json_integer(
                (json_int_t)fa_metrics_ended_of(in->metrics, i)));
        }
        for (i = 0; i < in->providers->nelts; i++) {
            n += (json_int_t)fa_metrics_created_of(in->metrics, fa_idp_conf(
                APR_ARRAY_IDX(in->providers, i, fa_idp_t *))->id);
        }
        created = json_integer(n);
    }
    return json_pack("{s:o, s:o, s:o}",
                     "current", in->shm ? json_integer(in->shm->sessions)
                                        : json_null(),
                     "created", created, "ended", ended);
}

json_t *fa_status_json(apr_pool_t *p, const fa_status_in_t *in)
{
    json_t *provs = json_array();
    int i;

    for (i = 0; i < in->providers->nelts; i++) {
        json_array_append_new(provs, provider_json(p,
            APR_ARRAY_IDX(in->providers, i, fa_idp_t *), in->metrics));
    }
    return fa_json_pool_own(p, json_pack(
        "{s:i, s:I, s:{s:I, s:s}, s:o, s:o, s:o, s:b, s:{s:s?, s:s?}}",
        "version", 1,
        "generated_at", (json_int_t)in->now,
        "process", "pid", (json_int_t)in->pid, "scope",
        "providers' discovery and JWKS are this process's cache; store, "
        "sessions and counts are shared by all processes",
        "providers", provs,
        "store", store_json(p, in),
        "sessions", sessions_json(in),
        "counters", in->metrics != NULL,
        "outgoing", "proxy", in->proxy, "noproxy", in->noproxy));
}

/* ---- the HTML page --------------------------------------------------- */

typedef struct page_t {
    apr_pool_t *p;
    apr_array_header_t *parts;    /* of const char * */
    apr_int64_t now;
} page_t;

static void out(page_t *pg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out(page_t *pg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    APR_ARRAY_PUSH(pg->parts, const char *) = apr_pvsprintf(pg->p, fmt, ap);
    va_end(ap);
}

/* A member's text, escaped: strings as they are, numbers in decimal,
 * anything else (null, absent) as dflt. */
static const char *text(page_t *pg, json_t *obj, const char *key,
                        const char *dflt)
{
    json_t *v = json_object_get(obj, key);

    if (json_is_string(v)) {
        return fa_html_escape(pg->p, json_string_value(v));
    }
    if (json_is_integer(v)) {
        return apr_psprintf(pg->p, "%" APR_INT64_T_FMT,
                            (apr_int64_t)json_integer_value(v));
    }
    return dflt;
}

/* A time member as a UTC date and how far from now. */
static const char *when(page_t *pg, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    char date[32];
    apr_time_exp_t tm;
    apr_size_t n;
    apr_int64_t t, d;

    if (!json_is_integer(v)) {
        return "&mdash;";
    }
    t = (apr_int64_t)json_integer_value(v);
    apr_time_exp_gmt(&tm, apr_time_from_sec(t));
    apr_strftime(date, &n, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
    d = t - pg->now;
    return apr_psprintf(pg->p, "<span class=\"t\">%s</span> <span "
                        "class=\"rel\">(%s%" APR_INT64_T_FMT " s%s)</span>",
                        date, d > 0 ? "in " : "", d < 0 ? -d : d,
                        d > 0 ? "" : " ago");
}

static void doc_row(page_t *pg, const char *label, json_t *doc)
{
    const char *state = text(pg, doc, "state", "?");

    out(pg, "<tr><th scope=\"row\">%s</th><td class=\"st-%s\">%s</td>"
        "<td>%s</td><td>%s</td><td>%s<br>%s</td></tr>\n", label, state,
        state, when(pg, doc, "fetched_at"), when(pg, doc, "refresh_at"),
        text(pg, doc, "last_error", "none"),
        json_is_integer(json_object_get(doc, "last_error_at"))
        ? when(pg, doc, "last_error_at") : "");
}

static void keys_html(page_t *pg, json_t *keys)
{
    json_t *k;
    size_t i;

    out(pg, "<p>Key ids in this process's JWKS:</p><ul class=\"kids\">");
    json_array_foreach(keys, i, k) {
        out(pg, "<li><code>%s</code> %s %s bits, alg %s</li>",
            text(pg, k, "kid", "(no kid)"), text(pg, k, "kty", "?"),
            text(pg, k, "bits", "?"), text(pg, k, "alg", "any"));
    }
    if (!json_array_size(keys)) {
        out(pg, "<li>none cached</li>");
    }
    out(pg, "</ul>\n");
}

static void signins_html(page_t *pg, json_t *si)
{
    json_t *fail = json_object_get(si, "failures"), *v;
    const char *code;

    if (!json_is_object(si)) {
        out(pg, "<p>Sign-in counts: no counters.</p>\n");
        return;
    }
    out(pg, "<p>Sign-ins (all processes): %s ok, %s sessions made.</p>\n"
        "<table><tr><th>Refused, by reason</th><th>Count</th></tr>\n",
        text(pg, si, "ok", "0"), text(pg, si, "sessions_created", "0"));
    json_object_foreach(fail, code, v) {
        out(pg, "<tr><td><code>%s</code></td><td>%" APR_INT64_T_FMT
            "</td></tr>\n", fa_html_escape(pg->p, code),
            (apr_int64_t)json_integer_value(v));
    }
    if (!json_object_size(fail)) {
        out(pg, "<tr><td colspan=\"2\">none</td></tr>\n");
    }
    out(pg, "</table>\n");
}

static void provider_html(page_t *pg, json_t *prov)
{
    json_t *jwks = json_object_get(prov, "jwks");

    out(pg, "<section class=\"provider\"><h2>Provider %s <small>(%s)</small>"
        "</h2>\n<p>Issuer <code>%s</code></p>\n<table><tr><th>Document</th>"
        "<th>State</th><th>Fetched</th><th>Next refresh</th>"
        "<th>Last error</th></tr>\n", text(pg, prov, "name", "?"),
        text(pg, prov, "id", "?"), text(pg, prov, "issuer", "?"));
    doc_row(pg, "Discovery", json_object_get(prov, "discovery"));
    doc_row(pg, "JWKS", jwks);
    out(pg, "</table>\n");
    keys_html(pg, json_object_get(jwks, "keys"));
    signins_html(pg, json_object_get(prov, "signins"));
    out(pg, "</section>\n");
}

static void store_html(page_t *pg, json_t *st)
{
    json_t *fill = json_object_get(st, "fill");
    json_t *nodes = json_object_get(st, "nodes"), *n;
    size_t i;

    out(pg, "<section><h2>Session store (shared)</h2>\n<p>Kind <b>%s</b>; "
        "failed operations since start: %s.</p>\n",
        text(pg, st, "kind", "?"), text(pg, st, "errors", "unknown"));
    if (json_is_object(fill)) {
        out(pg, "<p>Fill: %s%% (%s of %s bytes), %s entries, %s evicted, "
            "%s resets.</p>\n", text(pg, fill, "percent", "?"),
            text(pg, fill, "used_bytes", "?"),
            text(pg, fill, "size_bytes", "?"),
            text(pg, fill, "entries", "?"), text(pg, fill, "evicted", "?"),
            text(pg, fill, "resets", "?"));
    }
    if (json_is_array(nodes)) {
        out(pg, "<p>As this process knows them (tracking %s, %s idle "
            "connections):</p><table><tr><th>Server</th><th>Role</th>"
            "<th>State</th><th>Slots</th><th>Last error</th></tr>\n",
            text(pg, st, "tracking", "?"),
            text(pg, st, "idle_connections", "?"));
        json_array_foreach(nodes, i, n) {
            out(pg, "<tr><td><code>%s:%s</code></td><td>%s</td>"
                "<td class=\"st-%s\">%s</td><td>%s</td><td>%s</td></tr>\n",
                text(pg, n, "host", "?"), text(pg, n, "port", "?"),
                text(pg, n, "role", "?"), text(pg, n, "state", "?"),
                text(pg, n, "state", "?"), text(pg, n, "slots", "&mdash;"),
                text(pg, n, "last_error", "none"));
        }
        out(pg, "</table>\n");
    }
    out(pg, "</section>\n");
}

static void sessions_html(page_t *pg, json_t *se)
{
    json_t *ended = json_object_get(se, "ended"), *v;
    const char *why, *sep = "";

    out(pg, "<section><h2>Sessions (shared)</h2>\n<p>In the store now: %s. "
        "Made since start: %s.</p>\n", text(pg, se, "current", "unknown"),
        text(pg, se, "created", "unknown"));
    if (json_is_object(ended)) {
        out(pg, "<p>Ended since start:");
        json_object_foreach(ended, why, v) {
            out(pg, "%s %s %" APR_INT64_T_FMT, sep,
                fa_html_escape(pg->p, why),
                (apr_int64_t)json_integer_value(v));
            sep = ",";
        }
        out(pg, ".</p>\n");
    }
    out(pg, "</section>\n");
}

static const char style[] =
    "body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;"
    "max-width:60em;padding:0 1em;color:#1b1b1b;background:#fff}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;"
    "border-bottom:1px solid #ccc}table{border-collapse:collapse;"
    "margin:.5em 0}th,td{border:1px solid #ccc;padding:.3em .6em;"
    "text-align:left;vertical-align:top}th{background:#f2f2f2}"
    ".st-ok,.st-up{color:#0a6b0a;font-weight:bold}"
    ".st-failing,.st-stale,.st-down{color:#b00020;font-weight:bold}"
    ".rel{color:#666}.t{white-space:nowrap}.note{color:#444}"
    "code{font-size:.95em;overflow-wrap:anywhere}";

const char *fa_status_html(apr_pool_t *p, json_t *doc)
{
    page_t pg;
    json_t *provs = json_object_get(doc, "providers"), *pr;
    json_t *proc = json_object_get(doc, "process");
    size_t i;

    pg.p = p;
    pg.parts = apr_array_make(p, 64, sizeof(const char *));
    pg.now = (apr_int64_t)json_integer_value(json_object_get(doc,
                                                             "generated_at"));
    out(&pg, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8"
        "\"><title>mod_fedauth status</title><style>%s</style></head>"
        "<body>\n<h1>mod_fedauth status</h1>\n<p class=\"note\">Answered "
        "by process <b>%s</b> at %s. Discovery and JWKS are that "
        "process's own cache (other worker processes keep theirs); the "
        "store, sessions and counts are shared by all processes. "
        "<a href=\"?format=json\">JSON</a></p>\n", style,
        text(&pg, proc, "pid", "?"), when(&pg, doc, "generated_at"));
    json_array_foreach(provs, i, pr) {
        provider_html(&pg, pr);
    }
    store_html(&pg, json_object_get(doc, "store"));
    sessions_html(&pg, json_object_get(doc, "sessions"));
    out(&pg, "<section><h2>Outgoing calls</h2>\n<p>Proxy: %s%s%s.</p>"
        "</section>\n", text(&pg, json_object_get(doc, "outgoing"), "proxy",
                             "none (direct)"),
        json_is_string(json_object_get(json_object_get(doc, "outgoing"),
                                       "noproxy")) ? "; not for " : "",
        text(&pg, json_object_get(doc, "outgoing"), "noproxy", ""));
    out(&pg, "</body></html>\n");
    return apr_array_pstrcat(p, pg.parts, 0);
}
