"""The event hall on the realtime node (issue #18)."""
