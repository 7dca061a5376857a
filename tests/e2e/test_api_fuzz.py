"""No input makes the API answer 5xx: schemathesis generates requests from our OpenAPI schema
(valid and invalid bodies, odd strings, wrong types) and sends them to a real server."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, served

EXAMPLES_PER_OPERATION = 30


def test_no_input_makes_a_server_error(tmp_path: Path) -> None:
    # Generated URLs lead nowhere here: give up on them quickly.
    assistant = Assistant(
        Settings(data_dir=tmp_path / "data", url_timeout_s=2.0, max_question_chars=500)
    )
    assert assistant.ingest([ARTICLE]).ok
    with served(assistant) as client:
        base = str(client.base_url).rstrip("/")
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [op.ok() for op in schema.get_all_operations()]
        assert len(operations) >= 9
        failures: list[str] = []
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def check(case: object) -> None:
                case.call_and_validate(checks=[not_a_server_error])  # type: ignore[attr-defined]

            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report all
                failures.append(f"{operation.label}: {str(exc)[:800]}")
        assert not failures, "\n\n".join(failures)
