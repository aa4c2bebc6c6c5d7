#!/usr/bin/env python3
"""Lower bound on polls per task for a per-task poller (one requestId per call).

For completion times T uniform over [A, B] seconds, finds the poll times that minimise the
expected number of polls per task subject to at most 5 % of tasks being detected more than D
seconds after they finished (Lagrangian dynamic programme over poll times on a STEP grid; the
multiplier is bisected until the late fraction is at most 5 %). Used in docs/performance.md
(API economy, CLB) to show what no schedule can beat.

    bench/poll_bound.py 4.68 12          # D values; A=1, B=30 by default
    bench/poll_bound.py --range 1 30 --step 0.05 4.68
"""
import argparse


def solve(a, b, step, d, lam):
    n = int(round(b / step)) + 1
    ts = [i * step for i in range(n)]

    def survive(t):  # P(T > t)
        return 1.0 if t <= a else max(0.0, (b - t) / (b - a))

    def mass(lo, hi):  # P(lo < T < hi)
        lo, hi = max(lo, a), min(hi, b)
        return max(0.0, hi - lo) / (b - a)

    cost = [0.0] * n  # expected polls from here on, given a poll at ts[i]
    late = [0.0] * n  # fraction of tasks detected later than d from here on
    for i in range(n - 1, -1, -1):
        if ts[i] >= b - 1e-9:
            continue  # every task has finished: no further poll
        best = None
        for j in range(i + 1, n):
            c = survive(ts[i]) + cost[j]  # the next poll is paid by tasks still running
            l = mass(ts[i], ts[j] - d) + late[j]
            v = c + lam * l
            if best is None or v < best[0]:
                best = (v, c, l)
        _, cost[i], late[i] = best
    return cost[0], late[0]  # starting from t = 0: every task pays the first poll


def bound(a, b, step, d, quantile=0.95):
    """Returns (dual, polls, late): no schedule (on the grid) with a late fraction of at most
    1 - quantile needs fewer than `dual` polls per task (Lagrangian duality: for any multiplier
    lam, cost >= min over schedules of [cost + lam * late] - lam * budget); the schedule found
    needs `polls` and is late for `late` of the tasks."""
    budget = 1 - quantile
    lo, hi = 0.0, 1000.0
    best_dual = 0.0
    for _ in range(40):
        lam = (lo + hi) / 2
        c, l = solve(a, b, step, d, lam)
        best_dual = max(best_dual, c + lam * (l - budget))
        if l > budget:
            lo = lam
        else:
            hi = lam
    c, l = solve(a, b, step, d, hi)
    return max(best_dual, c + hi * (l - budget)), c, l


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("delays", type=float, nargs="+", help="p95 detection delay bounds D (s)")
    p.add_argument("--range", type=float, nargs=2, default=(1.0, 30.0), metavar=("A", "B"))
    p.add_argument("--step", type=float, default=0.05)
    args = p.parse_args()
    a, b = args.range
    for d in args.delays:
        dual, polls, late = bound(a, b, args.step, d)
        print(f"T ~ U[{a:g}, {b:g}] s, p95 delay <= {d:g} s: no schedule needs fewer than "
              f"{dual:.2f} polls/task; one needing {polls:.2f} is late for {late:.1%} of tasks")


if __name__ == "__main__":
    main()
