"""The web portal (FastAPI) for staff, analysts and subscribers."""
