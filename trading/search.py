"""Trading accounts in the global search box, by login (exact, or a prefix of at least 3 digits).

Registered on import by trading.apps. Accounts are found for whoever may see their client (crm
visibility); logins nobody owns yet are shown only to trading staff. A hit opens the account's ops
page for trading staff, the client's 360 page for everyone else.
"""

from __future__ import annotations

from django.urls import reverse

from brokerage.roles import perm
from brokerage.search import SearchHit, SearchProvider, register_search
from crm.links import client_url
from crm.visibility import clients_visible_to, visibility_filter
from trading.models import TradingAccount

PREFIX_MIN_LENGTH = 3


def find_accounts(query: str, user, limit: int) -> list[SearchHit]:
    login = query.strip()
    if " " in login or len(login) > 40 or not any(char.isdigit() for char in login):
        return []
    accounts = TradingAccount.objects.select_related("client", "platform")
    if len(login) >= PREFIX_MIN_LENGTH:
        accounts = accounts.filter(login__startswith=login)
    else:
        accounts = accounts.filter(login=login)
    is_trading_staff = user.has_perm(perm("trading_view"))
    if visibility_filter(user) is not None:
        accounts = accounts.filter(client_id__in=clients_visible_to(user).values("pk"))
    hits = []
    for account in accounts.order_by("login")[:limit]:
        if account.client_id is None and not is_trading_staff:
            continue
        if is_trading_staff:
            url = reverse("ops:trading_account", args=[account.login])
        else:
            url = client_url(account.client_id)
        owner = str(account.client) if account.client_id else "no client"
        hits.append(
            SearchHit(
                kind="Trading account",
                label=account.login,
                detail=f"{owner} · {account.platform.name} · {'demo' if account.is_demo else 'live'} {account.currency}",
                url=url,
                exact=account.login == login,
            )
        )
    return hits


register_search(SearchProvider("Trading accounts", "crm_view_client", find_accounts, order=20))
