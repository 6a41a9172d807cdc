"""tagwise: warehouse-native customer classification."""

from pathlib import Path

# The Dagster code location and the gate's suites are tagwise.orchestration and
# tagwise.expectations. The wheel installs them inside this package; a checkout keeps them
# as top-level folders beside it (the repository's layout), found here by the same names.
_CHECKOUT = Path(__file__).resolve().parent.parent
if (
    not (Path(__file__).parent / "orchestration").is_dir()
    and (_CHECKOUT / "orchestration" / "__init__.py").is_file()
):
    __path__.append(str(_CHECKOUT))
