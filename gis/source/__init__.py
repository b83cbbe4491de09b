"""The import pipeline's source stage, everything in the source CRS: the file as bytes
(gml_file: header, byte ranges, line numbers), buildings read into records (citygml, with the
compiled reader in compiled.py, attribute values in values.py, the record types in records.py),
ring texts parsed a batch at a time (rings), code lists, texture coordinates."""
