"""Collectors: one package per data kind, one small module per provider (see DESIGN.md)."""
