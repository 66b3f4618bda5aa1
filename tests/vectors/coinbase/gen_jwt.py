#!/usr/bin/env python3
"""Independent Coinbase CDP JWT vectors for tests/unit/exchange/test_sign_coinbase.c.

Built with Python's `cryptography` (Debian python3-cryptography 48.0.0), not with
our C code: the JWT is assembled as coinbase-advanced-py's jwt_generator.py does
through PyJWT (header keys sorted, compact separators, payload in insertion
order, base64url without padding). Run: python3 gen_jwt.py > jwt.json
The EdDSA vector is deterministic; the ES256 one is randomized (ECDSA), so the C
test only verifies it. The EdDSA signature was also re-checked with the OpenSSL
CLI (`openssl pkeyutl -sign -rawin`), see check_openssl.sh.
"""
import base64
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def assemble(alg, kid, nonce, claims):
    header = {"alg": alg, "kid": kid, "nonce": nonce, "typ": "JWT"}
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    p = json.dumps(claims, separators=(",", ":")).encode()
    return b64url(h) + "." + b64url(p)


def claims(kid, now, uri):
    return {"sub": kid, "iss": "cdp", "nbf": now, "exp": now + 120, "uri": uri}


KID = "organizations/1f0c7e63-2a4b-4c55-9d0e-7a1b2c3d4e5f/apiKeys/9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
NONCE = "3f8a2b1c9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
NOW = 1700000000
URI = "GET api.coinbase.com/api/v3/brokerage/orders/historical/fills"

# Ed25519: RFC 8032 section 7.1 TEST 1 seed; Coinbase's secret is base64(seed || pub).
seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
sk = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
ed_secret = base64.b64encode(seed + pub).decode()
signing_input = assemble("EdDSA", KID, NONCE, claims(KID, NOW, URI))
ed_jwt = signing_input + "." + b64url(sk.sign(signing_input.encode()))

# ES256: a fixed P-256 scalar so the key is reproducible; the signature is not.
d = int("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721", 16)
ek = ec.derive_private_key(d, ec.SECP256R1())
sec1 = ek.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                        serialization.NoEncryption()).decode()
pkcs8 = ek.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                         serialization.NoEncryption()).decode()
es_uri = "GET api.coinbase.com/api/v3/brokerage/accounts"
es_input = assemble("ES256", KID, NONCE, claims(KID, NOW, es_uri))
r, s = decode_dss_signature(ek.sign(es_input.encode(), ec.ECDSA(hashes.SHA256())))
es_jwt = es_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

# Negative and variant cases, all signed with the Ed25519 key above.
def ed_sign(claims_obj, header_alg="EdDSA"):
    si = assemble(header_alg, KID, NONCE, claims_obj)
    return si + "." + b64url(sk.sign(si.encode()))


long_claims = claims(KID, NOW, URI)
long_claims["exp"] = NOW + 121
# ccxt's EdDSA variant: aud, iss cdp, uris[] and iat (exchanges.md 5.4).
ccxt_claims = {"aud": ["cdp_service"], "iss": "cdp", "nbf": NOW, "exp": NOW + 120, "sub": KID,
               "uris": [URI], "iat": NOW}
p384 = ec.derive_private_key(12345678901234567890, ec.SECP384R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption()).decode()

print(json.dumps({
    "kid": KID, "nonce": NONCE, "now": NOW,
    "eddsa": {"secret": ed_secret, "uri": URI, "jwt": ed_jwt,
              "signing_input": signing_input},
    "es256": {"secret_sec1": sec1, "secret_pkcs8": pkcs8, "uri": es_uri, "jwt": es_jwt},
    "eddsa_lifetime_121": ed_sign(long_claims),
    "eddsa_ccxt_uris": ed_sign(ccxt_claims),
    "eddsa_header_es256": ed_sign(claims(KID, NOW, URI), "ES256"),
    "p384_sec1": p384,
}, indent=1))
