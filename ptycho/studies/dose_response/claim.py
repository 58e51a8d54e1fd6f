"""The study's numbers over seeds, and the claim it was built to test.

The claim (PtychoPINN, 2026 preprint): with the Poisson NLL at about 10^4 photons per pattern the
reconstruction reaches the FRC resolution that amplitude MAE reaches only at about 10x the dose.
Tested here as: the dose at which MAE's mean resolution (FRC at 1/7, as a fraction of Nyquist) first
reaches NLL's mean resolution at 10^4, read off MAE's curve linearly interpolated in log dose, as a
ratio to 10^4. Its uncertainty comes from a bootstrap over seeds (each dose's seeds resampled with
replacement, for both losses, 2000 times): the 16th-84th percentile interval of the ratio. The
verdict: "supported" when the interval's lower end is at least ``SUPPORT_RATIO`` (MAE needs clearly
more dose), "refuted" when its upper end is below it, "inconclusive" otherwise.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from .presets import dose_name

REFERENCE_DOSE = 1e4
CLAIMED_RATIO = 10.0
SUPPORT_RATIO = 3.0  # a third of the claimed ratio: "about 10x" and not "about the same"
CLAIM_METRIC = "nyquist_fraction_1_7"
SUMMARY_METRICS = (
    "amplitude_ssim",
    "amplitude_psnr",
    "amplitude_mae",
    "nyquist_fraction_1_7",
    "resolution_px_1_7",
    "nyquist_fraction_0_5",
    "resolution_px_0_5",
    "seconds",
    "train_seconds",
    "inference_seconds",
)
_DRAWS = 2000
_LABELS = {
    "nyquist_fraction_1_7": "an FRC (1/7) resolution of",
    "nyquist_fraction_0_5": "an FRC (0.5) resolution of",
    "amplitude_ssim": "an amplitude SSIM of",
}


def _method(entry: dict) -> str:
    return str(entry["loss"] if entry["method"] == "pinn" else entry["method"])


def summarize(metrics: dict[str, dict]) -> dict[str, object]:
    """Mean, standard deviation (ddof 1; 0 for one seed) and count over seeds, per method and dose.

    Methods are the losses (``nll``, ``mae``) and the baseline engine; invalid entries are left out
    and counted.
    """
    groups: dict[tuple[str, float], list[dict]] = defaultdict(list)
    for entry in metrics.values():
        groups[(_method(entry), float(entry["nphotons"]))].append(entry)
    table: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    for (method, dose), entries in sorted(groups.items(), key=lambda kv: kv[0]):
        valid = [e for e in entries if e["valid"]]
        row: dict[str, object] = {"nphotons": dose, "seeds": len(valid), "invalid": len(entries) - len(valid)}
        for key in SUMMARY_METRICS:
            values = np.array([e[key] for e in valid if key in e], dtype=np.float64)
            if values.size:
                row[key] = {
                    "mean": float(values.mean()),
                    "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
                    "n": int(values.size),
                }
        table[method][dose_name(dose)] = row
    return {"by_method": dict(table)}


def matching_dose(doses: np.ndarray, curve: np.ndarray, target: float) -> tuple[float, str]:
    """The lowest dose where ``curve`` (sorted by dose, linear in log10 dose) reaches ``target``.

    Returns ``(dose, how)``: ``how`` is "interpolated", "at or below" (reached at the lowest dose
    already) or "above" (never reached; the highest dose returned as a lower bound).
    """
    if curve[0] >= target:
        return float(doses[0]), "at or below"
    logs = np.log10(doses)
    for i in range(1, len(curve)):
        if curve[i] >= target:
            t = (target - curve[i - 1]) / (curve[i] - curve[i - 1])
            return float(10 ** (logs[i - 1] + t * (logs[i] - logs[i - 1]))), "interpolated"
    return float(doses[-1]), "above"


def _values(metrics: dict[str, dict], method: str, metric: str) -> dict[float, np.ndarray]:
    by_dose: dict[float, list[float]] = defaultdict(list)
    for entry in metrics.values():
        if _method(entry) == method and entry["valid"] and metric in entry:
            by_dose[float(entry["nphotons"])].append(float(entry[metric]))
    return {dose: np.array(v) for dose, v in sorted(by_dose.items())}


def claim_verdict(
    metrics: dict[str, dict],
    reference_dose: float = REFERENCE_DOSE,
    metric: str = CLAIM_METRIC,
    seed: int = 0,
) -> dict[str, object]:
    """The dose ratio MAE needs to match NLL's ``metric`` (higher is better; the claim's: FRC
    resolution) at ``reference_dose`` (the claim's: 10^4), its interval and the verdict."""
    nll, mae = _values(metrics, "nll", metric), _values(metrics, "mae", metric)
    if reference_dose not in nll or len(mae) < 2:
        return {
            "verdict": "not tested",
            "statement": f"needs NLL at {reference_dose:g} photons and MAE at two or more doses; "
            f"ran NLL at {sorted(nll)} and MAE at {sorted(mae)}",
        }
    doses = np.array(list(mae))
    target = float(nll[reference_dose].mean())
    dose, how = matching_dose(doses, np.array([v.mean() for v in mae.values()]), target)
    rng = np.random.default_rng(seed)
    ratios, hows = [], []
    for _ in range(_DRAWS):
        drawn = float(rng.choice(nll[reference_dose], nll[reference_dose].size).mean())
        curve = np.array([rng.choice(v, v.size).mean() for v in mae.values()])
        d, h = matching_dose(doses, curve, drawn)
        ratios.append(d / reference_dose if h != "above" else math.inf)
        hows.append(h)
    # No interpolation between draws: a draw where MAE never reaches the target is an infinite ratio.
    low, high = (float(x) for x in np.percentile(ratios, [16, 84], method="inverted_cdf"))
    ratio = dose / reference_dose
    if low >= SUPPORT_RATIO:
        verdict = "supported"
    elif high < SUPPORT_RATIO:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    point = {
        "interpolated": f"{ratio:.3g}x the dose",
        "at or below": f"at most {ratio:.3g}x the dose (already at the lowest dose run)",
        "above": f"more than {ratio:.3g}x the dose (never in the doses run)",
    }[how]
    upper = "no upper bound" if math.isinf(high) else f"{high:.3g}x"
    reached = f"{_LABELS.get(metric, metric)} {target:.3f}" + (" of Nyquist" if "nyquist" in metric else "")
    statement = (
        f"NLL at {reference_dose:g} photons reaches {reached}; MAE reaches that at {point} "
        f"(68% bootstrap interval over seeds {low:.3g}x to {upper}); the claim is about "
        f"{CLAIMED_RATIO:g}x: {verdict}"
    )
    return {
        "metric": metric,
        "reference_dose": reference_dose,
        "nll_at_reference": target,
        "mae_matching_dose": dose,
        "how": how,
        "ratio": ratio,
        "ratio_interval_68": [low, None if math.isinf(high) else high],  # None: no upper bound
        "bootstrap_never_reached": hows.count("above") / _DRAWS,
        "support_ratio": SUPPORT_RATIO,
        "verdict": verdict,
        "statement": statement,
    }


def ratios_by_reference(metrics: dict[str, dict], metric: str = CLAIM_METRIC) -> dict[str, dict[str, object]]:
    """The same test with every NLL dose but the highest as the reference: where, if anywhere, the
    Poisson loss saves dose on this preset (the claim's own reference is 10^4)."""
    doses = sorted(_values(metrics, "nll", metric))[:-1]
    return {dose_name(d): claim_verdict(metrics, reference_dose=d, metric=metric) for d in doses}
