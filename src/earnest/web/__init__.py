"""The dashboard (SPEC 11): server-rendered pages over the same use cases as the API and the
CLI, readable without JavaScript. :func:`dashboard` is the router ``earnest serve`` mounts at
``/``; it never touches the store, only :class:`~earnest.app.Earnest`'s services."""

from earnest.web.app import dashboard
from earnest.web.common import WebConfig

__all__ = ["WebConfig", "dashboard"]
