"""custseg: from a shop's order history to customer segments a marketing team can act on."""

__version__ = "0.1.0"
