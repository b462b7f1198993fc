/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_config_provider.c - <FedAuthProvider id> ... and its
 * sub-directives. They are not httpd directives (their names would be
 * httpd's, in every context), so the section reads its own lines through
 * one table below, as httpd's command_rec tables do: name, handler,
 * argument shape (how many words), the allowed range of a number, the
 * arguments in words, and the help text (docs/directives.md's first
 * sentence of the entry; build/check-conf.sh compares them). One
 * case-insensitive look-up dispatches; every error names the provider,
 * the sub-directive and file:line; an unknown name gets the closest known
 * one ("did you mean"), else the list. The checks that span the block
 * (Issuer, ClientID, the client's authentication) run at its end, and
 * then the defaults are applied (fedauth_provider_defaults). */
#include <stddef.h>
#include <string.h>
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"
#include "apr_lib.h"

#include "mod_fedauth_config_provider.h"
#include "mod_fedauth_config.h"
#include "mod_fedauth_config_parse.h"
#include "fa_graph.h"
#include "fa_clientkey.h"

typedef struct sub_directive_t sub_directive_t;

/* A sub-directive's handler: its words (argc within the table's shape),
 * the line's "file:line"; NULL or what is wrong with them. */
typedef const char *sub_fn_t(apr_pool_t *p, fedauth_provider_t *prov,
                             const sub_directive_t *d, int argc,
                             char *const *argv, const char *line);

struct sub_directive_t {
    const char *name;
    sub_fn_t *fn;
    int min_args, max_args;        /* the shape: SUB_TAKE1, ... */
    apr_size_t field;              /* offsetof the value in the provider */
    int lo, hi;                    /* a number's range, a text's length */
    const char *args;              /* "expects <args>" */
    const char *help;              /* the first sentence of its docs */
};

/* Argument shapes, as httpd names them (min and max words). */
#define SUB_MANY 64                /* ITERATE: at most this many words */
#define SUB_TAKE1 1, 1
#define SUB_TAKE2 2, 2
#define SUB_TAKE12 1, 2
#define SUB_TAKE45 4, 5
#define SUB_ITERATE 1, SUB_MANY

#define FIELD(f) offsetof(fedauth_provider_t, f)
#define STR_AT(prov, d) ((const char **)((char *)(prov) + (d)->field))
#define INT_AT(prov, d) ((int *)((char *)(prov) + (d)->field))

/* ---- the handlers ----------------------------------------------------- */

/* A URL the module calls: Issuer, MetadataURL, IntrospectionURL. */
static const char *sub_url(apr_pool_t *p, fedauth_provider_t *prov,
                           const sub_directive_t *d, int argc,
                           char *const *argv, const char *line)
{
    *STR_AT(prov, d) = argv[0];
    return fedauth_parse_url(p, argv[0]);
}

/* A text of 1 to d->hi printable bytes: ClientID, Scopes, DisplayName,
 * AcrValues. */
static const char *sub_text(apr_pool_t *p, fedauth_provider_t *prov,
                            const sub_directive_t *d, int argc,
                            char *const *argv, const char *line)
{
    *STR_AT(prov, d) = argv[0];
    return fedauth_printable(argv[0], (apr_size_t)d->hi) ? NULL
           : apr_pstrcat(p, "expects ", d->args, NULL);
}

/* IdentifyingClaim, GroupsClaim. */
static const char *sub_claim(apr_pool_t *p, fedauth_provider_t *prov,
                             const sub_directive_t *d, int argc,
                             char *const *argv, const char *line)
{
    *STR_AT(prov, d) = argv[0];
    return fedauth_valid_claim(argv[0]) ? NULL : "expects a claim name";
}

static const char *sub_role(apr_pool_t *p, fedauth_provider_t *prov,
                            const sub_directive_t *d, int argc,
                            char *const *argv, const char *line)
{
    *STR_AT(prov, d) = argv[0];
    return fedauth_valid_role(argv[0]) ? NULL : "expects a role name";
}

/* UserInfo, Enabled. */
static const char *sub_flag(apr_pool_t *p, fedauth_provider_t *prov,
                            const sub_directive_t *d, int argc,
                            char *const *argv, const char *line)
{
    return fedauth_parse_flag(argv[0], INT_AT(prov, d));
}

/* SortOrder: a number within the table's range. */
static const char *sub_int(apr_pool_t *p, fedauth_provider_t *prov,
                           const sub_directive_t *d, int argc,
                           char *const *argv, const char *line)
{
    return fedauth_parse_int(p, argv[0], d->lo, d->hi, INT_AT(prov, d));
}

static const char *sub_secret(apr_pool_t *p, fedauth_provider_t *prov,
                              const sub_directive_t *d, int argc,
                              char *const *argv, const char *line)
{
    const char *w = argv[0], *err;

    if (!strncmp(w, "file:", 5)
        && (err = fedauth_read_secret(p, w + 5, &w)) != NULL) {
        return err;
    }
    prov->idp.client.client_secret = w;
    return fedauth_printable(w, 1024) ? NULL : "expects the client secret";
}

static const char *sub_token_auth(apr_pool_t *p, fedauth_provider_t *prov,
                                  const sub_directive_t *d, int argc,
                                  char *const *argv, const char *line)
{
    return fedauth_parse_token_auth(argv[0], &prov->idp.client.token_auth);
}

static const char *sub_prompt(apr_pool_t *p, fedauth_provider_t *prov,
                              const sub_directive_t *d, int argc,
                              char *const *argv, const char *line)
{
    prov->prompt = argv[0];
    return fedauth_parse_prompt(p, argv[0]);
}

static const char *sub_icon(apr_pool_t *p, fedauth_provider_t *prov,
                            const sub_directive_t *d, int argc,
                            char *const *argv, const char *line)
{
    prov->icon = argv[0];
    return fedauth_parse_icon(argv[0]);
}

static const char *sub_color(apr_pool_t *p, fedauth_provider_t *prov,
                             const sub_directive_t *d, int argc,
                             char *const *argv, const char *line)
{
    prov->accent = argv[0];
    return fedauth_parse_color(argv[0]);
}

static const char *sub_response_mode(apr_pool_t *p, fedauth_provider_t *prov,
                                     const sub_directive_t *d, int argc,
                                     char *const *argv, const char *line)
{
    if (!strcmp(argv[0], "query")) {
        prov->response_mode = FEDAUTH_RESPONSE_QUERY;
    }
    else if (!strcmp(argv[0], "form_post")) {
        prov->response_mode = FEDAUTH_RESPONSE_FORM_POST;
    }
    else {
        return "expects query or form_post";
    }
    return NULL;
}

static const char *sub_valid_issuer(apr_pool_t *p, fedauth_provider_t *prov,
                                    const sub_directive_t *d, int argc,
                                    char *const *argv, const char *line)
{
    fa_idp_conf_t *c = &prov->idp;

    if (!c->valid_issuers) {
        c->valid_issuers = apr_array_make(p, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->valid_issuers, const char *) = argv[0];
    /* Only compared, never fetched: a URL is usual, but some IdPs
     * (Google) also issue bare host names. */
    return fedauth_printable(argv[0], 512) && !strpbrk(argv[0], " \t") ? NULL
           : "expects an issuer (a URL or a name, no spaces)";
}

static const char *sub_par(apr_pool_t *p, fedauth_provider_t *prov,
                           const sub_directive_t *d, int argc,
                           char *const *argv, const char *line)
{
    if (!strcasecmp(argv[0], "Auto")) {
        prov->par = FEDAUTH_PAR_AUTO;
        return NULL;
    }
    return fedauth_parse_flag(argv[0], &prov->par) ? "expects On, Off or Auto"
                                                   : NULL;
}

static const char *sub_username_claim(apr_pool_t *p,
                                      fedauth_provider_t *prov,
                                      const sub_directive_t *d, int argc,
                                      char *const *argv, const char *line)
{
    int i;

    prov->claims.username_claims = apr_array_make(p, argc, sizeof(char *));
    for (i = 0; i < argc; i++) {
        if (!fedauth_valid_claim(argv[i])) {
            return "expects claim names";
        }
        APR_ARRAY_PUSH(prov->claims.username_claims, char *) = argv[i];
    }
    return NULL;
}

/* ClaimMap <claim> <ATTRIBUTE> */
static const char *sub_claim_map(apr_pool_t *p, fedauth_provider_t *prov,
                                 const sub_directive_t *d, int argc,
                                 char *const *argv, const char *line)
{
    fa_claim_map_t *cm;

    ap_str_toupper(argv[1]);
    if (!fedauth_valid_claim(argv[0]) || !fedauth_valid_attr(argv[1])) {
        return "expects a claim name and an attribute name of "
               "A-Z 0-9 _ (at most 64), not one of the module's own "
               "(USER, SUB, IDP, ROLES, ERROR, ERROR_DESCRIPTION, "
               "ACCESS_TOKEN, ACCESS_TOKEN_EXPIRES)";
    }
    if (!prov->claims.claim_maps) {
        prov->claims.claim_maps = apr_array_make(p, 4,
                                                 sizeof(fa_claim_map_t));
    }
    cm = apr_array_push(prov->claims.claim_maps);
    cm->claim = argv[0];
    cm->attr = argv[1];
    return NULL;
}

/* GroupMap "<group>" <role> */
static const char *sub_group_map(apr_pool_t *p, fedauth_provider_t *prov,
                                 const sub_directive_t *d, int argc,
                                 char *const *argv, const char *line)
{
    fa_group_map_t *gm;

    if (!fedauth_printable(argv[0], 256) || !fedauth_valid_role(argv[1])) {
        return "expects a group value and a role name (no commas or spaces)";
    }
    if (!prov->claims.group_maps) {
        prov->claims.group_maps = apr_array_make(p, 8,
                                                 sizeof(fa_group_map_t));
    }
    gm = apr_array_push(prov->claims.group_maps);
    gm->group = argv[0];
    gm->role = argv[1];
    return NULL;
}

/* A ValueMap rule's attribute and result, then the rule kept. */
static const char *value_map_add(apr_pool_t *p, fedauth_provider_t *prov,
                                 fa_value_map_t *vm)
{
    ap_str_toupper((char *)vm->attr);
    if (!fedauth_valid_attr(vm->attr) || !fedauth_printable(vm->result,
                                                            1024)) {
        return "expects an attribute name (A-Z 0-9 _, not one of the "
               "module's own) and a result of at most 1024 printable bytes";
    }
    if (!prov->claims.value_maps) {
        prov->claims.value_maps = apr_array_make(p, 4,
                                                 sizeof(fa_value_map_t));
    }
    *(fa_value_map_t *)apr_array_push(prov->claims.value_maps) = *vm;
    return NULL;
}

/* ValueMap <claim> <ATTRIBUTE> <value> <result> [priority] */
static const char *sub_value_map(apr_pool_t *p, fedauth_provider_t *prov,
                                 const sub_directive_t *d, int argc,
                                 char *const *argv, const char *line)
{
    fa_value_map_t vm;
    const char *err;

    memset(&vm, 0, sizeof(vm));
    vm.priority = FA_VALUE_MAP_PRIORITY;
    vm.claim = argv[0];
    vm.attr = argv[1];
    vm.value = argv[2];
    vm.result = argv[3];
    if (argc == 5
        && (err = fedauth_parse_int(p, argv[4], d->lo, d->hi,
                                    &vm.priority)) != NULL) {
        return err;
    }
    if (!fedauth_valid_claim(vm.claim) || !fedauth_printable(vm.value, 256)) {
        return "expects a claim name and a value of at most 256 "
               "printable bytes";
    }
    return value_map_add(p, prov, &vm);
}

/* ValueMapDefault <ATTRIBUTE> <result> */
static const char *sub_value_map_default(apr_pool_t *p,
                                         fedauth_provider_t *prov,
                                         const sub_directive_t *d, int argc,
                                         char *const *argv, const char *line)
{
    fa_value_map_t vm;

    memset(&vm, 0, sizeof(vm));
    vm.priority = FA_VALUE_MAP_PRIORITY;
    vm.attr = argv[0];
    vm.result = argv[1];
    return value_map_add(p, prov, &vm);
}

/* ValueMapSetOnce <ATTRIBUTE>... */
static const char *sub_set_once(apr_pool_t *p, fedauth_provider_t *prov,
                                const sub_directive_t *d, int argc,
                                char *const *argv, const char *line)
{
    int i;

    if (!prov->claims.set_once) {
        prov->claims.set_once = apr_array_make(p, 2, sizeof(char *));
    }
    for (i = 0; i < argc; i++) {
        ap_str_toupper(argv[i]);
        if (!fedauth_valid_attr(argv[i])) {
            return "expects attribute names (A-Z 0-9 _)";
        }
        APR_ARRAY_PUSH(prov->claims.set_once, char *) = argv[i];
    }
    return NULL;
}

/* GroupsSource token|graph [url]: where the groups come from when the
 * token shows Entra ID's group overage (fa_graph.h). */
static const char *sub_groups_source(apr_pool_t *p, fedauth_provider_t *prov,
                                     const sub_directive_t *d, int argc,
                                     char *const *argv, const char *line)
{
    const char *url = argc > 1 ? argv[1] : NULL;

    if (!strcmp(argv[0], "token") && !url) {
        prov->graph_url = NULL;
        return NULL;
    }
    if (strcmp(argv[0], "graph")) {
        return "expects token or graph [url]";
    }
    if (!url) {
        url = FA_GRAPH_DEFAULT_URL;
    }
    else if (fedauth_parse_url(p, url) || strchr(url, '?')) {
        return "expects an https URL of Graph without a query (http only "
               "to 127.0.0.1, ::1 or localhost), without a user name or "
               "password, such as " FA_GRAPH_DEFAULT_URL;
    }
    prov->graph_url = url;
    return NULL;
}

/* ClientKeyFile <pem> [alg]: read now, refused here when unreadable,
 * readable by others, or unfit. */
static const char *sub_key_file(apr_pool_t *p, fedauth_provider_t *prov,
                                const sub_directive_t *d, int argc,
                                char *const *argv, const char *line)
{
    const char *path;
    fa_client_key_t *key;
    fa_err_t err;

    if (prov->client_keys && prov->client_keys->nelts >= 2) {
        return "may be given twice at most (the key that signs, then the "
               "next one, published for a rollover)";
    }
    if (!*argv[0] || !(path = ap_server_root_relative(p, argv[0]))) {
        return "expects a file name";
    }
    memset(&err, 0, sizeof(err));
    if (fa_client_key_load(p, path, argc > 1 ? argv[1] : NULL, &key, &err)
        != APR_SUCCESS) {
        return apr_pstrdup(p, err.desc);
    }
    if (!prov->client_keys) {
        prov->client_keys = apr_array_make(p, 2, sizeof(fa_client_key_t *));
    }
    APR_ARRAY_PUSH(prov->client_keys, fa_client_key_t *) = key;
    return NULL;
}

/* ClientCertFile <pem>: read at the end of the block, against the first
 * key. */
static const char *sub_cert_file(apr_pool_t *p, fedauth_provider_t *prov,
                                 const sub_directive_t *d, int argc,
                                 char *const *argv, const char *line)
{
    if (!*argv[0]) {
        return "expects a file name";
    }
    prov->client_cert = ap_server_root_relative(p, argv[0]);
    prov->client_cert_at = line;
    return prov->client_cert ? NULL : "expects a file name";
}

static const char *sub_assertion_aud(apr_pool_t *p, fedauth_provider_t *prov,
                                     const sub_directive_t *d, int argc,
                                     char *const *argv, const char *line)
{
    if (!strcmp(argv[0], "issuer")) {
        prov->idp.client.assertion_aud_issuer = 1;
    }
    else if (!strcmp(argv[0], "token_endpoint")) {
        prov->idp.client.assertion_aud_issuer = 0;
    }
    else {
        return "expects token_endpoint or issuer";
    }
    return NULL;
}

/* UserInfoRefresh <seconds> [keep|end]: how often an active session reads
 * userinfo again, and what a failing IdP does to it then. */
static const char *sub_userinfo_refresh(apr_pool_t *p,
                                        fedauth_provider_t *prov,
                                        const sub_directive_t *d, int argc,
                                        char *const *argv, const char *line)
{
    if (fedauth_parse_int(p, argv[0], d->lo, d->hi, &prov->userinfo_refresh)
        != NULL) {
        return apr_pstrcat(p, "expects ", d->args, NULL);
    }
    if (argc == 1 || !strcmp(argv[1], "keep")) {
        prov->userinfo_failure = FEDAUTH_USERINFO_KEEP;
    }
    else if (!strcmp(argv[1], "end")) {
        prov->userinfo_failure = FEDAUTH_USERINFO_END;
    }
    else {
        return "expects keep or end after the seconds";
    }
    return NULL;
}

/* ---- the table -------------------------------------------------------- */

static const sub_directive_t sub_directives[] = {
    /* the provider's protocol: where it is, who we are to it, and what
     * we ask of it */
    { "Issuer", sub_url, SUB_TAKE1, FIELD(idp.issuer), 0, 0,
      "one URL",
      "The IdP's issuer URL; must equal the discovery document's issuer "
      "exactly (a trailing slash counts)." },
    { "MetadataURL", sub_url, SUB_TAKE1, FIELD(idp.metadata_url), 0, 0,
      "one URL",
      "Where the discovery document is." },
    { "ClientID", sub_text, SUB_TAKE1, FIELD(idp.client.client_id), 0, 255,
      "the client id",
      "The client id registered at the IdP." },
    { "ClientSecret", sub_secret, SUB_TAKE1, 0, 0, 0,
      "the client secret or file:/path",
      "The client secret, or file:/path to read it from a file." },
    { "TokenEndpointAuth", sub_token_auth, SUB_TAKE1, 0, 0, 0,
      "client_secret_basic, client_secret_post, client_secret_jwt, "
      "private_key_jwt or none",
      "How the module proves who it is at every call that authenticates "
      "the client (token, refresh, introspection, revocation, pushed "
      "authorization request)." },
    { "ClientKeyFile", sub_key_file, SUB_TAKE12, 0, 0, 0,
      "a PEM private key file and an optional alg",
      "A PEM private key (PKCS#8, or the traditional RSA or EC form, "
      "without a passphrase) for private_key_jwt: RSA of 2048 bits or "
      "more, or EC on P-256 or P-384." },
    { "ClientAssertionAudience", sub_assertion_aud, SUB_TAKE1, 0, 0, 0,
      "token_endpoint or issuer",
      "Which aud the private_key_jwt and client_secret_jwt assertions "
      "carry." },
    { "ClientCertFile", sub_cert_file, SUB_TAKE1, 0, 0, 0,
      "one argument: a PEM certificate file",
      "The PEM certificate of the first ClientKeyFile's key." },
    { "Scopes", sub_text, SUB_TAKE1, FIELD(idp.client.scopes), 0, 1024,
      "space-separated scopes",
      "Space-separated scopes; openid is always sent, first." },
    { "UserInfo", sub_flag, SUB_TAKE1, FIELD(userinfo), 0, 0,
      "On or Off",
      "Whether the sign-in reads the userinfo endpoint." },
    { "UserInfoRefresh", sub_userinfo_refresh, SUB_TAKE12, 0, 30, 86400,
      "seconds from 30 to 86400, then optionally keep or end",
      "How often an active session reads the userinfo endpoint again, and "
      "what an IdP that fails then does to it." },
    { "Prompt", sub_prompt, SUB_TAKE1, 0, 0, 0,
      "one or more of login, consent, select_account, none (quoted)",
      "prompt sent to the IdP: one or more of login, consent, "
      "select_account, none (quoted when several)." },
    { "AcrValues", sub_text, SUB_TAKE1, FIELD(acr_values), 0, 512,
      "space-separated values",
      "acr_values sent to the IdP, space-separated, most preferred "
      "first." },
    { "ResponseMode", sub_response_mode, SUB_TAKE1, 0, 0, 0,
      "query or form_post",
      "How the IdP sends its answer back." },
    { "ValidIssuer", sub_valid_issuer, SUB_TAKE1, 0, 0, 0,
      "an issuer (a URL or a name, no spaces)",
      "Another accepted iss (repeatable): a URL, or a bare name such as "
      "Google's accounts.google.com; it is only compared, never "
      "fetched." },
    { "IntrospectionURL", sub_url, SUB_TAKE1, FIELD(introspection_url),
      0, 0, "one URL",
      "Where opaque bearer tokens (not JWTs) are introspected (RFC 7662) "
      "at a location with FedAuthBearer On, for IdPs whose discovery does "
      "not name the endpoint." },
    { "PushedAuthorization", sub_par, SUB_TAKE1, 0, 0, 0,
      "On, Off or Auto",
      "Pushed authorization requests (RFC 9126)." },
    /* claims and roles */
    { "IdentifyingClaim", sub_claim, SUB_TAKE1,
      FIELD(claims.identifying_claim), 0, 0, "a claim name",
      "Claim that identifies the user at this IdP (FEDAUTH_SUB)." },
    { "UsernameClaim", sub_username_claim, SUB_ITERATE, 0, 0, 0,
      "one or more claim names",
      "Claims tried in order for the user name; the first with a value "
      "wins." },
    { "ClaimMap", sub_claim_map, SUB_TAKE2, 0, 0, 0,
      "a claim name and an attribute name",
      "Passes a claim on to the application as an attribute." },
    { "GroupsClaim", sub_claim, SUB_TAKE1, FIELD(claims.groups_claim), 0, 0,
      "a claim name",
      "The claim holding the user's groups: an array, or a string of "
      "groups separated by spaces or commas." },
    { "GroupMap", sub_group_map, SUB_TAKE2, 0, 0, 0,
      "a group value and a role name",
      "Gives the users of a group a role." },
    { "GroupsSource", sub_groups_source, SUB_TAKE12, 0, 0, 0,
      "token, or graph and an optional Graph URL",
      "Where the user's groups come from when the token shows Entra ID's "
      "group overage: no groups claim, but _claim_names naming it (with "
      "_claim_sources) or hasgroups: true." },
    { "FallbackRole", sub_role, SUB_TAKE1, FIELD(claims.fallback_role), 0, 0,
      "a role name",
      "Role of this provider's users when no other role applies and there "
      "is no FedAuthDefaultRole." },
    { "ValueMap", sub_value_map, SUB_TAKE45, 0, 0, 1000000,
      "a claim, an attribute name, a value, a result and an optional "
      "priority",
      "Sets an attribute to a result chosen by a claim's value." },
    { "ValueMapDefault", sub_value_map_default, SUB_TAKE2, 0, 0, 0,
      "an attribute name and a result",
      "An attribute's value when none of its ValueMap rules matched." },
    { "ValueMapSetOnce", sub_set_once, SUB_ITERATE, 0, 0, 0,
      "one or more attribute names",
      "Attributes an account keeps from its first sign-in." },
    /* the provider's button on the chooser */
    { "DisplayName", sub_text, SUB_TAKE1, FIELD(idp.display_name), 0, 200,
      "a short text",
      "The name shown to users on the chooser." },
    { "Enabled", sub_flag, SUB_TAKE1, FIELD(enabled), 0, 0,
      "On or Off",
      "Whether the provider is offered." },
    { "SortOrder", sub_int, SUB_TAKE1, FIELD(sort_order), 0, 1000,
      "a whole number from 0 to 1000",
      "Position on the chooser, lowest first (0 to 1000); equal values "
      "keep the order of definition." },
    { "Icon", sub_icon, SUB_TAKE1, 0, 0, 0,
      "a path such as /icons/corp.svg or an https URL",
      "Image for the chooser button: a local path (/icons/corp.svg) or an "
      "https URL." },
    { "AccentColor", sub_color, SUB_TAKE1, 0, 0, 0,
      "a colour as #rgb or #rrggbb",
      "Button colour on the chooser, #rgb or #rrggbb; the text becomes "
      "black or white, whichever contrasts more." },
    { NULL }
};

/* ---- dispatch ---------------------------------------------------------- */

/* Edit distance of two names, ignoring case; names longer than 40 bytes
 * count as far. */
static int distance(const char *a, const char *b)
{
    int row[41], n = (int)strlen(b), m = (int)strlen(a), i, j, diag, up;

    if (n > 40 || m > 40) {
        return 99;
    }
    for (j = 0; j <= n; j++) {
        row[j] = j;
    }
    for (i = 1; i <= m; i++) {
        diag = row[0];
        row[0] = i;
        for (j = 1; j <= n; j++) {
            up = row[j];
            row[j] = apr_tolower(a[i - 1]) == apr_tolower(b[j - 1]) ? diag
                     : 1 + (diag < up ? (diag < row[j - 1] ? diag
                                                           : row[j - 1])
                                      : (up < row[j - 1] ? up : row[j - 1]));
            diag = up;
        }
    }
    return row[n];
}

/* What an unknown name hears: the closest known name when it is close
 * (a typo, or httpd's "FedAuth" prefix written before it), else all. */
static const char *unknown_directive(apr_pool_t *p, const char *name)
{
    const sub_directive_t *d, *best = NULL;
    const char *bare = strncasecmp(name, "FedAuth", 7) ? name : name + 7;
    int dist, best_dist = 99;
    char *all = "";

    for (d = sub_directives; d->name; d++) {
        dist = distance(bare, d->name);
        if (dist < best_dist) {
            best_dist = dist;
            best = d;
        }
        all = apr_pstrcat(p, all, *all ? ", " : "", d->name, NULL);
    }
    if (best && best_dist <= 1 + (int)strlen(best->name) / 4) {
        return apr_psprintf(p, "is not a directive of <FedAuthProvider> "
                            "(did you mean %s?)", best->name);
    }
    return apr_psprintf(p, "is not a directive of <FedAuthProvider>; it "
                        "takes %s", all);
}

/* One line of the block: looked up, its words counted against the
 * table's shape, and handed to its handler. */
static const char *provider_line(apr_pool_t *p, fedauth_provider_t *prov,
                                 const char *name, const char *args,
                                 const char *line)
{
    const sub_directive_t *d;
    char *argv[SUB_MANY + 1];
    int argc = 0;

    for (d = sub_directives; d->name && strcasecmp(d->name, name); d++) {
    }
    if (!d->name) {
        return unknown_directive(p, name);
    }
    while (*args && argc <= SUB_MANY) {
        argv[argc++] = ap_getword_conf(p, &args);
    }
    if (argc < d->min_args || argc > d->max_args) {
        return apr_psprintf(p, "expects %s%s; %s%d given (%s)", d->args,
                            d->max_args == 1 && argc > 1 ? " in one "
                            "argument (quote it when it has spaces)" : "",
                            argc > SUB_MANY ? "more than " : "",
                            argc > SUB_MANY ? SUB_MANY : argc, d->help);
    }
    return d->fn(p, prov, d, argc, argv, line);
}

/* What TokenEndpointAuth, ClientSecret, ClientKeyFile and ClientCertFile
 * need of each other, once the whole block is read. */
static const char *provider_client_auth(apr_pool_t *p,
                                        fedauth_provider_t *prov)
{
    fa_oidc_client_t *cl = &prov->idp.client;
    fa_client_key_t *first = prov->client_keys
        ? APR_ARRAY_IDX(prov->client_keys, 0, fa_client_key_t *) : NULL;
    fa_err_t err;

    if (cl->token_auth == FA_TOKEN_AUTH_UNSET) {
        cl->token_auth = first ? FA_TOKEN_AUTH_PRIVATE_KEY_JWT
                         : cl->client_secret ? FA_TOKEN_AUTH_BASIC
                         : FA_TOKEN_AUTH_NONE;
    }
    cl->client_key = first;
    if (cl->token_auth == FA_TOKEN_AUTH_PRIVATE_KEY_JWT && !first) {
        return "TokenEndpointAuth private_key_jwt needs a ClientKeyFile";
    }
    if (cl->token_auth != FA_TOKEN_AUTH_NONE
        && cl->token_auth != FA_TOKEN_AUTH_PRIVATE_KEY_JWT
        && !cl->client_secret) {
        return "TokenEndpointAuth needs a ClientSecret";
    }
    if (cl->token_auth == FA_TOKEN_AUTH_SECRET_JWT
        && strlen(cl->client_secret) < FA_CLIENT_SECRET_JWT_MIN) {
        return apr_psprintf(p, "TokenEndpointAuth client_secret_jwt needs a "
                            "ClientSecret of at least %d bytes (HS256)",
                            FA_CLIENT_SECRET_JWT_MIN);
    }
    if (!prov->client_cert) {
        return NULL;
    }
    if (!first) {
        return apr_psprintf(p, "ClientCertFile needs a ClientKeyFile (at %s)",
                            prov->client_cert_at);
    }
    memset(&err, 0, sizeof(err));
    if (fa_client_key_set_cert(p, first, prov->client_cert, &err)
        != APR_SUCCESS) {
        return apr_psprintf(p, "ClientCertFile %s (at %s)", err.desc,
                            prov->client_cert_at);
    }
    return NULL;
}

/* What the whole block must hold, once it is read; NULL when fine. */
static const char *provider_check(apr_pool_t *p, fedauth_provider_t *prov)
{
    const char *err;

    if (!prov->idp.issuer) {
        return "Issuer is required";
    }
    if (strstr(prov->idp.issuer, FA_IDP_TENANT)
        && !prov->idp.metadata_url) {
        return "an Issuer with " FA_IDP_TENANT " needs a MetadataURL";
    }
    if (!prov->idp.client.client_id) {
        return "ClientID is required";
    }
    if ((err = provider_client_auth(p, prov)) != NULL) {
        return err;
    }
    if (prov->userinfo_refresh && prov->userinfo == 0) {
        return "UserInfoRefresh needs UserInfo On (or unset): the claims "
               "read again must be the ones the sign-in read";
    }
    if (prov->graph_url && !prov->claims.group_maps) {
        return "GroupsSource graph needs GroupMap: only the roles the "
               "groups give are kept";
    }
    return NULL;
}

const char *fedauth_provider_section(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *endp = ap_strrchr_c(arg, '>');
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    fedauth_srv_t *sc = ap_get_module_config(cmd->server->module_config,
                                             &fedauth_module);
    fedauth_provider_t *prov;
    ap_directive_t *d;
    const char *id, *line;
    int i;

    if (err) {
        return err;
    }
    if (!endp) {
        return "<FedAuthProvider> directive missing closing '>'";
    }
    arg = apr_pstrndup(cmd->temp_pool, arg, (apr_size_t)(endp - arg));
    id = ap_getword_conf(cmd->pool, &arg);
    if (!fedauth_valid_id(id) || *arg) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: the id must "
                            "be 1 to 32 of a-z 0-9 _ -", id);
    }
    for (i = 0; i < sc->providers->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(sc->providers, i,
                                  fedauth_provider_t *)->idp.id, id)) {
            return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: defined "
                                "twice in this server", id);
        }
    }
    prov = apr_pcalloc(cmd->pool, sizeof(*prov));
    prov->enabled = prov->sort_order = prov->userinfo = FEDAUTH_UNSET;
    prov->par = FEDAUTH_UNSET;
    prov->response_mode = FEDAUTH_RESPONSE_UNSET;
    prov->index = sc->providers->nelts;
    prov->idp.id = id;
    prov->claims.idp_id = id;
    prov->defined_in = apr_psprintf(cmd->pool, "%s:%d",
                                    cmd->directive->filename,
                                    cmd->directive->line_num);
    for (d = cmd->directive->first_child; d; d = d->next) {
        line = apr_psprintf(cmd->pool, "%s:%d", d->filename, d->line_num);
        if ((err = provider_line(cmd->pool, prov, d->directive,
                                 d->args, line)) != NULL) {
            return apr_psprintf(cmd->pool, "<FedAuthProvider %s> %s %s "
                                "(at %s)", id, d->directive, err, line);
        }
    }
    if ((err = provider_check(cmd->pool, prov)) != NULL) {
        return apr_psprintf(cmd->pool, "<FedAuthProvider %s>: %s (block "
                            "at %s)", id, err, prov->defined_in);
    }
    fedauth_provider_defaults(prov);
    APR_ARRAY_PUSH(sc->providers, fedauth_provider_t *) = prov;
    return NULL;
}
