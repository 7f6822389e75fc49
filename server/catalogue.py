"""`python -m server.catalogue load|refresh|status`: the rare-disease catalogue in Postgres (docs/catalogue.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from server.settings import Settings


async def _run(command: str, database_url: str) -> str:
    from server.actions import catalogue
    from server.db.pool import connect

    connection = await connect(database_url)
    try:
        started = time.perf_counter()
        if command == "refresh":
            await catalogue.replace(connection, catalogue.read_file())
            return f"Catalogue reloaded from {catalogue.CATALOGUE_FILE.name} in {time.perf_counter() - started:.1f} s."
        if command == "load":
            if await catalogue.load_if_empty(connection):
                return f"Catalogue loaded in {time.perf_counter() - started:.1f} s."
            return "A catalogue is loaded already (use refresh to replace it)."
        source = await catalogue.source(connection)
        if source is None:
            return "No catalogue is loaded."
        return (
            f"Catalogue from {source.package} (HPO {source.hpo_version}, annotations {source.annotations_version}), "
            f"loaded {source.loaded_at:%Y-%m-%d %H:%M} UTC."
        )
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.catalogue", description=__doc__)
    parser.add_argument("command", choices=["load", "refresh", "status"])
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if settings.database_url:
        print(asyncio.run(_run(args.command, settings.database_url)))
        return 0
    # No DATABASE_URL: the private Postgres of `make run` (which must not be running at the same time).
    from server.db import migrate
    from server.embedded import EmbeddedError, EmbeddedServices

    services = EmbeddedServices(settings.data_dir)
    try:
        services.start(need_postgres=True, need_redis=False)
    except EmbeddedError as exc:
        print(f"kindred: {exc}", file=sys.stderr)
        return 1
    try:
        assert services.postgres is not None
        migrate.upgrade(services.postgres.url)
        print(asyncio.run(_run(args.command, services.postgres.url)))
    finally:
        services.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
