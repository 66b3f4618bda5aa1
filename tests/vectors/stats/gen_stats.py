#!/usr/bin/python3
"""Expected values for tests/unit/core/test_stats.c.

Implements empyrical's formulas literally, as ../shared/reference/metrics.md
sections 1-3 state them, with numpy and scipy (Debian's python3-numpy and
python3-scipy; run with /usr/bin/python3), plus quantstats' parametric VaR and
CVaR. pandas is not used: quantstats' Series.mean()/std(ddof=1) are replaced
by the numpy equivalents, which agree to rounding.

Then it applies the project's undefined-value policy (core/stats.h)
independently of the C code: NaN or +-inf -> null, and the fragile rule
(a deviation <= 1e-12 x its numerator or mean) -> null. The raw empyrical
value of every fragile result is kept in "raw" for the record.

Writes stats_cases.json next to this script. The fixture is committed so the
C tests need no Python:  /usr/bin/python3 tests/vectors/stats/gen_stats.py
"""
import json
import math
import os
import warnings

import numpy as np
from scipy import stats as sps

REL = 1e-12
CUTOFF = 0.05
warnings.simplefilter("ignore")
np.seterr(all="ignore")
nan = float("nan")


def safe(f):
    """empyrical raises on some empty inputs (np.percentile([])): that is NaN."""
    def g(*a):
        try:
            return float(f(*a))
        except (IndexError, ValueError, ZeroDivisionError):
            return nan
    return g


def adjust(r, f):
    return r if f == 0 else r - f


@safe
def cum_returns_final(r):
    if len(r) == 0:
        return nan
    return np.nanprod(r + 1) - 1


@safe
def annual_return(r, A):
    if len(r) < 1:
        return nan
    num_years = len(r) / A
    ending_value = np.nanprod(r + 1)
    return ending_value ** (1 / num_years) - 1


@safe
def annual_volatility(r, A):
    if len(r) < 2:
        return nan
    return np.nanstd(r, ddof=1) * A ** (1.0 / 2.0)


@safe
def sharpe_ratio(r, rf, A):
    if len(r) < 2:
        return nan
    x = adjust(r, rf)
    return np.nanmean(x) / np.nanstd(x, ddof=1) * np.sqrt(A)


@safe
def downside_risk(r, req, A):
    if len(r) < 1:
        return nan
    d = np.clip(adjust(r, req), -np.inf, 0)
    return np.sqrt(np.nanmean(np.square(d))) * np.sqrt(A)


@safe
def sortino_ratio(r, req, A):
    if len(r) < 2:
        return nan
    return np.nanmean(adjust(r, req)) * A / downside_risk(r, req, A)


@safe
def max_drawdown(r):
    if len(r) < 1:
        return nan
    cum = np.empty(len(r) + 1)
    cum[0] = 100
    cum[1:] = np.cumprod(r + 1) * 100
    peak = np.fmax.accumulate(cum)
    return np.nanmin((cum - peak) / peak)


@safe
def calmar_ratio(r, A):
    mdd = max_drawdown(r)
    if not mdd < 0:
        return nan
    t = annual_return(r, A) / abs(mdd)
    return nan if np.isinf(t) else t


@safe
def omega_ratio(r, rf, req, A):
    if len(r) < 2:
        return nan
    if A == 1:
        thr = req
    elif req <= -1:
        return nan
    else:
        thr = (1 + req) ** (1. / A) - 1
    x = r - rf - thr
    numer = sum(x[x > 0.0])
    denom = -1.0 * sum(x[x < 0.0])
    return numer / denom if denom > 0.0 else nan


@safe
def value_at_risk(r):
    return np.percentile(r, 100 * CUTOFF)


@safe
def conditional_value_at_risk(r):
    k = int((len(r) - 1) * CUTOFF)
    return np.mean(np.partition(r, k)[:k + 1])


@safe
def tail_ratio(r):
    if len(r) < 1:
        return nan
    return np.abs(np.percentile(r, 95)) / np.abs(np.percentile(r, 5))


@safe
def stability_of_timeseries(r):
    if len(r) < 2:
        return nan
    y = np.log1p(r).cumsum()
    return sps.linregress(np.arange(len(y)), y)[2] ** 2


