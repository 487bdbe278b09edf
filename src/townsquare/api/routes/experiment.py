"""A/B tests over HTTP: create, list, assign/expose, log outcomes, report, and the simulated demo test.
Thin: every answer comes from `townsquare.experiment`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from townsquare.api.security import get_store, require
from townsquare.store import Store

router = APIRouter(tags=["experiment"])


class ArmIn(BaseModel):
    name: str = Field(..., max_length=64, examples=["control"])
    weight: float = Field(1.0, gt=0, description="relative share of users (normalised to sum to 1)")


class MetricIn(BaseModel):
    name: str = Field(..., max_length=64, examples=["engaged"])
    kind: Literal["rate", "mean"] = Field("rate", description="rate: share of users with any; mean: per user")
    event: str | None = Field(None, max_length=64, description="the logged event it counts (default: its name)")


class ExperimentIn(BaseModel):
    name: str = Field(..., max_length=128, examples=["feed-ranker-v2"])
    description: str = Field("", max_length=2_000)
    arms: list[ArmIn] = Field(default_factory=lambda: [ArmIn(name="control", weight=0.5),
                                                       ArmIn(name="treatment", weight=0.5)],
                              min_length=2, max_length=20, description="the first arm is the control")
    metrics: list[MetricIn] = Field(default_factory=lambda: [MetricIn(name="engaged", event="engagement"),
                                                             MetricIn(name="engagements", kind="mean",
                                                                      event="engagement")],
                                    min_length=1, max_length=20)


class ExposuresIn(BaseModel):
    user_ids: list[int] = Field(..., min_length=1, max_length=100_000)


class OutcomeIn(BaseModel):
    user_id: int
    event: str = Field(..., max_length=64, examples=["engagement"])
    value: float = 1.0


class OutcomesIn(BaseModel):
    outcomes: list[OutcomeIn] = Field(..., min_length=1, max_length=100_000)


class StatusIn(BaseModel):
    status: Literal["running", "stopped"]


class SimulateIn(BaseModel):
    users: int = Field(1_000, ge=10, le=20_000, description="people of the demo world to sample")
    k: int = Field(20, ge=1, le=200, description="feed length shown to each")
    seed: int = Field(0, ge=0, description="seed of the sample and the simulated reactions")


@router.get("/experiments", summary="Experiments, newest first, with exposed users")
def list_all(store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import list_experiments
    from townsquare.experiment.report import exposed_counts

    counts = exposed_counts(store)
    return {"experiments": [e.to_dict() | {"users": counts.get(e.id, 0)} for e in list_experiments(store)]}


@router.post("/experiments", status_code=201, summary="Create a running experiment")
def create(body: ExperimentIn, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import create_experiment

    exp = create_experiment(store, body.name, [a.model_dump() for a in body.arms],
                            [m.model_dump() for m in body.metrics], description=body.description)
    return exp.to_dict()


@router.get("/experiments/{name}", summary="One experiment")
def get_one(name: str, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import require_experiment

    return require_experiment(store, name).to_dict()


@router.get("/experiments/{name}/report", summary="Per-arm means, lift, intervals, p-values, sample-ratio check")
def report(name: str, alpha: float = Query(0.05, gt=0, lt=0.5, description="significance level"),
           store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import report as build

    return build(store, name, alpha)


@router.get("/experiments/{name}/assignment", summary="A user's arm (computed by hashing; nothing is logged)")
def assignment(name: str, user_id: int = Query(..., description="the user's id"),
               store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import require_experiment

    return {"experiment": name, "user_id": user_id, "arm": require_experiment(store, name).arm_of(user_id)}


@router.post("/experiments/{name}/exposures", summary="Record users as exposed; returns each one's arm")
def exposures(name: str, body: ExposuresIn, store: Store = Depends(get_store),
              _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import log_exposures

    arms = log_exposures(store, name, body.user_ids)
    return {"experiment": name, "arms": {str(u): a for u, a in arms.items()}}


@router.post("/experiments/{name}/outcomes", summary="Record outcomes (user, event, value) of exposed users")
def outcomes(name: str, body: OutcomesIn, store: Store = Depends(get_store),
             _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import log_outcomes

    n = log_outcomes(store, name, [(o.user_id, o.event, o.value) for o in body.outcomes])
    return {"experiment": name, "recorded": n}


@router.post("/experiments/{name}/status", summary="Stop or restart an experiment")
def status(name: str, body: StatusIn, store: Store = Depends(get_store),
           _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import set_status

    return set_status(store, name, body.status).to_dict()


@router.delete("/experiments/{name}", summary="Delete an experiment with its exposures and outcomes")
def delete(name: str, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.errors import NotFound
    from townsquare.experiment import delete_experiment

    if not delete_experiment(store, name):
        raise NotFound(f"experiment: no experiment named {name!r} — list them with GET /experiments")
    return {"deleted": name}


@router.post("/experiments/simulate/feed", summary="Run the simulated ranked-vs-chronological test on the demo "
             "world (outcomes simulated from the world's engagement model)")
def simulate(body: SimulateIn, store: Store = Depends(get_store), _key=Depends(require("recommend"))) -> dict:
    from townsquare.experiment import report as build
    from townsquare.experiment.simulate import DEMO_NAME, demo_world, simulate_feed_test

    simulate_feed_test(store, demo_world(), users=body.users, k=body.k, seed=body.seed)
    return build(store, DEMO_NAME)
