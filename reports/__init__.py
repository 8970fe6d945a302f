"""Recall-risk analysis and report rendering for analysts."""
