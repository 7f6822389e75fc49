"""Kindred's test suite: real Postgres, real Redis, real sockets."""
