"""Deep clustering: DHOGClusterer (a hierarchy of IIC heads pushed apart) and its head options."""

from ._dhog import DHOGClusterer
from ._options import HeadOptions

__all__ = ["DHOGClusterer", "HeadOptions"]
