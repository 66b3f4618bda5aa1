#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/prim.h"
#include "kat.h"

/* RFC 7748 section 5.2: X25519(scalar, u) for the two single-shot vectors. */
static void
test_x25519_rfc7748_vectors(void **state)
{
	static const struct {
		const char *scalar, *u, *out;
	} v[] = {
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	uint8_t k[32], u[32], out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		kat_unhex(k, 32, v[i].scalar);
		kat_unhex(u, 32, v[i].u);
		assert_int_equal(prim_x25519_shared(out, k, u), 0);
		kat_assert_hex(out, 32, v[i].out);
	}
}

/* RFC 7748 section 5.2, iterated: k = X25519(k, u), u = old k, from k = u = 9. */
static void
test_x25519_rfc7748_iterated(void **state)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32];

	(void)state;
	for (int i = 1; i <= 1000; i++) {
		assert_int_equal(prim_x25519_shared(r, k, u), 0);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			kat_assert_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	}
	kat_assert_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

/* RFC 7748 section 6.1: Alice and Bob. */
static void
test_x25519_rfc7748_dh(void **state)
{
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32];

	(void)state;
	kat_unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	kat_unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	assert_int_equal(prim_x25519_public(apub, a), 0);
	kat_assert_hex(apub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(prim_x25519_public(bpub, b), 0);
	kat_assert_hex(bpub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(prim_x25519_shared(s1, a, bpub), 0);
	assert_int_equal(prim_x25519_shared(s2, b, apub), 0);
	kat_assert_hex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	kat_assert_hex(s2, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	/* The key-pair variant (own public key supplied) gives the same secret. */
	memset(s1, 0, sizeof(s1));
	assert_int_equal(prim_x25519_shared_kp(s1, a, apub, bpub), 0);
	kat_assert_hex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

/* Peer keys of small order give an all-zero secret: refused, output untouched. */
static void
test_x25519_small_order(void **state)
{
	static const char *const bad[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",	/* order 4 */
		"0100000000000000000000000000000000000000000000000000000000000000",	/* order 1 */
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",	/* order 8 */
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",	/* order 8 */
	};
	uint8_t priv[32], peer[32], out[32];

	(void)state;
	kat_unhex(priv, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kat_unhex(peer, 32, bad[i]);
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(prim_x25519_shared(out, priv, peer), -1);
		assert_int_equal(prim_x25519_shared_kp(out, priv, peer, peer), -1);
		for (size_t j = 0; j < sizeof(out); j++)
			assert_int_equal(out[j], 0xaa);
	}
}

static void
test_x25519_keygen(void **state)
{
	uint8_t a[32], apub[32], b[32], bpub[32], s1[32], s2[32], again[32];

	(void)state;
	assert_int_equal(prim_x25519_keygen(a, apub), 0);
	assert_int_equal(prim_x25519_keygen(b, bpub), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(prim_x25519_public(again, a), 0);
	assert_memory_equal(again, apub, 32);
	assert_int_equal(prim_x25519_shared(s1, a, bpub), 0);
	assert_int_equal(prim_x25519_shared(s2, b, apub), 0);
	assert_memory_equal(s1, s2, 32);
}

static void
test_sha(void **state)
{
	uint8_t d256[32], d512[64];

	(void)state;
	/* FIPS 180-2 appendix examples: "abc" and the empty string. */
	prim_sha256(d256, "abc", 3);
	kat_assert_hex(d256, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	prim_sha256(d256, "", 0);
	kat_assert_hex(d256, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	prim_sha512(d512, "abc", 3);
	kat_assert_hex(d512, 64, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

/* RFC 5869 appendix A, test cases 1-3 (SHA-256). */
static void
test_hkdf_rfc5869(void **state)
{
	uint8_t ikm[80], salt[80], info[80], okm[82];
	size_t i;

	(void)state;
	/* Case 1 */
	memset(ikm, 0x0b, 22);
	for (i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	assert_int_equal(prim_hkdf_sha256(okm, 42, ikm, 22, salt, 13, info, 10), 0);
	kat_assert_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	    "34007208d5b887185865");
	/* Case 2: 80-byte inputs, 82 bytes out */
	for (i = 0; i < 80; i++) {
		ikm[i] = (uint8_t)i;
		salt[i] = (uint8_t)(0x60 + i);
		info[i] = (uint8_t)(0xb0 + i);
	}
	assert_int_equal(prim_hkdf_sha256(okm, 82, ikm, 80, salt, 80, info, 80), 0);
	kat_assert_hex(okm, 82, "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	    "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	    "cc30c58179ec3e87c14c01d5c1f3434f1d87");
	/* Case 3: empty salt and info */
	memset(ikm, 0x0b, 22);
	assert_int_equal(prim_hkdf_sha256(okm, 42, ikm, 22, NULL, 0, NULL, 0), 0);
	kat_assert_hex(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	    "9d201395faa4b61a96c8");
	/* Output lengths HKDF cannot produce */
	assert_int_equal(prim_hkdf_sha256(okm, 0, ikm, 22, NULL, 0, NULL, 0), -1);
	{
		uint8_t big[255 * 32 + 1];

		assert_int_equal(prim_hkdf_sha256(big, 255 * 32, ikm, 22, NULL, 0, NULL, 0), 0);
		assert_int_equal(prim_hkdf_sha256(big, sizeof(big), ikm, 22, NULL, 0, NULL, 0), -1);
	}
}

/* McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 13-16. */
static const struct gcm_case {
	const char *name, *key, *iv, *pt, *aad, *ct, *tag;
} gcm_cases[] = {
	{ "13", "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "14", "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "00000000000000000000000000000000", "",
	  "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	  "b094dac5d93471bdec1a502270e3cc6c" },
	{ "16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

struct gcm_vec {
	uint8_t key[32], iv[12], pt[64], aad[20], ct[64], tag[16];
	size_t len, aad_len;
};

static void
gcm_load(struct gcm_vec *v, const struct gcm_case *c)
{
	v->len = strlen(c->pt) / 2;
	v->aad_len = strlen(c->aad) / 2;
	kat_unhex(v->key, 32, c->key);
	kat_unhex(v->iv, 12, c->iv);
	kat_unhex(v->pt, v->len, c->pt);
	kat_unhex(v->aad, v->aad_len, c->aad);
	kat_unhex(v->ct, v->len, c->ct);
	kat_unhex(v->tag, 16, c->tag);
}

static void
test_gcm_vectors(void **state)
{
	struct gcm_vec v;
	uint8_t out[64], tag[16], buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(gcm_cases) / sizeof(gcm_cases[0]); i++) {
		gcm_load(&v, &gcm_cases[i]);
		assert_int_equal(prim_aes256gcm_seal(out, tag, v.pt, v.len, v.aad, v.aad_len, v.iv, v.key), 0);
		assert_memory_equal(out, v.ct, v.len);
		assert_memory_equal(tag, v.tag, 16);
		assert_int_equal(prim_aes256gcm_open(out, v.ct, v.len, v.tag, v.aad, v.aad_len, v.iv, v.key), 0);
		assert_memory_equal(out, v.pt, v.len);
		/* In place, both directions. */
		memcpy(buf, v.pt, v.len);
		assert_int_equal(prim_aes256gcm_seal(buf, tag, buf, v.len, v.aad, v.aad_len, v.iv, v.key), 0);
		assert_memory_equal(buf, v.ct, v.len);
		assert_int_equal(prim_aes256gcm_open(buf, buf, v.len, tag, v.aad, v.aad_len, v.iv, v.key), 0);
		assert_memory_equal(buf, v.pt, v.len);
	}
}

static void
assert_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], 0);
}

/* Test case 16 with one bit flipped in the tag, the AAD, the ciphertext or the nonce. */
static void
test_gcm_tamper(void **state)
{
	struct gcm_vec v;
	uint8_t out[64];

	(void)state;
	gcm_load(&v, &gcm_cases[3]);
	uint8_t *const flip[] = { &v.tag[15], &v.aad[0], &v.ct[30], &v.iv[0], &v.key[31] };

	for (size_t i = 0; i < sizeof(flip) / sizeof(flip[0]); i++) {
		*flip[i] ^= 0x04;
		memset(out, 0x55, sizeof(out));
		assert_int_equal(prim_aes256gcm_open(out, v.ct, v.len, v.tag, v.aad, v.aad_len, v.iv, v.key), -1);
		assert_zero(out, v.len);
		*flip[i] ^= 0x04;
	}
	/* Dropping the AAD altogether fails too. */
	assert_int_equal(prim_aes256gcm_open(out, v.ct, v.len, v.tag, NULL, 0, v.iv, v.key), -1);
	/* Restored: opens again. */
	assert_int_equal(prim_aes256gcm_open(out, v.ct, v.len, v.tag, v.aad, v.aad_len, v.iv, v.key), 0);
	assert_memory_equal(out, v.pt, v.len);
}

/* RFC 8032 section 7.1: TEST 1, 2, 3 and TEST SHA(abc). */
static const struct ed_case {
	const char *seed, *pub, *msg, *sig;
} ed_cases[] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	{ "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
	  "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	  "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
	  "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704" },
};

static void
test_ed25519_rfc8032(void **state)
{
	uint8_t seed[32], pub[32], msg[64], sig[64], want[64];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(ed_cases) / sizeof(ed_cases[0]); i++) {
		const struct ed_case *c = &ed_cases[i];

		len = strlen(c->msg) / 2;
		kat_unhex(seed, 32, c->seed);
		kat_unhex(msg, len, c->msg);
		kat_unhex(want, 64, c->sig);
		assert_int_equal(prim_ed25519_public(pub, seed), 0);
		kat_assert_hex(pub, 32, c->pub);
		assert_int_equal(prim_ed25519_sign(sig, msg, len, seed), 0);
		assert_memory_equal(sig, want, 64);
		assert_int_equal(prim_ed25519_verify(sig, msg, len, pub), 0);
		/* One flipped bit anywhere in signature or message is a failure. */
		sig[i * 7] ^= 0x01;
		assert_int_equal(prim_ed25519_verify(sig, msg, len, pub), -1);
		sig[i * 7] ^= 0x01;
		if (len > 0) {
			msg[len - 1] ^= 0x80;
			assert_int_equal(prim_ed25519_verify(sig, msg, len, pub), -1);
			msg[len - 1] ^= 0x80;
		}
		/* Right signature, wrong key. */
		pub[0] ^= 0x02;
		assert_int_equal(prim_ed25519_verify(sig, msg, len, pub), -1);
	}
	/* TEST 1 again with the empty message given as NULL. */
	kat_unhex(seed, 32, ed_cases[0].seed);
	kat_unhex(want, 64, ed_cases[0].sig);
	assert_int_equal(prim_ed25519_sign(sig, NULL, 0, seed), 0);
	assert_memory_equal(sig, want, 64);
	assert_int_equal(prim_ed25519_public(pub, seed), 0);
	assert_int_equal(prim_ed25519_verify(sig, NULL, 0, pub), 0);
	/* TEST SHA(abc) signs SHA-512("abc"): check the message is that digest. */
	prim_sha512(msg, "abc", 3);
	kat_assert_hex(msg, 64, ed_cases[3].msg);
}

static void
test_ed25519_keygen(void **state)
{
	uint8_t seed[32], pub[32], again[32], sig[64];
	const char msg[] = "perf-aggregator";

	(void)state;
	assert_int_equal(prim_ed25519_keygen(seed, pub), 0);
	assert_int_equal(prim_ed25519_public(again, seed), 0);
	assert_memory_equal(again, pub, 32);
	assert_int_equal(prim_ed25519_sign(sig, (const uint8_t *)msg, sizeof(msg) - 1, seed), 0);
	assert_int_equal(prim_ed25519_verify(sig, (const uint8_t *)msg, sizeof(msg) - 1, pub), 0);
	assert_int_equal(prim_ed25519_verify(sig, (const uint8_t *)msg, sizeof(msg) - 2, pub), -1);
}

static void
test_ct_equal_and_random(void **state)
{
	uint8_t a[64], b[64];

	(void)state;
	prim_random(a, sizeof(a));
	prim_random(b, sizeof(b));
	/* 2^-512 odds of a false failure. */
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(prim_ct_equal(a, b, sizeof(a)), 0);
	memcpy(b, a, sizeof(a));
	assert_int_equal(prim_ct_equal(a, b, sizeof(a)), 1);
	b[63] ^= 0x01;
	assert_int_equal(prim_ct_equal(a, b, sizeof(a)), 0);
	assert_int_equal(prim_ct_equal(a, b, 63), 1);
	assert_int_equal(prim_ct_equal(a, b, 0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_rfc7748_vectors),
		cmocka_unit_test(test_x25519_rfc7748_iterated),
		cmocka_unit_test(test_x25519_rfc7748_dh),
		cmocka_unit_test(test_x25519_small_order),
		cmocka_unit_test(test_x25519_keygen),
		cmocka_unit_test(test_sha),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_gcm_vectors),
		cmocka_unit_test(test_gcm_tamper),
		cmocka_unit_test(test_ed25519_rfc8032),
		cmocka_unit_test(test_ed25519_keygen),
		cmocka_unit_test(test_ct_equal_and_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
