import io

from django.core.management import call_command


def test_the_openapi_schema_generates_and_validates_without_warnings():
    """Client generators depend on it: a new endpoint must not leave ambiguous or broken types."""
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "/api/v1/deposits/" in out.getvalue()
    assert "/api/v1/withdrawals/" in out.getvalue()
