"""Reservations (issue #16): rules, SQL service on SQLite and PostgreSQL, HTTP, e-mail."""
