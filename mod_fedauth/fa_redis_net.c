/* SPDX-License-Identifier: Apache-2.0 */
/* fa_redis_net.c - a connection to Redis, plain or TLS; see fa_redis_net.h.
 *
 * One code path for both: a non-blocking socket, poll() against a
 * deadline, and two small functions (io_read, io_write) that call either
 * recv/send or SSL_read/SSL_write and say what to wait for when they
 * cannot go on. hiredis formats the commands and parses the replies; it
 * never sees the socket. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "fa_redis_net.h"
#include "fa_resolve.h"

#define CHUNK 16384

struct fa_redis_link_t {
    int fd;
    SSL *ssl;                 /* NULL: plain TCP */
    redisReader *reader;
    int timeout_ms;
    apr_size_t fed;           /* bytes of the reply in progress */
    int cert_asked;           /* the server asked for a client certificate
                               * and there is none */
    int failed;               /* a command failed on it: an answer may
                               * still come, and would be read as the
                               * next command's, so no command is sent
                               * again */
    char where[300];          /* "host:port" for messages */
};

/* ---- TLS context ------------------------------------------------------ */

/* What OpenSSL's error queue says last, or fallback; empties the queue. */
static const char *ssl_reason(char *buf, apr_size_t len, const char *fallback)
{
    unsigned long e, last = 0;

    while ((e = ERR_get_error()) != 0) {
        last = e;
    }
    if (!last) {
        apr_cpystrn(buf, fallback, len);
    }
    else {
        const char *r = ERR_reason_error_string(last);
        if (r) {
            apr_cpystrn(buf, r, len);
        }
        else {
            ERR_error_string_n(last, buf, len);
        }
    }
    return buf;
}

/* Called when the server asks for a client certificate and none is
 * configured: noted, so that when the server then hangs up (TLS 1.3
 * clients learn of the refusal only at their first command), the log
 * can say why. */
static int no_client_cert(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    fa_redis_link_t *l = SSL_get_app_data(ssl);

    (void)x509;
    (void)pkey;
    if (l) {
        l->cert_asked = 1;
    }
    return 0;
}

static apr_status_t ctx_cleanup(void *data)
{
    SSL_CTX_free(data);
    return APR_SUCCESS;
}

apr_status_t fa_redis_tls_context(apr_pool_t *p, const char *ca_file,
                                  const char *cert_file,
                                  const char *key_file, SSL_CTX **pctx,
                                  fa_redis_tls_file_t *which, fa_err_t *err)
{
    SSL_CTX *ctx;
    char why[160];

    *pctx = NULL;
    *which = FA_REDIS_TLS_CA;
    ERR_clear_error();
    if (!(ctx = SSL_CTX_new(TLS_client_method()))) {
        return fa_err_set(err, "store_unavailable", "cannot make a TLS "
                          "context: %s", ssl_reason(why, sizeof(why),
                                                    "out of memory"));
    }
    apr_pool_cleanup_register(p, ctx, ctx_cleanup, apr_pool_cleanup_null);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_default_passwd_cb(ctx, fa_no_passphrase);
    SSL_CTX_set_client_cert_cb(ctx, no_client_cert);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            return fa_err_set(err, "config", "cannot load CA certificates "
                              "from %s: %s", ca_file,
                              ssl_reason(why, sizeof(why), "no certificate "
                                         "in it"));
        }
    }
    else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        return fa_err_set(err, "config", "cannot load the system's CA "
                          "certificates: %s",
                          ssl_reason(why, sizeof(why), "unknown error"));
    }
    if (cert_file) {
        *which = FA_REDIS_TLS_CERT;
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
            return fa_err_set(err, "config", "cannot load a certificate "
                              "from %s: %s", cert_file,
                              ssl_reason(why, sizeof(why), "no certificate "
                                         "in it"));
        }
        *which = FA_REDIS_TLS_KEY;
        key_file = key_file ? key_file : cert_file;
        if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM)
            != 1) {
            if (ERR_GET_REASON(ERR_peek_last_error())
                == X509_R_KEY_VALUES_MISMATCH) {
                ERR_clear_error();
                return fa_err_set(err, "config", "the key in %s does not "
                                  "belong to the certificate in %s",
                                  key_file, cert_file);
            }
            return fa_err_set(err, "config", "cannot load a private key "
                              "from %s (PEM, not encrypted): %s", key_file,
                              ssl_reason(why, sizeof(why), "no key in it"));
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            ERR_clear_error();
            return fa_err_set(err, "config", "the key in %s does not belong "
                              "to the certificate in %s", key_file,
                              cert_file);
        }
    }
    else if (key_file) {
        *which = FA_REDIS_TLS_KEY;
        return fa_err_set(err, "config", "a client key (%s) needs a client "
                          "certificate", key_file);
    }
    *pctx = ctx;
    return APR_SUCCESS;
}

