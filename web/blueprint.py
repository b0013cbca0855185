"""The HTTP API's views, routed on one Blueprint: declaring a view needs no app.

``web.register`` puts them on an app (``views.register(app)``); a view reaches
that app's tables, settings and runtime through ``self.app`` at request time.
"""

from __future__ import annotations

from faust.web import Blueprint

views = Blueprint("api")
