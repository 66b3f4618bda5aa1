#include "client/httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "core/spki.h"
#include "util/url.h"
#include "util/xalloc.h"

#define MAX_RESPONSE (4 * 1024 * 1024)

struct sink {
	char *buf;
	size_t len;
	size_t max;
	int overflow;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->len + n > s->max) {
		s->overflow = 1;
		return 0;
	}
	s->buf = xrealloc(s->buf, s->len + n + 1);
	memcpy(s->buf + s->len, ptr, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* The leaf certificate of the connection just used (libcurl's certinfo:
 * "Cert:" is the PEM of each certificate, the leaf first). */
static void
peer_spki(CURL *c, struct httpc_response *resp)
{
	struct curl_certinfo *ci = NULL;

	if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL || ci->num_of_certs < 1)
		return;
	for (struct curl_slist *e = ci->certinfo[0]; e != NULL; e = e->next)
		if (strncmp(e->data, "Cert:", 5) == 0 &&
		    spki_sha256_of_pem(resp->tls_spki_sha256, e->data + 5, strlen(e->data + 5)) == 0) {
			resp->tls_peer_known = true;
			return;
		}
}

int
httpc_do(const struct httpc_request *req, struct httpc_response *resp, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char *ctype = NULL;
	struct sink sink = { .max = req->max_bytes > 0 ? req->max_bytes : MAX_RESPONSE };
	char *auth = NULL, cerr[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int rc = -1;

	memset(resp, 0, sizeof(*resp));
	if (c == NULL) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout_s > 0 ? req->timeout_s : 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* The peer's certificate, so attest can check the TLS binding. */
	curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	if (req->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->cacert);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (req->bearer != NULL) {
		auth = xasprintf("Authorization: Bearer %s", req->bearer);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (req->body != NULL) {
		ctype = xasprintf("Content-Type: %s", req->content_type != NULL ? req->content_type : "application/json");
		hdrs = curl_slist_append(hdrs, ctype);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		/* Errors reach terminals and CI logs: no credentials from the URL. */
		char *shown = url_redact(req->url, strlen(req->url));
		snprintf(err, errlen, "%s: %s", shown, sink.overflow ? "response too large" :
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
		free(shown);
		free(sink.buf);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = sink.buf != NULL ? sink.buf : xstrdup("");
	resp->body_len = sink.len;
	resp->json = json_loadb(resp->body, resp->body_len, 0, NULL);
	peer_spki(c, resp);
	rc = 0;
out:
	if (auth != NULL) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	free(ctype);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

void
httpc_response_clear(struct httpc_response *resp)
{
	free(resp->body);
	json_decref(resp->json);
	memset(resp, 0, sizeof(*resp));
}

const char *
httpc_error_message(struct httpc_response *resp)
{
	json_t *e = json_object_get(resp->json, "error"), *m = json_object_get(e, "message"),
	    *c = json_object_get(e, "code");

	if (!json_is_string(m))
		return "unexpected response";
	if (!json_is_string(c))
		return json_string_value(m);
	snprintf(resp->errtext, sizeof(resp->errtext), "%s: %s", json_string_value(c), json_string_value(m));
	return resp->errtext;
}
