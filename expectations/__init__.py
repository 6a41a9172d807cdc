"""Great Expectations suites: the release gate between a finished build and what leaves
the warehouse (publish and export). See suites.py."""
