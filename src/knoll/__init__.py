"""knoll: an asset-centric data orchestrator."""

from knoll.definitions.keys import AssetCheckKey as AssetCheckKey
from knoll.definitions.keys import AssetKey as AssetKey

__version__ = "0.1.0.dev0"

__all__ = ["AssetCheckKey", "AssetKey"]
