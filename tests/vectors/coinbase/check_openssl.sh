#!/bin/sh
# Re-derives the EdDSA JWT of jwt.json with the OpenSSL CLI (second
# independent tool): signs the signing input with the RFC 8032 TEST 1 seed
# wrapped as PKCS#8 DER, and compares with the recorded JWT. Needs python3
# only to read jwt.json. Prints "ok" on a match.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# PKCS#8 prefix for an Ed25519 private key (RFC 8410) + the 32-byte seed.
printf '302e020100300506032b657004220420' | xxd -r -p > "$tmp/k.der"
printf '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60' | xxd -r -p >> "$tmp/k.der"
python3 -c 'import json;print(json.load(open("jwt.json"))["eddsa"]["signing_input"],end="")' > "$tmp/in"
openssl pkeyutl -sign -rawin -inkey "$tmp/k.der" -keyform DER -in "$tmp/in" -out "$tmp/sig"
sig=$(base64 -w0 < "$tmp/sig" | tr '+/' '-_' | tr -d '=')
want=$(python3 -c 'import json;print(json.load(open("jwt.json"))["eddsa"]["jwt"])')
[ "$(cat "$tmp/in").$sig" = "$want" ] && echo ok || { echo MISMATCH; exit 1; }
