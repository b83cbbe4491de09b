"""The import pipeline's transforms: records to local meshes (mesh); crs.py, shared with the
server and the simulation, stays at the package root."""
