"""Trading data: platforms, instruments, accounts, and what the platforms report (deals, positions)."""

from trading.models.accounts import TradingAccount, TradingPolicy
from trading.models.deals import Deal, Position, SyncProblem
from trading.models.platforms import Platform
from trading.models.simulator import SimAccount, SimDeal, SimPosition
from trading.models.symbols import Quote, Symbol, SymbolAlias

__all__ = [
    "Deal",
    "Platform",
    "Position",
    "Quote",
    "Symbol",
    "SimAccount",
    "SimDeal",
    "SimPosition",
    "SymbolAlias",
    "SyncProblem",
    "TradingAccount",
    "TradingPolicy",
]
