"""The flat transaction-log adapter: one row per order line, CSV or Parquet, with a column mapping.

Roles: customer, order, timestamp, amount (or quantity + unit_price), and optionally
product, category, status, the customer's place (city, state, region, country) and contact
(email, phone, first_name, last_name, zip: kept apart in ``customer_contacts``, for the audience
files only; see :data:`CONTACT_ROLES`). Customer
attributes of the user's own (a segment, a channel, a loyalty tier) are mapped by name
(``attributes``: name -> column); each customer gets their most frequent value. Rows without a
customer are excluded and counted. An order is cancelled when its status is a cancellation
status or its id starts with the configured prefix; every other order is a purchase.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources

from custseg.errors import InputError

ROLES = ("customer", "order", "timestamp", "amount", "quantity", "unit_price", "product", "category", "status",
         "city", "state", "region", "country", "email", "phone", "first_name", "last_name", "zip")
# The place roles: the customer's value on their latest purchase (customer_<role> in the customer table).
PLACE_ROLES = ("city", "state", "region", "country")
# The contact roles: personal data, never in the customer table, the report or a log line. Each
# customer's value is the one on their latest order that has one (latest timestamp, then the
# later row), in the table customer_contacts with the country (its place role) read the same way;
# custseg.audiences writes them into the audience files only.
CONTACT_ROLES = ("email", "phone", "first_name", "last_name", "zip")
REQUIRED = ("customer", "timestamp")
CANCELED_STATUSES = ("canceled", "cancelled", "cancel", "void", "refunded", "returned")
# The type each role's column is read as (see custseg.sources.checks.SQL_TYPES).
ROLE_KINDS = {"customer": "text", "order": "text", "timestamp": "timestamp", "amount": "money",
              "quantity": "money", "unit_price": "money", "product": "text", "category": "text",
              "status": "text", "city": "text", "state": "text", "region": "text", "country": "text",
              **{role: "text" for role in CONTACT_ROLES}}
# An attribute's name becomes a customer column: a plain lower-case identifier.
ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

# Shared with the Spark engine (custseg.engines.spark.sources): the SQL below runs on DuckDB and
# Spark SQL alike (identifiers and literals through custseg.dialect), and both engines
# word every problem the same way.

# Checks of log_lines that need more than one column, in the order they are reported:
# (check, SQL condition on a line); then ORDER_CLASH_SQL.
LINE_CHECKS = (
    ("no amount", "amount IS NULL"),
    ("negative", "amount < 0 AND NOT is_canceled"),
    ("no timestamp", "ts IS NULL"),
    ("no order", "order_id IS NULL"),
)
ORDER_CLASH_SQL = """
    SELECT order_id, min(_row) AS first_row, max(_row) AS last_row FROM log_lines GROUP BY order_id
    HAVING count(DISTINCT customer_id) > 1 ORDER BY first_row LIMIT 1
