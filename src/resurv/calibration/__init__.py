"""Calibration: does the whole chain recover what it should? SBC, coverage and recovery.

Takes a study's design (or a real cohort shipped by lifelines) and simulation settings;
returns rank statistics and interval coverage (:func:`simulate_study`, simulation-based
calibration of the likelihood of printed figures) and the agreement between a figure-based
and a full-data posterior (:func:`recovery_check`). Each replicate is one task of
:func:`resurv.parallel.run_tasks`, checkpointed, so a simulation resumes where it stopped.

May import: :mod:`resurv.run` and every stage below it, and the utilities
:mod:`resurv.parallel`, :mod:`resurv.outputs`, :mod:`resurv.errors`.
"""

from resurv.calibration.recovery import (
    RecoveryFit,
    RecoveryResult,
    RecoveryTask,
    recovery_check,
    recovery_fit,
)
from resurv.calibration.recovery_data import (
    DATASETS,
    RecoveryDataset,
    agreement,
    figure_study,
    followup_range,
    load_recovery_data,
    printed_figures,
)
from resurv.calibration.sbc import (
    ReplicateTask,
    SimulationOutcome,
    SimulationSettings,
    calibrate,
    coverage_table,
    cox_hazard_ratio,
    print_figures,
    run_replicate,
    sbc_chi_square,
    simulate_figures,
    simulate_study,
    simulation_design,
)

__all__ = [
    "DATASETS",
    "RecoveryDataset",
    "RecoveryFit",
    "RecoveryResult",
    "RecoveryTask",
    "ReplicateTask",
    "SimulationOutcome",
    "SimulationSettings",
    "agreement",
    "calibrate",
    "coverage_table",
    "cox_hazard_ratio",
    "figure_study",
    "followup_range",
    "load_recovery_data",
    "print_figures",
    "printed_figures",
    "recovery_check",
    "recovery_fit",
    "run_replicate",
    "sbc_chi_square",
    "simulate_figures",
    "simulate_study",
    "simulation_design",
]
