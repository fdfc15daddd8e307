#!/usr/bin/env python3
"""Reference verdicts of the vPDQ matching benchmark, by brute force: python-threatexchange's vPDQ
comparison (extensions/vpdq: prepare_vpdq_feature = quality >= 50 then dedupe by hash, as its
index does; a frame matches when within PDQ distance 31 of a frame of the other video; a match
when the query's share of matched unique frames is >= 80 % and the known video's >= 0 %; a video
with no frame of quality >= 50 never matches), every query frame compared with every known frame
(numpy: XOR and popcount of uint64 words). Percentages as threatexchange computes them
(count * 100 / len, IEEE doubles).

Writes OUT (JSON lines, one per query, in the queries' order):
  {"query": NAME, "frames": N_PREPARED, "matches": [{"known": ID, "query_match_pct": P,
   "compared_match_pct": P}, ...], "candidates": K}
(matches sorted by known id; `candidates` = known videos with at least one frame within 31).

Then checks it (exit 1 on a disagreement):
  * against threatexchange's own match_VPDQ_hash_brute on a sample of pairs (every matching
    pair, and seeded samples of candidate and non-candidate pairs). That function dedupes
    before it filters by quality; on the sample it must give the same percentages as this
    reference run in that order;
  * every (query, known) pair for which that order (dedupe, then filter) changes the verdict
    is reported (the index's order, used for the verdicts, filters first).

Usage: reference.py KNOWN_CSV QUERIES_CSV OUT [--sample N] [--report JSON]
"""
import argparse
import json
import random
import sys
import time

import numpy as np

