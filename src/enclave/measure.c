#include "enclave/measure.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

int
measure_file(uint8_t out[32], const char *path, const char **errstr)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t buf[65536];
	unsigned int outlen = 0;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path != NULL ? path : "/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*errstr = "cannot open the executable to measure it";
		goto out;
	}
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto fail;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			goto fail;
	}
	if (EVP_DigestFinal_ex(md, out, &outlen) != 1 || outlen != 32)
		goto fail;
	rc = 0;
	goto out;
fail:
	*errstr = "cannot read the executable to measure it";
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	return rc;
}
