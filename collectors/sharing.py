"""Provider configs that share a target: dispatch sends one collect per (provider, target)
under the first (lowest-id) config; the fetch asks for what every config sharing it asks for
(Adapter.combined_options), since the answer is shared by all of them anyway."""

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from collectors import cadence, pipeline
from collectors.base import Adapter, ConfigError, Credentials, SiteInfo, Target
from collectors.models import CollectorRun
from collectors.registry import UnknownProvider, adapter_for
from collectors.spending import Spending, budget_for, budget_spec, scheduled_calls
from enrich.crypto import UnreadableSecret
from enrich.http import AuthError
from enrich.models import ProviderConfig
from enrich.redis.budget import Budget

logger = logging.getLogger("collectors")

# What a target depends on: the site's SiteInfo and the config's stored credentials.
_ROW_FIELDS = ("id", "provider", "username", "api_key", "password", "options", "session",
               *(f"site__{name}" for name in pipeline.SITE_FIELDS))  # fmt: skip


def whole(config_id: int) -> ProviderConfig:
    return ProviderConfig.objects.select_related("site").get(pk=config_id)


def keyed_rows(source: str, provider: str | None = None) -> Iterator[tuple[int, str, Any]]:
    """(config id, provider, target key or the ConfigError/UnknownProvider it raised) of each
    enabled config of an enabled site, lowest id first.

    Thousands of sites share a few targets, so the configs are read as plain rows (no model
    instance, no timestamps) and the target computed from them; only a config whose
    credentials come from elsewhere (an adapter with its own credentials()), are unreadable or
    hold a saved session, or whose target fails, is loaded whole and goes through
    `pipeline.target_for`."""
    rows = ProviderConfig.objects.filter(source=source, enabled=True, site__enabled=True)
    if provider is not None:
        rows = rows.filter(provider=provider)
    for config_id, provider_, *row in rows.order_by("id").values_list(*_ROW_FIELDS):
        try:
            key = _target_key(source, provider_, *row)
            if key is None:
                key = pipeline.target_for(whole(config_id)).key
        except ProviderConfig.DoesNotExist:
            continue  # deleted (in the admin) since the rows were read
        except (ConfigError, UnknownProvider) as exc:
            yield config_id, provider_, exc
            continue
        yield config_id, provider_, key


def _target_key(source, provider, username, api_key, password, options, session, *site):
    """The target key from a config's row; None when the row alone cannot tell (see
    keyed_rows). Raises what the adapter raises for a bad configuration."""
    adapter = adapter_for(source, provider)
    if type(adapter).credentials is not Adapter.credentials or session:
        return None
    if isinstance(api_key, UnreadableSecret) or isinstance(password, UnreadableSecret):
        return None  # target_for names the row and field
    plain = pipeline.stored_credentials(username, password, api_key, options, {})
    return adapter.target(SiteInfo(*site), plain).key


def sharing(config: ProviderConfig, key: str) -> list[int]:
    """The ids of the other collectable configs whose target is `key` (the run's), lowest
    first."""
    return [
        config_id
        for config_id, _, found in keyed_rows(config.source, config.provider)
        if found == key and config_id != config.pk
    ]


def deleted_meanwhile(config: ProviderConfig, key: str) -> bool:
    """Whether `config` (or its site) was deleted during its run, and no other collectable
    config shares its target `key`: then its answer is for no one and is not written."""
    gone = not ProviderConfig.objects.filter(pk=config.pk).exists()
    return gone and not sharing(config, key)


def others_options(config: ProviderConfig, key: str) -> list[Mapping[str, Any]]:
    """The options of the other collectable configs whose target is `key`."""
    ids = sharing(config, key)
    options = ProviderConfig.objects.filter(pk__in=ids).values_list("options", flat=True)
    return [found for found in options if isinstance(found, dict)]


def shared(config: ProviderConfig, key: str, creds: Credentials) -> Credentials:
    """The credentials of a fetch asking for what every config sharing its target asks."""
    adapter = adapter_for(config.source, config.provider)
    own = creds.options  # its additive names are among the adapter's options (the admin's)
    if all(own.get(name) == ranks[-1] for name, ranks in adapter.additive.items()):
        return creds  # it asks for the most already (or nothing adds to this provider's fetch)
    others = others_options(config, key)
    if not others:
        return creds
    return replace(creds, options=dict(adapter.combined_options(creds.options, others)))


