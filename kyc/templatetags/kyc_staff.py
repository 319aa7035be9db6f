"""What staff read about a KYC file on the ops pages (review page, client 360 panel): check labels
instead of the checks' stored names, and the requirements in staff wording."""

from django import template

from kyc.checks.result import check_label
from kyc.requirements import requirement_states

register = template.Library()


@register.filter(name="check_label")
def check_label_filter(name: str) -> str:
    """`{{ check.name|check_label }}`: "issue_date" reads "Issue date"."""
    return check_label(name)


@register.simple_tag
def staff_requirements(client) -> list:
    """`{% staff_requirements client as requirements %}`: the client's requirements worded for staff."""
    return list(requirement_states(client, audience="staff").values())
