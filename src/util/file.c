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

int
file_write_atomic(const char *path, const void *buf, size_t len, unsigned mode, const char **errstr)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	const char *p = buf;
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
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			*errstr = "write error";
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0) {
		*errstr = "fsync failed";
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		*errstr = "close failed";
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		*errstr = "rename failed";
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}
