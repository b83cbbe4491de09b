"""Events in the hall (issue #18): staff schedule them, residents register without an account,
beyond capacity people watch as spectators. ``core`` holds the rules (pure), ``service`` applies
them to SQL and keeps the running event in memory for the live hall, ``routes`` is the HTTP API."""
