/* SPDX-License-Identifier: Apache-2.0 */
/* fedauthctl.c - the administrator's tool for the account registry
 * (FedAuthRegistry), the sessions of its accounts and the attempt log.
 * Links only the httpd-free core (it proves the core needs no httpd).
 *
 * It learns where things are from the file mod_fedauth writes at start,
 * <DefaultRuntimeDir>/fedauthctl.conf (root only: it holds the key that
 * names the session indexes and any Redis password); --conf FILE names
 * another. See docs/accounts.md, "fedauthctl", for commands and exit codes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "fa_util.h"
#include "fa_log.h"
#include "fa_store.h"
#include "fa_session.h"
#include "fa_registry.h"
#include "fa_apppass.h"

#define DEFAULT_CONF "/var/run/apache2/fedauthctl.conf"

enum {
    EX_OK = 0,
    EX_USAGE = 1,         /* bad command line or input: nothing changed */
    EX_NOTFOUND = 2,      /* no such account, link or file */
    EX_UNAVAILABLE = 3,   /* the registry, the store or the conf unusable */
    EX_CONFLICT = 4       /* exists already, or not in a state for that */
};

static const char usage_text[] =
"usage: fedauthctl [--conf FILE] [--json] COMMAND ...\n"
"       fedauthctl --version\n"
"\n"
"  users list\n"
"  users show NAME\n"
"  users add NAME [--idps ID,ID] [--roles ROLE,ROLE]\n"
"  users mod NAME [--idps ID,ID|'*'] [--roles ROLE,...|''] "
"[--disable|--enable]\n"
"                 [--set ATTRIBUTE=VALUE] [--unset ATTRIBUTE]   "
"(ValueMapSetOnce)\n"
"  users del NAME                 tombstone: its identities stay linked\n"
"                                 (with none linked: removed, name free)\n"
"  users link NAME IDP SUB        IDP identity SUB signs in as NAME\n"
"  users unlink IDP SUB           ends its sessions; may register again\n"
"  passwords add NAME --name LABEL [--expires 90d|12h|30m] "
"[--roles ROLE,...]\n"
"                                 prints a new app password once\n"
"  passwords list NAME            never the password or its hash\n"
"  passwords del NAME LABEL|ID\n"
"  sessions list [NAME]\n"
"  sessions kill NAME             ends every session of the account\n"
"  idp purge ID                   ends the sessions made through provider "
"ID\n"
"                                 by the identities linked at ID\n"
"  attempts [--user NAME] [--idp ID] [--failed] [--since WHEN] "
"[--file LOG|--stream]\n"
"                                 WHEN: 2026-12-03T21:00:00Z or 30s, 10m, "
"2h, 7d\n"
"\n"
"  --conf FILE   what mod_fedauth wrote at start (default "
DEFAULT_CONF ")\n"
"  --json        output for scripts: one JSON document on stdout\n"
"\n"
"exit: 0 ok, 1 usage or bad input (nothing changed), 2 not found,\n"
"      3 registry, session store or conf unavailable, 4 conflict\n";

/* Cookie keys of older secrets fedauthctl reads from the conf. */
#define CTL_OLDER_MAX 3

typedef struct ctl_t {
    apr_pool_t *p;
    int json;
    apr_table_t *conf;
    fa_registry_t *reg;
    fa_store_t *store;
    fa_keys_t keys;
    fa_keys_t older[CTL_OLDER_MAX]; /* older secrets' (a rotation) */
    int n_older;
    int max_age;
    int max_sessions;
} ctl_t;

/* Writes text to f with every control character (and '\\') as an escape
 * (\n, \t, \xNN, \\): an argument, a name or a sub with a newline or an
 * escape sequence in it cannot forge or hide lines on the terminal. */
static void put_printable(FILE *f, const char *text)
{
    const unsigned char *c;

    for (c = (const unsigned char *)text; *c; c++) {
        if (*c == '\\') {
            fputs("\\\\", f);
        }
        else if (*c == '\n') {
            fputs("\\n", f);
        }
        else if (*c == '\t') {
            fputs("\\t", f);
        }
        else if (*c < 0x20 || *c == 0x7f) {
            fprintf(f, "\\x%02x", *c);
        }
        else {
            fputc(*c, f);
        }
    }
}

/* One line of text output (not --json: jansson escapes by itself). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    put_printable(stdout, buf);
    fputc('\n', stdout);
}

static int fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fputs("fedauthctl: ", stderr);
    put_printable(stderr, buf);
    fputc('\n', stderr);
    return code;
}

static void core_log(void *baton, fa_log_level_t level, const char *file,
                     int line, const char *msg)
{
    (void)baton;
    (void)file;
    (void)line;
    if (level <= FA_LOG_WARN) {
        fputs("fedauthctl: ", stderr);
        put_printable(stderr, msg);
        fputc('\n', stderr);
    }
}

static void print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

    if (text) {
        puts(text);
        free(text);
    }
    json_decref(j);
}

/* ---- the conf file ------------------------------------------------------ */

static int read_conf(ctl_t *c, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096], *sp, *end;

    if (!f) {
        return fail(EX_UNAVAILABLE, "cannot read %s: %s (is httpd started "
                    "with FedAuthRegistry On? fedauthctl runs as root)",
                    path, strerror(errno));
    }
    c->conf = apr_table_make(c->p, 16);
    while (fgets(line, sizeof(line), f)) {
        end = line + strcspn(line, "\r\n");
        *end = '\0';
        if (line[0] == '#' || !(sp = strchr(line, ' '))) {
            continue;
        }
        *sp = '\0';
        apr_table_set(c->conf, line, sp + 1);
    }
    fclose(f);
    if (!apr_table_get(c->conf, "version")
        || !apr_table_get(c->conf, "registry")
        || !apr_table_get(c->conf, "store")) {
        return fail(EX_UNAVAILABLE, "%s is not a fedauthctl.conf", path);
    }
    return EX_OK;
}

/* A cookie key from 64 hex digits (then a space or the end); 0 when it
 * is not one. */
static int key_from_hex(const char *hex, fa_keys_t *keys)
{
    unsigned int byte;
    int i;

    memset(keys, 0, sizeof(*keys));
    if (strlen(hex) < 64 || (hex[64] && hex[64] != ' ')) {
        return 0;
    }
    for (i = 0; i < 32; i++) {
        if (!apr_isxdigit(hex[2 * i]) || !apr_isxdigit(hex[2 * i + 1])
            || sscanf(hex + 2 * i, "%2x", &byte) != 1) {
            return 0;
        }
        keys->cookie[i] = (unsigned char)byte;
    }
    return 1;
}

