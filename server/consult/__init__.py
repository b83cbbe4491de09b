"""The consultation service: catalogue of departments and topics, the desk queue, booths and
reservations. Pure cores here; adapters (socket events, HTTP routes, SQL, store) beside them."""