"""



def check_decimal(decimal: str) -> str:
    if decimal not in (".", ","):
        raise InputError(f"--decimal {decimal!r}: use . (1,234.56) or , (1.234,56)")
    return decimal


@dataclass(frozen=True)
class ColumnMapping:
    """Which input column plays which role, and how cancellations are recognised."""

    columns: dict[str, str]
    cancel_prefix: str | None = None
    canceled_statuses: tuple[str, ...] = CANCELED_STATUSES
    description: str = ""
    attributes: dict[str, str] = field(default_factory=dict)  # customer attribute name -> column
    date_format: str | None = None  # strptime format of the timestamp column; None: detected
    decimal: str = "."  # the amounts' decimal mark: "." (1,234.56) or "," (1.234,56)
    currency: str = ""  # the amounts' currency sign, shown with money ("£"); a preset may say

    def __post_init__(self):
        unknown = [r for r in self.columns if r not in ROLES]
        if unknown:
            raise InputError(f"--map: unknown role {unknown[0]!r}; roles are: {', '.join(ROLES)}")
        for role in REQUIRED:
            if role not in self.columns:
                raise InputError(f"--map: the role {role!r} is required (e.g. --map {role}=COLUMN)")
        has_amount = "amount" in self.columns
        has_qp = "quantity" in self.columns and "unit_price" in self.columns
        if not (has_amount or has_qp):
            raise InputError("--map: give amount=COLUMN, or both quantity=COLUMN and unit_price=COLUMN")
        for name in self.attributes:
            if not ATTRIBUTE_NAME.fullmatch(name):
                raise InputError(f"--dimension {name}=...: name the attribute with lower-case letters, digits and _ (e.g. segment=Segment)")
        check_decimal(self.decimal)

    def with_attributes(self, attributes: dict[str, str] | None) -> "ColumnMapping":
        """This mapping plus customer attributes (name -> column), e.g. from ``--dimension``."""
        return replace(self, attributes={**self.attributes, **(attributes or {})}) if attributes else self

    @classmethod
    def parse(cls, text: str, cancel_prefix: str | None = None) -> "ColumnMapping":
        """Parse ``customer=CustomerID,order=InvoiceNo,...``."""
        columns = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            if "=" not in part:
                raise InputError(f"--map: {part!r} is not role=COLUMN; example: customer=CustomerID,timestamp=InvoiceDate,amount=Total")
            role, col = (s.strip() for s in part.split("=", 1))
            columns[role] = col
        return cls(columns=columns, cancel_prefix=cancel_prefix)

    @classmethod
    def preset(cls, name: str) -> "ColumnMapping":
        path = resources.files("custseg.sources").joinpath("presets", f"{name}.toml")
        if not path.is_file():
            known = sorted(p.name[:-5] for p in resources.files("custseg.sources").joinpath("presets").iterdir() if p.name.endswith(".toml"))
            raise InputError(f"--preset: unknown preset {name!r}; known presets: {', '.join(known)}")
        spec = tomllib.loads(path.read_text())
        cancel = spec.get("cancellation", {})
        return cls(
            columns=dict(spec["columns"]),
            cancel_prefix=cancel.get("order_prefix"),
            canceled_statuses=tuple(cancel.get("statuses", CANCELED_STATUSES)),
            description=spec.get("description", ""),
            currency=spec.get("currency", ""),
            date_format=spec.get("date_format"),
            decimal=spec.get("decimal", "."),
        )

    @classmethod
    def resolve(cls, file: str, preset: str | None, mapping: "str | ColumnMapping | None",
                date_format: str | None = None, decimal: str | None = None) -> "ColumnMapping":
        """The mapping of a transaction log given as ``--preset`` or ``--map`` (exactly one);
        `date_format` and `decimal`, when given, override the preset's or mapping's."""
        if preset and mapping:
            raise InputError("give either --preset or --map, not both")
        if preset:
            found = cls.preset(preset)
        elif mapping is None:
            raise InputError(f"{file}: a transaction log needs --preset NAME or --map customer=COL,order=COL,timestamp=COL,amount=COL")
        else:
            found = cls.parse(mapping) if isinstance(mapping, str) else mapping
        if date_format is not None or decimal is not None:
            found = replace(found, date_format=date_format or found.date_format, decimal=decimal or found.decimal)
        return found

    def check_header(self, file: str, header: list[str]) -> None:
        """An InputError naming the first mapped column the file does not have."""
        for role, col in self.columns.items():
            if col not in header:
                raise InputError(f"{file}: column {col!r} (mapped to {role}) not found; columns are: {', '.join(header[:15])}")
        for name, col in self.attributes.items():
            if col not in header:
                raise InputError(f"{file}: column {col!r} (--dimension {name}) not found; columns are: {', '.join(header[:15])}")

    def roles_and_attributes(self) -> list[tuple[str, str]]:
        """(role, column) of every role, then (attribute_<name>, column) of every attribute."""
        return [*self.columns.items(), *((attribute_column(name), col) for name, col in self.attributes.items())]

    def source_columns(self) -> tuple[dict[str, str], dict[str, str]]:
        """The input columns to read (each once) with their types, and the role each is renamed
        to (a column in two roles, e.g. order=customer, is read once under its first role)."""
        columns: dict[str, str] = {}
        rename: dict[str, str] = {}
        for role, col in self.roles_and_attributes():
            if col not in columns:
                columns[col] = ROLE_KINDS.get(role, "text")
                rename[col] = role
        return columns, rename

    @property
    def contact_roles(self) -> tuple[str, ...]:
        """The contact roles this mapping gives (country counts: it is a place role too)."""
        return tuple(r for r in (*CONTACT_ROLES, "country") if r in self.columns)

    @property
    def contact_columns(self) -> dict[str, str]:
        """Contact role -> the log's column (for messages; the values never go into one)."""
        return {role: self.columns[role] for role in self.contact_roles}

    def capabilities(self) -> frozenset[str]:
        """What a log with these roles can tell (see custseg.sources.dataset)."""
        has = set(self.columns)
        caps = {name for role, name in (("status", "status"), ("category", "categories"), ("product", "products")) if role in has}
        caps |= {role for role in PLACE_ROLES if role in has}
        if self.cancel_prefix or "status" in has:
            caps.add("cancellations")
        return frozenset(caps)

    @property
    def amount_source(self) -> str:
        """The input column(s) an amount comes from, for messages."""
        return self.columns.get("amount") or f"{self.columns['quantity']} x {self.columns['unit_price']}"

    def log_lines_sql(self, dialect: str, source: str) -> str:
        """The query turning the typed log `source` (one column per role, `_row`) into log_lines:
        one row per line with a customer, with its order id, amount and cancellation flag."""
        from custseg.dialect import sql_macros

        m = sql_macros(dialect)
        q, has = m["quote"], set(self.columns)

        def role(name: str) -> str:
            return q(name) if name in has else "CAST(NULL AS STRING)"

        order = q("order") if "order" in has else f"{q('customer')} || '@' || CAST({q('timestamp')} AS STRING)"
        amount = q("amount") if "amount" in has else f"{q('quantity')} * {q('unit_price')}"
        cancel = []
        if self.cancel_prefix:
            cancel.append(m["starts_with"](q("order"), self.cancel_prefix) if "order" in has else "false")
        if "status" in has:
            cancel.append(f"lower(trim({q('status')})) IN ({', '.join(m['literal'](s) for s in self.canceled_statuses)})")
        return f"""
            SELECT _row, trim({q('customer')}) AS customer_id, CAST({order} AS STRING) AS order_id,
                   {q('timestamp')} AS ts, CAST({amount} AS DECIMAL(18,4)) AS amount,
                   coalesce({' OR '.join(cancel) or 'false'}, false) AS is_canceled,
                   {role('product')} AS product_id, {role('category')} AS category,
                   {role('status')} AS status, {', '.join(f"{role(p)} AS {p}" for p in PLACE_ROLES)},
                   {', '.join(f"{role(c)} AS contact_{c}" for c in CONTACT_ROLES)}
                   {''.join(f", {q(attribute_column(name))}" for name in self.attributes)}
            FROM {source}
            WHERE NOT ({no_customer(q)})
            """

    def line_error(self, file: str, check: str, row: int, amount=None) -> InputError:
        """The one-line error for the first line failing a check of LINE_CHECKS."""
        if check == "no amount":
            return InputError(f"{file}, row {row}, column {self.amount_source!r}: amount is missing; every line needs one")
        if check == "negative":
            return InputError(
                f"{file}, row {row}, column {self.amount_source!r}: negative amount {float(amount):g} on an order that is not "
                "cancelled; fix the row or mark the order as cancelled"
            )
        if check == "no timestamp":
            return InputError(f"{file}, row {row}, column {self.columns['timestamp']!r}: timestamp is missing; every line needs one")
        if check == "no order":
            return InputError(f"{file}, row {row}, column {self.columns.get('order')!r}: order id is missing; every line needs one")
        raise ValueError(f"unknown check {check!r}")