static int keys_from_conf(ctl_t *c)
{
    const char *hex = apr_table_get(c->conf, "cookie_key");

    if (!hex || strlen(hex) != 64 || !key_from_hex(hex, &c->keys)) {
        return fail(EX_UNAVAILABLE, "the conf has no cookie_key of 64 hex "
                    "digits");
    }
    c->n_older = 0;
    hex = apr_table_get(c->conf, "older_cookie_keys");
    while (hex && *hex && c->n_older < CTL_OLDER_MAX) {
        if (!key_from_hex(hex, &c->older[c->n_older])) {
            return fail(EX_UNAVAILABLE, "the conf's older_cookie_keys are "
                        "not keys of 64 hex digits");
        }
        c->n_older++;
        hex += hex[64] ? 65 : 64;
    }
    c->max_age = atoi(apr_table_get(c->conf, "max_age")
                      ? apr_table_get(c->conf, "max_age") : "28800");
    c->max_sessions = atoi(apr_table_get(c->conf, "max_sessions")
                           ? apr_table_get(c->conf, "max_sessions") : "20");
    if (c->max_sessions < 1 || c->max_sessions > FA_STORE_INDEX_MAX) {
        c->max_sessions = FA_STORE_INDEX_MAX;
    }
    return EX_OK;
}

static int open_redis(ctl_t *c, const char *spec)
{
    fa_redis_conf_t rc;
    const char *why, *v;

    memset(&rc, 0, sizeof(rc));
    if ((why = fa_redis_parse(c->p, spec, &rc)) != NULL) {
        return fail(EX_UNAVAILABLE, "the conf's store: %s", why);
    }
    if ((v = apr_table_get(c->conf, "prefix"))) {
        rc.prefix = v;
    }
    if ((v = apr_table_get(c->conf, "redis_timeout_ms")) && atoi(v) > 0) {
        rc.timeout_ms = atoi(v);
    }
    rc.track = 0;
    rc.ca_file = apr_table_get(c->conf, "redis_ca");
    rc.cert_file = apr_table_get(c->conf, "redis_cert");
    rc.key_file = apr_table_get(c->conf, "redis_key");
    rc.server_name = apr_table_get(c->conf, "redis_server_name");
    if (fa_store_redis_create(c->p, &rc, &c->store) != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "cannot set up the Redis store");
    }
    if (fa_registry_redis_open(c->p, fa_store_redis_client(c->store),
                               &c->reg) != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "the store cannot hold the registry");
    }
    return EX_OK;
}

/* The shm file is only opened when it is there with the size httpd made
 * it: fedauthctl never makes or replaces it. */
static int open_shm(ctl_t *c, const char *spec)
{
    char path[1024];
    unsigned long size;
    fa_shm_conf_t sc;
    struct stat st;
    fa_err_t err;
    int reused;

    if (sscanf(spec, "shm %1023s %lu", path, &size) != 2) {
        return fail(EX_UNAVAILABLE, "the conf's store line is garbled");
    }
    if (stat(path, &st) != 0 || (unsigned long)st.st_size != size) {
        return fail(EX_UNAVAILABLE, "session store %s: not there (or not "
                    "of the size httpd made it): is httpd running?", path);
    }
    memset(&sc, 0, sizeof(sc));
    sc.path = apr_pstrdup(c->p, path);
    sc.size = size;
    if (fa_store_shm_open(c->p, &sc, &c->store, &reused, &err)
        != APR_SUCCESS || !reused) {
        return fail(EX_UNAVAILABLE, "session store %s: %s", path,
                    reused ? err.desc : "not made by this version");
    }
    return EX_OK;
}

static int open_all(ctl_t *c)
{
    const char *reg = apr_table_get(c->conf, "registry");
    const char *store = apr_table_get(c->conf, "store");
    struct stat st;
    fa_err_t err;
    int rc;

    if ((rc = keys_from_conf(c)) != EX_OK) {
        return rc;
    }
    if (!strncmp(store, "shm ", 4)) {
        if (strncmp(reg, "dir ", 4)) {
            return fail(EX_UNAVAILABLE, "the conf's registry line is "
                        "garbled");
        }
        if (stat(reg + 4, &st) != 0 || !S_ISDIR(st.st_mode)) {
            return fail(EX_UNAVAILABLE, "registry %s: not there", reg + 4);
        }
        if (fa_registry_dir_open(c->p, reg + 4, &c->reg, &err)
            != APR_SUCCESS) {
            return fail(EX_UNAVAILABLE, "registry: %s", err.desc);
        }
        return open_shm(c, store);
    }
    return open_redis(c, store);
}

/* ---- sessions ------------------------------------------------------------ */

/* The index of the sessions of sub at idp under the cookie key of the
 * first secret (i 0) or an older one (i 1...); NULL past the last: during
 * a rotation, sessions made under an older secret are in its index. */
static const char *sub_index_key(ctl_t *c, apr_pool_t *p, int i,
                                 const char *idp, const char *sub)
{
    if (i < 0 || i > c->n_older) {
        return NULL;
    }
    return apr_pstrcat(p, "i:", fa_keys_tag(p, i ? &c->older[i - 1]
                                            : &c->keys, "sub",
                       apr_pstrcat(p, idp, "\n", sub, NULL)), NULL);
}

/* Ends every session of one identity: the sessions in its index are
 * deleted from the store (with Redis, the copies in httpd processes go
 * with Redis's invalidation messages). The number ended, or -1. */
static int kill_identity(ctl_t *c, const char *idp, const char *sub)
{
    apr_pool_t *p;
    apr_array_header_t *members, *more;
    const char *ikey;
    int i, k, n = 0;

    apr_pool_create(&p, c->p);
    members = apr_array_make(p, 8, sizeof(const char *));
    for (k = 0; (ikey = sub_index_key(c, p, k, idp, sub)); k++) {
        if (c->store->index_take(c->store, ikey, p, &more) != APR_SUCCESS) {
            apr_pool_destroy(p);
            return -1;
        }
        apr_array_cat(members, more);
    }
    for (i = 0; i < members->nelts; i++) {
        const char *key = APR_ARRAY_IDX(members, i, const char *);
        char *val;
        apr_size_t len;
        if (c->store->get(c->store, key, p, &val, &len) == APR_SUCCESS) {
            n++;
        }
        if (c->store->del(c->store, key, p) != APR_SUCCESS) {
            n = -1;
            break;
        }
    }
    apr_pool_destroy(p);
    return n;
}

static int kill_account(ctl_t *c, const fa_account_t *a)
{
    const fa_link_t *l;
    int i, n, total = 0;

    for (i = 0; i < a->links->nelts; i++) {
        l = &APR_ARRAY_IDX(a->links, i, fa_link_t);
        if ((n = kill_identity(c, l->idp, l->sub)) < 0) {
            return -1;
        }
        total += n;
    }
    return total;
}

