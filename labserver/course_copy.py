"""This copy of the course, against the course as committed: what ``make test`` checks.

A learner's work lives in ``exercises/`` (their solutions) and ``notebooks/`` (JupyterLab's
autosave, their own cells and outputs). ``make test`` tests the course, not that work in
progress: where git says one of those files differs from the course's commit, the tests use
the committed version, and the learner's file is left alone and reported. The commit is
``HEAD``, or ``$LAB_COURSE_REF`` for a learner who commits their own work (e.g.
``LAB_COURSE_REF=origin/main``). With ``LAB_AS_ON_DISK=1`` (set by the root conftest when a
notebook is named on pytest's command line) every file is tested as it is on disk: a course
developer's check before committing. A copy that is not a git checkout (a zip download) has no
committed version to go back to; :attr:`CourseCopy.git` is False and callers fall back.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEARNER_FOLDERS = ("exercises", "notebooks")  # where a learner's work changes files
# What a copy without git leaves out (the same as .gitignore, and git's own folder).
_NOT_COURSE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    "test-artifacts",
)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess | None:
    """Run git in ``root``; None when there is no git to run."""
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _lines(run: subprocess.CompletedProcess | None) -> list[str]:
    if run is None or run.returncode != 0:
        return []
    return [name for name in run.stdout.decode().split("\0") if name]


@dataclass(frozen=True)
class CourseCopy:
    """A course folder: which of its files are the learner's, and the course's version of each."""

    root: Path
    git: bool  # a git checkout of this very folder, with the course's commit in it
    ref: str  # that commit, as given (HEAD or $LAB_COURSE_REF)
    as_on_disk: bool  # test every file as it is on disk ($LAB_AS_ON_DISK=1)
    committed: dict[str, bytes] = field(default_factory=dict, repr=False)  # LEARNER_FOLDERS at ref
    changed: frozenset[str] = frozenset()  # files there that differ from ref (relative, posix)

    @classmethod
    def of(
        cls, root: Path = ROOT, *, ref: str | None = None, as_on_disk: bool | None = None
    ) -> CourseCopy:
        """Look at ``root`` with git (a few quick git commands)."""
        ref = ref or os.environ.get("LAB_COURSE_REF") or "HEAD"
        if as_on_disk is None:
            as_on_disk = os.environ.get("LAB_AS_ON_DISK") == "1"
        top = _git(root, "rev-parse", "--show-toplevel")
        git = (
            top is not None
            and top.returncode == 0
            and Path(top.stdout.decode().strip()).resolve() == root.resolve()
        )
        archive = git and _git(root, "archive", "--format=tar", ref, "--", *LEARNER_FOLDERS)
        if not archive or archive.returncode != 0:
            if archive and ref != "HEAD":
                raise ValueError(
                    f"LAB_COURSE_REF={ref}: git knows no such commit here "
                    f"({archive.stderr.decode().strip()[:200]})"
                )
            return cls(root, False, ref, as_on_disk)  # no git, or no commit yet
        committed = {}
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            for member in tar:
                if member.isfile():
                    committed[member.name] = tar.extractfile(member).read()
        changed = _lines(
            _git(root, "diff", "-z", "--name-only", "--no-renames", ref, "--", *LEARNER_FOLDERS)
        )
        untracked = _lines(
            _git(root, "ls-files", "-z", "--others", "--exclude-standard", "--", *LEARNER_FOLDERS)
        )
        return cls(root, True, ref, as_on_disk, committed, frozenset(changed + untracked))

    @property
    def uses_committed(self) -> bool:
        """True when the learner's changed files are replaced by the committed ones in tests."""
        return self.git and not self.as_on_disk

    def rel(self, path: Path | str) -> str:
        """``path`` relative to the course folder, as git names it."""
        path = Path(path)
        if path.is_absolute():
            path = path.resolve().relative_to(self.root.resolve())
        return path.as_posix()

    def is_yours(self, path: Path | str) -> bool:
        """True for a file the learner changed or added (differs from the course's commit)."""
        return self.git and self.rel(path) in self.changed

    def is_new(self, path: Path | str) -> bool:
        """True for a file in a learner's folder that the course's commit does not have."""
        return self.is_yours(path) and self.rel(path) not in self.committed

    def course_files(self, folder: str, pattern: str = "*") -> list[Path]:
        """The course's files in ``folder`` matching ``pattern`` (the committed ones, when
        tests use those; else what is on disk), as paths in this copy."""
        if self.uses_committed and folder in LEARNER_FOLDERS:
            names = [
                n
                for n in self.committed
                if Path(n).parent.as_posix() == folder and Path(n).match(pattern)
            ]
            return sorted(self.root / n for n in names)
        return sorted(p for p in (self.root / folder).glob(pattern) if not self.renamed(p))

    def renamed(self, path: Path | str) -> bool:
        """True for a notebook under a name the course no longer uses (see course.RENAMED)
        that this copy's commit does not hold either."""
        from .course import RENAMED

        rel = self.rel(path)
        return (
            Path(rel).parent.as_posix() == "notebooks"
            and Path(rel).name in RENAMED
            and rel not in self.committed
        )

    def course_bytes(self, path: Path | str) -> bytes:
        """The version of ``path`` the tests use: the committed one where the learner's differs."""
        rel = self.rel(path)
        if self.uses_committed and rel in self.changed and rel in self.committed:
            return self.committed[rel]
        return (self.root / rel).read_bytes()

    def course_text(self, path: Path | str) -> str:
        return self.course_bytes(path).decode("utf-8")

    def yours(self, folder: str | None = None) -> list[str]:
        """The learner's changed or new files (in ``folder``), sorted."""
        return sorted(n for n in self.changed if folder is None or n.startswith(folder + "/"))

    def export(self, dest: Path, folders: tuple[str, ...] | None = None) -> Path:
        """Write the course to ``dest`` (the whole folder, or just ``folders``): this copy's
        files as on disk, except that the learner's folders are the course's versions when
        tests use those. Nothing ignored by git (.venv, caches) is copied."""
        dest.mkdir(parents=True, exist_ok=True)
        if not self.git:
            top = os.listdir(self.root)
            names = folders or sorted(set(top) - _NOT_COURSE(self.root, top))
            for name in names:
                source = self.root / name
                if source.is_dir():
                    shutil.copytree(source, dest / name, ignore=_NOT_COURSE, dirs_exist_ok=True)
                elif source.is_file():
                    shutil.copy2(source, dest / name)
            return dest
        listed = _git(
            self.root,
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            *(folders or ()),
        )
        files: dict[str, bytes | None] = dict.fromkeys(_lines(listed))  # None: as on disk
        if self.uses_committed:
            files = {n: v for n, v in files.items() if n.split("/")[0] not in LEARNER_FOLDERS}
            files.update(
                {
                    n: data
                    for n, data in self.committed.items()
                    if folders is None or n.split("/")[0] in folders
                }
            )
        for name, data in files.items():
            target = dest / name
            if data is None and not (self.root / name).is_file():
                continue  # deleted on disk
            target.parent.mkdir(parents=True, exist_ok=True)
            if data is None:
                shutil.copy2(self.root / name, target)
            else:
                target.write_bytes(data)
        return dest


@cache
def here() -> CourseCopy:
    """This folder, looked at once per process."""
    return CourseCopy.of(ROOT)
