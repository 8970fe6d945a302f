"""Partitioned tagging: the pending measures split into contiguous id ranges of near-equal cost that
separate workers tag side by side (Airflow's mapped ``tag_partition`` tasks, ``tbt-alert classify --workers N``).

The ranges are planned once, from the pending ids as the database sorts them, and every
comparison afterwards is made by the same database: on PostgreSQL the column's collation (which
need not be Python's code-point order) decides both the plan and the filter, so the ranges
neither overlap nor leave a gap between planned ids. A partition is resumable because tagging
commits per batch and only ever picks what is still pending in its range: a worker killed
mid-batch loses that uncommitted batch, and the rerun of its partition tags it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from classifiers.tagging import _pending, tag_pending
from schema.engine import session_scope
from schema.models import Measure
from tbt_alert.errors import ClassifierError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from classifiers.classifier import Classifier
    from classifiers.tagging import ClassifyOutcome
    from tbt_alert.settings import Settings

_FIELDS = ("index", "count", "first_id", "last_id", "classifier_version")


@dataclass(frozen=True)
class Partition:
    """Partition ``index`` (from 0) of ``count``: the pending measures with first_id <= id <= last_id.

    A bound of None is open: the single partition planned when nothing is pending covers
    whatever turns up by the time it runs. ``classifier_version`` is the version the plan was
    made for; a worker that loads another classifier refuses the partition (mixed deployments).
    """

    index: int
    count: int
    first_id: str | None
    last_id: str | None
    classifier_version: str

    @property
    def id_range(self) -> tuple[str | None, str | None]:
        return (self.first_id, self.last_id)

    @property
    def label(self) -> str:
        """How logs and the Airflow UI name it: ``2/4``."""
        return f"{self.index + 1}/{self.count}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON-able form that travels through XCom and to worker processes."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Partition:
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise ClassifierError(
                f"a tagging partition {dict(data)!r} lacks {', '.join(missing)}; plan it with plan_partitions()."
            )
        index, count = data["index"], data["count"]
        if not (isinstance(index, int) and isinstance(count, int) and 0 <= index < count):
            raise ClassifierError(f"a tagging partition has index {index!r} of count {count!r}; plan it again.")
        return cls(
            index=index,
            count=count,
            first_id=_bound(data["first_id"], "first_id"),
            last_id=_bound(data["last_id"], "last_id"),
            classifier_version=str(data["classifier_version"]),
        )


def _bound(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ClassifierError(f"a tagging partition's {name} is {value!r}, not a measure id or null; plan it again.")


# The cost of tagging a measure, in characters of its text: the encoder reads at most 128 tokens
# (about TEXT_CHARS_READ characters of English), and each measure costs about a quarter of a full
# text's encoder time besides (keyword rules, head, HS suggestions: ~1.5 ms against ~6 ms).
TEXT_CHARS_READ = 600
MEASURE_COST_CHARS = 150


def _tagging_cost() -> Any:
    chars = (
        func.length(func.coalesce(Measure.title, ""))
        + func.length(func.coalesce(Measure.products, ""))
        + func.length(func.coalesce(Measure.description, ""))
    )
    return case((chars > TEXT_CHARS_READ, TEXT_CHARS_READ), else_=chars) + MEASURE_COST_CHARS


def plan_partitions(engine: Engine, classifier_version: str, count: int) -> list[Partition]:
    """Split the measures pending for ``classifier_version`` into at most ``count`` id ranges of
    near-equal tagging cost (fewer when fewer measures are pending; one open range when none is).

    Equal counts were not equal work: ids sort by source, and one source's texts fill the
    encoder's 128 tokens (ePing notifications) where another's are short titles, so one range of
    two took twice as long as the other (docs/SCALE_OUT.md). Each measure weighs its text's length
    up to what the encoder reads, plus a fixed part for the rest of its tagging."""
    if count < 1:
        raise ClassifierError(f"tagging needs at least one partition, not {count}; set TBT_TAGGING_PARTITIONS >= 1.")
    # Running cost before each row, in the database's own id order (window sums: one query on
    # SQLite and PostgreSQL); integer division maps it to the part 0..count-1 it falls in.
    weighed = select(Measure.id.label("id"), _tagging_cost().label("cost")).where(_pending(classifier_version))
    pending = weighed.subquery()
    costed = select(
        pending.c.id,
        (func.sum(pending.c.cost).over(order_by=pending.c.id) - pending.c.cost).label("before"),
        func.sum(pending.c.cost).over().label("total"),
    ).subquery()
    ranked = select(costed.c.id, ((costed.c.before * count) // costed.c.total).label("part")).subquery()
    with session_scope(engine) as session:
        rows = session.execute(
            select(func.min(ranked.c.id), func.max(ranked.c.id)).group_by(ranked.c.part).order_by(ranked.c.part)
        ).all()
    if not rows:
        return [Partition(0, 1, None, None, classifier_version)]
    return [
        Partition(index, len(rows), str(first), str(last), classifier_version)
        for index, (first, last) in enumerate(rows)
    ]


def tag_partition(
    engine: Engine, classifier: Classifier, partition: Partition, *, batch_size: int = 64
) -> ClassifyOutcome:
    """Tag what is still pending in ``partition``'s range; run again, it picks up where it stopped."""
    if classifier.version != partition.classifier_version:
        raise ClassifierError(
            f"partition {partition.label} was planned for classifier {partition.classifier_version}, but this "
            f"worker loaded {classifier.version}: every worker needs the same commit and classifiers/head files "
            "(and the same TBT_CLASSIFIER_MODE); deploy them, then rerun the tagging."
        )
    return tag_pending(engine, classifier, batch_size=batch_size, id_range=partition.id_range)


def planned_version(settings: Settings, *, head_dir: Path | None = None) -> str:
    """The version :func:`classifiers.classifier.classifier_from_settings` stamps, read without loading
    the encoder: a plan costs the head and HS-index files (seconds), not torch and the model."""
    from classifiers.classifier import Classifier
    from classifiers.head import HEAD_DIR, Head
    from classifiers.hs_suggest import HsIndex, index_exists
    from classifiers.taxonomy import load_taxonomy

    if settings.classifier_mode != "model":
        return Classifier.load(mode=settings.classifier_mode).version
    folder = head_dir or HEAD_DIR
    hs_index = HsIndex.load(folder) if index_exists(folder) else None
    return Classifier(taxonomy=load_taxonomy(), mode="model", head=Head.load(folder), hs_index=hs_index).version
