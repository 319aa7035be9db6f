"""Roles and what each may do: the one table every check in the product reads.

A capability is a Django permission of the `brokerage.Capability` model, so
`user.has_perm("brokerage.crm_view_client")` works everywhere (views, DRF,
templates) and tenant admins can read the mapping in /admin/. Each role is a
Django group of the same name, created per tenant by `roles_sync`.
"""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Administrator"
    BACK_OFFICE = "back_office", "Back office"
    COMPLIANCE = "compliance", "Compliance"
    FINANCE = "finance", "Finance"
    DEALING = "dealing", "Dealing"
    SALES = "sales", "Sales"
    SUPPORT = "support", "Support"
    CLIENT = "client", "Client"
    PARTNER = "partner", "Partner"


STAFF_ROLES = frozenset(
    {
        Role.OWNER,
        Role.ADMIN,
        Role.BACK_OFFICE,
        Role.COMPLIANCE,
        Role.FINANCE,
        Role.DEALING,
        Role.SALES,
        Role.SUPPORT,
    }
)
EXTERNAL_ROLES = frozenset({Role.CLIENT, Role.PARTNER})

# codename -> description. Codenames are "<area>_<action>" so they read well
# as "brokerage.<codename>" permissions.
CAPABILITIES: dict[str, str] = {
    "ops_access": "Use the operations dashboard",
    "staff_manage": "Invite staff, change roles, deactivate staff",
    "settings_manage": "Change tenant settings and branding",
    "audit_view": "Read the audit trail",
    "crm_view_client": "See client records",
    "crm_change_client": "Edit client records, log notes and calls, send emails, work tasks",
    "crm_view_all_clients": "See every client, not only those assigned to you or your desk",
    "crm_manage": "Manage desks, assignment rules, lead imports, email templates; reassign clients",
    "kyc_review": "Review KYC documents and decide",
    "kyc_compliance": "Decide sanctions and PEP hits; give the second approval of a high-risk client",
    "kyc_manage": "Configure verification levels, questionnaires, watchlists and the KYC vendor",
    "payments_view": "See deposits, withdrawals and wallets",
    "payments_approve": "Approve or reject withdrawals",
    "payments_manage": "Configure payment methods, limits and rates; reconcile; reverse postings",
    "trading_view": "See trading accounts, deals and positions",
    "trading_manage": "Change leverage, groups and account status",
    "partners_view": "See partners and commissions",
    "partners_manage": "Manage partners, plans and payouts",
    "risk_view": "See exposure and alerts",
    "risk_manage": "Work AML cases and alerts",
    "reporting_view": "See reports and statements",
    "portal_access": "Use the client portal",
    "partner_portal_access": "Use the partner portal",
}

_EVERY_STAFF_CAPABILITY = frozenset(c for c in CAPABILITIES if c not in {"portal_access", "partner_portal_access"})

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.OWNER: _EVERY_STAFF_CAPABILITY,
    Role.ADMIN: _EVERY_STAFF_CAPABILITY,
    Role.BACK_OFFICE: frozenset(
        {
            "ops_access",
            "crm_view_client",
            "crm_change_client",
            "crm_view_all_clients",
            "crm_manage",
            "kyc_review",
            "payments_view",
            "trading_view",
            "partners_view",
            "partners_manage",
        }
    ),
    Role.COMPLIANCE: frozenset(
        {
            "ops_access",
            "audit_view",
            "crm_view_client",
            "crm_view_all_clients",
            "kyc_review",
            "kyc_compliance",
            "kyc_manage",
            "payments_view",
            "trading_view",
            "partners_view",
            "risk_view",
            "risk_manage",
            "reporting_view",
        }
    ),
    Role.FINANCE: frozenset(
        {
            "ops_access",
            "crm_view_client",
            "crm_view_all_clients",
            "payments_view",
            "payments_approve",
            "payments_manage",
            "partners_view",
            "reporting_view",
        }
    ),
    Role.DEALING: frozenset(
        {
            "ops_access",
            "crm_view_client",
            "crm_view_all_clients",
            "trading_view",
            "trading_manage",
            "risk_view",
            "reporting_view",
        }
    ),
    Role.SALES: frozenset({"ops_access", "crm_view_client", "crm_change_client", "partners_view"}),
    Role.SUPPORT: frozenset(
        {"ops_access", "crm_view_client", "crm_change_client", "crm_view_all_clients", "kyc_review"}
    ),
    Role.CLIENT: frozenset({"portal_access"}),
    Role.PARTNER: frozenset({"partner_portal_access"}),
}


# Model permissions for the tenant admin (/admin/), which only owners and admins reach.
_ADMIN_SITE_PERMISSIONS = frozenset(
    {
        "brokerage.view_user",
        "brokerage.change_user",
        "brokerage.view_auditrecord",
        "crm.view_client",
        "crm.change_client",
    }
)
ROLE_MODEL_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: _ADMIN_SITE_PERMISSIONS,
    Role.ADMIN: _ADMIN_SITE_PERMISSIONS,
}


def opens_admin_site(roles) -> bool:
    """Owners and admins may use the tenant admin (Django's is_staff flag)."""
    return bool({Role.OWNER, Role.ADMIN} & set(roles))


def perm(codename: str) -> str:
    """The full permission name of a capability, checked against the table."""
    if codename not in CAPABILITIES:
        raise KeyError(f"unknown capability {codename!r}")
    return f"brokerage.{codename}"
