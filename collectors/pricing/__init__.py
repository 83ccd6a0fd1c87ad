"""Electricity price adapters (aWATTar, Tibber, Octopus Agile), the readings they write
(`slots`), the cheapest/most expensive window selection (`windows`) and its REST endpoint
(`api`)."""
