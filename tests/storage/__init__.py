import pytest

# The conformance suites are plain modules, not test files: have pytest rewrite their asserts
# so that a failing backend shows the values that differ.
pytest.register_assert_rewrite("tests.storage.conformance")
