#!/usr/bin/env python3
"""python-threatexchange's vPDQ index on the benchmark's lists: VPDQIndex.build over the known
videos (faiss IndexBinaryFlat; a video with no frame of quality >= 50 is refused by its add() with
ValueError, so it is left out: it could never match), then VPDQIndex.query for each query signal.
CPU time of the build and of the queries apart (time.process_time; run it with
OMP_NUM_THREADS=1 for one thread: faiss is also told faiss.omp_set_num_threads(1)).

Writes OUT (JSON lines, one per query, as reference.py's, without `candidates`) and prints one
JSON line of figures on stdout:
  {"build_cpu_s": .., "query_cpu_s": .., "queries": 200, "indexed": .., "refused": ..}

Usage: te_index.py KNOWN_CSV QUERIES_CSV OUT
"""
import json
import sys
import time

from vpdqlists import read_csv


def main():
    known_csv, queries_csv, out = sys.argv[1:4]
    import faiss
    from threatexchange.extensions.vpdq.vpdq_index import VPDQIndex

    faiss.omp_set_num_threads(1)
    known = read_csv(known_csv)
    queries = read_csv(queries_csv)
    t0 = time.process_time()
    index = VPDQIndex()  # the defaults: quality 50, query 80 %, index 0 %; distance 31 in query()
    refused = 0
    for name, signal_str in known:  # VPDQIndex.build(entries) = add_all = add() for each
        try:
            index.add(signal_str, name)
        except ValueError:
            refused += 1
    t1 = time.process_time()
    results = []
    for name, signal_str in queries:
        results.append((name, index.query(signal_str)))
    t2 = time.process_time()
    with open(out, "w") as fh:
        for name, matches in results:
            ms = sorted(({"known": m.metadata, "query_match_pct": m.similarity_info.query_match_percent,
                          "compared_match_pct": m.similarity_info.compared_match_percent} for m in matches),
                        key=lambda m: m["known"])
            fh.write(json.dumps({"query": name, "matches": ms}) + "\n")
    print(json.dumps({"build_cpu_s": t1 - t0, "query_cpu_s": t2 - t1, "queries": len(queries),
                      "indexed": len(known) - refused, "refused": refused,
                      "matching_pairs": sum(len(m) for _, m in results)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