/* The live sessions of one identity, appended to out. The index is read
 * by taking it and putting back what is still there. */
static int list_identity(ctl_t *c, const char *user, const char *idp,
                         const char *sub, json_t *out)
{
    apr_pool_t *p;
    apr_array_header_t *members, *more, *dropped;
    apr_hash_t *seen;
    const char *ikey, *okey;
    fa_session_t *s;
    char *val;
    apr_size_t len;
    int i, k;

    apr_pool_create(&p, c->p);
    ikey = sub_index_key(c, p, 0, idp, sub);
    members = apr_array_make(p, 8, sizeof(const char *));
    seen = apr_hash_make(p);
    /* The indexes under older secrets join the first's (as httpd does at
     * the next sign-in). */
    for (k = 0; (okey = sub_index_key(c, p, k, idp, sub)); k++) {
        if (c->store->index_take(c->store, okey, p, &more) != APR_SUCCESS) {
            apr_pool_destroy(p);
            return -1;
        }
        apr_array_cat(members, more);
    }
    for (i = 0; i < members->nelts; i++) {
        const char *key = APR_ARRAY_IDX(members, i, const char *);
        if (apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
        if (c->store->get(c->store, key, p, &val, &len) != APR_SUCCESS
            || fa_session_decode(p, val, len, &s) != APR_SUCCESS) {
            continue;
        }
        c->store->index_add(c->store, ikey, key, s->created + c->max_age,
                            c->max_sessions, p, &dropped);
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:I, "
                                             "s:I}", "user", user, "idp",
                                             idp, "sub", sub, "session",
                                             key + 2, "created",
                                             (json_int_t)s->created,
                                             "last_seen",
                                             (json_int_t)s->last_seen));
    }
    apr_pool_destroy(p);
    return 0;
}

/* ---- accounts ------------------------------------------------------------ */

static json_t *account_json(const fa_account_t *a)
{
    char *text;
    apr_size_t len;
    apr_pool_t *p;
    json_t *j;

    apr_pool_create(&p, NULL);
    text = fa_account_encode(p, a, &len);
    j = json_loadb(text, len, 0, NULL);
    apr_pool_destroy(p);
    json_object_del(j, "v");
    return j;
}

static const char *list_text(apr_pool_t *p, const apr_array_header_t *a,
                             const char *none)
{
    return a && a->nelts ? apr_array_pstrcat(p, a, ',') : none;
}

static void print_account(ctl_t *c, const fa_account_t *a, int long_form)
{
    const fa_link_t *l;
    int i;

    if (!long_form) {
        say("%-32s %-8s idps=%s roles=%s links=%d", a->name,
            fa_account_state_name(a->state),
            a->idps ? list_text(c->p, a->idps, "(none)") : "*",
            list_text(c->p, a->roles, "-"), a->links->nelts);
        return;
    }
    say("name:    %s", a->name);
    say("state:   %s", fa_account_state_name(a->state));
    say("idps:    %s", a->idps ? list_text(c->p, a->idps, "(none)")
                               : "* (any)");
    say("roles:   %s", list_text(c->p, a->roles, "-"));
    say("created: %lld", (long long)a->created);
    if (a->last_signin) {
        say("signin:  %lld (the sign-in that made it)",
            (long long)a->last_signin);
    }
    for (i = 0; i < a->links->nelts; i++) {
        l = &APR_ARRAY_IDX(a->links, i, fa_link_t);
        say("link:    %s %s", l->idp, l->sub);
    }
    for (i = 0; i < a->attrs->nelts; i++) {
        say("kept:    %s=%s", APR_ARRAY_IDX(a->attrs, i, fa_attr_t).name,
            APR_ARRAY_IDX(a->attrs, i, fa_attr_t).value);
    }
}

/* The account, or an exit code (2 when absent). */
static int get_account(ctl_t *c, const char *name, fa_account_t **pa)
{
    fa_err_t err;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = fa_registry_account_get(c->reg, c->p, name, pa, &err);
    if (rv == APR_NOTFOUND) {
        return fail(EX_NOTFOUND, "no account %s", name);
    }
    if (rv != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "%s", err.desc);
    }
    return EX_OK;
}

static int users_list(ctl_t *c)
{
    apr_array_header_t *names;
    fa_account_t *a;
    json_t *out = json_array();
    fa_err_t err;
    int i, rc;

    memset(&err, 0, sizeof(err));
    if (fa_registry_account_names(c->reg, c->p, &names, &err)
        != APR_SUCCESS) {
        json_decref(out);
        return fail(EX_UNAVAILABLE, "%s", err.desc);
    }
    for (i = 0; i < names->nelts; i++) {
        if ((rc = get_account(c, APR_ARRAY_IDX(names, i, const char *), &a))
            == EX_NOTFOUND) {
            continue;
        }
        if (rc != EX_OK) {
            json_decref(out);
            return rc;
        }
        if (c->json) {
            json_array_append_new(out, account_json(a));
        }
        else {
            print_account(c, a, 0);
        }
    }
    if (c->json) {
        print_json(out);
    }
    else {
        json_decref(out);
    }
    return EX_OK;
}

static int known_idps(ctl_t *c, const apr_array_header_t *list);

/* Options of users add / mod: what they set (NULL: unchanged). */
typedef struct user_opts_t {
    apr_array_header_t *idps;
    int idps_any;
    apr_array_header_t *roles;
    int set_state;                /* -1 unchanged, else the state */
    apr_array_header_t *set;      /* fa_attr_t: --set NAME=VALUE, and
                                   * --unset NAME (value NULL) */
} user_opts_t;

