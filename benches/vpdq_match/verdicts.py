#!/usr/bin/env python3
"""Verdicts of the vPDQ matching benchmark, normalised and compared.

  verdicts.py vigie QUERIES_CSV VIGIE_JSONL OUT   vigie's `match` or `scan` records (algorithm
      "vpdq" hits) to the reference's form: one line per query, {"query", "matches": [{"known",
      "query_match_pct", "compared_match_pct"}]}. The query is named from the record's item: a
      `LIST:LINE` of the query list (line L = row L-1 of the CSV after its header, whose tags name
      it) or a video path (its file stem). The known video from the hit's identity: its id
      (known-NNNNN, from the CSV's tags or a per-frame file's stem) or `known.csv:LINE`.
  verdicts.py compare REFERENCE OTHER [--label L]  same (query, known) pairs and percentages
      within 1e-9; prints one JSON line {"label", "equal", "pairs_ref", "pairs_other", "missing",
      "extra", "pct_diff"}; exit 1 when they differ.
"""
import json
import os
import re
import sys

from vpdqlists import read_csv

KNOWN_ID = re.compile(r"known-\d{5}")
LIST_LINE = re.compile(r"^(.*?):(\d+)$")


def load(path):
    out = {}
    with open(path) as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                out[r["query"]] = {m["known"]: (m["query_match_pct"], m["compared_match_pct"]) for m in r["matches"]}
    return out


def hits_of(rec):
    """The vpdq hits of one vigie record (a record per item with a `hits` list, or a record per hit)."""
    if rec.get("algorithm") == "vpdq":
        yield rec
    for h in rec.get("hits") or []:
        if isinstance(h, dict) and h.get("algorithm") == "vpdq":
            yield h


def known_of(hit, known_lines):
    for key in ("video", "known", "known_video", "name", "entry", "matched", "matched_video", "label", "list"):
        v = hit.get(key)
        if isinstance(v, dict):
            for sub in v.values():
                if isinstance(sub, str) and KNOWN_ID.search(sub):
                    return KNOWN_ID.search(sub).group(0)
        if isinstance(v, str):
            m = KNOWN_ID.search(v)
            if m:
                return m.group(0)
            m = LIST_LINE.match(v)
            if m and known_lines is not None:
                return known_lines[int(m.group(2)) - 2]
    s = json.dumps(hit)
    m = KNOWN_ID.search(s)
    if m:
        return m.group(0)
    raise SystemExit(f"verdicts.py: cannot tell the known video of hit {s}")


def query_of(rec, query_lines):
    item = rec.get("path") or rec.get("item") or rec.get("query") or ""
    m = LIST_LINE.match(item)
    if m and not os.path.exists(item):
        return query_lines[int(m.group(2)) - 2]
    return os.path.splitext(os.path.basename(item))[0]


def vigie(queries_csv, vigie_jsonl, out, known_csv=None):
    names = [n for n, _ in read_csv(queries_csv)]
    known_lines = [n for n, _ in read_csv(known_csv)] if known_csv else None
    res = {n: {} for n in names}
    with open(vigie_jsonl) as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            hits = list(hits_of(rec))
            if not hits:
                continue
            q = query_of(rec, names)
            for h in hits:
                res.setdefault(q, {})[known_of(h, known_lines)] = (h["query_match_pct"], h["compared_match_pct"])
    with open(out, "w") as fh:
        for q in names + sorted(set(res) - set(names)):
            ms = [{"known": k, "query_match_pct": p[0], "compared_match_pct": p[1]} for k, p in sorted(res[q].items())]
            fh.write(json.dumps({"query": q, "matches": ms}) + "\n")


def compare(ref_path, other_path, label):
    ref, other = load(ref_path), load(other_path)
    rp = {(q, k): p for q, ms in ref.items() for k, p in ms.items()}
    op = {(q, k): p for q, ms in other.items() for k, p in ms.items()}
    missing = sorted(set(rp) - set(op))
    extra = sorted(set(op) - set(rp))
    diff = [(q, k, rp[(q, k)], op[(q, k)]) for (q, k) in set(rp) & set(op)
            if abs(rp[(q, k)][0] - op[(q, k)][0]) > 1e-9 or abs(rp[(q, k)][1] - op[(q, k)][1]) > 1e-9]
    equal = not missing and not extra and not diff
    print(json.dumps({"label": label, "equal": equal, "pairs_ref": len(rp), "pairs_other": len(op),
                      "missing": [list(x) for x in missing[:20]], "extra": [list(x) for x in extra[:20]],
                      "n_missing": len(missing), "n_extra": len(extra), "pct_diff": [list(x) for x in diff[:20]],
                      "n_pct_diff": len(diff)}))
    return 0 if equal else 1


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "vigie" and len(sys.argv) in (5, 6):
        vigie(*sys.argv[2:])
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        label = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--label" else os.path.basename(sys.argv[3])
        return compare(sys.argv[2], sys.argv[3], label)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
