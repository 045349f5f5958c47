"""Defaults that the Python API, the command line and the analysis share, in a module that
imports nothing, so that the command line shows them without loading pandas or an engine."""

#: Smallest share of a product's imports proposed for one supplier (1%): a buyer does not open
#: a supply relationship for a sliver of its purchases.
DEFAULT_MIN_SHARE = 0.01

#: Trusted suppliers when none are named: the like-minded group of reference/data/groups.toml.
DEFAULT_TRUSTED = "like_minded"
