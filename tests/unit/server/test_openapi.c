/*
 * docs/openapi.json against the real route table, both ways: every route is
 * documented (with its "/{id}" form when it takes one), every documented
 * operation is routed; every $ref resolves; the served copy is the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "server/openapi.h"
#include "server/server.h"
#include "util/file.h"
#include "util/xalloc.h"

static const char *const http_methods[] = { "get", "put", "post", "delete", "options", "head", "patch", "trace" };

static json_t *
embedded(void)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)openapi_json, openapi_json_len, JSON_REJECT_DUPLICATES, &e);

	if (doc == NULL)
		fail_msg("docs/openapi.json: line %d: %s", e.line, e.text);
	return doc;
}

static json_t *
operation(json_t *doc, const char *path, const char *method)
{
	char lower[16];
	size_t i;

	for (i = 0; method[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
	lower[i] = '\0';
	return json_object_get(json_object_get(json_object_get(doc, "paths"), path), lower);
}

static bool
has_id_param(json_t *op)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(op, "parameters"), i, p)
		if (strcmp(json_string_value(json_object_get(p, "name")), "id") == 0 &&
		    strcmp(json_string_value(json_object_get(p, "in")), "path") == 0 &&
		    json_is_true(json_object_get(p, "required")))
			return true;
	return false;
}

/* Returns 0, or -1 with the first mismatch in why. */
static int
check(json_t *doc, const struct server_route *r, size_t n, char *why, size_t whylen)
{
	const char *path, *m;
	json_t *item, *op;

	for (size_t i = 0; i < n; i++) {
		char idpath[128];
		if (operation(doc, r[i].path, r[i].method) == NULL) {
			snprintf(why, whylen, "route %s %s is not documented", r[i].method, r[i].path);
			return -1;
		}
		snprintf(idpath, sizeof(idpath), "%s/{id}", r[i].path);
		if (r[i].with_id && ((op = operation(doc, idpath, r[i].method)) == NULL || !has_id_param(op))) {
			snprintf(why, whylen, "route %s %s is not documented with its id parameter", r[i].method, idpath);
			return -1;
		}
	}
	json_object_foreach(json_object_get(doc, "paths"), path, item) {
		json_object_foreach(item, m, op) {
			bool routed = false, is_method = false;
			for (size_t k = 0; k < sizeof(http_methods) / sizeof(http_methods[0]); k++)
				is_method |= strcmp(m, http_methods[k]) == 0;
			if (!is_method)
				continue;	/* "parameters", "summary", ... */
			for (size_t i = 0; i < n && !routed; i++) {
				size_t pl = strlen(r[i].path);
				if (strcasecmp(r[i].method, m) != 0 || strncmp(path, r[i].path, pl) != 0)
					continue;
				routed = path[pl] == '\0' || (r[i].with_id && strcmp(path + pl, "/{id}") == 0);
			}
			if (!routed) {
				snprintf(why, whylen, "documented %s %s is not routed", m, path);
				return -1;
			}
			if (json_object_size(json_object_get(op, "responses")) == 0) {
				snprintf(why, whylen, "%s %s documents no response", m, path);
				return -1;
			}
		}
	}
	return 0;
}

/* Every {"$ref": "#/..."} names something in the document. */
static void
check_refs(json_t *doc, json_t *node)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(node)) {
		json_array_foreach(node, i, v)
			check_refs(doc, v);
		return;
	}
	json_object_foreach(node, k, v) {
		if (strcmp(k, "$ref") == 0) {
			char *ref = xstrdup(json_string_value(v)), *save = NULL;
			json_t *at = doc;
			assert_non_null(json_string_value(v));
			if (strncmp(ref, "#/", 2) != 0)
				fail_msg("external $ref %s", ref);
			for (char *tok = strtok_r(ref + 2, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save))
				at = json_object_get(at, tok);
			if (at == NULL)
				fail_msg("$ref %s does not resolve", json_string_value(v));
			free(ref);
		} else
			check_refs(doc, v);
	}
}

