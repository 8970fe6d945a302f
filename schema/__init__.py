"""The data model of tbt-alert (SQLAlchemy 2.0) and helpers to open and migrate it."""
