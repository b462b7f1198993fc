/* SPDX-License-Identifier: Apache-2.0 */
/* fa_redis_net.h - one connection to a Redis server (or a Sentinel): a
 * socket and, for rediss://, an OpenSSL session over it. hiredis is used
 * only to format commands (redisFormatCommandArgv) and to parse replies
 * (redisReader); the bytes travel through this file, with or without TLS
 * on the same code path. Debian 12's hiredis 0.14 has no TLS, so the TLS
 * is ours.
 *
 * Every wait is bounded: the connect, the TLS handshake and each command
 * (writing it and reading its reply) by the link's timeout, on a
 * non-blocking socket with poll(). A reply may not grow beyond the bound
 * its caller gives: a server that sends more is cut off, not buffered.
 * A link is used by one thread at a time. Part of the httpd-free core. */
#ifndef FA_REDIS_NET_H
#define FA_REDIS_NET_H

#include <apr_pools.h>
#include <openssl/ssl.h>
#include <hiredis.h>
#include "fa_util.h"

/* Which file of the TLS setup an error is about. */
typedef enum {
    FA_REDIS_TLS_CA = 1,      /* the CA file (or the system's store) */
    FA_REDIS_TLS_CERT,        /* the client certificate */
    FA_REDIS_TLS_KEY          /* the client certificate's key */
} fa_redis_tls_file_t;

/* Makes the TLS context of rediss:// connections: server certificates are
 * verified against ca_file (PEM, one or more CAs), or the system's CA
 * store when ca_file is NULL; with cert_file the client presents that
 * certificate (PEM, chain allowed) with the key in key_file (PEM; NULL:
 * the key is in cert_file too). TLS 1.2 or later. The context is freed
 * with p. On failure *which says which file and err->desc what went
 * wrong with it (a missing file, no certificate in it, a key that does
 * not match, an encrypted key: there is no one to ask for its
 * passphrase). */
apr_status_t fa_redis_tls_context(apr_pool_t *p, const char *ca_file,
                                  const char *cert_file,
                                  const char *key_file, SSL_CTX **pctx,
                                  fa_redis_tls_file_t *which, fa_err_t *err);

typedef struct fa_redis_link_t fa_redis_link_t;

/* Connects to host:port within timeout_ms; with tls (a context from
 * fa_redis_tls_context), also completes the TLS handshake within the same
 * time, having checked that the server's certificate chains to a trusted
 * CA, is valid now and names server_name (NULL: host; an IP address is
 * compared with the certificate's IP addresses). err->desc says what
 * failed: the connect, or for TLS what the verification found (a
 * hostname mismatch, an unknown CA, an expired certificate) or what the
 * server said (e.g. that it wants a client certificate). */
apr_status_t fa_redis_link_open(const char *host, int port, SSL_CTX *tls,
                                const char *server_name, int timeout_ms,
                                fa_redis_link_t **pl, fa_err_t *err);
/* Closes the connection (no TLS close_notify: nothing waits for it). */
void fa_redis_link_close(fa_redis_link_t *l);

/* Sends one command (argument vector; lens NULL: NUL-terminated strings)
 * and reads its reply, all within the link's timeout. The reply is freed
 * with freeReplyObject. A reply of more than max bytes is refused.
 * *timed_out (when not NULL) says whether the server did not answer in
 * time, as opposed to a broken connection. After a failure the link is
 * of no further use. */
apr_status_t fa_redis_link_command(fa_redis_link_t *l, int argc,
                                   const char **argv, const size_t *lens,
                                   apr_size_t max, redisReply **reply,
                                   int *timed_out, fa_err_t *err);

/* The most commands one pipeline sends. */
#define FA_REDIS_PIPELINE_MAX 256
/* Sends n commands of argc arguments each (argv and lens: n * argc of
 * them, lens NULL for NUL-terminated strings) in one write, then reads
 * their n replies into replies, all within the link's timeout; each
 * reply may take at most max bytes. On any failure every reply is freed
 * (all NULL) and the link is of no further use, as after
 * fa_redis_link_command. */
apr_status_t fa_redis_link_pipeline(fa_redis_link_t *l, int n, int argc,
                                    const char **argv, const size_t *lens,
                                    apr_size_t max, redisReply **replies,
                                    int *timed_out, fa_err_t *err);

/* For a subscribed connection (the invalidation listener): */
/* The socket, to poll() for input. */
int fa_redis_link_fd(const fa_redis_link_t *l);
/* Sends a command without waiting for its reply (within the timeout). */
apr_status_t fa_redis_link_send(fa_redis_link_t *l, int argc,
                                const char **argv, const size_t *lens,
                                fa_err_t *err);
/* Reads whatever has arrived, without waiting (everything TLS holds
 * too, so that poll() on the socket afterwards tells the truth).
 * APR_EOF when the server closed the connection; an error when a reply
 * in progress grows beyond max bytes. */
apr_status_t fa_redis_link_read(fa_redis_link_t *l, apr_size_t max,
                                fa_err_t *err);
/* The next complete reply read so far (*reply NULL: none yet). */
apr_status_t fa_redis_link_reply(fa_redis_link_t *l, redisReply **reply,
                                 fa_err_t *err);

#endif
