"""Hypertension and type-2 diabetes registries, follow-ups classified by the national rules,
elderly health services, and worklists generated from rules."""
