"""Labelled examples for training and evaluating the sector head, read from the recorded data.

Labels come from each source's own product classification through the tables in
``labelling.yml`` (and, for HS nomenclature lines and ePing rows, the HS/ICS mapping of
``sectors.yml``). The split is fixed and by group: records whose normalised product
text (or HS heading) is the same always land in the same split, so the same product
never appears in train and test.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import random
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from classifiers.hazards import ChemicalHazards
from classifiers.taxonomy import CROSS_SECTOR, Taxonomy, load_taxonomy
from tbt_alert.errors import ClassifierError

LABELLING_PATH = Path(__file__).with_name("labelling.yml")
SPLITS = ("train", "val", "test")
# Caps keep embedding time on a shared 2-core machine to minutes (see MODEL_CARD.md).
PER_LABEL_CAP = {"safety_gate": 150, "health_canada": 150}
# Beyond the cap, more records of the TRAIN split only (up to this many per label set in
# all): more training data while validation and test stay exactly the sets they were.
TRAIN_ONLY_CAP = {"safety_gate": 400, "health_canada": 400}
SAMPLE_SEED = 20260101


@dataclass
class LabelledRecord:
    key: str  # source:record id
    source: str
    source_kind: str  # nomenclature, recall, notification, standard
    language: str
    title: str
    description: str = ""
    products: str = ""
    hs_codes: list[str] = field(default_factory=list)
    ics_codes: list[str] = field(default_factory=list)
    labels: tuple[str, ...] = ()
    group: str = ""
    fixed_split: str | None = None  # taxonomy anchors are always training data
    # The source's own class before any `refine` rule, where sampling goes by it (see _cap).
    sampled_as: tuple[str, ...] | None = None
    # A nomenclature line's or declaration's own code: the HS suggester's label. Never an
    # input of the sector classifier (given the code, the HS rules would answer for the text).
    code: str = ""

    @property
    def text(self) -> str:
        return " | ".join(p for p in (self.title, self.products, self.description) if p)

    @property
    def split(self) -> str:
        return self.fixed_split or split_of(self.group or self.key)

    def as_record(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "title": self.title,
            "description": self.description,
            "products": self.products,
            "hs_codes": self.hs_codes,
            "ics_codes": self.ics_codes,
            "language": self.language,
        }


def split_of(group: str) -> str:
    """Fixed split from a digest of the group: 70 % train, 15 % validation, 15 % test."""
    bucket = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "val" if bucket < 85 else "test"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _labelling() -> dict[str, Any]:
    data = yaml.safe_load(LABELLING_PATH.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ClassifierError(f"{LABELLING_PATH} is not a mapping; fix the YAML.")
    return data


def _check(labels: list[str], taxonomy: Taxonomy, where: str) -> tuple[str, ...]:
    for label in labels:
        taxonomy.sector(label)  # raises for a typo in labelling.yml
    if not labels:
        return ()
    return tuple(sorted(set(labels)))


def default_data_dir() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _clean(value: object) -> str:
    """The value as text with whitespace runs collapsed to one space; None becomes ""."""
    return " ".join(str(value or "").split())


def _record(
    source: str,
    kind: str,
    language: str,
    key: str,
    title: str,
    labels: tuple[str, ...],
    *,
    description: str = "",
    products: str = "",
    group: str = "",
    fixed_split: str | None = None,
) -> LabelledRecord:
    """One labelled record; keyword-only fields keep the readers' calls self-describing."""
    return LabelledRecord(
        key=key,
        source=source,
        source_kind=kind,
        language=language,
        title=title,
        description=description,
        products=products,
        labels=labels,
        group=group,
        fixed_split=fixed_split,
    )


# --- sources -------------------------------------------------------------------------


