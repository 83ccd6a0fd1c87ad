"""The status page's last run of a provider whose collect was refused after its worker died
under it (enrich.deliveries), in a real browser: the cell said "failed · <time> · served
instead: nothing (the task was not run)", no reason; the run's record had it in `error` only,
and the page shows a run's `message`, which such runs had empty."""

import uuid

from django.conf import settings

from collectors.tasks import collect
from enrich.deliveries import PoisonedTask, count_delivery, delivery_key
from enrich.redis.client import get_redis
from tests.dashboard.browser import BROWSER_TEST, open_as_reader

pytestmark = BROWSER_TEST


def test_a_collect_refused_after_its_worker_died_says_why_in_its_last_run(
    live_server, collected, browser
):
    config = collected.providers.get(provider="awattar")
    task_id = uuid.uuid4().hex
    for _ in range(1 + settings.TASK_MAX_REDELIVERIES):
        count_delivery(task_id)  # each delivery's worker died
    try:
        result = collect.apply(args=[config.pk], task_id=task_id)
    finally:
        get_redis().delete(delivery_key(task_id, 0))
    assert isinstance(result.result, PoisonedTask)
    open_as_reader(browser, live_server.url)
    row = browser.find_element("css selector", "tr[data-provider=awattar]")
    cell = row.find_element("css selector", "td.status-failed").text
    assert cell.startswith("failed · "), cell
    why = f" · served instead: nothing (the task was not run) · {result.result}"
    assert cell.endswith(why), cell
