"""The ASGI application for uvicorn (the Procfile's web process): settings from the environment."""

from server.app import create_app, tune_garbage_collector
from server.settings import Settings

app = create_app(Settings.from_env())
tune_garbage_collector()
