"""The import pipeline's transforms: source coordinates to local metres (localize), the
batched LOD1 path (lod1_batch) and everything else one building at a time (mesh); crs.py,
shared with the server and the simulation, stays at the package root."""