def hs_nomenclature(data_dir: Path, taxonomy: Taxonomy) -> Iterator[LabelledRecord]:
    """HS 2022 headings and subheadings, labelled through the HS mapping; grouped by heading."""
    path = data_dir / "hs" / "datasets_harmonized-system__harmonized-system.csv"
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code, level = row["hscode"], row["level"]
            if level not in ("4", "6"):
                continue
            labels = [s.code for s, _ in taxonomy.sectors_for_hs(code)]
            if not labels:
                continue
            yield LabelledRecord(
                key=f"hs:{code}",
                source="hs_nomenclature",
                source_kind="nomenclature",
                language="en",
                title=row["description"],
                labels=tuple(sorted(labels)),
                group=f"hs:{code[:4]}",
            )


def _refine(rules: list[list[Any]], text: str) -> list[str] | None:
    for pattern, labels in rules:
        if re.search(pattern, text):
            return list(labels)
    return None


def _chemical_hazard(rule: ChemicalHazards, text: str) -> bool:
    """Whether ``text`` names a restricted substance or chemical limit (labelling.yml ``chemical_hazard``)."""
    return bool(rule.terms(text))


def _also_chemical(labels: list[str], rule: ChemicalHazards) -> list[str]:
    """TAXONOMY.md: "chemical limits in a named product: also that product's sector", and the
    reverse: a product recalled for a restricted substance also gets chemicals_plastics,
    except where the product's own sector rules are the chemical rules (cosmetics, drugs, food)."""
    return labels + list(rule.adds) if rule.applies_to(labels) else labels


def safety_gate(
    data_dir: Path, taxonomy: Taxonomy, table: dict[str, Any], chemical: ChemicalHazards | None = None
) -> Iterator[LabelledRecord]:
    categories: dict[str, list[str]] = table["categories"]
    drop = set(table.get("drop", []))
    refine: dict[str, list[list[Any]]] = table.get("refine", {})
    relabel: dict[str, list[list[Any]]] = table.get("relabel", {})
    sample_categories: dict[str, list[str]] = {**categories, **table.get("sampled_as", {})}
    for path in sorted((data_dir / "safety_gate" / "weekly_reports").glob("*.xml.gz")):
        try:
            root = ET.fromstring(gzip.decompress(path.read_bytes()))
        except (OSError, ET.ParseError):
            continue  # a damaged report file costs its alerts, not the build
        for alert in root.iter("notifications"):

            def text(tag: str, node: ET.Element = alert) -> str:
                return " ".join((node.findtext(tag) or "").split())

            case = text("caseNumber")
            category = text("category")
            if not case or category in drop or category not in categories:
                continue
            product = text("product")
            name = text("name")
            title = product if name.lower() in ("", "unknown", product.lower()) else f"{product} {name}"
            description = text("description")
            rules = refine.get(category, [])
            # The product's name decides; the description names its parts and features ("with
            # a USB cable", "battery-powered", "packed in a plastic bag"), which made a fan an
            # ICT product and a jacket a bag. Older alerts have no name: their description
            # opens with it. `relabel` rules (labels only) are tried before `refine`.
            labels = _refine(relabel.get(category, []) + rules, title or description) or categories[category]
            if chemical and _sg_chemical_risk(text("riskType"), text("danger"), chemical):
                labels = _also_chemical(labels, chemical)
            # This source's sample was drawn with the `refine` rules reading name and description
            # and the categories as they were then (`sampled_as`); sampling by those labels keeps
            # the same records in every split. Never add `relabel` rules or the risk here.
            sampled_as = _refine(rules, f"{title} {description}") or sample_categories[category]
            yield LabelledRecord(
                key=f"safety_gate:{case}",
                source="eu_safety_gate",
                source_kind="recall",
                language="en",
                title=title,
                description=description,
                labels=_check(labels, taxonomy, case),
                group="sg:" + _norm(f"{product} {text('brand')}"),
                sampled_as=_check(sampled_as, taxonomy, case),
            )


def _sg_chemical_risk(risk_type: str, danger: str, chemical: ChemicalHazards) -> bool:
    """Safety Gate records the risk type ("Chemical"); an "Environment" risk counts when its
    danger text names a restricted substance (SCCPs, lead in solder: POPs and RoHS)."""
    if chemical.chemical_risk(risk_type):
        return True
    return "environment" in {r.strip().lower() for r in risk_type.split(",")} and _chemical_hazard(chemical, danger)


