"""Config loading: every problem at once, key paths, did-you-mean, clear file errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from vitad.config.loader import ConfigError, load_config, shipped_config_dir, validate_config
from vitad.config.schema import Config

SHIPPED = shipped_config_dir()

MACHINE = 'id = "{id}"\nkind = "washer"\nname = "{id}"\nprice = "{price}"\ncycle_minutes = 30\n'


def folder_with_intents(tmp_path: Path) -> Path:
    """A config folder holding a copy of the shipped intents (the default relative path)."""
    shutil.copy(SHIPPED / "intents.en.toml", tmp_path / "intents.en.toml")
    return tmp_path


def write(folder: Path, text: str, name: str = "vitad.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.source == str(path)
    return err.value.problems


def test_the_shipped_config_validates() -> None:
    config = load_config(SHIPPED / "vitad.toml")
    assert [m.id for m in config.shop.machines] == ["washer_small", "washer_large", "dryer"]
    assert config.shop.machines[1].price == "7 dollars 50"
    assert config.base_dir == SHIPPED.resolve()
    assert config.dialogue.intents == Path("intents.en.toml")


def test_an_empty_file_gives_every_default(tmp_path: Path) -> None:
    folder = folder_with_intents(tmp_path)
    config = load_config(write(folder, ""))
    assert config.model_dump() == Config().model_dump()
    assert config.base_dir == folder.resolve()
    assert config.wake.models == ["hey_jarvis"]
    assert config.shop.machines == []


def test_an_empty_file_without_the_intents_next_to_it_is_a_problem(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, ""))
    assert problems == [f"dialogue.intents: file not found: {tmp_path.resolve()}/intents.en.toml"]


def test_an_absolute_intents_path_is_used_as_is(tmp_path: Path) -> None:
    intents = (SHIPPED / "intents.en.toml").as_posix()
    config = load_config(write(tmp_path, f'[dialogue]\nintents = "{intents}"\n'))
    assert config.dialogue.intents == Path(intents)


@pytest.mark.parametrize(("text", "expected"), [
    ("[wake]\ntreshold = 0.4\n", "wake.treshold: unknown key (did you mean 'threshold'?)"),
    ("[waek]\nthreshold = 0.4\n", "waek: unknown key (did you mean 'wake'?)"),
    ("[listen]\nhangover = 0.4\n", "listen.hangover: unknown key (did you mean 'hangover_s'?)"),
    ("[shop.hours]\nclosing = '22:00'\n",
     "shop.hours.closing: unknown key (did you mean 'close'?)"),
    ("[[shop.machines]]\n" + MACHINE.format(id="w", price="1") + "prise = 2\n",
     "shop.machines[0].prise: unknown key (did you mean 'price'?)"),
    ("[tts]\nzzzz = 1\n", "tts.zzzz: unknown key"),
])
def test_unknown_keys_are_errors_with_a_suggestion(tmp_path: Path, text: str,
                                                   expected: str) -> None:
    assert problems_of(write(folder_with_intents(tmp_path), text)) == [expected]


def test_every_problem_is_reported_at_once_with_key_paths(tmp_path: Path) -> None:
    text = (
        "[wake]\nthreshold = 1.5\nrefractory_s = \"soon\"\n"
        "[listen]\nhangover_s = 0\n"
        "[audio]\nchunk_ms = \"eighty\"\n"
        "[[shop.machines]]\n" + MACHINE.format(id="w1", price="4 dollars") +
        "[[shop.machines]]\n" + MACHINE.format(id="w2", price="") +
        "[[shop.machines]]\nid = \"Bad Id\"\nkind = \"boat\"\nname = \"x\"\nprice = 3\n"
        "cycle_minutes = 30\n"
    )
    problems = problems_of(write(folder_with_intents(tmp_path), text))
    keys = sorted(p.split(":")[0] for p in problems)
    assert keys == sorted([
        "wake.threshold", "wake.refractory_s", "listen.hangover_s", "audio.chunk_ms",
        "shop.machines[1].price", "shop.machines[2].id", "shop.machines[2].kind",
        "shop.machines[2].price",
    ]), problems
    by_key = {p.split(":")[0]: p for p in problems}
    assert "(got 'soon')" in by_key["wake.refractory_s"]
    assert "(got 0)" in by_key["listen.hangover_s"]
    assert "(got 3)" in by_key["shop.machines[2].price"]


def test_the_error_message_names_the_file_on_every_line(tmp_path: Path) -> None:
    path = write(folder_with_intents(tmp_path), "[wake]\nthreshold = 2\n[listen]\nhangover_s = 9\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{path}: ") for line in lines)


def test_a_missing_file(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.toml") == ["TOML config file not found"]


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path)
    assert problem == "is a folder; expected a TOML config file"


def test_a_fifo_or_device_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "vitad.toml"
    os.mkfifo(fifo)  # reading a FIFO would block the daemon for ever
    (problem,) = problems_of(fifo)
    assert problem == "is not a regular file; expected a TOML config file"
    (problem,) = problems_of(Path("/dev/zero"))
    assert problem == "is not a regular file; expected a TOML config file"


def test_a_symlink_loop_is_one_line(tmp_path: Path) -> None:
    loop = tmp_path / "vitad.toml"
    loop.symlink_to(loop)
    (problem,) = problems_of(loop)
    assert problem.startswith("cannot open TOML config file: Too many levels of symbolic links")


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "vitad.toml"
    big.write_bytes(b"#" * (2 * 1024 * 1024))
    (problem,) = problems_of(big)
    assert "a TOML config file is at most" in problem


def test_invalid_toml(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, "[shop\nname = 1\n"))
    assert problem.startswith("invalid TOML:")
    assert "line 1" in problem


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "vitad.toml"
    path.write_bytes('[shop]\nname = "Café"\n'.encode("latin-1"))
    assert problems_of(path) == ["not UTF-8 text; expected a TOML file"]


def test_files_the_config_names_must_exist(tmp_path: Path) -> None:
    text = (
        '[dialogue]\nintents = "intents.xx.toml"\n'
        '[tts]\nvoice = "voices/missing.onnx"\n'
        '[wake]\nmodels = ["hey_jarvis", "hey_bubbles.onnx", "/nowhere/other.tflite"]\n'
    )
    problems = problems_of(write(tmp_path, text))
    assert problems == [
        f"dialogue.intents: file not found: {tmp_path.resolve()}/intents.xx.toml",
        "tts.voice: Piper voice file not found: voices/missing.onnx",
        "wake.models: custom wake-word model not found: hey_bubbles.onnx",
        "wake.models: custom wake-word model not found: /nowhere/other.tflite",
    ]


def test_named_files_resolve_against_the_config_folder(tmp_path: Path) -> None:
    folder = folder_with_intents(tmp_path)
    (folder / "voices").mkdir()
    (folder / "voices" / "amy.onnx").write_bytes(b"model")
    (folder / "hey_bubbles.onnx").write_bytes(b"model")
    text = '[tts]\nvoice = "voices/amy.onnx"\n[wake]\nmodels = ["hey_bubbles.onnx"]\n'
    config = load_config(write(folder, text))
    assert config.tts.voice == "voices/amy.onnx"
    assert config.wake.models == ["hey_bubbles.onnx"]


def test_a_voice_that_is_not_an_onnx_file(tmp_path: Path) -> None:
    problems = problems_of(write(folder_with_intents(tmp_path), '[tts]\nvoice = "amy"\n'))
    assert len(problems) == 1 and problems[0].startswith("tts.voice:")
    assert ".onnx" in problems[0]


def test_duplicate_machine_ids(tmp_path: Path) -> None:
    text = "".join(
        "[[shop.machines]]\n" + MACHINE.format(id=i, price="1") for i in ("a", "b", "a", "b", "c")
    )
    (problem,) = problems_of(write(folder_with_intents(tmp_path), text))
    assert problem.startswith("shop:")
    assert "machine ids must be unique, repeated: a, b" in problem


def test_validate_config_takes_a_parsed_dict(tmp_path: Path) -> None:
    folder = folder_with_intents(tmp_path)
    config = validate_config({"listen": {"hangover_s": 0.8}}, "inline", folder)
    assert config.listen.hangover_s == 0.8
    with pytest.raises(ConfigError) as err:
        validate_config({"listen": {"hangover_s": "long"}}, "inline", folder)
    assert str(err.value).startswith("inline: listen.hangover_s:")


def test_schema_errors_and_a_missing_intents_file_are_reported_together(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, '[listen]\nhangover_s = -1\n'
                                           '[dialogue]\nintents = "nope.toml"\n'))
    assert any(p.startswith("listen.hangover_s") for p in problems)
    assert f"dialogue.intents: file not found: {tmp_path}/nope.toml" in [
        p.replace(str(tmp_path.resolve()), str(tmp_path)) for p in problems]


def test_a_yes_is_not_a_boolean(tmp_path: Path) -> None:
    problems = problems_of(write(folder_with_intents(tmp_path), '[wake]\nbarge_in = "yes"\n'))
    assert len(problems) == 1 and problems[0].startswith("wake.barge_in: Input should be a valid")



def test_base_dir_cannot_be_set_from_the_file(tmp_path: Path) -> None:
    problems = problems_of(write(folder_with_intents(tmp_path), 'base_dir = "/"\n'))
    assert problems[0].startswith("base_dir: unknown key")
