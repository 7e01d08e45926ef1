"""Warehouse I/O: engine and migrations (`engine`), bulk loads (`bulk`), reads (`reads`), the
run lock (`locks`)."""