def health_canada(
    data_dir: Path, taxonomy: Taxonomy, table: dict[str, Any], chemical: ChemicalHazards | None = None
) -> Iterator[LabelledRecord]:
    path = data_dir / "health_canada" / "HCRSAMOpenData_en_until_2025.json.gz"
    records = json.loads(gzip.decompress(path.read_bytes()))
    categories: dict[str, list[str]] = table["categories"]
    organizations: dict[str, list[str]] = table["organizations"]
    neutral = set(table["neutral"])
    category_only = set(table["by_category_only"])
    refine: dict[str, list[list[Any]]] = table.get("refine", {})
    sample_categories: dict[str, list[str]] = {**categories, **table.get("sampled_as", {})}
    for rec in records:
        org = (rec.get("Organization") or "").strip()
        category = (rec.get("Category") or "").strip()
        parts = [p.strip() for p in category.split(" - ") if p.strip()]
        title = " ".join(str(rec.get("Title") or "").split())
        product = " ".join(str(rec.get("Product") or "").split())
        labels: list[str] = []
        unrefined: list[str] = []
        unknown = False
        for part in parts:
            if part in categories:
                # Title and product name only: the issue text names hazards ("battery overheats")
                # of products that are not batteries.
                labels.extend(_refine(refine.get(part, []), f"{title} {product}") or categories[part])
                unrefined.extend(sample_categories[part])
            elif part not in neutral:
                unknown = True
        if org == "TC" and "Child Car Seat" not in parts:
            labels = unrefined = ["auto_parts"]
        elif (not labels or unknown) and org in organizations and org not in category_only:
            unrefined = list(organizations[org])
            labels = _refine(refine.get(org, []), f"{title} {product}") or unrefined
        elif unknown and org in category_only:
            labels = []
        if not labels:
            continue
        issue = " ".join(str(rec.get("Issue") or "").split())
        if chemical and _chemical_hazard(chemical, f"{title} {issue}"):
            labels = _also_chemical(labels, chemical)
        yield LabelledRecord(
            key=f"health_canada:{rec.get('NID')}",
            source="health_canada",
            source_kind="recall",
            language="en",
            title=title,
            products=product if product.lower() != title.lower() else "",
            description=issue,
            labels=_check(labels, taxonomy, str(rec.get("NID"))),
            group="hc:" + _norm(product or title),
            # The refine rules came after this source's sample was fixed: sampling by the
            # unrefined class keeps the same records in every split and only corrects labels.
            sampled_as=_check(unrefined, taxonomy, str(rec.get("NID"))),
        )


