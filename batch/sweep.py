"""sweep.yaml: what a batch runs. Problems (files, or folders of *.md / *.txt), a base config,
arms (a config of their own, or overrides of the base), repeats, an evaluator and a budget; read
and checked like a debate config (one line naming the file and the key, exit 4), and turned into
the debate jobs. Paths are relative to the sweep file's folder and, unless the user trusts it
(--trust-config), stay inside it, as a config's prompt paths do."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dialectic.batch.jobs import SELF_REFINE, Job, fingerprint
from dialectic.configs.loader import (
    builtin_config_text,
    check_config,
    config_trusted,
    confined_path,
    describe_validation_error,
)
from dialectic.configs.schema import TerminationCondition
from dialectic.configs.settings import RunSettings, apply_overrides, resolve_settings
from dialectic.errors import ConfigError

if TYPE_CHECKING:
    from dialectic.configs.schema import AgentConfig
    from dialectic.evaluation.evaluators import Evaluator

ARM_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"  # no dots: a job key is problem.arm.rN
PROBLEM_SUFFIXES = (".md", ".txt")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArmSpec(_Strict):
    """One arm: a debate (its own config, or the base with overrides) or the baseline."""

    name: str = Field(pattern=ARM_NAME)
    config: str | None = None  # a config file of its own instead of the base
    agents: list[str] | None = Field(None, min_length=1)  # roles to keep (as --agents)
    model: str | None = None  # every agent's and the judge's model
    models: dict[str, str] = Field(default_factory=dict)  # agent id (or role) -> model
    provider: str | None = None  # every agent's and the judge's provider
    rounds: int | None = Field(None, ge=1, le=100)
    critiqueMode: Literal["pairwise", "batched"] | None = None
    termination: TerminationCondition | None = None
    debate: dict[str, Any] = Field(default_factory=dict)  # any other key of the config's debate block
    # The baseline: one model writes a design and refines it against its own critique.
    baseline: Literal["self-refine"] | None = None
    against: list[str] | None = None  # baseline: the debate arms it is matched to (default: all)

    @model_validator(mode="after")
    def _baseline_or_debate(self) -> ArmSpec:
        if self.baseline is None and self.against is not None:
            raise ValueError(f"arm {self.name!r}: 'against' is for a baseline arm (baseline: self-refine)")
        if self.baseline is not None and (self.config or self.agents or self.rounds or self.debate):
            raise ValueError(
                f"arm {self.name!r}: a baseline takes the model of the debate arm it is matched to "
                "(only model, models, provider and against apply)"
            )
        return self


class Budgets(_Strict):
    maxCostUsd: float | None = Field(None, gt=0)  # the whole batch (--max-cost overrides)


class SweepSpec(_Strict):
    name: str | None = Field(None, pattern=ARM_NAME)
    problems: list[str] = Field(min_length=1)
    base: str | None = None  # the base config; default: the built-in one
    arms: list[ArmSpec] = Field(min_length=1)
    repeats: int = Field(1, ge=1, le=100)
    evaluator: str | None = None  # an evaluator config (dialectic eval -c); none: no scores
    evalRepeats: int = Field(1, ge=1, le=20)
    budgets: Budgets = Field(default_factory=Budgets)

    @model_validator(mode="after")
    def _arms(self) -> SweepSpec:
        names = [arm.name for arm in self.arms]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"arms: duplicate arm name {name!r}")
        debates = [arm.name for arm in self.arms if arm.baseline is None]
        if not debates:
            raise ValueError("arms: at least one arm must be a debate (not a baseline)")
        for arm in self.arms:
            for other in arm.against or []:
                if other not in debates:
                    raise ValueError(
                        f"arm {arm.name!r}: against {other!r} is not a debate arm (debate arms: {', '.join(debates)})"
                    )
        return self


@dataclass(frozen=True)
class Problem:
    slug: str  # filesystem-safe, unique in the sweep
    name: str  # the file it came from, relative to the sweep's folder
    text: str


@dataclass(frozen=True)
class Arm:
    name: str
    settings: RunSettings  # a baseline's: the settings of the one model that writes
    baseline: str | None = None
    versus: str | None = None  # a baseline's debate arm


@dataclass(frozen=True)
class Sweep:
    name: str
    path: Path
    problems: list[Problem]
    arms: list[Arm]  # the debate arms, then a baseline arm per debate arm it is matched to
    repeats: int
    evaluator: Path | None
    eval_repeats: int
    max_cost: float | None
    warnings: list[str]
    evaluator_agents: list[AgentConfig] = field(default_factory=list)  # (their keys are checked up front)
    evaluator_print: str = ""  # what scores are made from: the evaluators, their prompts, the repeats

    @property
    def debate_arms(self) -> list[Arm]:
        return [arm for arm in self.arms if arm.baseline is None]

    @property
    def baseline_arms(self) -> list[Arm]:
        return [arm for arm in self.arms if arm.baseline is not None]

    def job(self, problem: Problem, arm: Arm, repeat: int, budget: int | None) -> Job:
        """The (problem, arm, repeat) job; its key, the debate's id, is
        ``<sweep>.<problem>.<arm>.r<repeat>`` (a baseline's arm: ``<arm>-vs-<debate arm>``): two
        sweeps sharing a store never share a debate."""
        label = arm.name if arm.versus is None else f"{arm.name}-vs-{arm.versus}"
        return Job(
            key=f"{self.name}.{problem.slug}.{label}.r{repeat}",
            problem_name=problem.name,
            problem_text=problem.text,
            arm=arm.name,
            repeat=repeat,
            settings_json=arm.settings.to_json(),
            baseline=arm.baseline,
            budget_tokens=budget,
            versus=arm.versus,
        )

    def debate_jobs(self) -> list[Job]:
        return [job for job in self.jobs() if job.baseline is None]

    def jobs(self) -> list[Job]:
        """Every job, the baselines' too (their budgets aside, unknown until the debates ran)."""
        return [
            self.job(problem, arm, repeat, None)
            for problem in self.problems
            for arm in self.arms
            for repeat in range(1, self.repeats + 1)
        ]


def load_sweep(path: Path, *, offline: bool = False, trust_config: bool = False) -> Sweep:
    """Read, check and resolve a sweep file: every arm's settings (the configs it names
    validated, their prompt files read) and every problem's text."""
    from dialectic.configs.loader import read_config_document

    if not path.exists():
        raise ConfigError(f"sweep file not found: {path.resolve()}")
    source = str(path.resolve())
    document = read_config_document(path)
    if not isinstance(document, dict):
        raise ConfigError(f"sweep error in {source}: the top level must be a mapping with problems and arms")
    try:
        spec = SweepSpec.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"sweep error in {source}: {describe_validation_error(exc, SweepSpec)}") from exc
    folder = path.resolve().parent
    trusted = config_trusted(trust_config)

    def local(raw: str, key: str) -> Path:
        return confined_path(folder, raw, key, trusted=trusted)

    warnings: list[str] = []
    base_path = local(spec.base, "base") if spec.base else None
    debate_arms = [
        Arm(arm.name, _arm_settings(arm, base_path, path.resolve(), local, offline, trust_config, warnings))
        for arm in spec.arms
        if arm.baseline is None
    ]
    by_name = {arm.name: arm for arm in debate_arms}
    baselines = [
        Arm(spec_arm.name, _baseline_settings(spec_arm, by_name[versus]), SELF_REFINE, versus)
        for spec_arm in spec.arms
        if spec_arm.baseline is not None
        for versus in (spec_arm.against or list(by_name))
    ]
    evaluator = local(spec.evaluator, "evaluator") if spec.evaluator else None
    if evaluator is not None and not evaluator.is_file():
        raise ConfigError(f"sweep error in {source}: evaluator config not found: {evaluator.resolve()}")
    evaluators = (
        _evaluators(evaluator, offline=offline, trust_config=trust_config, warnings=warnings)
        if evaluator
        else []
    )
    sweep = Sweep(
        name=spec.name or _slug(path.stem) or "sweep",
        path=path,
        problems=_problems(spec.problems, local, source),
        arms=[*debate_arms, *baselines],
        repeats=spec.repeats,
        evaluator=evaluator,
        eval_repeats=spec.evalRepeats,
        max_cost=spec.budgets.maxCostUsd,
        warnings=warnings,
        evaluator_agents=[agent.member for agent in evaluators],
        evaluator_print=fingerprint(
            str(spec.evalRepeats),
            *(
                part
                for e in evaluators
                # a price changes what scoring costs, not its scores: no rescoring for it
                for part in (e.member.model_dump_json(exclude={"price"}), e.system_template, e.user_template)
            ),
        ),
    )
    _check_ids(sweep, source)
    return sweep


