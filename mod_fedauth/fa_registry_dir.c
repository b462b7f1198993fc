/* SPDX-License-Identifier: Apache-2.0 */
/* fa_registry_dir.c - the registry of one host: a file per key in a
 * directory on disk (see fa_registry.h). Why not the shm session segment:
 * it lives in tmpfs (gone at reboot), evicts its least recently used
 * entries when full and is emptied after a crash while locked: right for
 * sessions, wrong for accounts.
 *
 * A key becomes a file name with every byte outside [A-Za-z0-9._@+-]
 * written as %XX (prefixes stay prefixes, so a list is one readdir).
 * Every value is written to a temporary file (".t.<pid>.<random>"),
 * flushed, and then put in place: rename(2) for put (readers see the old
 * value or the new one), link(2) for create (fails with EEXIST when the
 * name exists: of several processes, exactly one wins). put, replace and
 * del hold an exclusive flock(2) on the directory itself, so that
 * replace's compare and write is one step for every process (httpd's
 * workers and fedauthctl alike); reads take no lock. When the writer
 * is root and the directory belongs to another user (httpd's User), files
 * are given to the directory's owner, so that fedauthctl (root) and the
 * workers can both write. */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <apr_strings.h>

#include "fa_registry.h"

#define NAME_MAX_BYTES 240

typedef struct dir_reg_t {
    fa_registry_t reg;
    const char *dir;
    uid_t uid;
    gid_t gid;
} dir_reg_t;

static int plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
           || c == '@' || c == '+';
}

