"""The mean sentence vector of each language, to take the language out of a vector.

e5 places texts of one language near each other whatever they are about: a Chinese query's
nearest measure is the one Chinese measure, on any topic, before the English measures about
its product. Subtracting each text's language mean (the query's too) leaves what the text is
about; across languages the topic then decides. The means come from the training records
(recalls, notifications and nomenclature lines in 30 languages), written to
``classifiers/head/language_means.npz`` by ``tbt-alert train`` (and ``train --hs``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifiers.lexical import pack_lines, unpack_lines
from tbt_alert.errors import ClassifierError

MEANS_FILE = "language_means.npz"
MIN_TEXTS = 50  # fewer texts give a noisy mean: those languages take the overall mean
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")


def fit_means(languages: Sequence[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(languages with at least MIN_TEXTS texts, their means, the overall mean)."""
    codes = np.array(languages)
    kept = sorted(lang for lang in set(languages) if lang and int((codes == lang).sum()) >= MIN_TEXTS)
    means = np.stack([vectors[codes == lang].mean(axis=0) for lang in kept]).astype(np.float32)
    return kept, means, vectors.mean(axis=0).astype(np.float32)


def save_means(folder: Path, languages: list[str], means: np.ndarray, overall: np.ndarray) -> None:
    np.savez_compressed(folder / MEANS_FILE, languages=pack_lines(languages), means=means, overall=overall)


@functools.lru_cache(maxsize=4)
def load_means(folder: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Language -> mean, and the overall mean (for a language without one)."""
    try:
        with np.load(folder / MEANS_FILE) as data:
            languages = unpack_lines(data["languages"])
            return dict(zip(languages, data["means"], strict=True)), data["overall"]
    except (OSError, KeyError, ValueError) as exc:
        raise ClassifierError(f"the language means in {folder} cannot be read ({exc}); run `tbt-alert train`.") from exc


def script_language(text: str) -> str | None:
    """The language a short query's script tells (zh, ja, ko, ru, ar); None for Latin text,
    whose language a few words do not tell reliably (it takes the overall mean)."""
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if _HAN.search(text):
        return "zh"
    if _CYRILLIC.search(text):
        return "ru"
    if _ARABIC.search(text):
        return "ar"
    return None


def centred(vector: Sequence[float] | np.ndarray, language: str | None, folder: Path) -> list[float]:
    """``vector`` less its language's mean (the overall mean where unknown), unit length again."""
    means, overall = load_means(folder)
    v = np.asarray(vector, dtype=np.float32) - means.get(language or "", overall)
    norm = float(np.linalg.norm(v))
    return [float(x) for x in (v / norm if norm > 1e-9 else v)]
