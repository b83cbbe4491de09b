"""Yakuba."""
