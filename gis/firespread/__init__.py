"""Fire-spread (延焼) simulation: a pure core, no I/O (``cli.py`` is the only adapter here).

Pipeline: building table -> structure classes (``classes``) -> neighbour graph (``graph``) ->
edge spread times from an empirical model (``model``, Hamada) -> earliest-arrival ignition times
(``simulate``) -> burnt area, clusters (``clusters``), burn probability (``montecarlo``).
Policies are declarative scenarios (``scenarios``) applied to the building state before the graph.

Exceptions: everything a user can cause derives from :class:`FireSpreadError`;
:class:`yakuba.gis.firespread.scenarios.ScenarioError` is the one for bad scenario input.
"""


class FireSpreadError(Exception):
    """Root of the fire-spread errors: a message fit to show a user (no traceback needed)."""
