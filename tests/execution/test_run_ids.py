"""Run ids derived from what a run is for: stable, distinct."""


def test_derived_run_ids_are_stable_and_distinct() -> None:
    from knoll.execution.run import derived_run_id

    first = derived_run_id("sales", "daily", "2024-05-01")
    assert first == derived_run_id("sales", "daily", "2024-05-01")
    assert first != derived_run_id("sales", "daily", "2024-05-02")
    assert first != derived_run_id("sales", "daily2024-05-01")  # parts are kept apart
    assert len(first) == 36
    assert first[14] == "5"
