"""FreshnessPolicy: time windows and cron deadlines, evaluated at given times, and the errors
of policies that cannot work."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest

from knoll import AssetSpec, FreshnessPolicy, asset
from knoll._serdes import pack, unpack
from knoll.defs.freshness import FreshnessState
from knoll.errors import DefinitionError

T0 = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC).timestamp()  # a Monday, 09:30
HOUR = 3600.0


def test_a_time_window_passes_then_warns_then_fails() -> None:
    policy = FreshnessPolicy.time_window(
        fail_window=timedelta(hours=24), warn_window=timedelta(hours=12)
    )
    fresh = policy.evaluate(T0, T0 + HOUR)
    assert fresh.state is FreshnessState.PASS
    assert fresh.reason == "last updated at 2026-03-02 09:30:00 UTC, 1:00:00 ago: within 12:00:00"
    warn = policy.evaluate(T0, T0 + 13 * HOUR)
    assert warn.state is FreshnessState.WARN
    assert warn.reason == (
        "last updated at 2026-03-02 09:30:00 UTC, 13:00:00 ago: longer ago than its warn window "
        "of 12:00:00"
    )
    fail = policy.evaluate(T0, T0 + 25 * HOUR)
    assert fail.state is FreshnessState.FAIL
    assert fail.reason.endswith("longer ago than its fail window of 1 day, 0:00:00")
    never = policy.evaluate(None, T0)
    assert (never.state, never.reason) == (FreshnessState.UNKNOWN, "it has never been updated")


def test_a_time_window_without_warn_window_only_fails() -> None:
    policy = FreshnessPolicy.time_window(fail_window=timedelta(hours=2))
    assert policy.warn_window is None
    assert policy.evaluate(T0, T0 + HOUR).state is FreshnessState.PASS
    assert policy.evaluate(T0, T0 + 3 * HOUR).state is FreshnessState.FAIL


def test_a_cron_deadline_needs_an_update_in_its_window() -> None:
    policy = FreshnessPolicy.cron(deadline_cron="0 9 * * *", lower_bound_delta=timedelta(hours=2))
    # at 09:30 the latest deadline is 09:00 today; its window opened at 07:00
    on_time = policy.evaluate(T0 - 1.5 * HOUR, T0)  # 08:00
    assert on_time.state is FreshnessState.PASS
    assert on_time.reason == (
        "last updated at 2026-03-02 08:00:00 UTC, after the window of its deadline 2026-03-02 "
        "09:00:00 UTC opened at 2026-03-02 07:00:00 UTC"
    )
    late = policy.evaluate(T0 - 3 * HOUR, T0)  # 06:30
    assert late.state is FreshnessState.FAIL
    assert late.reason == (
        "last updated at 2026-03-02 06:30:00 UTC, before the window of its deadline 2026-03-02 "
        "09:00:00 UTC opened at 2026-03-02 07:00:00 UTC, and not updated since"
    )
    # before tomorrow's deadline, today's update still counts
    assert policy.evaluate(T0 - 1.5 * HOUR, T0 + 20 * HOUR).state is FreshnessState.PASS
    assert policy.evaluate(T0 - 1.5 * HOUR, T0 + 24 * HOUR).state is FreshnessState.FAIL
    assert policy.evaluate(None, T0).state is FreshnessState.UNKNOWN


def test_a_cron_deadline_is_read_in_its_timezone() -> None:
    policy = FreshnessPolicy.cron(
        deadline_cron="0 9 * * *", lower_bound_delta=timedelta(hours=1), timezone="Asia/Tokyo"
    )
    # 09:00 in Tokyo is 00:00 UTC: updated at 23:30 UTC the day before is in its window
    updated = datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC).timestamp()
    assert policy.evaluate(updated, T0).state is FreshnessState.PASS
    assert policy.evaluate(updated - 2 * HOUR, T0).state is FreshnessState.FAIL


def test_policies_go_through_json() -> None:
    for policy in (
        FreshnessPolicy.time_window(fail_window=timedelta(days=1), warn_window=timedelta(hours=6)),
        FreshnessPolicy.cron(
            deadline_cron="30 6 * * MON-FRI", lower_bound_delta=timedelta(hours=1)
        ),
    ):
        assert unpack(pack(policy)) == policy


def test_assets_and_specs_carry_their_policy() -> None:
    policy = FreshnessPolicy.time_window(fail_window=timedelta(hours=1))

    @asset(freshness_policy=policy)
    def orders() -> int:
        return 1

    assert orders.specs[0].freshness_policy == policy
    assert AssetSpec("feed", freshness_policy=policy).freshness_policy == policy
    assert AssetSpec("feed").freshness_policy is None
    with pytest.raises(DefinitionError) as raised:
        AssetSpec("feed", freshness_policy=timedelta(hours=1))  # type: ignore[arg-type]
    assert str(raised.value) == (
        "freshness_policy of asset 'feed' must be a FreshnessPolicy, got "
        "datetime.timedelta(seconds=3600): build one with FreshnessPolicy.time_window("
        "fail_window=timedelta(hours=24)) or FreshnessPolicy.cron(deadline_cron='0 9 * * *', "
        "lower_bound_delta=timedelta(hours=1))."
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: FreshnessPolicy.time_window(
                fail_window=timedelta(hours=1), warn_window=timedelta(hours=2)
            ),
            "FreshnessPolicy.time_window(fail_window=datetime.timedelta(seconds=3600), "
            "warn_window=datetime.timedelta(seconds=7200)): warn_window must be shorter than "
            "fail_window (a warning comes before the failure), for example fail_window=timedelta("
            "hours=24), warn_window=timedelta(hours=12).",
        ),
        (
            lambda: FreshnessPolicy.time_window(fail_window=timedelta(0)),
            "FreshnessPolicy.time_window: fail_window=datetime.timedelta(0) must be a positive "
            "datetime.timedelta, for example timedelta(hours=24).",
        ),
        (
            lambda: FreshnessPolicy.cron(
                deadline_cron="0 * * * *", lower_bound_delta=timedelta(hours=2)
            ),
            "FreshnessPolicy.cron(deadline_cron='0 * * * *'): lower_bound_delta=datetime."
            "timedelta(seconds=7200) is longer than the 1:00:00 between two deadlines, so the "
            "windows of two deadlines would overlap. Give a lower_bound_delta no longer than that.",
        ),
        (
            lambda: FreshnessPolicy.cron(
                deadline_cron="0 9 * * *", lower_bound_delta=timedelta(hours=1), timezone="Mars"
            ),
            "FreshnessPolicy.cron(deadline_cron='0 9 * * *'): timezone 'Mars' is not a time zone "
            "name: give an IANA name such as 'UTC' or 'Europe/Paris'.",
        ),
    ],
)
def test_a_policy_that_cannot_work_is_refused(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(DefinitionError) as raised:
        make()
    assert str(raised.value) == message


def test_a_bad_cron_string_is_named() -> None:
    with pytest.raises(DefinitionError) as raised:
        FreshnessPolicy.cron(deadline_cron="every day", lower_bound_delta=timedelta(hours=1))
    assert str(raised.value).startswith(
        "FreshnessPolicy.cron(deadline_cron='every day'): invalid cron string 'every day': "
    )
