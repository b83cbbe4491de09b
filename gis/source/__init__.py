"""The import pipeline's source stage: CityGML read into records (citygml, with the compiled
_gmlfast), code lists, texture coordinates."""
