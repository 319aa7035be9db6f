"""The tenant admin shows the shared lists read-only: a loaded version and its entries can be read by
the owner, never added, edited or deleted there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tenants.web import tenant_web_client
from watchlists.loading import list_load
from watchlists.models import Entry, ListVersion

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def version():
    return list_load("eu", [FIXTURES / "eu.xml"], "eu_xml")


def test_owner_reads_versions_and_entries(alpha, alice, version):
    admin = tenant_web_client(alpha, alice)
    entry = version.entries.get(entry_id="EU.100.1")

    listing = admin.get("/admin/watchlists/listversion/")
    assert listing.status_code == 200
    assert "eu.xml" in listing.content.decode()
    search = admin.get("/admin/watchlists/entry/", {"q": "LEBEDEV"})
    assert "Pavel Olegovich LEBEDEV" in search.content.decode()
    page = admin.get(f"/admin/watchlists/entry/{entry.pk}/change/")
    assert page.status_code == 200
    assert 'name="name"' not in page.content.decode()  # shown, not editable


def test_nothing_can_be_added_changed_or_deleted(alpha, alice, version):
    admin = tenant_web_client(alpha, alice)
    entry = version.entries.get(entry_id="EU.100.1")

    assert admin.get("/admin/watchlists/listversion/add/").status_code == 403
    assert admin.post(f"/admin/watchlists/listversion/{version.pk}/delete/", {"post": "yes"}).status_code == 403
    admin.post(f"/admin/watchlists/entry/{entry.pk}/change/", {"name": "Someone Else"})

    assert Entry.objects.get(pk=entry.pk).name == "Pavel Olegovich LEBEDEV"
    assert ListVersion.objects.filter(pk=version.pk, is_current=True).exists()


def test_a_client_never_reaches_the_lists(alpha, carl, version):
    response = tenant_web_client(alpha, carl).get("/admin/watchlists/entry/")

    assert response.status_code == 302
    assert "/login/" in response["Location"]
