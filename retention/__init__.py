"""Lifecycle of stored data: materialized views, tiers, archive, statistics (see DESIGN.md)."""
