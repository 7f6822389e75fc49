"""Transport only: HTTP pages and forms, the JSON API, and the /ws endpoint."""

from starlette.convertors import IntegerConvertor, register_url_convertor


class IdConvertor(IntegerConvertor):
    """`{name:int}` path ids: at most 18 digits, so every id fits Postgres's bigint; a longer number matches no
    route (404) instead of failing in the database (found by fuzzing the API)."""

    regex = "[0-9]{1,18}"


# Registered before any route module is imported: routes compile their paths when they are created.
register_url_convertor("int", IdConvertor())
