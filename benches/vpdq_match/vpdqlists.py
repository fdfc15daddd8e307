"""Reading the benchmark's vPDQ lists (the python-threatexchange dataset CSV form), shared by the
reference, the threatexchange timing and the report."""
import csv
import sys

import numpy as np

QUALITY = 50  # python-threatexchange VPDQ_QUALITY_THRESHOLD
DISTANCE = 31  # VPDQ_DISTANCE_THRESHOLD
QUERY_PCT = 80.0  # VPDQ_QUERY_MATCH_THRESHOLD_PERCENT
COMPARED_PCT = 0.0  # VPDQ_INDEX_MATCH_THRESHOLD_PERCENT

csv.field_size_limit(sys.maxsize)


def read_csv(path):
    """[(name, signal_str)] in file order; the name is the row's `tags` (the benchmark's choice)."""
    with open(path, newline="") as fh:
        return [(row["tags"], row["signal_str"]) for row in csv.DictReader(fh) if row["signal_type"] == "vpdq"]


def parse(signal_str):
    """[(pdq_hex, quality, timestamp)] as VpdqCompactFeature.from_str reads them."""
    import json
    out = []
    for s in json.loads(signal_str or "[]"):
        h, q, t = s.split(",")
        out.append((h, int(q), float(t)))
    return out


def prepare(features, order="index"):
    """Unique frame hashes kept for matching. order="index": quality filter, then dedupe
    (vpdq_util.prepare_vpdq_feature, what VPDQIndex does); order="brute": dedupe, then quality
    filter (vpdq_brute_matcher.match_VPDQ_hash_brute)."""
    if order == "index":
        seen, out = set(), []
        for h, q, _ in features:
            if q >= QUALITY and h not in seen:
                seen.add(h)
                out.append(h)
        return out
    seen, out = set(), []
    for h, q, _ in features:
        if h not in seen:
            seen.add(h)
            if q >= QUALITY:
                out.append(h)
    return out


def words(hexes):
    """(n, 4) uint64 array of 64-hex-digit hashes."""
    a = np.empty((len(hexes), 4), dtype=np.uint64)
    for i, h in enumerate(hexes):
        a[i] = [int(h[j:j + 16], 16) for j in (0, 16, 32, 48)]
    return a


def pair_pcts(qw, kw):
    """(query %, compared %) of two prepared hash arrays, every pair compared."""
    if len(qw) == 0 or len(kw) == 0:
        return None
    d = np.bitwise_count(qw[:, None, :] ^ kw[None, :, :]).sum(axis=2, dtype=np.int32)
    m = d <= DISTANCE
    return int(m.any(axis=1).sum()) * 100 / len(qw), int(m.any(axis=0).sum()) * 100 / len(kw)


def is_match(pcts):
    return pcts is not None and pcts[0] >= QUERY_PCT and pcts[1] >= COMPARED_PCT
