"""One router per job. A new job adds `routes/<job>.py` with a `router` and lists it in `ROUTERS` in app.py."""