/* ---- waiting ---------------------------------------------------------- */

static apr_int64_t now_ms(void)
{
    return (apr_int64_t)(apr_time_now() / 1000);
}

/* Waits for events on fd until deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, apr_int64_t deadline)
{
    struct pollfd pfd;
    apr_int64_t left;
    int n;

    pfd.fd = fd;
    pfd.events = events;
    for (;;) {
        left = deadline - now_ms();
        if (left <= 0) {
            return 0;
        }
        n = poll(&pfd, 1, (int)left);
        if (n > 0) {
            return 1;
        }
        if (n == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

/* ---- I/O: the only place where plain and TLS differ ------------------- */

enum { IO_CLOSED = -2, IO_ERROR = -1 };

/* What went wrong with a TLS call that returned rc, for a message. */
static const char *tls_failure(fa_redis_link_t *l, int rc, char *buf,
                               apr_size_t len)
{
    int e = SSL_get_error(l->ssl, rc);

    if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
        apr_cpystrn(buf, errno ? strerror(errno) : "the server closed the "
                    "connection", len);
        return buf;
    }
    return ssl_reason(buf, len, "TLS error");
}

/* What an SSL_read or SSL_write that moved no byte (rc) means: 0 and
 * what to wait for, IO_CLOSED or IO_ERROR (with why). */
