#include "util/timeutil.h"

#include <string.h>
#include <time.h>

int64_t
time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
time_deadline(struct timespec *out, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, out);
	out->tv_sec += ms / 1000;
	out->tv_nsec += (ms % 1000) * 1000000;
	if (out->tv_nsec >= 1000000000) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000;
	}
}

int64_t
time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Howard Hinnant's civil-date algorithms: exact for every int64 day, no libc
 * time zone state involved (timegm/gmtime_r are fine too, but these are pure). */
int64_t
time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void
time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void
put(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

void
time_format_iso_ms(char out[TIME_ISO_LEN], int64_t ms)
{
	int64_t days = floordiv(ms, 86400000), y;
	unsigned rem = (unsigned)(ms - days * 86400000), m, d;

	time_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		y = m = d = rem = 0;
	memcpy(out, "0000-00-00T00:00:00.000Z", TIME_ISO_LEN);
	put(out, (unsigned)y, 4);
	put(out + 5, m, 2);
	put(out + 8, d, 2);
	put(out + 11, rem / 3600000, 2);
	put(out + 14, rem / 60000 % 60, 2);
	put(out + 17, rem / 1000 % 60, 2);
	put(out + 20, rem % 1000, 3);
}

static int
digits(const char *s, size_t len, size_t *pos, size_t n, int *out)
{
	int v = 0;

	if (*pos + n > len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[*pos + i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*pos += n;
	*out = v;
	return 0;
}

static int
expect(const char *s, size_t len, size_t *pos, char c)
{
	if (*pos >= len || s[*pos] != c)
		return -1;
	(*pos)++;
	return 0;
}

int
time_parse_iso(const char *s, size_t len, int64_t *ms)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t pos = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;

	if (digits(s, len, &pos, 4, &y) || expect(s, len, &pos, '-') ||
	    digits(s, len, &pos, 2, &mo) || expect(s, len, &pos, '-') ||
	    digits(s, len, &pos, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1])
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	if (pos < len) {
		if (s[pos] != 'T' && s[pos] != ' ')
			return -1;
		pos++;
		if (digits(s, len, &pos, 2, &h) || expect(s, len, &pos, ':') ||
		    digits(s, len, &pos, 2, &mi) || expect(s, len, &pos, ':') ||
		    digits(s, len, &pos, 2, &sec))
			return -1;
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		if (pos < len && s[pos] == '.') {
			int scale = 100, nd = 0;
			pos++;
			while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
				/* Digits past milliseconds are truncated: times are ms. */
				if (nd < 3)
					frac += (s[pos] - '0') * scale;
				scale /= 10;
				nd++;
				pos++;
			}
			if (nd == 0)
				return -1;
		}
		if (pos < len && s[pos] == 'Z')
			pos++;
		else if (len - pos == 6 && s[pos] == '+' && s[pos + 1] == '0' && s[pos + 2] == '0' &&
		    s[pos + 3] == ':' && s[pos + 4] == '0' && s[pos + 5] == '0')
			pos += 6;
		else
			return -1;
	}
	if (pos != len)
		return -1;
	*ms = ((time_days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) * 60000 +
	    (int64_t)sec * 1000 + frac;
	return 0;
}

int
time_parse_date(const char *s, size_t len, int64_t *day)
{
	int64_t ms;

	if (len != 10 || time_parse_iso(s, len, &ms) == -1)
		return -1;
	*day = floordiv(ms, TIME_DAY_MS);
	return 0;
}

void
time_format_date(char out[TIME_DATE_LEN], int64_t day)
{
	char iso[TIME_ISO_LEN];

	time_format_iso_ms(iso, day * TIME_DAY_MS);
	memcpy(out, iso, 10);
	out[10] = '\0';
}

int64_t
time_day_of_ms(int64_t ms)
{
	return floordiv(ms, TIME_DAY_MS);
}