def cpsc(
    data_dir: Path, taxonomy: Taxonomy, table: dict[str, Any], chemical: ChemicalHazards | None = None
) -> Iterator[LabelledRecord]:
    files: dict[str, list[str]] = table["files"]
    merged: dict[str, LabelledRecord] = {}
    for path in sorted((data_dir / "cpsc" / "recallsatlas_csv").glob("*.csv")):
        category = path.name.rsplit("_", 2)[0]
        if category not in files:
            continue
        with path.open(encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                number = (row.get("Recall Number") or "").strip()
                if not number:
                    continue
                rec = merged.get(number)
                if rec is None:
                    name = " ".join((row.get("Name of product") or "").split())
                    rec = LabelledRecord(
                        key=f"cpsc:{number}",
                        source="us_cpsc",
                        source_kind="recall",
                        language="en",
                        title=name,
                        description=" ".join((row.get("Description") or "").split())[:1500],
                        group="cpsc:" + _norm(name),
                    )
                    merged[number] = rec
                labels = list(rec.labels) + files[category]
                # The recall heading and hazard name the chemical limit ("Violation of Lead Paint Ban").
                hazard = f"{row.get('Recall Heading') or ''} {row.get('Hazard Description') or ''}"
                if chemical and _chemical_hazard(chemical, hazard):
                    labels = _also_chemical(labels, chemical)
                rec.labels = _check(labels, taxonomy, number)
    yield from merged.values()


def eping(data_dir: Path, taxonomy: Taxonomy) -> Iterator[LabelledRecord]:
    """ePing export rows and GCC notifications, labelled by their own HS/ICS codes."""
    with (data_dir / "eping" / "eping_export_sample_32.csv").open(encoding="utf-8-sig") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            hs = [c.strip() for c in (row.get("HS code(s)") or "").split(";") if c.strip()]
            ics = [c.strip() for c in (row.get("ICS code(s)") or "").split(";") if c.strip()]
            labels = {s.code for c in hs for s, _ in taxonomy.sectors_for_hs(c)}
            labels |= {s.code for c in ics for s, _ in taxonomy.sectors_for_ics(c)}
            labels.discard(CROSS_SECTOR)
            if not labels:
                continue
            title = " ".join((row.get("Title") or "").split())
            yield LabelledRecord(
                key=f"eping_csv:{i}",
                source="wto_eping",
                source_kind="notification",
                language="en",
                title=title,
                description=" ".join((row.get("Description") or "").split()),
                products=" ".join((row.get("Products covered") or "").split()),
                hs_codes=hs,
                ics_codes=ics,
                labels=tuple(sorted(labels)),
                group="eping:" + _norm(title)[:80],
            )
    gcc = json.loads((data_dir / "eping" / "gcc_tbt_notifications_normalized.json").read_text(encoding="utf-8"))
    for feed in gcc.values():
        for entry in feed.get("entries", []):
            title = " ".join(str(entry.get("title") or "").split())
            yield LabelledRecord(
                key=f"eping_gcc:{entry.get('uid')}",
                source="wto_eping",
                source_kind="notification",
                language="en",
                title=title,
                description=" ".join(str(entry.get("summary") or "").split()),
                ics_codes=["43.020"],
                labels=("auto_parts",),
                group="eping:" + _norm(title)[:80],
            )


def taxonomy_anchors(taxonomy: Taxonomy) -> Iterator[LabelledRecord]:
    """Each sector's keywords (six languages) and descriptions as short training texts.

    The recorded sources are almost all English; these anchors give the head a few
    examples per sector in every language of the taxonomy. Training split only.
    """
    for sector in taxonomy.sectors:
        if sector.code == CROSS_SECTOR:
            continue
        texts = [(language, word, word) for language, words in sector.keywords.items() for word in words]
        texts += [("en", "description", sector.description_en), ("zh", "description", sector.description_zh)]
        for language, name, text in texts:
            yield _record(
                "taxonomy",
                "taxonomy",
                language,
                f"taxonomy:{sector.code}:{language}:{name}",
                text,
                (sector.code,),
                fixed_split="train",
            )


def _cap(records: list[LabelledRecord], cap: int, seed: int, train_cap: int = 0) -> list[LabelledRecord]:
    """At most ``cap`` records per label set, sampled reproducibly, then training-split
    records of the same sample order up to ``train_cap`` (validation and test unchanged)."""
    by_label: dict[tuple[str, ...], list[LabelledRecord]] = defaultdict(list)
    for rec in records:
        by_label[rec.sampled_as or rec.labels].append(rec)
    rng = random.Random(seed)
    kept: list[LabelledRecord] = []
    for labels in sorted(by_label):
        group = by_label[labels]
        rng.shuffle(group)
        kept.extend(group[:cap])
        kept.extend(r for r in group[cap:train_cap] if r.split == "train")
    return kept


def labelled_records(data_dir: Path | None = None, taxonomy: Taxonomy | None = None) -> list[LabelledRecord]:
    """All English labelled records (train, validation and test), in a fixed order."""
    data_dir = data_dir or default_data_dir()
    if not data_dir.is_dir():
        raise ClassifierError(f"no training data at {data_dir}; pass --data-dir pointing at shared/data.")
    taxonomy = taxonomy or load_taxonomy()
    table = _labelling()
    hs = list(hs_nomenclature(data_dir, taxonomy))
    # Subheadings outnumber headings 5:1; keep all headings and two subheadings per heading.
    rng = random.Random(SAMPLE_SEED)
    per_heading: dict[str, list[LabelledRecord]] = defaultdict(list)
    for rec in hs:
        per_heading[rec.group].append(rec)
    hs_kept: list[LabelledRecord] = []
    for group in sorted(per_heading):
        recs = per_heading[group]
        headings = [r for r in recs if len(r.key) == len("hs:") + 4]
        subs = [r for r in recs if r not in headings]
        heading_labels = {r.labels for r in headings}
        # Subheadings with their own sectors (854142 solar cells under 8541) are always kept.
        special = [r for r in subs if r.labels not in heading_labels]
        ordinary = [r for r in subs if r.labels in heading_labels]
        rng.shuffle(ordinary)
        hs_kept.extend(headings + special + ordinary[:2])
    chemical = ChemicalHazards.from_table(table["chemical_hazard"])  # once: every recall is checked
    sg = _cap(
        list(safety_gate(data_dir, taxonomy, table["safety_gate"], chemical)),
        PER_LABEL_CAP["safety_gate"],
        SAMPLE_SEED,
        TRAIN_ONLY_CAP["safety_gate"],
    )
    hc = _cap(
        list(health_canada(data_dir, taxonomy, table["health_canada"], chemical)),
        PER_LABEL_CAP["health_canada"],
        SAMPLE_SEED,
        TRAIN_ONLY_CAP["health_canada"],
    )
    records = (
        hs_kept
        + sg
        + hc
        + list(cpsc(data_dir, taxonomy, table["cpsc_recallsatlas"], chemical))
        + list(eping(data_dir, taxonomy))
    )
    records += list(taxonomy_anchors(taxonomy))
    for rec in records:
        rec.labels = tuple(label for label in rec.labels if label != CROSS_SECTOR)
    return [r for r in records if r.labels and r.text.strip()]


# --- non-English evaluation sets ----------------------------------------------------------


def bvl_warnings(data_dir: Path, taxonomy: Taxonomy, warning_types: dict[str, list[str]]) -> Iterator[LabelledRecord]:
    """German food warnings of the BVL (lebensmittelwarnung.de), labelled by warning type."""
    with (data_dir / "multilingual" / "de" / "bvl_lebensmittelwarnungen.csv").open(encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            labels = warning_types.get((row.get("warningtype") or "").strip())
            product = _clean(row.get("product"))
            if labels and product:
                yield _record(
                    "de_bvl",
                    "recall",
                    "de",
                    f"bvl:{i}",
                    product,
                    _check(labels, taxonomy, str(i)),
                    description=_clean(row.get("reason")),
                    group="bvl:" + _norm(product),
                )


def aesan_alerts(data_dir: Path, taxonomy: Taxonomy, alert_types: dict[str, list[str]]) -> Iterator[LabelledRecord]:
    """Spanish food alerts of AESAN, labelled by alert type."""
    feed = json.loads((data_dir / "multilingual" / "es" / "aesan_alerts_feed.json").read_text(encoding="utf-8"))
    for alert in feed["alerts"]:
        labels = alert_types.get(alert.get("type"))
        if labels:
            yield _record(
                "es_aesan",
                "recall",
                "es",
                f"aesan:{alert.get('reference')}",
                _clean(alert.get("title")),
                _check(labels, taxonomy, str(alert.get("reference"))),
                # The product field as published, not whitespace-collapsed: the trained head saw it so.
                products=str(alert.get("product") or ""),
                group="aesan:" + _norm(str(alert.get("title") or "")),
            )


def rosstandart_drafts(
    data_dir: Path, taxonomy: Taxonomy, committees: dict[str, list[str]]
) -> Iterator[LabelledRecord]:
    """Russian draft standards: GOST labelled by technical committee, then all building codes (СП)."""
    path = data_dir / "multilingual" / "ru" / "rosstandart_draft_standards.json"
    drafts = json.loads(path.read_text(encoding="utf-8"))
    for item in drafts["gost"]:
        match = re.match(r"\s*П?ТК\s+(\d+)", item.get("technical_committee") or "")
        labels = committees.get(match.group(1)) if match else None
        if labels:
            yield _record(
                "ru_rosstandart",
                "standard",
                "ru",
                f"rosstandart:{item['id']}",
                _clean(item.get("project_name")),
                _check(labels, taxonomy, item["id"]),
                group="ross:" + _norm(str(item.get("project_name") or "")),
            )
    for item in drafts["sp"]:  # building codes (СП): construction by definition
        yield _record(
            "ru_rosstandart",
            "standard",
            "ru",
            f"rosstandart_sp:{item['id']}",
            _clean(item.get("title")),
            ("building_materials",),
            group="ross:" + _norm(str(item.get("title") or "")),
        )


def rappelconso(data_dir: Path, taxonomy: Taxonomy, categories: dict[str, list[str]]) -> Iterator[LabelledRecord]:
    """French recalls of RappelConso (one results page and one single record), labelled by product category."""
    folder = data_dir / "multilingual" / "fr"
    recalls = json.loads((folder / "rappelconso_page_20.json").read_text(encoding="utf-8"))["results"]
    recalls.append(json.loads((folder / "rappelconso_record.json").read_text(encoding="utf-8")))
    for rec in recalls:
        labels = categories.get(rec.get("categorie_produit"))
        if labels:
            # Without a product label (libelle) the model references are the only name there is.
            name = rec.get("libelle") or rec.get("modeles_ou_references")
            yield _record(
                "fr_rappelconso",
                "recall",
                "fr",
                f"rappelconso:{rec.get('numero_fiche')}",
                _clean(name),
                _check(labels, taxonomy, str(rec.get("numero_fiche"))),
                description=_clean(rec.get("motif_rappel")),
                group="rc:" + _norm(str(name or "")),
            )


def safety_gate_fr(data_dir: Path, taxonomy: Taxonomy, categories: dict[str, list[str]]) -> Iterator[LabelledRecord]:
    """Three Safety Gate alerts from the public API in French, labelled by product category.

    No group: each split is then decided by the record key, as three alerts need no grouping.
    """
    for i in (1, 2, 3):
        path = data_dir / "multilingual" / "fr" / f"safety_gate_api_alert_fr_{i}.json"
        alert = json.loads(path.read_text(encoding="utf-8"))
        product = alert["product"]
        labels = categories.get(product["productCategory"]["key"])
        versions = product.get("versions") or [{}]
        if labels:
            yield _record(
                "eu_safety_gate",
                "recall",
                "fr",
                f"safety_gate_fr:{alert['reference']}",
                _clean(product.get("nameSpecific") or versions[0].get("name")),
                _check(labels, taxonomy, alert["reference"]),
                description=_clean(versions[0].get("description")),
            )


def multilingual_records(data_dir: Path | None = None, taxonomy: Taxonomy | None = None) -> list[LabelledRecord]:
    """French, German, Spanish and Russian records labelled by their sources' own classes.

    Split like the English records (by a digest of the normalised product name or title,
    70/15/15): the train part is training data, the validation part joins the threshold
    calibration, and only the test part is evaluated.
    """
    data_dir = data_dir or default_data_dir()
    taxonomy = taxonomy or load_taxonomy()
    table = _labelling()
    records = [
        *bvl_warnings(data_dir, taxonomy, table["bvl_warning_types"]),
        *aesan_alerts(data_dir, taxonomy, table["aesan_types"]),
        *rosstandart_drafts(data_dir, taxonomy, table["rosstandart_technical_committees"]),
        *rappelconso(data_dir, taxonomy, table["rappelconso_categories"]),
        *safety_gate_fr(data_dir, taxonomy, table["safety_gate_api_categories"]),
    ]
    return [r for r in records if r.text.strip()]