static int ssl_outcome(fa_redis_link_t *l, int rc, short *wait, char *why,
                       apr_size_t why_len)
{
    switch (SSL_get_error(l->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        *wait = POLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *wait = POLLOUT;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return IO_CLOSED;
    default:
        tls_failure(l, rc, why, why_len);
        return IO_ERROR;
    }
}

/* Reads up to n bytes: > 0 bytes read; 0: nothing yet, wait for *wait;
 * IO_CLOSED; IO_ERROR with why filled in. */
static int io_read(fa_redis_link_t *l, char *buf, int n, short *wait,
                   char *why, apr_size_t why_len)
{
    int rc;

    if (!l->ssl) {
        rc = (int)recv(l->fd, buf, (size_t)n, 0);
        if (rc > 0) {
            return rc;
        }
        if (rc == 0) {
            return IO_CLOSED;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            *wait = POLLIN;
            return 0;
        }
        apr_cpystrn(why, strerror(errno), why_len);
        return IO_ERROR;
    }
    ERR_clear_error();
    errno = 0;
    rc = SSL_read(l->ssl, buf, n);
    if (rc > 0) {
        return rc;
    }
    return ssl_outcome(l, rc, wait, why, why_len);
}

/* Writes up to n bytes; returns as io_read. With TLS, a write that has to
 * wait must be repeated with the same arguments, which write_all does. */
static int io_write(fa_redis_link_t *l, const char *buf, int n, short *wait,
                    char *why, apr_size_t why_len)
{
    int rc;

    if (!l->ssl) {
        rc = (int)send(l->fd, buf, (size_t)n, MSG_NOSIGNAL);
        if (rc >= 0) {
            return rc ? rc : IO_CLOSED;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            *wait = POLLOUT;
            return 0;
        }
        apr_cpystrn(why, strerror(errno), why_len);
        return IO_ERROR;
    }
    ERR_clear_error();
    errno = 0;
    rc = SSL_write(l->ssl, buf, n);
    if (rc > 0) {
        return rc;
    }
    return ssl_outcome(l, rc, wait, why, why_len);
}

/* Adds a hint to what TLS alerts from the server mean here. */
static const char *alert_hint(const char *why)
{
    if (strstr(why, "certificate required")
        || strstr(why, "handshake failure")
        || strstr(why, "bad certificate")) {
        return " (does the server want a client certificate? "
               "FedAuthRedisClientCert)";
    }
    if (strstr(why, "unknown ca")) {
        return " (the server does not trust the client certificate)";
    }
    if (strstr(why, "wrong version number")
        || strstr(why, "packet length too long")) {
        return " (is this a TLS port?)";
    }
    return "";
}

static apr_status_t io_failed(fa_redis_link_t *l, int rc, const char *what,
                              const char *why, fa_err_t *err)
{
    if (rc == IO_CLOSED) {
        return fa_err_set(err, "store_unavailable", "redis %s: connection "
                          "closed by the server while %s%s", l->where, what,
                          l->cert_asked ? " (it asked for a client "
                          "certificate and none is configured: "
                          "FedAuthRedisClientCert)" : "");
    }
    return fa_err_set(err, "store_unavailable", "redis %s: %s%s while %s%s",
                      l->where, l->ssl ? "TLS: " : "", why, what,
                      l->cert_asked ? " (the server asked for a client "
                      "certificate and none is configured: "
                      "FedAuthRedisClientCert)"
                      : l->ssl ? alert_hint(why) : "");
}

static apr_status_t timed_out_err(fa_redis_link_t *l, const char *what,
                                  int *timed_out, fa_err_t *err)
{
    if (timed_out) {
        *timed_out = 1;
    }
    return fa_err_set(err, "store_unavailable", "redis %s: no answer within "
                      "%d ms while %s", l->where, l->timeout_ms, what);
}

static apr_status_t write_all(fa_redis_link_t *l, const char *buf,
                              apr_size_t len, apr_int64_t deadline,
                              int *timed_out, fa_err_t *err)
{
    char why[160];
    short wait = 0;
    int rc, chunk, w;

    while (len > 0) {
        chunk = len > (apr_size_t)(1 << 30) ? 1 << 30 : (int)len;
        rc = io_write(l, buf, chunk, &wait, why, sizeof(why));
        if (rc > 0) {
            buf += rc;
            len -= (apr_size_t)rc;
            continue;
        }
        if (rc < 0) {
            return io_failed(l, rc, "sending a command", why, err);
        }
        if ((w = wait_fd(l->fd, wait, deadline)) <= 0) {
            return w == 0 ? timed_out_err(l, "sending a command", timed_out,
                                          err)
                          : io_failed(l, IO_ERROR, "sending a command",
                                      strerror(errno), err);
        }
    }
    return APR_SUCCESS;
}

/* Feeds what was read to the parser, within max bytes of reply. */
static apr_status_t feed(fa_redis_link_t *l, const char *buf, int n,
                         apr_size_t max, fa_err_t *err)
{
    l->fed += (apr_size_t)n;
    if (l->fed > max) {
        return fa_err_set(err, "store_unavailable", "redis %s: a reply of "
                          "more than %" APR_SIZE_T_FMT " bytes: refused",
                          l->where, max);
    }
    if (redisReaderFeed(l->reader, buf, (size_t)n) != REDIS_OK) {
        return fa_err_set(err, "store_unavailable", "redis %s: %s",
                          l->where, l->reader->errstr);
    }
    return APR_SUCCESS;
}

/* ---- opening ---------------------------------------------------------- */

static int connect_one(const struct addrinfo *ai, apr_int64_t deadline,
                       int *timed_out)
{
    int fd, soerr = 0, w, one = 1;
    socklen_t len = sizeof(soerr);

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK
                | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        w = wait_fd(fd, POLLOUT, deadline);
        if (w <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len)
            != 0 || soerr) {
            *timed_out = w == 0;
            if (soerr) {
                errno = soerr;
            }
            else if (w == 0) {
                errno = ETIMEDOUT;
            }
            close(fd);
            return -1;
        }
    }
    /* keep-alive as hiredis's redisEnableKeepAlive had it: a peer gone
     * without a word is noticed after about 25 s even on an idle
     * connection */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    one = 15;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one));
    one = 5;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof(one));
    one = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &one, sizeof(one));
    return fd;
}

static int is_ip(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, name, buf) == 1
           || inet_pton(AF_INET6, name, buf) == 1;
}

