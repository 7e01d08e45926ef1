"""(being written)"""

from pipelines.adapters.base import Adapter

ADAPTERS: list[Adapter] = []
