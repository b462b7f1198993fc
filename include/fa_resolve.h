/* SPDX-License-Identifier: Apache-2.0 */
/* fa_resolve.h - a name lookup bounded by its caller's time. getaddrinfo
 * has no timeout of its own and a resolver that does not answer holds its
 * caller for its own timeouts (5 s per try and server); this one runs the
 * lookup on a thread of its own and stops waiting when the time is up.
 * Part of the httpd-free core; used by the Redis connections. */
#ifndef FA_RESOLVE_H
#define FA_RESOLVE_H

#include <netdb.h>
#include <apr.h>

/* The addresses of host for service (a port number as a string), for a
 * stream socket, any family: freeaddrinfo them. A numeric address is
 * returned at once; a name is looked up for at most left_ms milliseconds.
 * NULL with *why (a static string) when the lookup failed or took too
 * long; a lookup given up on finishes on its thread and frees itself. */
struct addrinfo *fa_resolve(const char *host, const char *service,
                            apr_int64_t left_ms, const char **why);

#endif