/* --set ATTRIBUTE=VALUE / --unset ATTRIBUTE: a ValueMapSetOnce value. */
static int parse_attr_opt(ctl_t *c, const char *arg, int unset,
                          user_opts_t *o)
{
    const char *eq = unset ? NULL : strchr(arg, '=');
    char *name = apr_pstrndup(c->p, arg, eq ? (apr_size_t)(eq - arg)
                                            : strlen(arg));
    const unsigned char *v;
    fa_attr_t *at;
    char *n;

    for (n = name; *n; n++) {
        if (!((*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9')
              || *n == '_')) {
            break;
        }
    }
    if (!*name || *n || strlen(name) > 64 || (!unset && !eq)) {
        return fail(EX_USAGE, "%s: expects ATTRIBUTE%s (A-Z 0-9 _)",
                    unset ? "--unset" : "--set", unset ? "" : "=VALUE");
    }
    for (v = (const unsigned char *)(eq ? eq + 1 : ""); *v; v++) {
        if (*v < 0x20 || *v == 0x7f) {
            return fail(EX_USAGE, "--set: no control characters");
        }
    }
    if (!o->set) {
        o->set = apr_array_make(c->p, 2, sizeof(fa_attr_t));
    }
    at = apr_array_push(o->set);
    at->name = name;
    at->value = eq ? eq + 1 : NULL;
    return EX_OK;
}

/* Applies --set / --unset to the account's kept values. */
static void apply_attrs(ctl_t *c, fa_account_t *a, const user_opts_t *o)
{
    apr_array_header_t *kept;
    const fa_attr_t *want, *have;
    int i, j;

    for (i = 0; o->set && i < o->set->nelts; i++) {
        want = &APR_ARRAY_IDX(o->set, i, fa_attr_t);
        kept = apr_array_make(c->p, a->attrs->nelts + 1, sizeof(fa_attr_t));
        for (j = 0; j < a->attrs->nelts; j++) {
            have = &APR_ARRAY_IDX(a->attrs, j, fa_attr_t);
            if (strcmp(have->name, want->name)) {
                *(fa_attr_t *)apr_array_push(kept) = *have;
            }
        }
        if (want->value) {
            *(fa_attr_t *)apr_array_push(kept) = *want;
        }
        a->attrs = kept;
    }
}

static int parse_user_opts(ctl_t *c, int argc, char **argv, int mod,
                           user_opts_t *o)
{
    const char *why = NULL;
    int i;

    memset(o, 0, sizeof(*o));
    o->set_state = -1;
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--idps") && i + 1 < argc) {
            i++;
            if (mod && !strcmp(argv[i], "*")) {
                o->idps_any = 1;
            }
            else if (!(o->idps = fa_registry_parse_list(c->p, argv[i], 1,
                                                        &why))) {
                return fail(EX_USAGE, "--idps: %s", why);
            }
            else if (!known_idps(c, o->idps)) {
                return EX_USAGE;
            }
        }
        else if (!strcmp(argv[i], "--roles") && i + 1 < argc) {
            if (!(o->roles = fa_registry_parse_list(c->p, argv[++i], 0,
                                                    &why))) {
                return fail(EX_USAGE, "--roles: %s", why);
            }
        }
        else if (mod && (!strcmp(argv[i], "--set")
                         || !strcmp(argv[i], "--unset")) && i + 1 < argc) {
            if (parse_attr_opt(c, argv[i + 1], argv[i][2] == 'u', o)
                != EX_OK) {
                return EX_USAGE;
            }
            i++;
        }
        else if (mod && (!strcmp(argv[i], "--disable")
                         || !strcmp(argv[i], "--enable"))) {
            int want = argv[i][2] == 'd' ? FA_ACCOUNT_DISABLED
                                         : FA_ACCOUNT_ACTIVE;
            if (o->set_state >= 0 && o->set_state != want) {
                return fail(EX_USAGE, "--disable and --enable: give one");
            }
            o->set_state = want;
        }
        else {
            return fail(EX_USAGE, "unknown option %s (fedauthctl --help)",
                        argv[i]);
        }
    }
    return EX_OK;
}

/* For a message about an existing account that is deleted: what frees
 * its name ("" for any other). */
static const char *deleted_hint(ctl_t *c, const char *name)
{
    fa_account_t *a;
    fa_err_t err;

    memset(&err, 0, sizeof(err));
    if (fa_registry_account_get(c->reg, c->p, name, &a, &err)
        != APR_SUCCESS || a->state != FA_ACCOUNT_DELETED) {
        return "";
    }
    if (a->links->nelts == 0) {
        return apr_psprintf(c->p, " (deleted, with no linked identity: "
                            "users del %s removes it)", name);
    }
    return apr_psprintf(c->p, " (deleted; it goes with the last of its %d "
                        "linked identities: users show %s, users unlink)",
                        a->links->nelts, name);
}

static int users_add(ctl_t *c, const char *name, int argc, char **argv)
{
    user_opts_t o;
    fa_account_t *a;
    char *rec;
    apr_size_t len;
    apr_status_t rv;
    int rc;

    if (!fa_account_name_ok(name)) {
        return fail(EX_USAGE, "'%s' cannot be an account name ("
                    FA_ACCOUNT_NAME_RULE ")", name);
    }
    if ((rc = parse_user_opts(c, argc, argv, 0, &o)) != EX_OK) {
        return rc;
    }
    a = fa_account_new(c->p, name);
    a->idps = o.idps;
    if (o.roles) {
        a->roles = o.roles;
    }
    rec = fa_account_encode(c->p, a, &len);
    rv = c->reg->create(c->reg, fa_registry_account_key(c->p, name), rec,
                        len, c->p);
    if (rv == APR_EEXIST) {
        return fail(EX_CONFLICT, "account %s exists%s", name,
                    deleted_hint(c, name));
    }
    if (rv != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "cannot write to the registry (%s)",
                    c->reg->name);
    }
    if (!c->json) {
        say("added %s", name);
    }
    else {
        print_json(account_json(a));
    }
    return EX_OK;
}

static int report_killed(ctl_t *c, const char *what, int n)
{
    if (n < 0) {
        return fail(EX_UNAVAILABLE, "%s, but the session store is "
                    "unavailable: its sessions may still be there", what);
    }
    if (c->json) {
        print_json(json_pack("{s:s, s:i}", "done", what, "sessions_ended",
                             n));
    }
    else {
        say("%s; %d session(s) ended", what, n);
    }
    return EX_OK;
}

/* Writes a change to account name on what is stored when it is written
 * (a sign-in may write the account at the same time): an exit code. */
static int update_account(ctl_t *c, const char *name,
                          fa_account_change_t change, void *baton,
                          fa_account_t **pa)
{
    fa_err_t err;
    apr_status_t rv;

    memset(&err, 0, sizeof(err));
    rv = fa_registry_account_update(c->reg, c->p, name, change, baton, pa,
                                    &err);
    if (rv == APR_NOTFOUND) {
        return fail(EX_NOTFOUND, "no account %s", name);
    }
    if (rv != APR_SUCCESS && err.code && !strcmp(err.code, "deleted")) {
        return fail(EX_CONFLICT, "account %s is deleted, it cannot be "
                    "changed%s", name, deleted_hint(c, name));
    }
    if (rv != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "%s", err.desc);
    }
    return EX_OK;
}

typedef struct mod_change_t {
    ctl_t *c;
    const user_opts_t *o;
} mod_change_t;

static int mod_change(apr_pool_t *p, fa_account_t *a, void *baton,
                      fa_err_t *err)
{
    mod_change_t *m = baton;

    (void)p;
    if (a->state == FA_ACCOUNT_DELETED) {
        fa_err_set(err, "deleted", "account %s is deleted", a->name);
        return -1;
    }
    if (m->o->idps_any) {
        a->idps = NULL;
    }
    else if (m->o->idps) {
        a->idps = m->o->idps;
    }
    if (m->o->roles) {
        a->roles = m->o->roles;
    }
    if (m->o->set_state >= 0) {
        a->state = (fa_account_state_t)m->o->set_state;
    }
    apply_attrs(m->c, a, m->o);
    return 1;
}

