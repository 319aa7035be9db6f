from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"

    def ready(self) -> None:
        from brokerage.navigation import NavItem, register_ops, register_partners

        register_ops(NavItem("Partners", "ops:partners_home", "partners_view", order=50))
        register_partners(NavItem("Overview", "partners:home", "partner_portal_access", order=0))
