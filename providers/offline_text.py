"""What the offline simulated model says: deterministic, role- and phase-aware design text.

Each role has a playbook of design elements and concerns; the problem's own words and
requirement sentences are woven in, critiques quote the proposal they review and refinements
answer the critiques they received, so an offline debate reads like a real one in miniature.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

from dialectic.prompts import cap_at_sentence
from dialectic.prompts.requirements import major_requirements


@dataclass(frozen=True)
class Element:
    name: str
    purpose: str


@dataclass(frozen=True)
class Playbook:
    label: str
    approach: str
    elements: tuple[Element, ...]
    concerns: tuple[str, ...]
    tradeoffs: tuple[str, ...]
    questions: tuple[str, ...]


PLAYBOOKS: dict[str, Playbook] = {
    "architect": Playbook(
        "architect",
        "a modular service layout with explicit contracts between a small number of components",
        (
            Element(
                "API layer", "a single versioned entry point that authenticates callers and validates input"
            ),
            Element("domain service", "owns the business rules for {topic} behind a narrow interface"),
            Element("event bus", "carries state changes between components so they stay decoupled"),
            Element(
                "persistence adapter",
                "isolates the storage engine so it can change without touching the domain",
            ),
            Element("background worker pool", "runs slow or retryable work for {topic} off the request path"),
            Element("configuration service", "keeps per-environment settings and feature flags out of code"),
        ),
        (
            "the boundary between {a} and {b} is not defined as a contract",
            "failure of {a} has no isolation and can cascade into {b}",
            "the design has no versioning story for its interfaces",
            "ownership of the {topic} data is split across components",
        ),
        (
            "More components mean more deployment units to operate.",
            "Asynchronous events make end-to-end behaviour harder to trace.",
        ),
        ("Which teams will own which components?", "How often do the {topic} rules change?"),
    ),
    "performance": Playbook(
        "performance engineer",
        "a latency budget per request path, with caching and back-pressure where the load concentrates",
        (
            Element("read-through cache", "serves hot {topic} reads in under 5 ms and absorbs bursts"),
            Element("connection pool", "caps concurrent database connections at a measured size"),
            Element(
                "bounded work queue", "applies back-pressure instead of letting latency grow without limit"
            ),
            Element(
                "batch writer", "groups small writes to cut per-request overhead by an order of magnitude"
            ),
            Element("load-shedding policy", "rejects low-priority work first when the p99 budget is at risk"),
            Element("metrics pipeline", "records p50/p99 latency and throughput for every hot path"),
        ),
        (
            "the hot path through {a} has no latency budget or measurement",
            "{a} will contend under a burst of ten times the stated load",
            "nothing bounds the queue in front of {a}, so latency grows without limit",
            "the design does not say how it will be load-tested before launch",
        ),
        (
            "Caching adds invalidation work and a window of stale reads.",
            "Back-pressure means some requests are refused under overload.",
        ),
        (
            "What is the expected peak load for {topic}, and its p99 target?",
            "How large is a typical {topic} payload?",
        ),
    ),
    "security": Playbook(
        "security engineer",
        "explicit trust boundaries with authentication, least privilege and an audit trail at each",
        (
            Element(
                "identity provider integration",
                "authenticates every user and service with short-lived tokens",
            ),
            Element("authorization policy", "enforces least privilege per role on every {topic} operation"),
            Element("audit log", "records who did what to {topic} in an append-only store"),
            Element("secrets manager", "keeps keys and credentials out of code and rotates them"),
            Element("input validation gateway", "rejects malformed or oversized requests at the edge"),
            Element("rate limiter", "throttles abusive clients before they reach the core services"),
        ),
        (
            "{a} trusts its callers without authenticating them",
            "the design stores sensitive {topic} data without saying how it is protected at rest",
            "there is no audit trail for changes made through {a}",
            "nothing limits abuse of {a} by a single client",
        ),
        (
            "Each control adds latency and operational work.",
            "Strict validation may reject some legitimate edge-case input.",
        ),
        (
            "What data about {topic} is personal or regulated?",
            "Who are the administrators, and how are they vetted?",
        ),
    ),
    "testing": Playbook(
        "test engineer",
        "a design with deterministic seams so every requirement can be demonstrated by an automated test",
        (
            Element("contract test suite", "pins the interface of each component so they evolve safely"),
            Element(
                "fake clock and fake providers", "make time- and network-dependent {topic} logic testable"
            ),
            Element("staging environment", "mirrors production topology for integration and load tests"),
            Element("synthetic monitor", "exercises the main {topic} flow in production every minute"),
            Element("fault-injection harness", "reproduces crashes, timeouts and partitions on demand"),
            Element("structured logging", "makes each request traceable across components"),
        ),
        (
            "no test shows that {a} meets its requirement",
            "{a} depends on wall-clock time and real networks, so its tests will be flaky",
            "the failure modes of {a} cannot be reproduced before production",
            "the design has no signal that tells operators {topic} is unhealthy",
        ),
        (
            "A staging environment costs money to keep faithful.",
            "Contract tests must be maintained alongside the interfaces.",
        ),
        (
            "What must be demonstrated before launch?",
            "Which {topic} failures are acceptable, and which are not?",
        ),
    ),
    "kiss": Playbook(
        "simplicity advocate",
        "the smallest design that meets the stated requirements, using boring, managed building blocks",
        (
            Element("single application service", "one deployable unit that handles all {topic} requests"),
            Element(
                "managed relational database", "one source of truth with transactions and backups built in"
            ),
            Element(
                "managed job scheduler",
                "runs periodic and deferred {topic} work without custom infrastructure",
            ),
            Element("hosted monitoring", "dashboards and alerts without running a metrics stack"),
            Element("feature flags", "let the team change behaviour without new infrastructure"),
        ),
        (
            "{a} adds a moving part the stated load does not need",
            "{a} and {b} could be one component at this scale",
            "the design builds custom infrastructure where a managed service would do",
            "operating {a} needs skills a small team may not have",
        ),
        (
            "A single service will need splitting if the load grows by orders of magnitude.",
            "Managed services trade control for lower operational effort.",
        ),
        ("How large is the team that will operate {topic}?", "Is a managed cloud service acceptable?"),
    ),
    "datamodeling": Playbook(
        "data modeler",
        "a data model with clear ownership, invariants and transaction boundaries for every entity",
        (
            Element(
                "core entity schema", "defines {topic} records with stable identifiers and required fields"
            ),
            Element("append-only history table", "keeps every change to {topic} for audit and replay"),
            Element("transactional outbox", "publishes changes exactly when the database commits them"),
            Element("read model", "denormalizes {topic} for the queries the users actually run"),
            Element("retention policy", "archives or deletes {topic} data on a defined schedule"),
            Element("schema migration process", "changes the model without downtime"),
        ),
        (
            "the design does not say which store is the source of truth for {a}",
            "there is no invariant that prevents duplicate {topic} records",
            "{a} and {b} can disagree with no rule for which one wins",
            "the model does not support the queries the problem implies",
        ),
        (
            "A separate read model must be kept in sync.",
            "Keeping full history increases storage costs.",
        ),
        ("How long must {topic} data be retained?", "Which reports are run over {topic} data?"),
    ),
    "generalist": Playbook(
        "generalist",
        "a balanced design that meets the requirements with proven components and a clear rollout plan",
        (
            Element("application service", "implements the {topic} workflows behind a documented API"),
            Element("relational database", "stores {topic} state with transactions and backups"),
            Element("message queue", "decouples slow work from user requests and retries it safely"),
            Element("observability stack", "gives logs, metrics and alerts for every component"),
            Element("phased rollout", "ships the core {topic} flow first and adds the rest behind flags"),
        ),
        (
            "{a} is described but its failure behaviour is not",
            "the plan does not say how {a} is rolled out or rolled back",
            "the cost of running {a} is not estimated",
            "{a} and {b} overlap in responsibility",
        ),
        (
            "A queue adds eventual consistency between request and result.",
            "Phasing the rollout delays some features.",
        ),
        ("What is the budget for running {topic}?", "What is the deadline for the first release?"),
    ),
}

_STOPWORDS = set(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "also",
        "among",
        "another",
        "because",
        "before",
        "being",
        "below",
        "between",
        "both",
        "cannot",
        "could",
        "does",
        "doing",
        "during",
        "each",
        "either",
        "every",
        "following",
        "further",
        "having",
        "their",
        "there",
        "these",
        "those",
        "through",
        "under",
        "until",
        "which",
        "while",
        "would",
        "should",
        "system",
        "design",
        "designing",
        "users",
        "using",
        "other",
        "within",
        "without",
        "currently",
        "something",
        "things",
        "where",
        "what",
        "when",
        "will",
        "with",
        "your",
        "from",
        "that",
        "this",
        "have",
        "been",
        "into",
        "more",
        "most",
        "much",
        "must",
        "need",
        "needs",
        "only",
        "over",
        "same",
        "some",
        "such",
        "than",
        "them",
        "then",
        "they",
        "very",
        "able",
        "like",
        "just",
        "make",
        "many",
        "want",
        "what",
    ]
)


def seeded(*parts: str) -> Random:
    import hashlib

    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return Random(int.from_bytes(digest[:8], "big"))


def sections(text: str) -> dict[str, str]:
    """``## Title`` sections of a Markdown prompt, title -> body."""
    found: dict[str, str] = {}
    for match in re.finditer(r"^## (.+?)\n(.*?)(?=^## |\Z)", text, re.M | re.S):
        found.setdefault(match.group(1).strip(), match.group(2).strip())
    return found


