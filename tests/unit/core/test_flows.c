#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dec_helpers.h"

#include "core/flows.h"

static void
test_flows(void **state)
{
	static const struct { const char *text; size_t line; const char *err; } bad[] = {
		{ "2024-01-01\n", 1, "expected date,amount" },
		{ "date,amount\n2024-01-01,1,2\n", 2, "too many fields" },
		{ "2024-01-01,1\ndate,amount\n", 2, "date: expected YYYY-MM-DD" },
		{ "2024-01-01,1\n\n2024-01-02,1.0000000000000000001\n", 3, "more than 18 fractional digits" },
		{ "2024-01-01,\n", 1, "empty" },
	};
	const char *text = "date,amount\n2024-01-03, 1000.5 \n\n2024-01-01,-0.000000000000000001\n2024-01-03,-1e3\n";
	const char *err = NULL;
	struct flows *f;
	size_t line = 0;

	(void)state;
	f = flows_parse(text, strlen(text), &line, &err);
	assert_non_null(f);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->v[0].day, 19725);
	assert_dec_str(f->v[0].amount, "1000.5");
	assert_int_equal(f->v[1].day, 19723);
	assert_dec_str(f->v[1].amount, "-0.000000000000000001");
	assert_dec_str(f->v[2].amount, "-1000");
	flows_free(f);
	flows_free(NULL);
	f = flows_parse("", 0, &line, &err);	/* no flow at all */
	assert_non_null(f);
	assert_int_equal(f->n, 0);
	flows_free(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(flows_parse(bad[i].text, strlen(bad[i].text), &line, &err));
		if (line != bad[i].line || strcmp(err, bad[i].err) != 0)
			fail_msg("case %zu: line %zu: %s", i, line, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
