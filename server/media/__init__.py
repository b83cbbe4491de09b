"""Media in rooms: voice, screen and documents (issue #17; docs/media.md)."""
