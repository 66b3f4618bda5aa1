#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
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

/* Sets the mode of dir's entry name (or of dir itself, name NULL) to want if
 * it differs, logging the change. Returns 0 or -1. */
static int
set_mode(int dfd, const char *dir, const char *name, const struct stat *st, mode_t want)
{
	char was[8], now[8];

	if ((st->st_mode & 07777) == want)
		return 0;
	if ((name != NULL ? fchmodat(dfd, name, want, 0) : fchmod(dfd, want)) != 0)
		return -1;
	snprintf(was, sizeof(was), "%04o", (unsigned)(st->st_mode & 07777));
	snprintf(now, sizeof(now), "%04o", (unsigned)want);
	log_event(LOG_WARN, "data_dir_mode_fixed", "{s:s, s:s, s:s, s:s}", "dir", dir, "name",
	    name != NULL ? name : ".", "was", was, "now", now);
	return 0;
}

/* file_private_dir on the open directory dfd (consumed), depth levels down at most. */
static int
private_dir_fd(int dfd, const char *dir, int depth, const char **errstr)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	int rc = -1;

	if (fstat(dfd, &st) != 0 || set_mode(dfd, dir, NULL, &st, 0700) != 0) {
		*errstr = "cannot set the directory's mode to 0700";
		close(dfd);
		return -1;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		*errstr = "cannot list the directory";
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* The directory is 0700 already: nobody else can swap an entry
		 * for a symlink between the lstat and the chmod. Symlinks are
		 * left alone (chmod would follow them out of the directory). */
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;	/* removed meanwhile */
		if (S_ISREG(st.st_mode)) {
			if (set_mode(dfd, dir, de->d_name, &st, 0600) != 0) {
				*errstr = "cannot set a file's mode to 0600";
				goto out;
			}
		} else if (S_ISDIR(st.st_mode) && depth > 0) {
			char *sub = xasprintf("%s/%s", dir, de->d_name);
			int sfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int r = sfd < 0 ? -1 : private_dir_fd(sfd, sub, depth - 1, errstr);
			free(sub);
			if (r != 0) {
				if (sfd < 0)
					*errstr = "cannot open a subdirectory";
				goto out;
			}
		}
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

int
file_private_dir(const char *dir, const char **errstr)
{
	int dfd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*errstr = "cannot create the directory";
		return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		*errstr = "cannot open the directory";
		return -1;
	}
	return private_dir_fd(dfd, dir, 8, errstr);
}
