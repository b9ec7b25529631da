"""Renderers: reports in, text out. They never resolve, connect or judge."""
