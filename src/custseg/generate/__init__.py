"""Synthetic data generators.

`custseg.generate.olist` writes the nine files of the Kaggle Olist release around the real Olist
catalogue (products, sellers, category translation and payment patterns, bundled in
`custseg/data/olist`), calibrated to published statistics of the real data (targets.toml).
The generated orders, customers, reviews and places are synthetic.
"""