static int users_mod(ctl_t *c, const char *name, int argc, char **argv)
{
    user_opts_t o;
    mod_change_t m;
    fa_account_t *a;
    int rc, n;

    if ((rc = parse_user_opts(c, argc, argv, 1, &o)) != EX_OK) {
        return rc;
    }
    m.c = c;
    m.o = &o;
    if ((rc = update_account(c, name, mod_change, &m, &a)) != EX_OK) {
        return rc;
    }
    /* A disabled account, or one that lost a provider, signs in again. */
    n = a->state == FA_ACCOUNT_DISABLED || o.idps ? kill_account(c, a) : 0;
    if (n < 0) {
        return report_killed(c, apr_psprintf(c->p, "changed %s", name), n);
    }
    if (c->json) {
        /* one shape: the account as written, and what ended */
        json_t *j = account_json(a);
        json_object_set_new(j, "sessions_ended", json_integer(n));
        print_json(j);
    }
    else {
        say("changed %s; %d session(s) ended", name, n);
    }
    return EX_OK;
}

static int users_del(ctl_t *c, const char *name)
{
    fa_account_t *a;
    fa_err_t err;
    apr_status_t rv;
    int removed, n;

    memset(&err, 0, sizeof(err));
    rv = fa_registry_account_delete(c->reg, c->p, name, &a, &removed, &err);
    if (rv == APR_NOTFOUND) {
        return fail(EX_NOTFOUND, "no account %s", name);
    }
    if (rv != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "%s", err.desc);
    }
    if (fa_apppass_del_all(c->reg, c->p, name, &n, &err) != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "%s marked deleted, but its app "
                    "passwords could not all be deleted (%s); they no "
                    "longer work", name, err.desc);
    }
    if (removed) {
        return report_killed(c, apr_psprintf(c->p, "removed %s (no "
                                             "identity was linked to it; "
                                             "its name is free)", name), 0);
    }
    return report_killed(c, apr_psprintf(c->p, "deleted %s (its %d "
                                         "identities stay linked)", name,
                                         a->links->nelts),
                         kill_account(c, a));
}

/* 1 when every id of list is a provider of the server (the conf's
 * "providers" line; without one, any id is taken). */
static int known_idps(ctl_t *c, const apr_array_header_t *list)
{
    const char *known = apr_table_get(c->conf, "providers"), *hit;
    apr_size_t len;
    int i;

    for (i = 0; known && list && i < list->nelts; i++) {
        const char *id = APR_ARRAY_IDX(list, i, const char *);
        len = strlen(id);
        for (hit = strstr(known, id); hit; hit = strstr(hit + 1, id)) {
            if ((hit == known || hit[-1] == ' ')
                && (hit[len] == ' ' || hit[len] == '\0')) {
                break;
            }
        }
        if (!hit) {
            fail(EX_USAGE, "no provider %s in this server (it has: %s)", id,
                 known);
            return 0;
        }
    }
    return 1;
}

static int check_idp(const char *idp)
{
    const char *why;
    apr_pool_t *p;
    int ok;

    apr_pool_create(&p, NULL);
    ok = strchr(idp, ',') == NULL
         && fa_registry_parse_list(p, idp, 1, &why) != NULL && *idp;
    apr_pool_destroy(p);
    return ok;
}

/* An identity a sign-in can have (fa_claims.c, identity_of). */
static int sub_ok(const char *sub)
{
    const unsigned char *c;

    for (c = (const unsigned char *)sub; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            return 0;
        }
    }
    return *sub && strlen(sub) <= 255;
}

static int users_link(ctl_t *c, const char *name, const char *idp,
                      const char *sub)
{
    fa_err_t err;
    apr_status_t rv;

    apr_array_header_t *one = apr_array_make(c->p, 1, sizeof(const char *));

    if (!check_idp(idp)) {
        return fail(EX_USAGE, "bad provider id '%s' (a-z 0-9 _ -, 1 to 32)",
                    idp);
    }
    if (!sub_ok(sub)) {
        return fail(EX_USAGE, "bad sub '%s': 1 to 255 bytes without control "
                    "characters (a sign-in refuses any other as "
                    "invalid_sub)", sub);
    }
    APR_ARRAY_PUSH(one, const char *) = idp;
    if (!known_idps(c, one)) {
        return EX_USAGE;
    }
    memset(&err, 0, sizeof(err));
    rv = fa_registry_link(c->reg, c->p, name, idp, sub, &err);
    if (rv == APR_NOTFOUND) {
        return fail(EX_NOTFOUND, "no account %s", name);
    }
    if (rv == APR_EEXIST) {
        return fail(EX_CONFLICT, "%s %s is linked already (users unlink "
                    "first)", idp, sub);
    }
    if (rv != APR_SUCCESS && err.code && !strcmp(err.code, "deleted")) {
        return fail(EX_CONFLICT, "account %s is deleted: it takes no new "
                    "link", name);
    }
    if (rv != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "%s", err.desc);
    }
    return report_killed(c, apr_psprintf(c->p, "linked %s %s to %s", idp,
                                         sub, name),
                         kill_identity(c, idp, sub));
}

static int users_unlink(ctl_t *c, const char *idp, const char *sub)
{
    const char *name;
    fa_err_t err;
    apr_status_t rv;

    if (!check_idp(idp)) {
        return fail(EX_USAGE, "bad provider id '%s'", idp);
    }
    memset(&err, 0, sizeof(err));
    rv = fa_registry_unlink(c->reg, c->p, idp, sub, &name, &err);
    if (rv == APR_NOTFOUND) {
        return fail(EX_NOTFOUND, "%s %s is not linked", idp, sub);
    }
    if (rv != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "%s", err.desc);
    }
    return report_killed(c, apr_psprintf(c->p, "unlinked %s %s from %s",
                                         idp, sub, name),
                         kill_identity(c, idp, sub));
}

static int users_cmd(ctl_t *c, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "list") && argc == 1) {
        return users_list(c);
    }
    if (argc == 2 && !strcmp(argv[0], "show")) {
        fa_account_t *a;
        int rc = get_account(c, argv[1], &a);
        if (rc == EX_OK && c->json) {
            print_json(account_json(a));
        }
        else if (rc == EX_OK) {
            print_account(c, a, 1);
        }
        return rc;
    }
    if (argc >= 2 && !strcmp(argv[0], "add")) {
        return users_add(c, argv[1], argc - 2, argv + 2);
    }
    if (argc >= 2 && !strcmp(argv[0], "mod")) {
        return users_mod(c, argv[1], argc - 2, argv + 2);
    }
    if (argc == 2 && !strcmp(argv[0], "del")) {
        return users_del(c, argv[1]);
    }
    if (argc == 4 && !strcmp(argv[0], "link")) {
        return users_link(c, argv[1], argv[2], argv[3]);
    }
    if (argc == 3 && !strcmp(argv[0], "unlink")) {
        return users_unlink(c, argv[1], argv[2]);
    }
    return fail(EX_USAGE, "unknown or incomplete users command (fedauthctl "
                "--help)");
}

