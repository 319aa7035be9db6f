from django.urls import path

from payments.wallets import views, views_ledger, views_methods, views_rates

urlpatterns = [
    path("", views.ops_home, name="payments_home"),
    path("accounts/", views_ledger.account_list, name="payments_accounts"),
    path("accounts/<int:pk>/", views_ledger.account_detail, name="payments_account"),
    path("accounts/<int:pk>/adjust/", views_ledger.account_adjust, name="payments_account_adjust"),
    path("transactions/<int:pk>/", views_ledger.transaction_detail, name="payments_transaction"),
    path("transactions/<int:pk>/reverse/", views_ledger.transaction_reverse, name="payments_transaction_reverse"),
    path("rates/", views_rates.rates_page, name="payments_rates"),
    path("rates/import/", views_rates.rates_import, name="payments_rates_import"),
    path("rates/set/", views_rates.rate_set, name="payments_rate_set"),
    path("methods/", views_methods.methods_page, name="payments_methods"),
    path("methods/policy/", views_methods.policy_edit, name="payments_policy"),
    path("methods/<slug:code>/", views_methods.method_edit, name="payments_method"),
    path(
        "methods/<slug:code>/rotate-secret/", views_methods.method_rotate_secret, name="payments_method_rotate_secret"
    ),
]
