#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/timeutil.h"

static void
test_format(void **state)
{
	char out[TIME_ISO_LEN];

	(void)state;
	time_format_iso_ms(out, 0);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	time_format_iso_ms(out, 1704103210123);
	assert_string_equal(out, "2024-01-01T10:00:10.123Z");
	time_format_iso_ms(out, 951782400000);	/* leap day 2000 */
	assert_string_equal(out, "2000-02-29T00:00:00.000Z");
	time_format_iso_ms(out, -1);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void
test_parse(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(time_parse_iso("2024-01-01T10:00:10.123Z", 24, &ms), 0);
	assert_int_equal(ms, 1704103210123);
	assert_int_equal(time_parse_iso("2024-01-01T10:00:10Z", 20, &ms), 0);
	assert_int_equal(ms, 1704103210000);
	assert_int_equal(time_parse_iso("2024-01-01 10:00:10.5+00:00", 27, &ms), 0);
	assert_int_equal(ms, 1704103210500);
	assert_int_equal(time_parse_iso("2024-01-01", 10, &ms), 0);
	assert_int_equal(ms, 1704067200000);
	/* malformed: bad day, 2023 is not a leap year, trailing garbage, missing zone */
	assert_int_equal(time_parse_iso("2024-01-32", 10, &ms), -1);
	assert_int_equal(time_parse_iso("2023-02-29", 10, &ms), -1);
	assert_int_equal(time_parse_iso("2024-01-01T10:00:10Zx", 21, &ms), -1);
	assert_int_equal(time_parse_iso("2024-01-01T10:00:10", 19, &ms), -1);
	assert_int_equal(time_parse_iso("2024-01-01T10:00:10.Z", 21, &ms), -1);
	/* length is honoured: no reading past len */
	assert_int_equal(time_parse_iso("2024-01-01T10", 10, &ms), 0);
}

static void
test_dates(void **state)
{
	int64_t day;
	char out[TIME_DATE_LEN];

	(void)state;
	assert_int_equal(time_parse_date("2024-01-01", 10, &day), 0);
	assert_int_equal(day, 19723);
	assert_int_equal(time_parse_date("1969-12-31", 10, &day), 0);
	assert_int_equal(day, -1);
	assert_int_equal(time_parse_date("2024-01-01T00:00:00Z", 20, &day), -1);
	assert_int_equal(time_parse_date("2024-1-01", 9, &day), -1);
	assert_int_equal(time_parse_date("2024-02-30", 10, &day), -1);
	time_format_date(out, 19723 + 59);
	assert_string_equal(out, "2024-02-29");
	assert_int_equal(time_day_of_ms(1704067200000 - 1), 19722);
	assert_int_equal(time_day_of_ms(1704067200000), 19723);
	assert_int_equal(time_day_of_ms(-1), -1);
}

static void
test_civil_roundtrip(void **state)
{
	(void)state;
	for (int64_t z = -800000; z <= 800000; z += 17) {
		int64_t y;
		unsigned m, d;
		time_civil_from_days(z, &y, &m, &d);
		assert_int_equal(time_days_from_civil(y, m, d), z);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_civil_roundtrip),
		cmocka_unit_test(test_dates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