static apr_status_t handshake(fa_redis_link_t *l, SSL_CTX *tls,
                              const char *name, apr_int64_t deadline,
                              fa_err_t *err)
{
    char why[160];
    long v;
    int rc, w;
    short wait;

    if (!(l->ssl = SSL_new(tls)) || SSL_set_fd(l->ssl, l->fd) != 1
        || SSL_set_app_data(l->ssl, l) != 1) {
        return fa_err_set(err, "store_unavailable", "redis %s: cannot "
                          "start TLS: %s", l->where,
                          ssl_reason(why, sizeof(why), "out of memory"));
    }
    if (is_ip(name)) {
        /* compared with the certificate's IP addresses; no SNI */
        rc = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(l->ssl), name);
    }
    else {
        rc = SSL_set1_host(l->ssl, name) == 1
             && SSL_set_tlsext_host_name(l->ssl, name) == 1;
    }
    if (rc != 1) {
        return fa_err_set(err, "store_unavailable", "redis %s: cannot "
                          "check the server's name %s", l->where, name);
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        rc = SSL_connect(l->ssl);
        if (rc == 1) {
            break;
        }
        switch (SSL_get_error(l->ssl, rc)) {
        case SSL_ERROR_WANT_READ:
            wait = POLLIN;
            break;
        case SSL_ERROR_WANT_WRITE:
            wait = POLLOUT;
            break;
        default:
            v = SSL_get_verify_result(l->ssl);
            if (v == X509_V_ERR_HOSTNAME_MISMATCH
                || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
                return fa_err_set(err, "store_unavailable", "redis %s: TLS: "
                                  "the server's certificate is refused: %s "
                                  "(it is not for %s; FedAuthRedisServerName "
                                  "sets the name to expect)", l->where,
                                  X509_verify_cert_error_string(v), name);
            }
            if (v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                || v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
                || v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
                || v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) {
                return fa_err_set(err, "store_unavailable", "redis %s: TLS: "
                                  "the server's certificate is refused: %s "
                                  "(an unknown CA: not in FedAuthRedisCAFile "
                                  "or the system's store)", l->where,
                                  X509_verify_cert_error_string(v));
            }
            if (v != X509_V_OK) {
                return fa_err_set(err, "store_unavailable", "redis %s: TLS: "
                                  "the server's certificate is refused: %s",
                                  l->where, X509_verify_cert_error_string(v));
            }
            tls_failure(l, rc, why, sizeof(why));
            return fa_err_set(err, "store_unavailable", "redis %s: TLS "
                              "handshake failed: %s%s", l->where, why,
                              l->cert_asked ? " (the server asked for a "
                              "client certificate and none is configured: "
                              "FedAuthRedisClientCert)" : alert_hint(why));
        }
        if ((w = wait_fd(l->fd, wait, deadline)) <= 0) {
            return fa_err_set(err, "store_unavailable", "redis %s: TLS "
                              "handshake %s", l->where, w == 0
                              ? "not done in time" : strerror(errno));
        }
    }
    /* SSL_VERIFY_PEER failed the handshake otherwise; checked again all
     * the same, since a mistake here would trust anyone. */
    if (!SSL_get0_peer_certificate(l->ssl)
        || SSL_get_verify_result(l->ssl) != X509_V_OK) {
        return fa_err_set(err, "store_unavailable", "redis %s: TLS: the "
                          "server's certificate was not verified", l->where);
    }
    return APR_SUCCESS;
}

