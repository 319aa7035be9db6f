"""Payments in the tenant admin (/admin/, owners and admins).

Money records (ledger, holds, deposits, withdrawals, conversions, transfers,
rates, statements) are read-only here: they change only through the services.
Methods and the policy can be edited by people with payments_manage, audited;
the webhook secret is never shown (rotate it in /ops/payments/methods/).
"""

from django import forms
from django.contrib import admin

from brokerage.admin import AuditedModelAdmin
from brokerage.audit import audit_log
from brokerage.roles import perm
from payments.models import (
    Conversion,
    Deposit,
    ExchangeRate,
    Hold,
    LedgerAccount,
    LedgerLine,
    LedgerTransaction,
    MethodCurrency,
    PaymentEvent,
    PaymentMethod,
    PaymentPolicy,
    StatementEntry,
    StatementImport,
    TradingTransfer,
    WebhookDelivery,
    Withdrawal,
    WithdrawalApproval,
)
from payments.wallets.services import CurrencyLimits, currency_limits_problems, policy_problems


class _Capabilities:
    """Admin access by the role table's capabilities instead of Django model permissions."""

    change_capability = ""

    def _can(self, request, capability: str) -> bool:
        return bool(capability) and request.user.is_active and request.user.has_perm(perm(capability))

    def has_module_permission(self, request):
        return self._can(request, "payments_view")

    def has_view_permission(self, request, obj=None):
        return self._can(request, "payments_view")

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return self._can(request, self.change_capability)

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(_Capabilities, admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


class ReadOnlyInline(_Capabilities, admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


class LineInline(ReadOnlyInline):
    model = LedgerLine
    fields = ["account", "currency", "amount", "balance_after"]


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "kind", "currency", "balance", "held", "client"]
    list_filter = ["kind", "currency"]
    search_fields = ["code", "name", "client__email"]
    list_select_related = ["client"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["posted_at", "kind", "reference", "client"]
    list_filter = ["kind"]
    search_fields = ["reference", "description"]
    list_select_related = ["client"]
    inlines = [LineInline]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "reference", "amount", "status"]
    list_filter = ["status"]
    search_fields = ["reference"]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "client", "method", "amount", "currency", "status"]
    list_filter = ["status", "method", "currency"]
    search_fields = ["public_id", "client__email", "psp_reference", "wire_reference"]
    list_select_related = ["client", "method"]


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "client", "method", "amount", "currency", "status"]
    list_filter = ["status", "method", "currency"]
    search_fields = ["public_id", "client__email", "payout_reference"]
    list_select_related = ["client", "method"]


@admin.register(WithdrawalApproval)
class WithdrawalApprovalAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "withdrawal", "staff", "approved"]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "status", "deposit", "withdrawal", "actor_label"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "event_id", "outcome", "signature_valid"]
    list_filter = ["provider", "outcome"]
    search_fields = ["event_id"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "base", "quote", "rate", "source"]
    list_filter = ["source", "base", "quote"]


@admin.register(Conversion)
class ConversionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "client", "from_amount", "from_currency", "to_amount", "to_currency", "revenue"]
    list_select_related = ["client"]


@admin.register(TradingTransfer)
class TradingTransferAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "client", "account_login", "direction", "amount", "currency", "status"]
    list_filter = ["status", "direction"]
    list_select_related = ["client"]


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyAdmin):
    list_display = ["imported_at", "format", "filename", "account", "balances_agree"]


@admin.register(StatementEntry)
class StatementEntryAdmin(ReadOnlyAdmin):
    list_display = ["statement", "line_no", "amount", "currency", "status"]
    list_filter = ["status"]


def _currencies(method: PaymentMethod) -> dict:
    return {
        mc.currency: {"fee_fixed": f"{mc.fee_fixed:f}", "min": f"{mc.min_amount:f}", "max": f"{mc.max_amount:f}"}
        for mc in method.currencies.order_by("currency")
    }


class MethodCurrencyAdminForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        names = ("currency", "fee_fixed", "min_amount", "max_amount")
        if all(data.get(name) is not None for name in names):
            for field, messages in currency_limits_problems(CurrencyLimits(**{n: data[n] for n in names})).items():
                self.add_error(field, messages)
        return data


class PolicyAdminForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        names = (
            "auto_approve_limit",
            "four_eyes_threshold",
            "daily_withdrawal_limit",
            "fx_markup_percent",
            "rate_feed",
        )
        if all(data.get(name) is not None for name in names):
            for field, messages in policy_problems({n: data[n] for n in names}).items():
                self.add_error(field, messages)
        return data


class MethodCurrencyInline(_Capabilities, admin.TabularInline):
    model = MethodCurrency
    form = MethodCurrencyAdminForm
    extra = 0
    change_capability = "payments_manage"

    def has_add_permission(self, request, obj=None):
        return self._can(request, "payments_manage")

    def has_delete_permission(self, request, obj=None):
        return self._can(request, "payments_manage")


@admin.register(PaymentMethod)
class PaymentMethodAdmin(_Capabilities, AuditedModelAdmin):
    change_capability = "payments_manage"
    list_display = ["name", "code", "kind", "provider", "deposits_enabled", "withdrawals_enabled", "fee_percent"]
    # Never shown, never edited here: rotated in /ops/payments/methods/, shown once.
    exclude = ["webhook_secret"]
    readonly_fields = ["code", "kind", "provider"]
    inlines = [MethodCurrencyInline]

    def save_related(self, request, form, formsets, change):
        before = _currencies(form.instance)
        super().save_related(request, form, formsets, change)
        after = _currencies(form.instance)
        if before != after:
            audit_log(
                actor=request.user,
                action="admin.payments.methodcurrency.changed",
                obj=form.instance,
                before={"currencies": before},
                after={"currencies": after},
            )


@admin.register(PaymentPolicy)
class PaymentPolicyAdmin(_Capabilities, AuditedModelAdmin):
    change_capability = "payments_manage"
    form = PolicyAdminForm
    list_display = [
        "__str__",
        "auto_approve_limit",
        "four_eyes_threshold",
        "daily_withdrawal_limit",
        "fx_markup_percent",
    ]