@safe
def beta(r, b):
    if len(r) < 2 or len(b) < 2:
        return nan
    res = b - np.nanmean(b)
    cov = np.nanmean(res * r)
    var = np.nanmean(np.square(res))
    if var < 1.0e-30:
        return nan
    return cov / var


@safe
def alpha(r, b, rf, A):
    if len(r) < 2:
        return nan
    bt = beta(r, b)
    return (1 + np.nanmean(adjust(r, rf) - bt * adjust(b, rf))) ** A - 1


@safe
def skew(r):
    return sps.skew(r)


@safe
def kurtosis(r):
    return sps.kurtosis(r)


@safe
def var_parametric(r):
    if len(r) < 2:
        return nan
    return sps.norm.ppf(1 - 0.95, np.mean(r), np.std(r, ddof=1))


@safe
def cvar_parametric(r):
    v = var_parametric(r)
    below = r[r < v]
    c = np.mean(below) if len(below) else nan
    return c if not np.isnan(c) else v


def fragile(den, num):
    return not abs(den) > REL * abs(num)


def fragile_flags(r, b, p):
    """Which results the fragile rule of the policy turns into null."""
    A, rf, req = p["periods"], p["risk_free"], p["required_return"]
    f = set()
    n = len(r)
    if n >= 2:
        x = adjust(r, rf)
        if fragile(np.std(x, ddof=1), np.mean(x)):
            f.add("sharpe_ratio")
        if fragile(np.std(r, ddof=1), np.mean(r)):
            f |= {"value_at_risk_parametric", "conditional_value_at_risk_parametric"}
        m = np.mean(adjust(r, req)) * A
        if fragile(downside_risk(r, req, A), m):
            f.add("sortino_ratio")
        thr = (p["omega_required_return"] + 1) ** (1. / A) - 1 if A != 1 else p["omega_required_return"]
        xo = r - rf - thr
        if fragile(-sum(xo[xo < 0]), sum(xo[xo > 0])):
            f.add("omega_ratio")
    if n >= 1:
        mdd = max_drawdown(r)
        if mdd < 0 and fragile(mdd, annual_return(r, A)):
            f.add("calmar_ratio")
        if fragile(np.percentile(r, 5), np.percentile(r, 95)):
            f.add("tail_ratio")
        if fragile(np.sqrt(np.mean(np.square(r - np.mean(r)))), np.mean(r)):
            f |= {"skew", "kurtosis"}
    if b is not None and len(b) >= 2:
        if fragile(np.sqrt(np.mean(np.square(b - np.mean(b)))), np.mean(b)):
            f |= {"beta", "alpha"}
    return f


def compute(r, b, p):
    A, rf, req = p["periods"], p["risk_free"], p["required_return"]
    out = {
        "cum_returns_final": cum_returns_final(r),
        "annual_return": annual_return(r, A),
        "annual_volatility": annual_volatility(r, A),
        "sharpe_ratio": sharpe_ratio(r, rf, A),
        "sortino_ratio": sortino_ratio(r, req, A),
        "downside_risk": downside_risk(r, req, A),
        "max_drawdown": max_drawdown(r),
        "calmar_ratio": calmar_ratio(r, A),
        "omega_ratio": omega_ratio(r, rf, p["omega_required_return"], A),
        "value_at_risk": value_at_risk(r),
        "conditional_value_at_risk": conditional_value_at_risk(r),
        "tail_ratio": tail_ratio(r),
        "stability_of_timeseries": stability_of_timeseries(r),
        "beta": beta(r, b) if b is not None else nan,
        "alpha": alpha(r, b, rf, A) if b is not None else nan,
        "skew": skew(r),
        "kurtosis": kurtosis(r),
        "value_at_risk_parametric": var_parametric(r),
        "conditional_value_at_risk_parametric": cvar_parametric(r),
    }
    flags = fragile_flags(r, b, p)
    expected, raw = {}, {}
    for k, v in out.items():
        if k in flags:
            raw[k] = v if math.isfinite(v) else repr(v)
            expected[k] = None
        else:
            expected[k] = v if math.isfinite(v) else None
    return expected, raw


def case(name, r, b=None, periods=365, risk_free=0.0, required_return=0.0, omega_required_return=0.0):
    r = np.array(r, dtype=float)
    bb = np.array(b, dtype=float) if b is not None else None
    p = dict(periods=periods, risk_free=risk_free, required_return=required_return,
             omega_required_return=omega_required_return)
    expected, raw = compute(r, bb, p)
    return dict(name=name, returns=[float(x) for x in r],
                benchmark=None if b is None else [float(x) for x in bb],
                **p, expected=expected, raw_fragile=raw)