def _evaluators(path: Path, *, offline: bool, trust_config: bool, warnings: list[str]) -> list[Evaluator]:
    """The evaluator config, checked now (not when the first debate is scored, hours on)."""
    from dialectic.evaluation.evaluators import load_evaluators

    evaluators, notices = load_evaluators(path, offline=offline, trust_config=trust_config)
    warnings.extend(f"evaluator: {notice}" for notice in notices)
    return evaluators


def _check_ids(sweep: Sweep, source: str) -> None:
    """Every job's key is a valid debate id (short enough), or the sweep is a config error now."""
    from dialectic.errors import InputError
    from dialectic.runner.store import validate_debate_id

    for job in sweep.jobs():
        try:
            validate_debate_id(job.key)
        except InputError:
            raise ConfigError(
                f"sweep error in {source}: the debate id {job.key!r} is too long ({len(job.key)} characters, "
                "at most 100); shorten the sweep's name, the problem file names or the arm names"
            ) from None


def _arm_settings(
    arm: ArmSpec,
    base_path: Path | None,
    sweep_path: Path,
    local: Any,
    offline: bool,
    trust_config: bool,
    warnings: list[str],
) -> RunSettings:
    """An arm's settings: its config (or the base) with its overrides, resolved like a debate's.
    On the built-in config, the paths its overrides name are the sweep file's: relative to its
    folder and kept in it (never the working directory's)."""
    from dialectic.configs.loader import read_config_document
    from dialectic.configs.settings import select_agents
    from dialectic.extensions.loading import resolve_extensions

    config_path = local(arm.config, f"arms.{arm.name}.config") if arm.config else base_path
    document = read_config_document(config_path) if config_path else json.loads(builtin_config_text())
    source = f"{config_path.resolve() if config_path else 'the built-in config'} (arm {arm.name})"
    document = _overridden(document, arm)
    config, notices = check_config(document, source)
    warnings.extend(f"arm {arm.name}: {notice}" for notice in notices)
    if arm.agents is not None:
        try:
            config = config.model_copy(update={"agents": select_agents(config, arm.agents)})
        except Exception as exc:  # select_agents speaks of --agents; here it is the arm's key
            raise ConfigError(f"arm {arm.name}: agents: {str(exc).removeprefix('--agents')}") from exc
    config = apply_overrides(config, agent_roles=None, rounds=None, offline=offline)
    settings, resolved = resolve_settings(
        config, config_path or sweep_path, offline=offline, trust_config=trust_config
    )
    warnings.extend(f"arm {arm.name}: {notice}" for notice in resolved)
    resolve_extensions(settings)
    return settings


