#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/url.h"

static void
expect(const char *in, const char *want)
{
	char *got = url_redact(in, strlen(in));

	if (strcmp(got, want) != 0)
		fail_msg("url_redact(\"%s\") = \"%s\", expected \"%s\"", in, got, want);
	free(got);
}

static void
test_userinfo(void **state)
{
	(void)state;
	expect("https://user:pass@host.example/api?x=1", "https://REDACTED@host.example/api?x=1");
	expect("https://user:pass@host.example:8443", "https://REDACTED@host.example:8443");
	expect("http://user@host/", "http://REDACTED@host/");		/* no password: the user may be a token */
	expect("http://user:@host/p", "http://REDACTED@host/p");	/* empty password */
	expect("http://:pw@host", "http://REDACTED@host");
	expect("http://us%40er:p%3Ass@host/", "http://REDACTED@host/");	/* percent-encoded */
	expect("http://user:p@ss@host/", "http://REDACTED@host/");	/* a raw '@' in the password */
	expect("http://user:pw@[::1]:8080/x", "http://REDACTED@[::1]:8080/x");
	expect("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x");
	expect("HTTPS://U:P@H", "HTTPS://REDACTED@H");
}

static void
test_unchanged(void **state)
{
	(void)state;
	expect("", "");
	expect("http://127.0.0.1:9", "http://127.0.0.1:9");
	expect("https://api.binance.com/api/v3/account?recvWindow=5000&limit=10#top",
	    "https://api.binance.com/api/v3/account?recvWindow=5000&limit=10#top");
	expect("http://host/users/@me/x", "http://host/users/@me/x");	/* '@' in the path */
	expect("http://host/a?next=http://u:p@other/", "http://host/a?next=http://u:p@other/");
	expect("http://host/?token", "http://host/?token");		/* no value */
	expect("http://host/?&&a=1&", "http://host/?&&a=1&");
}

static void
test_no_scheme(void **state)
{
	(void)state;
	expect("user:pass@host:80/p", "REDACTED@host:80/p");
	expect("host:80/p?key=v", "host:80/p?key=REDACTED");
	expect("/only/a/path@x", "/only/a/path@x");
	expect("host/p://q", "host/p://q");	/* "://" after the path began is not a scheme */
}

static void
test_params(void **state)
{
	(void)state;
	expect("https://h/x?token=abc&a=1", "https://h/x?token=REDACTED&a=1");
	expect("https://h/x?a=1&API_KEY=abc", "https://h/x?a=1&API_KEY=REDACTED");
	expect("https://h/x?apiKey=abc;secret=s&Signature=00&password=p&access_token=t&key=k",
	    "https://h/x?apiKey=REDACTED;secret=REDACTED&Signature=REDACTED&password=REDACTED&"
	    "access_token=REDACTED&key=REDACTED");
	expect("https://h/x?api%5Fkey=abc&Api%2dKey=d", "https://h/x?api%5Fkey=REDACTED&Api%2dKey=REDACTED");
	expect("https://h/x?token=a=b&c=d", "https://h/x?token=REDACTED&c=d");	/* '=' in the value */
	expect("https://h/x?token=", "https://h/x?token=REDACTED");
	expect("https://h/x#access_token=t&state=s", "https://h/x#access_token=REDACTED&state=s");
	expect("https://u:p@h/x?q=1&token=t#sig=s", "https://REDACTED@h/x?q=1&token=REDACTED#sig=REDACTED");
	expect("https://h/x?%zz=1&%4=2", "https://h/x?%zz=1&%4=2");	/* bad escapes are kept, not decoded */
}

/* The length is the bound: bytes past it are not read. */
static void
test_length(void **state)
{
	char *got;

	(void)state;
	got = url_redact("http://u:p@h/?token=abcdef", 10);	/* "http://u:p" */
	assert_string_equal(got, "http://u:p");
	free(got);
	got = url_redact("http://u:p@h/?token=abcdef", 22);	/* ends inside the value */
	assert_string_equal(got, "http://REDACTED@h/?token=REDACTED");
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_userinfo),
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_no_scheme),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
