"""Metrics and logs: what operators see. Never personal data."""
