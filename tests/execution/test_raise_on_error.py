"""``raise_on_error=True`` raises what ``except ValueError:`` catches, as Dagster does."""

from __future__ import annotations

from pathlib import Path

import pytest

from knoll import Definitions, FilesystemIOManager, asset, define_asset_job, materialize, op
from knoll.defs.graph import job
from knoll.errors import MissingStoredValueError, UserCodeError


class QuotaExceeded(Exception):
    def __init__(self, service: str, limit: int) -> None:
        super().__init__(f"{service} allows {limit} calls a minute")
        self.service = service
        self.limit = limit


@asset
def orders() -> list[int]:
    raise ValueError("orders.csv has no header row")


@asset
def enriched() -> list[int]:
    raise QuotaExceeded("geocoder", 60)


def test_except_value_error_catches_a_failed_asset() -> None:
    try:
        materialize([orders])
    except ValueError as error:
        caught = error
    assert isinstance(caught, UserCodeError)
    assert isinstance(caught.user_exception, ValueError)
    assert caught.user_exception is caught.original
    assert "asset 'orders'" in str(caught)
    assert "orders.csv has no header row" in str(caught)


def test_pytest_raises_with_the_users_type_and_its_attributes() -> None:
    with pytest.raises(QuotaExceeded, match="geocoder allows 60 calls") as info:
        materialize([enriched])
    assert info.value.original.limit == 60  # type: ignore[attr-defined]
    assert isinstance(info.value.__cause__, QuotaExceeded)


def test_the_knoll_wrapper_still_catches_it() -> None:
    with pytest.raises(UserCodeError, match="error in asset 'orders'"):
        materialize([orders])


def test_asset_job_and_op_job_execute_in_process() -> None:
    defs = Definitions(assets=[orders], jobs=[define_asset_job("daily", [orders])])
    with pytest.raises(ValueError, match="no header row"):
        defs.get_job_def("daily").execute_in_process()

    @op
    def parse() -> int:
        raise KeyError("customer_id")

    @job
    def nightly() -> None:
        parse()

    with pytest.raises(KeyError):
        nightly.execute_in_process()


def test_no_raise_keeps_the_result() -> None:
    result = materialize([orders], raise_on_error=False)
    assert not result.success


def test_an_input_with_no_stored_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    @asset
    def prices() -> list[float]:
        return [1.5]

    @asset
    def price_report(prices: list[float]) -> str:
        return f"{len(prices)} prices"

    files = FilesystemIOManager(base_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError) as raised:
        materialize(
            [prices, price_report], selection="price_report", resources={"io_manager": files}
        )
    assert isinstance(raised.value, UserCodeError)
    assert isinstance(raised.value.original, MissingStoredValueError)
    assert str(raised.value) == (
        "asset 'price_report': IO manager 'io_manager' failed to load input 'prices' (asset "
        f"'prices'): asset 'prices' has no stored value at {tmp_path / 'prices'}: it has not been "
        "materialized with this IO manager. Materialize it first, or add it to the selection."
    )
