from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "kyc"

    def ready(self) -> None:
        from brokerage.dashboard import Card, register_card
        from brokerage.navigation import NavItem, register_ops
        from crm.models import Client

        register_ops(NavItem("KYC", "ops:kyc_home", "kyc_review", order=20))
        register_card(
            Card(
                "Awaiting verification",
                "kyc_review",
                lambda: Client.objects.filter(status=Client.Status.REGISTERED).count(),
                "ops:kyc_home",
                20,
            )
        )
