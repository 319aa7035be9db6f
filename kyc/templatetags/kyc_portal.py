"""The verification card on the client portal's home page (templates/portal/home.html)."""

from django import template

from kyc.requirements import MISSING, client_level, missing, requirement_states

register = template.Library()


@register.inclusion_tag("kyc/portal/_home_card.html")
def kyc_home_card(client):
    """What the client still has to do for verification, with a button to the next step."""
    if client is None:
        return {"client": None}
    states = requirement_states(client)
    to_do = missing(client, states)
    next_step = next((r for r in to_do if r.state == MISSING and r.url), None)
    return {
        "client": client,
        "level": client_level(client, states),
        "to_do": [r for r in to_do if r.state == MISSING and r.code != "approval"],
        "next_step": next_step,
    }
