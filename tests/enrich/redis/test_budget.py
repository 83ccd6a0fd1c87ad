"""API budgets against the real Redis at REDIS_URL (db 15), including two OS processes."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from enrich.redis.budget import Budget, BudgetExceeded, BudgetUnavailable, parse_budget
from enrich.redis.client import get_redis
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_exactly_limit_calls_succeed(prefix):
    budget = Budget("watttime", 5, 60, "CAISO_NORTH", prefix=prefix)
    assert budget.remaining() == 5
    assert [budget.try_acquire() for _ in range(8)] == [True] * 5 + [False] * 3
    assert budget.remaining() == 0
    # Refused attempts take nothing: the log holds exactly the 5 granted calls.
    assert get_redis().zcard(budget.key) == 5


def test_calls_reserved_at_most_and_not_made_are_given_back(prefix):
    """A fetch whose calls depend on the answer reserves its most, then returns the rest."""
    budget = Budget("emporia_vue", 10, 86400, "vue.owner@example.com", prefix=prefix)
    other = Budget("emporia_vue", 10, 86400, "barn.owner@example.com", prefix=prefix)
    taken = budget.take(6)
    assert taken is not None and budget.remaining() == 4
    budget.give_back(taken, 2)  # 4 of the 6 were called
    assert budget.remaining() == 6 and get_redis().zcard(budget.key) == 4
    budget.give_back(taken, 99)  # never more than was taken
    assert budget.remaining() == 10
    assert budget.take(10) is not None
    assert budget.take(1) is None  # all 10 taken: nothing more, and nothing taken by trying
    assert (budget.remaining(), other.remaining()) == (0, 10)  # each account its own


def test_calls_made_beyond_a_reservation_take_what_is_left_never_more(prefix):
    """Calls already made that no reservation covered: taken while free, then none (the
    budget ends at 0, not below, and the next reservation waits)."""
    budget = Budget("watttime", 3, 300, prefix=prefix)
    assert budget.take_up_to(1) == 1 and budget.remaining() == 2
    assert budget.take_up_to(5) == 2 and budget.remaining() == 0
    assert budget.take_up_to(1) == 0 and budget.take_up_to(0) == 0
    assert get_redis().zcard(budget.key) == 3
    assert budget.take(1) is None and budget.retry_after() > 0


def test_key_names_provider_target_and_period_and_expires_with_the_window(prefix):
    budget = Budget("watttime", 3, 60, "CAISO_NORTH", prefix=prefix)
    account = Budget("electricitymaps", 3, 3600, prefix=prefix)
    assert budget.key == f"{prefix}:ratelimit:watttime:CAISO_NORTH:60s"
    assert account.key == f"{prefix}:ratelimit:electricitymaps:*:3600s"
    budget.try_acquire()
    assert 59_000 < get_redis().pttl(budget.key) <= 60_000


def test_remaining_and_retry_after(prefix):
    budget = Budget("octopus", 3, 2, "AGILE-24-10-01", prefix=prefix)
    assert budget.retry_after() == 0.0
    assert budget.try_acquire()
    time.sleep(0.3)
    assert budget.try_acquire(2)
    assert budget.remaining() == 0

    # One call frees when the first one leaves the window (2 s after it, >= 0.3 s ago);
    # two calls need the later pair to leave too.
    one, two = budget.retry_after(), budget.retry_after(2)
    assert 1.0 < one <= 1.7
    assert one + 0.25 < two <= 2.0
    assert budget.retry_after(3) == pytest.approx(two, abs=0.05)  # the pair came together


def test_taking_several_calls_is_all_or_nothing(prefix):
    budget = Budget("tibber", 4, 60, "home-1", prefix=prefix)
    assert budget.try_acquire(3)
    assert budget.try_acquire(2) is False
    assert budget.remaining() == 1
    assert budget.try_acquire(1)
    assert budget.remaining() == 0


def test_window_slides_instead_of_resetting(prefix):
    budget = Budget("airnow", 2, 1, "94110", prefix=prefix)
    assert budget.try_acquire()
    time.sleep(0.6)
    assert budget.try_acquire()
    assert budget.try_acquire() is False

    # After the first call leaves the window only one call is free; the second still counts.
    time.sleep(budget.retry_after() + 0.05)
    assert budget.remaining() == 1
    assert budget.try_acquire()
    assert budget.try_acquire() is False

    time.sleep(budget.retry_after() + 0.05)
    assert budget.try_acquire()


def test_whole_budget_frees_after_the_period(prefix):
    budget = Budget("awattar", 3, 1, "DE", prefix=prefix)
    assert all(budget.try_acquire() for _ in range(3))
    assert budget.try_acquire() is False
    time.sleep(1.1)
    assert budget.remaining() == 3
    assert all(budget.try_acquire() for _ in range(3))


def test_a_take_that_must_keep_calls_leaves_them_free(prefix):
    """`keep`: calls are taken only while that many stay free after (the reserve of the
    scheduled fetches, which a retry may not spend); a take without it spends them."""
    budget = Budget("awattar", 8, 60, prefix=prefix)
    assert budget.take(3, keep=2) is not None  # 5 left
    assert budget.take(4, keep=2) is None  # would leave 1
    assert budget.take(3, keep=2) is not None  # leaves exactly 2
    assert budget.take(1, keep=2) is None and budget.remaining() == 2
    assert budget.take(1, keep=8) is None  # keeping the whole budget: never a call
    assert budget.take(2) is not None and budget.remaining() == 0


def test_acquire_or_raise(prefix):
    budget = Budget("watttime", 1, 60, "PJM", prefix=prefix)
    budget.acquire_or_raise()
    with pytest.raises(BudgetExceeded) as error:
        budget.acquire_or_raise()
    assert error.value.provider == "watttime"
    assert error.value.target == "PJM"
    assert 59 < error.value.retry_after <= 60
    assert "watttime for PJM is used up" in str(error.value)


def test_budgets_are_independent_per_target_provider_and_period(prefix):
    north = Budget("watttime", 2, 60, "CAISO_NORTH", prefix=prefix)
    assert north.try_acquire(2)
    assert north.try_acquire() is False

    # Another zone, another provider, the provider-wide budget and a per-day budget of the
    # same zone each count on their own.
    others = [
        Budget("watttime", 2, 60, "CAISO_SOUTH", prefix=prefix),
        Budget("electricitymaps", 2, 60, "CAISO_NORTH", prefix=prefix),
        Budget("watttime", 2, 60, None, prefix=prefix),
        Budget("watttime", 2, 86400, "CAISO_NORTH", prefix=prefix),
        Budget("watttime", 2, 60, "*", prefix=prefix),  # a zone literally named "*"
    ]
    assert len({b.key for b in others} | {north.key}) == 6
    for budget in others:
        assert budget.remaining() == 2
        assert budget.try_acquire(2)
    # The same provider + target seen from another Budget object shares the log.
    assert Budget("watttime", 2, 60, "CAISO_NORTH", prefix=prefix).remaining() == 0


def test_invalid_arguments_are_refused(prefix):
    with pytest.raises(ValueError, match="limit >= 1"):
        Budget("watttime", 0, 60, prefix=prefix)
    with pytest.raises(ValueError, match="period above 0"):
        Budget("watttime", 10, 0, prefix=prefix)
    budget = Budget("watttime", 3, 60, prefix=prefix)
    with pytest.raises(ValueError, match="between 1 and the limit"):
        budget.try_acquire(4)
    with pytest.raises(ValueError, match="between 1 and the limit"):
        budget.try_acquire(0)


# Each process waits at a barrier in Redis so both hammer the budget at the same time.
WORKER = """
import json, sys, time
from enrich.redis.budget import Budget
from enrich.redis.client import get_redis

