#!/usr/bin/env python3
"""Generates jcs_numbers.txt: "<16 hex digits of the IEEE 754 double>,<RFC 8785 text>".

The expected text is computed independently of the C code: Python's repr()
gives the shortest digit string that round-trips (the closest one when there
are several, as ECMAScript requires), and layout() applies the ECMAScript
Number::toString rules. Values: every power of two, the neighbours of every
power of ten, and pseudo-random bit patterns from a fixed seed.
"""
import math
import random
import struct


def layout(v):
    if v == 0:
        return "0"
    if v < 0:
        return "-" + layout(-v)
    r = repr(v)
    mant, _, exp = r.partition("e")
    exp = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    digits = (ip + fp).lstrip("0")
    # exponent of the first significant digit
    lead = len(ip.lstrip("0")) if ip.strip("0") else -(len(fp) - len(fp.lstrip("0")))
    n = exp + lead
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + sign + str(abs(e))


def bits(v):
    return struct.unpack(">Q", struct.pack(">d", v))[0]


def main():
    values = []
    for e in range(-1074, 1024):
        values.append(2.0 ** e)
    for e in range(-323, 309):
        v = float("1e%d" % e)
        values += [v, math.nextafter(v, 0), math.nextafter(v, math.inf)]
    rnd = random.Random(8785)
    while len(values) < 12000:
        u = rnd.getrandbits(64)
        v = struct.unpack(">d", struct.pack(">Q", u))[0]
        if math.isfinite(v):
            values.append(v)
    with open("jcs_numbers.txt", "w") as f:
        for v in values:
            if math.isinf(v):
                continue
            f.write("%016x,%s\n" % (bits(v), layout(v)))


if __name__ == "__main__":
    main()
