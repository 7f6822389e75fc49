"""HTML pages and forms: parse the request, call an action, render a template or redirect."""
