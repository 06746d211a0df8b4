"""The index's contracts: a file, its symbols, and the repository's entry points."""

from __future__ import annotations

from pydantic import BaseModel, Field

INDEX_VERSION = 2


class Symbol(BaseModel):
    name: str = Field(description="Qualified within the file: `f`, `Class`, `Class.method`, `<module>`.")
    kind: str = Field(description="function | class | method | type | module")
    line: int
    end_line: int
    signature: str = ""
    calls: list[str] = Field(default_factory=list, description="Names called in the body, as written.")
    targets: list[str] = Field(default_factory=list, description="Calls resolved through imports: `path:symbol`.")


class FileEntry(BaseModel):
    path: str
    sha256: str
    size: int
    mtime_ns: int
    language: str
    symbols: list[Symbol] = Field(default_factory=list)
    imports: list[str] = Field(default_factory=list, description="As written in the source.")
    resolved_imports: list[str] = Field(default_factory=list, description="Imports that are files of this repo.")
    entry_point: bool = False
    parsed: bool = True


class EntryPoint(BaseModel):
    path: str
    kind: str = Field(description="main_guard | main_module | console_script | test | go_main | cargo_bin | "
                                  "package_json | script")
    symbol: str | None = None
    evidence: str = Field(description="Where it was found: `file:line: why`.")


class RepoIndex(BaseModel):
    version: int = INDEX_VERSION
    files: dict[str, FileEntry] = Field(default_factory=dict)
    entry_points: list[EntryPoint] = Field(default_factory=list)

    def module_map(self) -> dict[str, str]:
        """Python module name -> file; a `src/` layout is importable without its `src.` prefix too."""
        out: dict[str, str] = {}
        for path in self.files:
            if path.endswith(".py"):
                parts = path[:-3].split("/")
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                if parts:
                    out.setdefault(".".join(parts), path)
                    if parts[0] == "src" and len(parts) > 1:
                        out.setdefault(".".join(parts[1:]), path)
        return out