/* ---- app passwords ------------------------------------------------------- */

static const char *when(apr_pool_t *p, apr_int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;

    if (!t) {
        return "never";
    }
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return apr_pstrdup(p, buf);
}

/* What list and add show of a password: never its hash or salt. */
static json_t *password_json(const fa_apppass_t *ap)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I}", "account",
                          ap->account, "id", ap->id, "label", ap->label,
                          "created", (json_int_t)ap->created, "expires",
                          (json_int_t)ap->expires);
    json_t *roles = json_array();
    int i;

    for (i = 0; ap->roles && i < ap->roles->nelts; i++) {
        json_array_append_new(roles, json_string(APR_ARRAY_IDX(ap->roles, i,
                                                               const char *)));
    }
    json_object_set_new(j, "roles", ap->roles ? roles : json_null());
    if (!ap->roles) {
        json_decref(roles);
    }
    return j;
}

static void print_password(ctl_t *c, const fa_apppass_t *ap)
{
    say("%s %-24s created=%s expires=%s roles=%s", ap->id, ap->label,
        when(c->p, ap->created), when(c->p, ap->expires),
        ap->roles ? list_text(c->p, ap->roles, "(none)") : "*");
}

typedef struct pw_opts_t {
    const char *label;
    apr_int64_t expires;          /* seconds from now, 0: never */
    apr_array_header_t *roles;
} pw_opts_t;

static int parse_pw_opts(ctl_t *c, int argc, char **argv, pw_opts_t *o)
{
    const char *why = NULL;
    int i;

    memset(o, 0, sizeof(*o));
    for (i = 0; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--name")) {
            o->label = argv[i + 1];
        }
        else if (!strcmp(argv[i], "--expires")) {
            if (fa_apppass_duration(argv[i + 1], &o->expires) != 0) {
                return fail(EX_USAGE, "--expires %s: a number with s, m, h "
                            "or d (90d), at most 10 years", argv[i + 1]);
            }
        }
        else if (!strcmp(argv[i], "--roles")) {
            if (!(o->roles = fa_registry_parse_list(c->p, argv[i + 1], 0,
                                                    &why))) {
                return fail(EX_USAGE, "--roles: %s", why);
            }
        }
        else {
            break;
        }
    }
    if (i < argc) {
        return fail(EX_USAGE, "unknown or incomplete option %s (fedauthctl "
                    "--help)", argv[i]);
    }
    if (!o->label || !fa_apppass_label_ok(o->label)) {
        return fail(EX_USAGE, "--name: 1 to %d of A-Z a-z 0-9 . _ -",
                    FA_APPPASS_LABEL_MAX);
    }
    return EX_OK;
}

/* Roles of --roles the account does not hold now: said, not refused
 * (a password's roles narrow the account's at each request). */
static void roles_not_held(ctl_t *c, const fa_account_t *a,
                           const apr_array_header_t *roles)
{
    const char *role;
    int i, j, held;

    for (i = 0; roles && i < roles->nelts; i++) {
        role = APR_ARRAY_IDX(roles, i, const char *);
        for (held = 0, j = 0; !held && j < a->roles->nelts; j++) {
            held = !strcmp(APR_ARRAY_IDX(a->roles, j, const char *), role);
        }
        if (!held) {
            fail(EX_OK, "note: %s does not have the role %s now; the "
                 "password gets it only while the account has it", a->name,
                 role);
        }
    }
}

static int passwords_add(ctl_t *c, const char *name, int argc, char **argv)
{
    fa_apppass_t ap;
    fa_account_t *a;
    pw_opts_t o;
    fa_err_t err;
    char *secret;
    apr_status_t rv;
    json_t *j;
    int rc;

    memset(&ap, 0, sizeof(ap));
    memset(&err, 0, sizeof(err));
    if ((rc = parse_pw_opts(c, argc, argv, &o)) != EX_OK
        || (rc = get_account(c, name, &a)) != EX_OK) {
        return rc;
    }
    if (a->state == FA_ACCOUNT_DELETED) {
        return fail(EX_CONFLICT, "account %s is deleted", name);
    }
    roles_not_held(c, a, o.roles);
    ap.account = a->name;
    ap.label = o.label;
    ap.created = fa_now_sec();
    ap.expires = o.expires ? ap.created + o.expires : 0;
    ap.roles = o.roles;
    if (fa_apppass_secret_new(c->p, &secret, &ap.id) != APR_SUCCESS
        || fa_apppass_hash(&ap, secret, strlen(secret), &err)
           != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "cannot make a password: %s",
                    err.desc[0] ? err.desc : "no randomness");
    }
    rv = fa_apppass_add(c->reg, c->p, &ap, &err);
    if (rv != APR_SUCCESS) {
        return fail(rv == APR_EEXIST || !strcmp(err.code, "too_many")
                    ? EX_CONFLICT : EX_UNAVAILABLE, "%s", err.desc);
    }
    if (c->json) {
        j = password_json(&ap);
        json_object_set_new(j, "secret", json_string(secret));
        print_json(j);
    }
    else {
        say("added app password %s (id %s) for %s, expires %s, roles %s",
            ap.label, ap.id, a->name, when(c->p, ap.expires), ap.roles
            ? list_text(c->p, ap.roles, "(none)") : "* (the account's)");
        say("%s", secret);
        say("shown once: give it to the client now (user name %s)",
            a->name);
    }
    memset(secret, 0, strlen(secret));
    return EX_OK;
}