static void
test_routes_match(void **state)
{
	size_t n;
	const struct server_route *r = server_routes(&n);
	json_t *doc = embedded();
	char why[256];

	(void)state;
	assert_true(n >= 10);
	if (check(doc, r, n, why, sizeof(why)) != 0)
		fail_msg("docs/openapi.json and src/server/routes.c disagree: %s", why);
	json_decref(doc);
}

/* The check can fail, each way. */
static void
test_mismatch_detected(void **state)
{
	size_t n;
	const struct server_route *r = server_routes(&n);
	struct server_route *more = xcalloc(n + 1, sizeof(*more));
	json_t *doc = embedded(), *paths = json_object_get(doc, "paths");
	char why[256];

	(void)state;
	memcpy(more, r, n * sizeof(*r));
	more[n] = (struct server_route){ "GET", "/enclave/unlisted", false };
	assert_int_equal(check(doc, more, n + 1, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "/enclave/unlisted"));

	json_object_set_new(paths, "/undocumented", json_pack("{s:{s:{}}}", "get", "responses"));
	assert_int_equal(check(doc, r, n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "/undocumented"));
	json_object_del(paths, "/undocumented");

	json_object_del(json_object_get(paths, "/enclave/session/{id}"), "delete");
	assert_int_equal(check(doc, r, n, why, sizeof(why)), -1);
	json_object_del(paths, "/metrics");
	assert_int_equal(check(doc, r, n, why, sizeof(why)), -1);
	free(more);
	json_decref(doc);
}

static void
test_document_shape(void **state)
{
	json_t *doc = embedded(), *comp, *err, *ops = json_object();
	const char *path, *m;
	json_t *item, *op;

	(void)state;
	assert_int_equal(strncmp(json_string_value(json_object_get(doc, "openapi")), "3.0.", 4), 0);
	comp = json_object_get(doc, "components");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(comp, "securitySchemes"),
	    "sessionBearer"), "scheme")), "bearer");
	assert_non_null(json_object_get(json_object_get(comp, "securitySchemes"), "operatorToken"));
	err = json_object_get(json_object_get(json_object_get(comp, "schemas"), "Error"), "properties");
	err = json_object_get(json_object_get(err, "error"), "required");
	assert_int_equal(json_array_size(err), 2);
	assert_string_equal(json_string_value(json_array_get(err, 0)), "code");
	assert_string_equal(json_string_value(json_array_get(err, 1)), "message");
	check_refs(doc, doc);
	/* operationIds are unique. */
	json_object_foreach(json_object_get(doc, "paths"), path, item) {
		json_object_foreach(item, m, op) {
			const char *id = json_string_value(json_object_get(op, "operationId"));
			assert_non_null(id);
			if (json_object_get(ops, id) != NULL)
				fail_msg("operationId %s twice", id);
			json_object_set_new(ops, id, json_true());
		}
	}
	/* /metrics is documented as text, the administrative route needs the operator token. */
	assert_non_null(json_object_get(json_object_get(json_object_get(json_object_get(operation(doc, "/metrics", "GET"),
	    "responses"), "200"), "content"), "text/plain; version=0.0.4"));
	assert_non_null(json_object_get(json_array_get(json_object_get(operation(doc, "/enclave/cleanup", "POST"),
	    "security"), 0), "operatorToken"));
	json_decref(ops);
	json_decref(doc);
}

/* What /openapi.json serves is docs/openapi.json byte for byte. */
static void
test_embedded_is_the_file(void **state)
{
	const char *src = getenv("PERFAGG_SOURCE_DIR"), *err = NULL;
	char *path;
	uint8_t *file;
	size_t len;

	(void)state;
	assert_non_null(src);
	path = xasprintf("%s/docs/openapi.json", src);
	file = file_read_all(path, 1 << 20, &len, &err);
	if (file == NULL)
		fail_msg("%s: %s", path, err);
	assert_int_equal(len, openapi_json_len);
	assert_memory_equal(file, openapi_json, len);
	assert_int_equal(openapi_json[len], 0);
	free(file);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_match),
		cmocka_unit_test(test_mismatch_detected),
		cmocka_unit_test(test_document_shape),
		cmocka_unit_test(test_embedded_is_the_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
