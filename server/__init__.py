"""Kindred: the web application (pages, forms, JSON API, websocket endpoint, domain rules, SQL)."""
