"""Measure the grader: one check cold (new pool) and warm (the pool), and all exercises.

Run: python -m benchmarks.grader_speed. It grades the reference, laid out as a student's work.
NOTE: the nbgrader comparison that the course plans is not written yet; this prints only the
grader's own times.
"""

import statistics
import time

from grader.catalog import EXERCISES
from grader.grading import grade, solution_files
from grader.pool import WorkerPool


def main() -> None:
    files = solution_files()

    cold = []
    for _ in range(3):
        started = time.perf_counter()
        with WorkerPool(size=1) as pool:
            grade(["softmax"], files, pool)
        cold.append(time.perf_counter() - started)

    with WorkerPool(size=2) as pool:
        grade(["softmax"], files, pool)  # let both workers finish importing torch
        time.sleep(5)
        warm = []
        for exercise in EXERCISES[:10]:
            started = time.perf_counter()
            grade([exercise.id], files, pool)
            warm.append(time.perf_counter() - started)
            time.sleep(3)  # a student reads the feedback; the replacement worker warms up meanwhile
        started = time.perf_counter()
        grade([e.id for e in EXERCISES], files, pool)
        all_seconds = time.perf_counter() - started

    print(f"one check, cold (new process): median {statistics.median(cold):.2f} s")
    print(f"one check, warm (pool):        median {statistics.median(warm):.2f} s")
    print(f"all {len(EXERCISES)} exercises, warm pool:  {all_seconds:.2f} s")


if __name__ == "__main__":
    main()