def topic_words(problem: str, count: int = 4) -> list[str]:
    words = re.findall(r"[A-Za-z][a-z]{4,}", problem)
    counts = Counter(word.lower() for word in words if word.lower() not in _STOPWORDS)
    return [word for word, _ in counts.most_common(count)] or ["the service"]


def bold_terms(text: str) -> list[str]:
    seen: list[str] = []
    for term in re.findall(r"\*\*([^*\n]{3,60})\*\*", text):
        term = term.strip().rstrip(":")
        if term not in seen:
            seen.append(term)
    return seen


def design_elements(text: str) -> list[Element]:
    """The numbered ``**name** — purpose`` lines of a design section."""
    found: list[Element] = []
    for name, purpose in re.findall(r"^\d+\. \*\*([^*\n]+)\*\* — ([^\n]+?)\.?$", text, re.M):
        if all(element.name != name for element in found):
            found.append(Element(name.strip(), purpose.strip()))
    return found


def design_elements_all(text: str) -> list[Element]:
    """Every design line, repeats included (to count how many panelists chose an element)."""
    return [
        Element(name.strip(), purpose.strip())
        for name, purpose in re.findall(r"^\d+\. \*\*([^*\n]+)\*\* — ([^\n]+?)\.?$", text, re.M)
    ]


