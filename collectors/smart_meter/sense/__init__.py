"""Sense (unofficial cloud API): the adapter (adapter.py), the login and its session
(auth.py), the realtime feed (realtime.py), the trends (history.py)."""

PROVIDER = "sense"