from vpdqlists import DISTANCE, QUALITY, is_match, pair_pcts, parse, prepare, read_csv, words


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("known")
    ap.add_argument("queries")
    ap.add_argument("out")
    ap.add_argument("--sample", type=int, default=300, help="pairs cross-checked with threatexchange (default 300)")
    ap.add_argument("--report", help="write the checks' figures here (JSON)")
    a = ap.parse_args()
    t0 = time.process_time()
    known = [(n, parse(s)) for n, s in read_csv(a.known)]
    queries = [(n, parse(s)) for n, s in read_csv(a.queries)]
    kprep = [prepare(f) for _, f in known]
    klen = np.array([len(p) for p in kprep], dtype=np.int64)
    vid = np.repeat(np.arange(len(known), dtype=np.int64), klen)
    K = words([h for p in kprep for h in p])
    cols = [np.ascontiguousarray(K[:, j]) for j in range(4)]
    n_rows = len(vid)
    print(f"reference: {len(known)} known videos, {n_rows} unique frames of quality >= {QUALITY} "
          f"({int((klen == 0).sum())} videos with none); {len(queries)} queries", file=sys.stderr)

    results = []
    cand_pairs = []  # (query index, known index) with at least one frame within DISTANCE
    for qi, (qname, feats) in enumerate(queries):
        qprep = prepare(feats)
        rec = {"query": qname, "frames": len(qprep), "matches": [], "candidates": 0}
        if qprep:
            Q = words(qprep)
            qcount = np.zeros(len(known), dtype=np.int64)
            krow_hit = np.zeros(n_rows, dtype=bool)
            for q in Q:
                d = np.bitwise_count(cols[0] ^ q[0]).astype(np.uint16)
                for j in (1, 2, 3):
                    d += np.bitwise_count(cols[j] ^ q[j])
                m = d <= DISTANCE
                rows = np.flatnonzero(m)
                if len(rows):
                    krow_hit[rows] = True
                    qcount[np.unique(vid[rows])] += 1
            ccount = np.bincount(vid[krow_hit], minlength=len(known))
            cands = np.flatnonzero(qcount)
            rec["candidates"] = int(len(cands))
            for k in cands:
                qp = int(qcount[k]) * 100 / len(qprep)
                cp = int(ccount[k]) * 100 / int(klen[k])
                cand_pairs.append((qi, int(k)))
                if is_match((qp, cp)):
                    rec["matches"].append({"known": known[k][0], "query_match_pct": qp, "compared_match_pct": cp})
            rec["matches"].sort(key=lambda m: m["known"])
        results.append(rec)
    cpu = time.process_time() - t0
    with open(a.out, "w") as fh:
        for r in results:
            fh.write(json.dumps(r) + "\n")
    n_match = sum(len(r["matches"]) for r in results)
    print(f"reference: {n_match} matching pairs, {len(cand_pairs)} candidate pairs, "
          f"{sum(1 for r in results if r['matches'])} queries with a match; {cpu:.1f} s CPU", file=sys.stderr)

    # ---- the other order (threatexchange's brute matcher: dedupe, then filter)
    kprep_b = [prepare(f, "brute") for _, f in known]
    qprep_i = [prepare(f) for _, f in queries]
    qprep_b = [prepare(f, "brute") for _, f in queries]
    k_diff = {k for k in range(len(known)) if kprep_b[k] != kprep[k]}
    q_diff = {q for q in range(len(queries)) if qprep_b[q] != qprep_i[q]}
    order_changes = []
    for qi, k in cand_pairs:
        if qi in q_diff or k in k_diff:
            pi = pair_pcts(words(qprep_i[qi]), words(kprep[k]))
            pb = pair_pcts(words(qprep_b[qi]), words(kprep_b[k]))
            if is_match(pi) != is_match(pb):
                order_changes.append({"query": queries[qi][0], "known": known[k][0], "index_order": pi,
                                      "brute_order": pb})
    print(f"reference: filter/dedupe order: {len(k_diff)} known videos and {len(q_diff)} queries keep other frames "
          f"when deduped first; {len(order_changes)} pairs change verdict", file=sys.stderr)
    for c in order_changes:
        print(f"  order changes verdict: {c}", file=sys.stderr)

    # ---- threatexchange's own brute matcher on a sample of pairs
    from threatexchange.extensions.vpdq.vpdq_brute_matcher import match_VPDQ_hash_brute
    from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

    rng = random.Random(17)
    name_to_k = {n: i for i, (n, _) in enumerate(known)}
    matching = [(qi, name_to_k[m["known"]]) for qi, r in enumerate(results) for m in r["matches"]]
    cset = set(cand_pairs)
    mset = set(matching)
    others_c = [p for p in cand_pairs if p not in mset]
    sample = matching[: a.sample // 2]
    sample += rng.sample(others_c, min(len(others_c), a.sample // 4))
    while len(sample) < a.sample:
        p = (rng.randrange(len(queries)), rng.randrange(len(known)))
        if p not in cset:
            sample.append(p)
    sample += [(qi, k) for qi, k in cand_pairs if (qi in q_diff or k in k_diff) and (qi, k) not in set(sample)][:50]
    te_disagree = 0
    idx_vs_te = 0
    t1 = time.process_time()
    for qi, k in sample:
        qf = [VpdqCompactFeature(h, q, t) for h, q, t in queries[qi][1]]
        kf = [VpdqCompactFeature(h, q, t) for h, q, t in known[k][1]]
        try:
            r = match_VPDQ_hash_brute(qf, kf, QUALITY, DISTANCE)
            te = (r.query_match_percent, r.compared_match_percent)
        except ZeroDivisionError:  # no frame of quality >= 50 on one side
            te = None
        mine_b = pair_pcts(words(qprep_b[qi]), words(kprep_b[k]))
        if te != mine_b:
            te_disagree += 1
            print(f"  DISAGREES with threatexchange brute: {queries[qi][0]} vs {known[k][0]}: te {te} mine {mine_b}",
                  file=sys.stderr)
        mine_i = pair_pcts(words(qprep_i[qi]), words(kprep[k]))
        if is_match(te) != is_match(mine_i):
            idx_vs_te += 1
    print(f"reference: threatexchange match_VPDQ_hash_brute on {len(sample)} pairs ({len(matching[: a.sample // 2])} "
          f"matching): {te_disagree} disagree with this reference run in its order; verdict differs from the index "
          f"order on {idx_vs_te}; {time.process_time() - t1:.1f} s CPU", file=sys.stderr)
    if a.report:
        with open(a.report, "w") as fh:
            json.dump({"known_videos": len(known), "known_frames": n_rows, "known_without_quality": int((klen == 0).sum()),
                       "queries": len(queries), "matching_pairs": n_match, "candidate_pairs": len(cand_pairs),
                       "queries_with_match": sum(1 for r in results if r["matches"]), "cpu_s": cpu,
                       "order_known_videos_differing": len(k_diff), "order_queries_differing": len(q_diff),
                       "order_changes": order_changes, "te_brute_sample": len(sample),
                       "te_brute_disagree": te_disagree, "te_brute_vs_index_order_verdicts": idx_vs_te}, fh, indent=1)
    return 1 if te_disagree else 0


if __name__ == "__main__":
    sys.exit(main())
