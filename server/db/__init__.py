"""Database access: the connection pool, migrations and the SQL modules under queries/."""
