"""The demo's generated exports for the example pilot: canonical files and vendor-shaped ones."""