static int passwords_cmd(ctl_t *c, int argc, char **argv)
{
    apr_array_header_t *list;
    fa_apppass_t *ap;
    fa_account_t *a;
    fa_err_t err;
    apr_status_t rv;
    json_t *j;
    int i, rc;

    memset(&err, 0, sizeof(err));
    if (argc >= 2 && !strcmp(argv[0], "add")) {
        return passwords_add(c, argv[1], argc - 2, argv + 2);
    }
    if ((argc == 2 && !strcmp(argv[0], "list"))
        || (argc == 3 && !strcmp(argv[0], "del"))) {
        if ((rc = get_account(c, argv[1], &a)) != EX_OK) {
            return rc;
        }
    }
    else {
        return fail(EX_USAGE, "unknown or incomplete passwords command "
                    "(fedauthctl --help)");
    }
    if (argc == 3) {
        rv = fa_apppass_del(c->reg, c->p, a->name, argv[2], &ap, &err);
        if (rv == APR_NOTFOUND) {
            return fail(EX_NOTFOUND, "%s has no app password %s", a->name,
                        argv[2]);
        }
        if (rv != APR_SUCCESS) {
            return fail(EX_UNAVAILABLE, "%s", err.desc);
        }
        if (c->json) {
            print_json(password_json(ap));
        }
        else {
            say("deleted app password %s (id %s) of %s", ap->label, ap->id,
                a->name);
        }
        return EX_OK;
    }
    if (fa_apppass_list(c->reg, c->p, a->name, &list, &err) != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "%s", err.desc);
    }
    j = json_array();
    for (i = 0; i < list->nelts; i++) {
        ap = APR_ARRAY_IDX(list, i, fa_apppass_t *);
        if (c->json) {
            json_array_append_new(j, password_json(ap));
        }
        else {
            print_password(c, ap);
        }
    }
    if (c->json) {
        print_json(j);
    }
    else {
        json_decref(j);
    }
    return EX_OK;
}

/* ---- sessions and providers ---------------------------------------------- */

/* The accounts: the one named, or all. */
static int accounts(ctl_t *c, const char *name, apr_array_header_t **out)
{
    apr_array_header_t *names;
    fa_account_t *a;
    fa_err_t err;
    int i, rc;

    *out = apr_array_make(c->p, 8, sizeof(fa_account_t *));
    if (name) {
        if ((rc = get_account(c, name, &a)) != EX_OK) {
            return rc;
        }
        APR_ARRAY_PUSH(*out, fa_account_t *) = a;
        return EX_OK;
    }
    memset(&err, 0, sizeof(err));
    if (fa_registry_account_names(c->reg, c->p, &names, &err)
        != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "%s", err.desc);
    }
    for (i = 0; i < names->nelts; i++) {
        rc = get_account(c, APR_ARRAY_IDX(names, i, const char *), &a);
        if (rc == EX_OK) {
            APR_ARRAY_PUSH(*out, fa_account_t *) = a;
        }
        else if (rc != EX_NOTFOUND) {
            return rc;
        }
    }
    return EX_OK;
}

static int sessions_cmd(ctl_t *c, int argc, char **argv)
{
    apr_array_header_t *list;
    fa_account_t *a;
    const fa_link_t *l;
    json_t *out, *e;
    size_t k;
    int i, j, rc;

    if (argc >= 1 && argc <= 2 && !strcmp(argv[0], "list")) {
        if ((rc = accounts(c, argc == 2 ? argv[1] : NULL, &list)) != EX_OK) {
            return rc;
        }
        out = json_array();
        for (i = 0; i < list->nelts; i++) {
            a = APR_ARRAY_IDX(list, i, fa_account_t *);
            for (j = 0; j < a->links->nelts; j++) {
                l = &APR_ARRAY_IDX(a->links, j, fa_link_t);
                if (list_identity(c, a->name, l->idp, l->sub, out) != 0) {
                    json_decref(out);
                    return fail(EX_UNAVAILABLE, "the session store is "
                                "unavailable");
                }
            }
        }
        if (c->json) {
            print_json(out);
            return EX_OK;
        }
        json_array_foreach(out, k, e) {
            say("%-32s %-12s %.12s... created %lld last seen %lld",
                json_string_value(json_object_get(e, "user")),
                json_string_value(json_object_get(e, "idp")),
                json_string_value(json_object_get(e, "session")),
                (long long)json_integer_value(json_object_get(e, "created")),
                (long long)json_integer_value(json_object_get(e,
                                                              "last_seen")));
        }
        json_decref(out);
        return EX_OK;
    }
    if (argc == 2 && !strcmp(argv[0], "kill")) {
        if ((rc = get_account(c, argv[1], &a)) != EX_OK) {
            return rc;
        }
        return report_killed(c, apr_psprintf(c->p, "sessions of %s",
                                             argv[1]), kill_account(c, a));
    }
    return fail(EX_USAGE, "unknown or incomplete sessions command "
                "(fedauthctl --help)");
}

static int idp_cmd(ctl_t *c, int argc, char **argv)
{
    apr_array_header_t *list, *known;
    fa_account_t *a;
    const fa_link_t *l;
    int i, j, n, total = 0, users = 0, rc;

    if (argc != 2 || strcmp(argv[0], "purge")) {
        return fail(EX_USAGE, "unknown or incomplete idp command "
                    "(fedauthctl --help)");
    }
    if (!check_idp(argv[1])) {
        return fail(EX_USAGE, "bad provider id '%s'", argv[1]);
    }
    known = apr_array_make(c->p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(known, const char *) = argv[1];
    if (!known_idps(c, known)) {
        return EX_USAGE;
    }
    if ((rc = accounts(c, NULL, &list)) != EX_OK) {
        return rc;
    }
    for (i = 0; i < list->nelts; i++) {
        a = APR_ARRAY_IDX(list, i, fa_account_t *);
        for (j = 0; j < a->links->nelts; j++) {
            l = &APR_ARRAY_IDX(a->links, j, fa_link_t);
            if (strcmp(l->idp, argv[1])) {
                continue;
            }
            if ((n = kill_identity(c, l->idp, l->sub)) < 0) {
                return report_killed(c, "purge stopped", -1);
            }
            total += n;
            users++;
        }
    }
    return report_killed(c, apr_psprintf(c->p, "purged %s: the sessions "
                                         "through it of %d linked "
                                         "identities (they keep their "
                                         "accounts)", argv[1], users),
                         total);
}

/* ---- attempts ------------------------------------------------------------ */

/* --since: an ISO time (compared as text with the log's times, which are
 * all "YYYY-MM-DDTHH:MM:SS.mmmZ") or an age: 30s, 10m, 2h, 7d. */
static const char *since_time(apr_pool_t *p, const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);
    long mult = 0;
    time_t t;
    struct tm tm;
    char buf[32];

    if (end != arg && n >= 0 && end[0] && !end[1]) {
        mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600
               : end[0] == 'd' ? 86400 : 0;
    }
    if (mult) {
        t = time(NULL) - (time_t)(n * mult);
        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return apr_pstrdup(p, buf);
    }
    if (strlen(arg) >= 10 && arg[4] == '-' && arg[7] == '-') {
        return arg;
    }
    return NULL;
}

typedef struct attempt_filter_t {
    const char *user, *idp, *since;
    int failed;
} attempt_filter_t;

