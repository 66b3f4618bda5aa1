#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "exchange/sign_kraken.h"

/* docs.kraken.com spot-rest-auth, "Example" (exchanges.md 6.4). */
static const char spot_secret[] =
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
/* docs.kraken.com futures-rest (exchanges.md 7.3): 87 characters, not canonical base64. */
static const char fut_secret[] =
    "rttp4AzwRfYEdQ7R7X8Z/04Y4TZPa97pqCypi3xXxAqftygftnI6H9yGV+OcUOOJeFtZkr8mVwbAndU3Kz4Q+eG";

static void
test_spot_official(void **state)
{
	static const char post[] = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
	char sig[SIGN_KRAKEN_LEN];
	const char *err = NULL;

	(void)state;
	assert_int_equal(sign_kraken_spot(sig, spot_secret, strlen(spot_secret), "/0/private/AddOrder",
	    "1616492376594", post, strlen(post), &err), 0);
	assert_string_equal(sig,
	    "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==");
	/* one byte of the body changed: a different signature */
	assert_int_equal(sign_kraken_spot(sig, spot_secret, strlen(spot_secret), "/0/private/AddOrder",
	    "1616492376594", post, strlen(post) - 1, &err), 0);
	assert_string_not_equal(sig,
	    "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==");
}

static void
test_spot_bad_secret(void **state)
{
	char sig[SIGN_KRAKEN_LEN];
	const char *err = NULL;

	(void)state;
	/* spot is always strict: the futures example secret is refused */
	assert_int_equal(sign_kraken_spot(sig, fut_secret, strlen(fut_secret), "/0/private/Balance", "1", "nonce=1", 7,
	    &err), -1);
	assert_string_equal(err, "API secret is not valid base64");
	err = NULL;
	assert_int_equal(sign_kraken_spot(sig, "not base64!", 11, "/0/private/Balance", "1", "nonce=1", 7, &err), -1);
	assert_non_null(err);
	assert_int_equal(sign_kraken_spot(sig, "", 0, "/0/private/Balance", "1", "nonce=1", 7, &err), -1);
}

static void
test_futures_official(void **state)
{
	static const char post[] = "symbol=fi_xbtusd_180615";
	char sig[SIGN_KRAKEN_LEN];
	const char *err = NULL;

	(void)state;
	assert_int_equal(sign_kraken_futures(sig, fut_secret, strlen(fut_secret), SIGN_KRAKEN_LENIENT,
	    "/api/v3/orderbook", post, strlen(post), "1415957147987", &err), 0);
	assert_string_equal(sig,
	    "DqUyz8Wh/72af7dimSXHw91IFxrAriTgVodyg2s67PU2mVStwLDQak+uIoCtfb43XONq0xVAp+vm5dqnhFAB1Q==");
	/* the /derivatives prefix is not signed */
	assert_int_equal(sign_kraken_futures(sig, fut_secret, strlen(fut_secret), SIGN_KRAKEN_LENIENT,
	    "/derivatives/api/v3/orderbook", post, strlen(post), "1415957147987", &err), 0);
	assert_string_equal(sig,
	    "DqUyz8Wh/72af7dimSXHw91IFxrAriTgVodyg2s67PU2mVStwLDQak+uIoCtfb43XONq0xVAp+vm5dqnhFAB1Q==");
	/* without a nonce */
	assert_int_equal(sign_kraken_futures(sig, fut_secret, strlen(fut_secret), SIGN_KRAKEN_LENIENT,
	    "/api/v3/orderbook", post, strlen(post), NULL, &err), 0);
	assert_string_equal(sig,
	    "BGOdiF//YXbOtKUkyFFRqKAft7gai33YfScxFrXMdMHGUJ6wSaMA6y0p6UzfYzj5Flgvv+SFQe53h2KrEe37Ng==");
	/* lenient decoding of an already padded secret gives the same key */
	{
		char padded[sizeof(fut_secret) + 1];
		memcpy(padded, fut_secret, sizeof(fut_secret) - 1);
		padded[sizeof(fut_secret) - 1] = '=';
		padded[sizeof(fut_secret)] = '\0';
		assert_int_equal(sign_kraken_futures(sig, padded, strlen(padded), SIGN_KRAKEN_LENIENT,
		    "/api/v3/orderbook", post, strlen(post), NULL, &err), 0);
		assert_string_equal(sig,
		    "BGOdiF//YXbOtKUkyFFRqKAft7gai33YfScxFrXMdMHGUJ6wSaMA6y0p6UzfYzj5Flgvv+SFQe53h2KrEe37Ng==");
		/* strict: padded but with non-zero unused bits -> refused */
		assert_int_equal(sign_kraken_futures(sig, padded, strlen(padded), SIGN_KRAKEN_STRICT,
		    "/api/v3/orderbook", post, strlen(post), NULL, &err), -1);
	}
}

static void
test_futures_strict(void **state)
{
	char sig[SIGN_KRAKEN_LEN], sig2[SIGN_KRAKEN_LEN];
	const char *err = NULL;

	(void)state;
	assert_int_equal(sign_kraken_futures(sig, fut_secret, strlen(fut_secret), SIGN_KRAKEN_STRICT,
	    "/api/v3/orderbook", "", 0, NULL, &err), -1);
	assert_string_equal(err, "API secret is not valid base64");
	/* a canonical secret signs the same in both modes */
	assert_int_equal(sign_kraken_futures(sig, spot_secret, strlen(spot_secret), SIGN_KRAKEN_STRICT,
	    "/derivatives/api/v3/accounts", "", 0, "1", &err), 0);
	assert_int_equal(sign_kraken_futures(sig2, spot_secret, strlen(spot_secret), SIGN_KRAKEN_LENIENT,
	    "/api/v3/accounts", "", 0, "1", &err), 0);
	assert_string_equal(sig, sig2);
	/* lenient still refuses impossible lengths and foreign characters */
	assert_int_equal(sign_kraken_futures(sig, "abcde", 5, SIGN_KRAKEN_LENIENT, "/x", "", 0, NULL, &err), -1);
	assert_int_equal(sign_kraken_futures(sig, "ab$d", 4, SIGN_KRAKEN_LENIENT, "/x", "", 0, NULL, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spot_official),
		cmocka_unit_test(test_spot_bad_secret),
		cmocka_unit_test(test_futures_official),
		cmocka_unit_test(test_futures_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
