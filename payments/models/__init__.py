from payments.models.cashier import Deposit, PaymentEvent, WebhookDelivery, Withdrawal, WithdrawalApproval
from payments.models.fx import Conversion, ExchangeRate, TradingTransfer
from payments.models.ledger import Hold, LedgerAccount, LedgerLine, LedgerTransaction
from payments.models.methods import MethodCurrency, PaymentMethod, PaymentPolicy
from payments.models.reconciliation import StatementEntry, StatementImport
from payments.models.simulators import SandboxCheckout, SandboxPayout, SimulatedChainTransaction

__all__ = [
    "Conversion",
    "Deposit",
    "ExchangeRate",
    "Hold",
    "LedgerAccount",
    "LedgerLine",
    "LedgerTransaction",
    "MethodCurrency",
    "PaymentEvent",
    "PaymentMethod",
    "PaymentPolicy",
    "SandboxCheckout",
    "SandboxPayout",
    "SimulatedChainTransaction",
    "StatementEntry",
    "StatementImport",
    "TradingTransfer",
    "WebhookDelivery",
    "Withdrawal",
    "WithdrawalApproval",
]
