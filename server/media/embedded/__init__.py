"""The embedded media relay: a forward-only SFU on aiortc, in the server's process.

Encoded RTP from a publisher goes to each viewer as it came (only the header rewritten): nothing
is decoded or re-encoded, so one process serves many viewers (bench/media.py). It relies on
aiortc internals (aiortc_hooks.py), hence the exact aiortc pin in pyproject.toml.
"""

from .forwarding import KEYFRAME_INTERVAL, Downstream, KeyframePacer, TrackSource
from .ice import relay_only_ice, rtc_configuration, set_ice_transport_policy
from .relay import EmbeddedRelay

__all__ = ["Downstream", "EmbeddedRelay", "KEYFRAME_INTERVAL", "KeyframePacer", "TrackSource",
           "relay_only_ice", "rtc_configuration", "set_ice_transport_policy"]
