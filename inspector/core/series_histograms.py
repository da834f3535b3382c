"""One tensor's distribution over a series: for every checkpoint, its percentile bands and a
histogram (the window's bands and ridgeline views).

The bands are TensorBoard's: min, the percentiles a normal distribution has at −1.5σ, −1σ,
the median, +1σ, +1.5σ, and max. min and max are exact; the others are read off a
FINE_BINS-bin histogram of the tensor's own range (within one bin, 1/FINE_BINS of the range),
which is then summed into ``bins`` bins for the ridgeline. Two passes per checkpoint (exact
statistics, then the histogram), one tensor at a time.
"""

from __future__ import annotations

from inspector.core.errors import CheckpointError
from inspector.core.progress import Job, Partial, sub_job

FINE_BINS = 1024
# P(Z < z) for z = -1.5, -1, 0, 1, 1.5: TensorBoard's distribution bands
BAND_PROBABILITIES = (0.0668072, 0.1586553, 0.5, 0.8413447, 0.9331928)
BAND_NAMES = ("min", "-1.5σ", "-1σ", "median", "+1σ", "+1.5σ", "max")


def series_histograms_job(paths: list[str], keys: list[str], key: str, bins: int = 64) -> Job[dict]:
    """``{"key", "checkpoints": [entry per path]}``; an entry is None where the checkpoint has
    no such tensor, ``{"error": …}`` where it cannot be read, else ``{"bands": [7 numbers or
    None], "mean", "std", "nan", "inf", "count", "edges", "counts"}``. Each entry is also
    handed over as a Partial (``{"index", "entry"}``) as soon as it is known."""
    entries = []
    share = 1.0 / max(len(paths), 1)
    for index, path in enumerate(paths):
        steps = sub_job(_entry_job(path, keys, key, bins), index * share, (index + 1) * share,
                        f"checkpoint {index + 1} of {len(paths)}")
        entry = yield from steps
        entries.append(entry)
        yield Partial(int((index + 1) * share * 1000), 1000, "", {"index": index, "entry": entry})
    return {"key": key, "checkpoints": entries}


def _entry_job(path: str, keys: list[str], key: str, bins: int) -> Job[dict | None]:
    from inspector.core.histogram import histogram_job
    from inspector.core.loader import load_checkpoint
    from inspector.core.series_alignment import tensor_in
    from inspector.core.stats import tensor_stats_job

    try:
        checkpoint = yield from sub_job(load_checkpoint(path), 0.0, 0.1)
        found = tensor_in(checkpoint, keys, key)
        if found is None:
            return None
        tensor = found[1]
        stats = yield from sub_job(tensor_stats_job(tensor), 0.1, 0.55)
        if stats.min is None:
            return _entry(stats, None)
        fine = yield from sub_job(histogram_job(tensor, FINE_BINS, stats=stats), 0.55, 1.0)
    except CheckpointError as error:
        return {"error": str(error)}
    return _entry(stats, fine, bins)


def _entry(stats, fine, bins: int = 64) -> dict:
    entry = {"bands": [None] * len(BAND_NAMES), "mean": stats.mean, "std": stats.std, "nan": stats.nan,
             "inf": stats.inf, "count": stats.count, "edges": [], "counts": []}
    if fine is None:
        return entry
    counts = [int(count) for count in fine.counts]
    edges = [float(edge) for edge in fine.edges]
    entry["bands"] = [float(stats.min), *(percentile(counts, edges, p) for p in BAND_PROBABILITIES), float(stats.max)]
    group = max(1, len(counts) // max(bins, 1))
    entry["counts"] = [sum(counts[start:start + group]) for start in range(0, len(counts), group)]
    entry["edges"] = edges[::group] if (len(edges) - 1) % group == 0 else edges[::group] + [edges[-1]]
    return entry


def percentile(counts: list[int], edges: list[float], probability: float) -> float | None:
    """The value below which ``probability`` of the counted values lie, interpolated linearly
    inside the bin where the cumulative count crosses it."""
    total = sum(counts)
    if not total:
        return None
    target = probability * total
    below = 0
    for index, count in enumerate(counts):
        if count and below + count >= target:
            inside = (target - below) / count
            return edges[index] + inside * (edges[index + 1] - edges[index])
        below += count
    return edges[-1]