def with_article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def playbook(role: str) -> Playbook:
    return PLAYBOOKS.get(role, PLAYBOOKS["generalist"])


def _fill(text: str, topic: str, a: str = "", b: str = "") -> str:
    return text.replace("{topic}", topic).replace("{a}", a).replace("{b}", b)


def _coverage(requirements: list[str], design: list[Element], topic: str, rng: Random) -> str:
    if not requirements:
        return (
            "The problem states no explicit must/shall requirement; the design covers its stated goals "
            f"for {topic} through the elements above."
        )
    lines = []
    for requirement in requirements:
        element = best_match(requirement, design, rng)
        lines.append(f"- *{requirement}* → **{element.name}**: {_fill(element.purpose, topic)}.")
    return "\n".join(lines)


# Requirement words that point at a kind of element, beyond the words they share.
_HINTS = {
    "second": "throughput latency cache queue pool batch",
    "latency": "cache latency pool budget",
    "lost": "durable transactional database outbox queue retries",
    "never": "invariant transactional database identifiers",
    "collide": "identifiers invariant schema database",
    "secure": "authorization authenticates audit",
    "audit": "audit history append-only",
    "restart": "durable database persistence",
    "scale": "queue worker pool cache",
}


def best_match(requirement: str, design: list[Element], rng: Random) -> Element:
    """The design element whose name and purpose share most words with the requirement (and the
    kinds of element its words point at); a random one among equals."""
    words = set(re.findall(r"[a-z]{4,}", requirement.lower()))
    wanted = words | {
        hint for word in words for key, hints in _HINTS.items() if key in word for hint in hints.split()
    }

    def score(element: Element) -> int:
        text = f"{element.name} {element.purpose}".lower()
        return sum(1 for word in wanted if word in text)

    best = max(score(element) for element in design)
    candidates = [element for element in design if score(element) == best]
    return candidates[rng.randrange(len(candidates))]


