"""galileo's test suite, a package tree: helpers import as ``tests.<area>.<module>``
(pytest's ``pythonpath = ["."]`` puts the repository root on sys.path)."""
