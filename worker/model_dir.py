"""What a model directory holds, checked before anything heavy is loaded.

Layout: ``model.onnx`` (or ``onnx/model.onnx``), tokenizer files
(``tokenizer.json`` preferred, else files ``transformers`` can convert) and an
optional ``rerankq.json`` with ``name``, ``max_length`` and ``activation``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from producer import defaults
from producer.errors import ModelDirError

BUNDLED_MODEL_DIR = Path(__file__).resolve().parent / "models" / "minilm-pair"
"""The offline demo model shipped inside the package (see README: Models)."""

ONNX_CANDIDATES = ("model.onnx", "onnx/model.onnx")
TOKENIZER_SOURCES = ("tokenizer.json", "tokenizer_config.json")
ACTIVATIONS = ("sigmoid", "none")
_SANE_MAX_LENGTH = 100_000  # tokenizer_config uses 1e30 for "no limit"


@dataclass(frozen=True)
class ModelSpec:
    """A model directory whose required files exist."""

    directory: Path
    onnx_path: Path
    tokenizer_json: Path | None
    name: str
    max_length: int
    activation: str


def resolve_model_dir(directory: str | Path | None) -> ModelSpec:
    """Check ``directory`` (``None`` = the bundled model) and describe it.

    Raises ``ModelDirError`` with one line naming the path and what is missing.
    """
    path = Path(directory).expanduser() if directory else BUNDLED_MODEL_DIR
    if not path.exists():
        raise ModelDirError(f"model directory {path} does not exist; pass --model-dir with an exported ONNX reranker")
    if not path.is_dir():
        raise ModelDirError(f"model directory {path} is a file, not a directory; pass the directory that holds model.onnx")
    onnx_path = next((path / c for c in ONNX_CANDIDATES if (path / c).is_file()), None)
    if onnx_path is None:
        raise ModelDirError(
            f"model directory {path} has no model.onnx or onnx/model.onnx; export the reranker to ONNX first"
        )
    if not any((path / t).is_file() for t in TOKENIZER_SOURCES):
        raise ModelDirError(
            f"model directory {path} has no tokenizer.json or tokenizer_config.json; save the model's tokenizer there"
        )
    meta = _read_json(path / "rerankq.json")
    activation = str(meta.get("activation", "sigmoid"))
    if activation not in ACTIVATIONS:
        raise ModelDirError(f"{path / 'rerankq.json'}: activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")
    tokenizer_json = path / "tokenizer.json"
    return ModelSpec(
        directory=path,
        onnx_path=onnx_path,
        tokenizer_json=tokenizer_json if tokenizer_json.is_file() else None,
        name=str(meta.get("name") or path.name),
        max_length=_max_length(path, meta),
        activation=activation,
    )


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{path} is not valid JSON ({exc}); fix or remove it") from None
    if not isinstance(data, dict):
        raise ModelDirError(f"{path} must hold a JSON object")
    return data


def _max_length(path: Path, meta: dict) -> int:
    """Pair length limit: rerankq.json, else the tokenizer's limit, else the position table."""
    if "max_length" in meta:
        value = meta["max_length"]
        if not isinstance(value, int) or value < 8:
            raise ModelDirError(f"{path / 'rerankq.json'}: max_length must be an integer >= 8, got {value!r}")
        return value
    configured = _read_json(path / "tokenizer_config.json").get("model_max_length")
    if isinstance(configured, (int, float)) and 8 <= configured < _SANE_MAX_LENGTH:
        return int(configured)
    config = _read_json(path / "config.json")
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and positions > 8:
        # RoBERTa-family models reserve pad_token_id + 1 leading positions.
        offset = config.get("pad_token_id", 0) + 1 if config.get("model_type") in ("xlm-roberta", "roberta") else 0
        return min(positions - offset, defaults.MAX_LENGTH)
    return defaults.MAX_LENGTH
