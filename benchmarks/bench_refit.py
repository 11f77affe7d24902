"""Time per refit of one model structure to many data sets: rebuild + pm.sample vs compile once.

The model is the flagship's shape: a two-arm Weibull model (19 resected + 9 not resected
patients, years, weakly informative priors), refitted to simulated data sets.

(a) rebuild: build a ``pm.Model`` and call ``pm.sample`` for every data set. PyMC 6.4 samples
    with nutpie when it is installed (the sampler is read back from the result and printed),
    and ``pm.sample`` compiles the model again on every call.
(b) compile once: ``resurv.fit.fit``, i.e. one ``resurv.fit.compile.compile_model`` per structure,
    then ``compiled.with_data(...)`` + ``nutpie.sample`` per data set, plus the diagnostics gate
    and derived groups.
(c) raw swap: ``nutpie.sample(compiled.with_data(...))`` alone, to show what (b) adds.

Same sampler settings everywhere (draws, tune, chains, cores, seed per data set).

Run: ``python benchmarks/bench_refit.py [--datasets 50] [--rebuild 10]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

ARMS = ("resected", "not_resected")
N = (19, 9)
LAM = (0.02, 0.4)  # per year**k: 4-year survival about 0.93 and 0.14 with k = 1.2
K = 1.2
SETTINGS = {"draws": 1000, "tune": 1000, "chains": 4, "cores": 2}


def datasets(count: int, seed: int):
    from resurv.model.families import get_family
    from resurv.model.individual_data import IndividualData

    rng = np.random.default_rng(seed)
    weibull = get_family("weibull")
    out = []
    for _ in range(count):
        time_, event, arm = [], [], []
        for a, n, lam in zip(ARMS, N, LAM, strict=True):
            t = weibull.sample(rng, lam, K, size=n)
            c = rng.uniform(1.0, 17.0, size=n)  # accrual 1981-1998, close 1999
            time_.append(np.minimum(t, c))
            event.append(t <= c)
            arm.append(np.full(n, a))
        joined = [np.concatenate(x) for x in (time_, event, arm)]
        out.append(IndividualData(*joined, arms=ARMS))
    return out


def bench_rebuild(data, seed):
    import pymc as pm

    from resurv.fit.build import build_model

    times, samplers = [], set()
    for i, term in enumerate(data):
        start = time.perf_counter()
        model = build_model("weibull", "weakly_informative", ARMS, ARMS[0], [term])
        idata = pm.sample(
            model=model,
            draws=SETTINGS["draws"],
            tune=SETTINGS["tune"],
            chains=SETTINGS["chains"],
            cores=SETTINGS["cores"],
            random_seed=seed + i,
            progressbar=False,
        )
        times.append(time.perf_counter() - start)
        samplers.add(idata["posterior"].attrs.get("inference_library", "unknown"))
    return np.array(times), samplers


def bench_compile_once(data, seed):
    from resurv.fit import cache as _compile
    from resurv.fit.sampling import fit

    _compile.clear_cache()
    times, failed = [], 0
    for i, term in enumerate(data):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit(term, arms=ARMS, family="weibull", seed=seed + i, **SETTINGS)
        times.append(time.perf_counter() - start)
        failed += not res.passed
    return np.array(times), failed


def bench_raw_swap(data, seed):
    import nutpie

    from resurv.fit import cache as _compile
    from resurv.fit.build import _data_arrays, _resolve, _structure_key, build_model

    resolved = _resolve("weibull", "weakly_informative", ARMS, None, data[:1])
    family, prior, arms, ref, terms = resolved
    key = _structure_key(family, prior, arms, ref, terms)
    entry, _ = _compile.get_compiled(key, lambda: build_model(family, prior, arms, ref, terms))
    times = []
    for i, term in enumerate(data):
        start = time.perf_counter()
        nutpie.sample(
            entry.with_data(_data_arrays([term], prior, family, arms, ref)),
            seed=seed + i,
            progress_bar=False,
            save_warmup=False,
            **SETTINGS,
        )
        times.append(time.perf_counter() - start)
    return np.array(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=50, help="data sets for (b) and (c)")
    parser.add_argument("--rebuild", type=int, default=10, help="data sets for (a), the slow path")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    data = datasets(args.datasets, args.seed)
    print(f"two-arm Weibull, {sum(N)} patients {N}; {SETTINGS}")
    t_a, samplers = bench_rebuild(data[: args.rebuild], args.seed)
    print(
        f"(a) build pm.Model + pm.sample (sampler: {', '.join(sorted(samplers))}), "
        f"{len(t_a)} data sets: {t_a.mean():.2f} s per fit (median {np.median(t_a):.2f} s)"
    )
    t_b, failed = bench_compile_once(data, args.seed)
    refit = t_b[1:]
    print(
        f"(b) resurv.fit.fit, compile once + with_data (sampler: nutpie), {len(t_b)} data sets: "
        f"first fit (compiles) {t_b[0]:.2f} s, then {refit.mean():.3f} s per refit "
        f"(median {np.median(refit):.3f} s, max {refit.max():.3f} s); "
        f"{failed} failed diagnostics"
    )
    t_c = bench_raw_swap(data, args.seed)
    print(f"(c) nutpie.sample(with_data) alone: {t_c.mean():.3f} s per refit")
    ratio = t_a.mean() / refit.mean()
    amortised = t_b.sum() / len(t_b)
    print(
        f"ratio (a)/(b) per refit: {ratio:.1f} (target >= 10); "
        f"(b) including its one compile, amortised over {len(t_b)}: {amortised:.3f} s per fit; "
        f"refit < 0.5 s: {refit.mean() < 0.5}"
    )


if __name__ == "__main__":
    main()