apr_status_t fa_redis_link_open(const char *host, int port, SSL_CTX *tls,
                                const char *server_name, int timeout_ms,
                                fa_redis_link_t **pl, fa_err_t *err)
{
    struct addrinfo *res, *ai;
    fa_redis_link_t *l;
    apr_int64_t deadline = now_ms() + timeout_ms;
    const char *why = NULL;
    char port_s[16];
    int timed_out = 0, saved = 0;

    *pl = NULL;
    if (!(l = calloc(1, sizeof(*l)))) {
        return fa_err_set(err, "store_unavailable", "out of memory");
    }
    l->fd = -1;
    l->timeout_ms = timeout_ms;
    apr_snprintf(l->where, sizeof(l->where), strchr(host, ':') ? "[%s]:%d"
                 : "%s:%d", host, port);
    apr_snprintf(port_s, sizeof(port_s), "%d", port);
    if (!(res = fa_resolve(host, port_s, timeout_ms, &why))) {
        fa_err_set(err, "store_unavailable", "redis %s: %s", l->where, why);
        fa_redis_link_close(l);
        return APR_EGENERAL;
    }
    for (ai = res; ai && l->fd < 0; ai = ai->ai_next) {
        l->fd = connect_one(ai, deadline, &timed_out);
        saved = errno;
    }
    freeaddrinfo(res);
    if (l->fd < 0) {
        fa_err_set(err, "store_unavailable", "redis %s: %s", l->where,
                   timed_out ? "connect timed out" : strerror(saved));
        fa_redis_link_close(l);
        return APR_EGENERAL;
    }
    if (tls && handshake(l, tls, server_name ? server_name : host,
                         deadline, err) != APR_SUCCESS) {
        fa_redis_link_close(l);
        return APR_EGENERAL;
    }
    if (!(l->reader = redisReaderCreate())) {
        fa_redis_link_close(l);
        return fa_err_set(err, "store_unavailable", "out of memory");
    }
    *pl = l;
    return APR_SUCCESS;
}

void fa_redis_link_close(fa_redis_link_t *l)
{
    if (!l) {
        return;
    }
    if (l->ssl) {
        SSL_free(l->ssl);
    }
    if (l->fd >= 0) {
        close(l->fd);
    }
    if (l->reader) {
        redisReaderFree(l->reader);
    }
    free(l);
}

int fa_redis_link_fd(const fa_redis_link_t *l)
{
    return l->fd;
}

/* ---- commands --------------------------------------------------------- */

static apr_status_t send_cmd(fa_redis_link_t *l, int argc, const char **argv,
                             const size_t *lens, apr_int64_t deadline,
                             int *timed_out, fa_err_t *err)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    apr_status_t rv;

    if (len < 0 || !cmd) {
        return fa_err_set(err, "store_unavailable", "redis: out of memory");
    }
    rv = write_all(l, cmd, (apr_size_t)len, deadline, timed_out, err);
    redisFreeCommand(cmd);
    return rv;
}

apr_status_t fa_redis_link_reply(fa_redis_link_t *l, redisReply **reply,
                                 fa_err_t *err)
{
    void *r = NULL;

    *reply = NULL;
    if (redisReaderGetReply(l->reader, &r) != REDIS_OK) {
        return fa_err_set(err, "store_unavailable", "redis %s: %s",
                          l->where, l->reader->errstr);
    }
    if (r) {
        /* what is left is the start of the next reply */
        l->fed = l->reader->len - l->reader->pos;
    }
    *reply = r;
    return APR_SUCCESS;
}

/* Reads the next reply whole, within deadline and max bytes of it (and
 * of what follows it in the same reads). */
static apr_status_t read_reply(fa_redis_link_t *l, apr_size_t max,
                               apr_int64_t deadline, redisReply **reply,
                               int *timed_out, fa_err_t *err)
{
    char buf[CHUNK], why[160];
    apr_status_t rv;
    short wait = 0;
    int n, w;

    for (;;) {
        if ((rv = fa_redis_link_reply(l, reply, err)) != APR_SUCCESS) {
            return rv;
        }
        if (*reply) {
            return APR_SUCCESS;
        }
        n = io_read(l, buf, sizeof(buf), &wait, why, sizeof(why));
        if (n > 0) {
            if ((rv = feed(l, buf, n, max, err)) != APR_SUCCESS) {
                return rv;
            }
            continue;
        }
        if (n < 0) {
            return io_failed(l, n, "reading a reply", why, err);
        }
        if ((w = wait_fd(l->fd, wait, deadline)) <= 0) {
            return w == 0 ? timed_out_err(l, "reading a reply", timed_out,
                                          err)
                          : io_failed(l, IO_ERROR, "reading a reply",
                                      strerror(errno), err);
        }
    }
}