def propose(role: str, agent: str, problem: str, rng: Random) -> str:
    book = playbook(role)
    topics = topic_words(problem)
    topic = topics[0]
    design = rng.sample(list(book.elements), k=min(4, len(book.elements)))
    body = [
        "## Summary",
        "",
        f"As the {book.label}, I propose {book.approach} for {topic}. The design rests on the "
        f"{design[0].name} and the {design[1].name}; every major requirement below is mapped to the "
        "element that meets it.",
        "",
        "## Design",
        "",
    ]
    for index, element in enumerate(design, 1):
        body.append(f"{index}. **{element.name}** — {_fill(element.purpose, topic)}.")
    body += ["", "## Trade-offs and Risks", ""]
    body += [f"- {tradeoff}" for tradeoff in book.tradeoffs]
    body += ["", "## Open Questions", ""]
    body += [f"- {_fill(question, topics[-1])}" for question in book.questions]
    body += ["", "## Requirements Coverage", "", _coverage(major_requirements(problem), design, topic, rng)]
    return "\n".join(body) + "\n"


@dataclass(frozen=True)
class Point:
    """One weakness a critique names, the design element it is about, and the change it suggests
    in the same position (the issue ledger's findings are drawn from these)."""

    concern: str
    subject: str
    change: Element


def critique(role: str, agent: str, target: str, problem: str, proposal: str, rng: Random) -> str:
    return critique_points(role, agent, target, problem, proposal, rng)[0]


def critique_points(
    role: str, agent: str, target: str, problem: str, proposal: str, rng: Random
) -> tuple[str, list[Point]]:
    """The critique's text and its points, weaknesses in order."""
    book = playbook(role)
    topic = topic_words(problem)[0]
    terms = (
        [element.name for element in design_elements(proposal)]
        or bold_terms(proposal)
        or ["its main component", "its data store"]
    )
    a = terms[rng.randrange(len(terms))]
    b = terms[(terms.index(a) + 1) % len(terms)] if len(terms) > 1 else "the rest of the design"
    requirements = major_requirements(problem)
    lines = ["## Requirements Check", ""]
    if requirements and "Requirements Coverage" in proposal:
        weak = requirements[rng.randrange(len(requirements))]
        lines.append(
            f"{target}'s Requirements Coverage maps all {len(requirements)} major requirements, but the mapping "
            f"for *{weak}* is only claimed: the design names **{a}** without showing how it delivers it."
        )
    elif requirements:
        lines.append(
            f"{target}'s proposal has no Requirements Coverage section; none of the {len(requirements)} major requirements is traced to a design element."
        )
    else:
        lines.append(
            f"The problem states no explicit must/shall requirement; {target}'s proposal covers its stated goals."
        )
    lines += ["", "## Strengths", ""]
    lines.append(f"- **{b}** is a sound choice for {topic} and should survive the next revision.")
    lines.append(
        f"- The proposal states its trade-offs openly, which makes it easy to review from {with_article(book.label)}'s view."
    )
    lines += ["", "## Weaknesses", ""]
    concerns = rng.sample(list(book.concerns), k=2)
    for index, concern in enumerate(concerns, 1):
        lines.append(f"{index}. {_fill(concern, topic, a, b).capitalize()}.")
    lines += ["", "## Suggested Changes", ""]
    additions = rng.sample(list(book.elements), k=2)
    for index, element in enumerate(additions, 1):
        lines.append(
            f"{index}. Add {with_article(f'**{element.name}**')} that {_fill(element.purpose, topic)}."
        )
    points = [
        Point(
            _fill(concern, topic, a, b).capitalize(), a, Element(element.name, _fill(element.purpose, topic))
        )
        for concern, element in zip(concerns, additions, strict=True)
    ]
    return "\n".join(lines) + "\n", points


