"""Deep clustering: DHOGClusterer."""

from ._dhog import DHOGClusterer

__all__ = ["DHOGClusterer"]
