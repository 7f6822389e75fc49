"""The only home of SQL: one module per concept, each returning frozen dataclasses."""
