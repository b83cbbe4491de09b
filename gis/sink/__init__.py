"""The import pipeline's sinks: tiles (fine and coarse GLBs, tileset.json), the texture atlas,
the building table, and the spill container the stages hand data through."""
