"""Property-based fuzzing of the live protocol and the JSON API against a real server."""