apr_status_t fa_redis_link_command(fa_redis_link_t *l, int argc,
                                   const char **argv, const size_t *lens,
                                   apr_size_t max, redisReply **reply,
                                   int *timed_out, fa_err_t *err)
{
    apr_int64_t deadline = now_ms() + l->timeout_ms;
    apr_status_t rv;

    *reply = NULL;
    if (timed_out) {
        *timed_out = 0;
    }
    if (l->failed) {
        return fa_err_set(err, "store_unavailable", "redis %s: a command "
                          "failed on this connection before", l->where);
    }
    /* failed until the reply is read whole */
    l->failed = 1;
    if ((rv = send_cmd(l, argc, argv, lens, deadline, timed_out, err))
        != APR_SUCCESS
        || (rv = read_reply(l, max, deadline, reply, timed_out, err))
           != APR_SUCCESS) {
        return rv;
    }
    l->failed = 0;
    return APR_SUCCESS;
}

apr_status_t fa_redis_link_pipeline(fa_redis_link_t *l, int n, int argc,
                                    const char **argv, const size_t *lens,
                                    apr_size_t max, redisReply **replies,
                                    int *timed_out, fa_err_t *err)
{
    apr_int64_t deadline = now_ms() + l->timeout_ms;
    char **cmds;
    int *cmd_lens, i, len;
    apr_size_t total = 0, at = 0;
    char *all = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (timed_out) {
        *timed_out = 0;
    }
    for (i = 0; i < n; i++) {
        replies[i] = NULL;
    }
    if (n < 1 || n > FA_REDIS_PIPELINE_MAX || argc < 1) {
        return fa_err_set(err, "store_unavailable", "redis: a pipeline of "
                          "%d commands", n);
    }
    if (l->failed) {
        return fa_err_set(err, "store_unavailable", "redis %s: a command "
                          "failed on this connection before", l->where);
    }
    cmds = calloc((size_t)n, sizeof(*cmds));
    cmd_lens = calloc((size_t)n, sizeof(*cmd_lens));
    for (i = 0; cmds && cmd_lens && i < n; i++) {
        len = redisFormatCommandArgv(&cmds[i], argc, argv + i * argc,
                                     lens ? lens + i * argc : NULL);
        if (len < 0 || !cmds[i]) {
            break;
        }
        cmd_lens[i] = len;
        total += (apr_size_t)len;
    }
    if (!cmds || !cmd_lens || i < n || !(all = malloc(total))) {
        rv = fa_err_set(err, "store_unavailable", "redis: out of memory");
    }
    for (i = 0; all && i < n; i++) {
        memcpy(all + at, cmds[i], (size_t)cmd_lens[i]);
        at += (apr_size_t)cmd_lens[i];
    }
    for (i = 0; cmds && i < n; i++) {
        if (cmds[i]) {
            redisFreeCommand(cmds[i]);
        }
    }
    free(cmds);
    free(cmd_lens);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* failed until every reply is read whole; all the commands go in one
     * write (a few kilobytes: the socket takes them without waiting for
     * the replies, which are read after) */
    l->failed = 1;
    rv = write_all(l, all, total, deadline, timed_out, err);
    free(all);
    for (i = 0; rv == APR_SUCCESS && i < n; i++) {
        rv = read_reply(l, max + CHUNK, deadline, &replies[i], timed_out,
                        err);
    }
    if (rv != APR_SUCCESS) {
        for (i = 0; i < n; i++) {
            if (replies[i]) {
                freeReplyObject(replies[i]);
                replies[i] = NULL;
            }
        }
        return rv;
    }
    l->failed = 0;
    return APR_SUCCESS;
}

apr_status_t fa_redis_link_send(fa_redis_link_t *l, int argc,
                                const char **argv, const size_t *lens,
                                fa_err_t *err)
{
    return send_cmd(l, argc, argv, lens, now_ms() + l->timeout_ms, NULL,
                    err);
}

apr_status_t fa_redis_link_read(fa_redis_link_t *l, apr_size_t max,
                                fa_err_t *err)
{
    char buf[CHUNK], why[160];
    apr_status_t rv;
    short wait = 0;
    int n;

    for (;;) {
        n = io_read(l, buf, sizeof(buf), &wait, why, sizeof(why));
        if (n == 0) {
            return APR_SUCCESS;
        }
        if (n == IO_CLOSED) {
            fa_err_set(err, "store_unavailable", "redis %s: connection "
                       "closed by the server", l->where);
            return APR_EOF;
        }
        if (n < 0) {
            return io_failed(l, n, "reading", why, err);
        }
        if ((rv = feed(l, buf, n, max, err)) != APR_SUCCESS) {
            return rv;
        }
    }
}
