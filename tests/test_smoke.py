import pytest


@pytest.mark.django_db
def test_signed_in_owner_reaches_the_ops_dashboard_of_her_tenant(alpha, alice):
    from tests.conftest import tenant_client

    response = tenant_client(alpha, alice).get("/ops/")
    assert response.status_code == 200
    assert b"Alpha" in response.content
