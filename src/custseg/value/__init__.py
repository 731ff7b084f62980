"""Customer lifetime value: BG/NBD (purchases, P(alive)) and Gamma-Gamma (value of a purchase),
fitted by maximum likelihood on the analysed customers and scored on every one of them.

- :mod:`.bgnbd`, :mod:`.gamma_gamma`: the models (log-likelihood, fit, per-customer scores);
- :mod:`.inputs`: from the customer table to frequency, recency and T in days;
- :mod:`.score`: fit (on a sample when the data is large) and score: :func:`customer_value`;
- :mod:`.groups`: sums and medians per segment or cluster with intervals, the spend check;
- :mod:`.section`: summary.json's numbers and the report's Value section.

Why custseg's own code and not a library: docs/value.md.
"""

from custseg.value.score import VALUE_COLUMNS, CustomerValue, ValueSettings, customer_value

__all__ = ["VALUE_COLUMNS", "CustomerValue", "ValueSettings", "customer_value"]
