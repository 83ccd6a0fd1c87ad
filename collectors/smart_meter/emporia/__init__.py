"""Emporia Vue (cloud API): the adapter (adapter.py), the Cognito SRP login (cognito.py) and
its tokens (login.py), the usage answers as readings (usage.py), the request budget
(budget.py)."""

PROVIDER = "emporia_vue"