def scheduled_on(
    config: ProviderConfig, target: Target, creds: Credentials, budget: Budget, every: int
) -> int:
    """The calls the scheduled fetches make in one period of `budget`: of `target` (one every
    `every` seconds) and of every other target whose fetches spend from that budget (the
    provider's, or an account's: aWATTar's DE and AT), each under the config dispatch
    fetches it with (the lowest id) at that config's cadence."""
    adapter = adapter_for(config.source, config.provider)
    calls = scheduled_calls(adapter, target, creds, budget, every)
    if adapter.budget_key(target, creds) == target.key:
        return calls  # a budget of its own
    chosen: dict[str, int] = {}
    for config_id, _, key in keyed_rows(config.source, config.provider):
        if isinstance(key, str) and key != target.key:
            chosen.setdefault(key, config_id)
    for other in ProviderConfig.objects.select_related("site").filter(pk__in=chosen.values()):
        try:
            theirs = pipeline.target_for(other)
            plain = shared(other, theirs.key, pipeline.credentials(other))
            spends = budget_for(other, theirs, plain)
        except ConfigError:
            continue  # not collected: it schedules no call
        if spends is None or spends.key != budget.key:
            continue
        slower = cadence.lowered(adapter, theirs, plain, spends, other.interval_seconds,
                                 budget_spec(other))  # fmt: skip
        calls += scheduled_calls(adapter, theirs, plain, spends,
                                 slower.every if slower else other.interval_seconds)  # fmt: skip
    return calls


def spend_for(
    config: ProviderConfig, target: Target, creds: Credentials
) -> tuple[Spending, cadence.Cadence | None, int | None]:
    """What a fetch of `target` with `config`'s credentials may spend: its Spending (the
    budget, whom the provider's limit covers, the reserve kept for scheduled fetches), the
    slower cadence the budget needs (None: none) and the calls it reserves (None: no budget)."""
    adapter = adapter_for(config.source, config.provider)
    budget = budget_for(config, target, creds)
    slower = cadence.lowered(adapter, target, creds, budget, config.interval_seconds,
                             budget_spec(config))  # fmt: skip
    calls = min(adapter.calls_for(target, creds), budget.limit) if budget else None
    every = slower.every if slower else config.interval_seconds
    scheduled = partial(scheduled_on, config, target, creds, budget, every) if budget else None
    scope = adapter.budget_key(target, creds)
    return Spending(budget, None, config.provider, scope, scheduled=scheduled), slower, calls


Fetch = Callable[..., "pipeline.Outcome"]  # (config, *, creds, spend)


def fetch_trying_keys(
    config: ProviderConfig,
    target: Target,
    creds: Credentials,
    spend: Spending,
    *,
    retry: bool,
    fetch: Fetch,
) -> "pipeline.Outcome":
    """`fetch` with the config's credentials; when the provider refuses them (AuthError), with
    those of each other config sharing the target whose account or key differs, lowest id first,
    in this run: the answer is shared, so one working key serves every site. The refused config
    gets a failed run of its own (`site:<id>`), as any refused config does; the run's note says
    whose key fetched. Raises the first refusal when no other key works."""
    try:
        return fetch(config, creds=creds, spend=spend)
    except AuthError as exc:
        refused = exc
    adapter = adapter_for(config.source, config.provider)
    tried = {_account(creds)}
    for other in (
        ProviderConfig.objects.select_related("site")
        .filter(pk__in=sharing(config, target.key))
        .order_by("id")
    ):
        try:
            theirs = shared(other, target.key, pipeline.credentials(other, fetching=True))
        except ConfigError:
            continue
        if _account(theirs) in tried:
            continue
        tried.add(_account(theirs))
        their_spend, _, calls = spend_for(other, target, theirs)
        their_spend.seconds = spend.seconds
        if their_spend.reserve_calls(calls or 0, retry=retry):
            continue  # that account's budget is used up: it is not called
        try:
            outcome = fetch(other, creds=theirs, spend=their_spend)
        except AuthError as exc:
            adapter.on_auth_failure(other, exc, theirs)
            _record_refused(other, exc, f"config {config.pk}'s key was refused as well")
            continue
        adapter.on_auth_failure(config, refused, creds)
        whose = f"fetched with the key of config {other.pk} (site {other.site.name})"
        _record_refused(config, refused, f"{whose}, which serves this site too")
        note = f"{whose}: config {config.pk}'s was refused"
        outcome.error = "; ".join(n for n in (note, outcome.error) if n)
        return outcome
    raise refused


def _account(creds: Credentials) -> tuple[str, str, str]:
    return creds.username, creds.password, creds.api_key


def _record_refused(config: ProviderConfig, error: AuthError, served: str) -> None:
    """A failed run of the config whose key the provider refused (it needs a new one)."""
    logger.error("collect: %s: its key was refused: %s; %s", config, error, served)
    record_failure(config, f"{type(error).__name__}: {error}", served[:200], message=str(error))


def record_failure(
    config: ProviderConfig, error: str, served: str, task_id: str = "", message: str = ""
) -> None:
    """A failed run of one config (`site:<id>`): its collection did not get as far as the
    pipeline (collectors.tasks), or its key was refused while another's served the target.
    Its `message`, what the status page shows, is `message` (the error without its class) or
    else the error whole, as the pipeline records a run (collectors.pipeline.Outcome.said)."""
    CollectorRun.objects.create(
        source=config.source,
        provider=config.provider,
        target=f"site:{config.site_id}",
        started=datetime.now(UTC),
        status=CollectorRun.Status.FAILED,
        error=error,
        message=message or error,
        served=served,
        task_id=task_id,
    )
