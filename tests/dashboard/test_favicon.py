"""Browsers ask every page's site for /favicon.ico: enrich answers it without a login and
without a warning in the web log (a 404 wrote "Not Found: /favicon.ico" at each page opened)."""

import logging

from django.test import Client


def test_the_icon_browsers_ask_for_is_answered_without_a_warning(db, caplog):
    with caplog.at_level(logging.INFO, logger="django"):
        answer = Client().get("/favicon.ico")
    assert answer.status_code == 204 and answer.content == b""
    assert "max-age=86400" in answer["Cache-Control"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_icon_takes_no_other_method(db):
    assert Client().post("/favicon.ico").status_code == 405
