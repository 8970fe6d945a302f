"""Sector taxonomy, HS/ICS mapping, multilingual encoder and the sector classifier."""
