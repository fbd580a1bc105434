"""Statement settings; environment variables prefixed METERSTREAM_STATEMENTS_."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# An account both Beancount and hledger accept: a root type, then components that start with
# a capital letter or a digit (Beancount's rule; hledger accepts more).
ACCOUNT = re.compile(r"^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+$")


class StatementSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METERSTREAM_STATEMENTS_", extra="ignore")

    # A month closes by itself this long after it ends (late usage after that is an adjustment).
    grace_days: float = Field(default=3.0, ge=0, le=366)
    # Besides the tenant-wide statements, the attributes whose per-value statements close by
    # themselves (a tenant's own end customer: attributes {"customer": "globex"}).
    attributes: list[str] = Field(default_factory=lambda: ["customer"])
    # The journal's accounts: the receivable gets each statement's total; the income account
    # gets one posting per service (Income:Usage:Text, …), adjustments one of their own.
    receivable_account: str = "Assets:Receivable:Usage"
    income_account: str = "Income:Usage"
    adjustments_account: str = "Income:Usage:Adjustments"

    @field_validator("receivable_account", "income_account", "adjustments_account")
    @classmethod
    def _account(cls, value: str) -> str:
        if not ACCOUNT.match(value):
            raise ValueError(f"{value!r} is not an account name Beancount and hledger accept "
                             "(e.g. Income:Usage: a root type, then capitalised components)")
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name or len(name) > 64:
                raise ValueError(f"{name!r} is not an attribute name (1 to 64 characters)")
        return sorted(set(value))

    @property
    def grace(self) -> timedelta:
        return timedelta(days=self.grace_days)