url, prefix, attempts = sys.argv[1], sys.argv[2], int(sys.argv[3])
budget = Budget("hammer", 200, 60, "zone-1", redis_url=url, prefix=prefix)
client = get_redis(url)
client.incr(prefix + ":ready")
deadline = time.monotonic() + 30
while int(client.get(prefix + ":ready")) < 2 and time.monotonic() < deadline:
    time.sleep(0.001)
print(json.dumps(sum(budget.try_acquire() for _ in range(attempts))))
"""


def test_two_processes_share_one_budget_exactly(prefix):
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, settings.REDIS_URL, prefix, "400"],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    granted = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        granted.append(json.loads(out))

    assert sum(granted) == 200
    assert all(count > 0 for count in granted), granted
    budget = Budget("hammer", 200, 60, "zone-1", prefix=prefix)
    assert budget.remaining() == 0
    assert get_redis().zcard(budget.key) == 200


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("100/day", (100, 86400)),
        ("500/hour", (500, 3600)),
        ("60/minute", (60, 60)),
        ("10/second", (10, 1)),
        ("3000/5min", (3000, 300)),
        ("1/1min", (1, 60)),
        (" 100 / Day ", (100, 86400)),
    ],
)
def test_parse_budget_accepts(spec, expected):
    assert parse_budget(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "100",
        "/day",
        "0/day",
        "-5/day",
        "100/week",
        "100/days",
        "100/0min",
        "ten/day",
        "1.5/day",
    ],
)
def test_parse_budget_refuses_with_the_accepted_forms(spec):
    with pytest.raises(ValueError) as error:
        parse_budget(spec)
    assert "N/second, N/minute, N/hour, N/day or N/<k>min" in str(error.value)


def test_budget_from_spec(prefix):
    budget = Budget.from_spec("uk_carbon_intensity", "2/minute", prefix=prefix)
    assert (budget.limit, budget.period_seconds, budget.target) == (2, 60, None)
    assert budget.try_acquire(2)
    assert budget.try_acquire() is False


def test_redis_down_raises_budget_unavailable_naming_the_url(prefix):
    url = f"redis://127.0.0.1:{free_port()}/15"
    budget = Budget("watttime", 10, 60, "PJM", redis_url=url, prefix=prefix)
    for call in (budget.try_acquire, budget.remaining, budget.retry_after):
        with pytest.raises(BudgetUnavailable) as error:
            call()
        assert f"REDIS_URL={url}" in str(error.value)
        assert "Start Redis" in str(error.value)
