#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

uint8_t *
file_read_all(const char *path, size_t max, size_t *len, const char **errstr)
{
	int fd = -1;
	uint8_t *buf = NULL;
	size_t cap = 4096, n = 0;
	ssize_t r;

	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*errstr = errno == ENOENT ? "no such file" : "cannot open file";
		return NULL;
	}
	buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				*errstr = "file too large";
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*errstr = "read error";
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		*errstr = "file too large";
		goto fail;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	free(buf);
	return NULL;
}

/* Writes (buf, len) to fd, syncs and closes it (whatever happens). Returns 0,
 * or -1 with *errstr set. */
static int
write_sync_close(int fd, const char *p, size_t len, const char **errstr)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			*errstr = "write error";
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0) {
		*errstr = "fsync failed";
		goto fail;
	}
	if (close(fd) != 0) {
		*errstr = "close failed";
		return -1;
	}
	return 0;
fail:
	close(fd);
	return -1;
}

int
file_write_atomic(const char *path, const void *buf, size_t len, unsigned mode, const char **errstr)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, rc = -1;

	/* A fresh file, never a stale one: open() ignores mode for an existing
	 * file, which would hand a private key the old file's permissions (or
	 * follow a planted symlink). */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		*errstr = "cannot create file";
		goto out;
	}
	if (write_sync_close(fd, buf, len, errstr) != 0)
		goto out;
	if (rename(tmp, path) != 0) {
		*errstr = "rename failed";
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
file_write_new(const char *path, const void *buf, size_t len, unsigned mode, const char **errstr)
{
	int fd;

	/* O_EXCL is the check: no window between "does it exist" and the
	 * write, and a symlink at path counts as existing. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		*errstr = errno == EEXIST ? FILE_EXISTS_ERR : "cannot create file";
		return -1;
	}
	if (write_sync_close(fd, buf, len, errstr) != 0) {
		unlink(path);	/* ours: created above */
		return -1;
	}
	return 0;
}
