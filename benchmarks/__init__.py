"""Benchmarks of insightloop (`make bench`); results go to benchmarks/results/ and, by hand, to
docs/benchmarks.md with the command that produced them."""
