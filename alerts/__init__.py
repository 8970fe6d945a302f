"""Subscriptions, bulletin matching and composition, templates and mail delivery."""
