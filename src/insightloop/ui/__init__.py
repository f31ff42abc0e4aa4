"""Web pages: server-rendered Jinja2 templates, with every asset served locally (no CDN)."""

from __future__ import annotations

from insightloop.ui.pages import mount_static, render_status_page

__all__ = ["mount_static", "render_status_page"]
