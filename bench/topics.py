"""How well the comment topic tagger (chalicelib/domain/topics.py) agrees with hand labels, and its CPU cost.

For each labelled set in tests/data/ (the dev set the rules were written from, and the holdout set they were
not), side by side: per-topic precision, recall, F1 and support (comments labelled with the topic), the
macro F1 over the nine taxonomy topics (goal >= 0.8), polarity accuracy, and the CPU time per comment
(p50, p99; process time of each call, after one warm-up pass so the lexicon is built).

    .venv/bin/python bench/topics.py            # both sets
    .venv/bin/python bench/topics.py dev        # only the dev set (for tuning the rules)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.domain.topics import TOPICS, tag  # noqa: E402  (after the path insert above)

SETS = {"dev": ROOT / "tests/data/comments_dev.jsonl", "holdout": ROOT / "tests/data/comments_holdout.jsonl"}


def _measure(path: Path) -> dict[str, object]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:  # warm-up: builds the lexicon once, as the first call in a container would
        tag(row["text"])
    counts = {t: [0, 0, 0] for t in TOPICS}  # true positives, false positives, false negatives
    polarity_right = 0
    cpu: list[float] = []
    for row in rows:
        start = time.process_time_ns()
        got = tag(row["text"])
        cpu.append((time.process_time_ns() - start) / 1e6)
        expected = set(row["topics"])
        for t in TOPICS:
            counts[t][0] += t in got.topics and t in expected
            counts[t][1] += t in got.topics and t not in expected
            counts[t][2] += t not in got.topics and t in expected
        polarity_right += got.polarity == row["polarity"]
    per_topic: dict[str, tuple[float, float, float, int]] = {}
    for t, (tp, fp, fn) in counts.items():
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_topic[t] = (precision, recall, f1, tp + fn)
    cpu.sort()
    return {
        "n": len(rows),
        "topics": per_topic,
        "macro_f1": statistics.fmean(f for _, _, f, _ in per_topic.values()),
        "polarity": polarity_right / len(rows),
        "p50": cpu[len(cpu) // 2],
        "p99": cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))],
    }


def main(names: list[str]) -> None:
    results = {name: _measure(SETS[name]) for name in names}
    header = f"{'topic':<12}" + "".join(f" | {name + ' P':>9} {'R':>5} {'F1':>5} {'n':>4}" for name in names)
    print(header)
    print("-" * len(header))
    for t in TOPICS:
        cells = ""
        for name in names:
            p, r, f, n = results[name]["topics"][t]  # type: ignore[index]
            cells += f" | {p:>9.2f} {r:>5.2f} {f:>5.2f} {n:>4}"
        print(f"{t:<12}{cells}")
    print("-" * len(header))
    for label, key, fmt in (
        ("comments", "n", "{:>26}"),
        ("macro F1", "macro_f1", "{:>26.3f}"),
        ("polarity acc", "polarity", "{:>26.3f}"),
        ("CPU ms p50", "p50", "{:>26.3f}"),
        ("CPU ms p99", "p99", "{:>26.3f}"),
    ):
        print(f"{label:<12}" + "".join(" | " + fmt.format(results[name][key]) for name in names))
    print("goal: macro F1 >= 0.8; CPU <= 2 ms per comment")


if __name__ == "__main__":
    main(sys.argv[1:] or list(SETS))
