"""The Janus VideoRoom media backend: yakuba proxies the signalling, Janus moves the media."""

from .backend import JanusBackend
from .client import JanusClient, JanusError

__all__ = ["JanusBackend", "JanusClient", "JanusError"]
