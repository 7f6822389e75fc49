"""Domain verbs on plain values and a connection: check_* validate, do_* act; events leave after commit."""

import asyncpg

# What a route holds between taking a pooled connection and handing it to an action; routes never use it.
DbConnection = asyncpg.Connection
