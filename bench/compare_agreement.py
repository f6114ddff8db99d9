"""How a `rajudge compare` leaderboard agrees with AlpacaEval's published one.

    python -m bench.compare_agreement SUMMARY.json LEADERBOARD.csv

SUMMARY.json is what `rajudge compare -f json` printed (or `-o DIR` wrote); LEADERBOARD.csv is
AlpacaEval's published leaderboard (src/alpaca_eval/leaderboards/data_AlpacaEval_2/
weighted_alpaca_eval_gpt4_turbo_leaderboard.csv in tatsu-lab/alpaca_eval), whose first column
names the systems. Prints, for rajudge's raw and length-controlled ratings against
AlpacaEval's win rate and length-controlled win rate, Spearman's rho and Kendall's tau over the
systems both name.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from scipy.stats import kendalltau, spearmanr


def main() -> None:
    summary = json.loads(Path(sys.argv[1]).read_text())
    with open(sys.argv[2], newline="") as file:
        published = {row[""]: row for row in csv.DictReader(file)}
    systems = [s for s in summary["systems"] if s["name"] in published]
    print(f"{len(systems)} systems: {', '.join(s['name'] for s in systems)}")
    for ours in ("rating", "lc_rating"):
        for theirs in ("win_rate", "length_controlled_winrate"):
            x = [s[ours] for s in systems]
            y = [float(published[s["name"]][theirs]) for s in systems]
            rho, tau = spearmanr(x, y).statistic, kendalltau(x, y).statistic
            print(f"rajudge {ours} vs AlpacaEval {theirs}: Spearman {rho:.2f}, Kendall {tau:.2f}")


if __name__ == "__main__":
    main()
