"""Scoring finished debates (``dialectic eval``, spec §5): evaluator configs, the inputs an
evaluator reads, parsing its reply, aggregation, the output formats, and pairwise comparison."""
