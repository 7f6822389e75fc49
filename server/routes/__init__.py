"""Transport only: HTTP pages and forms, the JSON API, and the /ws endpoint."""
