"""The HTTP API (SPEC section 8): ``create_app(db)`` builds it; ``serve_http`` runs it."""

from earnest.api.app import create_app

__all__ = ["create_app"]
