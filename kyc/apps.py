from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "kyc"

    def ready(self) -> None:
        from brokerage.navigation import NavItem, register_ops
        from kyc import cards  # noqa: F401

        register_ops(NavItem("KYC", "ops:kyc_home", "kyc_review", order=20))