def _overridden(document: Any, arm: ArmSpec) -> Any:
    """The config document with the arm's overrides laid over it (validated after, with it)."""
    if not isinstance(document, dict):
        return document  # check_config names the problem
    document = json.loads(json.dumps(document))  # a copy
    members = [a for a in document.get("agents") or [] if isinstance(a, dict)]
    judge = document.setdefault("judge", {}) if isinstance(document.get("judge", {}), dict) else {}
    if arm.model or arm.provider:
        for member in [*members, judge]:
            member.update({k: v for k, v in (("model", arm.model), ("provider", arm.provider)) if v})
    for member in members:
        chosen = arm.models.get(str(member.get("id"))) or arm.models.get(str(member.get("role")))
        if chosen:
            member["model"] = chosen
    debate = document.setdefault("debate", {})
    if isinstance(debate, dict):
        debate.update(arm.debate)
        if arm.rounds is not None:
            debate["rounds"] = arm.rounds
        if arm.critiqueMode is not None:
            debate["critiqueMode"] = arm.critiqueMode
        if arm.termination is not None:
            debate["terminationCondition"] = arm.termination.model_dump()
    return document


def _baseline_settings(arm: ArmSpec, versus: Arm) -> RunSettings:
    """The one writer of a baseline: the matched arm's first agent (its model, or the arm's),
    with the matched arm's other settings (offline, timeouts, cache)."""
    settings = versus.settings
    writer = settings.agents[0]
    model = arm.models.get(writer.id) or arm.models.get(writer.role) or arm.model
    update = {k: v for k, v in (("model", model), ("provider", arm.provider)) if v}
    if update and not settings.offline:
        writer = writer.model_validate({**writer.model_dump(), **update})
    config = settings.config.model_copy(update={"agents": [writer], "extensions": []})
    return settings.model_copy(update={"config": config})


def _problems(entries: list[str], local: Any, source: str) -> list[Problem]:
    from dialectic.errors import InputError
    from dialectic.runner.inputs import read_problem

    files: list[tuple[str, Path]] = []
    for index, raw in enumerate(entries):
        key = f"problems[{index}]"
        path = local(raw, key)
        if path.is_dir():
            # Each file is checked as if named itself: a link in the folder pointing out of the
            # sweep's folder is refused; hidden files (.env, …) are not problems.
            found = sorted(
                local(str(Path(raw) / p.name), key)
                for p in path.iterdir()
                if not p.name.startswith(".") and p.is_file() and p.suffix.lower() in PROBLEM_SUFFIXES
            )
            if not found:
                raise ConfigError(
                    f"sweep error in {source}: problems[{index}]: no *.md or *.txt in {path.resolve()}"
                )
            files.extend((str(Path(raw) / p.name), p) for p in found)
        else:
            files.append((raw, path))
    problems: list[Problem] = []
    taken: set[str] = set()
    for name, path in files:
        try:
            text = read_problem(None, str(path))
        except InputError as exc:
            raise ConfigError(f"sweep error in {source}: {exc}") from exc
        slug = base = _slug(path.stem) or "problem"
        number = 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        taken.add(slug)
        problems.append(Problem(slug, name, text))
    return problems


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