def refine(
    role: str,
    agent: str,
    problem: str,
    proposal: str,
    critiques: str,
    rng: Random,
    adopted: Sequence[Element] = (),
    amendments: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The revised design. ``adopted``: elements the answers to ledger items add to it;
    ``amendments``: lines those answers add at the end of a section, by section title."""
    book = playbook(role)
    amendments = amendments or {}
    topic = topic_words(problem)[0]
    critics = re.findall(r"^### Critique from (\S+) \(([^)]*)\)", critiques, re.M)
    kept = design_elements(proposal)
    lines = ["## Response to Critiques", ""]
    added: list[Element] = []
    for index, (critic, critic_role) in enumerate(critics):
        suggestion = re.search(
            rf"### Critique from {re.escape(critic)}.*?## Suggested Changes\s+1\. Add an? \*\*([^*]+)\*\* that ([^\n]+)",
            critiques,
            re.S,
        )
        if suggestion and (index % 2 == 0 or rng.random() < 0.5):
            name, purpose = suggestion.group(1), suggestion.group(2).rstrip(".")
            if all(element.name != name for element in kept + added):
                added.append(Element(name, purpose))
            lines.append(
                f"- **{critic}** ({critic_role}) — *accepted*: I added {with_article(f'**{name}**')} that {purpose}."
            )
        else:
            lines.append(
                f"- **{critic}** ({critic_role}) — *rejected*: the change it suggests would add cost the stated "
                f"load for {topic} does not justify; I kept the design simpler and noted the risk instead."
            )
    if not critics:
        lines.append("- No critiques arrived this round; I tightened the design on my own review.")
    lines += amendments.get("Response to Critiques", [])
    design = kept[:6] + added
    design += [element for element in adopted if all(element.name != e.name for e in design)]
    if not design:
        design = list(book.elements[:3])
    lines += ["", "## Revised Design", ""]
    for index, element in enumerate(design, 1):
        lines.append(f"{index}. **{element.name}** — {_fill(element.purpose, topic)}.")
    if amendments.get("Revised Design"):
        lines += ["", *amendments["Revised Design"]]
    lines += ["", "## Trade-offs and Risks", ""]
    lines += [f"- {tradeoff}" for tradeoff in book.tradeoffs]
    if added:
        lines.append(f"- The {added[0].name} I accepted adds one more component to operate.")
    lines += amendments.get("Trade-offs and Risks", [])
    lines += ["", "## Requirements Coverage", "", _coverage(major_requirements(problem), design, topic, rng)]
    return "\n".join(lines) + "\n"


def summarize(role: str, agent: str, material: str, previous: str, max_length: int, rng: Random) -> str:
    terms = [element.name for element in design_elements(material)][:6]
    accepted = re.findall(r"\*accepted\*: I added an? \*\*([^*]+)\*\*", material)
    rounds = sorted(set(re.findall(r"Round (\d+)", material)))
    sentences = []
    if previous.strip():
        sentences.append(first_sentences(previous, 2))
    span = (
        f"rounds {rounds[0]} to {rounds[-1]}"
        if len(rounds) > 1
        else f"round {rounds[0]}"
        if rounds
        else "the debate so far"
    )
    sentences.append(
        f"Over {span}, the {playbook(role).label} position has been built around "
        + (", ".join(terms) if terms else "a small set of components")
        + "."
    )
    if accepted:
        sentences.append("Accepted changes: " + ", ".join(sorted(set(accepted))) + ".")
    sentences.append("The open issues are operational cost and how the riskiest requirements are verified.")
    return cap_at_sentence(" ".join(sentences), max_length)


def first_sentences(text: str, count: int) -> str:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(parts[:count])


def clarifying_questions(
    role: str, agent: str, problem: str, max_questions: int, already: str, rng: Random
) -> dict[str, Any]:
    book = playbook(role)
    topics = topic_words(problem)
    candidates = [_fill(q, t) for q in book.questions for t in topics[:2]]
    fresh = [q for q in dict.fromkeys(candidates) if q not in already]
    count = min(max_questions, len(fresh), 1 + rng.randrange(2))
    return {"questions": [{"question": question} for question in fresh[:count]]}


def convergence(round_number: int, proposals: str, rng: Random) -> dict[str, Any]:
    authors = re.findall(r"^### (\S+) \(", proposals, re.M)
    score = min(97, 52 + 14 * round_number + rng.randrange(6))
    shared = Counter(element.name for element in design_elements(proposals)).most_common(2)
    agreement = ", ".join(term for term, _ in shared) or "the overall structure"
    return {
        "score": score,
        "reason": (
            f"{len(authors) or 'The'} panelists agree on {agreement}; they still differ on how much "
            "infrastructure the stated load justifies."
        ),
    }


def rulings(ledger: str) -> tuple[list[dict[str, str]], list[str]]:
    """The judge's rulings on the ledger items it was shown (even numbers upheld), and the
    remaining risks: the upheld items' titles."""
    made: list[dict[str, str]] = []
    risks: list[str] = []
    for number, title in re.findall(r"^- \*\*I(\d+)\*\* \([^)]*\): ([^\n]*?)\.(?: |$)", ledger, re.M):
        upheld = int(number) % 2 == 0
        made.append(
            {
                "id": f"I{number}",
                "ruling": "upheld" if upheld else "dismissed",
                "reason": "The critic's point stands against the final design."
                if upheld
                else "The final design already answers it.",
            }
        )
        if upheld:
            risks.append(f"I{number}: {title}")
    return made, risks


def synthesis(problem: str, proposals: str, rng: Random, ledger: str = "") -> dict[str, Any]:
    topic = topic_words(problem)[0]
    authors = re.findall(r"^### (\S+) \(([^)]*)\)", proposals, re.M)
    counts = Counter(element.name for element in design_elements_all(proposals))
    elements = {element.name: element for element in design_elements_all(proposals)}
    ranked = [elements[name] for name, _ in counts.most_common(6)] or [
        Element("application service", "implements the workflows"),
        Element("relational database", "stores the state with transactions"),
    ]
    chosen = [element.name for element in ranked]
    requirements = major_requirements(problem)
    made, risks = rulings(ledger)
    lines = [
        f"# Final design for {topic}",
        "",
        "## Overview",
        "",
        f"The panel ({', '.join(author for author, _ in authors) or 'all agents'}) converged on a design built "
        f"around the {chosen[0]}, with the other elements added only where a requirement needs them.",
        "",
        "## Components",
        "",
    ]
    lines += [f"- **{element.name}** — {_fill(element.purpose, topic)}." for element in ranked]
    lines += ["", "## How the major requirements are met", ""]
    if requirements:
        lines += [f"- *{req}* — {best_match(req, ranked, rng).name}." for req in requirements]
    else:
        lines.append(
            "- The problem states no explicit must/shall requirement; the components above cover its goals."
        )
    return {
        "solutionMarkdown": "\n".join(lines) + "\n",
        "tradeoffs": [
            "Fewer moving parts in exchange for less headroom at ten times the stated load.",
            "Managed services reduce operational work but tie the design to a provider.",
        ],
        "recommendations": [
            f"Build the core {topic} flow first and load-test it against the stated targets.",
            "Write contract tests for every interface before splitting any component out.",
        ],
        "unfulfilledMajorRequirements": [],
        "openQuestions": [f"What is the real peak load for {topic}?"],
        "rulings": made,
        "remainingRisks": risks,
        "options": [
            {
                "agentId": author,
                "verdict": "adopted" if index == 0 else "partly adopted" if index < 2 else "rejected",
                "reason": f"the {author_role} design contributes the {chosen[index % len(chosen)]}"
                if index < 2
                else f"the {author_role} design adds parts the requirements do not need",
            }
            for index, (author, author_role) in enumerate(authors)
        ],
        "confidence": 72 + rng.randrange(15),
    }


# What an offline evaluator looks for, per metric: a design that names more of these mechanisms
# scores higher, so offline scores follow the solution rather than being pure noise.
_EVIDENCE: dict[str, tuple[str, ...]] = {
    "functional_completeness": (
        "edge case",
        "failure",
        "retry",
        "idempot",
        "workflow",
        "api",
        "error",
        "fallback",
    ),
    "performance_scalability": (
        "cache",
        "latency",
        "throughput",
        "scal",
        "shard",
        "partition",
        "queue",
        "replica",
    ),
    "security": ("auth", "encrypt", "tls", "token", "privilege", "audit", "secret", "rate limit"),
    "maintainability_evolvability": (
        "module",
        "interface",
        "contract",
        "decoupl",
        "version",
        "boundar",
        "adapter",
    ),
    "regulatory_compliance": (
        "gdpr",
        "retention",
        "complian",
        "privacy",
        "regulat",
        "consent",
        "personal data",
    ),
    "testability": ("test", "staging", "monitor", "fake", "fault", "observab", "metrics"),
    "requirements_fulfillment": ("requirements coverage", "requirement", "must", "shall", "→"),
}


def _solution_of(prompt: str, title: str = "final design") -> str:
    """The solution inside an evaluator prompt: our ``## Final design`` section, the TypeScript
    prompt's triple-quoted block after "Final Solution", or else the whole prompt."""
    for heading, body in sections(prompt).items():
        if heading.lower() == title:
            return body
    quoted = re.search(r'solution[^\n]*\n"""\n?(.*?)\n?"""', prompt, re.I | re.S)
    return quoted.group(1) if quoted else prompt


def _evidence(solution: str, metric: str) -> list[str]:
    lowered = solution.lower()
    return [term for term in _EVIDENCE[metric] if term in lowered]


def _unmet_requirements(prompt: str) -> int:
    block = re.search(r"marked as unfulfilled\s*\n+((?:- [^\n]*\n?)+)", prompt)
    if not block:
        return 0
    items = [line for line in block.group(1).splitlines() if line.strip()]
    return sum(1 for line in items if not line.startswith(("- None", "- (")))


def _quality_score(solution: str, metric: str, unmet: int, rng: Random) -> tuple[int, list[str]]:
    found = _evidence(solution, metric)
    score = 3 + min(5, len(found)) + rng.choice((-1, 0, 0, 1))
    if metric == "requirements_fulfillment":
        score -= 2 * min(unmet, 2)
    return max(1, min(10, score)), found


def evaluation(prompt: str, rng: Random) -> str:
    """An evaluator's reply: the JSON object of spec §5, sometimes in a code fence the way real
    models reply, with reasoning that points at the solution's own components."""
    solution = _solution_of(prompt)
    terms = [term for term in bold_terms(solution) if len(term) < 40] or topic_words(solution, 3)
    unmet = _unmet_requirements(prompt)
    grades: dict[str, tuple[int, str]] = {}
    for index, metric in enumerate(_EVIDENCE):
        score, found = _quality_score(solution, metric, unmet, rng)
        anchor = terms[(index + rng.randrange(len(terms))) % len(terms)]
        label = metric.replace("_", " ")
        if score >= 7:
            reason = f"The solution backs {label} with concrete mechanisms ({', '.join(found[:3])}), notably **{anchor}**."
        elif found:
            reason = f"The solution touches {label} ({', '.join(found[:2])}) but leaves **{anchor}** without a concrete mechanism."
        else:
            reason = f"The solution says almost nothing about {label}; **{anchor}** is described without it."
        grades[metric] = (score, reason)
    best = sorted(grades, key=lambda m: -grades[m][0])
    overall = round(sum(score for score, _ in grades.values()) / len(grades) + rng.choice((-0.5, 0, 0.5)))
    reply = {
        "evaluation": {
            "functional_completeness": _grade(grades["functional_completeness"]),
            "non_functional": {m: _grade(grades[m]) for m in list(_EVIDENCE)[1:]},
        },
        "overall_summary": {
            "strengths": f"Strongest on {best[0].replace('_', ' ')} and {best[1].replace('_', ' ')}, around **{terms[0]}**.",
            "weaknesses": f"Weakest on {best[-1].replace('_', ' ')}: the solution gives it no concrete mechanism.",
            "overall_score": max(1, min(10, overall)),
        },
    }
    body = json.dumps(reply, indent=2, ensure_ascii=False)
    return f"Here is my evaluation.\n\n```json\n{body}\n```\n" if rng.random() < 0.25 else body


def _grade(grade: tuple[int, str]) -> dict[str, Any]:
    return {"score": grade[0], "reasoning": grade[1]}


def comparison(prompt: str, rng: Random) -> str:
    """A pairwise verdict. Clear differences decide it; close calls lean towards the design shown
    first, the way real judges do, so offline runs exercise the position-bias check."""
    first, second = _solution_of(prompt, "design 1"), _solution_of(prompt, "design 2")
    merit = [sum(len(_evidence(text, metric)) for metric in _EVIDENCE) for text in (first, second)]
    if abs(merit[0] - merit[1]) >= 4:
        winner = "1" if merit[0] > merit[1] else "2"
        reason = (
            f"Design {winner} names clearly more concrete mechanisms ({max(merit)} against {min(merit)})."
        )
    else:
        draw = rng.random()
        winner = "1" if draw < 0.5 else "tie" if draw < 0.8 else "2"
        reason = f"The designs are close ({merit[0]} against {merit[1]} concrete mechanisms); " + (
            "neither is clearly better."
            if winner == "tie"
            else f"Design {winner} reads as slightly more complete."
        )
    return json.dumps({"winner": winner, "reasoning": reason})


def from_schema(
    schema: dict[str, Any], rng: Random, defs: dict[str, Any] | None = None, name: str = ""
) -> Any:
    """A value valid against a JSON schema (for schemas the model has no writer for)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].split("/")[-1]], rng, defs, name)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return from_schema(options[0], rng, defs, name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: from_schema(sub, rng, defs, key) for key, sub in properties.items()}
    if kind == "array":
        return [
            from_schema(schema.get("items", {}), rng, defs, name)
            for _ in range(max(1, schema.get("minItems", 1)))
        ]
    if kind in ("integer", "number"):
        high_given = schema.get("maximum", schema.get("exclusiveMaximum"))
        low = schema.get(
            "minimum", schema.get("exclusiveMinimum", 1 if high_given is None else min(1, high_given - 9))
        )
        high = schema.get("maximum", max(low, 10) if high_given is None else high_given)
        value = low + rng.randrange(int(high - low) + 1) if high > low else low
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    value = f"A concise {name.replace('_', ' ') or 'answer'} grounded in the material provided."
    longest = schema.get("maxLength")
    if longest is not None:
        value = value[:longest].rstrip() or "x" * min(longest, max(1, schema.get("minLength", 1)))
    return value.ljust(schema.get("minLength", 0), ".")
