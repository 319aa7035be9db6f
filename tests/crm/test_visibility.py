"""crm.visibility: who sees and changes which client. Personas from tests/crm/support_sales.py:
Ann, Ben and Cat are sales agents, Mia manages the London desk (Ben and Cat), Olga is back office,
Cora compliance (sees all, changes nothing)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from crm.models import Desk
from crm.visibility import (
    can_change,
    client_visible_or_404,
    clients_visible_to,
    users_seeing,
    users_seeing_ids,
    visibility_filter,
)
from tests import factories
from tests.crm.support_sales import new_client, sales_floor

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(in_alpha):
    floor = sales_floor()
    clients = {
        "ann": new_client(sales_agent=floor.ann),
        "ben": new_client(sales_agent=floor.ben),
        "cat_retains": new_client(sales_agent=floor.ann, retention_agent=floor.cat),
        "mia": new_client(sales_agent=floor.mia),
        "nobody": new_client(),
    }
    return floor, clients


def visible(user, clients) -> set[str]:
    ids = set(clients_visible_to(user).values_list("pk", flat=True))
    return {name for name, client in clients.items() if client.pk in ids}


def test_a_sales_agent_sees_only_clients_assigned_to_them(book):
    floor, clients = book
    assert visible(floor.ann, clients) == {"ann", "cat_retains"}
    assert visible(floor.ben, clients) == {"ben"}
    assert visible(floor.cat, clients) == {"cat_retains"}  # as their retention agent


def test_a_sales_agent_cannot_open_another_agents_client(book):
    floor, clients = book
    with pytest.raises(Http404):
        client_visible_or_404(floor.ben, clients["ann"].pk)
    with pytest.raises(Http404):
        client_visible_or_404(floor.ben, "not-a-number")
    assert client_visible_or_404(floor.ben, str(clients["ben"].pk)) == clients["ben"]


def test_a_desk_manager_sees_the_desk_and_their_own(book):
    floor, clients = book
    assert visible(floor.mia, clients) == {"ben", "cat_retains", "mia"}


def test_a_desk_manager_of_two_desks_sees_both(book):
    floor, clients = book
    other = Desk.objects.create(name="Paris", manager=floor.mia)
    other.members.add(floor.ann)
    assert visible(floor.mia, clients) == {"ann", "ben", "cat_retains", "mia"}


def test_a_desk_member_does_not_see_colleagues_clients(book):
    floor, clients = book
    assert "cat_retains" not in visible(floor.ben, clients)


@pytest.mark.parametrize("role", ["owner", "admin", "back_office", "compliance", "finance", "dealing", "support"])
def test_back_office_roles_see_every_client(book, role):
    floor, clients = book
    user = factories.staff_user(f"{role}@alpha.test", roles=[role], mfa=False)
    assert visible(user, clients) == set(clients)
    assert visibility_filter(user) is None


def test_clients_partners_and_people_without_roles_see_nothing(book):
    floor, clients = book
    for user in (
        factories.client_user("carl@alpha.test"),
        factories.partner_user("pia@alpha.test"),
        factories.UserFactory(email="nobody@alpha.test"),
    ):
        assert visible(user, clients) == set()


def test_change_rights_follow_sight_and_the_change_capability(book):
    floor, clients = book
    assert can_change(floor.ann, clients["ann"]) is True
    assert can_change(floor.ann, clients["ben"]) is False
    assert can_change(floor.mia, clients["ben"]) is True
    assert can_change(floor.cora, clients["ann"]) is False  # compliance sees all but changes nothing
    assert can_change(floor.olga, clients["nobody"]) is True


def test_visibility_narrows_a_given_queryset(book):
    floor, clients = book
    from crm.models import Client

    narrowed = clients_visible_to(floor.ann, Client.objects.filter(pk__in=[clients["ann"].pk, clients["ben"].pk]))
    assert list(narrowed) == [clients["ann"]]


def test_users_seeing_a_client_is_the_visibility_rule_turned_around(book):
    """One statement answers "who sees this client", and it agrees with clients_visible_to person by
    person: agents, desk managers, the view-all roles, a superuser, a directly granted permission, and
    nobody inactive or without the capability."""
    from django.contrib.auth.models import Permission

    from brokerage.models import User

    floor, clients = book
    root = factories.UserFactory(email="root@alpha.test", roles=[], is_superuser=True)
    direct = factories.UserFactory(email="direct@alpha.test", roles=[])
    direct.user_permissions.add(*Permission.objects.filter(codename__in=["crm_view_client", "crm_view_all_clients"]))
    factories.UserFactory(email="gone@alpha.test", roles=["back_office"], is_active=False)
    factories.UserFactory(email="partial@alpha.test", roles=[]).user_permissions.add(
        Permission.objects.get(
            codename="crm_view_all_clients"
        )  # view-all alone sees every client, as visibility_filter says
    )
    people = list(User.objects.all())
    for name, client in clients.items():
        with CaptureQueriesContext(connection) as captured:
            ids = users_seeing_ids(client)
        assert len([q for q in captured.captured_queries if not q["sql"].startswith("SET ")]) == 1
        seeing = {user.email for user in users_seeing(client)}
        assert {user.pk for user in users_seeing(client)} == set(ids)
        expected = {
            person.email
            for person in User.objects.filter(pk__in=[p.pk for p in people])
            if person.is_active and clients_visible_to(person).filter(pk=client.pk).exists()
        }
        assert seeing == expected, name
        assert root.email in seeing and direct.email in seeing and "gone@alpha.test" not in seeing
    assert floor.mia.email in {u.email for u in users_seeing(clients["ben"])}
    assert floor.mia.email not in {u.email for u in users_seeing(clients["ann"])}
