from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "kyc"

    def ready(self) -> None:
        from brokerage.navigation import NavItem, register_ops, register_portal
        from kyc import (  # noqa: F401
            cards,  # noqa: F401
            panels,
            screening_hooks,  # noqa: F401
            tasks_documents,  # noqa: F401
            tasks_expiry,
        )

        register_ops(NavItem("KYC", "ops:kyc_home", "kyc_review", order=20))
        register_portal(NavItem("Verification", "portal:kyc_status", "portal_access", order=5))
