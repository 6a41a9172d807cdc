"""The release gate as blocking asset checks: one per mart that `expectations/suites.py`
guards, run as soon as that mart is built. An error-level failure stops everything
downstream, publish and export included; warning-level failures are reported only."""

import functools

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)
from tagwise.expectations.suites import GUARDED_MART, GUARDED_MARTS, GateSettings
from tagwise.orchestration.dbt.project import model_key
from tagwise.orchestration.export.assets import ERASURE
from tagwise.orchestration.resources import WAREHOUSE_POOL, TagwiseSettings

from tagwise.quality import GateResult, run_gate

CHECK_NAME = "great_expectations"


def gate_result(gate: GateResult) -> AssetCheckResult:
    """Passed when no expectation failed; a failure is an error if any failed one is."""
    failed = [o for o in gate.outcomes if not o.success]
    return AssetCheckResult(
        passed=not failed,
        severity=AssetCheckSeverity.ERROR if gate.errors else AssetCheckSeverity.WARN,
        metadata={
            "expectations": len(gate.outcomes),
            "passed": len(gate.outcomes) - len(failed),
            "warned": len(gate.warnings),
            "failed": len(gate.errors),
            # Errors and warnings apart: a summary must not print a warning as a failure.
            "failures": "\n".join(o.line() for o in gate.errors) or "none",
            "warnings": "\n".join(o.line() for o in gate.warnings) or "none",
            "data_docs": str(gate.docs),
        },
    )


def release_gate(mart: str) -> AssetChecksDefinition:
    @asset_check(
        asset=model_key(mart),
        # The check looking for erased people in the export files runs after they are erased.
        additional_deps=[ERASURE] if GUARDED_MART["erased_in_export_files"] == mart else [],
        name=CHECK_NAME,
        blocking=True,
        description=f"The Great Expectations release gate's checks on {mart}.",
        pool=WAREHOUSE_POOL,
    )
    def gate(context: AssetCheckExecutionContext, tagwise: TagwiseSettings) -> AssetCheckResult:
        return gate_result(
            run_gate(
                tagwise.warehouse_path,
                tagwise.exports_path,
                GateSettings.from_env(),
                {mart},
                tagwise.target,
            )
        )

    return gate


@functools.cache
def release_gates() -> list[AssetChecksDefinition]:
    """One gate per guarded mart, made when Dagster loads the definitions (the marts' keys
    come from the parsed dbt project), not at import."""
    return [release_gate(mart) for mart in GUARDED_MARTS]