def concentration_cases():
    hhi = []
    for v in ([1, 1, 1, 1], [5, 0, 0], [3, 1, 0.5, 0.25, 2], [1e300, 1e300, 3e299]):
        w = np.array(v, dtype=float) / np.sum(v)
        hhi.append(dict(weights=[float(x) for x in v], expected=float(np.sum(w * w))))
    rng = np.random.RandomState(7)
    a = rng.normal(0, 1, 30)
    series = [a, 0.5 * a + rng.normal(0, 1, 30), -a, np.full(30, 12.5), rng.normal(3, 2, 30)]
    m = np.corrcoef(np.array(series))
    const = [i for i, s in enumerate(series) if np.std(s) <= REL * abs(np.mean(s))]
    exp = [[None if (i in const or j in const) else (1.0 if i == j else float(m[i][j]))
            for j in range(len(series))] for i in range(len(series))]
    return hhi, dict(series=[[float(x) for x in s] for s in series], expected=exp)


def main():
    mixed = [0.01, 0.10, -0.04, 0.02, 0.03, 0.02, 0.01, -0.10]  # empyrical mixed_returns, NaN dropped
    positive = [0.01, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]
    negative = [-0.02, -0.06, -0.07, -0.01, -0.09, -0.02, -0.06, -0.08, -0.05]
    neg_bench = [-0.06, -0.07, -0.01, -0.09, -0.02, -0.06, -0.08, -0.05]  # negative_returns[1:]
    rng = np.random.RandomState(20240101)
    long_r = rng.normal(0.0008, 0.03, 1000)
    long_b = 0.6 * long_r + rng.normal(0.0002, 0.02, 1000)
    cases = [
        case("mixed", mixed),
        case("mixed_252", mixed, periods=252),
        case("mixed_rf", mixed, risk_free=0.001, required_return=0.002, omega_required_return=0.1),
        case("mixed_rf_252", mixed, periods=252, risk_free=0.001, required_return=0.002,
             omega_required_return=0.1),
        case("mixed_bench", mixed, b=neg_bench),
        case("mixed_bench_rf", mixed, b=neg_bench, risk_free=0.0005, periods=252),
        case("mixed_bench_const", mixed, b=[0.01] * 8),
        case("mixed_bench_zero", mixed, b=[0.0] * 8),
        case("all_positive", positive),
        case("all_negative", negative),
        case("crash", [0.02, 0.01, -0.015, 0.03, -1.0, 0.0, 0.0, 0.01, -0.005, 0.004]),
        case("first_day_loss", [-0.02, 0.01, 0.01]),
        case("const_pos_30", [0.001] * 30),
        case("const_pos_exact", [0.5] * 16),
        case("const_neg", [-0.003] * 12),
        case("all_zeros", [0.0] * 10),
        case("all_zeros_rf", [0.0] * 10, risk_free=0.0001, required_return=0.0001),
        case("empty", []),
        case("one", [0.01]),
        case("one_252", [0.01], periods=252),
        case("two", [0.01, -0.02]),
        case("long", long_r, b=long_b),
        case("long_252_rf", long_r, b=long_b, periods=252, risk_free=0.0001, required_return=0.0003,
             omega_required_return=0.05),
        case("over_100pct", [0.5, 1.5, -0.3, 0.2, -0.6, 0.1]),
        case("weekly", [0.0, 0.01, 0.10, -0.04, 0.02, 0.03, 0.02, 0.01, -0.10], periods=52),
    ]
    hhi, corr = concentration_cases()
    doc = {
        "generator": "tests/vectors/stats/gen_stats.py",
        "numpy": np.__version__,
        "scipy": __import__("scipy").__version__,
        "tolerance": "abs 1e-12 + rel 1e-9",
        "cases": cases,
        # np.sum of the first k values of case "long": stats_sum must match bit for bit.
        "pairwise_sums": [dict(k=k, sum=float(np.sum(long_r[:k])))
                          for k in (0, 1, 7, 8, 9, 127, 128, 129, 136, 257, 999, 1000)],
        "hhi": hhi,
        "correlation": corr,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stats_cases.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
