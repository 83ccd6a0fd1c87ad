"""Carbon intensity adapters (measurement `carbon_intensity` and its forecast series)."""
