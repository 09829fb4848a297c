#!/usr/bin/env python3
"""Stand-alone verifier of evaluatord's record chain (docs/CHAIN.md). Standard library only.

What the centre (or anyone) can check without the gateway:

    verify_chain.py RECORDS.jsonl          # one JSON object per line: a record, or a whole
                                           # batch body ({"records": [...], "chain": {...}})
    verify_chain.py --vectors docs/chain-vectors.json

For every record: its hash is SHA-256 (lower-case hex) of its canonical JSON without the
"hash" member (keys sorted, no whitespace, UTF-8, only '"', '\\' and control characters
escaped). Per chain: seq 1 links to 64 zeros; seq n+1's prev_hash is seq n's hash; a seq
missing between the lowest and highest received is a gap (records removed before upload, or
quarantined and not yet resent); two different records with one seq, or a record that differs
from the chain head a batch announced for its seq, mean the history was rewritten.

Exit status: 0 all checks pass; 1 a check failed (each failure is printed); 2 unreadable input.
"""
import hashlib
import json
import sys

ZERO = "0" * 64


def canonical(record):
    """The bytes a record's hash is taken over."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record):
    return hashlib.sha256(canonical(record)).hexdigest()


def verify(records, anchors):
    """Returns a list of failures (empty: the chain checks out)."""
    failures = []
    chains = {}
    for r in records:
        where = "record %s (chain %s, seq %s)" % (r.get("record_id"), r.get("chain_id"), r.get("seq"))
        if not isinstance(r.get("seq"), int) or not isinstance(r.get("hash"), str) or not isinstance(r.get("prev_hash"), str):
            failures.append("%s: no chain fields (seq, prev_hash, hash)" % where)
            continue
        actual = record_hash(r)
        if actual != r["hash"]:
            failures.append("%s: hash mismatch: the record was edited (content hashes to %s…, it says %s…)" % (where, actual[:12], r["hash"][:12]))
            continue
        seen = chains.setdefault(r.get("chain_id"), {})
        other = seen.get(r["seq"])
        if other is not None and other["hash"] != r["hash"]:
            failures.append("%s: two different records claim this seq: the history was rewritten" % where)
            continue
        seen[r["seq"]] = r
    for (chain_id, seq, expected) in anchors:
        r = chains.get(chain_id, {}).get(seq)
        if r is not None and r["hash"] != expected:
            failures.append("chain %s seq %d: the head announced with an earlier batch was %s…, this record is %s…: the history was rewritten"
                            % (chain_id, seq, expected[:12], r["hash"][:12]))
    for chain_id, seen in chains.items():
        seqs = sorted(seen)
        if seqs and seqs[0] == 1 and seen[1]["prev_hash"] != ZERO:
            failures.append("chain %s seq 1: prev_hash is not 64 zeros" % chain_id)
        for a, b in zip(seqs, seqs[1:]):
            if b != a + 1:
                failures.append("chain %s: seq gap: records %d…%d not received (removed before upload, or quarantined and not yet resent)" % (chain_id, a + 1, b - 1))
            elif seen[b]["prev_hash"] != seen[a]["hash"]:
                failures.append("chain %s seq %d: prev_hash mismatch: seq %d was edited, removed or swapped" % (chain_id, b, a))
    return failures, chains


def read_jsonl(path):
    records, anchors = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise SystemExit("%s:%d: not JSON: %s" % (path, n, e))
            if isinstance(obj, dict) and isinstance(obj.get("records"), list):
                records.extend(obj["records"])
                head = obj.get("chain")
                if isinstance(head, dict):
                    anchors.append((head.get("chain_id"), head.get("seq"), head.get("hash")))
            elif isinstance(obj, dict):
                records.append(obj)
            else:
                raise SystemExit("%s:%d: neither a record nor a batch" % (path, n))
    return records, anchors


def check_vectors(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    failures = []
    for v in doc["vectors"]:
        text = canonical(v["record"]).decode("utf-8")
        if text != v["hashed_text"]:
            failures.append("vector %s: canonical text differs:\n  got      %s\n  expected %s" % (v["name"], text, v["hashed_text"]))
        if record_hash(v["record"]) != v["hash"] or v["record"].get("hash") != v["hash"]:
            failures.append("vector %s: hash differs" % v["name"])
    more, _ = verify([v["record"] for v in doc["vectors"]], [])
    return failures + more, len(doc["vectors"])


def main(argv):
    if len(argv) == 3 and argv[1] == "--vectors":
        try:
            failures, n = check_vectors(argv[2])
        except (OSError, ValueError, KeyError) as e:
            print("cannot read %s: %s" % (argv[2], e), file=sys.stderr)
            return 2
        for f in failures:
            print(f)
        if not failures:
            print("vectors ok: %d records" % n)
        return 1 if failures else 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        records, anchors = read_jsonl(argv[1])
    except OSError as e:
        print("cannot read %s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    failures, chains = verify(records, anchors)
    for f in failures:
        print(f)
    if not failures:
        for chain_id, seen in sorted(chains.items(), key=lambda kv: str(kv[0])):
            seqs = sorted(seen)
            print("chain %s ok: %d records, seq %d…%d, %d anchor(s) checked" % (
                chain_id, len(seqs), seqs[0], seqs[-1], sum(1 for a in anchors if a[0] == chain_id)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
