"""The benchmark scenarios, in the order BENCHMARKS.md lists them."""