def attribute_column(name: str) -> str:
    """The log_lines column holding the customer attribute `name` (apart from the roles' names)."""
    return f"attribute_{name}"


def order_attributes_sql(attributes, quote) -> str:
    """order_attributes (order_id, name, value): each order's value of every customer attribute,
    from its first line that has one; long form, so the feature SQL needs no column per attribute."""
    parts = [
        f"SELECT order_id, '{name}' AS name, trim(min_by({quote(attribute_column(name))}, _row)) AS value FROM log_lines "
        f"WHERE nullif(trim({quote(attribute_column(name))}), '') IS NOT NULL GROUP BY order_id"
        for name in attributes
    ]
    return " UNION ALL ".join(parts) or "SELECT CAST(NULL AS STRING) AS order_id, CAST(NULL AS STRING) AS name, CAST(NULL AS STRING) AS value WHERE false"


def contacts_sql(roles) -> str:
    """customer_contacts: one row per customer, each contact role's value (trimmed; empty is
    none) from the customer's latest line that has one (latest timestamp, then the later row)."""
    def column(role: str) -> str:
        source = "country" if role == "country" else f"contact_{role}"
        value = f"nullif(trim({source}), '')"
        return f"arg_max({value}, (ts, _row)) FILTER (WHERE {value} IS NOT NULL) AS {role}"

    return f"SELECT customer_id, {', '.join(column(r) for r in roles)} FROM log_lines GROUP BY customer_id ORDER BY customer_id"


def no_customer(quote) -> str:
    """The SQL condition of a row without a customer (left out and counted)."""
    return f"{quote('customer')} IS NULL OR trim({quote('customer')}) = ''"


def order_clash_error(file: str, order_id, first_row: int, last_row: int) -> InputError:
    return InputError(
        f"{file}, rows {first_row}-{last_row}: order {order_id!r} belongs to more than one customer; "
        "an order id must identify one customer's order"
    )
