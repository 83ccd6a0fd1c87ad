"""Emporia Vue (cloud API): the adapter (adapter.py), the Cognito SRP login (cognito.py:
pycognito's SRP math, the calls through enrich.http) and its tokens (login.py), the usage
answers as readings (usage.py), the request budget (budget.py)."""

PROVIDER = "emporia_vue"
