"""The Faust application: ``faust -A app worker -l info``.

Topics and tables are declared once (``app.topics``, ``tables``); agents, views
and commands register themselves on import below.
"""

from app.factory import create_app
from config import settings

app = create_app(settings)

# Registration by import; these modules import `app` from here.
import agents  # noqa: E402,F401
import cli  # noqa: E402,F401
import web  # noqa: E402,F401

__all__ = ["app"]
