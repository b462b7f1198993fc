/* SPDX-License-Identifier: Apache-2.0 */
/* mod_fedauth_host_copies.h - what mod_fedauth_host_copies.c offers: the
 * keys of copies of sessions, and the host's copies of Redis sessions
 * (FedAuthSessionHostCache): making one, and renewing those in use
 * before they end. */
#ifndef MOD_FEDAUTH_HOST_COPIES_H
#define MOD_FEDAUTH_HOST_COPIES_H

#include "mod_fedauth_types.h"

/* Room for a copy key. */
#define FEDAUTH_COPY_KEY_MAX (FA_SESSION_KEY_LEN + 40)

/* The key of the copies of the session at store key key (this process's
 * and the host's): the store (several may share a process) and the key;
 * its length. */
apr_size_t fedauth_copy_key(char *buf, apr_size_t size, const fa_store_t *st,
                            const char *key);
/* FedAuthSessionHostCache: makes the host's copies of size bytes, each
 * to serve for seconds at most, in post_config, before the fork (size
 * 0: none); logs why when it cannot. */
apr_status_t fedauth_host_copies_open(apr_pool_t *pconf, server_rec *s,
                                      apr_size_t size, int seconds);
/* Puts the head of the record rec (all of it when it has none), read
 * from the store at key after stamp was taken, in the host's copies
 * under the copy key ck; renewal: the copy keeps the second it was last
 * used (fa_store_shm_renew), else it is used now. */
void fedauth_host_copy_put(apr_pool_t *p, const char *ck, const char *key,
                           const fa_store_stamp_t *stamp, const char *rec,
                           apr_size_t len, int renewal);
/* In each child: starts the thread that renews the host's copies in use
 * (when there are host copies); it stops with p. */
void fedauth_host_copies_child_init(apr_pool_t *p, server_rec *s);

#endif