/* The file name of key (or of a key prefix), NULL when too long. */
static char *escape_key(apr_pool_t *p, const char *key)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t n = strlen(key), i, o = 0;
    char *out = apr_palloc(p, n * 3 + 1);

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (plain(c) && !(i == 0 && c == '.')) {
            out[o++] = (char)c;
        }
        else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return o > NAME_MAX_BYTES ? NULL : out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static char *unescape_name(apr_pool_t *p, const char *name)
{
    apr_size_t n = strlen(name), i, o = 0;
    char *out = apr_palloc(p, n + 1);
    int hi, lo;

    for (i = 0; i < n; i++) {
        if (name[i] == '%' && i + 2 < n + 1
            && (hi = hexval(name[i + 1])) >= 0
            && (lo = hexval(name[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        }
        else {
            out[o++] = name[i];
        }
    }
    out[o] = '\0';
    return out;
}

static const char *path_of(dir_reg_t *d, apr_pool_t *p, const char *key)
{
    char *name = escape_key(p, key);

    return name ? apr_pstrcat(p, d->dir, "/", name, NULL) : NULL;
}

static apr_status_t dir_get(fa_registry_t *reg, const char *key,
                            apr_pool_t *p, char **val, apr_size_t *len)
{
    dir_reg_t *d = reg->baton;
    const char *path = path_of(d, p, key);
    struct stat st;
    char *buf;
    ssize_t got;
    apr_size_t have = 0;
    int fd;

    if (!path) {
        return APR_NOTFOUND;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        /* absent, unless the directory itself is gone */
        if (errno == ENOENT && access(d->dir, X_OK) == 0) {
            return APR_NOTFOUND;
        }
        return APR_FROM_OS_ERROR(errno);
    }
    if (fstat(fd, &st) != 0 || st.st_size > 1024 * 1024) {
        close(fd);
        return APR_EGENERAL;
    }
    buf = apr_palloc(p, (apr_size_t)st.st_size + 1);
    while (have < (apr_size_t)st.st_size) {
        got = read(fd, buf + have, (apr_size_t)st.st_size - have);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        have += (apr_size_t)got;
    }
    close(fd);
    buf[have] = '\0';
    *val = buf;
    *len = have;
    return APR_SUCCESS;
}

/* Writes val to a new temporary file in the directory; its path in *tmp. */
static apr_status_t write_temp(dir_reg_t *d, apr_pool_t *p, const char *val,
                               apr_size_t len, const char **tmp)
{
    unsigned char rnd[8];
    const char *path;
    apr_size_t done = 0;
    ssize_t n;
    int fd;

    if (fa_random(rnd, sizeof(rnd)) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    path = apr_psprintf(p, "%s/.t.%ld.%s", d->dir, (long)getpid(),
                        fa_b64url_encode(p, rnd, sizeof(rnd)));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (geteuid() == 0 && d->uid != 0 && fchown(fd, d->uid, d->gid) != 0) {
        close(fd);
        unlink(path);
        return APR_EGENERAL;
    }
    while (done < len) {
        n = write(fd, val + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            unlink(path);
            return APR_EGENERAL;
        }
        done += (apr_size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(path);
        return APR_EGENERAL;
    }
    *tmp = path;
    return APR_SUCCESS;
}

static apr_status_t dir_create(fa_registry_t *reg, const char *key,
                               const char *val, apr_size_t len,
                               apr_pool_t *p)
{
    dir_reg_t *d = reg->baton;
    const char *path = path_of(d, p, key), *tmp;
    apr_status_t rv;
    int rc, e;

    if (!path) {
        return APR_EINVAL;
    }
    if ((rv = write_temp(d, p, val, len, &tmp)) != APR_SUCCESS) {
        return rv;
    }
    rc = link(tmp, path);
    e = errno;
    unlink(tmp);
    if (rc != 0) {
        return e == EEXIST ? APR_EEXIST : APR_FROM_OS_ERROR(e);
    }
    return APR_SUCCESS;
}

/* The directory's write lock: its descriptor, or -1 (errno set). */
static int lock_dir(const dir_reg_t *d)
{
    int fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e;

    if (fd < 0) {
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    return fd;
}

static void unlock_dir(int fd)
{
    close(fd);                    /* releases the flock */
}

/* Writes val at path (to a temporary file, then rename); the lock held. */
static apr_status_t write_locked(dir_reg_t *d, apr_pool_t *p,
                                 const char *path, const char *val,
                                 apr_size_t len)
{
    const char *tmp;
    apr_status_t rv;
    int e;

    if ((rv = write_temp(d, p, val, len, &tmp)) != APR_SUCCESS) {
        return rv;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return APR_FROM_OS_ERROR(e);
    }
    return APR_SUCCESS;
}

/* Writes val at key under the lock: with old, only while key holds
 * exactly old (olen bytes), else APR_EEXIST; without, whatever it holds. */
static apr_status_t write_if(fa_registry_t *reg, const char *key,
                             const char *old, apr_size_t olen,
                             const char *val, apr_size_t len, apr_pool_t *p)
{
    dir_reg_t *d = reg->baton;
    const char *path = path_of(d, p, key);
    char *now;
    apr_size_t nlen;
    apr_status_t rv = APR_SUCCESS;
    int fd;

    if (!path) {
        return APR_EINVAL;
    }
    if ((fd = lock_dir(d)) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (old) {
        rv = dir_get(reg, key, p, &now, &nlen);
        if (rv == APR_NOTFOUND || (rv == APR_SUCCESS
                                   && (nlen != olen
                                       || memcmp(now, old, olen)))) {
            rv = APR_EEXIST;
        }
    }
    if (rv == APR_SUCCESS) {
        rv = write_locked(d, p, path, val, len);
    }
    unlock_dir(fd);
    return rv;
}

static apr_status_t dir_put(fa_registry_t *reg, const char *key,
                            const char *val, apr_size_t len, apr_pool_t *p)
{
    return write_if(reg, key, NULL, 0, val, len, p);
}

static apr_status_t dir_replace(fa_registry_t *reg, const char *key,
                                const char *old, apr_size_t olen,
                                const char *val, apr_size_t len,
                                apr_pool_t *p)
{
    return write_if(reg, key, old ? old : "", olen, val, len, p);
}

static apr_status_t dir_del(fa_registry_t *reg, const char *key,
                            apr_pool_t *p)
{
    dir_reg_t *d = reg->baton;
    const char *path = path_of(d, p, key);
    apr_status_t rv = APR_SUCCESS;
    int fd;

    if (!path) {
        return APR_SUCCESS;
    }
    if ((fd = lock_dir(d)) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    unlock_dir(fd);
    return rv;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static apr_status_t dir_list(fa_registry_t *reg, const char *prefix,
                             apr_pool_t *p, apr_array_header_t **keys)
{
    dir_reg_t *d = reg->baton;
    char *eprefix = escape_key(p, prefix);
    apr_size_t plen;
    struct dirent *de;
    DIR *dh;

    *keys = apr_array_make(p, 16, sizeof(const char *));
    if (!eprefix) {
        return APR_SUCCESS;
    }
    plen = strlen(eprefix);
    if (!(dh = opendir(d->dir))) {
        return APR_FROM_OS_ERROR(errno);
    }
    while ((de = readdir(dh)) && (*keys)->nelts < FA_REGISTRY_LIST_MAX) {
        if (de->d_name[0] == '.' || strncmp(de->d_name, eprefix, plen)) {
            continue;
        }
        APR_ARRAY_PUSH(*keys, const char *) = unescape_name(p, de->d_name);
    }
    closedir(dh);
    qsort((*keys)->elts, (size_t)(*keys)->nelts, sizeof(const char *),
          by_string);
    return APR_SUCCESS;
}

apr_status_t fa_registry_dir_open(apr_pool_t *p, const char *dir,
                                  fa_registry_t **preg, fa_err_t *err)
{
    dir_reg_t *d = apr_pcalloc(p, sizeof(*d));
    struct stat st;

    *preg = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return fa_err_set(err, "store_unavailable", "mkdir %s: %s", dir,
                          strerror(errno));
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return fa_err_set(err, "store_unavailable", "%s is not a directory",
                          dir);
    }
    d->dir = apr_pstrdup(p, dir);
    d->uid = st.st_uid;
    d->gid = st.st_gid;
    /* messages name the directory: a parent that httpd's User cannot
     * search shows as EACCES on it */
    d->reg.name = apr_pstrcat(p, "dir ", d->dir, NULL);
    d->reg.get = dir_get;
    d->reg.create = dir_create;
    d->reg.put = dir_put;
    d->reg.replace = dir_replace;
    d->reg.del = dir_del;
    d->reg.list = dir_list;
    d->reg.baton = d;
    *preg = &d->reg;
    return APR_SUCCESS;
}
