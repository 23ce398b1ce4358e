"""The debate's data model, below both the graph (``dialectic.graphs``) and its nodes
(``dialectic.nodes``): state and value types, the run context, the phase table, the tasks each
phase sends, and the pure functions that read the state (history, failures, clarifications)."""
