"""meterstream's benchmark suite: each scenario against a baseline measured in the same run.

Run it with `./dev bench` (or `.venv/bin/python -m bench`); results go to BENCHMARKS.md.
The machines are shared and noisy, so every number is reported with the baseline taken
beside it on the same machine in the same run, and the ratio between the two.
"""
