"""The JSON API under /api/v1: parse, call an action, serialize; declared with its OpenAPI operations."""
