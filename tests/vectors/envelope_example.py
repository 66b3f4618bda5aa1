#!/usr/bin/env python3
"""Recomputes the worked example of docs/PROTOCOL.md with the Python
`cryptography` package, independently of the C code, and prints every
intermediate value. tests/unit/core/test_envelope.c asserts the same values."""
import base64
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
INFO = b"perf-aggregator/v1/submit_key"

enclave_priv = bytes(range(0x40, 0x60))
ephemeral_priv = bytes(range(0x60, 0x80))
nonce = bytes(range(0x80, 0x8c))
# RFC 8785 for this metadata is just sorted keys, no whitespace (ASCII strings, integers below 2^53).
metadata = {"exchange": "binance", "label": "main", "ts": 1767225600000, "ttl": 3600}
plaintext = (b'{"userId":"alice","exchange":"binance","apiKey":"demo-key",'
             b'"secret":"demo-secret","accountType":"spot"}')


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(*RAW)


enclave_pub = pub(enclave_priv)
ephemeral_pub = pub(ephemeral_priv)
shared = X25519PrivateKey.from_private_bytes(ephemeral_priv).exchange(
    X25519PublicKey.from_public_bytes(enclave_pub))
salt = ephemeral_pub + enclave_pub
key = HKDF(hashes.SHA256(), 32, salt, INFO).derive(shared)
aad = json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode()
sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
ciphertext, tag = sealed[:-16], sealed[-16:]
b64 = lambda b: base64.b64encode(b).decode()
body = {"ephemeral_pub": b64(ephemeral_pub), "nonce": b64(nonce), "ciphertext": b64(ciphertext),
        "tag": b64(tag), "metadata": metadata}

for name, val in [("enclave_priv", enclave_priv), ("enclave_pub", enclave_pub),
                  ("ephemeral_priv", ephemeral_priv), ("ephemeral_pub", ephemeral_pub),
                  ("nonce", nonce), ("shared", shared), ("salt", salt), ("info", INFO),
                  ("key", key), ("aad", aad), ("plaintext", plaintext),
                  ("ciphertext", ciphertext), ("tag", tag)]:
    print("%-15s %s" % (name, val.hex()))
print("aad text       ", aad.decode())
print("ephemeral_pub64", b64(ephemeral_pub))
print("enclave_pub64  ", b64(enclave_pub))
print("nonce64        ", b64(nonce))
print("tag64          ", b64(tag))
print("ciphertext64   ", b64(ciphertext))
print("body (JCS)     ", json.dumps(body, sort_keys=True, separators=(",", ":")))
