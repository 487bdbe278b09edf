"""A/B tests: deterministic assignment by hashing, exposure and outcome logging in the store, and a report with
per-arm means, relative lift, confidence intervals, p-values and a sample-ratio-mismatch check.

    from townsquare.experiment import create_experiment, log_exposures, log_outcomes, report
    exp = create_experiment(store, "feed-ranker", [Arm("chronological", 0.5), Arm("ranked", 0.5)])
    arms = log_exposures(store, exp, user_ids)            # {user: arm}, computed from hash(name, user)
    log_outcomes(store, exp, [(user, "engagement", 1.0)])
    report(store, "feed-ranker")["metrics"][0]["comparisons"][0]["p_value"]

`townsquare.experiment.simulate` runs a simulated ranked-vs-chronological feed test on the sample world (outcomes
drawn from the world's own engagement model, and labelled simulated everywhere they are shown).
"""

from townsquare.experiment.assign import Arm, assign, unit_hash
from townsquare.experiment.log import (
    Experiment,
    create_experiment,
    delete_experiment,
    get_experiment,
    list_experiments,
    log_exposures,
    log_outcomes,
    require_experiment,
    set_status,
)
from townsquare.experiment.report import CAUTION, report

__all__ = ["CAUTION", "Arm", "Experiment", "assign", "create_experiment", "delete_experiment", "get_experiment",
           "list_experiments", "log_exposures", "log_outcomes", "report", "require_experiment", "set_status",
           "unit_hash"]