/* Prints (or collects into out, with --json) one line when it matches. */
static void attempt_line(ctl_t *c, const attempt_filter_t *f,
                         const char *line, json_t *out)
{
    json_t *j = json_loads(line, 0, NULL);
    const char *v;

    if (!j) {
        return;
    }
    if ((f->user && (!(v = json_string_value(json_object_get(j, "account")))
                     || strcmp(v, f->user)))
        || (f->idp && (!(v = json_string_value(json_object_get(j, "idp")))
                       || strcmp(v, f->idp)))
        || (f->failed && (!(v = json_string_value(json_object_get(j,
                                                              "outcome")))
                          || !strcmp(v, "success")))
        || (f->since && (!(v = json_string_value(json_object_get(j, "time")))
                         || strcmp(v, f->since) < 0))) {
        json_decref(j);
        return;
    }
    if (c->json) {
        json_array_append_new(out, j);
        return;
    }
    say("%.*s", (int)strcspn(line, "\n"), line);
    json_decref(j);
}

static int attempts_from_file(ctl_t *c, const attempt_filter_t *f,
                              const char *file, json_t *out)
{
    char line[8192];
    FILE *fh = fopen(file, "r");

    if (!fh) {
        return fail(EX_NOTFOUND, "cannot read %s: %s", file,
                    strerror(errno));
    }
    while (fgets(line, sizeof(line), fh)) {
        attempt_line(c, f, line, out);
    }
    fclose(fh);
    return EX_OK;
}

/* The stream named by the conf's "attempt_stream <key> <maxlen>". */
static int attempts_from_stream(ctl_t *c, const attempt_filter_t *f,
                                json_t *out)
{
    const char *spec = c->conf ? apr_table_get(c->conf, "attempt_stream")
                               : NULL;
    char key[128];
    apr_array_header_t *lines;
    int maxlen, rc, i;

    if (!spec || sscanf(spec, "%127s %d", key, &maxlen) != 2
        || maxlen < 1) {
        return fail(EX_NOTFOUND, "no attempt stream: FedAuthAttemptStream "
                    "is not set");
    }
    if ((rc = open_all(c)) != EX_OK) {
        return rc;
    }
    if (fa_redis_stream_read(fa_store_redis_client(c->store), key, maxlen,
                             c->p, &lines) != APR_SUCCESS) {
        return fail(EX_UNAVAILABLE, "cannot read the attempt stream");
    }
    for (i = 0; i < lines->nelts; i++) {
        attempt_line(c, f, APR_ARRAY_IDX(lines, i, const char *), out);
    }
    return EX_OK;
}

static int attempts_cmd(ctl_t *c, int argc, char **argv)
{
    attempt_filter_t f;
    const char *file = NULL;
    int stream = 0, i, rc;
    json_t *out;

    memset(&f, 0, sizeof(f));
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--user") && i + 1 < argc) {
            f.user = argv[++i];
        }
        else if (!strcmp(argv[i], "--idp") && i + 1 < argc) {
            if (!check_idp(f.idp = argv[++i])) {
                return fail(EX_USAGE, "--idp: '%s' is not a provider id "
                            "(a-z 0-9 _ -, 1 to 32)", f.idp);
            }
        }
        else if (!strcmp(argv[i], "--failed")) {
            f.failed = 1;
        }
        else if (!strcmp(argv[i], "--stream")) {
            stream = 1;
        }
        else if (!strcmp(argv[i], "--since") && i + 1 < argc) {
            if (!(f.since = since_time(c->p, argv[++i]))) {
                return fail(EX_USAGE, "--since: '%s' is neither a time "
                            "(2026-12-03T21:00:00Z) nor an age (10m)",
                            argv[i]);
            }
        }
        else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
            file = argv[++i];
        }
        else {
            return fail(EX_USAGE, "unknown option %s (fedauthctl --help)",
                        argv[i]);
        }
    }
    if (!file && !stream && c->conf) {
        file = apr_table_get(c->conf, "attempt_log");
        stream = !file && apr_table_get(c->conf, "attempt_stream");
    }
    if (!file && !stream) {
        return fail(EX_NOTFOUND, "no attempt log: neither FedAuthAttemptLog "
                    "(a file) nor FedAuthAttemptStream is set (or give "
                    "--file)");
    }
    out = json_array();
    rc = file ? attempts_from_file(c, &f, file, out)
              : attempts_from_stream(c, &f, out);
    if (rc == EX_OK && c->json) {
        print_json(out);
    }
    else {
        json_decref(out);
    }
    return rc;
}

/* ---- main ---------------------------------------------------------------- */

static int run(ctl_t *c, int argc, char **argv)
{
    const char *conf = DEFAULT_CONF;
    int i = 1, rc;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return EX_OK;
        }
        else if (!strcmp(argv[i], "--version")) {
            printf("fedauthctl (mod_fedauth) %s\n", fa_version_line(c->p));
            return EX_OK;
        }
        else if (!strcmp(argv[i], "--json")) {
            c->json = 1;
        }
        else if (!strcmp(argv[i], "--conf") && i + 1 < argc) {
            conf = argv[++i];
        }
        else {
            fputs(usage_text, stderr);
            return fail(EX_USAGE, "unknown option %s", argv[i]);
        }
    }
    if (i >= argc) {
        fputs(usage_text, stderr);
        return EX_USAGE;
    }
    if (strcmp(argv[i], "users") && strcmp(argv[i], "sessions")
        && strcmp(argv[i], "idp") && strcmp(argv[i], "attempts")
        && strcmp(argv[i], "passwords")) {
        return fail(EX_USAGE, "unknown command %s (fedauthctl --help)",
                    argv[i]);
    }
    if (!strcmp(argv[i], "attempts")) {
        if (read_conf(c, conf) != EX_OK) {
            c->conf = NULL;       /* --file may still name the log */
        }
        return attempts_cmd(c, argc - i - 1, argv + i + 1);
    }
    if ((rc = read_conf(c, conf)) != EX_OK || (rc = open_all(c)) != EX_OK) {
        return rc;
    }
    if (!strcmp(argv[i], "users")) {
        return users_cmd(c, argc - i - 1, argv + i + 1);
    }
    if (!strcmp(argv[i], "sessions")) {
        return sessions_cmd(c, argc - i - 1, argv + i + 1);
    }
    if (!strcmp(argv[i], "passwords")) {
        return passwords_cmd(c, argc - i - 1, argv + i + 1);
    }
    return idp_cmd(c, argc - i - 1, argv + i + 1);
}

int main(int argc, char **argv)
{
    ctl_t c;
    int rc;

    apr_initialize();
    memset(&c, 0, sizeof(c));
    apr_pool_create(&c.p, NULL);
    fa_log_set(core_log, NULL, FA_LOG_WARN);
    rc = run(&c, argc, argv);
    apr_pool_destroy(c.p);
    apr_terminate();
    return rc;
}
