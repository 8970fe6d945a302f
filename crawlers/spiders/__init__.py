"""One spider per source; each navigates and hands every response to its pure parser."""
